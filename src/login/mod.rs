//! Sign-in paths, one file each. They share one ending: `persist`, which stores the new
//! credentials without ever destroying an unparseable file the user may still need.

pub mod access_token;
pub mod api_key;
pub mod browser;
pub mod callback;
pub mod device;
pub mod stdin;

use thiserror::Error;

use crate::accounts::{AccountError, AccountName, Accounts};
use crate::auth::{AuthDotJson, AuthMode, OauthProvenance, TokenData};
use crate::config::Config;
use crate::notice::{Notice, Notify};
use crate::oauth::{self, AuthSettings, TokenSet};
use crate::report::Reporter;
use crate::secret::Secret;
use crate::store::{Store, StoreError};

#[derive(Debug, Error)]
pub enum LoginError {
    #[error("API key login is disabled. Use ChatGPT login instead.")]
    ApiKeyDisabled,
    #[error("Access token login is disabled. Use API key login instead.")]
    AccessTokenDisabled,
    #[error("Choose one login credential source: --with-api-key or --with-access-token.")]
    TwoCredentialSources,
    #[error("No {0} provided via stdin.")]
    EmptyStdin(stdin::Piped),
    #[error(
        "the API key given with --api-key is empty; pass the key, or `-` to read it from standard input"
    )]
    EmptyArgument,
    #[error("{}", .0.terminal_text())]
    StdinIsTerminal(stdin::Piped),
    #[error("cannot read the {0} from standard input: {1}")]
    StdinRead(stdin::Piped, std::io::Error),
    #[error("the {0} read from standard input is not valid UTF-8 text; check what is piped in")]
    StdinNotUtf8(stdin::Piped),
    #[error(
        "the text read from standard input is longer than {1}, the most an {0} may be; pipe in the {noun} alone",
        noun = .0.noun()
    )]
    StdinTooLong(stdin::Piped, crate::fsutil::Cap),
    #[error(
        "the {0} contains whitespace or control characters inside it; pass exactly one {noun}",
        noun = .0.noun()
    )]
    KeyNotOneToken(stdin::Piped),
    #[error(
        "the access token does not start with `at-`, so it is not a personal access token; this looks like an agent identity token, which is not supported. Create a personal access token (at-...), or sign in with `codex login`"
    )]
    AgentIdentityNotSupported,
    #[error(transparent)]
    Whoami(#[from] oauth::whoami::WhoamiError),
    #[error("`{0}` is a subcommand, not an API key: run `codex login {0}` without --with-api-key")]
    SubcommandAfterFlag(String),
    #[error("ChatGPT login is disabled. Use API key login instead.")]
    ChatGptDisabled,
    #[error(
        "cannot listen for the sign-in callback: ports 1455 and 1457 on 127.0.0.1 are both in use by other programs. Free one of them, or sign in without a callback: codex login --device-auth"
    )]
    PortsBusy,
    #[error(
        "cannot listen for the sign-in callback on 127.0.0.1:{port}: {source}. Pick another --port (0 = any free port)"
    )]
    PortUnavailable { port: u16, source: std::io::Error },
    #[error("cannot listen for the sign-in callback: {0}")]
    Listen(std::io::Error),
    #[error(
        "timed out after {0} s waiting for the sign-in to finish in the browser. Your previous credentials were kept. Run `codex login` again (or `codex login --device-auth` on a machine without a browser)"
    )]
    TimedOut(u64),
    #[error("Login cancelled. Your previous credentials were kept.")]
    Interrupted,
    #[error(
        "Login cancelled: another `codex login` took over the callback port. Your previous credentials were kept."
    )]
    CancelledByAnotherLogin,
    /// Both come from the issuer (through the browser): shown with control characters escaped.
    #[error(
        "the sign-in was refused: {} ({}). Your previous credentials were kept",
        crate::untrusted::printable(description),
        crate::untrusted::printable(error)
    )]
    Denied { error: String, description: String },
    #[error(
        "the sign-in returned to the callback without an authorization code. Run `codex login` again"
    )]
    MissingCode,
    #[error("device sign-in failed: {0}. Your previous credentials were kept")]
    Device(String),
    #[error(
        "the device code expired before it was approved. Your previous credentials were kept. Run `codex login --device-auth` again"
    )]
    DeviceCodeExpired,
    #[error(transparent)]
    OAuth(#[from] oauth::OAuthError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// The common start of every ChatGPT sign-in: refused under `forced_login_method = "api"`;
/// then the sign-in runs to its end, or until Ctrl-C.
pub fn run_chatgpt_sign_in<T>(
    config: &Config,
    store: &Store,
    sign_in: impl std::future::Future<Output = Result<T, LoginError>>,
) -> Result<T, LoginError> {
    match config.forced_login_method {
        Some(crate::config::ForcedLoginMethod::Api) => return Err(LoginError::ChatGptDisabled),
        Some(crate::config::ForcedLoginMethod::Chatgpt) | None => {}
    }
    // A store that cannot take the new credentials (no keyring, say) fails now, not after the
    // user has signed in for nothing. An unparseable file is fine: it is kept as a .bak.
    match store.load() {
        Ok(_) | Err(StoreError::Malformed { .. } | StoreError::KeyringMalformed { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    crate::http::runtime().block_on(async {
        tokio::select! {
            result = sign_in => result,
            _ = tokio::signal::ctrl_c() => Err(LoginError::Interrupted),
        }
    })
}

/// The common end of every ChatGPT sign-in, once `check_workspace` passed: the auth.json
/// document, its persistence, and the success line naming the account.
pub fn complete(
    config: &Config,
    store: &Store,
    tokens: TokenSet,
    api_key: Option<Secret<String>>,
    out: &Reporter,
) -> Result<(), LoginError> {
    let claims = tokens.claims.clone();
    let doc = chatgpt_document(&config.auth, tokens, api_key);
    let account = persist(config, store, &doc, out)?;
    out.logged_in(
        &claims,
        store.kind().as_str(),
        &store.location(),
        account.as_str(),
    );
    Ok(())
}

/// `forced_chatgpt_workspace_id`: the account signed in must be that workspace.
pub fn check_workspace(expected: Option<&str>, tokens: &TokenSet) -> Result<(), LoginError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match &tokens.claims.account_id {
        Some(actual) if actual == expected => Ok(()),
        Some(_) | None => Err(oauth::OAuthError::WorkspaceMismatch {
            expected: expected.to_string(),
        }
        .into()),
    }
}

/// The auth.json document of a ChatGPT sign-in.
fn chatgpt_document(
    settings: &AuthSettings,
    tokens: TokenSet,
    api_key: Option<Secret<String>>,
) -> AuthDotJson {
    AuthDotJson {
        auth_mode: Some(AuthMode::ChatGpt),
        openai_api_key: api_key,
        tokens: Some(TokenData {
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.unwrap_or_default(),
            oauth_provenance: Some(OauthProvenance {
                issuer: settings.issuer.clone(),
                client_id: settings.client_id.clone(),
                protocol: Some(oauth::StoredProtocol::Known(settings.protocol)),
                extra: Default::default(),
            }),
            login_owner_id: None,
            account_id: tokens.claims.account_id,
            extra: Default::default(),
        }),
        last_refresh: Some(oauth::now_rfc3339()),
        personal_access_token: None,
        extra: Default::default(),
    }
}

/// Saves freshly obtained credentials as the active ones and as an account (`--account NAME`,
/// else a name derived from them), and returns that name; the credentials they replace stay
/// saved as their account. The old ones stay in place until this point. The store is read
/// again under the lock (a sign-in can take minutes, and another process may have written
/// meanwhile): an auth.json that cannot be parsed is moved to `auth.json.bak` first, and the user
/// is told.
pub fn persist(
    config: &Config,
    store: &Store,
    auth: &AuthDotJson,
    out: &Reporter,
) -> Result<AccountName, LoginError> {
    let requested = config
        .account
        .as_deref()
        .map(AccountName::parse)
        .transpose()
        .map_err(AccountError::BadEnvName)?;
    let lock = store.lock()?;
    let previous = match store.load() {
        Ok(previous) => previous,
        Err(err @ StoreError::Malformed { .. }) => {
            let backup = store.file().back_up_unparseable(&lock)?;
            out.notify(Notice::warning(format!(
                "warning: {err}; it was kept as `{}` and replaced by the new credentials",
                backup.display()
            )));
            None
        }
        Err(err @ StoreError::KeyringMalformed { .. }) => {
            out.notify(Notice::warning(format!(
                "warning: {err}; they are replaced by the new credentials"
            )));
            None
        }
        Err(other) => return Err(other.into()),
    };
    Ok(Accounts::over(store).signed_in(&lock, previous, auth, requested.as_ref())?)
}
