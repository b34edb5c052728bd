//! Per-connection rpm/tpm budgets over a sliding 60-second window, in process. A request
//! reserves one request and its estimated tokens up front; the reservation is settled with
//! the real usage afterwards. Also keeps each connection's latency (EWMA) for ordering.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

const WINDOW: Duration = Duration::from_secs(60);
/// Weight of the newest latency sample.
const EWMA_ALPHA: f64 = 0.2;

#[derive(Default)]
struct Window {
    /// (when, reservation id, tokens)
    events: VecDeque<(Instant, u64, u64)>,
}

impl Window {
    fn prune(&mut self, now: Instant) {
        while self
            .events
            .front()
            .is_some_and(|(t, ..)| now.duration_since(*t) >= WINDOW)
        {
            self.events.pop_front();
        }
    }

    fn tokens(&self) -> u64 {
        self.events.iter().map(|(_, _, t)| t).sum()
    }

    /// When the oldest event leaves the window.
    fn reset_in(&self, now: Instant) -> Duration {
        self.events
            .front()
            .map(|(t, ..)| WINDOW.saturating_sub(now.duration_since(*t)))
            .unwrap_or(Duration::ZERO)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// `rpm` or `tpm`.
    pub kind: &'static str,
    pub limit: i64,
    pub remaining: i64,
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    id: u64,
    /// False for unlimited connections: nothing was recorded, so nothing to settle.
    counted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    pub rpm_remaining: Option<i64>,
    pub tpm_remaining: Option<i64>,
}

#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<String, Window>>,
    latency: Mutex<HashMap<String, f64>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Limiter {
    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reserves one request and `tokens` on `connection`, or says which budget is spent.
    pub fn try_acquire(
        &self,
        connection: &str,
        rpm: Option<i64>,
        tpm: Option<i64>,
        tokens: u64,
    ) -> Result<Reservation, OverBudget> {
        let now = Instant::now();
        let mut windows = self.windows();
        let window = windows.entry(connection.to_owned()).or_default();
        window.prune(now);
        let used_requests = i64::try_from(window.events.len()).unwrap_or(i64::MAX);
        if let Some(limit) = rpm {
            if used_requests >= limit {
                return Err(OverBudget {
                    kind: "rpm",
                    limit,
                    remaining: 0,
                    retry_after: window.reset_in(now),
                });
            }
        }
        if let Some(limit) = tpm {
            let used = i64::try_from(window.tokens()).unwrap_or(i64::MAX);
            let wanted = i64::try_from(tokens).unwrap_or(i64::MAX);
            // A single request larger than the whole budget may run alone in an empty window.
            if used > 0 && used.saturating_add(wanted) > limit {
                return Err(OverBudget {
                    kind: "tpm",
                    limit,
                    remaining: (limit - used).max(0),
                    retry_after: window.reset_in(now),
                });
            }
        }
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        window.events.push_back((now, id, tokens));
        Ok(Reservation { id, counted: true })
    }

    /// Replaces the estimate with the tokens the provider reported.
    pub fn settle(&self, connection: &str, reservation: Reservation, actual_tokens: u64) {
        if !reservation.counted {
            return;
        }
        if let Some(window) = self.windows().get_mut(connection) {
            if let Some(event) = window
                .events
                .iter_mut()
                .find(|(_, id, _)| *id == reservation.id)
            {
                event.2 = actual_tokens;
            }
        }
    }

    pub fn headroom(&self, connection: &str, rpm: Option<i64>, tpm: Option<i64>) -> Headroom {
        if rpm.is_none() && tpm.is_none() {
            return Headroom {
                rpm_remaining: None,
                tpm_remaining: None,
            };
        }
        let now = Instant::now();
        let mut windows = self.windows();
        let window = windows.entry(connection.to_owned()).or_default();
        window.prune(now);
        let requests = i64::try_from(window.events.len()).unwrap_or(i64::MAX);
        let tokens = i64::try_from(window.tokens()).unwrap_or(i64::MAX);
        Headroom {
            rpm_remaining: rpm.map(|l| (l - requests).max(0)),
            tpm_remaining: tpm.map(|l| (l - tokens).max(0)),
        }
    }

    pub fn record_latency(&self, connection: &str, elapsed: Duration) {
        let sample = elapsed.as_secs_f64() * 1000.0;
        let mut map = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(connection.to_owned())
            .and_modify(|v| *v = EWMA_ALPHA * sample + (1.0 - EWMA_ALPHA) * *v)
            .or_insert(sample);
    }

    /// Observed latency in ms; unknown connections sort as if fast, so they get tried.
    pub fn latency_ms(&self, connection: &str) -> Option<f64> {
        self.latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(connection)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_budget_is_enforced_and_reports_headroom() {
        let l = Limiter::default();
        assert!(l.try_acquire("c", Some(2), None, 10).is_ok());
        assert!(l.try_acquire("c", Some(2), None, 10).is_ok());
        let over = l.try_acquire("c", Some(2), None, 10).unwrap_err();
        assert_eq!((over.kind, over.limit, over.remaining), ("rpm", 2, 0));
        assert!(over.retry_after <= WINDOW && over.retry_after > Duration::from_secs(55));
        assert_eq!(l.headroom("c", Some(2), None).rpm_remaining, Some(0));
        assert!(
            l.try_acquire("other", Some(2), None, 10).is_ok(),
            "budgets are per connection"
        );
    }

    #[test]
    fn tpm_uses_estimates_then_real_usage() {
        let l = Limiter::default();
        let r = l.try_acquire("c", None, Some(1000), 900).unwrap();
        assert_eq!(
            l.try_acquire("c", None, Some(1000), 200).unwrap_err().kind,
            "tpm"
        );
        l.settle("c", r, 100);
        assert!(l.try_acquire("c", None, Some(1000), 200).is_ok());
        assert_eq!(l.headroom("c", None, Some(1000)).tpm_remaining, Some(700));
    }

    #[test]
    fn unlimited_connections_are_never_refused() {
        let l = Limiter::default();
        for _ in 0..1000 {
            assert!(l.try_acquire("c", None, None, 1_000_000).is_ok());
        }
    }

    #[test]
    fn latency_is_smoothed() {
        let l = Limiter::default();
        l.record_latency("c", Duration::from_millis(100));
        l.record_latency("c", Duration::from_millis(200));
        assert!((l.latency_ms("c").unwrap() - 120.0).abs() < 0.01);
    }
}
