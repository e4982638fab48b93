//! Proxy routing from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`),
//! with proxy passwords kept secret.

use super::*;
/// A proxy named by an environment variable. Its URL may hold a password: it is only shown
/// as `scheme://host:port`.
#[derive(Clone)]
pub struct Proxy {
    pub(super) variable: &'static str,
    pub(super) url: Secret<Url>,
}

impl Proxy {
    pub(super) fn parse(setting: &FromEnv<Secret<String>>) -> Result<Proxy, HttpError> {
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

    pub fn has_credentials(&self) -> bool {
        let url = self.url.expose();
        !url.username().is_empty() || url.password().is_some()
    }

    /// The environment variable that names this proxy.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// `http`, `https`, `socks5`, ...
    pub fn scheme(&self) -> &str {
        self.url.expose().scheme()
    }

    /// Host and port to connect to.
    pub fn address(&self) -> Option<(String, u16)> {
        let url = self.url.expose();
        Some((url.host_str()?.to_string(), url.port_or_known_default()?))
    }

    /// The `Proxy-Authorization` value for the user name and password in the URL, if any.
    pub fn basic_authorization(&self) -> Option<Secret<String>> {
        use base64::Engine as _;
        if !self.has_credentials() {
            return None;
        }
        let url = self.url.expose();
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
        Some(Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )))
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {})", self.shown(), self.variable)
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bypass {
    All,
    /// Matches the domain and its subdomains; stored lower-case, without a leading dot.
    Domain(String),
    Ip(IpAddr),
    Network(IpAddr, u8),
}

impl Bypass {
    pub(super) fn parse(entry: &str) -> Option<Bypass> {
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

    pub(super) fn matches(&self, host: &url::Host<&str>) -> bool {
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

pub(super) fn host_ip(host: &url::Host<&str>) -> Option<IpAddr> {
    match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        url::Host::Domain(_) => None,
    }
}

pub(super) fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
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
    pub(super) http: Option<Proxy>,
    pub(super) https: Option<Proxy>,
    pub(super) bypass: Vec<Bypass>,
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

    pub(super) fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy for the URL's scheme, and whether `NO_PROXY` lists the URL's host.
    fn route(&self, url: &Url) -> Option<(&Proxy, bool)> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url.host()?;
        Some((proxy, self.bypass.iter().any(|b| b.matches(&host))))
    }

    /// The proxy the URL's scheme would use, when `NO_PROXY` excludes the URL's host from it.
    pub fn excluded_by_no_proxy(&self, url: &Url) -> Option<&Proxy> {
        self.route(url)
            .and_then(|(proxy, bypassed)| bypassed.then_some(proxy))
    }

    pub fn for_url(&self, url: &Url) -> Option<&Proxy> {
        self.route(url)
            .and_then(|(proxy, bypassed)| (!bypassed).then_some(proxy))
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
