//! Amazon Bedrock's own credentials: `AWS_BEARER_TOKEN_BEDROCK` sent as Bearer, else AWS
//! credentials from the profile chain that sign each request (SigV4; `provider/bedrock.rs` does
//! the AWS part). A 401 has no recovery here: the AWS tools renew these (`aws login`).

use super::{Credential, CredentialError, env_key};
use crate::provider::bedrock::{self, BEARER_TOKEN_ENV};
use crate::provider::{Provider, env_value};

/// The base URL (its region depends on the credential) and the credential.
pub async fn credential(
    provider: &Provider,
    client: &reqwest::Client,
) -> Result<(String, Credential), CredentialError> {
    if let Some(token) = env_value(BEARER_TOKEN_ENV) {
        let token = env_key::sendable(BEARER_TOKEN_ENV, &token)?;
        let base_url = bedrock::bearer_base_url(provider, token.expose())?;
        return Ok((base_url, Credential::BedrockToken(token)));
    }
    let (base_url, signer) = bedrock::sigv4(provider, client).await?;
    Ok((base_url, Credential::SigV4(signer)))
}
