//! The one place an HTTP client is built: rustls with the system roots plus the user's CA bundle,
//! the proxies of the environment, a user agent and timeouts. Every request of the program
//! (login, token exchange, refresh, revoke, device polling, exec) goes through a client made
//! here, and every failure is described here, in words that say what to do.

use std::error::Error as StdError;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use thiserror::Error;
use url::Url;

use crate::config::{Config, FromEnv, NetworkSettings};
use crate::secret::Secret;

pub const USER_AGENT: &str = concat!("codex-auth/", env!("CARGO_PKG_VERSION"));
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default bound of one request, start to end. Streaming calls set their own.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The fix for an unknown certificate authority, as the user guide words it.
pub const CA_HINT: &str = "`export CODEX_CA_CERTIFICATE=/path/to/ca.pem`";

#[derive(Debug, Error)]
pub enum HttpError {
    #[error(
        "{variable} points to `{path}`, which does not exist. Point it at your CA's certificate in PEM format, or unset it."
    )]
    CaMissing {
        variable: &'static str,
        path: String,
    },
    #[error("cannot read `{path}` (from {variable}): {source}")]
    CaUnreadable {
        variable: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{variable} points to `{path}`, which holds no certificate (no `-----BEGIN CERTIFICATE-----` block). Point it at your CA's certificate in PEM format."
    )]
    CaNoCertificate {
        variable: &'static str,
        path: String,
    },
    #[error(
        "{variable} points to `{path}`, which is not a valid PEM file: {detail}. Export the CA's certificate again in PEM format."
    )]
    CaBadPem {
        variable: &'static str,
        path: String,
        detail: String,
    },
    #[error(
        "{variable} points to `{path}`, whose certificate number {number} is not a valid X.509 certificate ({detail}). Export the CA's certificate again in PEM format."
    )]
    CaBadCertificate {
        variable: &'static str,
        path: String,
        number: usize,
        detail: String,
    },
    #[error(
        "{variable} is not a usable proxy URL: {detail}. Expected a URL such as http://proxy.example.com:3128 or socks5://proxy.example.com:1080."
    )]
    BadProxy {
        variable: &'static str,
        detail: String,
    },
    #[error("cannot set up HTTPS: {0}")]
    Setup(String),
}

/// Builds the HTTP client for this run.
pub fn client(config: &Config) -> Result<reqwest::Client, HttpError> {
    let net = &config.network;
    let roots = root_store(net)?;
    let routes = ProxyRoutes::new(net)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // reqwest would read the proxy variables itself; `no_proxy()` turns that off so that the
    // routes below, which `describe` also consults, are the only ones.
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .no_proxy();
    if !routes.is_empty() {
        tracing::debug!(?routes, "using proxies");
        let chosen = routes.clone();
        builder = builder.proxy(reqwest::Proxy::custom(move |url| {
            chosen.for_url(url).map(|p| p.url.expose().clone())
        }));
    }
    let client = builder
        .build()
        .map_err(|e| HttpError::Setup(describe_chain(&e)))?;
    let _ = ACTIVE.set(Active {
        routes,
        ca_bundle: net.ca_bundle.clone(),
    });
    Ok(client)
}

/// The network settings of the client built in this run, for `describe`.
struct Active {
    routes: ProxyRoutes,
    ca_bundle: Option<FromEnv<PathBuf>>,
}

static ACTIVE: OnceLock<Active> = OnceLock::new();

// ------------------------------------------------------------------------------------ roots

/// The system's trusted roots plus the user's bundle (`CODEX_CA_CERTIFICATE`, else
/// `SSL_CERT_FILE`) and `SSL_CERT_DIR`. The bundle must be good; the system store is taken as
/// it is.
fn root_store(net: &NetworkSettings) -> Result<rustls::RootCertStore, HttpError> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(system_roots(&net.cert_dirs));
    tracing::debug!(added, ignored, "system root certificates");
    if let Some(bundle) = &net.ca_bundle {
        let certs = read_bundle(bundle)?;
        let count = certs.len();
        for (i, cert) in certs.into_iter().enumerate() {
            roots.add(cert).map_err(|e| HttpError::CaBadCertificate {
                variable: bundle.variable,
                path: bundle.value.display().to_string(),
                number: i + 1,
                detail: e.to_string(),
            })?;
        }
        tracing::debug!(
            variable = bundle.variable,
            path = %bundle.value.display(),
            count,
            "added CA certificates"
        );
    }
    Ok(roots)
}

