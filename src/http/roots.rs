//! Trusted roots: the system's, plus the user's CA bundle (`CODEX_CA_CERTIFICATE`, else
//! `SSL_CERT_FILE`) ADDED to them, never replacing them. Every file is read under the file rules
//! (`fsutil`): a regular file, opened without blocking, at most 16 MiB; the bundle must be one,
//! and whatever in a certificate directory is not is skipped.

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
    let bytes = match crate::fsutil::read(&bundle.value, crate::fsutil::CA_BUNDLE_CAP) {
        Ok((bytes, _)) => bytes,
        Err(crate::fsutil::ReadError::NotFound) => {
            return Err(HttpError::CaMissing { variable, path });
        }
        Err(crate::fsutil::ReadError::Io(source)) => {
            return Err(HttpError::CaUnreadable {
                variable,
                path,
                source,
            });
        }
        Err(problem) => {
            return Err(HttpError::CaNotAFile {
                variable,
                path,
                problem,
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
    let mut seen = std::collections::HashSet::new();
    for dir in &dirs {
        certs_in_dir(dir, &mut seen, &mut certs);
    }
    certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certs.dedup();
    certs
}

/// The certificates in the PEM files of a directory (what OpenSSL calls a CA dir), each file
/// read once however many links point to it. What cannot be read under the file rules (a
/// FIFO, a device, a file over the cap) or parsed is skipped, as OpenSSL skips it.
pub(super) fn certs_in_dir(
    dir: &Path,
    seen: &mut std::collections::HashSet<(u64, u64)>,
    certs: &mut Vec<CertificateDer<'static>>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::debug!(dir = %dir.display(), error = %e, "cannot list a certificate directory");
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if let Some(id) = file_id(&path)
            && !seen.insert(id)
        {
            continue;
        }
        let bytes = match crate::fsutil::read(&path, crate::fsutil::CA_BUNDLE_CAP) {
            Ok((bytes, _)) => bytes,
            Err(e) => {
                tracing::debug!(path = %path.display(), problem = %e, "skipped in a certificate directory");
                continue;
            }
        };
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            match cert {
                Ok(cert) => certs.push(cert),
                Err(e) => {
                    tracing::debug!(path = %path.display(), error = %e, "skipped a certificate");
                    break;
                }
            }
        }
    }
}

/// Device and inode of the file a path leads to (links followed), to read each file once.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
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
    let mut seen = std::collections::HashSet::new();
    for dir in extra_dirs {
        certs_in_dir(dir, &mut seen, &mut certs);
    }
    certs
}
