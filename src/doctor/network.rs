//! One endpoint, step by step: DNS, TCP, the proxy (which one, from which variable, or why none:
//! `NO_PROXY`), TLS (with the presented chain read when verification fails), and one plain
//! HTTP request whose `Date` header feeds the clock check. The HTTP client's own settings are
//! used (its roots, its proxy routes), so what passes here passes for every command. SOCKS and
//! HTTPS proxies are checked through the HTTP client itself.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use url::Url;

use crate::http::{NetworkSettings, Proxy, ProxyRoutes};

use super::clock::ServerDate;
use super::{Group, Row};

/// An endpoint this configuration actually uses.
#[derive(Clone)]
pub struct Target {
    /// `issuer`, `model API`.
    pub role: &'static str,
    pub url: Url,
    /// Where the URL comes from, for "check ... in <setting>".
    pub setting: String,
    /// Said instead of "connection refused" (a local model server that is not running).
    pub when_refused: Option<String>,
}

/// What every probe shares: the HTTP client's settings.
pub struct Context<'a> {
    pub net: &'a NetworkSettings,
    pub routes: &'a ProxyRoutes,
    pub roots: Arc<rustls::RootCertStore>,
    pub client: &'a reqwest::Client,
    pub codex_home: &'a Path,
}

pub struct Outcome {
    pub row: Row,
    pub date: Option<ServerDate>,
    /// What the server answered, when it did: the status and its `WWW-Authenticate` header.
    pub answer: Option<(u16, Option<String>)>,
}

/// The step a probe is in, for the message when the deadline ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Dns,
    Tcp,
    Proxy,
    Tls,
    Http,
}

/// What a probe has done so far: kept outside its future, so a timeout can still read it.
struct Trace {
    step: Step,
    done: Vec<String>,
}

struct Failure {
    found: String,
    fix: Option<String>,
}

