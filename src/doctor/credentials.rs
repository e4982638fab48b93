//! Credentials and store rows, read locally: which sign-in is stored and where, the file's
//! permissions, the ChatGPT tokens' state, the variables that carry keys (set or not, never
//! their values), `forced_login_method` against what is stored, and the OS keyring's state with
//! what `auto` would do. Reading goes through the configured store, as every command reads.

use std::sync::Arc;

use crate::auth::{AuthDotJson, Usability};
use crate::config::{Config, ForcedLoginMethod, StoreMode};
use crate::store::keyring::KeyringError;
use crate::store::{Store, StoreError, StoreKind};

use super::config::Sources;
use super::{Group, Row};

/// What was found in the store, for the checks that follow (endpoints, refresh, key).
pub struct Stored {
    pub rows: Vec<Row>,
    pub doc: Option<AuthDotJson>,
}

impl Stored {
    /// The store did not answer within `bound` (a keyring call hung past its own limit).
    pub fn unanswered(config: &Config, bound: std::time::Duration) -> Stored {
        let keyring = crate::store::keyring::KeyringStore::new(&config.codex_home);
        Stored {
            rows: vec![
                Row::fail(
                    Group::Store,
                    "OS keyring",
                    format!(
                        "reading the credentials did not finish within {} s ({})",
                        bound.as_secs(),
                        keyring.describe()
                    ),
                )
                .fix("check that the keyring daemon is responsive, or set cli_auth_credentials_store = \"file\" in config.toml"),
            ],
            doc: None,
        }
    }

    pub fn is_chatgpt(&self) -> bool {
        matches!(
            self.doc.as_ref().map(AuthDotJson::usability),
            Some(Usability::ChatGpt)
        )
    }
}

/// Where the run stands with the one refresh `--refresh` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Not asked for: the rows say how to ask.
    NotAsked,
    /// Asked for and not tried yet: its own row reports on the refresh token.
    Asked,
    /// Tried: the rows describe what the store holds after it, and its row says how it went.
    Tried,
}

/// Reads the stored credentials (blocking: the file, and the keyring with its bounded wait).
pub fn check(config: &Config, sources: &Sources, refresh: Refresh) -> Stored {
    // What the store would say while loading (auto's plain-text fallback) is in the rows below.
    let store = Store::new(config, Arc::new(crate::notice::Silent));
    let loaded = store.load();
    let mut rows = Vec::new();
    let place = match store.kind() {
        StoreKind::File => format!("`{}`", store.location()),
        StoreKind::Keyring => store.location(),
    };
    let doc = match &loaded {
        Ok(doc) => doc.clone(),
        Err(err) => {
            rows.push(unreadable(err));
            None
        }
    };
    match &doc {
        Some(doc) => sign_in_rows(doc, &place, refresh, &mut rows),
        None if loaded.is_ok() => rows.push(not_signed_in(config)),
        None => {}
    }
    rows.extend(forced_login_row(config, doc.as_ref()));
    rows.extend(permissions_row(config));
    rows.extend(variable_rows(config, doc.as_ref()));
    rows.push(mode_row(config, sources, &store));
    rows.push(keyring_row(config, &store, &loaded, doc.is_some()));
    Stored { rows, doc }
}

fn unreadable(err: &StoreError) -> Row {
    let fix = match err {
        StoreError::Malformed { .. } => {
            "fix the file, or run `codex login` to replace it (the old file is kept as a .bak)"
                .to_string()
        }
        StoreError::KeyringMalformed { .. } => "run `codex login` to replace them".to_string(),
        StoreError::KeyringUnavailable { cause, .. } => {
            return Row::skip(
                Group::Credentials,
                "sign-in",
                format!("unknown: the OS keyring cannot be read ({cause}; see below)"),
            );
        }
        StoreError::LockTimeout { .. } | StoreError::Io { .. } => {
            "fix the problem named above, then run `codex doctor` again".to_string()
        }
        // The error's own text says what to do.
        StoreError::NotOurs { remedy, .. } => remedy.clone(),
    };
    Row::fail(Group::Credentials, "sign-in", err.to_string()).fix(fix)
}

fn not_signed_in(config: &Config) -> Row {
    let uses_openai = crate::provider::select(config, false)
        .map(|p| p.requires_openai_auth)
        .unwrap_or(true);
    if !uses_openai {
        return Row::ok(
            Group::Credentials,
            "sign-in",
            "none stored (the configured provider does not use it)",
        );
    }
    let row = Row::fail(Group::Credentials, "sign-in", "not signed in");
    match config.forced_login_method {
        Some(ForcedLoginMethod::Api) => {
            row.fix("printenv OPENAI_API_KEY | codex login --api-key -")
        }
        Some(ForcedLoginMethod::Chatgpt) => row.fix("codex login (or codex login --device-auth)"),
        None => row.fix(
            "codex login (ChatGPT; --device-auth without a browser), or printenv OPENAI_API_KEY | codex login --api-key -",
        ),
    }
}

