//! Per-connection rpm/tpm budgets over a sliding 60-second window, in process. A request
//! reserves one request and its estimated tokens up front; the reservation is settled with
//! the real usage afterwards. Daily request quotas (a free tier's requests per UTC day)
//! count every attempt and roll over at midnight UTC. Also keeps latency (EWMA) per
//! connection and per connection+model, for ordering.
//!
//! With `--redis-url` the windows and daily quotas are Redis's, shared by every replica
//! ([`Limiter::reserve_shared`]); while Redis does not answer, the failure policy decides:
//! count here alone (`open`) or refuse (`closed`). Latency figures stay per process but
//! are merged across replicas every second (`cluster::latency`), approximately.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::future::Either;

use crate::cluster::{FailurePolicy, Shared, Unavailable};

const WINDOW: Duration = Duration::from_secs(60);
/// Weight of the newest latency sample.
const EWMA_ALPHA: f64 = 0.2;
/// Latency entries kept per connection.
const MAX_MODELS_PER_CONNECTION: usize = 1_024;

/// One connection's last 60 seconds. Events are in reservation-id order (ids grow and are
/// pushed under the lock), so settling finds its event by binary search, and the token
/// total is kept as events come and go: every operation is O(log n) at worst.
#[derive(Default)]
struct Window {
    /// (when, reservation id, tokens)
    events: VecDeque<(Instant, u64, u64)>,
    tokens: u64,
}

impl Window {
    fn prune(&mut self, now: Instant) {
        while let Some((t, _, tokens)) = self.events.front() {
            if now.duration_since(*t) < WINDOW {
                break;
            }
            self.tokens = self.tokens.saturating_sub(*tokens);
            self.events.pop_front();
        }
    }

    fn tokens(&self) -> u64 {
        self.tokens
    }

    fn push(&mut self, now: Instant, id: u64, tokens: u64) {
        self.events.push_back((now, id, tokens));
        self.tokens = self.tokens.saturating_add(tokens);
    }

    /// Replaces a reservation's estimate; one already out of the window is ignored.
    fn settle(&mut self, id: u64, actual: u64) {
        if let Ok(i) = self.events.binary_search_by_key(&id, |(_, id, _)| *id) {
            let event = &mut self.events[i];
            self.tokens = self.tokens.saturating_sub(event.2).saturating_add(actual);
            event.2 = actual;
        }
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
    /// Made in the shared (Redis) window, so settled there.
    shared: bool,
}

/// What a reservation asks for: one request and `tokens` against `id`'s (a connection's
/// or a key's) daily quota and rpm/tpm window; `None` is no limit.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub id: &'a str,
    pub rpd: Option<i64>,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub tokens: u64,
    pub now_ms: i64,
}

/// A reservation under way: ready at once in this process, a boxed Redis round trip
/// when shared.
pub type Reserving<'a> = Either<
    std::future::Ready<Result<Reservation, Refused>>,
    Pin<Box<dyn Future<Output = Result<Reservation, Refused>> + Send + 'a>>,
>;

/// Why a reservation was not made.
#[derive(Debug, Clone)]
pub enum Refused {
    /// A limit is spent.
    Over(OverBudget),
    /// Redis does not answer and the failure policy is `closed`.
    Unshared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    pub rpm_remaining: Option<i64>,
    pub tpm_remaining: Option<i64>,
}

const DAY_MS: i64 = 86_400_000;

/// Requests per connection in the current UTC day.
#[derive(Default)]
struct DailyCounts {
    day: i64,
    used: HashMap<String, i64>,
}

impl DailyCounts {
    /// Forgets yesterday's counts once the day has rolled.
    fn roll(&mut self, now_ms: i64) {
        let today = now_ms.div_euclid(DAY_MS);
        if today != self.day {
            self.day = today;
            self.used.clear();
        }
    }
}

/// Smoothed latency of one connection serving one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelLatency {
    pub total_ms: f64,
    /// Time to first token, from streamed calls.
    pub ttft_ms: Option<f64>,
    pub samples: u64,
}

