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
    #[error(
        "{variable} points to `{path}`, which {problem}. Point it at your CA's certificate in PEM format, or unset it."
    )]
    CaNotAFile {
        variable: &'static str,
        path: String,
        problem: crate::fsutil::ReadError,
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

/// Whether a client follows redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// reqwest's default (up to 10; `Authorization` is dropped when the host changes).
    Follow,
    /// A 3xx is the answer: for requests that carry a credential meant for one URL only (a
    /// workload identity assertion, a personal access token).
    Never,
    /// Followed only within the origin of the URL asked for (at most 5); a redirect elsewhere
    /// is the answer: discovery of an MCP server's metadata must not be sent to another origin.
    SameOrigin,
}

/// The policy of `Redirects::SameOrigin`.
fn same_origin() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if same_origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Builds the HTTP client for this run.
pub fn client(net: &NetworkSettings) -> Result<reqwest::Client, HttpError> {
    client_with(net, Redirects::Follow)
}

/// Builds an HTTP client for this run with a redirect policy.
pub fn client_with(
    net: &NetworkSettings,
    redirects: Redirects,
) -> Result<reqwest::Client, HttpError> {
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
    match redirects {
        Redirects::Follow => {}
        Redirects::Never => builder = builder.redirect(reqwest::redirect::Policy::none()),
        Redirects::SameOrigin => builder = builder.redirect(same_origin()),
    }
    // A forward proxy may close a kept-alive connection right after a plain-HTTP request's
    // answer (tinyproxy does), and a request sent on it then fails ("connection closed before
    // message completed"). A run makes a handful of requests: each plain-HTTP one through a
    // proxy gets a connection of its own. (HTTPS goes through a CONNECT tunnel, which stays.)
    if routes.http.is_some() {
        builder = builder.pool_max_idle_per_host(0);
    }
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

mod describe;
mod proxy;
mod roots;
mod settings;

use describe::*;
pub use describe::{Again, Diagnosis, describe, diagnose, innermost, presented_name};
pub use proxy::{Proxy, ProxyRoutes};
use roots::*;
pub use roots::{add_bundle, parse_bundle};
pub use settings::{FromEnv, NetworkSettings};

/// The most a response read whole (token, discovery, device and error answers) may hold: they
/// are a few kilobytes, and a server that sends more must not fill the memory.
pub const BODY_CAP: usize = 1 << 20;

/// Why a response body could not be read.
#[derive(Debug, Error)]
pub enum BodyError {
    #[error("{}", describe(.0))]
    Transport(#[from] reqwest::Error),
    #[error("the answer of `{url}` is larger than 1 MiB, far more than it should be")]
    TooLarge { url: String },
}

/// A whole response body, at most `BODY_CAP` bytes.
pub async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let too_large = |response: &reqwest::Response| {
        let mut url = response.url().clone();
        url.set_query(None);
        url.set_fragment(None);
        BodyError::TooLarge {
            url: url.to_string(),
        }
    };
    if response
        .content_length()
        .is_some_and(|n| n > BODY_CAP as u64)
    {
        return Err(too_large(&response));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > BODY_CAP {
            return Err(too_large(&response));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The roots a client of this run trusts (the system's plus the user's bundle), for a TLS
/// handshake made outside reqwest (`codex doctor` reads the chain a server presents).
pub fn trusted_roots(net: &NetworkSettings) -> Result<rustls::RootCertStore, HttpError> {
    root_store(net)
}

/// The certificates of a PEM bundle, read and checked like `CODEX_CA_CERTIFICATE`.
pub fn bundle_certificates(
    bundle: &FromEnv<PathBuf>,
) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    read_bundle(bundle)
}

/// The client, built on first use: loading the system roots costs milliseconds, and most runs
/// of a fast path (`codex login token` with a valid token) make no request at all.
pub struct Lazy<'a> {
    net: &'a NetworkSettings,
    client: std::sync::OnceLock<reqwest::Client>,
}

impl<'a> Lazy<'a> {
    pub fn new(net: &'a NetworkSettings) -> Lazy<'a> {
        Lazy {
            net,
            client: std::sync::OnceLock::new(),
        }
    }

    /// The settings the client is built from (for a client of another kind, with the same
    /// proxy and roots).
    pub fn network(&self) -> &'a NetworkSettings {
        self.net
    }

    pub fn get(&self) -> Result<&reqwest::Client, HttpError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = client(self.net)?;
        Ok(self.client.get_or_init(|| built))
    }
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

/// True when a credential may be sent to `url`: over HTTPS, or over plain HTTP only to a
/// loopback address (`localhost`, 127.0.0.0/8, `::1`), where nobody on the network can read it.
/// A URL with a user name, password or fragment is refused too: it is not an endpoint.
pub fn credential_safe(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return false,
    };
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    };
    scheme_ok && url.username().is_empty() && url.password().is_none() && url.fragment().is_none()
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

    #[test]
    fn credentials_go_over_https_or_to_loopback_only() {
        for (url, safe) in [
            ("https://auth.openai.com/oauth/token", true),
            ("http://127.0.0.1:8080/oauth/token", true),
            ("http://127.9.9.9/oauth/token", true),
            ("http://[::1]:80/t", true),
            ("http://localhost:1/t", true),
            ("http://auth.openai.com/oauth/token", false),
            ("http://10.0.0.1/t", false),
            ("http://localhost.evil.example/t", false),
            ("https://user:pw@auth.openai.com/t", false),
            ("https://auth.openai.com/t#frag", false),
            ("ftp://127.0.0.1/t", false),
        ] {
            assert_eq!(credential_safe(&Url::parse(url).unwrap()), safe, "{url}");
        }
    }

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
        explain(&err, Failure::Connect, Some(&url), None, bundle).text
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
            explain(&refused, Failure::Connect, Some(&url), proxy, None).text,
            "request to https://auth.openai.com/oauth/token failed: the proxy http://127.0.0.1:3128 (from HTTPS_PROXY) refused the user name and password in HTTPS_PROXY (407 Proxy Authentication Required); check them (percent-encode special characters: `@` is `%40`), or add `auth.openai.com` to NO_PROXY to connect directly"
        );
        assert_eq!(
            explain(
                &refused,
                Failure::Connect,
                Some(&url),
                without.for_url(&url),
                None
            )
            .text,
            "request to https://auth.openai.com/oauth/token failed: the proxy http://127.0.0.1:3128 (from HTTPS_PROXY) requires a user name and password (407 Proxy Authentication Required); put them in the URL: HTTPS_PROXY=http://USER:PASSWORD@127.0.0.1:3128, or add `auth.openai.com` to NO_PROXY to connect directly"
        );
        let down = Said(
            "tunnel error: failed to create underlying connection",
            Some(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        );
        assert_eq!(
            explain(&down, Failure::Connect, Some(&url), proxy, None).text,
            "request to https://auth.openai.com/oauth/token failed: could not connect to the proxy http://127.0.0.1:3128 (from HTTPS_PROXY): connection refused; check HTTPS_PROXY, or add `auth.openai.com` to NO_PROXY to connect directly"
        );
        // A refused login gets the same answer every time; a proxy that is down may come back.
        assert_eq!(
            explain(&refused, Failure::Connect, Some(&url), proxy, None).again,
            describe::Again::SameAnswer
        );
        assert_eq!(
            explain(&down, Failure::Connect, Some(&url), proxy, None).again,
            describe::Again::MayWork
        );
    }
}
