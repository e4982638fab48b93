//! The checks that need the network, run together under one deadline: the network settings,
//! each endpoint this configuration actually uses (the issuer of a ChatGPT sign-in, or the one
//! `codex login` would sign in at; the model API), the key, the clock. Which credential and URL
//! are used is decided by `provider`, as for `codex exec`; nothing here writes (the one refresh
//! of `--refresh` runs before, see `key::refresh`).

use std::sync::Arc;

use tokio::time::Instant;
use url::Url;

use crate::auth::{AuthDotJson, Usability};
use crate::config::{Config, ForcedLoginMethod};
use crate::credential::{self, CODEX_API_KEY_ENV, CredentialError};
use crate::http::{NetworkSettings, ProxyRoutes};
use crate::oauth::Protocol;
use crate::provider::{self, Kind, Provider};

use super::clock::{self, ServerDate};
use super::config::Sources;
use super::credentials::Stored;
use super::network::{self, Context, Target};
use super::{Checking, Group, Options, Row, key};

pub struct Remote<'a> {
    pub config: &'a Config,
    pub sources: &'a Sources,
    pub stored: &'a Stored,
    pub options: &'a Options,
    pub progress: &'a Checking,
    pub deadline: Instant,
    /// The one refresh `--refresh` allows was tried (its row is already in the report).
    pub refresh_tried: bool,
}

