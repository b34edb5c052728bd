//! The state replicas share through Redis (`--redis-url`): rate windows, daily quotas,
//! budget ledgers, round-robin positions and health-check leases. Every operation is one
//! atomic script or command under a short timeout. When Redis does not answer the store
//! marks itself down and stops asking (no request waits on a dead Redis); a keeper task
//! reconnects and marks it up again. What happens meanwhile is the failure policy's call:
//! `open` (default) falls back to each replica's own state, `closed` refuses.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::scripts;
use crate::limits::OverBudget;

/// How long one Redis operation may take before Redis counts as down.
const OP_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the keeper retries a Redis that is down.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How often a Redis that answers is asked whether it still does.
const PING_EVERY: Duration = Duration::from_secs(1);
/// A down Redis is warned about at most this often.
const WARN_EVERY_MS: i64 = 60_000;
/// The rate window, as the in-process limiter has it.
const WINDOW_MS: i64 = 60_000;

/// What replicas do while Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Serve on with each replica's own limits, budgets and positions.
    #[default]
    Open,
    /// Refuse what needs shared state (503 `SHARED_STATE_UNAVAILABLE`).
    Closed,
}

impl FailurePolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// Redis did not answer (or is marked down): the caller applies the failure policy.
#[derive(Debug, Clone, Copy)]
pub struct Unavailable;

/// One budget ledger as the reservation script takes it.
pub struct LedgerArgs {
    pub key: String,
    pub limit: f64,
    /// What the log says was spent, for a ledger Redis does not have yet.
    pub seed: f64,
    /// How long the ledger lives (its period's end, plus a day); `None`: for good.
    pub ttl: Option<Duration>,
}

struct Scripts {
    window_acquire: redis::Script,
    window_settle: redis::Script,
    daily_take: redis::Script,
    budget_reserve: redis::Script,
    budget_settle: redis::Script,
}

pub struct Shared {
    url: String,
    prefix: String,
    pub policy: FailurePolicy,
    /// This process, for leases (random per start).
    replica: String,
    conn: RwLock<Option<ConnectionManager>>,
    down: AtomicBool,
    /// When Redis was last warned about (epoch ms).
    warned_at: AtomicI64,
    /// Bumped each time Redis comes back, so ledgers re-read what the log says.
    epoch: AtomicI64,
    scripts: Scripts,
}

impl Shared {
    /// A store for `url`; it connects in the background (see [`Shared::keep`]), so a Redis
    /// that is down at start delays nothing.
    pub fn new(url: &str, prefix: &str, policy: FailurePolicy) -> Result<Arc<Self>, String> {
        // Parsed now, so a malformed URL stops the start with a clear message.
        redis::Client::open(url).map_err(|e| format!("--redis-url: {e}"))?;
        Ok(Arc::new(Self {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            policy,
            replica: crate::ids::random_base62(12),
            conn: RwLock::new(None),
            down: AtomicBool::new(true),
            warned_at: AtomicI64::new(0),
            epoch: AtomicI64::new(0),
            scripts: Scripts {
                window_acquire: redis::Script::new(scripts::WINDOW_ACQUIRE),
                window_settle: redis::Script::new(scripts::WINDOW_SETTLE),
                daily_take: redis::Script::new(scripts::DAILY_TAKE),
                budget_reserve: redis::Script::new(scripts::BUDGET_RESERVE),
                budget_settle: redis::Script::new(scripts::BUDGET_SETTLE),
            },
        }))
    }

