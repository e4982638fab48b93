//! The MCP section: rows for each `[mcp_servers.NAME]`, in config.toml's order. How it signs
//! in; whether it answers (a 401 naming its resource metadata is the healthy answer of an
//! OAuth-protected server); whether discovery (`mcp::discovery`, the checks `codex mcp login`
//! makes) finds its authorization server and a way to register; and the stored tokens: where,
//! issued by whom, until when, with or without a refresh token, and whether the server takes
//! the access token. Read-only: nothing is refreshed, registered or saved.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;
use url::Url;

use crate::config::{Config, StoreMode};
use crate::http::{NetworkSettings, ProxyRoutes};
use crate::mcp::discovery::{self, Discovered};
use crate::mcp::settings::{McpServerToml, StaticAuth, Transport};
use crate::mcp::{DISCOVERY_TIMEOUT, McpError};
use crate::notice::{Notice, Notify};
use crate::secret::Secret;
use crate::store::keyring::MCP_SERVICE;
use crate::store::mcp::{McpStore, McpStoreError, McpTokens, store_key};
use crate::store::{StoreError, StoreKind};
use crate::untrusted::printable;

use super::config::Sources;
use super::network::{self, Context, Target};
use super::{Checking, Group, LOCAL_BOUND, Options, Row, Status};

/// One configured server and what the rows say of it.
struct Server {
    name: String,
    table: McpServerToml,
    /// `` `url` in [mcp_servers.NAME] (config.toml) ``: where a fix goes.
    setting: String,
}

/// How an HTTP server gets its credential.
enum Credential {
    OAuth,
    /// `bearer_token_env_var`, and the token when the variable is set.
    EnvVar {
        var: String,
        token: Option<Secret<String>>,
    },
    Header,
}

/// What the store holds for an OAuth server.
#[derive(Clone)]
enum Held {
    Tokens(McpTokens, StoreKind),
    Nothing,
    Unreadable(String),
    /// The store (a locked or hung keyring) did not answer within `LOCAL_BOUND`.
    Unanswered,
}

/// The network pieces every server's checks share (owned: each server runs as its own task).
struct Shared {
    net: NetworkSettings,
    routes: ProxyRoutes,
    roots: Arc<rustls::RootCertStore>,
    /// Redirects kept on each origin, as `codex mcp login` discovers.
    client: reqwest::Client,
    codex_home: PathBuf,
    /// `$CODEX_HOME/.credentials.json`.
    tokens_file: PathBuf,
    callback_url: Option<String>,
    callback_port: Option<u16>,
    offline: bool,
    deadline: Instant,
    progress: Checking,
}

fn name_of(server: &str, aspect: &str) -> String {
    format!("{server} {aspect}")
}

fn shown(url: &str) -> String {
    crate::secret::masked_url(url).unwrap_or_else(|| printable(url).into_owned())
}