#[derive(Default)]
pub struct Limiter {
    /// Where replicas share windows and quotas, and this limiter's name there
    /// (`conn` or `key`).
    shared: Option<(Arc<Shared>, &'static str)>,
    windows: Mutex<HashMap<String, Window>>,
    latency: Mutex<HashMap<String, f64>>,
    /// connection → model → latency (nested so lookups borrow instead of allocating).
    model_latency: Mutex<HashMap<String, HashMap<String, ModelLatency>>>,
    daily: Mutex<DailyCounts>,
    next_id: std::sync::atomic::AtomicU64,
    /// Every replica's figures merged (`cluster::latency`), read before this process's own.
    fleet: Mutex<Fleet>,
}

/// Latency figures of all replicas together, as last merged.
#[derive(Default)]
pub struct Fleet {
    pub connections: HashMap<String, f64>,
    pub models: HashMap<String, HashMap<String, ModelLatency>>,
}

impl Limiter {
    /// A limiter whose windows live in `shared` under `scope`.
    pub fn shared(shared: Option<Arc<Shared>>, scope: &'static str) -> Self {
        Self {
            shared: shared.map(|s| (s, scope)),
            ..Self::default()
        }
    }

    /// Reserves what `ask` asks for: here, or — when replicas share state — in Redis. The
    /// shared path's future is boxed, so it adds nothing to the callers' futures when
    /// nothing is shared.
    pub fn reserve<'a>(&'a self, ask: Ask<'a>) -> Reserving<'a> {
        let limited = ask.rpd.is_some() || ask.rpm.is_some() || ask.tpm.is_some();
        if self.shared.is_some() && limited {
            Either::Right(Box::pin(self.reserve_shared(ask)))
        } else {
            Either::Left(std::future::ready(self.reserve_here(ask)))
        }
    }

    /// The daily quota, then the rpm/tpm window, in this process.
    fn reserve_here(&self, ask: Ask<'_>) -> Result<Reservation, Refused> {
        self.take_daily(ask.id, ask.rpd, ask.now_ms)
            .and_then(|()| self.try_acquire(ask.id, ask.rpm, ask.tpm, ask.tokens))
            .map_err(Refused::Over)
    }

