//! JWT claims: the token as it arrives (any text), and a well-formed token around any payload
//! bytes, so the JSON inside is fuzzed too.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fn claims(token: &str) {
    let _ = codex_auth::jwt::payload(token);
    let _ = codex_auth::jwt::id_claims(token);
    let _ = codex_auth::jwt::expires_at(token);
}

fuzz_target!(|data: &[u8]| {
    claims(&String::from_utf8_lossy(data));
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    claims(&format!("eyJhbGciOiJub25lIn0.{body}.c2ln"));
});