    /// Connects, then keeps watch: while Redis is down, retries every 250 ms and warns at
    /// most once a minute; marks it up as soon as it answers.
    pub fn keep(self: &Arc<Self>) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut since_ping = Duration::ZERO;
            loop {
                if this.down.load(Ordering::Acquire) {
                    if this.probe().await {
                        this.epoch.fetch_add(1, Ordering::AcqRel);
                        this.down.store(false, Ordering::Release);
                        tracing::info!("Redis answers: limits, budgets and positions are shared between replicas");
                    } else {
                        this.warn_down();
                    }
                } else if since_ping >= PING_EVERY {
                    // An idle replica notices a Redis gone too (and `/health` says so).
                    since_ping = Duration::ZERO;
                    if !this.probe().await {
                        this.mark_down();
                    }
                }
                tokio::time::sleep(PROBE_EVERY).await;
                since_ping += PROBE_EVERY;
            }
        });
    }

    async fn probe(&self) -> bool {
        let conn = self.connection();
        let mut conn = match conn {
            Some(c) => c,
            None => {
                let Ok(client) = redis::Client::open(self.url.as_str()) else {
                    return false;
                };
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(OP_TIMEOUT)
                    .set_response_timeout(OP_TIMEOUT)
                    .set_number_of_retries(1);
                match tokio::time::timeout(
                    OP_TIMEOUT * 2,
                    ConnectionManager::new_with_config(client, config),
                )
                .await
                {
                    Ok(Ok(c)) => {
                        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = Some(c.clone());
                        c
                    }
                    _ => return false,
                }
            }
        };
        let ping = redis::cmd("PING");
        matches!(
            tokio::time::timeout(OP_TIMEOUT, ping.query_async::<String>(&mut conn)).await,
            Ok(Ok(_))
        )
    }

    fn warn_down(&self) {
        let now = crate::clock::now_ms();
        let last = self.warned_at.load(Ordering::Acquire);
        if now - last >= WARN_EVERY_MS
            && self
                .warned_at
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let what = match self.policy {
                FailurePolicy::Open => {
                    "each replica uses its own limits and budgets until it returns"
                }
                FailurePolicy::Closed => {
                    "requests that need shared limits are refused until it returns"
                }
            };
            tracing::warn!(
                policy = self.policy.as_str(),
                "Redis does not answer: {what}"
            );
        }
    }

    fn connection(&self) -> Option<ConnectionManager> {
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether Redis answers (as far as the last operation or probe knows).
    pub fn is_up(&self) -> bool {
        !self.down.load(Ordering::Acquire)
    }

    /// Changes each time Redis comes back after being down.
    pub fn epoch(&self) -> i64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn mark_down(&self) {
        if !self.down.swap(true, Ordering::AcqRel) {
            self.warned_at.store(0, Ordering::Release);
            self.warn_down();
        }
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                key.push(':');
            }
            key.push_str(p);
        }
        key
    }

    /// Runs one operation under the timeout; a failure marks Redis down.
    async fn run<T, F>(&self, op: impl FnOnce(ConnectionManager) -> F) -> Result<T, Unavailable>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            return Err(Unavailable);
        }
        let Some(conn) = self.connection() else {
            return Err(Unavailable);
        };
        match tokio::time::timeout(OP_TIMEOUT, op(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "Redis operation failed");
                self.mark_down();
                Err(Unavailable)
            }
            Err(_) => {
                self.mark_down();
                Err(Unavailable)
            }
        }
    }

    /// Reserves one request and `tokens` in the shared window `scope:id` (a connection's
    /// or a key's), or says which limit is spent.
    pub async fn acquire(
        &self,
        scope: &str,
        id: &str,
        rpm: Option<i64>,
        tpm: Option<i64>,
        tokens: u64,
    ) -> Result<Result<u64, OverBudget>, Unavailable> {
        let zset = self.key(&["win", scope, id]);
        let hash = self.key(&["wintok", scope, id]);
        let reply: Vec<i64> = self
            .run(|mut c| async move {
                self.scripts
                    .window_acquire
                    .key(zset)
                    .key(hash)
                    .arg(rpm.unwrap_or(-1))
                    .arg(tpm.unwrap_or(-1))
                    .arg(tokens)
                    .arg(WINDOW_MS)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match reply.as_slice() {
            [1, id] => Ok(u64::try_from(*id).unwrap_or(0)),
            [0, kind, limit, remaining, retry_ms] => Err(OverBudget {
                kind: if *kind == 1 { "rpm" } else { "tpm" },
                limit: *limit,
                remaining: *remaining,
                retry_after: Duration::from_millis(u64::try_from(*retry_ms).unwrap_or(0)),
            }),
            _ => return Err(Unavailable),
        })
    }

    /// Settles a shared window reservation with the real tokens, off the caller's path.
    pub fn settle(self: &Arc<Self>, scope: &str, id: &str, reservation: u64, tokens: u64) {
        let hash = self.key(&["wintok", scope, id]);
        self.settle_later(
            |s| &s.window_settle,
            hash,
            [reservation.to_string(), tokens.to_string()],
        );
    }

    /// Runs a settling script on `key` with `args` in a task of its own: nobody waits for
    /// a settlement, and one lost while Redis is down only leaves an estimate standing.
    fn settle_later(
        self: &Arc<Self>,
        script: fn(&Scripts) -> &redis::Script,
        key: String,
        args: [String; 2],
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            let this = &this;
            let _ = this
                .run(|mut c| async move {
                    let mut invocation = script(&this.scripts).prepare_invoke();
                    invocation.key(key).arg(&args[0]).arg(&args[1]);
                    invocation.invoke_async::<i64>(&mut c).await
                })
                .await;
        });
    }

    /// Counts one request against `connection`'s quota for UTC day `day` (starting from
    /// `seed`, this replica's count from the log, when Redis has none yet).
    pub async fn take_daily(
        &self,
        connection: &str,
        limit: i64,
        seed: i64,
        day: i64,
    ) -> Result<bool, Unavailable> {
        let key = self.key(&["daily", connection, &day.to_string()]);
        let taken: i64 = self
            .run(|mut c| async move {
                self.scripts
                    .daily_take
                    .key(key)
                    .arg(limit)
                    .arg(seed)
                    .arg(2 * 86_400_000_i64)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(taken == 1)
    }

    /// The next round-robin position of a collection, shared by every replica.
    pub async fn next_cursor(&self, collection: &str) -> Result<u64, Unavailable> {
        let key = self.key(&["rr", collection]);
        let n: i64 = self
            .run(|mut c| async move { redis::cmd("INCR").arg(key).query_async(&mut c).await })
            .await?;
        Ok(u64::try_from(n - 1).unwrap_or(0))
    }

    /// Takes the lease `name` for `ttl` unless another replica holds it.
    pub async fn lease(&self, name: &str, ttl: Duration) -> Result<bool, Unavailable> {
        let key = self.key(&["lease", name]);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let got: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(&self.replica)
                    .arg("NX")
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(got.is_some())
    }

    /// A budget ledger's key: scope, period and the period's start.
    pub fn ledger_key(&self, scope: &[&str], period: &str, start: i64) -> String {
        let mut parts = vec!["budget"];
        parts.extend_from_slice(scope);
        let start = start.to_string();
        parts.push(period);
        parts.push(&start);
        self.key(&parts)
    }

    /// Reserves `usd` against every ledger or none; `Err(i, spent)` names the first
    /// ledger without room.
    pub async fn reserve(
        &self,
        ledgers: &[LedgerArgs],
        usd: f64,
    ) -> Result<Result<(), (usize, f64)>, Unavailable> {
        let reply: Vec<redis::Value> = self
            .run(|mut c| async move {
                let mut invocation = self.scripts.budget_reserve.prepare_invoke();
                invocation.arg(usd);
                for l in ledgers {
                    let ttl = l
                        .ttl
                        .map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
                    invocation.key(&l.key).arg(l.limit).arg(l.seed).arg(ttl);
                }
                invocation.invoke_async(&mut c).await
            })
            .await?;
        let index: i64 = match reply.first() {
            Some(v) => redis::from_redis_value(v).map_err(|_| Unavailable)?,
            None => return Err(Unavailable),
        };
        if index == 0 {
            return Ok(Ok(()));
        }
        let spent: f64 = match reply.get(1) {
            Some(v) => redis::from_redis_value::<String>(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0),
            None => 0.0,
        };
        Ok(Err((usize::try_from(index - 1).unwrap_or(0), spent)))
    }

    /// Settles a budget reservation with what the call cost, off the caller's path.
    pub fn settle_budget(self: &Arc<Self>, key: String, reserved: f64, cost: f64) {
        self.settle_later(
            |s| &s.budget_settle,
            key,
            [reserved.to_string(), cost.to_string()],
        );
    }

    /// Publishes this replica's latency figures (`fields`: name → value) for
    /// `lifetime`, and returns the other live replicas' figures.
    pub async fn exchange_latency(
        &self,
        fields: Vec<(String, String)>,
        lifetime: Duration,
    ) -> Result<Vec<std::collections::HashMap<String, String>>, Unavailable> {
        let ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        let mine = self.key(&["lat", &self.replica]);
        let replicas = self.key(&["lat", "replicas"]);
        let now = crate::clock::now_ms();
        let others: Vec<String> = self
            .run(|mut c| {
                let mine = mine.clone();
                let replicas = replicas.clone();
                async move {
                    let mut pipe = redis::pipe();
                    pipe.atomic().del(&mine).ignore();
                    if !fields.is_empty() {
                        pipe.hset_multiple(&mine, &fields).ignore();
                        pipe.pexpire(&mine, i64::try_from(ms).unwrap_or(i64::MAX))
                            .ignore();
                    }
                    pipe.zadd(&replicas, &self.replica, now).ignore();
                    pipe.zrembyscore(&replicas, "-inf", now - i64::try_from(ms).unwrap_or(0))
                        .ignore();
                    pipe.zrange(&replicas, 0, -1);
                    let (members,): (Vec<String>,) = pipe.query_async(&mut c).await?;
                    Ok(members)
                }
            })
            .await?;
        let mut figures = Vec::new();
        for other in others.iter().filter(|r| **r != self.replica) {
            let key = self.key(&["lat", other]);
            let map: std::collections::HashMap<String, String> = self
                .run(
                    |mut c| async move { redis::cmd("HGETALL").arg(key).query_async(&mut c).await },
                )
                .await?;
            figures.push(map);
        }
        Ok(figures)
    }

    /// What a ledger says was spent, if Redis has it.
    pub async fn spent(&self, key: &str) -> Result<Option<f64>, Unavailable> {
        let spent: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("HGET")
                    .arg(key)
                    .arg("spent")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(spent.and_then(|s| s.parse().ok()))
    }
}
