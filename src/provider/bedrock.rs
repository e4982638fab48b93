//! Amazon Bedrock (`model_provider = "amazon-bedrock"`): the OpenAI-compatible Responses API of
//! the `bedrock-mantle` endpoint. `AWS_BEARER_TOKEN_BEDROCK` is sent as Bearer; otherwise each
//! request is signed with SigV4 using credentials from the AWS profile chain (static keys,
//! `credential_process`, SSO, `aws login` sessions), fetched through our one HTTP client.

use std::time::SystemTime;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use thiserror::Error;

use super::{OutgoingRequest, Provider, env_value};

pub const PROVIDER_ID: &str = "amazon-bedrock";
/// The SigV4 service name of Bedrock's OpenAI-compatible endpoint.
pub const SERVICE: &str = "bedrock-mantle";
pub const BEARER_TOKEN_ENV: &str = "AWS_BEARER_TOKEN_BEDROCK";
/// Regions with a `bedrock-mantle` endpoint: the reference Codex CLI's list
/// (codex-rs/model-provider/src/amazon_bedrock/mantle.rs), which follows AWS's endpoint table.
/// Any other region works with an explicit `base_url` (for example a VPC endpoint).
pub const SUPPORTED_REGIONS: &[&str] = &[
    "us-east-2",
    "us-east-1",
    "us-west-2",
    "ap-southeast-3",
    "ap-south-1",
    "ap-northeast-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-south-1",
    "eu-north-1",
    "sa-east-1",
];

#[derive(Debug, Error)]
pub enum BedrockError {
    #[error(
        "AWS_BEARER_TOKEN_BEDROCK is set, but no AWS region is known: set region in [model_providers.amazon-bedrock.aws] (for example region = \"us-east-1\"), or AWS_REGION"
    )]
    BearerNeedsRegion,
    #[error(
        "no AWS region is configured{profile}: set region in [model_providers.amazon-bedrock.aws] (for example region = \"us-east-1\"), in the AWS profile, or in AWS_REGION"
    )]
    NoRegion { profile: String },
    #[error(
        "Amazon Bedrock's OpenAI-compatible endpoint (bedrock-mantle) is not available in region `{region}`; supported regions: {supported}. Set region in [model_providers.amazon-bedrock.aws], or base_url for a VPC endpoint"
    )]
    UnsupportedRegion { region: String, supported: String },
    #[error(
        "cannot get AWS credentials{profile}: {detail}. Sign in with `aws login{flag}` or `aws sso login{flag}`, check the profile in ~/.aws/config, or set AWS_BEARER_TOKEN_BEDROCK"
    )]
    Credentials {
        profile: String,
        flag: String,
        detail: String,
    },
    #[error("cannot sign the request for Amazon Bedrock: {0}")]
    Sign(String),
    #[error(
        "the AWS file `{path}` {problem}, so it cannot be read; point {variable} at your AWS {what} file, or remove it"
    )]
    AwsFile {
        path: String,
        problem: crate::fsutil::ReadError,
        variable: &'static str,
        what: &'static str,
    },
}

/// AWS credentials and the region to sign for.
#[derive(Clone)]
pub struct SigV4 {
    credentials: Credentials,
    region: String,
}