impl Remote<'_> {
    pub async fn check(self) -> Vec<Row> {
        let config = self.config;
        let Ok(provider) = provider::select(config, false) else {
            return Vec::new(); // the config rows say why
        };
        let mut rows: Vec<Row> = env_key_row(&provider, self.stored).into_iter().collect();
        if self.options.offline {
            for (group, name, what) in [
                (Group::Network, "endpoints", "not checked (--offline)"),
                (Group::Key, "model API", "not checked (--offline)"),
                (Group::Clock, "clock", "not measured (--offline)"),
            ] {
                rows.push(Row::skip(group, name, what));
            }
            return rows;
        }
        let set_up = crate::http::client(&config.network).and_then(|client| {
            Ok((
                client,
                crate::http::trusted_roots(&config.network)?,
                ProxyRoutes::new(&config.network)?,
            ))
        });
        let (client, roots, routes) = match set_up {
            Ok(parts) => parts,
            Err(e) => {
                rows.push(Row::fail(Group::Network, "settings", e.to_string()).fix(
                    "fix the variable named above; every request of every command stops on it",
                ));
                rows.push(Row::skip(
                    Group::Key,
                    "model API",
                    "not checked: the network settings are unusable",
                ));
                return rows;
            }
        };
        rows.push(settings_row(&config.network, &routes));

        let doc = self.stored.doc.clone();
        let refresh_tried = self.refresh_tried;

        let uses_sign_in =
            provider.requires_openai_auth && provider::env_value(CODEX_API_KEY_ENV).is_none();
        let chatgpt = uses_sign_in
            && matches!(
                doc.as_ref().map(AuthDotJson::usability),
                Some(Usability::ChatGpt)
            );
        let needs_refresh = chatgpt
            && doc
                .as_ref()
                .is_some_and(|d| crate::token::refresh_due(d, chrono::Utc::now()));

        let cx = Context {
            net: &config.network,
            routes: &routes,
            roots: Arc::new(roots),
            client: &client,
            codex_home: &config.codex_home,
        };
        let issuer = issuer_target(config, &provider, doc.as_ref());
        let model = model_target(config, self.sources, &provider, chatgpt);
        let http = crate::http::Lazy::new(&config.network);
        // Notices of the store read behind the credential are already rows (Credentials).
        let silent: Arc<dyn crate::notice::Notify> = Arc::new(crate::notice::Silent);

        let probe_issuer = async {
            let target = issuer.as_ref()?;
            let _pending = self
                .progress
                .begin(target.url.host_str().unwrap_or("issuer"));
            Some(network::probe(target, &cx, self.deadline).await)
        };
        // A key row that needs no request, with the model probe made without the credential.
        let only_probe = |row: Row| async {
            let probe = match &model {
                Some(Ok(target)) => Some(self.probe(target, &cx).await),
                Some(Err(_)) | None => None,
            };
            (Some(key::Checked::unasked(row)), probe)
        };
        // The key check, and (for Bedrock, whose URL needs the credentials) the model probe.
        let key_and_model = async {
            if needs_refresh {
                let row = if refresh_tried {
                    Row::skip(
                        Group::Key,
                        "model API",
                        "not checked: the access token has expired and the refresh failed (see Credentials)",
                    )
                } else {
                    Row::skip(
                        Group::Key,
                        "model API",
                        "not checked: the access token has expired, and using it would refresh it (which changes the stored credentials)",
                    )
                    .fix("codex doctor --refresh")
                };
                return only_probe(row).await;
            }
            let resolving = self.progress.begin("the key");
            let endpoint = tokio::time::timeout_at(
                self.deadline,
                credential::resolve(config, provider.clone(), &http, &silent),
            )
            .await;
            let endpoint = match endpoint {
                Ok(Ok(endpoint)) => endpoint,
                Ok(Err(e)) => {
                    drop(resolving);
                    return only_probe(unresolved(&e)).await;
                }
                Err(_) => {
                    let row = Row::fail(
                        Group::Key,
                        "model API",
                        "finding the credential did not finish in time",
                    );
                    return (Some(key::Checked::unasked(row)), None);
                }
            };
            let target = match &model {
                Some(Ok(target)) => Some(target.clone()),
                Some(Err(_)) => None,
                None => Url::parse(&endpoint.base_url).ok().map(|url| Target {
                    role: "model API",
                    url,
                    setting: format!("the {} endpoint", endpoint.provider.name),
                    when_refused: None,
                }),
            };
            let key = async {
                let checked =
                    tokio::time::timeout_at(self.deadline, key::check(&endpoint, &client)).await;
                drop(resolving);
                match checked {
                    Ok(found) => found,
                    Err(_) => key::Checked {
                        row: Row::warn(
                            Group::Key,
                            "model API",
                            "could not be checked: no answer in time",
                        ),
                        date: None,
                        unanswered: true,
                    },
                }
            };
            let probe = async {
                match &target {
                    Some(target) => Some(self.probe(target, &cx).await),
                    None => None,
                }
            };
            let (key, probe) = tokio::join!(key, probe);
            (Some(key), probe)
        };
        let (issuer_outcome, (key_outcome, model_outcome)) =
            tokio::join!(probe_issuer, key_and_model);

        let mut dates: Vec<ServerDate> = Vec::new();
        if let Some(Err(e)) = &model {
            rows.push(Row::fail(Group::Network, "model API", e.to_string()));
        }
        let model_down = model_outcome
            .as_ref()
            .is_some_and(|o| o.row.status == super::Status::Fail);
        // The model API's `Date` first: it is the server every request goes to.
        for outcome in [&model_outcome, &issuer_outcome].into_iter().flatten() {
            dates.extend(outcome.date.clone());
        }
        // A stored API key works without the issuer: it matters for a later ChatGPT sign-in.
        let issuer_outcome = issuer_outcome.map(|outcome| network::Outcome {
            row: match doc.as_ref().map(AuthDotJson::usability) {
                Some(
                    Usability::ApiKey { .. }
                    | Usability::AgentIdentity
                    | Usability::PersonalAccessToken,
                ) => needed_later(outcome.row),
                Some(Usability::ChatGpt | Usability::Unusable { .. }) | None => outcome.row,
            },
            ..outcome
        });
        for outcome in [issuer_outcome, model_outcome].into_iter().flatten() {
            rows.push(outcome.row);
        }
        if let Some(checked) = key_outcome {
            // The network row already says why the model API did not answer.
            rows.push(match (checked.unanswered, model_down) {
                (true, true) => Row::skip(
                    Group::Key,
                    "model API",
                    "not checked: the model API cannot be reached (see Network)",
                ),
                (_, _) => checked.row,
            });
            dates.extend(checked.date);
        }
        rows.push(clock::row(&dates));
        rows
    }

    async fn probe(&self, target: &Target, cx: &Context<'_>) -> network::Outcome {
        let _pending = self
            .progress
            .begin(target.url.host_str().unwrap_or("the model API"));
        network::probe(target, cx, self.deadline).await
    }
}