    /// [`Limiter::reserve_here`] against the windows every replica shares; while Redis
    /// does not answer, here alone (policy `open`) or not at all (`closed`).
    async fn reserve_shared(&self, ask: Ask<'_>) -> Result<Reservation, Refused> {
        let Ask {
            id,
            rpd,
            rpm,
            tpm,
            tokens,
            now_ms,
        } = ask;
        // `reserve` sends only limited asks here, and only when shared.
        let Some((shared, scope)) = &self.shared else {
            return self.reserve_here(ask);
        };
        let fallback = |this: &Self| match shared.policy {
            FailurePolicy::Open => this.reserve_here(ask),
            FailurePolicy::Closed => Err(Refused::Unshared),
        };
        if let Some(limit) = rpd {
            let seed = {
                let mut daily = self.daily();
                daily.roll(now_ms);
                daily.used.get(id).copied().unwrap_or(0)
            };
            match shared
                .take_daily(id, limit, seed, now_ms.div_euclid(DAY_MS))
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Refused::Over(OverBudget {
                        kind: "rpd",
                        limit,
                        remaining: 0,
                        retry_after: until_midnight(now_ms),
                    }))
                }
                Err(Unavailable) => return fallback(self),
            }
        }
        if rpm.is_none() && tpm.is_none() {
            return Ok(Reservation {
                id: 0,
                counted: false,
                shared: false,
            });
        }
        match shared.acquire(scope, id, rpm, tpm, tokens).await {
            Ok(Ok(reservation)) => Ok(Reservation {
                id: reservation,
                counted: true,
                shared: true,
            }),
            Ok(Err(over)) => Err(Refused::Over(over)),
            Err(Unavailable) => match shared.policy {
                FailurePolicy::Open => self
                    .try_acquire(id, rpm, tpm, tokens)
                    .map_err(Refused::Over),
                FailurePolicy::Closed => Err(Refused::Unshared),
            },
        }
    }

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
        if rpm.is_none() && tpm.is_none() {
            // Unlimited: nothing to count, no lock on the hot path.
            return Ok(Reservation {
                id: 0,
                counted: false,
                shared: false,
            });
        }
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
        window.push(now, id, tokens);
        Ok(Reservation {
            id,
            counted: true,
            shared: false,
        })
    }

    /// Replaces the estimate with the tokens the provider reported.
    pub fn settle(&self, connection: &str, reservation: Reservation, actual_tokens: u64) {
        if !reservation.counted {
            return;
        }
        if reservation.shared {
            if let Some((shared, scope)) = &self.shared {
                shared.settle(scope, connection, reservation.id, actual_tokens);
            }
            return;
        }
        if let Some(window) = self.windows().get_mut(connection) {
            window.settle(reservation.id, actual_tokens);
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
        match map.get_mut(connection) {
            Some(v) => *v = EWMA_ALPHA * sample + (1.0 - EWMA_ALPHA) * *v,
            None => {
                map.insert(connection.to_owned(), sample);
            }
        }
    }

    /// Counts one request against `connection`'s daily quota, or says it is spent until
    /// midnight UTC. Unlimited connections take no lock.
    pub fn take_daily(
        &self,
        connection: &str,
        rpd: Option<i64>,
        now_ms: i64,
    ) -> Result<(), OverBudget> {
        let Some(limit) = rpd else { return Ok(()) };
        let mut daily = self.daily();
        daily.roll(now_ms);
        let used = daily.used.entry(connection.to_owned()).or_default();
        if *used >= limit {
            return Err(OverBudget {
                kind: "rpd",
                limit,
                remaining: 0,
                retry_after: until_midnight(now_ms),
            });
        }
        *used += 1;
        Ok(())
    }

    /// Requests left today, for connections with a daily quota.
    pub fn daily_remaining(&self, connection: &str, rpd: Option<i64>, now_ms: i64) -> Option<i64> {
        let limit = rpd?;
        let mut daily = self.daily();
        daily.roll(now_ms);
        let used = daily.used.get(connection).copied().unwrap_or(0);
        Some((limit - used).max(0))
    }

    /// Seeds today's counts (from the request log) so a restart does not reset quotas.
    pub fn seed_daily(&self, counts: impl IntoIterator<Item = (String, i64)>, now_ms: i64) {
        let mut daily = self.daily();
        daily.roll(now_ms);
        for (connection, n) in counts {
            let used = daily.used.entry(connection).or_default();
            *used = (*used).max(n);
        }
    }

    fn daily(&self) -> std::sync::MutexGuard<'_, DailyCounts> {
        self.daily
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one successful call of `model` on `connection`: its total time and, for
    /// streams, the time to the first token.
    pub fn record_model_latency(
        &self,
        connection: &str,
        model: &str,
        total: Duration,
        ttft: Option<Duration>,
    ) {
        let total = total.as_secs_f64() * 1000.0;
        let ttft = ttft.map(|t| t.as_secs_f64() * 1000.0);
        let mut map = self
            .model_latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let update = |l: &mut ModelLatency| {
            l.total_ms = EWMA_ALPHA * total + (1.0 - EWMA_ALPHA) * l.total_ms;
            l.ttft_ms = match (l.ttft_ms, ttft) {
                (Some(old), Some(new)) => Some(EWMA_ALPHA * new + (1.0 - EWMA_ALPHA) * old),
                (old, new) => new.or(old),
            };
            l.samples += 1;
        };
        if let Some(l) = map.get_mut(connection).and_then(|m| m.get_mut(model)) {
            update(l);
            return;
        }
        let models = map.entry(connection.to_owned()).or_default();
        // A connection that passes any model name through could be sent endless distinct
        // ones: beyond the cap, one old entry makes room.
        if models.len() >= MAX_MODELS_PER_CONNECTION {
            if let Some(old) = models.keys().next().cloned() {
                models.remove(&old);
            }
        }
        models.insert(
            model.to_owned(),
            ModelLatency {
                total_ms: total,
                ttft_ms: ttft,
                samples: 1,
            },
        );
    }

    /// Forgets every connection not in `live` (deleted or disabled ones), so the maps hold
    /// catalogue entries only. Called when a new routing snapshot is stored.
    pub fn retain_connections(&self, live: &std::collections::HashSet<&str>) {
        let keep = |k: &String| live.contains(k.as_str());
        self.windows().retain(|k, _| keep(k));
        self.latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|k, _| keep(k));
        self.model_latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|k, _| keep(k));
        self.daily().used.retain(|k, _| keep(k));
    }

    /// Replaces the replicas' merged figures.
    pub fn set_fleet(&self, fleet: Fleet) {
        *self
            .fleet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fleet;
    }

    /// This process's own figures: per connection, and per connection and model.
    pub fn own_latency(&self) -> Fleet {
        Fleet {
            connections: self
                .latency
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            models: self
                .model_latency
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }

    fn fleet(&self) -> std::sync::MutexGuard<'_, Fleet> {
        self.fleet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The replicas' merged figure where there is one, else this process's.
    pub fn model_latency(&self, connection: &str, model: &str) -> Option<ModelLatency> {
        if self.shared.is_some() {
            let fleet = self.fleet();
            if let Some(l) = fleet.models.get(connection).and_then(|m| m.get(model)) {
                return Some(*l);
            }
        }
        self.model_latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(connection)
            .and_then(|m| m.get(model))
            .copied()
    }

    /// Observed latency in ms (every replica's, merged, when shared); unknown connections
    /// sort as if fast, so they get tried.
    pub fn latency_ms(&self, connection: &str) -> Option<f64> {
        if self.shared.is_some() {
            if let Some(ms) = self.fleet().connections.get(connection) {
                return Some(*ms);
            }
        }
        self.latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(connection)
            .copied()
    }
}

