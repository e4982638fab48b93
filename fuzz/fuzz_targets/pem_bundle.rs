//! A CA bundle (`CODEX_CA_CERTIFICATE` / `SSL_CERT_FILE`): PEM blocks, then each certificate
//! checked as a trust anchor.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = "/fuzz/ca.pem";
    match codex_auth::http::parse_bundle("CODEX_CA_CERTIFICATE", path, data) {
        Ok(certs) => {
            assert!(!certs.is_empty());
            let mut roots = rustls::RootCertStore::empty();
            if let Err(e) =
                codex_auth::http::add_bundle(&mut roots, "CODEX_CA_CERTIFICATE", path, certs)
            {
                let _ = e.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
