//! API-key sign-in: `--api-key KEY`, `--api-key -` and `--with-api-key` (stdin).

use super::LoginError;
use super::stdin::{self, Piped};
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
            stdin::one_token(Piped::ApiKey, key.into_inner(), LoginError::EmptyArgument)?
        }
        KeySource::Stdin => stdin::read(Piped::ApiKey, out)?,
    };
    let account = super::persist(config, store, &AuthDotJson::for_api_key(key), out)?;
    out.note(&format!(
        "API key saved as account `{account}`. Authentication is checked when you send a request."
    ));
    Ok(())
}