fn sign_in_rows(doc: &AuthDotJson, place: &str, refresh: Refresh, rows: &mut Vec<Row>) {
    match doc.usability() {
        Usability::ApiKey { masked } => rows.push(
            Row::ok(
                Group::Credentials,
                "sign-in",
                format!("API key {masked}, in {place}"),
            )
            .fix(crate::auth::API_KEY_GIVES_UP),
        ),
        Usability::ChatGpt => {
            let tokens = doc.tokens.clone().unwrap_or_default();
            let claims = crate::jwt::id_claims(tokens.id_token.expose());
            // Claims are the issuer's text: shown with control characters escaped.
            let email = claims.email.as_deref().map(crate::untrusted::printable);
            let plan = claims.plan.as_deref().map(crate::untrusted::printable);
            let account = match (email, plan) {
                (Some(email), Some(plan)) => format!("{email} (ChatGPT {plan} plan)"),
                (Some(email), None) => email.into_owned(),
                (None, _) => "account unknown (no email in the ID token)".to_string(),
            };
            rows.push(
                Row::ok(
                    Group::Credentials,
                    "sign-in",
                    format!("ChatGPT, {account}, in {place}"),
                )
                .fix(crate::auth::CHATGPT_UNLOCKS),
            );
            rows.push(access_token_row(doc, refresh));
            rows.extend(refresh_token_row(doc, refresh));
        }
        Usability::PersonalAccessToken => rows.push(Row::ok(
            Group::Credentials,
            "sign-in",
            format!("a personal access token, in {place}"),
        )),
        Usability::AgentIdentity => rows.push(
            Row::warn(
                Group::Credentials,
                "sign-in",
                format!("an agent identity, in {place}; `codex exec` cannot use it"),
            )
            .fix("codex login, or set CODEX_API_KEY for codex exec"),
        ),
        Usability::Unusable { reason } => rows.push(
            Row::fail(
                Group::Credentials,
                "sign-in",
                format!("{place} holds no usable credentials ({reason})"),
            )
            .fix("codex login"),
        ),
    }
}

fn access_token_row(doc: &AuthDotJson, refresh: Refresh) -> Row {
    let tokens = doc.tokens.clone().unwrap_or_default();
    let last = doc
        .last_refresh
        .as_deref()
        .map(|t| format!("; last refreshed {t}"))
        .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    match crate::jwt::expires_at(tokens.access_token.expose()) {
        Some(exp) if exp <= now => match refresh {
            Refresh::NotAsked | Refresh::Asked => Row::warn(
                Group::Credentials,
                "access token",
                format!(
                    "{}{last}; the next command that needs it refreshes it first",
                    crate::jwt::describe_time(exp)
                ),
            )
            .fix("codex doctor --refresh (tests the refresh now)"),
            Refresh::Tried => Row::warn(
                Group::Credentials,
                "access token",
                format!(
                    "{}{last}; the refresh did not renew it (see the refresh token)",
                    crate::jwt::describe_time(exp)
                ),
            ),
        },
        Some(exp) => Row::ok(
            Group::Credentials,
            "access token",
            format!("expires {}{last}", crate::jwt::describe_time(exp)),
        ),
        None => Row::ok(
            Group::Credentials,
            "access token",
            format!("has no expiry; it is refreshed 8 days after the last refresh{last}"),
        ),
    }
}

fn refresh_token_row(doc: &AuthDotJson, refresh: Refresh) -> Option<Row> {
    let tokens = doc.tokens.as_ref()?;
    if tokens.refresh_token.expose().is_empty() {
        return Some(
            Row::fail(
                Group::Credentials,
                "refresh token",
                "none is stored: the sign-in cannot be renewed when the access token expires",
            )
            .fix("codex login"),
        );
    }
    match refresh {
        Refresh::NotAsked => {}
        Refresh::Asked | Refresh::Tried => return None, // the refresh itself reports
    }
    Some(
        Row::skip(
            Group::Credentials,
            "refresh token",
            "stored; not tested (a refresh replaces it, and this run changes nothing)",
        )
        .fix("codex doctor --refresh (one refresh, saved as any command would)"),
    )
}