/// Reads a PEM bundle: every `CERTIFICATE` block in it. Other blocks (keys, CRLs) are skipped.
fn read_bundle(bundle: &FromEnv<PathBuf>) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    let variable = bundle.variable;
    let path = bundle.value.display().to_string();
    let bytes = match std::fs::read(&bundle.value) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(HttpError::CaMissing { variable, path });
        }
        Err(source) => {
            return Err(HttpError::CaUnreadable {
                variable,
                path,
                source,
            });
        }
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| HttpError::CaBadPem {
            variable,
            path: path.clone(),
            detail: pem_problem(&e),
        })?;
    if certs.is_empty() {
        return Err(HttpError::CaNoCertificate { variable, path });
    }
    Ok(certs)
}

fn pem_problem(err: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match err {
        Error::MissingSectionEnd { end_marker } => format!(
            "a block has no `-----END {}-----` line",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed".to_string(),
        Error::Base64Decode(_) => "a block is not valid base64".to_string(),
        other => other.to_string(),
    }
}

/// The platform's own trusted roots. On Linux and the BSDs these are files, read here directly:
/// rustls-native-certs would read `SSL_CERT_FILE`/`SSL_CERT_DIR` *instead of* the system store,
/// and we add those to it. `SSL_CERT_DIR` directories are taken as the system's are: what can be
/// read is used.
#[cfg(all(unix, not(target_os = "macos")))]
fn system_roots(extra_dirs: &[PathBuf]) -> Vec<CertificateDer<'static>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let system = openssl_probe::candidate_cert_dirs().map(Path::to_path_buf);
    for dir in system.chain(extra_dirs.iter().cloned()) {
        let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if !dirs.contains(&key) {
            dirs.push(key);
        }
    }
    let mut certs = Vec::new();
    for dir in &dirs {
        let found = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        for e in &found.errors {
            tracing::debug!(dir = %dir.display(), error = %e, "skipped part of a certificate directory");
        }
        certs.extend(found.certs);
    }
    certs
}

/// On macOS and Windows the system store is the OS's own. rustls-native-certs gives no way to
/// read it without also honouring `SSL_CERT_FILE`/`SSL_CERT_DIR` (which then replace it).
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn system_roots(extra_dirs: &[PathBuf]) -> Vec<CertificateDer<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(error = %e, "skipped part of the system certificate store");
    }
    let mut certs = found.certs;
    for dir in extra_dirs {
        certs.extend(rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs);
    }
    certs
}

// ---------------------------------------------------------------------------------- proxies

/// A proxy named by an environment variable. Its URL may hold a password: it is only shown
/// as `scheme://host:port`.
#[derive(Clone)]
pub struct Proxy {
    variable: &'static str,
    url: Secret<Url>,
}

impl Proxy {
    fn parse(setting: &FromEnv<Secret<String>>) -> Result<Proxy, HttpError> {
        let variable = setting.variable;
        let bad = |detail: String| HttpError::BadProxy { variable, detail };
        let raw = setting.value.expose();
        // `proxy.example.com:3128` means an HTTP proxy, as for curl.
        let text = if raw.contains("://") {
            raw.clone()
        } else {
            format!("http://{raw}")
        };
        // url's errors never quote the input, so they cannot leak a password.
        let url = Url::parse(&text).map_err(|e| bad(e.to_string()))?;
        match url.scheme() {
            "http" | "https" | "socks4" | "socks4a" | "socks5" | "socks5h" => {}
            other => {
                return Err(bad(format!(
                    "the scheme `{other}` is not supported (use http, https, socks5 or socks5h)"
                )));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it names no host".to_string()));
        }
        Ok(Proxy {
            variable,
            url: Secret::new(url),
        })
    }

    /// `scheme://host:port`, without user name or password.
    pub fn shown(&self) -> String {
        let url = self.url.expose();
        let host = url.host_str().unwrap_or_default();
        match url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        }
    }

