//! `codex mcp list|login|logout|token`: the MCP servers of config.toml and their OAuth tokens
//! (`mcp/` signs in and refreshes, `store::mcp` keeps the tokens where the reference does).

use std::process::ExitCode;
use std::sync::Arc;

use crate::Error;
use crate::cli::{McpAddArgs, McpArgs, McpCommand, McpListArgs, McpLoginArgs, McpNameArgs};
use crate::config::Config;
use crate::mcp::settings::{StaticAuth, Transport};
use crate::mcp::{McpError, Server};
use crate::report::{Reporter, stdout_line};
use crate::store::StoreKind;
use crate::store::mcp::{McpStore, McpTokens, now_millis};
use crate::untrusted::printable;

pub fn run(config: &Config, args: McpArgs) -> Result<ExitCode, Error> {
    match args.action {
        McpCommand::List(list) => self::list(config, &list),
        McpCommand::Login(login) => self::login(config, &login),
        McpCommand::Logout(name) => logout(config, &name),
        McpCommand::Token(name) => token(config, &name),
        McpCommand::Add(add) => self::add(config, &add),
        McpCommand::Remove(name) => remove(config, &name),
    }
}

fn add(config: &Config, args: &McpAddArgs) -> Result<ExitCode, Error> {
    crate::mcp::edit::add(&config.codex_home, &args.name, &args.url).map_err(McpError::from)?;
    Reporter::text().line(&format!("Added global MCP server '{}'.", args.name));
    Ok(ExitCode::SUCCESS)
}

fn remove(config: &Config, args: &McpNameArgs) -> Result<ExitCode, Error> {
    let out = Reporter::text();
    let name = printable(&args.name);
    match crate::mcp::edit::remove(&config.codex_home, &args.name).map_err(McpError::from)? {
        Some(_) => out.line(&format!("Removed global MCP server '{name}'.")),
        None => return Err(McpError::UnknownServer(name.into_owned()).into()),
    }
    Ok(ExitCode::SUCCESS)
}

fn open_store(config: &Config, out: Reporter) -> McpStore {
    McpStore::new(&config.codex_home, config.mcp.store_mode, Arc::new(out))
}