fn until_midnight(now_ms: i64) -> Duration {
    let next = (now_ms.div_euclid(DAY_MS) + 1) * DAY_MS;
    Duration::from_millis(u64::try_from(next - now_ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_quota_is_spent_then_rolls_at_midnight_utc() {
        let l = Limiter::default();
        let noon = 20_000 * DAY_MS + DAY_MS / 2;
        assert!(l.take_daily("c", Some(2), noon).is_ok());
        assert!(l.take_daily("c", Some(2), noon + 1).is_ok());
        let over = l.take_daily("c", Some(2), noon + 2).unwrap_err();
        assert_eq!((over.kind, over.limit), ("rpd", 2));
        assert_eq!(
            over.retry_after,
            Duration::from_millis(u64::try_from(DAY_MS / 2 - 2).unwrap())
        );
        assert_eq!(l.daily_remaining("c", Some(2), noon + 3), Some(0));
        assert!(l.take_daily("c", None, noon).is_ok(), "no quota, no limit");
        let tomorrow = noon + DAY_MS;
        assert_eq!(l.daily_remaining("c", Some(2), tomorrow), Some(2));
        assert!(l.take_daily("c", Some(2), tomorrow).is_ok());
        l.seed_daily([("d".to_owned(), 5)], tomorrow);
        assert_eq!(l.daily_remaining("d", Some(6), tomorrow), Some(1));
    }

    #[test]
    fn model_latency_keeps_total_and_first_token_apart() {
        let l = Limiter::default();
        let ms = Duration::from_millis;
        l.record_model_latency("c", "m", ms(100), None);
        l.record_model_latency("c", "m", ms(200), Some(ms(50)));
        let got = l.model_latency("c", "m").unwrap();
        assert!((got.total_ms - 120.0).abs() < 0.01, "{got:?}");
        assert_eq!((got.ttft_ms, got.samples), (Some(50.0), 2));
        assert!(l.model_latency("c", "other").is_none());
    }

    #[test]
    fn latency_maps_hold_catalogue_entries_only() {
        let l = Limiter::default();
        let ms = Duration::from_millis;
        for i in 0..(MAX_MODELS_PER_CONNECTION + 10) {
            l.record_model_latency("c", &format!("model-{i}"), ms(10), None);
        }
        let held = |c: &str| {
            l.model_latency
                .lock()
                .unwrap()
                .get(c)
                .map_or(0, HashMap::len)
        };
        assert_eq!(
            held("c"),
            MAX_MODELS_PER_CONNECTION,
            "capped per connection"
        );
        l.record_model_latency("gone", "m", ms(10), None);
        l.record_latency("gone", ms(10));
        l.retain_connections(&["c"].into_iter().collect());
        assert!(l.model_latency("gone", "m").is_none());
        assert!(l.latency_ms("gone").is_none());
        assert_eq!(held("c"), MAX_MODELS_PER_CONNECTION);
    }

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
    fn settling_keeps_the_running_token_total_exact() {
        let l = Limiter::default();
        let reservations: Vec<Reservation> = (0..1000)
            .map(|_| l.try_acquire("c", None, Some(10_000_000), 100).unwrap())
            .collect();
        for r in reservations.iter().step_by(2) {
            l.settle("c", *r, 1);
        }
        let h = l.headroom("c", None, Some(10_000_000));
        assert_eq!(h.tpm_remaining, Some(10_000_000 - (500 * 100 + 500)));
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
