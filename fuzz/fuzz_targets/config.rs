//! config.toml and `-c key=value` overrides. Input: the file's text, then the overrides, split
//! by 0xFF bytes (which never occur in UTF-8).
#![no_main]

use std::path::PathBuf;

use codex_auth::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xff);
    let file = parts.next().unwrap_or_default();
    let Ok(text) = std::str::from_utf8(file) else {
        return;
    };
    let text = (!text.is_empty()).then_some(text);
    let overrides: Vec<String> = parts
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let home = PathBuf::from("/nonexistent/codex-home");
    match Config::parse(home, false, text, &overrides) {
        Ok(config) => {
            let _ = config.auth_file();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