fn login(config: &Config, args: &McpLoginArgs) -> Result<ExitCode, Error> {
    let out = Reporter::new(args.json);
    let server = Server::find(config, &args.name)?;
    let store = open_store(config, out);
    let opts = crate::mcp::login::LoginOptions {
        scopes: args.scopes.clone().map(|s| {
            s.into_iter()
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        }),
        open_browser: !args.no_browser && crate::login::browser::browser_available(),
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let runtime = crate::http::runtime();
    let kind = match args.device_auth {
        true => runtime.block_on(crate::mcp::login::run_device(
            config, &store, &server, &opts, &out,
        ))?,
        false => runtime.block_on(crate::mcp::login::run(config, &store, &server, &opts, &out))?,
    };
    let name = printable(&server.name);
    if out.is_json() {
        out.object(&serde_json::json!({
            "event": "logged_in",
            "server": server.name,
            "store": kind.as_str(),
        }))
        .map_err(Error::Stdout)?;
    } else {
        out.line(&format!("Successfully logged in to MCP server '{name}'."));
    }
    Ok(ExitCode::SUCCESS)
}

fn logout(config: &Config, args: &McpNameArgs) -> Result<ExitCode, Error> {
    let out = Reporter::text();
    // The URL is part of the store key: without the server's table there is nothing to find.
    let server = Server::find(config, &args.name)?;
    let store = open_store(config, out);
    let name = printable(&server.name).into_owned();
    // Revoke first (best effort), while the tokens are still there to revoke.
    if let Ok(Some((tokens, _))) = store.load(&server.name, &server.url) {
        revoke(config, &server, &tokens, &out);
    }
    let removal = store
        .delete(&server.name, &server.url)
        .map_err(McpError::from)?;
    // A keyring that is not running cannot hold anything; one that is locked or hung may: then
    // "nothing stored" would be a guess, and the tokens could outlive the logout unseen.
    let unchecked = removal
        .keyring_unreachable
        .as_ref()
        .filter(|c| !c.is_absent());
    match (removal.removed, unchecked) {
        (true, Some(cause)) => {
            out.note(&format!(
                "warning: could not check the OS keyring for tokens of '{name}': {cause}"
            ));
            out.line(&format!("Removed OAuth credentials for '{name}'."));
        }
        (true, None) => out.line(&format!("Removed OAuth credentials for '{name}'.")),
        (false, Some(cause)) => {
            return Err(McpError::KeyringUnchecked {
                name,
                cause: cause.to_string(),
            }
            .into());
        }
        (false, None) => out.line(&format!("No OAuth credentials stored for '{name}'.")),
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(config: &Config, server: &Server, tokens: &McpTokens, out: &Reporter) {
    let result = crate::http::client(&config.network)
        .map_err(|e| e.to_string())
        .and_then(|http| {
            crate::http::runtime().block_on(crate::mcp::token::revoke(&http, server, tokens))
        });
    if let Err(why) = result {
        out.note(&format!(
            "note: the token was not revoked at the authorization server ({why}); it is removed here anyway"
        ));
    }
}

fn token(config: &Config, args: &McpNameArgs) -> Result<ExitCode, Error> {
    let out = Reporter::text();
    let server = Server::find(config, &args.name)?;
    let store = open_store(config, out);
    let http = crate::http::Lazy::new(&config.network);
    let token =
        crate::http::runtime().block_on(crate::mcp::token::current(&http, &store, &server))?;
    stdout_line(token.expose()).map_err(Error::Stdout)?;
    Ok(ExitCode::SUCCESS)
}

/// One row of `codex mcp list`.
struct Row {
    name: String,
    transport: &'static str,
    target: String,
    bearer_env: Option<String>,
    enabled: bool,
    auth: SignIn,
}

/// How a server signs in, as `list` shows it.
enum SignIn {
    Unsupported,
    Bearer,
    NotLoggedIn,
    OAuth {
        expires_at: Option<u64>,
        scopes: Vec<String>,
        store: StoreKind,
    },
    /// The store could not be read, and why.
    Unknown(String),
}

impl SignIn {
    fn text(&self) -> String {
        match self {
            SignIn::Unsupported => "Unsupported".to_string(),
            SignIn::Bearer => "Bearer token".to_string(),
            SignIn::NotLoggedIn => "Not logged in".to_string(),
            SignIn::OAuth {
                expires_at, scopes, ..
            } => {
                let mut details = Vec::new();
                if let Some(at) = expires_at {
                    details.push(expiry(*at));
                }
                if !scopes.is_empty() {
                    details.push(format!("scopes {}", printable(&scopes.join(" "))));
                }
                match details.is_empty() {
                    true => "OAuth".to_string(),
                    false => format!("OAuth ({})", details.join("; ")),
                }
            }
            SignIn::Unknown(why) => format!("Unknown ({why})"),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            SignIn::Unsupported => serde_json::json!({"status": "unsupported"}),
            SignIn::Bearer => serde_json::json!({"status": "bearer_token"}),
            SignIn::NotLoggedIn => serde_json::json!({"status": "not_logged_in"}),
            SignIn::OAuth {
                expires_at,
                scopes,
                store,
            } => serde_json::json!({
                "status": "oauth",
                "expires_at": expires_at,
                "scopes": scopes,
                "store": store.as_str(),
            }),
            SignIn::Unknown(why) => serde_json::json!({"status": "unknown", "problem": why}),
        }
    }
}

/// "expires in 59 min", "expired 3 h ago".
fn expiry(at_ms: u64) -> String {
    let now = now_millis();
    if at_ms > now {
        format!("expires in {}", rough((at_ms - now) / 1000))
    } else {
        format!("expired {} ago", rough((now - at_ms) / 1000))
    }
}

/// A span in the largest unit that still says enough: seconds, minutes, hours, days.
fn rough(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        7200..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

fn list(config: &Config, args: &McpListArgs) -> Result<ExitCode, Error> {
    let out = Reporter::new(args.json);
    let store = open_store(config, out);
    let rows: Vec<Row> = config
        .mcp
        .servers
        .iter()
        .map(|(name, table)| {
            let (transport, target, auth) = match table.transport() {
                Transport::Http(url) => {
                    let auth = match table.static_auth() {
                        Some(StaticAuth::EnvVar(_) | StaticAuth::Header) => SignIn::Bearer,
                        None => match store.load(name, &url) {
                            Ok(Some((tokens, store))) => SignIn::OAuth {
                                expires_at: tokens.expires_at,
                                scopes: tokens.scopes,
                                store,
                            },
                            Ok(None) => SignIn::NotLoggedIn,
                            Err(err) => SignIn::Unknown(err.to_string()),
                        },
                    };
                    (
                        "http",
                        crate::secret::masked_url(&url)
                            .unwrap_or_else(|| printable(&url).into_owned()),
                        auth,
                    )
                }
                Transport::Stdio(command) => (
                    "stdio",
                    printable(&command).into_owned(),
                    SignIn::Unsupported,
                ),
                Transport::Unknown => ("unknown", "-".to_string(), SignIn::Unsupported),
            };
            Row {
                name: printable(name).into_owned(),
                transport,
                target,
                bearer_env: table
                    .bearer_token_env_var
                    .as_deref()
                    .map(|v| printable(v).into_owned()),
                enabled: table.enabled(),
                auth,
            }
        })
        .collect();
    if args.json {
        let servers: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "transport": r.transport,
                    "target": r.target,
                    "bearer_token_env_var": r.bearer_env,
                    "enabled": r.enabled,
                    "auth": r.auth.json(),
                })
            })
            .collect();
        out.object(&serde_json::Value::Array(servers))
            .map_err(Error::Stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        out.line("No MCP servers configured yet. Add one to config.toml:\n\n[mcp_servers.NAME]\nurl = \"https://...\"");
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        "Name",
        "Transport",
        "Url/Command",
        "Bearer Token Env Var",
        "Status",
        "Auth",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.transport.to_string(),
                r.target.clone(),
                r.bearer_env.clone().unwrap_or_else(|| "-".to_string()),
                if r.enabled { "enabled" } else { "disabled" }.to_string(),
                r.auth.text(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut text = vec![line(header.iter().map(|h| h.to_string()).collect())];
    text.extend(cells.into_iter().map(|row| line(row.to_vec())));
    stdout_line(&text.join("\n")).map_err(Error::Stdout)?;
    Ok(ExitCode::SUCCESS)
}
