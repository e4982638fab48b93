//! The doctor's own TLS handshake, trusting exactly what the HTTP client trusts (the same roots,
//! webpki's verification), but keeping the chain the server presented: when verification
//! fails, that chain says what happened (a CA nobody trusts here, typical of TLS interception;
//! an expired certificate; another host's certificate) and which file would fix it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::http::{FromEnv, NetworkSettings};

use super::x509::{self, CertInfo};

/// Verifies as webpki does, remembering the chain it was shown.
#[derive(Debug)]
pub struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl Recording {
    /// The certificates the server presented, leaf first.
    pub fn chain(&self) -> Vec<CertInfo> {
        self.chain
            .lock()
            .map(|c| c.iter().filter_map(|der| x509::parse(der)).collect())
            .unwrap_or_default()
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A connector for one handshake, and the recorder of what the server presents.
pub fn connector(
    roots: Arc<rustls::RootCertStore>,
) -> Result<(tokio_rustls::TlsConnector, Arc<Recording>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let recording = Arc::new(Recording {
        inner,
        chain: Mutex::new(Vec::new()),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    Ok((
        tokio_rustls::TlsConnector::from(Arc::new(config)),
        recording,
    ))
}

/// A failed handshake, in words: what was found, and what fixes it.
pub struct Explained {
    pub found: String,
    pub fix: String,
}

/// What the failure and the presented chain mean. `host` is `host[:port]`; `setting` names
/// where the URL came from (for "check the URL in ...").
pub fn explain(
    err: &rustls::Error,
    chain: &[CertInfo],
    host: &str,
    setting: &str,
    net: &NetworkSettings,
    codex_home: &Path,
) -> Explained {
    use rustls::CertificateError as C;
    let cert_error = match err {
        rustls::Error::InvalidCertificate(c) => c,
        other => {
            return Explained {
                found: format!("the TLS handshake with `{host}` failed: {other}"),
                fix: format!(
                    "check that {setting} names an HTTPS server (an https:// URL on a plain-HTTP port fails like this)"
                ),
            };
        }
    };
    let leaf = chain.first();
    let day = |secs: Option<i64>| {
        secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "an unknown date".to_string())
    };
    match cert_error {
        C::UnknownIssuer => unknown_issuer(chain, host, net, codex_home),
        C::Expired | C::ExpiredContext { .. } => Explained {
            found: format!(
                "the certificate of `{host}` expired on {} (by this computer's clock)",
                day(leaf.and_then(|c| c.not_after))
            ),
            fix: "if this computer's date is right, the server (or a proxy in between) must renew its certificate; if it is wrong, fix the clock".to_string(),
        },
        C::NotValidYet | C::NotValidYetContext { .. } => Explained {
            found: format!(
                "the certificate of `{host}` is valid only from {} (by this computer's clock)",
                day(leaf.and_then(|c| c.not_before))
            ),
            fix: "check this computer's clock".to_string(),
        },
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            let names = match cert_error {
                C::NotValidForNameContext { presented, .. } if !presented.is_empty() => presented
                    .iter()
                    .map(|n| format!("`{}`", crate::http::presented_name(n)))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => leaf
                    .map(|c| format!("`{}`", c.subject))
                    .unwrap_or_else(|| "another name".to_string()),
            };
            Explained {
                found: format!(
                    "the certificate presented for `{host}` is for {names}{}",
                    leaf.map(|c| format!(" (issued by `{}`)", c.issuer))
                        .unwrap_or_default()
                ),
                fix: format!(
                    "check the host in {setting}; if it is right, something in between (a proxy, a captive portal) answers in its place"
                ),
            }
        }
        other => Explained {
            found: format!("the certificate of `{host}` was rejected: {other:?}"),
            fix: format!("check {setting}"),
        },
    }
}

fn unknown_issuer(
    chain: &[CertInfo],
    host: &str,
    net: &NetworkSettings,
    codex_home: &Path,
) -> Explained {
    // The CA nobody here trusts: the issuer of the last certificate presented (or that one
    // itself, when the server sends its self-signed root along).
    let Some(top) = chain.last() else {
        return Explained {
            found: format!(
                "the certificate of `{host}` is signed by an unknown certificate authority"
            ),
            fix: format!("{}, holding that CA's certificate", crate::http::CA_HINT),
        };
    };
    let (ca_name, ca_der) = if top.is_self_issued() {
        (top.subject.clone(), top.subject_der.clone())
    } else {
        (top.issuer.clone(), top.issuer_der.clone())
    };
    let found = if chain.len() == 1 && top.is_self_issued() {
        format!(
            "`{host}` presents a self-signed certificate (`{ca_name}`), which this computer does not trust"
        )
    } else {
        format!(
            "the certificate of `{host}` was issued by `{ca_name}`, a certificate authority this computer does not trust: typical of TLS interception (a corporate proxy or security software), or of a server with a private CA"
        )
    };
    let fix = match (find_ca_file(&ca_der, net, codex_home), &net.ca_bundle) {
        (Some((path, how)), _) => format!(
            "export CODEX_CA_CERTIFICATE={} (it holds `{ca_name}`; {how})",
            path.display()
        ),
        (None, Some(bundle)) if bundle.variable == "CODEX_CA_CERTIFICATE" => format!(
            "`{}` (CODEX_CA_CERTIFICATE) does not hold `{ca_name}`: add that CA's certificate (PEM) to it",
            bundle.value.display()
        ),
        (None, Some(bundle)) => format!(
            "export CODEX_CA_CERTIFICATE=/path/to/ca.pem, a PEM file with the certificate of `{ca_name}` (`{}` from {} does not hold it)",
            bundle.value.display(),
            bundle.variable
        ),
        (None, None) => format!(
            "export CODEX_CA_CERTIFICATE=/path/to/ca.pem, a PEM file with the certificate of `{ca_name}` (your IT department has it)"
        ),
    };
    Explained { found, fix }
}

/// Other tools' CA variables: a corporate CA is often configured there already.
const OTHER_TOOLS: &[&str] = &[
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
];

/// Where locally installed CAs are kept before (or instead of) being added to the system store.
const CA_DIRS: &[&str] = &[
    "/usr/local/share/ca-certificates",
    "/etc/pki/ca-trust/source/anchors",
];

/// A readable PEM file on this machine holding the CA whose subject is `subject_der`, and how
/// it was found.
fn find_ca_file(
    subject_der: &[u8],
    net: &NetworkSettings,
    codex_home: &Path,
) -> Option<(PathBuf, String)> {
    let holds = |variable: &'static str, path: &Path| {
        let bundle = FromEnv {
            variable,
            value: path.to_path_buf(),
        };
        crate::http::bundle_certificates(&bundle).is_ok_and(|certs| {
            certs
                .iter()
                .filter_map(|der| x509::parse(der))
                .any(|c| c.subject_der == subject_der)
        })
    };
    // SSL_CERT_FILE is not read when CODEX_CA_CERTIFICATE is set.
    let skipped_ssl_cert_file = net
        .ca_bundle
        .as_ref()
        .filter(|b| b.variable == "CODEX_CA_CERTIFICATE")
        .and_then(|_| std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()))
        .map(|v| ("SSL_CERT_FILE", PathBuf::from(v)));
    let named = OTHER_TOOLS.iter().filter_map(|var| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(|v| (*var, PathBuf::from(v)))
    });
    for (variable, path) in skipped_ssl_cert_file.into_iter().chain(named) {
        if holds(variable, &path) {
            return Some((path, format!("{variable} names it")));
        }
    }
    let dirs = CA_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(std::iter::once(codex_home.to_path_buf()));
    for dir in dirs {
        for path in pem_files(&dir) {
            if holds("file", &path) {
                return Some((path, format!("found in `{}`", dir.display())));
            }
        }
    }
    None
}

/// `*.pem`, `*.crt`, `*.cer` files of at most 1 MiB in `dir` and its direct subdirectories: at
/// most 200 of them, from the first 1,000 entries of each directory. This runs on the doctor's
/// async thread, where its deadline cannot interrupt it, so the work itself is bounded.
fn pem_files(dir: &Path) -> Vec<PathBuf> {
    const MAX_ENTRIES: usize = 1000;
    const MAX_FILE: u64 = 1 << 20;
    let is_pem = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "pem" | "crt" | "cer"))
    };
    let mut found = Vec::new();
    let mut dirs = vec![(dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries
            .flatten()
            .take(MAX_ENTRIES)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() && depth == 0 {
                dirs.push((path, 1));
            } else if is_pem(&path)
                && found.len() < 200
                && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE)
            {
                found.push(path);
            }
        }
    }
    found
}
