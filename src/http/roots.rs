//! Trusted roots: the system's, plus the user's CA bundle (`CODEX_CA_CERTIFICATE`, else
//! `SSL_CERT_FILE`) ADDED to them, never replacing them.

use super::*;
/// The system's trusted roots plus the user's bundle (`CODEX_CA_CERTIFICATE`, else
/// `SSL_CERT_FILE`) and `SSL_CERT_DIR`. The bundle must be good; the system store is taken as
/// it is.
pub(super) fn root_store(net: &NetworkSettings) -> Result<rustls::RootCertStore, HttpError> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(system_roots(&net.cert_dirs));
    tracing::debug!(added, ignored, "system root certificates");
    if let Some(bundle) = &net.ca_bundle {
        let certs = read_bundle(bundle)?;
        let path = bundle.value.display().to_string();
        let count = add_bundle(&mut roots, bundle.variable, &path, certs)?;
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
pub(super) fn read_bundle(
    bundle: &FromEnv<PathBuf>,
) -> Result<Vec<CertificateDer<'static>>, HttpError> {
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
    parse_bundle(variable, &path, &bytes)
}

/// The `CERTIFICATE` blocks of a PEM bundle's bytes; `variable` and `path` name it in errors.
pub fn parse_bundle(
    variable: &'static str,
    path: &str,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    let path = path.to_string();
    let certs = CertificateDer::pem_slice_iter(bytes)
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

/// Adds a bundle's certificates to `roots`, each checked as a trust anchor; returns how many.
pub fn add_bundle(
    roots: &mut rustls::RootCertStore,
    variable: &'static str,
    path: &str,
    certs: Vec<CertificateDer<'static>>,
) -> Result<usize, HttpError> {
    let count = certs.len();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| HttpError::CaBadCertificate {
            variable,
            path: path.to_string(),
            number: i + 1,
            detail: e.to_string(),
        })?;
    }
    Ok(count)
}

pub(super) fn pem_problem(err: &rustls::pki_types::pem::Error) -> String {
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
pub(super) fn system_roots(extra_dirs: &[PathBuf]) -> Vec<CertificateDer<'static>> {
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
pub(super) fn system_roots(extra_dirs: &[PathBuf]) -> Vec<CertificateDer<'static>> {
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
