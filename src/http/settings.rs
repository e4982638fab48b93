//! What the environment says about the network: the CA bundle and the proxies. Only read here;
//! checked (files opened, URLs parsed) when a client is built, so commands that make no request
//! never fail on them.

use std::path::PathBuf;

use crate::secret::Secret;

/// A setting read from an environment variable, with the variable's name for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromEnv<T> {
    pub variable: &'static str,
    pub value: T,
}

#[derive(Debug, Clone, Default)]
pub struct NetworkSettings {
    /// `CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`: a PEM bundle added to the system roots.
    pub ca_bundle: Option<FromEnv<PathBuf>>,
    /// `SSL_CERT_DIR`: directories of PEM certificates, also added to the system roots.
    pub cert_dirs: Vec<PathBuf>,
    /// Proxy URLs may carry a password, so they stay secret until `http` takes them apart.
    pub http_proxy: Option<FromEnv<Secret<String>>>,
    pub https_proxy: Option<FromEnv<Secret<String>>>,
    pub all_proxy: Option<FromEnv<Secret<String>>>,
    pub no_proxy: Option<FromEnv<String>>,
}

fn env_text(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl NetworkSettings {
    /// Reads the variables. An empty value counts as unset; for the proxy variables the
    /// upper-case name is looked at first, then the lower-case one.
    pub fn from_env() -> NetworkSettings {
        let path = |variable: &'static str| {
            std::env::var_os(variable)
                .filter(|v| !v.is_empty())
                .map(|v| FromEnv {
                    variable,
                    value: PathBuf::from(v),
                })
        };
        let text = |names: [&'static str; 2]| {
            names.into_iter().find_map(|variable| {
                env_text(variable).map(|value| FromEnv {
                    variable,
                    value: value.trim().to_string(),
                })
            })
        };
        let secret = |names: [&'static str; 2]| {
            text(names).map(|FromEnv { variable, value }| FromEnv {
                variable,
                value: Secret::new(value),
            })
        };
        NetworkSettings {
            ca_bundle: path("CODEX_CA_CERTIFICATE").or_else(|| path("SSL_CERT_FILE")),
            cert_dirs: std::env::var_os("SSL_CERT_DIR")
                .map(|dirs| {
                    std::env::split_paths(&dirs)
                        .filter(|d| !d.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            http_proxy: secret(["HTTP_PROXY", "http_proxy"]),
            https_proxy: secret(["HTTPS_PROXY", "https_proxy"]),
            all_proxy: secret(["ALL_PROXY", "all_proxy"]),
            no_proxy: text(["NO_PROXY", "no_proxy"]),
        }
    }
}
