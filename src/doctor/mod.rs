//! `codex doctor`: the guide's "When it doesn't work" table, checked on this machine. Each check
//! returns rows (✓ / ⚠ / ✗, what was found, and the command or setting that fixes it), which
//! `commands::doctor` prints. Read-only unless `--refresh`; every check has its own deadline and
//! the whole run is bounded, even when every endpoint hangs.

mod clock;
mod config;
mod credentials;
mod identity;
mod key;
mod mcp;
mod network;
mod remote;
pub mod render;
mod signin;
mod tls;
mod x509;

use std::time::Duration;

use tokio::time::Instant;

use crate::report::Checking;

/// The whole run's bound. Checks that have not finished by then are reported as such.
const RUN_BOUND: Duration = Duration::from_millis(9500);
/// Reading the stored credentials (a keyring call is bounded at 3 s, see `store::keyring`).
const LOCAL_BOUND: Duration = Duration::from_secs(4);

pub struct Options {
    pub json: bool,
    pub offline: bool,
    pub refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
    /// Not checked (`--offline`, nothing to check, or read-only).
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// The sections of the report, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Config,
    Credentials,
    Store,
    Network,
    Key,
    Clock,
    SignIn,
    Mcp,
}

impl Group {
    const ALL: [Group; 8] = [
        Group::Config,
        Group::Credentials,
        Group::Store,
        Group::Network,
        Group::Key,
        Group::Clock,
        Group::SignIn,
        Group::Mcp,
    ];

    fn title(self) -> &'static str {
        match self {
            Group::Config => "Config",
            Group::Credentials => "Credentials",
            Group::Store => "Credential store",
            Group::Network => "Network",
            Group::Key => "Key validity",
            Group::Clock => "Clock",
            Group::SignIn => "Sign-in prerequisites",
            Group::Mcp => "MCP servers",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Group::Config => "config",
            Group::Credentials => "credentials",
            Group::Store => "store",
            Group::Network => "network",
            Group::Key => "key",
            Group::Clock => "clock",
            Group::SignIn => "sign_in",
            Group::Mcp => "mcp",
        }
    }
}

/// One line of the report. No text in it ever holds a secret (keys appear masked, at most).
#[derive(Debug, Clone)]
pub struct Row {
    pub group: Group,
    pub name: String,
    pub status: Status,
    pub found: String,
    /// The command or setting that fixes it (or, on a ✓ row, a hint).
    pub fix: Option<String>,
}

impl Row {
    fn new(group: Group, name: &str, status: Status, found: impl Into<String>) -> Row {
        Row {
            group,
            name: name.to_string(),
            status,
            found: found.into(),
            fix: None,
        }
    }

    pub fn ok(group: Group, name: &str, found: impl Into<String>) -> Row {
        Row::new(group, name, Status::Ok, found)
    }

    pub fn warn(group: Group, name: &str, found: impl Into<String>) -> Row {
        Row::new(group, name, Status::Warn, found)
    }

    pub fn fail(group: Group, name: &str, found: impl Into<String>) -> Row {
        Row::new(group, name, Status::Fail, found)
    }

    pub fn skip(group: Group, name: &str, found: impl Into<String>) -> Row {
        Row::new(group, name, Status::Skip, found)
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Row {
        self.fix = Some(fix.into());
        self
    }

    pub fn fix_opt(mut self, fix: Option<String>) -> Row {
        self.fix = fix;
        self
    }

    /// The same row, saying `more` after what it found.
    pub fn found_more(mut self, more: &str) -> Row {
        self.found = format!("{}; {more}", self.found);
        self
    }
}

/// Runs every check; `progress` names the ones still running.
pub fn run(overrides: &[String], options: &Options, progress: &Checking) -> Vec<Row> {
    let runtime = crate::http::runtime();
    let rows = runtime.block_on(collect(overrides, options, progress));
    // A keyring or DNS call still running on a blocking thread is not waited for.
    runtime.shutdown_background();
    rows
}

/// True when a check found something broken (warnings do not count).
pub fn failed(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.status == Status::Fail)
}