/// Why no credential could be found for the model API; most causes already have their row.
fn unresolved(e: &CredentialError) -> Row {
    use CredentialError as E;
    use provider::ProviderError as P;
    let skip = |why: &str| Row::skip(Group::Key, "model API", format!("not checked: {why}"));
    match e {
        E::NotSignedIn(_) => skip("not signed in (see Credentials)"),
        E::EnvKeyMissing { var, .. } => skip(&format!("{var} is not set (see Credentials)")),
        E::Store(_) | E::Unusable { .. } => {
            skip("the stored credentials cannot be used (see Credentials)")
        }
        E::AgentIdentity => skip("an agent identity is stored"),
        E::Workload(_) => skip("the workload identity does not work (see below)"),
        E::AccessToken(_) => skip("the personal access token does not work (see below)"),
        E::Provider(
            P::Unknown { .. } | P::UnknownFlag { .. } | P::MissingBaseUrl { .. } | P::BadUrl { .. },
        ) => skip("the provider is not usable (see Config)"),
        E::Provider(P::BadHeader { .. } | P::Oss(_))
        | E::Command { .. }
        | E::NoBearer { .. }
        | E::KeyUnsendable { .. }
        | E::HeaderUnsendable { .. }
        | E::Bedrock(_)
        | E::Token(_)
        | E::Account(_)
        | E::Http(_) => Row::fail(Group::Key, "model API", e.to_string()),
    }
}

/// The provider's `env_key` variable: set or not (never its value), and whether it is needed.
fn env_key_row(provider: &Provider, stored: &Stored) -> Option<Row> {
    let var = provider.env_key.as_ref()?;
    let name = format!("{var} (env_key of [model_providers.{}])", provider.id);
    if provider::env_value(var).is_some() {
        return Some(Row::ok(Group::Credentials, &name, "set (value not shown)"));
    }
    let signed_in = provider.requires_openai_auth
        && (provider::env_value(CODEX_API_KEY_ENV).is_some()
            || matches!(
                stored.doc.as_ref().map(AuthDotJson::usability),
                Some(Usability::ApiKey { .. } | Usability::ChatGpt)
            ));
    if signed_in {
        return Some(Row::ok(
            Group::Credentials,
            &name,
            "not set; not needed (the OpenAI sign-in is used first)",
        ));
    }
    let fix = match (&provider.env_key_instructions, provider.kind) {
        (Some(text), _) if !text.trim().is_empty() => text.trim().to_string(),
        (_, Kind::Azure) => format!("export {var}=<a key of this Azure resource>"),
        (_, Kind::OpenAi | Kind::Custom | Kind::AmazonBedrock | Kind::Oss(_)) => {
            format!("export {var}=<your API key>")
        }
    };
    Some(
        Row::fail(
            Group::Credentials,
            &name,
            "not set: requests to the model carry no key",
        )
        .fix(fix),
    )
}

fn settings_row(net: &NetworkSettings, routes: &ProxyRoutes) -> Row {
    let mut parts = Vec::new();
    parts.push(match &net.ca_bundle {
        Some(bundle) => {
            let count = crate::http::bundle_certificates(bundle)
                .map(|c| c.len())
                .unwrap_or(0);
            format!(
                "trusts the system's certificate authorities and {count} from `{}` ({})",
                bundle.value.display(),
                bundle.variable
            )
        }
        None => "trusts the system's certificate authorities".to_string(),
    });
    // Which proxy each scheme uses, before NO_PROXY exceptions.
    let unexcepted = ProxyRoutes::new(&NetworkSettings {
        no_proxy: None,
        ..net.clone()
    })
    .unwrap_or_else(|_| routes.clone());
    for scheme in ["https", "http"] {
        let probe = Url::parse(&format!("{scheme}://example.invalid/")).ok();
        match probe.as_ref().and_then(|u| unexcepted.for_url(u)) {
            Some(p) => parts.push(format!(
                "{scheme}:// through the proxy {} (from {})",
                p.shown(),
                p.variable()
            )),
            None => parts.push(format!("{scheme}:// direct")),
        }
    }
    if let Some(no_proxy) = &net.no_proxy {
        parts.push(format!("{} = {}", no_proxy.variable, no_proxy.value));
    }
    Row::ok(Group::Network, "settings", parts.join("; "))
}