fn forced_login_row(config: &Config, doc: Option<&AuthDotJson>) -> Option<Row> {
    let forced = config.forced_login_method?;
    let (value, allowed) = match forced {
        ForcedLoginMethod::Chatgpt => ("chatgpt", "ChatGPT"),
        ForcedLoginMethod::Api => ("api", "API key"),
    };
    let name = "forced_login_method";
    let usability = doc.map(AuthDotJson::usability);
    Some(match (forced, usability) {
        (ForcedLoginMethod::Chatgpt, Some(Usability::ApiKey { .. })) => Row::fail(
            Group::Config,
            name,
            format!("\"{value}\" allows only ChatGPT sign-ins, but an API key is stored"),
        )
        .fix("codex logout, then codex login"),
        (ForcedLoginMethod::Api, Some(Usability::ChatGpt)) => Row::fail(
            Group::Config,
            name,
            format!("\"{value}\" allows only API keys, but a ChatGPT sign-in is stored"),
        )
        .fix("codex logout, then printenv OPENAI_API_KEY | codex login --api-key -"),
        (ForcedLoginMethod::Api, Some(Usability::PersonalAccessToken)) => Row::fail(
            Group::Config,
            name,
            format!("\"{value}\" allows only API keys, but a personal access token is stored"),
        )
        .fix("codex logout, then printenv OPENAI_API_KEY | codex login --api-key -"),
        (ForcedLoginMethod::Chatgpt, Some(Usability::ChatGpt | Usability::PersonalAccessToken))
        | (ForcedLoginMethod::Api, Some(Usability::ApiKey { .. })) => Row::ok(
            Group::Config,
            name,
            format!("\"{value}\": only {allowed} sign-ins are allowed; the stored one is one"),
        ),
        (
            ForcedLoginMethod::Chatgpt | ForcedLoginMethod::Api,
            None | Some(Usability::AgentIdentity | Usability::Unusable { .. }),
        ) => Row::ok(
            Group::Config,
            name,
            format!("\"{value}\": only {allowed} sign-ins are allowed"),
        ),
    })
}

/// Windows keeps who may read a file in its ACL, which this does not read: no made-up pass.
#[cfg(not(unix))]
fn permissions_row(config: &Config) -> Option<Row> {
    std::fs::metadata(config.auth_file()).ok()?;
    Some(Row::skip(
        Group::Credentials,
        "file permissions",
        "not checked on this system (its access lists are not read)",
    ))
}

/// auth.json 0600 and CODEX_HOME 0700, both owned by this user.
#[cfg(unix)]
fn permissions_row(config: &Config) -> Option<Row> {
    let path = config.auth_file();
    let meta = std::fs::metadata(&path).ok()?;
    let name = "file permissions";
    let mut problems: Vec<(String, String)> = Vec::new();
    let mode = file_mode(&meta);
    if mode & 0o077 != 0 {
        problems.push((
            format!(
                "`{}` is mode {mode:04o}: other users can read it",
                path.display()
            ),
            format!("chmod 600 {}", path.display()),
        ));
    }
    if let Some(dir_mode) = std::fs::metadata(&config.codex_home)
        .ok()
        .map(|m| file_mode(&m))
        .filter(|m| m & 0o077 != 0)
    {
        problems.push((
            format!(
                "CODEX_HOME `{}` is mode {dir_mode:04o}",
                config.codex_home.display()
            ),
            format!("chmod 700 {}", config.codex_home.display()),
        ));
    }
    if let Some((owner, me)) = foreign_owner(&meta) {
        problems.push((
            format!(
                "`{}` belongs to user id {owner}, not to you ({me})",
                path.display()
            ),
            format!("sudo chown {me} {}", path.display()),
        ));
    }
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let linked = match std::fs::canonicalize(&path) {
        Ok(target) if is_link => format!(" (a link to `{}`)", target.display()),
        Ok(_) | Err(_) => String::new(),
    };
    if problems.is_empty() {
        return Some(Row::ok(
            Group::Credentials,
            name,
            format!("auth.json{linked} is 0600 and CODEX_HOME 0700, both yours"),
        ));
    }
    let (found, fix): (Vec<String>, Vec<String>) = problems.into_iter().unzip();
    Some(Row::fail(Group::Credentials, name, found.join("; ")).fix(fix.join("; ")))
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

/// `(file owner, this user)` when they differ.
#[cfg(unix)]
fn foreign_owner(meta: &std::fs::Metadata) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    (meta.uid() != me).then_some((meta.uid(), me))
}

