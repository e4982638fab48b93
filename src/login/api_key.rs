//! API-key sign-in: `--api-key KEY`, `--api-key -` and `--with-api-key` (stdin).

use std::io::{IsTerminal, Read};

use super::LoginError;
use crate::auth::AuthDotJson;
use crate::config::{Config, ForcedLoginMethod};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store::Store;

/// Where the key comes from.
#[derive(Debug)]
pub enum KeySource {
    /// On the command line (visible to `ps` and in shell history).
    Argument(Secret<String>),
    Stdin,
}

pub fn run(
    config: &Config,
    store: &Store,
    source: KeySource,
    out: &Reporter,
) -> Result<(), LoginError> {
    match config.forced_login_method {
        Some(ForcedLoginMethod::Chatgpt) => return Err(LoginError::ApiKeyDisabled),
        Some(ForcedLoginMethod::Api) | None => {}
    }
    let key = match source {
        KeySource::Argument(key) => {
            out.note(
                "note: a key given on the command line is visible in shell history and to `ps`; \
                 prefer `--api-key -` and pipe it in (printenv OPENAI_API_KEY | codex login --api-key -)",
            );
            check_key(key.into_inner(), LoginError::EmptyArgument)?
        }
        KeySource::Stdin => read_stdin(out)?,
    };
    let account = super::persist(config, store, &AuthDotJson::for_api_key(key), out)?;
    out.note(&format!(
        "API key saved as account `{account}`. Authentication is checked when you send a request."
    ));
    Ok(())
}

fn read_stdin(out: &Reporter) -> Result<Secret<String>, LoginError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(LoginError::StdinIsTerminal);
    }
    out.note("Reading API key from stdin...");
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(LoginError::StdinRead)?;
    let text = String::from_utf8(bytes).map_err(|_| LoginError::StdinNotUtf8)?;
    check_key(text, LoginError::EmptyStdin)
}

fn check_key(raw: String, if_empty: LoginError) -> Result<Secret<String>, LoginError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(if_empty);
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(LoginError::KeyNotOneToken);
    }
    Ok(Secret::new(key.to_string()))
}