    fn has_credentials(&self) -> bool {
        let url = self.url.expose();
        !url.username().is_empty() || url.password().is_some()
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {})", self.shown(), self.variable)
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bypass {
    All,
    /// Matches the domain and its subdomains; stored lower-case, without a leading dot.
    Domain(String),
    Ip(IpAddr),
    Network(IpAddr, u8),
}

impl Bypass {
    fn parse(entry: &str) -> Option<Bypass> {
        let entry = entry.trim();
        if entry.is_empty() {
            return None;
        }
        if entry == "*" {
            return Some(Bypass::All);
        }
        let bare = entry.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Some(Bypass::Ip(ip));
        }
        if let Some((ip, bits)) = entry.split_once('/')
            && let (Ok(ip), Ok(bits)) = (ip.parse::<IpAddr>(), bits.parse::<u8>())
        {
            return Some(Bypass::Network(ip, bits));
        }
        Some(Bypass::Domain(
            entry.trim_start_matches('.').to_ascii_lowercase(),
        ))
    }

    fn matches(&self, host: &url::Host<&str>) -> bool {
        match (self, host) {
            (Bypass::All, _) => true,
            (Bypass::Domain(domain), url::Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                name == *domain || name.ends_with(&format!(".{domain}"))
            }
            (Bypass::Domain(_), _) => false,
            (Bypass::Ip(ip), host) => host_ip(host) == Some(*ip),
            (Bypass::Network(net, bits), host) => {
                host_ip(host).is_some_and(|ip| in_network(ip, *net, *bits))
            }
        }
    }
}

fn host_ip(host: &url::Host<&str>) -> Option<IpAddr> {
    match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        url::Host::Domain(_) => None,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Which proxy, if any, a URL goes through: `HTTPS_PROXY` for https, `HTTP_PROXY` for http,
/// `ALL_PROXY` for either when the specific one is unset, none for hosts in `NO_PROXY`.
#[derive(Clone, Default)]
pub struct ProxyRoutes {
    http: Option<Proxy>,
    https: Option<Proxy>,
    bypass: Vec<Bypass>,
}

impl ProxyRoutes {
    pub fn new(net: &NetworkSettings) -> Result<ProxyRoutes, HttpError> {
        let parse = |s: &Option<FromEnv<Secret<String>>>| s.as_ref().map(Proxy::parse).transpose();
        let all = parse(&net.all_proxy)?;
        Ok(ProxyRoutes {
            http: parse(&net.http_proxy)?.or_else(|| all.clone()),
            https: parse(&net.https_proxy)?.or(all),
            bypass: net
                .no_proxy
                .as_ref()
                .map(|n| n.value.split(',').filter_map(Bypass::parse).collect())
                .unwrap_or_default(),
        })
    }

    fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    pub fn for_url(&self, url: &Url) -> Option<&Proxy> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url.host()?;
        if self.bypass.iter().any(|b| b.matches(&host)) {
            return None;
        }
        Some(proxy)
    }
}

impl std::fmt::Debug for ProxyRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyRoutes")
            .field("http", &self.http)
            .field("https", &self.https)
            .field("no_proxy", &self.bypass)
            .finish()
    }
}

// ------------------------------------------------------------------------------ describing

