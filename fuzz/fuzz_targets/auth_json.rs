//! auth.json (and the keyring secret, the same document): any bytes are parsed without a
//! panic, and a document we read is written back in a form that reads back the same.
#![no_main]

use std::path::Path;

use codex_auth::store::file::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("auth.json");
    let doc = match parse(path, data) {
        Ok(doc) => doc,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = doc.mode();
    let _ = doc.is_chatgpt();
    let _ = doc.usability();
    let _ = codex_auth::token::refresh_due(
        &doc,
        (std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)).into(),
    );
    if let Some(tokens) = &doc.tokens {
        let _ = codex_auth::jwt::id_claims(tokens.id_token.expose());
        let _ = codex_auth::jwt::expires_at(tokens.access_token.expose());
    }
    for text in [doc.to_pretty_json(), doc.to_compact_json()] {
        let again = parse(path, text.as_bytes()).expect("what we write reads back");
        assert!(again == doc, "the document changed on the way: {text}");
    }
});