impl Failure {
    fn new(found: impl Into<String>, fix: impl Into<String>) -> Failure {
        Failure {
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
}

struct Answer {
    status: u16,
    date: Option<ServerDate>,
    challenge: Option<String>,
    took: Duration,
}

pub async fn probe(target: &Target, cx: &Context<'_>, deadline: Instant) -> Outcome {
    let started = Instant::now();
    let mut trace = Trace {
        step: Step::Dns,
        done: Vec::new(),
    };
    let result = tokio::time::timeout_at(deadline, run(target, cx, &mut trace)).await;
    let heading = shown_url(&target.url);
    let context = |trace: &Trace| {
        std::iter::once(heading.clone())
            .chain(trace.done.iter().cloned())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let failed = |failure: Failure| Outcome {
        row: Row::fail(
            Group::Network,
            target.role,
            format!("{}; {}", context(&trace), failure.found),
        )
        .fix_opt(failure.fix),
        date: None,
        answer: None,
    };
    match result {
        Ok(Ok(answer)) => {
            let found = format!(
                "{}; the server answers (HTTP {} in {})",
                context(&trace),
                answer.status,
                super::seconds(answer.took)
            );
            Outcome {
                row: Row::ok(Group::Network, target.role, found),
                date: answer.date,
                answer: Some((answer.status, answer.challenge)),
            }
        }
        Ok(Err(failure)) => failed(failure),
        Err(_) => {
            let waited = deadline.saturating_duration_since(started);
            failed(hung(target, cx, trace.step, waited))
        }
    }
}

/// `https://host/path` without query (it may carry secrets) or credentials.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string().trim_end_matches('/').to_string()
}

fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn proxy_name(proxy: &Proxy) -> String {
    format!("{} (from {})", proxy.shown(), proxy.variable())
}

/// What the deadline interrupted, and what to look at.
fn hung(target: &Target, cx: &Context<'_>, step: Step, waited: Duration) -> Failure {
    let secs = waited.as_secs_f64().round() as u64;
    let host = target.url.host_str().unwrap_or_default();
    let proxy = cx.routes.for_url(&target.url);
    match (step, proxy) {
        (Step::Dns, Some(p)) => Failure::new(
            format!("looking up the proxy's address did not finish within {secs} s"),
            format!("check this computer's DNS, and {}", p.variable()),
        ),
        (Step::Dns, None) => Failure::new(
            format!("looking up `{host}` did not finish within {secs} s"),
            "check this computer's DNS settings (and the VPN, if one is needed)",
        ),
        (Step::Tcp, Some(p)) => Failure::new(
            format!(
                "connecting to the proxy {} did not finish within {secs} s",
                proxy_name(p)
            ),
            format!(
                "check {}; a firewall may be dropping the connection",
                p.variable()
            ),
        ),
        (Step::Tcp, None) => Failure::new(
            format!(
                "connecting did not finish within {secs} s: a firewall may be dropping the connection"
            ),
            "check the firewall and VPN; a network that only lets a proxy out needs HTTPS_PROXY",
        ),
        (Step::Proxy, Some(p)) => Failure::new(
            format!("the proxy {} did not answer within {secs} s", proxy_name(p)),
            format!(
                "check {}, or add `{host}` to NO_PROXY to connect directly",
                p.variable()
            ),
        ),
        (Step::Proxy, None) | (Step::Tls, _) => Failure::new(
            format!("the TLS handshake did not finish within {secs} s"),
            format!(
                "check that {} names a reachable HTTPS server",
                target.setting
            ),
        ),
        (Step::Http, _) => Failure::new(
            format!("the connection is open but no answer came within {secs} s"),
            format!(
                "the server at {} hangs: try again later, or check {}",
                host_port(&target.url),
                target.setting
            ),
        ),
    }
}

async fn run(target: &Target, cx: &Context<'_>, trace: &mut Trace) -> Result<Answer, Failure> {
    let url = &target.url;
    let https = url.scheme() == "https";
    let host = url
        .host()
        .ok_or_else(|| Failure::new("the URL has no host", format!("fix {}", target.setting)))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::new("the URL has no port", format!("fix {}", target.setting)))?;
    let proxy = cx.routes.for_url(url);
    trace
        .done
        .push(match (proxy, cx.routes.excluded_by_no_proxy(url)) {
            (Some(p), _) => format!("through the proxy {}", proxy_name(p)),
            (None, Some(p)) => format!(
                "direct: {} excludes `{}` from the proxy {}",
                cx.net
                    .no_proxy
                    .as_ref()
                    .map(|n| n.variable)
                    .unwrap_or("NO_PROXY"),
                url.host_str().unwrap_or_default(),
                proxy_name(p)
            ),
            (None, None) => "direct (no proxy set)".to_string(),
        });
    if let Some(p) = proxy
        && p.scheme() != "http"
    {
        trace.step = Step::Http;
        return through_client(target, cx).await;
    }

    // DNS: of the proxy when there is one (it resolves the target itself).
    let (connect_host, connect_port) = match proxy {
        Some(p) => p.address().ok_or_else(|| {
            Failure::new("the proxy URL has no host", format!("fix {}", p.variable()))
        })?,
        None => (url.host_str().unwrap_or_default().to_string(), port),
    };
    let bare = connect_host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, connect_port)],
        Err(_) => {
            trace.step = Step::Dns;
            let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, connect_port))
                .await
                .map_err(|e| dns_failure(target, proxy, bare, &e))?
                .collect();
            if found.is_empty() {
                return Err(dns_failure(
                    target,
                    proxy,
                    bare,
                    &std::io::Error::other("no address found"),
                ));
            }
            trace.done.push(format!("DNS {bare} -> {}", found[0].ip()));
            found
        }
    };

    trace.step = Step::Tcp;
    let mut last_error = None;
    let mut tcp = None;
    for address in addresses.iter().take(4) {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last_error = Some((address, e)),
        }
    }
    let mut tcp = match (tcp, last_error) {
        (Some(stream), _) => stream,
        (None, Some((address, e))) => return Err(tcp_failure(target, proxy, address, &e)),
        (None, None) => unreachable!("at least one address was tried"),
    };
    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    trace.done.push(format!("TCP connected to {peer}"));

    if let (Some(p), true) = (proxy, https) {
        trace.step = Step::Proxy;
        let authority = format!("{}:{port}", url.host_str().unwrap_or_default());
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(auth) = p.basic_authorization() {
            request.push_str(&format!("Proxy-Authorization: {}\r\n", auth.expose()));
        }
        request.push_str(&format!("User-Agent: {}\r\n\r\n", crate::http::USER_AGENT));
        // It may hold the proxy password: boxed until it is written.
        let request = crate::secret::Secret::new(request);
        let head = exchange(&mut tcp, request.expose()).await.map_err(|e| {
            Failure::new(
                format!("the proxy {} broke off: {e}", proxy_name(p)),
                format!("check {}", p.variable()),
            )
        })?;
        if !(200..300).contains(&head.status) {
            return Err(proxy_refusal(p, &head, &authority));
        }
        trace
            .done
            .push(format!("the proxy opened a tunnel to {authority}"));
    }

    let path = match (proxy, https) {
        (Some(_), false) => shown_url(url),
        _ => {
            let mut path = url.path().to_string();
            if let Some(q) = url.query() {
                path.push('?');
                path.push_str(q);
            }
            path
        }
    };
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\nConnection: close\r\n",
        host_port(url),
        crate::http::USER_AGENT
    );
    if let (Some(p), false) = (proxy, https)
        && let Some(auth) = p.basic_authorization()
    {
        request.push_str(&format!("Proxy-Authorization: {}\r\n", auth.expose()));
    }
    request.push_str("\r\n");
    // It may hold the proxy password: boxed until it is written.
    let request = crate::secret::Secret::new(request);

    if https {
        trace.step = Step::Tls;
        let (connector, recording) = super::tls::connector(cx.roots.clone())
            .map_err(|e| Failure::new(format!("cannot set up TLS: {e}"), "report this"))?;
        let name = match host {
            url::Host::Domain(d) => rustls::pki_types::ServerName::try_from(d.to_string())
                .map_err(|_| {
                    Failure::new(
                        format!("`{d}` is not a valid host name"),
                        format!("fix {}", target.setting),
                    )
                })?,
            url::Host::Ipv4(ip) => {
                rustls::pki_types::ServerName::IpAddress(std::net::IpAddr::V4(ip).into())
            }
            url::Host::Ipv6(ip) => {
                rustls::pki_types::ServerName::IpAddress(std::net::IpAddr::V6(ip).into())
            }
        };
        let mut tls = match connector.connect(name, tcp).await {
            Ok(tls) => tls,
            Err(e) => {
                let explained = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls_error) => {
                        let chain = recording.chain();
                        let e = super::tls::explain(
                            tls_error,
                            &chain,
                            &host_port(url),
                            &target.setting,
                            cx.net,
                            cx.codex_home,
                        );
                        Failure::new(e.found, e.fix)
                    }
                    None => Failure::new(
                        format!("the TLS handshake failed: {e}"),
                        format!("check that {} names an HTTPS server", target.setting),
                    ),
                };
                return Err(explained);
            }
        };
        let version = match tls.get_ref().1.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "TLS".to_string(),
        };
        let issuer = recording
            .chain()
            .first()
            .map(|c| format!(", certificate issued by `{}`", c.issuer))
            .unwrap_or_default();
        trace.done.push(format!("{version}{issuer}"));
        trace.step = Step::Http;
        http_get(&mut tls, request.expose(), url, proxy).await
    } else {
        trace.step = Step::Http;
        http_get(&mut tcp, request.expose(), url, proxy).await
    }
}

