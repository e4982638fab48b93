//! API-key sign-in: `--api-key KEY`, `--api-key -` and `--with-api-key` (stdin).

use std::io::IsTerminal;

use super::LoginError;
use crate::auth::AuthDotJson;
use crate::config::{Config, ForcedLoginMethod};
use crate::fsutil;
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
    // An API key is a few hundred bytes; `< /dev/zero` must not fill the memory.
    let bytes = match fsutil::read_capped(stdin.lock(), STDIN_CAP) {
        Ok(bytes) => bytes,
        Err(fsutil::ReadError::TooLarge(cap)) => return Err(LoginError::StdinTooLong(cap)),
        Err(fsutil::ReadError::Io(e)) => return Err(LoginError::StdinRead(e)),
        Err(other) => {
            return Err(LoginError::StdinRead(std::io::Error::other(
                other.to_string(),
            )));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| LoginError::StdinNotUtf8)?;
    check_key(text, LoginError::EmptyStdin)
}

/// Keys are under a KiB; the cap only has to keep `< /dev/zero` from filling the memory (and
/// stay below the cap on auth.json, which must hold the key).
const STDIN_CAP: fsutil::Cap = fsutil::Cap::new(4 << 20, "an API key");

/// The key without surrounding whitespace or a byte-order mark (a key saved by a Windows
/// editor starts with one); refused when anything else would go out with it.
fn check_key(raw: String, if_empty: LoginError) -> Result<Secret<String>, LoginError> {
    let key = crate::secret::clean_key(&raw);
    if key.is_empty() {
        return Err(if_empty);
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\u{feff}')
    {
        return Err(LoginError::KeyNotOneToken);
    }
    Ok(Secret::new(key.to_string()))
}
