//! Describing a failed request in words that say what to do: TLS problems (with the CA fix),
//! proxy refusals, timeouts; never with a query string or a proxy password.

use super::*;
/// What kind of failure reqwest reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    Timeout,
    Connect,
    Body,
    Other,
}

/// A one-line description of a failed request: what failed, against which URL (without its
/// query, which may carry codes), and what to do about it: a TLS problem names the host and,
/// for an unknown certificate authority, the fix; a proxy problem names the proxy (never its
/// password).
pub fn describe(err: &reqwest::Error) -> String {
    diagnose(err).text
}

/// A failed request in words (see `describe`), and whether the same request could get another
/// answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub text: String,
    pub again: Again,
}

/// Whether sending the same request again could get another answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    /// A timeout, a reset, a server that was down: worth another attempt.
    MayWork,
    /// A proxy refused the login (407, or 401/403 from the proxy): it answers the same until
    /// the settings change, so retrying only knocks on its door again (and may lock the account).
    SameAnswer,
}

/// `describe`, with the verdict on another attempt. A proxy is asked at most once why it refused.
pub fn diagnose(err: &reqwest::Error) -> Diagnosis {
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

pub(super) fn explain(
    err: &(dyn StdError + 'static),
    failure: Failure,
    url: Option<&Url>,
    proxy: Option<&Proxy>,
    ca_bundle: Option<&FromEnv<PathBuf>>,
) -> Diagnosis {
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
    let (what, again) = if let Some(tls) = find_rustls_error(err) {
        (tls_problem(tls, &host, ca_bundle), Again::MayWork)
    } else if let Some(proxy) = proxy {
        proxy_problem(err, failure, proxy, url, &host)
    } else {
        let what = match failure {
            Failure::Timeout => "timed out".to_string(),
            Failure::Connect => format!("could not connect: {}", innermost(err)),
            Failure::Body => format!("the response could not be read: {}", innermost(err)),
            Failure::Other => innermost(err),
        };
        (what, Again::MayWork)
    };
    Diagnosis {
        text: format!("request{target} failed: {what}"),
        again,
    }
}

pub(super) fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

pub(super) fn tls_problem(
    err: &rustls::Error,
    host: &str,
    ca_bundle: Option<&FromEnv<PathBuf>>,
) -> String {
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

/// webpki reports a certificate's names in their `Debug` form (`DnsName("a.example")`); the
/// names are the certificate's (the server's) text, so control characters come back escaped.
pub fn presented_name(name: &str) -> String {
    let inner = name
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(name, |inner| inner.trim_matches('"'));
    crate::untrusted::printable(inner).into_owned()
}

pub(super) fn proxy_problem(
    err: &(dyn StdError + 'static),
    failure: Failure,
    proxy: &Proxy,
    url: Option<&Url>,
    host: &str,
) -> (String, Again) {
    let name = format!("{} (from {})", proxy.shown(), proxy.variable);
    let variable = proxy.variable;
    let direct = url.and_then(Url::host_str).unwrap_or(host);
    // hyper-util's tunnel errors are not public types; their texts are what is left to match.
    let said = |text: &str| chain(err).any(|e| e.to_string().contains(text));
    const STATUS_407: &str = "407 Proxy Authentication Required";
    if said("proxy authorization required") {
        return (
            refused_login(proxy, &name, STATUS_407, direct),
            Again::SameAnswer,
        );
    }
    if said("tunnel error: unsuccessful") {
        return match url.and_then(|u| ask_proxy(proxy, u)) {
            // Some proxies (tinyproxy) answer wrong credentials with a 401.
            Some((status @ (401 | 407), reason)) => (
                refused_login(proxy, &name, &format!("{status} {reason}"), direct),
                Again::SameAnswer,
            ),
            Some((403, reason)) => (
                format!(
                    "the proxy {name} refused to open a connection to `{host}` (403 {reason}); ask its administrators to allow it, or add `{direct}` to NO_PROXY to connect directly"
                ),
                Again::SameAnswer,
            ),
            Some((status, reason)) if status != 200 => (
                format!(
                    "the proxy {name} refused to open a connection to `{host}` ({status} {reason})"
                ),
                Again::MayWork,
            ),
            _ => (
                format!("the proxy {name} would not open a connection to `{host}`"),
                Again::MayWork,
            ),
        };
    }
    let what = match failure {
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
    };
    (what, Again::MayWork)
}

/// A proxy wants a (different) login: it answered `status`, a 407 or a 401. `direct` is the host
/// that NO_PROXY would let through without it.
pub(super) fn refused_login(proxy: &Proxy, name: &str, status: &str, direct: &str) -> String {
    let variable = proxy.variable;
    if proxy.has_credentials() {
        return format!(
            "the proxy {name} refused the user name and password in {variable} ({status}); check them (percent-encode special characters: `@` is `%40`), or add `{direct}` to NO_PROXY to connect directly"
        );
    }
    let shown = proxy.shown();
    let (scheme, address) = shown.split_once("://").unwrap_or(("http", &shown));
    format!(
        "the proxy {name} requires a user name and password ({status}); put them in the URL: {variable}={scheme}://USER:PASSWORD@{address}, or add `{direct}` to NO_PROXY to connect directly"
    )
}

/// How long asking a proxy why it refused may take.
pub(super) const PROXY_QUESTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks an HTTP proxy for a tunnel to `target` once more, to learn its answer's status: hyper-util
/// only recognises a 407 in an `HTTP/1.1` answer (tinyproxy, among others, answers `HTTP/1.0`)
/// and reports every other refusal without its status. Only on a failure that already happened.
pub(super) fn ask_proxy(proxy: &Proxy, target: &Url) -> Option<(u16, String)> {
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
    if let Some(authorization) = proxy.basic_authorization() {
        request.push_str(&format!(
            "Proxy-Authorization: {}\r\n",
            authorization.expose()
        ));
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
    // The reason phrase is the proxy's text: shown with control characters escaped.
    let reason = crate::untrusted::printable(parts.next().unwrap_or_default().trim()).into_owned();
    Some((status, reason))
}

/// The error and its causes. `std::io::Error::source` skips the error it wraps, so that one is
/// visited explicitly: it is where rustls puts its errors.
pub(super) fn chain<'a>(
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

pub(super) fn find_rustls_error<'a>(
    err: &'a (dyn StdError + 'static),
) -> Option<&'a rustls::Error> {
    chain(err).find_map(|e| e.downcast_ref::<rustls::Error>())
}

pub(super) fn innermost_io<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a std::io::Error> {
    chain(err)
        .last()
        .and_then(|e| e.downcast_ref::<std::io::Error>())
}

/// The innermost cause of an error chain, as text.
pub fn innermost(err: &(dyn StdError + 'static)) -> String {
    chain(err).last().map(|e| e.to_string()).unwrap_or_default()
}

pub(super) fn describe_chain(err: &reqwest::Error) -> String {
    chain(err)
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