async fn http_get<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &str,
    url: &Url,
    proxy: Option<&Proxy>,
) -> Result<Answer, Failure> {
    let sent = Instant::now();
    let head = exchange(stream, request).await.map_err(|e| {
        Failure::new(
            format!("the HTTP request failed: {e}"),
            "check that the URL names an HTTP server",
        )
    })?;
    let took = sent.elapsed();
    // A 401 with a `Bearer` challenge is the server's (an MCP server asking for its token);
    // any other 401 or 407 on a plain-HTTP request through a proxy is the proxy's.
    let bearer = head
        .challenge
        .as_deref()
        .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("bearer"));
    if let Some(p) = proxy
        && (head.status == 407 || (head.status == 401 && !bearer))
        && url.scheme() == "http"
    {
        return Err(proxy_refusal(p, &head, &host_port(url)));
    }
    let received = chrono::Utc::now();
    Ok(Answer {
        status: head.status,
        date: head
            .date
            .as_deref()
            .and_then(|d| ServerDate::from_header(&host_port(url), d, received)),
        challenge: head.challenge,
        took,
    })
}

/// The status line, `Date` and `WWW-Authenticate` of an HTTP answer.
struct Head {
    status: u16,
    reason: String,
    date: Option<String>,
    challenge: Option<String>,
}

