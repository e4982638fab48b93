//! `codex login status`: how the user is signed in, read from the store without a network call.
//! Text goes to stderr (as the reference prints it); `--json` prints one object on stdout. Both
//! say which store holds the credentials (text: a second line unless it is the plain file mode).

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use crate::Error;
use crate::accounts::{self, AccountName, Index};
use crate::auth::{
    API_KEY_GIVES_UP, AuthDotJson, CHATGPT_PLAN_UNKNOWN, CHATGPT_UNLOCKS, Usability,
};
use crate::config::{Config, StoreMode};
use crate::jwt::{describe_time, rfc3339};
use crate::notice::Notify;
use crate::report::Reporter;
use crate::store::{self, StoreError, StoreKind};

/// `codex login status [--json]`.
#[derive(Debug, Clone, Copy)]
pub struct StatusOptions {
    pub json: bool,
}

pub fn run(config: &Config, options: StatusOptions) -> Result<ExitCode, Error> {
    let json_output = options.json;
    let out = Reporter::text();
    for warning in &config.warnings {
        out.note(warning);
    }
    // Credentials from the environment come before the stored ones, as for every command.
    if let Some(found) = from_environment(config) {
        return found.report(&out, json_output);
    }
    let store = store::open(config, Arc::new(out));
    let loaded = store.load();
    // A read-only command never chmods: a credentials file others can read is warned about.
    if let Some(warning) = store.loose_permissions() {
        out.notify(warning);
    }
    let place = match store.kind() {
        StoreKind::File => format!("`{}`", store.location()),
        StoreKind::Keyring => store.location(),
    };
    let (logged_in, mode, api_key, mut text, reason) = match &loaded {
        Ok(None) => (false, None, None, "Not logged in".to_string(), None),
        Ok(Some(doc)) => match doc.usability() {
            Usability::ApiKey { masked } => (
                true,
                Some("apikey"),
                Some(masked.clone()),
                format!("API key configured - {masked}"),
                None,
            ),
            Usability::ChatGpt => (
                true,
                Some("chatgpt"),
                None,
                "Logged in using ChatGPT".to_string(),
                None,
            ),
            Usability::PersonalAccessToken => (
                true,
                Some("personalAccessToken"),
                None,
                "Logged in using personal access token".to_string(),
                None,
            ),
            Usability::AgentIdentity => (
                true,
                Some("agentIdentity"),
                None,
                "Logged in using an agent identity".to_string(),
                None,
            ),
            Usability::Unusable { reason } => (
                false,
                None,
                None,
                format!(
                    "Not logged in: {place} holds no usable credentials ({reason}). Run `codex login` to sign in."
                ),
                Some(reason),
            ),
        },
        Err(err @ StoreError::Malformed { .. }) => (
            false,
            None,
            None,
            format!(
                "Not logged in: {err}. Fix the file, or run `codex login` to replace it (the old file is kept as a .bak)."
            ),
            Some(err.to_string()),
        ),
        Err(err @ StoreError::KeyringMalformed { .. }) => (
            false,
            None,
            None,
            format!("Not logged in: {err}. Run `codex login` to replace them."),
            Some(err.to_string()),
        ),
        Err(err @ StoreError::NotOurs { .. }) => (
            false,
            None,
            None,
            format!("Not logged in: {err}"),
            Some(err.to_string()),
        ),
        Err(err) => {
            // A program reading `--json` still gets an answer; the message goes to stderr too.
            if json_output {
                let kind = store.kind();
                out.object(&json!({
                    "logged_in": false,
                    "mode": null,
                    "api_key": null,
                    "store": kind.as_str(),
                    "path": match kind {
                        StoreKind::File => Some(store.location()),
                        StoreKind::Keyring => None,
                    },
                    "problem": err.to_string(),
                }))
                .map_err(Error::Stdout)?;
            }
            return Ok(loaded.map(|_| ExitCode::FAILURE)?);
        }
    };
    let kind = store.kind();
    let unchecked = match &loaded {
        Ok(None) => store.keyring_problem(),
        Ok(Some(_)) | Err(_) => None,
    };
    let saved = Saved::read(config, loaded.as_ref().ok().and_then(Option::as_ref));
    let mut details = match &loaded {
        Ok(Some(doc)) if mode == Some("chatgpt") => chatgpt_details(doc),
        _ => Details::default(),
    };
    // A stored personal access token says whose it is only when asked (one lookup).
    let mut logged_in = logged_in;
    if let Ok(Some(doc)) = &loaded
        && let Some(token) = doc
            .personal_access_token()
            .filter(|_| mode == Some("personalAccessToken"))
    {
        let source = crate::credential::access_token::TokenSource::Stored(store.location());
        let found = personal_access_token(config, token.to_string(), source);
        logged_in = found.logged_in;
        // The first line is the status line: it replaces ours when the lookup failed.
        let mut lines = found.lines.into_iter();
        let first = lines.next();
        if !found.logged_in {
            text = first.unwrap_or(text);
        }
        details.lines = lines.collect();
        details.fields = found.fields;
    }
    let plan_line = match mode {
        Some("apikey") => Some(API_KEY_GIVES_UP.to_string()),
        Some("chatgpt") if details.plan_known => Some(CHATGPT_UNLOCKS.to_string()),
        Some("chatgpt") => Some(CHATGPT_PLAN_UNKNOWN.to_string()),
        _ => None,
    };
    let provider_line = provider_line(config);
    let text = std::iter::once(text)
        .chain(provider_line.as_ref().map(|(line, _)| line.clone()))
        .chain(details.lines)
        .chain(plan_line)
        .collect::<Vec<_>>()
        .join("\n");
    if json_output {
        let mut object = json!({
            "logged_in": logged_in,
            "mode": mode,
            "api_key": api_key,
            "store": kind.as_str(),
            "path": match kind {
                StoreKind::File => Some(store.location()),
                StoreKind::Keyring => None,
            },
        });
        if kind == StoreKind::Keyring {
            object["keyring_service"] = json!(store::keyring::SERVICE);
            object["keyring_account"] = json!(store.keyring().account());
        }
        if let Some(reason) = reason {
            object["problem"] = json!(reason);
        }
        for (key, value) in details.fields {
            object[key] = value;
        }
        if let Some(cause) = &unchecked {
            object["keyring_unchecked"] = json!(cause.to_string());
        }
        object["accounts"] = saved.json(unchecked.is_none());
        if let Some((_, provider)) = provider_line {
            object["provider"] = provider;
        }
        out.object(&object).map_err(Error::Stdout)?;
    } else {
        out.line(&text);
        // The plain file mode keeps the reference's exact output; the auto-mode warning has
        // already said where the credentials are.
        let plain_file = store.mode() == StoreMode::File && kind == StoreKind::File;
        if logged_in && !plain_file && !store.warned() {
            out.line(&format!("Stored in {}", store.location()));
        }
        if let Some(cause) = &unchecked {
            out.line(&format!(
                "note: {} was not checked for credentials: {cause}; {}",
                store.keyring().describe(),
                cause.remedy()
            ));
        }
        // Which of them is active cannot be told while the keyring cannot be read.
        let list = unchecked.is_none();
        for line in saved.lines(list, config.account.as_deref()) {
            out.line(&line);
        }
    }
    Ok(if logged_in {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where the active provider's credential comes from, when it is not the sign-in this command
/// reports (a provider with its own `auth` command, `env_key`, token or none): a line, and the
/// same as JSON. Nothing is run or read.
fn provider_line(config: &Config) -> Option<(String, serde_json::Value)> {
    use crate::credential::Source;
    let provider = crate::provider::select(config, false).ok()?;
    let id = crate::untrusted::printable(&provider.id).into_owned();
    let (line, source, detail) = match crate::credential::source(&provider) {
        Source::OpenAiAuth => return None,
        Source::Command(command) => {
            let command = crate::untrusted::printable(&command).into_owned();
            let cached = provider
                .auth
                .as_ref()
                .map(|auth| crate::credential::command::cache_location(config, &provider, auth))
                .unwrap_or_default();
            (
                format!(
                    "Provider `{id}` gets its token from the command `{command}` ([model_providers.{id}.auth]), cached in {cached}"
                ),
                "command",
                json!({ "command": command }),
            )
        }
        Source::Aws => (
            format!(
                "Provider `{id}` uses AWS credentials (AWS_BEARER_TOKEN_BEDROCK, else the AWS profile chain)"
            ),
            "aws",
            json!({}),
        ),
        Source::EnvKey(var) => (
            format!(
                "Provider `{id}` reads its key from the environment variable `{var}` (env_key)"
            ),
            "env_key",
            json!({ "env_key": var }),
        ),
        Source::ConfigToken => (
            format!("Provider `{id}` sends the experimental_bearer_token written in config.toml"),
            "experimental_bearer_token",
            json!({}),
        ),
        Source::None => (
            format!("Provider `{id}` sends no credential"),
            "none",
            json!({}),
        ),
    };
    let mut value = json!({ "id": id, "credential": source });
    if let (Some(object), Some(extra)) = (value.as_object_mut(), detail.as_object()) {
        object.extend(extra.clone());
    }
    Some((line, value))
}

/// The saved accounts, from their index alone (no secret is read, nothing is written).
struct Saved {
    index: Index,
    active: Option<AccountName>,
    /// Signed in with credentials no account holds yet (a sign-in made by the reference CLI).
    unsaved: bool,
    problem: Option<StoreError>,
}

impl Saved {
    fn read(config: &Config, active: Option<&AuthDotJson>) -> Saved {
        let (index, problem) = match Index::load(&config.codex_home.join(accounts::DIR_NAME)) {
            Ok(index) => (index, None),
            Err(err) => (Index::default(), Some(err)),
        };
        let identity = active.and_then(accounts::identity::of);
        let owner = identity.as_deref().and_then(|id| index.find(id));
        Saved {
            unsaved: identity.is_some() && owner.is_none(),
            index,
            active: owner,
            problem,
        }
    }

    /// `known`: whether the active credentials could be read (else `active` is null).
    fn json(&self, known: bool) -> serde_json::Value {
        let list: Vec<_> = self
            .index
            .accounts
            .iter()
            .map(|(name, e)| {
                json!({
                    "name": name,
                    "active": known.then(|| self.active.as_ref().is_some_and(|a| a.as_str() == name)),
                    "mode": e.mode,
                    "email": e.email,
                    "plan": e.plan,
                    "api_key": e.api_key,
                    "refresh_refused": e.refresh_refused.as_ref().map(|r| &r.code),
                })
            })
            .collect();
        json!(list)
    }

    /// Text lines after the active account's: its name when others are saved, one line per
    /// other account, and what to run when one no longer refreshes. Nothing when the active
    /// account is the only one (the reference's output stays as it is).
    fn lines(&self, list: bool, selected: Option<&str>) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(err) = &self.problem {
            lines.push(format!(
                "note: {err}; the saved accounts cannot be listed: fix or remove that file"
            ));
        }
        let refused = |name: &str, entry: &accounts::Entry| {
            entry.refresh_refused.as_ref().map(|r| {
                format!(
                    "its refresh token no longer works ({}): run `codex login --account {name}`",
                    r.code
                )
            })
        };
        let others: Vec<_> = self
            .index
            .accounts
            .iter()
            .filter(|(name, _)| self.active.as_ref().is_none_or(|a| a.as_str() != *name))
            .collect();
        if let Some(active) = &self.active {
            let entry = self.index.get(active);
            let problem = entry.and_then(|e| refused(active.as_str(), e));
            match problem {
                Some(problem) => lines.push(format!("Active account: {active} - {problem}")),
                None if !others.is_empty() => lines.push(format!("Active account: {active}")),
                None => {}
            }
        }
        if self.unsaved && list && !others.is_empty() {
            lines.push(
                "Active account: none of the saved ones (signed in outside this tool; it is saved as an account the next time it is used)"
                    .to_string(),
            );
        }
        if list && !others.is_empty() {
            let heading = if self.active.is_some() {
                "Other accounts (codex login switch NAME):"
            } else {
                "Saved accounts (codex login switch NAME):"
            };
            lines.push(heading.to_string());
            let width = others.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, entry) in others {
                let mut line = format!("  {name:<width$}  {}", entry.summary());
                if let Some(problem) = refused(name, entry) {
                    line.push_str(" - ");
                    line.push_str(&problem);
                }
                lines.push(line);
            }
        }
        if let Some(selected) = selected {
            lines.push(format!(
                "note: CODEX_ACCOUNT is set: `codex exec` and `codex login token` use account `{selected}`"
            ));
        }
        lines
    }
}

/// What `login status` found in the environment (workload identity, `CODEX_ACCESS_TOKEN`): the
/// first line, the details, and whether it works (one exchange or lookup was made).
struct Found {
    logged_in: bool,
    mode: &'static str,
    lines: Vec<String>,
    fields: Vec<(&'static str, serde_json::Value)>,
}

impl Found {
    fn report(self, out: &Reporter, json_output: bool) -> Result<ExitCode, Error> {
        if json_output {
            let mut object = json!({"logged_in": self.logged_in, "mode": self.mode});
            for (key, value) in self.fields {
                object[key] = value;
            }
            out.object(&object).map_err(Error::Stdout)?;
        } else {
            out.line(&self.lines.join("\n"));
        }
        Ok(if self.logged_in {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Workload identity (after one exchange), else `CODEX_ACCESS_TOKEN` (after one lookup).
fn from_environment(config: &Config) -> Option<Found> {
    use crate::credential::workload::Session;
    let lazy = crate::http::Lazy::new(&config.network);
    let workload = crate::http::runtime().block_on(async {
        let Some(session) = Session::open(config, &lazy).await? else {
            return Ok(None);
        };
        let token = session.token().await?;
        Ok::<_, crate::credential::workload::WorkloadError>(Some((session, token)))
    });
    match workload {
        Ok(Some((session, token))) => return Some(workload_found(&session, &token)),
        Ok(None) => {}
        Err(err) => {
            return Some(Found {
                logged_in: false,
                mode: "workloadIdentity",
                lines: vec![format!("Not logged in: {err}")],
                fields: vec![("problem", json!(err.to_string()))],
            });
        }
    }
    let token = crate::provider::env_value(crate::credential::access_token::ENV)?;
    Some(personal_access_token(
        config,
        token,
        crate::credential::access_token::TokenSource::Env,
    ))
}

fn workload_found(
    session: &crate::credential::workload::Session,
    token: &crate::oauth::jwt_bearer::WorkloadToken,
) -> Found {
    use crate::untrusted::printable;
    let p = &token.principal;
    let plan = token
        .plan
        .as_deref()
        .map(|plan| format!(" (ChatGPT {} plan)", printable(plan)))
        .unwrap_or_default();
    let settings = &session.settings;
    Found {
        logged_in: true,
        mode: "workloadIdentity",
        lines: vec![
            "Logged in using workload identity".to_string(),
            format!(
                "  Account: {}{plan}, user {}",
                printable(&p.account_id),
                printable(&p.user_id)
            ),
            format!(
                "  Federation rule: {} ({})",
                printable(&settings.rule_id),
                crate::credential::workload::RULE_ENV
            ),
            format!("  Assertion: {}", settings.describe_assertion()),
            format!("  Token endpoint: {}", session.token_url),
            format!(
                "  Access token: in memory only, valid for {} min",
                token.expires_in.div_ceil(60)
            ),
        ],
        fields: vec![
            ("account_id", json!(p.account_id)),
            ("user_id", json!(p.user_id)),
            ("plan", json!(token.plan)),
            ("federation_rule_id", json!(settings.rule_id)),
            ("assertion", json!(settings.describe_assertion())),
            ("token_endpoint", json!(session.token_url.as_str())),
            ("expires_in", json!(token.expires_in)),
        ],
    }
}

/// A personal access token from `source`, after one lookup.
fn personal_access_token(
    config: &Config,
    token: String,
    source: crate::credential::access_token::TokenSource,
) -> Found {
    let token = crate::secret::Secret::new(token.trim().to_string());
    let shown = source.to_string();
    // For programs: where the token came from, as a fixed word.
    let from = match &source {
        crate::credential::access_token::TokenSource::Env => crate::credential::access_token::ENV,
        crate::credential::access_token::TokenSource::Stored(_) => "store",
    };
    let checked = crate::http::runtime().block_on(crate::credential::access_token::check(
        config, token, source,
    ));
    match checked {
        Ok(checked) => {
            let owner = &checked.owner;
            Found {
                logged_in: true,
                mode: "personalAccessToken",
                lines: vec![
                    "Logged in using personal access token".to_string(),
                    format!("  Account: {}", owner.describe()),
                    format!("  Token: {shown}"),
                ],
                fields: vec![
                    ("email", json!(owner.email)),
                    ("plan", json!(owner.chatgpt_plan_type)),
                    ("account_id", json!(owner.chatgpt_account_id)),
                    ("user_id", json!(owner.chatgpt_user_id)),
                    ("fedramp", json!(owner.chatgpt_account_is_fedramp)),
                    ("token_source", json!(from)),
                ],
            }
        }
        Err(err) => Found {
            logged_in: false,
            mode: "personalAccessToken",
            lines: vec![format!("Not logged in: {err}")],
            fields: vec![("problem", json!(err.to_string()))],
        },
    }
}

/// What the stored ChatGPT tokens say, read locally (no network call).
#[derive(Default)]
struct Details {
    lines: Vec<String>,
    /// The ID token names the ChatGPT plan (else nothing is claimed about what it unlocks).
    plan_known: bool,
    fields: Vec<(&'static str, serde_json::Value)>,
}

fn chatgpt_details(doc: &crate::auth::AuthDotJson) -> Details {
    let mut d = Details::default();
    let Some(tokens) = &doc.tokens else {
        return d;
    };
    let claims = crate::jwt::id_claims(tokens.id_token.expose());
    d.plan_known = claims.plan.is_some();
    // Claims are the issuer's text: shown with control characters escaped (JSON escapes them).
    let email = claims.email.as_deref().map(crate::untrusted::printable);
    let plan = claims.plan.as_deref().map(crate::untrusted::printable);
    match (email, plan) {
        (Some(email), Some(plan)) => d
            .lines
            .push(format!("  Account: {email} (ChatGPT {plan} plan)")),
        (Some(email), None) => d.lines.push(format!("  Account: {email}")),
        (None, _) => {}
    }
    let expires = crate::jwt::expires_at(tokens.access_token.expose());
    if let Some(exp) = expires {
        d.lines
            .push(format!("  Access token expires: {}", describe_time(exp)));
    }
    if let Some(last) = &doc.last_refresh {
        d.lines.push(format!(
            "  Last refreshed: {}",
            crate::untrusted::printable(last)
        ));
    }
    let issuer = tokens.oauth_provenance.as_ref().map(|p| p.issuer.clone());
    d.fields = vec![
        ("email", json!(claims.email)),
        ("plan", json!(claims.plan)),
        (
            "account_id",
            json!(tokens.account_id.clone().or(claims.account_id)),
        ),
        ("access_token_expires_at", json!(expires.map(rfc3339))),
        ("last_refresh", json!(doc.last_refresh)),
        ("issuer", json!(issuer)),
    ];
    d
}
