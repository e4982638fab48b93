//! A request to the sign-in's callback server, as hyper hands it over (method, target,
//! headers), routed. A request that does not carry our state never ends the sign-in.
#![no_main]

use codex_auth::login::callback::{Finish, Route, route};
use libfuzzer_sys::fuzz_target;

const STATE: &str = "st";

fuzz_target!(|data: &[u8]| {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    if request.parse(data).is_err() {
        return;
    }
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return;
    };
    let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let Ok(uri) = target.parse::<http::Uri>() else {
        return;
    };
    let mut map = http::HeaderMap::new();
    for h in request.headers.iter() {
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(h.name.as_bytes()),
            http::HeaderValue::from_bytes(h.value),
        ) else {
            return;
        };
        map.append(name, value);
    }
    let routed = route(&method, &uri, &map, STATE);
    let has_state = || {
        let query = uri.query().unwrap_or("");
        let states: Vec<String> = url_pairs(query)
            .filter(|(k, _)| k == "state")
            .map(|(_, v)| v)
            .collect();
        states.last().map(String::as_str) == Some(STATE)
    };
    match routed {
        Route::Finish(Finish::Code { code, .. }) => {
            assert!(has_state(), "a code without our state");
            assert!(!code.expose().is_empty());
            assert_eq!(uri.path(), "/auth/callback");
        }
        Route::Finish(Finish::Denied { .. } | Finish::MissingCode) => {
            assert!(has_state(), "an ending without our state");
        }
        Route::Finish(Finish::Cancel) => {
            assert_eq!(uri.path(), "/cancel");
            for name in ["origin", "referer"] {
                assert!(!map.contains_key(name), "a web page cancelled");
            }
        }
        Route::StateMismatch
        | Route::SuccessPage
        | Route::CancelFromPage
        | Route::NotFound
        | Route::MethodNotAllowed => {}
    }
});

/// `application/x-www-form-urlencoded` pairs, decoded independently of the code under test.
fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
