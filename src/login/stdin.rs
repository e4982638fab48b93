//! A secret piped into `codex login` (`--api-key -`, `--with-api-key`, `--with-access-token`):
//! read with a cap, without surrounding whitespace or byte-order mark, and refused unless it is
//! one token (anything else would go out with it in the header).

use std::fmt;
use std::io::IsTerminal;

use super::LoginError;
use crate::fsutil;
use crate::report::Reporter;
use crate::secret::Secret;

/// What is piped in; it words the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piped {
    ApiKey,
    AccessToken,
}

impl Piped {
    /// The short word of "pass exactly one key".
    pub fn noun(self) -> &'static str {
        match self {
            Piped::ApiKey => "key",
            Piped::AccessToken => "token",
        }
    }

    /// The reference's texts for a terminal on standard input (ours for `--api-key -`).
    pub fn terminal_text(self) -> &'static str {
        match self {
            Piped::ApiKey => {
                "standard input is a terminal, but the API key is read from standard input. Pipe it in: printenv OPENAI_API_KEY | codex login --api-key -"
            }
            Piped::AccessToken => {
                "--with-access-token expects the access token on stdin. Try piping it, e.g. `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token`."
            }
        }
    }

    fn cap(self) -> fsutil::Cap {
        // Keys and tokens are under a few KiB; the cap only has to keep `< /dev/zero` from
        // filling the memory (and stay below the cap on auth.json, which must hold it).
        match self {
            Piped::ApiKey => fsutil::Cap::new(4 << 20, "an API key"),
            Piped::AccessToken => fsutil::Cap::new(4 << 20, "an access token"),
        }
    }
}

impl fmt::Display for Piped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Piped::ApiKey => "API key",
            Piped::AccessToken => "access token",
        })
    }
}

/// Reads the secret from standard input, saying so first ("Reading API key from stdin...").
pub fn read(what: Piped, out: &Reporter) -> Result<Secret<String>, LoginError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(LoginError::StdinIsTerminal(what));
    }
    out.note(&format!("Reading {what} from stdin..."));
    let bytes = match fsutil::read_capped(stdin.lock(), what.cap()) {
        Ok(bytes) => bytes,
        Err(fsutil::ReadError::TooLarge(cap)) => return Err(LoginError::StdinTooLong(what, cap)),
        Err(fsutil::ReadError::Io(e)) => return Err(LoginError::StdinRead(what, e)),
        Err(other) => {
            return Err(LoginError::StdinRead(
                what,
                std::io::Error::other(other.to_string()),
            ));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| LoginError::StdinNotUtf8(what))?;
    one_token(what, text, LoginError::EmptyStdin(what))
}

/// The secret without surrounding whitespace or a byte-order mark (a file saved by a Windows
/// editor starts with one); refused when anything else would go out with it.
pub fn one_token(
    what: Piped,
    raw: String,
    if_empty: LoginError,
) -> Result<Secret<String>, LoginError> {
    let token = crate::secret::clean_key(&raw);
    if token.is_empty() {
        return Err(if_empty);
    }
    if token
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\u{feff}')
    {
        return Err(LoginError::KeyNotOneToken(what));
    }
    Ok(Secret::new(token.to_string()))
}
