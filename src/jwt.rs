//! Reading claims out of ID and access tokens. The tokens come straight from the issuer over
//! TLS and are only used for display and expiry decisions, so signatures are not checked here.

use base64::Engine;
use serde_json::Value;

/// What the ID token says about the account (OpenAI's claims where present, OIDC's otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdClaims {
    pub email: Option<String>,
    pub plan: Option<String>,
    pub account_id: Option<String>,
    pub user_id: Option<String>,
}

const OPENAI_AUTH: &str = "https://api.openai.com/auth";
const OPENAI_PROFILE: &str = "https://api.openai.com/profile";

/// The payload of a JWT as JSON, or `None` when the token is not a JWT.
pub fn payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, body, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub fn id_claims(id_token: &str) -> IdClaims {
    let Some(p) = payload(id_token) else {
        return IdClaims::default();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let auth = p.get(OPENAI_AUTH);
    IdClaims {
        email: text(p.get("email"))
            .or_else(|| text(p.get(OPENAI_PROFILE).and_then(|x| x.get("email")))),
        plan: text(auth.and_then(|a| a.get("chatgpt_plan_type"))),
        account_id: text(auth.and_then(|a| a.get("chatgpt_account_id"))),
        user_id: text(auth.and_then(|a| a.get("chatgpt_user_id"))).or_else(|| text(p.get("sub"))),
    }
}

/// The `exp` claim in whole seconds since the epoch (a fraction cut off), for display.
pub fn expires_at(token: &str) -> Option<i64> {
    expires_at_ms(token).map(|ms| ms.div_euclid(1000))
}

/// The `exp` claim in milliseconds since the epoch, for decisions: RFC 7519 says the token is
/// expired at `exp`, which may carry a fraction (`1765000000.5`).
pub fn expires_at_ms(token: &str) -> Option<i64> {
    numeric_date_ms(payload(token)?.get("exp")?)
}

/// The `iat` claim (else `nbf`) in milliseconds, when the token is a JWT that has one: with
/// `exp`, the token's lifetime.
pub fn issued_at_ms(token: &str) -> Option<i64> {
    let payload = payload(token)?;
    numeric_date_ms(payload.get("iat").or_else(|| payload.get("nbf"))?)
}

/// A NumericDate (RFC 7519 section 2): seconds since the epoch as a JSON number, an integer or
/// not, in milliseconds (an absurd one saturates: still a date, long past or far ahead).
/// Anything else (a string) counts as absent.
fn numeric_date_ms(value: &Value) -> Option<i64> {
    if let Some(secs) = value.as_i64() {
        return Some(secs.saturating_mul(1000));
    }
    // `as` saturates, and JSON has no NaN or infinity.
    value.as_f64().map(|secs| (secs * 1000.0).floor() as i64)
}

/// Seconds since the epoch as `2026-11-26T23:20:00Z`.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

/// `2026-11-26T23:20:00Z (in 12 min)` or `(expired 3 min ago)`.
pub fn describe_time(exp: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let delta = exp.saturating_sub(now);
    let span = |s: i64| match s {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    };
    if delta >= 0 {
        format!("{} (in {})", rfc3339(exp), span(delta))
    } else {
        format!(
            "{} (expired {} ago)",
            rfc3339(exp),
            span(delta.saturating_neg())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", enc("{\"alg\":\"none\"}"), enc(payload))
    }

    #[test]
    fn reads_openai_and_oidc_claims() {
        let t = jwt(
            r#"{"email":"a@b.c","exp":1700000000,"https://api.openai.com/auth":{"chatgpt_plan_type":"pro","chatgpt_account_id":"acct"}}"#,
        );
        let c = id_claims(&t);
        assert_eq!(c.email.as_deref(), Some("a@b.c"));
        assert_eq!(c.plan.as_deref(), Some("pro"));
        assert_eq!(c.account_id.as_deref(), Some("acct"));
        assert_eq!(expires_at(&t), Some(1_700_000_000));
        assert_eq!(expires_at_ms(&t), Some(1_700_000_000_000));
        let t = jwt(r#"{"https://api.openai.com/profile":{"email":"p@q.r"}}"#);
        assert_eq!(id_claims(&t).email.as_deref(), Some("p@q.r"));
    }

    #[test]
    fn numeric_dates_may_carry_fractions() {
        let t = jwt(r#"{"exp":1765000000.5,"iat":1764999999.25}"#);
        assert_eq!(expires_at_ms(&t), Some(1_765_000_000_500));
        assert_eq!(expires_at(&t), Some(1_765_000_000));
        assert_eq!(issued_at_ms(&t), Some(1_764_999_999_250));
        let t = jwt(r#"{"exp":"1765000000","nbf":1e9}"#);
        assert_eq!(expires_at_ms(&t), None);
        assert_eq!(issued_at_ms(&t), Some(1_000_000_000_000));
        assert_eq!(expires_at_ms(&jwt(r#"{"exp":1e300}"#)), Some(i64::MAX));
        assert_eq!(
            expires_at_ms(&jwt(r#"{"exp":-9223372036854775808}"#)),
            Some(i64::MIN)
        );
    }

    #[test]
    fn opaque_tokens_have_no_claims() {
        assert_eq!(id_claims("opaque"), IdClaims::default());
        assert_eq!(expires_at("a.b.c"), None);
    }
}