/// The rows of every configured MCP server; none when there is none (as other absent features).
pub async fn check(
    config: &Config,
    sources: &Sources,
    options: &Options,
    progress: &Checking,
    deadline: Instant,
) -> Vec<Row> {
    let servers: Vec<Server> = sources
        .in_mcp_order(config.mcp.servers.keys())
        .into_iter()
        .map(|name| Server {
            name: name.clone(),
            table: config.mcp.servers[name].clone(),
            setting: format!(
                "`url` in [mcp_servers.{name}] {}",
                sources.shown(&["mcp_servers", name, "url"])
            ),
        })
        .collect();
    if servers.is_empty() {
        return Vec::new();
    }
    let plans: Vec<(Row, Option<(Url, Credential)>)> = servers.iter().map(plan).collect();
    // The store key is made of the URL as config.toml writes it (as `codex mcp login` saved it).
    let oauth: Vec<(usize, String)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, (_, plan))| match (plan, &servers[i].table.url) {
            (Some((_, Credential::OAuth)), Some(raw)) => Some((i, raw.clone())),
            (Some((_, Credential::OAuth | Credential::EnvVar { .. } | Credential::Header)), _)
            | (None, _) => None,
        })
        .collect();
    let lookups: Vec<(String, String)> = oauth
        .iter()
        .map(|(i, url)| (servers[*i].name.clone(), url.clone()))
        .collect();
    let mut rows = Vec::new();
    let shared = match shared(config, options, progress, deadline) {
        Ok(shared) => Arc::new(shared),
        Err(e) => {
            // The Network rows say why; each server still gets its local rows.
            let mut held: Vec<Option<Held>> = (0..servers.len()).map(|_| None).collect();
            if !oauth.is_empty() {
                let (found, notices) = read_stored(config, lookups, progress).await;
                rows.push(store_row(config, sources, &notices));
                for ((i, _), found) in oauth.iter().zip(found) {
                    held[*i] = Some(found);
                }
            }
            let file = config.codex_home.join(crate::store::mcp::FILE_NAME);
            for (server, ((row, plan), held)) in servers.iter().zip(plans.into_iter().zip(held)) {
                rows.push(row);
                if plan.is_some() {
                    rows.push(Row::skip(
                        Group::Mcp,
                        &name_of(&server.name, "server"),
                        format!("not checked: the network settings are unusable ({e})"),
                    ));
                }
                if let Some(held) = held {
                    rows.extend(stored_rows(&server.name, held, &file, None, None, None));
                }
            }
            return rows;
        }
    };
    // The network checks start at once; each server's stored tokens follow when read (a slow
    // keyring does not hold the requests up).
    let (mut senders, mut receivers): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
    for i in 0..servers.len() {
        match oauth.iter().any(|(o, _)| *o == i) {
            true => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                senders.push(Some(tx));
                receivers.push(Some(rx));
            }
            false => {
                senders.push(None);
                receivers.push(None);
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut firsts = Vec::new();
    for (i, ((server, (row, plan)), held)) in
        servers.into_iter().zip(plans).zip(receivers).enumerate()
    {
        firsts.push((server.name.clone(), row));
        let shared = shared.clone();
        tasks.spawn(async move { (i, server_rows(&shared, &server, plan, held).await) });
    }
    if !oauth.is_empty() {
        let (found, notices) = read_stored(config, lookups, progress).await;
        rows.push(store_row(config, sources, &notices));
        for ((i, _), found) in oauth.iter().zip(found) {
            if let Some(tx) = senders[*i].take() {
                let _ = tx.send(found);
            }
        }
    }
    let mut done: Vec<Option<Vec<Row>>> = (0..firsts.len()).map(|_| None).collect();
    // Every request is bounded by the deadline; this only guards against one that is not.
    let grace = deadline + std::time::Duration::from_millis(500);
    while let Ok(Some(joined)) = tokio::time::timeout_at(grace, tasks.join_next()).await {
        if let Ok((i, found)) = joined {
            done[i] = Some(found);
        }
    }
    tasks.abort_all();
    for ((name, first), found) in firsts.into_iter().zip(done) {
        rows.push(first);
        rows.extend(found.unwrap_or_else(|| {
            vec![Row::warn(
                Group::Mcp,
                &name_of(&name, "server"),
                "the checks did not finish in time",
            )]
        }));
    }
    rows
}

fn shared(
    config: &Config,
    options: &Options,
    progress: &Checking,
    deadline: Instant,
) -> Result<Shared, crate::http::HttpError> {
    Ok(Shared {
        client: crate::http::client_with(&config.network, crate::http::Redirects::SameOrigin)?,
        roots: Arc::new(crate::http::trusted_roots(&config.network)?),
        routes: ProxyRoutes::new(&config.network)?,
        net: config.network.clone(),
        codex_home: config.codex_home.clone(),
        tokens_file: config.codex_home.join(crate::store::mcp::FILE_NAME),
        callback_url: config.mcp.callback_url.clone(),
        callback_port: config.mcp.callback_port,
        offline: options.offline,
        deadline,
        progress: progress.clone(),
    })
}

/// The transport row, and the URL and credential of a server the network checks are for.
fn plan(server: &Server) -> (Row, Option<(Url, Credential)>) {
    let name = name_of(&server.name, "transport");
    let table = &server.table;
    let fix_url = format!(
        "set {} to the server's streamable HTTP endpoint (such as https://mcp.example.com/mcp), or `command` for a local server",
        server.setting
    );
    if !table.enabled() {
        let row = Row::skip(Group::Mcp, &name, "disabled (enabled = false): not checked");
        return (row, None);
    }
    let raw = match table.transport() {
        Transport::Http(raw) => raw,
        Transport::Stdio(command) => {
            let row = Row::skip(
                Group::Mcp,
                &name,
                format!("runs `{command}` on this computer (stdio): nothing to sign in"),
            );
            return (row, None);
        }
        Transport::Unknown => {
            let row = Row::warn(
                Group::Mcp,
                &name,
                "neither `url` nor `command` is set: Codex cannot start or reach it",
            )
            .fix(fix_url);
            return (row, None);
        }
    };
    let Some(url) = crate::http::http_url(&raw).and_then(|u| Url::parse(&u).ok()) else {
        let row = Row::fail(
            Group::Mcp,
            &name,
            format!("{} is not an http(s) URL", crate::secret::shown_url(&raw)),
        )
        .fix(fix_url);
        return (row, None);
    };
    let at = format!("streamable HTTP at {}", shown(&raw));
    let (row, auth) = match table.static_auth() {
        None => (
            Row::ok(
                Group::Mcp,
                &name,
                format!(
                    "{at}; signs in with OAuth (codex mcp login {})",
                    server.name
                ),
            ),
            Credential::OAuth,
        ),
        Some(StaticAuth::EnvVar(var)) => {
            let token = crate::provider::env_value(&var).map(Secret::new);
            let row = match token {
                Some(_) => Row::ok(
                    Group::Mcp,
                    &name,
                    format!(
                        "{at}; sends the bearer token in ${var} (bearer_token_env_var; set, value not shown): no sign-in needed"
                    ),
                ),
                None => Row::fail(
                    Group::Mcp,
                    &name,
                    format!(
                        "{at}; sends the bearer token in ${var} (bearer_token_env_var), which is not set"
                    ),
                )
                .fix(format!("export {var}=<the server's token>")),
            };
            (row, Credential::EnvVar { var, token })
        }
        Some(StaticAuth::Header) => (
            Row::ok(
                Group::Mcp,
                &name,
                format!(
                    "{at}; sends an Authorization header of its own (http_headers): no sign-in needed"
                ),
            ),
            Credential::Header,
        ),
    };
    (row, Some((url, auth)))
}

/// Collects the store's notices (the one warning of `auto` falling back to the file).
#[derive(Default)]
struct Collected(Mutex<Vec<String>>);

impl Notify for Collected {
    fn notify(&self, notice: Notice) {
        if let Ok(mut texts) = self.0.lock() {
            texts.push(notice.text);
        }
    }
}

/// The stored tokens of `servers` (name, URL), read on a blocking thread within `LOCAL_BOUND`:
/// what a locked or hung keyring did not answer in time is `Unanswered`. Without
/// `.credentials.json` the file is not asked for (reading it takes its lock, whose file would
/// be created): `auto` then reads the keyring alone, as its fallback would find nothing.
async fn read_stored(
    config: &Config,
    servers: Vec<(String, String)>,
    progress: &Checking,
) -> (Vec<Held>, Vec<String>) {
    let _pending = progress.begin("MCP credentials");
    let count = servers.len();
    let found: Arc<Mutex<Vec<Held>>> = Arc::default();
    let notices = Arc::new(Collected::default());
    let (home, mode) = (config.codex_home.clone(), config.mcp.store_mode);
    let reading = {
        let (found, notices) = (found.clone(), notices.clone());
        tokio::task::spawn_blocking(move || {
            let file = home.join(crate::store::mcp::FILE_NAME);
            let file_present = std::fs::symlink_metadata(&file).is_ok();
            let (read_mode, auto_without_file) = match (mode, file_present) {
                (StoreMode::File, false) => (None, false),
                (StoreMode::Auto, false) => (Some(StoreMode::Keyring), true),
                (mode, _) => (Some(mode), false),
            };
            let store = read_mode.map(|m| McpStore::new(&home, m, notices.clone()));
            // A keyring that failed once is not asked again (each call may wait out its bound).
            let mut keyring_down: Option<Held> = None;
            for (name, url) in servers {
                let held = match (keyring_down.clone(), &store) {
                    (Some(known), _) => known,
                    (None, None) => Held::Nothing,
                    (None, Some(store)) => match store.load(&name, &url) {
                        Ok(Some((tokens, kind))) => Held::Tokens(tokens, kind),
                        Ok(None) => Held::Nothing,
                        Err(McpStoreError::Store(StoreError::KeyringUnavailable {
                            cause, ..
                        })) if auto_without_file => {
                            notices.notify(Notice::warning(format!(
                                "the OS keyring is not available ({cause}), so `auto` keeps MCP tokens in plain text in {}",
                                file.display()
                            )));
                            keyring_down = Some(Held::Nothing);
                            Held::Nothing
                        }
                        Err(e @ McpStoreError::Store(StoreError::KeyringUnavailable { .. })) => {
                            let held = Held::Unreadable(e.to_string());
                            keyring_down = Some(held.clone());
                            held
                        }
                        Err(e) => Held::Unreadable(e.to_string()),
                    },
                };
                match found.lock() {
                    Ok(mut found) => found.push(held),
                    Err(_) => return,
                }
            }
        })
    };
    // A timeout leaves the thread to finish on its own (`run` does not wait for it).
    let _ = tokio::time::timeout(LOCAL_BOUND, reading).await;
    let mut found = found
        .lock()
        .map(|mut f| std::mem::take(&mut *f))
        .unwrap_or_default();
    found.resize_with(count, || Held::Unanswered);
    let notices = notices.0.lock().map(|n| n.clone()).unwrap_or_default();
    (found, notices)
}

fn store_row(config: &Config, sources: &Sources, notices: &[String]) -> Row {
    let mode = config.mcp.store_mode;
    let file = config.codex_home.join(crate::store::mcp::FILE_NAME);
    let saves = match mode {
        StoreMode::File => format!("MCP tokens are kept in `{}`", file.display()),
        StoreMode::Keyring => "MCP tokens are kept in the OS keyring only".to_string(),
        StoreMode::Auto => format!(
            "MCP tokens are kept in the OS keyring while it answers, else in `{}`",
            file.display()
        ),
    };
    let found = format!(
        "{} = \"{}\" {}: {saves}",
        crate::store::MCP_SETTING,
        mode.as_str(),
        sources.shown(&[crate::store::MCP_SETTING])
    );
    match notices.first() {
        None => Row::ok(Group::Mcp, "token store", found),
        Some(notice) => Row::warn(
            Group::Mcp,
            "token store",
            format!(
                "{found}; {}",
                notice.trim_start_matches("warning: ").trim_end()
            ),
        )
        .fix(format!(
            "unlock the OS keyring, or set {} = \"file\" to choose the file",
            crate::store::MCP_SETTING
        )),
    }
}

/// The rows after the transport row: the network checks, then the stored tokens.
async fn server_rows(
    shared: &Shared,
    server: &Server,
    plan: Option<(Url, Credential)>,
    held: Option<tokio::sync::oneshot::Receiver<Held>>,
) -> Vec<Row> {
    let Some((url, auth)) = plan else {
        return Vec::new();
    };
    let name = &server.name;
    if shared.offline {
        let mut rows = vec![Row::skip(
            Group::Mcp,
            &name_of(name, "server"),
            "not checked (--offline)",
        )];
        if let Some(held) = held {
            let held = held.await.unwrap_or(Held::Unanswered);
            let untried = Some("not tried (--offline)");
            rows.extend(stored_rows(
                name,
                held,
                &shared.tokens_file,
                None,
                untried,
                None,
            ));
        }
        return rows;
    }
    let _pending = shared.progress.begin(&format!("MCP server {name}"));
    let mut rows = Vec::new();
    let (row, reachable) = reachable(shared, server, &url, &auth).await;
    rows.push(row);
    let not_reached = "not tried: the server cannot be reached";
    match auth {
        Credential::OAuth => {
            let discovered = if reachable {
                let (found, discovered) = metadata(shared, server, &url).await;
                rows.extend(found);
                discovered
            } else {
                rows.push(Row::skip(
                    Group::Mcp,
                    &name_of(name, "metadata"),
                    "not checked: the server cannot be reached",
                ));
                None
            };
            let Some(held) = held else {
                return rows;
            };
            let held = held.await.unwrap_or(Held::Unanswered);
            let accepted = match (&held, reachable) {
                (Held::Tokens(tokens, _), true) if !tokens.expires_within(0) => {
                    Some(accepts(shared, &url, &tokens.access_token).await)
                }
                (Held::Tokens(..) | Held::Nothing | Held::Unreadable(_) | Held::Unanswered, _) => {
                    None
                }
            };
            let why = (!reachable).then_some(not_reached);
            let issuer = discovered.as_ref().map(|d| d.auth_server.issuer.as_str());
            let file = &shared.tokens_file;
            rows.extend(stored_rows(
                name,
                held,
                file,
                issuer,
                why,
                accepted.as_ref(),
            ));
        }
        Credential::EnvVar {
            var,
            token: Some(token),
        } => {
            let row = Row::ok(
                Group::Mcp,
                &name_of(name, "token"),
                format!("${var} holds a token"),
            );
            let fix = format!("put a token this server accepts in ${var}");
            rows.push(match reachable {
                true => accepts(shared, &url, &token).await.applied_to(row, fix),
                false => row.found_more(not_reached),
            });
        }
        Credential::EnvVar { token: None, .. } | Credential::Header => {}
    }
    rows
}

/// An unauthenticated GET, step by step as the Network rows (proxy, DNS, TCP, TLS): whether
/// the server answers, and whether it asks for a token the way an MCP server does.
async fn reachable(shared: &Shared, server: &Server, url: &Url, auth: &Credential) -> (Row, bool) {
    let target = Target {
        role: "MCP server",
        url: url.clone(),
        setting: server.setting.clone(),
        when_refused: Some(format!(
            "check that the MCP server runs, and {}",
            server.setting
        )),
    };
    let cx = Context {
        net: &shared.net,
        routes: &shared.routes,
        roots: shared.roots.clone(),
        client: &shared.client,
        codex_home: &shared.codex_home,
    };
    let outcome = network::probe(&target, &cx, shared.deadline).await;
    let mut row = outcome.row;
    row.group = Group::Mcp;
    row.name = name_of(&server.name, "server");
    let Some((status, challenge)) = outcome.answer else {
        return (row, false);
    };
    let named = challenge.as_deref().and_then(discovery::resource_metadata);
    let row = match (status, auth) {
        (401, Credential::OAuth) => match named {
            Some(metadata) => row.found_more(&format!(
                "it asks for a token and names its resource metadata ({}), as an OAuth-protected MCP server does",
                shown(&metadata)
            )),
            None => row.found_more(
                "it asks for a token without naming its resource metadata (discovery tries the well-known URLs)",
            ),
        },
        (401, Credential::EnvVar { .. } | Credential::Header) => {
            row.found_more("it asks for a token, which Codex sends")
        }
        (404, _) => Row {
            status: Status::Fail,
            fix: Some(format!(
                "check {}: MCP servers usually serve `/mcp`",
                server.setting
            )),
            ..row.found_more("nothing is served at this path")
        },
        (500.., _) => Row {
            status: Status::Warn,
            fix: Some("try again later, or tell the server's operator".to_string()),
            ..row.found_more("the server fails on its own side")
        },
        (_, Credential::OAuth) => row.found_more("it did not ask for a token (no 401)"),
        (_, Credential::EnvVar { .. } | Credential::Header) => row,
    };
    (row, true)
}

/// Discovery as `codex mcp login` runs it, and who the client is at the authorization server.
async fn metadata(shared: &Shared, server: &Server, url: &Url) -> (Vec<Row>, Option<Discovered>) {
    let name = &server.name;
    let row_name = name_of(name, "metadata");
    // The URL as config.toml writes it, as `codex mcp login` discovers.
    let raw = server.table.url.as_deref().unwrap_or(url.as_str());
    let found =
        tokio::time::timeout_at(shared.deadline, discovery::discover(&shared.client, raw)).await;
    let discovered = match found {
        Ok(Ok(discovered)) => discovered,
        Ok(Err(e)) => {
            let row = Row::fail(Group::Mcp, &row_name, e.to_string()).fix(format!(
                "`codex mcp login {name}` stops here too: check {}, or tell the server's operator",
                server.setting
            ));
            return (vec![row], None);
        }
        Err(_) => {
            let row = Row::warn(Group::Mcp, &row_name, "discovery did not finish in time");
            return (vec![row], None);
        }
    };
    let issuer = printable(&discovered.auth_server.issuer).into_owned();
    let found = match &discovered.resource {
        Some(resource) => format!(
            "the resource metadata (for `{}`) names the authorization server `{issuer}`, whose metadata names that issuer",
            printable(resource)
        ),
        None => format!(
            "no resource metadata: the server is its own authorization server (`{issuer}`), whose metadata names that issuer"
        ),
    };
    let client = client_row(shared, server, &discovered);
    (
        vec![Row::ok(Group::Mcp, &row_name, found), client],
        Some(discovered),
    )
}

/// Who `codex mcp login` would sign in as: the configured client id, else one registered on
/// the spot (RFC 7591), which the authorization server must offer.
fn client_row(shared: &Shared, server: &Server, discovered: &Discovered) -> Row {
    let name = &server.name;
    let row_name = name_of(name, "client");
    let configured = server
        .table
        .oauth
        .as_ref()
        .and_then(|o| o.client_id.as_deref())
        .filter(|id| !id.trim().is_empty());
    let auth_server = &discovered.auth_server;
    match (configured, &auth_server.registration_endpoint) {
        (Some(id), _) => Row::ok(
            Group::Mcp,
            &row_name,
            format!("client id `{id}` from [mcp_servers.{name}.oauth]"),
        ),
        (None, Some(endpoint)) => Row::ok(
            Group::Mcp,
            &row_name,
            format!(
                "the authorization server offers dynamic client registration ({}): `codex mcp login {name}` registers as \"Codex\"",
                shown(endpoint)
            ),
        ),
        (None, None) => {
            let advice = McpError::NoRegistration {
                issuer: printable(&auth_server.issuer).into_owned(),
                name: printable(name).into_owned(),
                client: format!("redirect URI {}", redirect_uri(shared, server)),
            }
            .to_string();
            let one_line: Vec<&str> = advice.lines().filter(|l| !l.is_empty()).collect();
            Row::fail(
                Group::Mcp,
                &row_name,
                "the authorization server offers no dynamic client registration, and no client id is configured",
            )
            .fix(one_line.join(" "))
        }
    }
}

/// The redirect URI `codex mcp login` would use (its port, when none is configured, is any).
fn redirect_uri(shared: &Shared, server: &Server) -> String {
    if let Some(fixed) = &shared.callback_url {
        return fixed.clone();
    }
    let url = server.table.url.as_deref().unwrap_or_default();
    let port = server
        .table
        .oauth
        .as_ref()
        .and_then(|o| o.callback_port)
        .or(shared.callback_port)
        .map(|p| p.to_string())
        .unwrap_or_else(|| "<callback_port>".to_string());
    format!(
        "http://127.0.0.1:{port}/callback/{}",
        crate::mcp::login::callback_id(url)
    )
}

/// The stored-token rows of an OAuth server: the sign-in (where, issued by whom), the access
/// token (until when, and whether the server `accepted` it), the refresh token. `issuer` is
/// the discovered one; `untried` says why the server was not asked about the access token.
fn stored_rows(
    name: &str,
    held: Held,
    file: &std::path::Path,
    issuer: Option<&str>,
    untried: Option<&str>,
    accepted: Option<&Accepted>,
) -> Vec<Row> {
    let sign_in = name_of(name, "sign-in");
    let login = format!("codex mcp login {name}");
    let (tokens, kind) = match held {
        Held::Tokens(tokens, kind) => (tokens, kind),
        Held::Nothing => {
            return vec![Row::warn(Group::Mcp, &sign_in, "not signed in").fix(login)];
        }
        Held::Unreadable(why) => return vec![Row::fail(Group::Mcp, &sign_in, why)],
        Held::Unanswered => {
            return vec![
                Row::warn(
                    Group::Mcp,
                    &sign_in,
                    format!(
                        "the MCP token store did not answer within {} (a locked or unresponsive OS keyring?)",
                        super::seconds(LOCAL_BOUND)
                    ),
                )
                .fix(format!(
                    "unlock the OS keyring, or set {} = \"file\"",
                    crate::store::MCP_SETTING
                )),
            ];
        }
    };
    let key = store_key(&tokens.server_name, &tokens.url);
    let place = match kind {
        StoreKind::File => format!("stored in `{}` (entry `{key}`)", file.display()),
        StoreKind::Keyring => {
            format!("stored in the OS keyring (service \"{MCP_SERVICE}\", account \"{key}\")")
        }
    };
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    let sign_in_row = match (tokens.issuer.as_deref(), issuer) {
        (None, _) => Row::warn(
            Group::Mcp,
            &sign_in,
            format!(
                "{place}; they do not say which authorization server issued them (an older Codex wrote them), so they cannot be refreshed"
            ),
        )
        .fix(login.clone()),
        (Some(stored), Some(found)) if !same(stored, found) => Row::fail(
            Group::Mcp,
            &sign_in,
            format!(
                "{place}; issued by `{stored}`, but the server's authorization server is now `{found}`"
            ),
        )
        .fix(format!("{login} (sign in again, at the server's authorization server)")),
        (Some(stored), Some(_)) => Row::ok(
            Group::Mcp,
            &sign_in,
            format!("{place}; issued by `{stored}`, the server's authorization server"),
        ),
        (Some(stored), None) => Row::ok(
            Group::Mcp,
            &sign_in,
            format!("{place}; issued by `{stored}`"),
        ),
    };
    let access = name_of(name, "access token");
    let has_refresh = tokens.refresh_token.is_some();
    let access_row = match tokens.expires_at {
        None => Row::ok(Group::Mcp, &access, "has no expiry"),
        Some(at) if !tokens.expires_within(0) => Row::ok(
            Group::Mcp,
            &access,
            format!(
                "valid until {}",
                crate::jwt::describe_time((at / 1000) as i64)
            ),
        ),
        Some(at) => {
            let when = crate::jwt::describe_time((at / 1000) as i64);
            match has_refresh {
                true => Row::warn(
                    Group::Mcp,
                    &access,
                    format!(
                        "expired at {when}; the next use refreshes it with the refresh token (not tried: doctor changes nothing)"
                    ),
                )
                .fix(format!("codex mcp token {name} (refreshes it now)")),
                false => Row::fail(
                    Group::Mcp,
                    &access,
                    format!("expired at {when}, and no refresh token is stored"),
                )
                .fix(login.clone()),
            }
        }
    };
    let access_row = match (untried, accepted) {
        (_, Some(accepted)) => accepted.applied_to(access_row, login.clone()),
        (Some(why), None) if !tokens.expires_within(0) => access_row.found_more(why),
        (Some(_) | None, None) => access_row,
    };
    let refresh = name_of(name, "refresh token");
    let refresh_row = match has_refresh {
        true => Row::ok(
            Group::Mcp,
            &refresh,
            "stored (not used: a refresh would replace it, and doctor changes nothing)",
        ),
        false => Row::warn(
            Group::Mcp,
            &refresh,
            "none stored: when the access token expires, only a new sign-in helps",
        )
        .fix(login),
    };
    vec![sign_in_row, access_row, refresh_row]
}

/// What the server said to an MCP `initialize` carrying a token.
enum Accepted {
    Yes(u16),
    No(u16),
    Other(u16),
    Failed(String),
    Late,
}

impl Accepted {
    /// `row` with the server's answer; `fix` is what to do when it refused the token.
    fn applied_to(&self, row: Row, fix: String) -> Row {
        match self {
            Accepted::Yes(status) => row.found_more(&format!(
                "the server accepts it (MCP initialize: HTTP {status})"
            )),
            Accepted::No(status) => Row {
                status: Status::Fail,
                fix: Some(fix),
                ..row.found_more(&format!(
                    "but the server refuses it (MCP initialize: HTTP {status})"
                ))
            },
            Accepted::Other(status) => Row {
                status: at_least_warn(row.status),
                ..row.found_more(&format!(
                    "the server answered MCP initialize with HTTP {status}"
                ))
            },
            Accepted::Failed(why) => Row {
                status: at_least_warn(row.status),
                ..row.found_more(&format!("trying it failed: {why}"))
            },
            Accepted::Late => Row {
                status: at_least_warn(row.status),
                ..row.found_more("trying it did not finish in time")
            },
        }
    }
}

fn at_least_warn(status: Status) -> Status {
    match status {
        Status::Fail => Status::Fail,
        Status::Ok | Status::Warn | Status::Skip => Status::Warn,
    }
}

/// The MCP `initialize` request of a client that only wants to know whether it is let in.
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"codex-doctor","version":"0"}}}"#;

/// Whether the server lets `token` in: an MCP `initialize` with it (nothing is refreshed). A
/// session the server opens for it is closed again.
async fn accepts(shared: &Shared, url: &Url, token: &Secret<String>) -> Accepted {
    let asked = async {
        let response = shared
            .client
            .post(url.clone())
            .bearer_auth(token.expose())
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(INITIALIZE)
            .timeout(DISCOVERY_TIMEOUT)
            .send()
            .await
            .map_err(|e| crate::http::describe(&e))?;
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        drop(response);
        if let Some(session) = session {
            let _ = shared
                .client
                .delete(url.clone())
                .bearer_auth(token.expose())
                .header("mcp-session-id", session)
                .timeout(DISCOVERY_TIMEOUT)
                .send()
                .await;
        }
        Ok::<u16, String>(status)
    };
    match tokio::time::timeout_at(shared.deadline, asked).await {
        Ok(Ok(status @ 200..=299)) => Accepted::Yes(status),
        Ok(Ok(status @ (401 | 403))) => Accepted::No(status),
        Ok(Ok(status)) => Accepted::Other(status),
        Ok(Err(why)) => Accepted::Failed(why),
        Err(_) => Accepted::Late,
    }
}