impl std::fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Credentials`' own Debug redacts the secret; the key id is left out too.
        f.debug_struct("SigV4")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The base URL for a bearer token (`AWS_BEARER_TOKEN_BEDROCK`): the region comes from the
/// config, else from the token itself, else from `AWS_REGION` / `AWS_DEFAULT_REGION`.
pub fn bearer_base_url(provider: &Provider, token: &str) -> Result<String, BedrockError> {
    let region = configured_region(provider)
        .or_else(|| region_from_bearer_token(token))
        .or_else(|| env_value("AWS_REGION"))
        .or_else(|| env_value("AWS_DEFAULT_REGION"))
        .ok_or(BedrockError::BearerNeedsRegion)?;
    base_url(provider, &region)
}

/// The base URL when the credential says nothing about the region (a provider `auth` command):
/// `base_url` as configured, else the region of the config, `AWS_REGION` or `AWS_DEFAULT_REGION`.
pub fn region_base_url(provider: &Provider) -> Result<String, BedrockError> {
    let region = configured_region(provider)
        .or_else(|| env_value("AWS_REGION"))
        .or_else(|| env_value("AWS_DEFAULT_REGION"));
    match (&provider.base_url, region) {
        (Some(_), region) => base_url(provider, region.as_deref().unwrap_or("")),
        (None, Some(region)) => base_url(provider, &region),
        (None, None) => Err(BedrockError::NoRegion {
            profile: String::new(),
        }),
    }
}

fn configured_region(provider: &Provider) -> Option<String> {
    provider
        .aws
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// The base URL and AWS credentials from the profile chain (the profile of
/// `[model_providers.amazon-bedrock.aws]`, else the SDK's default chain), to sign each request.
pub async fn sigv4(
    provider: &Provider,
    client: &reqwest::Client,
) -> Result<(String, SigV4), BedrockError> {
    let configured_region = configured_region(provider);
    let profile = provider
        .aws
        .profile
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    check_aws_files()?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(SdkHttp {
        client: client.clone(),
    });
    if let Some(name) = profile {
        loader = loader.profile_name(name);
    }
    if let Some(region) = &configured_region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let (profile_text, flag) = match profile {
        Some(p) => (
            format!(" from AWS profile `{p}`"),
            format!(" --profile {p}"),
        ),
        None => (String::new(), String::new()),
    };
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| BedrockError::NoRegion {
            profile: match profile {
                Some(p) => format!(" for AWS profile `{p}`"),
                None => String::new(),
            },
        })?;
    let base_url = base_url(provider, &region)?;
    let credentials_error = |detail: String| BedrockError::Credentials {
        profile: profile_text.clone(),
        flag: flag.clone(),
        detail,
    };
    let source = sdk
        .credentials_provider()
        .ok_or_else(|| credentials_error("no credential source is configured".to_string()))?;
    let credentials = source
        .provide_credentials()
        .await
        .map_err(|e| credentials_error(credentials_detail(&e)))?;
    Ok((
        base_url,
        SigV4 {
            credentials,
            region,
        },
    ))
}

/// The AWS SDK reads `~/.aws/config` and `~/.aws/credentials` with a blocking read: a FIFO or a
/// device there would hang the command. Checked first under the file rules (`fsutil`), without
/// blocking; what is missing or unreadable is left for the SDK to report.
fn check_aws_files() -> Result<(), BedrockError> {
    let home = dirs::home_dir();
    for (variable, what) in [
        ("AWS_CONFIG_FILE", "config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    ] {
        let path = match env_value(variable) {
            Some(set) => match (set.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => std::path::PathBuf::from(set),
            },
            None => match &home {
                Some(home) => home.join(".aws").join(what),
                None => continue,
            },
        };
        match crate::fsutil::open_regular(&path) {
            Ok(_) | Err(crate::fsutil::ReadError::NotFound | crate::fsutil::ReadError::Io(_)) => {}
            Err(problem) => {
                return Err(BedrockError::AwsFile {
                    path: path.display().to_string(),
                    problem,
                    variable,
                    what,
                });
            }
        }
    }
    Ok(())
}

/// One line on why the profile chain gave no credentials: the causes, outermost first.
fn credentials_detail(err: &CredentialsError) -> String {
    if let CredentialsError::CredentialsNotLoaded(_) = err {
        return "none were found (no access keys, credential_process, SSO or `aws login` session in the profile or the environment)".to_string();
    }
    let mut parts = vec![err.to_string()];
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts.join(": ")
}

fn base_url(provider: &Provider, region: &str) -> Result<String, BedrockError> {
    if let Some(url) = &provider.base_url {
        return Ok(url.trim_end_matches('/').to_string());
    }
    if !SUPPORTED_REGIONS.contains(&region) {
        return Err(BedrockError::UnsupportedRegion {
            region: region.to_string(),
            supported: SUPPORTED_REGIONS.join(", "),
        });
    }
    Ok(format!("https://bedrock-mantle.{region}.api.aws/v1"))
}

/// Short-term Bedrock API keys are `bedrock-api-key-` + base64 of a presigned URL whose
/// `X-Amz-Credential` names the region (`AKID/date/REGION/bedrock/aws4_request`).
fn region_from_bearer_token(token: &str) -> Option<String> {
    let encoded = token.strip_prefix("bedrock-api-key-")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let query = text.split_once('?')?.1;
    let credential = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Credential")?
        .1
        .into_owned();
    credential
        .split('/')
        .nth(2)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

impl SigV4 {
    /// Signs method, URL, every header already set and the body (SigV4, service
    /// `bedrock-mantle`), adding `authorization`, `x-amz-date` and, for temporary credentials,
    /// `x-amz-security-token`.
    pub fn sign(&self, request: &mut OutgoingRequest) -> Result<(), BedrockError> {
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| BedrockError::Sign(e.to_string()))?
            .into();
        let mut headers = Vec::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            let value = value.to_str().map_err(|_| {
                BedrockError::Sign(format!("the header `{name}` is not plain text"))
            })?;
            headers.push((name.as_str(), value));
        }
        let signable = SignableRequest::new(
            "POST",
            request.url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(&request.body),
        )
        .map_err(|e| BedrockError::Sign(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| BedrockError::Sign(e.to_string()))?
            .into_parts();
        let (signed_headers, _params) = instructions.into_parts();
        for header in signed_headers {
            let mut value = HeaderValue::try_from(header.value())
                .map_err(|_| BedrockError::Sign(format!("bad `{}` header", header.name())))?;
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            request
                .headers
                .insert(HeaderName::from_static(header.name()), value);
        }
        Ok(())
    }
}

/// The AWS SDK's HTTP client (for SSO, STS and `aws login` calls) is our one reqwest client, so
/// CA bundles and proxies apply there too.
#[derive(Debug, Clone)]
struct SdkHttp {
    client: reqwest::Client,
}

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for SdkHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            let body = body.bytes().map(<[u8]>::to_vec).unwrap_or_default();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(connector_error)?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let bytes = crate::http::read_body(response)
                .await
                .map_err(|e| match e {
                    crate::http::BodyError::Transport(e) => connector_error(e),
                    too_large => ConnectorError::other(too_large.to_string().into(), None),
                })?;
            let response = builder
                .body(SdkBody::from(bytes))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn connector_error(err: reqwest::Error) -> ConnectorError {
    let text = crate::http::describe(&err);
    if err.is_timeout() {
        ConnectorError::timeout(text.into())
    } else {
        ConnectorError::io(text.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_names_its_region() {
        let url = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Credential=AKIDEXAMPLE%2F20260420%2Fus-west-2%2Fbedrock%2Faws4_request&Version=1";
        let token = format!(
            "bedrock-api-key-{}",
            base64::engine::general_purpose::STANDARD.encode(url)
        );
        assert_eq!(
            region_from_bearer_token(&token).as_deref(),
            Some("us-west-2")
        );
        assert_eq!(region_from_bearer_token("ABSKlongtermkey"), None);
    }
}
