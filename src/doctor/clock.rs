//! Clock skew: this computer's clock against the `Date` header of a server that answered. A
//! clock that is off makes access tokens look expired (or not yet valid) and certificates
//! invalid, and the errors then point everywhere but at the clock.

use super::{Group, Row};

/// What a server's `Date` header said, against this computer's clock when the answer arrived.
#[derive(Debug, Clone)]
pub struct ServerDate {
    /// `host:port` as the user wrote it.
    pub server: String,
    /// Server time minus local time, in seconds (the header has whole seconds).
    pub skew: f64,
}

impl ServerDate {
    /// From a `Date` header value (`Sun, 06 Nov 1994 08:49:37 GMT`), received at `local`.
    pub fn from_header(
        server: &str,
        value: &str,
        local: chrono::DateTime<chrono::Utc>,
    ) -> Option<ServerDate> {
        let date = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
        // The header truncates to the second: its true time is half a second later on average.
        let server_time = date.timestamp() as f64 + 0.5;
        let local_time = local.timestamp_millis() as f64 / 1000.0;
        Some(ServerDate {
            server: server.to_string(),
            skew: server_time - local_time,
        })
    }
}

/// Within this, the clock is fine (a `Date` header has one-second steps, networks add delay).
const FINE_SECS: f64 = 60.0;
/// Beyond this, tokens about to be refreshed (5 minutes before expiry) look expired already.
const BROKEN_SECS: f64 = 300.0;

pub fn row(dates: &[ServerDate]) -> Row {
    let name = "clock";
    let Some(date) = dates.first() else {
        return Row::skip(
            Group::Clock,
            name,
            "not measured: no server answered with a `Date` header",
        );
    };
    let off = date.skew.abs();
    // Server ahead of us: our clock is behind.
    let direction = if date.skew > 0.0 {
        "behind"
    } else {
        "ahead of"
    };
    if off < FINE_SECS {
        return Row::ok(
            Group::Clock,
            name,
            format!(
                "agrees with the `Date` of `{}` (within {} s)",
                date.server,
                off.ceil().max(1.0) as u64
            ),
        );
    }
    let found = format!(
        "this computer's clock is {} {direction} `{}` (its `Date` header): access tokens look {} and certificates may look invalid",
        span(off),
        date.server,
        if date.skew > 0.0 {
            "not yet valid"
        } else {
            "expired too early"
        }
    );
    let row = if off < BROKEN_SECS {
        Row::warn(Group::Clock, name, found)
    } else {
        Row::fail(Group::Clock, name, found)
    };
    row.fix(SYNC_CLOCK)
}

#[cfg(target_os = "linux")]
const SYNC_CLOCK: &str = "set the clock from the network: sudo timedatectl set-ntp true";
#[cfg(target_os = "macos")]
const SYNC_CLOCK: &str = "set the clock from the network: System Settings > General > Date & Time > Set time automatically";
#[cfg(windows)]
const SYNC_CLOCK: &str =
    "set the clock from the network: Settings > Time & language > Date & time > Sync now";
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
const SYNC_CLOCK: &str = "set this computer's clock from the network (NTP)";

/// `45 s`, `about 10 min`, `about 3 h`.
fn span(secs: f64) -> String {
    match secs {
        s if s < 120.0 => format!("{} s", s.round() as u64),
        s if s < 7200.0 => format!("about {} min", (s / 60.0).round() as u64),
        s if s < 172_800.0 => format!("about {} h", (s / 3600.0).round() as u64),
        s => format!("about {} days", (s / 86_400.0).round() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str, local: &str) -> ServerDate {
        let local = chrono::DateTime::parse_from_rfc3339(local)
            .unwrap()
            .to_utc();
        ServerDate::from_header("api.example.com", value, local).unwrap()
    }

    #[test]
    fn skew_is_read_from_the_date_header() {
        let d = at("Wed, 02 Dec 2026 08:31:40 GMT", "2026-12-02T08:41:40.300Z");
        assert!((d.skew - -599.8).abs() < 0.01, "{}", d.skew);
        let row = row(&[d]);
        assert_eq!(row.status, super::super::Status::Fail);
        assert!(
            row.found
                .starts_with("this computer's clock is about 10 min ahead of `api.example.com`"),
            "{}",
            row.found
        );
        let d = at("Wed, 02 Dec 2026 08:41:40 GMT", "2026-12-02T08:41:40.900Z");
        assert_eq!(row_status(d), super::super::Status::Ok);
        let d = at("Wed, 02 Dec 2026 08:43:40 GMT", "2026-12-02T08:41:40.000Z");
        assert_eq!(row_status(d), super::super::Status::Warn);
        assert!(ServerDate::from_header("x", "yesterday", chrono::Utc::now()).is_none());
    }

    fn row_status(d: ServerDate) -> super::super::Status {
        row(&[d]).status
    }
}
