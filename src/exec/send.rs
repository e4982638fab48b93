//! Sending the request: the retry loop (`request_max_retries`) over 5xx, 429 (after
//! `Retry-After`), timeouts and transport errors, with exponential backoff. A proxy that refuses
//! the login is not asked again: its answer cannot change.

use std::time::Duration;

use crate::credential::Endpoint;
use crate::http;
use crate::provider::{Kind, OutgoingRequest};
use crate::report::Reporter;

use super::failure::{Failure, MAX_RETRY_AFTER, RETRY_WAIT_BUDGET, seconds, status_text};

/// A streamed answer may take long; silence is bounded by `stream_idle_timeout_ms` instead.
pub(super) const STREAM_TOTAL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// Sends the request, retrying (`request_max_retries`) on 5xx, 429 (after `Retry-After`),
/// timeouts and transport errors, with exponential backoff.
pub(super) async fn send(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    request: &OutgoingRequest,
    notes: &Reporter,
) -> Result<reqwest::Response, Failure> {
    let max = endpoint.provider.request_max_retries;
    let idle = endpoint.provider.stream_idle_timeout;
    let mut retries = 0;
    let mut waited = Duration::ZERO;
    loop {
        let mut attempt = request.clone();
        endpoint
            .credential
            .apply(&mut attempt)
            .map_err(Failure::Credential)?;
        let sent = client
            .post(attempt.url)
            .headers(attempt.headers)
            .body(attempt.body)
            .timeout(STREAM_TOTAL_TIMEOUT)
            .send();
        let (reason, wait) = match tokio::time::timeout(idle, sent).await {
            Ok(Ok(response)) if response.status().is_success() => return Ok(response),
            Ok(Ok(response)) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let text = match tokio::time::timeout(idle, http::read_body(response)).await {
                    Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                    Ok(Err(_)) | Err(_) => String::new(),
                };
                let transient = status.is_server_error()
                    || (status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        && !text.contains("insufficient_quota"));
                let wait = match retry_after {
                    Some(asked) if status == reqwest::StatusCode::TOO_MANY_REQUESTS => asked,
                    Some(_) | None => backoff(retries),
                };
                let over_budget = waited + wait > RETRY_WAIT_BUDGET;
                if !transient || retries >= max || wait > MAX_RETRY_AFTER || over_budget {
                    return Err(Failure::Status {
                        status,
                        text,
                        retries,
                        retry_after,
                        out_of_budget: transient && retries < max && over_budget,
                    });
                }
                let reason = match retry_after {
                    Some(asked) if status == reqwest::StatusCode::TOO_MANY_REQUESTS => format!(
                        "{} answered {}; retrying in {} as it asks",
                        endpoint.provider.name,
                        status_text(status),
                        seconds(asked)
                    ),
                    Some(_) | None => format!(
                        "{} answered {}; retrying",
                        endpoint.provider.name,
                        status_text(status)
                    ),
                };
                (reason, wait)
            }
            Ok(Err(err)) => {
                let local_refused =
                    matches!(endpoint.provider.kind, Kind::Oss(_)) && err.is_connect();
                // Described once per attempt: describing may ask the proxy why it refused.
                let diagnosis = http::diagnose(&err);
                let final_answer = local_refused || diagnosis.again == http::Again::SameAnswer;
                let over_budget = waited + backoff(retries) > RETRY_WAIT_BUDGET;
                if final_answer || retries >= max || over_budget {
                    return Err(Failure::Transport {
                        err,
                        text: diagnosis.text,
                        retries,
                        out_of_budget: !final_answer && retries < max,
                    });
                }
                (format!("{}; retrying", diagnosis.text), backoff(retries))
            }
            Err(_) => {
                let over_budget = waited + backoff(retries) > RETRY_WAIT_BUDGET;
                if retries >= max || over_budget {
                    return Err(Failure::Silent {
                        retries,
                        out_of_budget: retries < max,
                    });
                }
                (
                    format!(
                        "no response from {} within {} ms (stream_idle_timeout_ms); retrying",
                        endpoint.provider.name,
                        idle.as_millis()
                    ),
                    backoff(retries),
                )
            }
        };
        retries += 1;
        notes.note(&format!("note: {reason} ({retries}/{max})"));
        waited += wait;
        tokio::time::sleep(wait).await;
    }
}

/// `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_millis(ms as u64));
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// 200 ms, 400 ms, 800 ms, ... up to 10 s, each +-10% so parallel runs spread out.
fn backoff(retries: u64) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << retries.min(16) as u32);
    let capped = exp.min(BACKOFF_CAP);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = 0.9 + f64::from(nanos % 1000) / 5000.0;
    capped.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_dates_and_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", "tomorrow".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(0) >= Duration::from_millis(180) && backoff(0) <= Duration::from_millis(220)
        );
        assert!(backoff(40) <= Duration::from_secs(11));
    }
}