/// `CODEX_API_KEY` and `OPENAI_API_KEY`: set or not, never their values.
fn variable_rows(config: &Config, doc: Option<&AuthDotJson>) -> Vec<Row> {
    let Ok(provider) = crate::provider::select(config, false) else {
        return Vec::new();
    };
    if !provider.requires_openai_auth {
        return Vec::new();
    }
    let set = |name: &str| crate::provider::env_value(name).is_some();
    let mut rows = vec![if set(crate::credential::CODEX_API_KEY_ENV) {
        Row::ok(
            Group::Credentials,
            "CODEX_API_KEY",
            "set (value not shown): `codex exec` uses it instead of the stored sign-in",
        )
    } else {
        Row::ok(
            Group::Credentials,
            "CODEX_API_KEY",
            "not set (only `codex exec` reads it)",
        )
    }];
    if doc.is_none() && set("OPENAI_API_KEY") && !set(crate::credential::CODEX_API_KEY_ENV) {
        rows.push(
            Row::warn(
                Group::Credentials,
                "OPENAI_API_KEY",
                "set, but not a credential for `codex`: it is never read from the environment",
            )
            .fix("printenv OPENAI_API_KEY | codex login --api-key -"),
        );
    }
    rows
}

fn mode_row(config: &Config, sources: &Sources, store: &Store) -> Row {
    let mode = config.store_mode;
    let source = sources.shown(&["cli_auth_credentials_store"]);
    let file = store.file().path().display();
    let saves = match mode {
        StoreMode::File => format!("credentials are saved in `{file}`"),
        StoreMode::Keyring => "credentials are saved in the OS keyring only".to_string(),
        StoreMode::Auto => {
            "credentials are saved in the OS keyring while it answers, else in auth.json"
                .to_string()
        }
    };
    Row::ok(
        Group::Store,
        "mode",
        format!(
            "cli_auth_credentials_store = \"{}\" {source}: {saves}",
            mode.as_str()
        ),
    )
}

/// The keyring's state as the load found it (asked again only when the load did not need it).
fn keyring_row(
    config: &Config,
    store: &Store,
    loaded: &Result<Option<AuthDotJson>, StoreError>,
    have_doc: bool,
) -> Row {
    let entry = store.keyring().describe();
    let state: Result<Option<bool>, KeyringError> = match (loaded, store.keyring_state()) {
        (Err(StoreError::KeyringUnavailable { cause, .. }), _) => Err(cause.clone()),
        (_, Some(cause)) => Err(cause),
        // `file` mode with auth.json present never asks the keyring: ask it here.
        (Ok(Some(_)), None) if config.store_mode == StoreMode::File => {
            store.keyring().read().map(|secret| Some(secret.is_some()))
        }
        // The load asked the keyring and it answered.
        (Ok(_), None) => Ok(match (have_doc, store.kind()) {
            (true, StoreKind::Keyring) => Some(true),
            (true, StoreKind::File) => None,
            (false, _) => Some(false),
        }),
        (Err(StoreError::KeyringMalformed { .. }), None) => Ok(Some(true)),
        // The load stopped before asking it (auth.json cannot be read, say).
        (Err(_), None) => store.keyring().read().map(|secret| Some(secret.is_some())),
    };
    // A locked keyring reads a missing entry as empty: ask whether it would take a save.
    let state = state.and_then(|held| store.keyring().check_writable().map(|()| held));
    let name = "OS keyring";
    let config_path = config.codex_home.join("config.toml");
    match (state, config.store_mode) {
        (Ok(held), mode) => {
            let holds = match held {
                Some(true) => "; it holds the credentials",
                Some(false) => "; it holds no credentials for this CODEX_HOME",
                None => "",
            };
            let auto = match mode {
                StoreMode::Auto => "; `auto` uses it",
                StoreMode::File | StoreMode::Keyring => "; `auto` would use it",
            };
            Row::ok(Group::Store, name, format!("{entry} answers{holds}{auto}"))
        }
        (Err(cause), StoreMode::Keyring) => {
            Row::fail(Group::Store, name, format!("{entry}: {cause}")).fix(format!(
                "{}, or set cli_auth_credentials_store = \"file\" in {}",
                cause.remedy(),
                config_path.display()
            ))
        }
        (Err(cause), StoreMode::Auto) => Row::warn(
            Group::Store,
            name,
            format!(
                "{entry}: {cause}; `auto` therefore keeps credentials in plain text in `{}`",
                config.auth_file().display()
            ),
        )
        .fix(format!(
            "{} (or set cli_auth_credentials_store = \"file\" to choose the file)",
            cause.remedy()
        )),
        (Err(cause), StoreMode::File) if !cause.is_absent() && !have_doc => Row::warn(
            Group::Store,
            name,
            format!("{entry}: {cause}; credentials saved there earlier were not looked at"),
        )
        .fix(cause.remedy()),
        (Err(cause), StoreMode::File) => Row::ok(
            Group::Store,
            name,
            format!(
                "not usable ({cause}); the file mode does not need it, and `auto` would fall back to auth.json"
            ),
        ),
    }
}
