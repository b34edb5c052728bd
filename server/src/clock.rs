//! Wall-clock time as stored (Unix epoch milliseconds) and as shown (RFC 3339).

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// The time budgets are kept by: the wall clock, moved forward by tests (`advance`) to
/// cross a period's end without waiting for it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.offset_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn advance(&self, ms: i64) {
        self.offset_ms
            .fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

pub fn now_ms() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Epoch milliseconds of an RFC 3339 time.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Epoch milliseconds of an RFC 3339 time, or of a `YYYY-MM-DD` day's midnight (UTC): what
/// `from`/`to` query parameters take.
pub fn parse_time_or_day(text: &str) -> Option<i64> {
    parse_rfc3339(text).or_else(|| parse_rfc3339(&format!("{}T00:00:00Z", text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.123Z"),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_rfc3339("next tuesday"), None);
    }
}
