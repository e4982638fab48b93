//! The one place an HTTP client is built: rustls with the system roots, a user agent, timeouts
//! and proxies. Every request of the program (login, token exchange, refresh, revoke, device
//! polling, exec) goes through a client made here, and every failure is described here.

use std::error::Error as _;
use std::time::Duration;

use thiserror::Error;

use crate::config::Config;

pub const USER_AGENT: &str = concat!("codex-auth/", env!("CARGO_PKG_VERSION"));
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default bound of one request, start to end. Streaming calls set their own.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("cannot set up HTTPS: {0}")]
    Setup(String),
}

/// Builds the HTTP client for this run.
pub fn client(_config: &Config) -> Result<reqwest::Client, HttpError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| HttpError::Setup(describe_chain(&e)))
}

/// The client, built on first use: loading the system roots costs milliseconds, and most runs
/// of a fast path (`codex login token` with a valid token) make no request at all.
pub struct Lazy<'a> {
    config: &'a Config,
    client: std::sync::OnceLock<reqwest::Client>,
}

impl<'a> Lazy<'a> {
    pub fn new(config: &'a Config) -> Lazy<'a> {
        Lazy {
            config,
            client: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> Result<&reqwest::Client, HttpError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = client(self.config)?;
        Ok(self.client.get_or_init(|| built))
    }
}

/// A one-line description of a failed request: what failed, against which URL (without its
/// query, which may carry codes), and the innermost cause.
pub fn describe(err: &reqwest::Error) -> String {
    let target = err
        .url()
        .map(|u| {
            let mut u = u.clone();
            u.set_query(None);
            format!(" to {u}")
        })
        .unwrap_or_default();
    let what = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        format!("could not connect: {}", innermost(err))
    } else if err.is_decode() || err.is_body() {
        format!("the response could not be read: {}", innermost(err))
    } else {
        innermost(err)
    };
    format!("request{target} failed: {what}")
}

fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn describe_chain(err: &reqwest::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(c) = cause {
        parts.push(c.to_string());
        cause = c.source();
    }
    parts.join(": ")
}

/// A single-threaded runtime: the CLI does one thing at a time, and this starts fastest.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can always be built")
}
