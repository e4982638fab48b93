//! The issuer's answers: discovery, the code exchange and refresh (token or error responses,
//! read by `oauth2` after our own status check), OpenAI's JSON refresh, the RFC 8628 device
//! answers, OpenAI's device API and the API-key exchange. Input: the kind of answer, the HTTP
//! status, the content type, then the body.
#![no_main]

use std::cell::Cell;
use std::future::Future;

use codex_auth::oauth::{
    self, AuthSettings, Discovery, Endpoints, ExchangedKey, Protocol, TokenFailure, TokenHttpError,
};
use libfuzzer_sys::fuzz_target;
use oauth2::{
    AuthorizationCode, DeviceAuthorizationUrl, PkceCodeVerifier, RedirectUrl, RefreshToken,
    StandardDeviceAuthorizationResponse,
};

const STATUSES: [u16; 16] = [
    200, 200, 201, 204, 301, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504, 599,
];
const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    None,
    Some("text/html"),
    Some("application/x-www-form-urlencoded"),
];

fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
    }
    RUNTIME.with(|rt| rt.block_on(future))
}

fn settings() -> AuthSettings {
    AuthSettings {
        issuer: "https://issuer.example".to_string(),
        client_id: "client".to_string(),
        protocol: Protocol::Oidc,
        scopes: None,
        protocol_was_defaulted: false,
        authapi: None,
    }
}

fn endpoints() -> Endpoints {
    Endpoints {
        authorize: "https://issuer.example/auth".to_string(),
        token: "https://issuer.example/token".to_string(),
        device_authorization: Some("https://issuer.example/device".to_string()),
        revocation: None,
    }
}

fn failure_text<T>(
    e: oauth2::RequestTokenError<TokenHttpError, oauth2::StandardErrorResponse<T>>,
) -> String
where
    T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display,
{
    let failure = TokenFailure::from_oauth2(e);
    let _ = failure.code();
    let _ = failure.is_transient();
    oauth::token_error("https://issuer.example/token", failure).to_string()
}

fuzz_target!(|data: &[u8]| {
    let [kind, status, content_type, body @ ..] = data else {
        return;
    };
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let mut headers = http::HeaderMap::new();
    if let Some(ct) = CONTENT_TYPES[usize::from(*content_type) % CONTENT_TYPES.len()] {
        headers.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
    }
    // The fuzzed answer to the first request; a refusal to any later one (device polling).
    let calls = Cell::new(0u32);
    let answer = |_request: oauth2::HttpRequest| {
        calls.set(calls.get() + 1);
        std::future::ready(if calls.get() == 1 {
            oauth::read_answer(
                http::StatusCode::from_u16(status).unwrap(),
                headers.clone(),
                body.to_vec(),
            )
        } else {
            // A final answer: device polling would go on after anything else.
            let mut json = http::HeaderMap::new();
            json.insert(
                http::header::CONTENT_TYPE,
                "application/json".parse().unwrap(),
            );
            oauth::read_answer(
                http::StatusCode::BAD_REQUEST,
                json,
                br#"{"error":"access_denied"}"#.to_vec(),
            )
        })
    };
    let settings = settings();
    let endpoints = endpoints();
    let client = oauth::client(&settings, &endpoints).unwrap();
    match kind % 10 {
        0 => {
            let _ = serde_json::from_slice::<Discovery>(body);
        }
        1 => {
            let result = block_on(
                client
                    .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:1455/cb".into()).unwrap())
                    .exchange_code(AuthorizationCode::new("code".into()))
                    .set_pkce_verifier(PkceCodeVerifier::new("v".repeat(43)))
                    .request_async(&answer),
            );
            match result {
                Ok(response) => {
                    if let Ok(tokens) = oauth::issued(&endpoints.token, response) {
                        let _ = tokens.claims;
                    }
                }
                Err(e) => {
                    let _ = failure_text(e);
                }
            }
        }
        2 => {
            let token = RefreshToken::new("refresh".into());
            if let Err(e) = block_on(client.exchange_refresh_token(&token).request_async(&answer)) {
                let _ = failure_text(e);
            }
        }
        3 => match oauth::refresh::read_openai_answer(status, body) {
            Ok(refreshed) => {
                let _ = refreshed.claims();
            }
            Err(failure) => {
                let _ = failure.to_string();
            }
        },
        4 | 5 => {
            let client = client.set_device_authorization_url(
                DeviceAuthorizationUrl::new("https://issuer.example/device".into()).unwrap(),
            );
            if kind % 10 == 4 {
                match block_on(client.exchange_device_code().request_async(&answer)) {
                    Ok(details) => {
                        let _: &StandardDeviceAuthorizationResponse = &details;
                        let _ = details.verification_uri_complete();
                        let _ = details.expires_in();
                    }
                    Err(e) => {
                        let _ = failure_text(e);
                    }
                }
                return;
            }
            let details: StandardDeviceAuthorizationResponse = serde_json::from_str(
                r#"{"device_code":"d","user_code":"u","verification_uri":"https://issuer.example/device","expires_in":600,"interval":1}"#,
            )
            .unwrap();
            let result = block_on(client.exchange_device_access_token(&details).request_async(
                &answer,
                |_| std::future::ready(()),
                None,
            ));
            match result {
                Ok(response) => {
                    let _ = oauth::issued(&endpoints.token, response).map_err(|e| e.to_string());
                }
                Err(e) => {
                    let _ = failure_text(e);
                }
            }
        }
        6 => {
            let _ = serde_json::from_slice::<oauth::device::UserCodeResponse>(body);
        }
        7 => {
            let _ = serde_json::from_slice::<oauth::device::CodeGrant>(body);
        }
        8 => {
            let _ = serde_json::from_slice::<ExchangedKey>(body);
        }
        _ => {
            let _ = oauth::error_code(body);
        }
    }
});
