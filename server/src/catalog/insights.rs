//! What the console shows beside each connection beyond its settings: what routes through
//! it (`used_by`), its last 24 hours from the request log (requests, errors, median
//! latency), and a warning when an active connection needs a look: failing often lately,
//! slow against its own timeout, or near its rpm/tpm limit this minute.

use app::dto::{ConnectionDayDto, ConnectionDto};

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::limits::Headroom;
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;
/// Fewer requests than this in a day say nothing about an error rate.
const MIN_REQUESTS_FOR_RATE: i64 = 5;
/// Errors in this share of requests (or more) are a warning.
const ERROR_RATE_WARNING: f64 = 0.10;
/// A median latency at this share of the connection's timeout (or more) is "slow".
const SLOW_SHARE_OF_TIMEOUT: f64 = 0.5;
/// Less than this share of an rpm/tpm limit left this minute is "near its limit".
const NEAR_LIMIT_SHARE: f64 = 0.2;

/// Fills `used_by`, `last_day` and `warning` of each connection, as `user_id` sees them.
pub async fn fill(
    state: &AppState,
    user_id: &str,
    connections: &mut [ConnectionDto],
) -> Result<(), ApiError> {
    state.routing.fill_used_by(user_id, connections).await?;
    let since = now_ms() - DAY_MS;
    for c in connections {
        let day = crate::logs::timeline::connection_span(&state.db, &c.id, since).await?;
        c.last_day = day.map(|d| ConnectionDayDto {
            requests: d.requests,
            errors: d.errors,
            p50_ms: d.p50_ms,
        });
        let headroom = state
            .limiter
            .headroom(&c.id, c.rate_limits.rpm, c.rate_limits.tpm);
        c.warning = warning(c, &headroom);
    }
    Ok(())
}

/// Why an active connection needs a look, or `None`.
fn warning(c: &ConnectionDto, headroom: &Headroom) -> Option<String> {
    if c.status != "active" {
        return None; // its status already says so
    }
    let mut reasons = Vec::new();
    if let Some(day) = &c.last_day {
        if day.requests >= MIN_REQUESTS_FOR_RATE
            && day.errors as f64 >= ERROR_RATE_WARNING * day.requests as f64
        {
            reasons.push(format!(
                "{} of {} requests failed in the last 24 h",
                day.errors, day.requests
            ));
        }
        if let Some(p50) = day.p50_ms {
            if c.timeout_ms > 0 && p50 >= SLOW_SHARE_OF_TIMEOUT * c.timeout_ms as f64 {
                reasons.push(format!(
                    "slow: median {:.0} ms against a {} ms timeout",
                    p50, c.timeout_ms
                ));
            }
        }
    }
    let near = |left: Option<i64>, limit: Option<i64>, what: &str| {
        let (left, limit) = (left?, limit?);
        ((left as f64) < NEAR_LIMIT_SHARE * limit as f64)
            .then(|| format!("near its {what} limit: {left} of {limit} left this minute"))
    };
    reasons.extend(near(headroom.rpm_remaining, c.rate_limits.rpm, "rpm"));
    reasons.extend(near(headroom.tpm_remaining, c.rate_limits.tpm, "tpm"));
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(timeout_ms: i64, day: Option<(i64, i64, f64)>) -> ConnectionDto {
        let mut c: ConnectionDto = serde_json::from_value(serde_json::json!({
            "id": "c", "name": "n", "description": "", "provider": {"id": "p", "key": "openai", "name": "OpenAI"},
            "endpoint_url": "", "gateway_type": 2, "status": "active", "scope": "individual",
            "owner": {"kind": "user", "id": "u", "handle": "h"}, "model_count": 0, "rate_limits": {},
            "prefer_score": 0, "allow_fallback": true, "allow_private": false, "timeout_ms": timeout_ms,
            "max_retries": 0, "config": {}, "credential_mask": "", "can_edit": true,
            "created_at": "", "updated_at": ""
        }))
        .unwrap();
        c.last_day = day.map(|(requests, errors, p50)| ConnectionDayDto {
            requests,
            errors,
            p50_ms: Some(p50),
        });
        c
    }

    const ROOM: Headroom = Headroom {
        rpm_remaining: None,
        tpm_remaining: None,
    };

    #[test]
    fn warnings_name_errors_slowness_and_limits() {
        assert_eq!(warning(&active(30_000, Some((100, 2, 200.0))), &ROOM), None);
        assert_eq!(warning(&active(30_000, None), &ROOM), None);
        assert_eq!(
            warning(&active(30_000, Some((20, 2, 200.0))), &ROOM).as_deref(),
            Some("2 of 20 requests failed in the last 24 h")
        );
        assert_eq!(
            warning(&active(30_000, Some((4, 4, 200.0))), &ROOM),
            None,
            "too few to say"
        );
        assert!(warning(&active(1_000, Some((20, 0, 600.0))), &ROOM)
            .unwrap()
            .starts_with("slow: median 600 ms"));
        let mut limited = active(30_000, None);
        limited.rate_limits.rpm = Some(60);
        let near = Headroom {
            rpm_remaining: Some(5),
            tpm_remaining: None,
        };
        assert_eq!(
            warning(&limited, &near).as_deref(),
            Some("near its rpm limit: 5 of 60 left this minute")
        );
        limited.status = "inactive".into();
        assert_eq!(warning(&limited, &near), None);
    }
}
