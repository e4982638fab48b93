//! Credentials from the host: workload identity (its variables, the token file with its claims
//! decoded without trusting them, and one exchange) and `CODEX_ACCESS_TOKEN` (set or not, and
//! one lookup). Never a token: not the assertion, not the exchanged token, not the PAT.

use crate::config::Config;
use crate::credential::workload::{self, Assertion, Settings};
use crate::credential::{access_token, workload::Session};
use crate::fsutil;

use super::{Group, Row};

/// Whether the environment holds a credential these rows are about.
pub fn selected() -> bool {
    workload::selected() || crate::provider::env_value(access_token::ENV).is_some()
}

/// The rows read locally: the variables and the token file.
pub fn local(config: &Config) -> Vec<Row> {
    let mut rows = Vec::new();
    match Settings::from_env(config) {
        Ok(None) => {}
        Err(err) => rows.push(
            Row::fail(Group::Credentials, "workload identity", err.to_string()).fix(
                "set both OPENAI_FEDERATION_RULE_ID and OPENAI_IDENTITY_TOKEN_FILE, or neither",
            ),
        ),
        Ok(Some(settings)) => {
            let context = match &settings.context {
                Some(_) => format!("{} set", workload::CONTEXT_ENV),
                None => format!("{} not set", workload::CONTEXT_ENV),
            };
            rows.push(Row::ok(
                Group::Credentials,
                "workload identity",
                format!(
                    "selected: {} = {}, assertion from {}, {context}; no other credential is used",
                    workload::RULE_ENV,
                    crate::untrusted::printable(&settings.rule_id),
                    settings.describe_assertion()
                ),
            ));
            if let Assertion::File(path) = &settings.assertion {
                rows.push(token_file_row(path));
            }
        }
    }
    if crate::provider::env_value(access_token::ENV).is_some() {
        rows.push(Row::ok(
            Group::Credentials,
            access_token::ENV,
            "set (value not shown): used instead of the stored sign-in",
        ));
    }
    rows
}

/// The token file: a regular file, its size, and what its claims say (not verified here: the
/// issuer verifies them).
fn token_file_row(path: &std::path::Path) -> Row {
    let name = "identity token file";
    let shown = path.display();
    let size = match fsutil::open_regular(path) {
        Ok((_, meta)) => meta.len(),
        Err(problem) => {
            return Row::fail(Group::Credentials, name, format!("`{shown}` {problem}"))
                .fix("point OPENAI_IDENTITY_TOKEN_FILE at the platform's OIDC token file");
        }
    };
    let token = match workload::read_file(path) {
        Ok(token) => token,
        Err(err) => {
            return Row::fail(Group::Credentials, name, err.to_string())
                .fix("point OPENAI_IDENTITY_TOKEN_FILE at the platform's OIDC token file");
        }
    };
    let claims = crate::jwt::payload(token.expose()).unwrap_or_default();
    let text = |key: &str| match claims.get(key) {
        Some(serde_json::Value::String(s)) => format!("`{}`", crate::untrusted::printable(s)),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str())
            .map(|s| format!("`{}`", crate::untrusted::printable(s)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(_) | None => "none".to_string(),
    };
    // A NumericDate, fractions included (RFC 7519).
    let exp = crate::jwt::expires_at(token.expose());
    let found = format!(
        "`{shown}`: a regular file of {size} bytes holding a JWT; iss {}, aud {}, sub {}, {} (read, not verified: the issuer verifies it)",
        text("iss"),
        text("aud"),
        text("sub"),
        match exp {
            Some(exp) => format!("expires {}", crate::jwt::describe_time(exp)),
            None => "no exp".to_string(),
        }
    );
    match exp {
        Some(exp) if exp <= chrono::Utc::now().timestamp() => Row::warn(Group::Credentials, name, found)
            .fix("the platform should rotate this file; check the projected token's expirationSeconds or the job's token source"),
        Some(_) | None => Row::ok(Group::Credentials, name, found),
    }
}

/// The rows that need the network: one exchange, or one lookup.
pub async fn remote(config: &Config, lazy: &crate::http::Lazy<'_>) -> Vec<Row> {
    match Session::open(config, lazy).await {
        Ok(None) => {}
        // The local row already says what is wrong with the variables.
        Err(
            workload::WorkloadError::MissingRule
            | workload::WorkloadError::MissingFile
            | workload::WorkloadError::Invalid(..)
            | workload::WorkloadError::RelativeFile(_)
            | workload::WorkloadError::PolicyForbids,
        ) => {
            return vec![Row::skip(
                Group::Key,
                "workload identity exchange",
                "not tried: the variables are incomplete (see above)",
            )];
        }
        Err(err) => {
            return vec![Row::fail(
                Group::Key,
                "workload identity exchange",
                err.to_string(),
            )];
        }
        Ok(Some(session)) => {
            return vec![match session.token().await {
                Ok(token) => Row::ok(
                    Group::Key,
                    "workload identity exchange",
                    format!(
                        "exchanged at `{}`: account `{}`, user `{}`, valid {} min (kept in memory only)",
                        session.token_url,
                        crate::untrusted::printable(&token.principal.account_id),
                        crate::untrusted::printable(&token.principal.user_id),
                        token.expires_in.div_ceil(60)
                    ),
                ),
                Err(err) => Row::fail(Group::Key, "workload identity exchange", err.to_string()),
            }];
        }
    }
    let Some(token) = crate::provider::env_value(access_token::ENV) else {
        return Vec::new();
    };
    let token = crate::secret::Secret::new(token.trim().to_string());
    vec![
        match access_token::check(config, token, access_token::TokenSource::Env).await {
            Ok(checked) => Row::ok(
                Group::Key,
                "personal access token",
                format!("{}: {}", access_token::ENV, checked.owner.describe()),
            ),
            Err(err) => Row::fail(Group::Key, "personal access token", err.to_string()),
        },
    ]
}