/// What kind of failure reqwest reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Timeout,
    Connect,
    Body,
    Other,
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
/// query, which may carry codes), and what to do about it: a TLS problem names the host and,
/// for an unknown certificate authority, the fix; a proxy problem names the proxy (never its
/// password).
pub fn describe(err: &reqwest::Error) -> String {
    let failure = if err.is_timeout() {
        Failure::Timeout
    } else if err.is_connect() {
        Failure::Connect
    } else if err.is_decode() || err.is_body() {
        Failure::Body
    } else {
        Failure::Other
    };
    let active = ACTIVE.get();
    let proxy = match (active, err.url()) {
        (Some(active), Some(url)) => active.routes.for_url(url),
        _ => None,
    };
    let ca_bundle = active.and_then(|a| a.ca_bundle.as_ref());
    explain(err, failure, err.url(), proxy, ca_bundle)
}

fn explain(
    err: &(dyn StdError + 'static),
    failure: Failure,
    url: Option<&Url>,
    proxy: Option<&Proxy>,
    ca_bundle: Option<&FromEnv<PathBuf>>,
) -> String {
    let target = url
        .map(|u| {
            let mut u = u.clone();
            u.set_query(None);
            u.set_fragment(None);
            format!(" to {u}")
        })
        .unwrap_or_default();
    let host = url
        .map(host_and_port)
        .unwrap_or_else(|| "the server".into());
    let what = if let Some(tls) = find_rustls_error(err) {
        tls_problem(tls, &host, ca_bundle)
    } else if let Some(proxy) = proxy {
        proxy_problem(err, failure, proxy, url, &host)
    } else {
        match failure {
            Failure::Timeout => "timed out".to_string(),
            Failure::Connect => format!("could not connect: {}", innermost(err)),
            Failure::Body => format!("the response could not be read: {}", innermost(err)),
            Failure::Other => innermost(err),
        }
    };
    format!("request{target} failed: {what}")
}

fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn tls_problem(err: &rustls::Error, host: &str, ca_bundle: Option<&FromEnv<PathBuf>>) -> String {
    use rustls::CertificateError as C;
    let cert = match err {
        rustls::Error::InvalidCertificate(cert) => cert,
        other => return format!("the TLS connection to `{host}` failed: {other}"),
    };
    match cert {
        C::UnknownIssuer => {
            let fix = match ca_bundle {
                Some(b) if b.variable == "CODEX_CA_CERTIFICATE" => format!(
                    "`{}` (CODEX_CA_CERTIFICATE) does not hold the CA that signed it; point CODEX_CA_CERTIFICATE at that CA's certificate",
                    b.value.display()
                ),
                _ => format!(
                    "if your network inspects TLS with a corporate CA, or the server uses a private one, trust that CA: {CA_HINT}"
                ),
            };
            format!(
                "the TLS certificate of `{host}` is signed by an unknown certificate authority; {fix}"
            )
        }
        C::Expired | C::ExpiredContext { .. } => format!(
            "the TLS certificate of `{host}` has expired (if it should not have, check this computer's clock)"
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => format!(
            "the TLS certificate of `{host}` is not valid yet (check this computer's clock)"
        ),
        C::NotValidForName => format!(
            "the TLS certificate of `{host}` is not valid for that name (the server, or a proxy in between, presents another host's certificate)"
        ),
        C::NotValidForNameContext { presented, .. } => format!(
            "the TLS certificate of `{host}` is not valid for that name; it is for {} (the server, or a proxy in between, presents another host's certificate)",
            presented
                .iter()
                .map(|name| format!("`{}`", presented_name(name)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("the TLS certificate of `{host}` was rejected: {other:?}"),
    }
}

/// webpki reports a certificate's names in their `Debug` form (`DnsName("a.example")`).
fn presented_name(name: &str) -> &str {
    name.split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(name, |inner| inner.trim_matches('"'))
}

fn proxy_problem(
    err: &(dyn StdError + 'static),
    failure: Failure,
    proxy: &Proxy,
    url: Option<&Url>,
    host: &str,
) -> String {
    let name = format!("{} (from {})", proxy.shown(), proxy.variable);
    let variable = proxy.variable;
    // hyper-util's tunnel errors are not public types; their texts are what is left to match.
    let said = |text: &str| chain(err).any(|e| e.to_string().contains(text));
    const STATUS_407: &str = "407 Proxy Authentication Required";
    if said("proxy authorization required") {
        return refused_login(proxy, &name, STATUS_407);
    }
    if said("tunnel error: unsuccessful") {
        return match url.and_then(|u| ask_proxy(proxy, u)) {
            // Some proxies (tinyproxy) answer wrong credentials with a 401.
            Some((status @ (401 | 407), reason)) => {
                refused_login(proxy, &name, &format!("{status} {reason}"))
            }
            Some((status, reason)) if status != 200 => format!(
                "the proxy {name} refused to open a connection to `{host}` ({status} {reason})"
            ),
            _ => format!("the proxy {name} would not open a connection to `{host}`"),
        };
    }
    match failure {
        Failure::Timeout => format!("timed out (through the proxy {name})"),
        Failure::Connect if innermost_io(err).is_some() => format!(
            "could not connect to the proxy {name}: {}; check {variable}, or add `{}` to NO_PROXY to connect directly",
            innermost(err),
            url.and_then(Url::host_str).unwrap_or(host)
        ),
        Failure::Connect => format!(
            "could not connect through the proxy {name}: {}",
            innermost(err)
        ),
        Failure::Body => format!(
            "the response could not be read (through the proxy {name}): {}",
            innermost(err)
        ),
        Failure::Other => format!("{} (through the proxy {name})", innermost(err)),
    }
}

/// A proxy wants a (different) login: it answered `status`, a 407 or a 401.
fn refused_login(proxy: &Proxy, name: &str, status: &str) -> String {
    let variable = proxy.variable;
    if proxy.has_credentials() {
        return format!(
            "the proxy {name} refused the user name and password in {variable} ({status}); check them"
        );
    }
    let shown = proxy.shown();
    let (scheme, address) = shown.split_once("://").unwrap_or(("http", &shown));
    format!(
        "the proxy {name} requires a user name and password ({status}); put them in the URL: {variable}={scheme}://USER:PASSWORD@{address}"
    )
}

/// How long asking a proxy why it refused may take.
const PROXY_QUESTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks an HTTP proxy for a tunnel to `target` once more, to learn its answer's status: hyper-util
/// only recognises a 407 in an `HTTP/1.1` answer (tinyproxy, among others, answers `HTTP/1.0`)
/// and reports every other refusal without its status. Only on a failure that already happened.
fn ask_proxy(proxy: &Proxy, target: &Url) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let url = proxy.url.expose();
    if url.scheme() != "http" {
        return None;
    }
    let address = (url.host_str()?, url.port_or_known_default()?)
        .to_socket_addrs()
        .ok()?
        .next()?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, PROXY_QUESTION_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(PROXY_QUESTION_TIMEOUT)).ok()?;
    stream
        .set_write_timeout(Some(PROXY_QUESTION_TIMEOUT))
        .ok()?;
    let authority = format!("{}:{}", target.host_str()?, target.port_or_known_default()?);
    let mut request = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n"
    );
    if proxy.has_credentials() {
        use base64::Engine as _;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let pair = format!(
            "{}:{}",
            decode(url.username()),
            decode(url.password().unwrap_or_default())
        );
        let token = base64::engine::general_purpose::STANDARD.encode(pair);
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    let line = answer.lines().next()?;
    let mut parts = line.splitn(3, ' ');
    let _version = parts.next().filter(|v| v.starts_with("HTTP/"))?;
    let status = parts.next()?.parse().ok()?;
    Some((status, parts.next().unwrap_or_default().trim().to_string()))
}

/// The error and its causes. `std::io::Error::source` skips the error it wraps, so that one is
/// visited explicitly: it is where rustls puts its errors.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(err);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn StdError + 'static))
                .or_else(|| current.source()),
            None => current.source(),
        };
        Some(current)
    })
}