/// Sends `request` and reads the answer's head (at most 16 KiB).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &str,
) -> std::io::Result<Head> {
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            break;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            if head.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection was closed without an answer",
                ));
            }
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|_| version.starts_with("HTTP/"))
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "the answer is not HTTP")
        })?;
    // The proxy's or server's own words: shown escaped.
    let reason = crate::untrusted::printable(parts.next().unwrap_or_default().trim()).into_owned();
    let (mut date, mut challenge) = (None, None);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = Some(value.trim().to_string());
        match name.trim().to_ascii_lowercase().as_str() {
            "date" => date = date.or(value),
            "www-authenticate" => challenge = challenge.or(value),
            _ => {}
        }
    }
    Ok(Head {
        status,
        reason,
        date,
        challenge,
    })
}

fn proxy_refusal(proxy: &Proxy, head: &Head, authority: &str) -> Failure {
    let name = proxy_name(proxy);
    let variable = proxy.variable();
    let status = format!("{} {}", head.status, head.reason);
    match head.status {
        401 | 407 if proxy.has_credentials() => Failure::new(
            format!("the proxy {name} refused the user name and password in {variable} ({status})"),
            format!(
                "check the user name and password in {variable} (special characters percent-encoded: @ is %40)"
            ),
        ),
        401 | 407 => {
            let shown = proxy.shown();
            let (scheme, address) = shown.split_once("://").unwrap_or(("http", &shown));
            Failure::new(
                format!("the proxy {name} requires a user name and password ({status})"),
                format!("put them in the URL: {variable}={scheme}://USER:PASSWORD@{address}"),
            )
        }
        _ => Failure::new(
            format!("the proxy {name} refused to open a connection to `{authority}` ({status})"),
            format!(
                "ask the proxy's administrator to allow `{authority}`, or add its host to NO_PROXY if it is reachable directly"
            ),
        ),
    }
}

fn dns_failure(target: &Target, proxy: Option<&Proxy>, host: &str, e: &std::io::Error) -> Failure {
    match proxy {
        Some(p) => Failure::new(
            format!("cannot look up the proxy host `{host}`: {e}"),
            format!("check {}", p.variable()),
        ),
        None => Failure::new(
            format!("cannot look up `{host}`: {e}"),
            format!(
                "check the host in {} and this computer's DNS (and VPN); a network that only lets a proxy out needs HTTPS_PROXY",
                target.setting
            ),
        ),
    }
}

fn tcp_failure(
    target: &Target,
    proxy: Option<&Proxy>,
    address: &SocketAddr,
    e: &std::io::Error,
) -> Failure {
    let refused = e.kind() == std::io::ErrorKind::ConnectionRefused;
    match proxy {
        Some(p) => Failure::new(
            format!(
                "cannot connect to the proxy {} at {address}: {}",
                proxy_name(p),
                if refused {
                    "nothing listens there (connection refused)".to_string()
                } else {
                    e.to_string()
                }
            ),
            format!(
                "check {}, or add `{}` to NO_PROXY to connect directly",
                p.variable(),
                target.url.host_str().unwrap_or_default()
            ),
        ),
        None if refused => Failure {
            found: format!("nothing listens at {address} (connection refused)"),
            fix: Some(target.when_refused.clone().unwrap_or_else(|| {
                format!(
                    "check that the server runs, and the URL in {}",
                    target.setting
                )
            })),
        },
        None => Failure::new(
            format!("cannot connect to {address}: {e}"),
            "check the network, firewall and VPN; a network that only lets a proxy out needs HTTPS_PROXY",
        ),
    }
}

/// SOCKS and HTTPS proxies: one request through the HTTP client, described as commands would.
async fn through_client(target: &Target, cx: &Context<'_>) -> Result<Answer, Failure> {
    let sent = Instant::now();
    match cx.client.get(target.url.clone()).send().await {
        Ok(response) => {
            let received = chrono::Utc::now();
            let date = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|d| ServerDate::from_header(&host_port(&target.url), d, received));
            let challenge = response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Ok(Answer {
                status: response.status().as_u16(),
                date,
                challenge,
                took: sent.elapsed(),
            })
        }
        Err(e) => Err(Failure {
            found: crate::http::describe(&e),
            fix: None,
        }),
    }
}
