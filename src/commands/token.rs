//! `codex login token`: the bearer credential alone on stdout (the API key, or a ChatGPT access
//! token refreshed first when it is due), for `curl -H "Authorization: Bearer $(codex login token)"`;
//! with `--provider ID`, the token `codex exec` would send to that provider.

use std::process::ExitCode;
use std::sync::Arc;

use crate::Error;
use crate::accounts::{self, AccountName};
use crate::auth::AuthMode;
use crate::config::Config;
use crate::credential::{Credential, CredentialError};
use crate::http;
use crate::notice::Notify;
use crate::provider::ProviderError;
use crate::report::Reporter;
use crate::secret::Secret;
use crate::token::{self, TokenError};

/// `account`: `--account NAME` (else `CODEX_ACCOUNT`, else the active credentials).
pub fn run(config: &Config, account: Option<&AccountName>) -> Result<ExitCode, Error> {
    let out = Reporter::text();
    let mut config = config.clone();
    if let Some(name) = account {
        config.account = Some(name.to_string());
    }
    let config = &config;
    // Credentials from the environment come first, as for every command.
    if let Some(bearer) = from_environment(config)? {
        crate::report::stdout_line(bearer.expose()).map_err(Error::Stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let session = accounts::open(config, Arc::new(out))?;
    let lazy = http::Lazy::new(&config.network);
    let fresh = http::runtime().block_on(token::fresh(config, &session, &lazy));
    // A read-only command never chmods: a credentials file others can read is warned about.
    if let Some(warning) = session.loose_permissions() {
        out.notify(warning);
    }
    let doc = fresh?;
    let bearer = match (doc.mode(), &doc.tokens) {
        (AuthMode::ApiKey, _) => doc.api_key().map(|k| ("API key", k.to_string())),
        (AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens, Some(t)) => {
            Some(("access token", t.access_token.expose().clone()))
        }
        (AuthMode::ChatGpt | AuthMode::ChatGptExternalTokens, None)
        | (AuthMode::AgentIdentity | AuthMode::Unknown(_), _) => None,
        (AuthMode::PersonalAccessToken, _) => doc
            .personal_access_token()
            .map(|t| ("personal access token", t.to_string())),
    };
    let Some((what, bearer)) = bearer else {
        return Err(TokenError::Unusable {
            location: session.location(),
            reason: "it holds no bearer credential".to_string(),
        }
        .into());
    };
    // A line break in it would end the header a script builds from it.
    if crate::secret::has_control(&bearer) {
        return Err(TokenError::Unsendable {
            what,
            location: session.location(),
        }
        .into());
    }
    crate::report::stdout_line(&bearer).map_err(Error::Stdout)?;
    Ok(ExitCode::SUCCESS)
}

/// The workload identity's exchanged token, else `CODEX_ACCESS_TOKEN` once it checks out.
fn from_environment(config: &Config) -> Result<Option<Secret<String>>, Error> {
    use crate::credential::{CredentialError, access_token, workload};
    let lazy = http::Lazy::new(&config.network);
    crate::http::runtime().block_on(async {
        if let Some(session) = workload::Session::open(config, &lazy)
            .await
            .map_err(CredentialError::from)?
        {
            let token = session.token().await.map_err(CredentialError::from)?;
            return Ok(Some(token.access_token));
        }
        let Some(token) = crate::provider::env_value(access_token::ENV) else {
            return Ok(None);
        };
        let token = Secret::new(token.trim().to_string());
        let checked = access_token::check(config, token, access_token::TokenSource::Env)
            .await
            .map_err(CredentialError::from)?;
        Ok(Some(checked.token))
    })
}

/// `--provider ID`: the bearer `codex exec` would send to that provider (its auth command's
/// token, cached or run now; its `env_key` or `experimental_bearer_token`; for OpenAI, the
/// sign-in), found by the same resolver.
pub fn run_provider(config: &Config, id: &str) -> Result<ExitCode, Error> {
    let out = Reporter::text();
    for warning in &config.warnings {
        out.note(warning);
    }
    let mut config = config.clone();
    config.models.model_provider = Some(id.to_string());
    let config = &config;
    let provider = crate::provider::by_id(config, id).map_err(|err| match err {
        ProviderError::Unknown { builtins, .. } => ProviderError::UnknownFlag {
            id: crate::untrusted::printable(id).into_owned(),
            builtins,
        },
        other => other,
    })?;
    let lazy = http::Lazy::new(&config.network);
    let notify: Arc<dyn Notify> = Arc::new(out);
    let endpoint =
        http::runtime().block_on(crate::credential::resolve(config, provider, &lazy, &notify))?;
    let no_bearer = |why| CredentialError::NoBearer {
        provider: crate::untrusted::printable(id).into_owned(),
        why,
    };
    let bearer = match &endpoint.credential {
        Credential::ApiKey { key, .. } | Credential::AzureKey { key, .. } => key,
        Credential::ChatGpt { access_token, .. } | Credential::Workload { access_token, .. } => {
            access_token
        }
        Credential::PersonalAccessToken(pat) => &pat.token,
        Credential::BedrockToken(token) | Credential::Command { token, .. } => token,
        Credential::None => {
            return Err(no_bearer(
                "it sends no credential (add an env_key, experimental_bearer_token or [auth] command to its table)",
            )
            .into());
        }
        Credential::SigV4(_) => {
            return Err(no_bearer(
                "each request is signed with AWS credentials (SigV4); set AWS_BEARER_TOKEN_BEDROCK or an [auth] command for a bearer token",
            )
            .into());
        }
    };
    crate::report::stdout_line(bearer.expose()).map_err(Error::Stdout)?;
    Ok(ExitCode::SUCCESS)
}