fn find_rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    chain(err).find_map(|e| e.downcast_ref::<rustls::Error>())
}

fn innermost_io<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a std::io::Error> {
    chain(err)
        .last()
        .and_then(|e| e.downcast_ref::<std::io::Error>())
}

/// `raw` without surrounding spaces and trailing slashes, if it is an http(s) URL with a host.
pub fn http_url(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Some(trimmed.to_string())
        }
        Ok(_) | Err(_) => None,
    }
}

/// The innermost cause of an error chain, as text.
pub fn innermost(err: &(dyn StdError + 'static)) -> String {
    chain(err).last().map(|e| e.to_string()).unwrap_or_default()
}

fn describe_chain(err: &reqwest::Error) -> String {
    chain(err)
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// A single-threaded runtime: the CLI does one thing at a time, and this starts fastest.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can always be built")
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn test_ca() -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "codex test CA");
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn bundle_at(dir: &Path, text: &str) -> FromEnv<PathBuf> {
        let path = dir.join("ca.pem");
        std::fs::write(&path, text).unwrap();
        FromEnv {
            variable: "CODEX_CA_CERTIFICATE",
            value: path,
        }
    }

    fn bundle_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let bundle = bundle_at(dir.path(), text);
        let net = NetworkSettings {
            ca_bundle: Some(bundle),
            ..NetworkSettings::default()
        };
        let err = root_store(&net).expect_err("the bundle is refused");
        err.to_string()
            .replace(&dir.path().display().to_string(), "DIR")
    }

    #[test]
    fn bundle_is_added_to_the_system_roots() {
        let system = root_store(&NetworkSettings::default()).unwrap().len();
        assert!(system > 0, "this machine has system roots");
        let dir = tempfile::tempdir().unwrap();
        let two = format!(
            "{}junk between blocks\n{}",
            pem("CERTIFICATE", &test_ca()),
            pem("CERTIFICATE", &test_ca())
        );
        let net = NetworkSettings {
            ca_bundle: Some(bundle_at(dir.path(), &two)),
            ..NetworkSettings::default()
        };
        assert_eq!(root_store(&net).unwrap().len(), system + 2);
    }

    #[test]
    fn bad_bundles_are_errors_naming_variable_and_path() {
        assert_eq!(
            bundle_error(""),
            "CODEX_CA_CERTIFICATE points to `DIR/ca.pem`, which holds no certificate (no `-----BEGIN CERTIFICATE-----` block). Point it at your CA's certificate in PEM format."
        );
        assert_eq!(
            bundle_error(&pem("PRIVATE KEY", b"not a key")),
            "CODEX_CA_CERTIFICATE points to `DIR/ca.pem`, which holds no certificate (no `-----BEGIN CERTIFICATE-----` block). Point it at your CA's certificate in PEM format."
        );
        assert_eq!(
            bundle_error(
                "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n-----END CERTIFICATE-----\n"
            ),
            "CODEX_CA_CERTIFICATE points to `DIR/ca.pem`, which is not a valid PEM file: a block is not valid base64. Export the CA's certificate again in PEM format."
        );
        let ca = pem("CERTIFICATE", &test_ca());
        assert_eq!(
            bundle_error(&ca[..ca.len() - 30]),
            "CODEX_CA_CERTIFICATE points to `DIR/ca.pem`, which is not a valid PEM file: a block has no `-----END CERTIFICATE-----` line. Export the CA's certificate again in PEM format."
        );
        assert_eq!(
            bundle_error(&format!("{ca}{}", pem("CERTIFICATE", b"hello"))),
            "CODEX_CA_CERTIFICATE points to `DIR/ca.pem`, whose certificate number 2 is not a valid X.509 certificate (invalid peer certificate: BadEncoding). Export the CA's certificate again in PEM format."
        );
    }

    #[test]
    fn missing_bundle_is_an_error_naming_variable_and_path() {
        let net = NetworkSettings {
            ca_bundle: Some(FromEnv {
                variable: "SSL_CERT_FILE",
                value: PathBuf::from("/nonexistent/corp-ca.pem"),
            }),
            ..NetworkSettings::default()
        };
        assert_eq!(
            root_store(&net).unwrap_err().to_string(),
            "SSL_CERT_FILE points to `/nonexistent/corp-ca.pem`, which does not exist. Point it at your CA's certificate in PEM format, or unset it."
        );
    }

    fn proxy_setting(variable: &'static str, value: &str) -> Option<FromEnv<Secret<String>>> {
        Some(FromEnv {
            variable,
            value: Secret::new(value.to_string()),
        })
    }

    fn routes(https: &str, http: &str, all: &str, no_proxy: &str) -> ProxyRoutes {
        let net = NetworkSettings {
            https_proxy: (!https.is_empty())
                .then(|| proxy_setting("HTTPS_PROXY", https))
                .flatten(),
            http_proxy: (!http.is_empty())
                .then(|| proxy_setting("http_proxy", http))
                .flatten(),
            all_proxy: (!all.is_empty())
                .then(|| proxy_setting("ALL_PROXY", all))
                .flatten(),
            no_proxy: (!no_proxy.is_empty()).then(|| FromEnv {
                variable: "NO_PROXY",
                value: no_proxy.to_string(),
            }),
            ..NetworkSettings::default()
        };
        ProxyRoutes::new(&net).unwrap()
    }

    fn via(routes: &ProxyRoutes, url: &str) -> Option<String> {
        routes
            .for_url(&Url::parse(url).unwrap())
            .map(|p| format!("{p:?}"))
    }

    #[test]
    fn proxies_are_chosen_by_scheme_with_all_proxy_as_fallback() {
        let r = routes("http://s.corp:3128", "", "socks5://a.corp:1080", "");
        assert_eq!(
            via(&r, "https://auth.openai.com/x").as_deref(),
            Some("http://s.corp:3128 (from HTTPS_PROXY)")
        );
        assert_eq!(
            via(&r, "http://localhost:11434/v1").as_deref(),
            Some("socks5://a.corp:1080 (from ALL_PROXY)")
        );
        let r = routes("", "proxy.corp:8080", "", "");
        assert_eq!(via(&r, "https://auth.openai.com/"), None);
        assert_eq!(
            via(&r, "http://x/").as_deref(),
            Some("http://proxy.corp:8080 (from http_proxy)")
        );
        assert_eq!(via(&routes("", "", "", ""), "https://x/"), None);
    }

    #[test]
    fn no_proxy_matches_domains_ips_and_networks() {
        let r = routes(
            "http://p:1",
            "",
            "",
            " .openai.com, localhost,10.0.0.0/8 ,::1,[fe80::1]",
        );
        for direct in [
            "https://openai.com/",
            "https://auth.OpenAI.com/",
            "https://localhost:8443/",
            "https://10.2.3.4/",
            "https://[::1]:9/",
            "https://[fe80::1]/",
        ] {
            assert_eq!(via(&r, direct), None, "{direct}");
        }
        for proxied in [
            "https://notopenai.com/",
            "https://11.0.0.1/",
            "https://127.0.0.1/",
        ] {
            assert!(via(&r, proxied).is_some(), "{proxied}");
        }
        assert_eq!(
            via(&routes("http://p:1", "", "", "*"), "https://anything/"),
            None
        );
    }

    #[test]
    fn proxy_passwords_never_show() {
        let r = routes("http://alice:CANARY-pw%40x@proxy.corp:3128", "", "", "");
        let shown = format!("{r:?}");
        assert_eq!(
            shown,
            "ProxyRoutes { http: None, https: Some(http://proxy.corp:3128 (from HTTPS_PROXY)), no_proxy: [] }"
        );
        for bad in [
            "ftp://alice:CANARY@host",
            "http://alice:CANARY@",
            "http://alice:CANARY@host:99999",
        ] {
            let net = NetworkSettings {
                https_proxy: proxy_setting("HTTPS_PROXY", bad),
                ..NetworkSettings::default()
            };
            let err = ProxyRoutes::new(&net).unwrap_err().to_string();
            assert!(
                !err.contains("CANARY")
                    && err.starts_with("HTTPS_PROXY is not a usable proxy URL: "),
                "{err}"
            );
        }
    }

    /// An error standing in for hyper-util's (private) tunnel error.
    #[derive(Debug)]
    struct Said(&'static str, Option<std::io::Error>);

    impl std::fmt::Display for Said {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Said {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_ref().map(|e| e as _)
        }
    }

    fn tls(error: rustls::CertificateError, bundle: Option<&FromEnv<PathBuf>>) -> String {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(error),
        );
        let err = Said("client error (Connect)", Some(io));
        let url = Url::parse("https://auth.corp.example:8443/oauth/token?code=SECRET").unwrap();
        explain(&err, Failure::Connect, Some(&url), None, bundle)
    }

    #[test]
    fn tls_failures_name_the_host_and_the_fix() {
        assert_eq!(
            tls(rustls::CertificateError::UnknownIssuer, None),
            "request to https://auth.corp.example:8443/oauth/token failed: the TLS certificate of `auth.corp.example:8443` is signed by an unknown certificate authority; if your network inspects TLS with a corporate CA, or the server uses a private one, trust that CA: `export CODEX_CA_CERTIFICATE=/path/to/ca.pem`"
        );
        let bundle = FromEnv {
            variable: "CODEX_CA_CERTIFICATE",
            value: PathBuf::from("/etc/corp.pem"),
        };
        assert_eq!(
            tls(rustls::CertificateError::UnknownIssuer, Some(&bundle)),
            "request to https://auth.corp.example:8443/oauth/token failed: the TLS certificate of `auth.corp.example:8443` is signed by an unknown certificate authority; `/etc/corp.pem` (CODEX_CA_CERTIFICATE) does not hold the CA that signed it; point CODEX_CA_CERTIFICATE at that CA's certificate"
        );
        assert_eq!(
            tls(rustls::CertificateError::Expired, None),
            "request to https://auth.corp.example:8443/oauth/token failed: the TLS certificate of `auth.corp.example:8443` has expired (if it should not have, check this computer's clock)"
        );
        assert_eq!(
            tls(rustls::CertificateError::NotValidForName, None),
            "request to https://auth.corp.example:8443/oauth/token failed: the TLS certificate of `auth.corp.example:8443` is not valid for that name (the server, or a proxy in between, presents another host's certificate)"
        );
    }

    #[test]
    fn proxy_failures_name_the_proxy_without_its_password() {
        let url = Url::parse("https://auth.openai.com/oauth/token").unwrap();
        let with = routes("http://bob:CANARY@127.0.0.1:3128", "", "", "");
        let without = routes("http://127.0.0.1:3128", "", "", "");
        let refused = Said("tunnel error: proxy authorization required", None);
        let proxy = with.for_url(&url);
        assert_eq!(
            explain(&refused, Failure::Connect, Some(&url), proxy, None),
            "request to https://auth.openai.com/oauth/token failed: the proxy http://127.0.0.1:3128 (from HTTPS_PROXY) refused the user name and password in HTTPS_PROXY (407 Proxy Authentication Required); check them"
        );
        assert_eq!(
            explain(
                &refused,
                Failure::Connect,
                Some(&url),
                without.for_url(&url),
                None
            ),
            "request to https://auth.openai.com/oauth/token failed: the proxy http://127.0.0.1:3128 (from HTTPS_PROXY) requires a user name and password (407 Proxy Authentication Required); put them in the URL: HTTPS_PROXY=http://USER:PASSWORD@127.0.0.1:3128"
        );
        let down = Said(
            "tunnel error: failed to create underlying connection",
            Some(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        );
        assert_eq!(
            explain(&down, Failure::Connect, Some(&url), proxy, None),
            "request to https://auth.openai.com/oauth/token failed: could not connect to the proxy http://127.0.0.1:3128 (from HTTPS_PROXY): connection refused; check HTTPS_PROXY, or add `auth.openai.com` to NO_PROXY to connect directly"
        );
    }
}