async fn collect(overrides: &[String], options: &Options, progress: &Checking) -> Vec<Row> {
    let mut deadline = Instant::now() + RUN_BOUND;
    let signin = {
        let pending = progress.begin("callback ports");
        tokio::task::spawn_blocking(move || {
            let rows = signin::check();
            drop(pending);
            rows
        })
    };
    let mut rows = Vec::new();
    let mut mcp_rows = Vec::new();
    if let Some(config::Loaded {
        mut config,
        sources,
    }) = config::check(overrides, &mut rows)
    {
        // Nothing is written unless `--refresh` allows the one refresh.
        config.read_only = !options.refresh;
        let asked = if options.refresh {
            credentials::Refresh::Asked
        } else {
            credentials::Refresh::NotAsked
        };
        let mut stored = read_stored(&config, &sources, asked, progress).await;
        let mut refreshed = None;
        if options.refresh
            && !options.offline
            && let Some(doc) = stored.doc.as_ref().filter(|_| stored.is_chatgpt())
        {
            let started = Instant::now();
            let row = {
                let _pending = progress.begin("the refresh");
                key::refresh(&config, doc).await
            };
            // The refresh is never cut short (see `key::refresh`): the checks after it keep
            // their own time.
            deadline += started.elapsed();
            // Every row describes the credentials as the refresh left them.
            stored = read_stored(&config, &sources, credentials::Refresh::Tried, progress).await;
            refreshed = Some(row);
        }
        // That was the one write `--refresh` allows: the checks below (under the deadline) only
        // read, so none of them can start a refresh the deadline would cut short.
        config.read_only = true;
        rows.extend(stored.rows.iter().cloned());
        let refresh_tried = refreshed.is_some();
        rows.extend(refreshed);
        rows.extend(identity::local(&config));
        let remote = remote::Remote {
            config: &config,
            sources: &sources,
            stored: &stored,
            options,
            progress,
            deadline,
            refresh_tried,
        };
        // The MCP servers are checked alongside, under the same deadline.
        let mcp = mcp::check(&config, &sources, options, progress, deadline);
        let (remote, mcp) = tokio::join!(remote.check(), mcp);
        rows.extend(remote);
        // Last in the JSON too, as in the text.
        mcp_rows = mcp;
        if !options.offline && identity::selected() {
            let _pending = progress.begin("the host's credential");
            let lazy = crate::http::Lazy::new(&config.network);
            match tokio::time::timeout_at(deadline, identity::remote(&config, &lazy)).await {
                Ok(found) => rows.extend(found),
                Err(_) => rows.push(Row::warn(
                    Group::Key,
                    "the host's credential",
                    "the workload identity exchange or the access token lookup did not finish in time",
                )),
            }
        }
    }
    match tokio::time::timeout_at(deadline, signin).await {
        Ok(Ok(found)) => rows.extend(found),
        Ok(Err(_)) | Err(_) => rows.push(Row::warn(
            Group::SignIn,
            "callback ports",
            "could not be checked in time",
        )),
    }
    rows.extend(mcp_rows);
    rows
}

/// The stored credentials, read on a blocking thread within `LOCAL_BOUND`.
async fn read_stored(
    config: &crate::config::Config,
    sources: &config::Sources,
    refresh: credentials::Refresh,
    progress: &Checking,
) -> credentials::Stored {
    let _pending = progress.begin("credentials");
    let (copy, sources) = (config.clone(), sources.clone());
    let reading = tokio::task::spawn_blocking(move || credentials::check(&copy, &sources, refresh));
    match tokio::time::timeout(LOCAL_BOUND, reading).await {
        Ok(Ok(stored)) => stored,
        Ok(Err(_)) | Err(_) => credentials::Stored::unanswered(config, LOCAL_BOUND),
    }
}

/// `1.2 s`, `850 ms`.
fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}