/// An issuer failure while the stored credentials do not need it: a warning, since a ChatGPT
/// sign-in (`codex login`, the way to the plan's features) is what would fail.
fn needed_later(mut row: Row) -> Row {
    if row.status == super::Status::Fail {
        row.status = super::Status::Warn;
        row.found.push_str(
            "; the stored credentials do not need it, a ChatGPT sign-in (codex login) does",
        );
    }
    row
}

/// The issuer, when this configuration uses it: the one that minted a stored ChatGPT sign-in
/// (its refreshes go there), else the configured one (where `codex login` signs in, whatever
/// is stored now).
fn issuer_target(
    config: &Config,
    provider: &Provider,
    doc: Option<&AuthDotJson>,
) -> Option<Target> {
    if !provider.requires_openai_auth || config.forced_login_method == Some(ForcedLoginMethod::Api)
    {
        return None;
    }
    let (settings, setting) = match doc.map(|d| (d, d.usability())) {
        Some((doc, Usability::ChatGpt)) => match &doc.tokens {
            Some(tokens) => (
                crate::token::issuer_of(config, tokens),
                "the issuer of the stored ChatGPT sign-in".to_string(),
            ),
            None => (config.auth.clone(), "the configured issuer".to_string()),
        },
        Some((
            _,
            Usability::ApiKey { .. }
            | Usability::AgentIdentity
            | Usability::PersonalAccessToken
            | Usability::Unusable { .. },
        ))
        | None => (
            config.auth.clone(),
            "the issuer `codex login` signs in at".to_string(),
        ),
    };
    let text = match settings.protocol {
        Protocol::Oidc => format!("{}/.well-known/openid-configuration", settings.issuer),
        Protocol::OpenAi => settings.issuer.clone(),
    };
    Some(Target {
        role: "issuer",
        url: Url::parse(&text).ok()?,
        setting,
        when_refused: None,
    })
}

/// The model API's URL, known without the credential (Bedrock's needs it: `None`).
fn model_target(
    config: &Config,
    sources: &Sources,
    provider: &Provider,
    chatgpt: bool,
) -> Option<Result<Target, provider::ProviderError>> {
    let table = |field: &str| sources.shown(&["model_providers", &provider.id, field]);
    let (base, setting, when_refused) = match provider.kind {
        Kind::AmazonBedrock if provider.base_url.is_none() => return None,
        Kind::Oss(which) => {
            let base = match provider::oss::base_url(
                which,
                provider.base_url.as_deref(),
                &config.models,
            ) {
                Ok(base) => base,
                Err(e) => return Some(Err(e.into())),
            };
            let setting = if config.models.oss_base_url_env.is_some() {
                "CODEX_OSS_BASE_URL".to_string()
            } else if config.models.oss_port_env.is_some() {
                "CODEX_OSS_PORT".to_string()
            } else if provider.base_url.is_some() {
                format!(
                    "base_url of [model_providers.{}] {}",
                    provider.id,
                    table("base_url")
                )
            } else {
                format!("the built-in URL of {}", provider.name)
            };
            let model = config
                .models
                .model
                .clone()
                .unwrap_or_else(|| provider::oss::default_model(which).to_string());
            let hint = provider::oss::not_running(which, &base, &model);
            (base, setting, Some(hint))
        }
        Kind::OpenAi | Kind::Azure | Kind::Custom | Kind::AmazonBedrock => {
            let base = match provider::base_url(config, provider, chatgpt) {
                Ok(base) => base,
                Err(e) => return Some(Err(e)),
            };
            let setting = match (&provider.base_url, chatgpt) {
                (Some(_), _) => format!(
                    "base_url of [model_providers.{}] {}",
                    provider.id,
                    table("base_url")
                ),
                (None, true) => {
                    format!("chatgpt_base_url {}", sources.shown(&["chatgpt_base_url"]))
                }
                (None, false) => format!("openai_base_url {}", sources.shown(&["openai_base_url"])),
            };
            (base, setting, None)
        }
    };
    Some(
        Url::parse(&base)
            .map(|url| Target {
                role: "model API",
                url,
                setting,
                when_refused,
            })
            .map_err(|_| provider::ProviderError::BadUrl {
                key: "the model API URL".to_string(),
                value: base.clone(),
            }),
    )
}
