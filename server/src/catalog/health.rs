//! Connection tests and their consequences. A test is a real call to the provider (model
//! listing, or the cheapest request where listing is unsupported). Status rules: success
//! → `active` and models re-enabled; 401/403 → `error`; 429 → `rate_limited` until
//! `Retry-After` passes; anything else (unreachable, timeout, 5xx) → `error`. `inactive`
//! belongs to people: a test records its result but never enables or disables.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::dto::{ConnectionDto, ModelDto, NewConnectionDto, TestResultDto};
use rand::Rng;

use super::connections::Connections;
use super::credentials::Credentials;
use super::providers::Provider;
use super::Actor;
use crate::clock::{now_ms, rfc3339};
use crate::db::{
    self, connections::HealthUpdate, connections::SqlConnection, connections::SqlTest, Flag,
    StoreError,
};
use crate::error::{ApiError, UpstreamError};
use crate::ids::new_id;
use crate::providers::{self, ApiFamily, DiscoveredModel, ProviderError, Upstream};

/// Cool-down after a 429 without `Retry-After`.
const DEFAULT_COOLDOWN_SECS: u64 = 60;
/// Scheduled tests running at once, across all connections.
const MAX_CONCURRENT_CHECKS: usize = 4;

/// One lock per connection, so a connection is never tested twice at once.
#[derive(Clone, Default)]
pub struct TestLocks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl TestLocks {
    fn get(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(id.to_owned()).or_default().clone()
    }
}

/// Manual tests, draft tests and discoveries reach the provider (and a stored connection's
/// test writes the audit log), so a user may repeat one only after an interval (default
/// 5 s, `--manual-test-interval-secs`) — unless what is tested changed (another key,
/// endpoint or setting: fixing a typo and testing again is not spam) — and starts at most
/// [`TESTS_PER_MINUTE`] of them a minute in all. Per replica.
#[derive(Clone)]
pub struct TestPace {
    interval: Duration,
    started: moka::sync::Cache<(String, u64), Instant>,
    per_user: moka::sync::Cache<String, Arc<Mutex<(Instant, u32)>>>,
}

/// Manual tests a user may start in a minute, whatever they test.
const TESTS_PER_MINUTE: u32 = 30;

impl TestPace {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            started: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(interval.max(Duration::from_millis(1)))
                .build(),
            per_user: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(60))
                .build(),
        }
    }

    /// Lets the test of `target` (what is tested, e.g. a connection's id, endpoint, key
    /// and settings) start, or says how long to wait.
    fn start(
        &self,
        actor: &Actor,
        target: &impl std::hash::Hash,
    ) -> Result<(), super::CatalogError> {
        if self.interval.is_zero() {
            return Ok(());
        }
        let too_soon = |left: Duration| super::CatalogError::TestTooSoon {
            retry_after_secs: left.as_secs().max(1),
        };
        let fingerprint = {
            use std::hash::Hasher;
            let mut h = std::hash::DefaultHasher::new();
            target.hash(&mut h);
            h.finish()
        };
        let entry = self
            .started
            .entry((actor.user_id.clone(), fingerprint))
            .or_insert_with(Instant::now);
        if !entry.is_fresh() {
            return Err(too_soon(
                self.interval.saturating_sub(entry.into_value().elapsed()),
            ));
        }
        let window = self.per_user.get_with(actor.user_id.clone(), || {
            Arc::new(Mutex::new((Instant::now(), 0)))
        });
        let mut window = window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if window.0.elapsed() >= Duration::from_secs(60) {
            *window = (Instant::now(), 0);
        }
        if window.1 >= TESTS_PER_MINUTE {
            return Err(too_soon(
                Duration::from_secs(60).saturating_sub(window.0.elapsed()),
            ));
        }
        window.1 += 1;
        Ok(())
    }
}

/// What a stored connection's test depends on: a change to any of it is a new test.
fn tested(row: &SqlConnection) -> (&str, &str, &str, &str) {
    (&row.id, &row.endpoint_url, &row.sealed_nonce, &row.config)
}

struct Target {
    provider: Provider,
    credentials: Credentials,
    config: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Manual,
    Scheduled,
    /// A gateway's agent arrived, or its last one left.
    Gateway,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "scheduled",
            Trigger::Gateway => "gateway",
        }
    }
}

pub fn test_dto(t: SqlTest) -> TestResultDto {
    TestResultDto {
        success: t.success.0,
        status: t.status,
        latency_ms: t.latency_ms,
        model_count: t.model_count,
        error: t.error,
        http_status: t.http_status,
        trigger: t.trigger_kind,
        tested_at: rfc3339(t.created_at),
    }
}

/// The status a connection moves to after a test.
fn next_status(
    current: &str,
    outcome: &Result<Option<usize>, ProviderError>,
    now: i64,
) -> (String, Option<String>, Option<i64>) {
    let (status, error, cooldown) = match outcome {
        Ok(_) => ("active", None, None),
        Err(ProviderError::Http {
            status: 429,
            message,
            retry_after_secs,
        }) => {
            let secs = retry_after_secs.unwrap_or(DEFAULT_COOLDOWN_SECS);
            let until = now + i64::try_from(secs).unwrap_or(i64::MAX / 2_000) * 1000;
            ("rate_limited", Some(format!("429: {message}")), Some(until))
        }
        Err(e) => ("error", Some(e.to_string()), None),
    };
    let status = if current == "inactive" {
        "inactive"
    } else {
        status
    };
    (status.to_owned(), error, cooldown)
}

/// A connection as a notification names it.
fn subject(row: &SqlConnection) -> crate::notify::Subject<'_> {
    crate::notify::Subject {
        id: &row.id,
        name: &row.name,
        scope: &row.scope,
        owner_user_id: row.owner_user_id.as_deref(),
        owner_org_id: row.owner_org_id.as_deref(),
    }
}

impl Connections {
    fn upstream<'a>(
        &self,
        family: ApiFamily,
        endpoint: &str,
        credentials: &'a Credentials,
        config: &'a std::collections::BTreeMap<String, String>,
        timeouts: providers::Timeouts,
        allow_private: bool,
    ) -> Upstream<'a> {
        Upstream {
            allow_private: self.outbound.private_allowed(allow_private),
            family,
            base_url: endpoint.trim_end_matches('/').to_owned(),
            credentials: credentials.fields(),
            config,
            timeouts,
            limits: self.outbound.answer_limits(),
            relay: None,
        }
    }

    /// How to call a stored connection: its endpoint (or its gateway's relay, for a
    /// self-hosted one), credentials, settings and timeouts.
    fn stored_upstream<'a>(
        &self,
        row: &SqlConnection,
        provider: &Provider,
        credentials: &'a Credentials,
        config: &'a std::collections::BTreeMap<String, String>,
    ) -> Upstream<'a> {
        self.upstream(
            provider.family,
            &row.endpoint_url,
            credentials,
            config,
            providers::Timeouts::from_ms(
                row.timeout_ms,
                row.connect_timeout_ms,
                row.idle_timeout_ms,
                row.max_duration_ms,
            ),
            row.allow_private.0 || provider.allow_private,
        )
        .via(
            self.outbound
                .relay(row.gateway_id.as_deref(), row.gateway_upstream.as_deref()),
        )
    }

    /// What calling a stored connection needs: its provider, opened credentials, settings.
    async fn target(&self, row: &SqlConnection) -> Result<Target, ApiError> {
        Ok(Target {
            provider: self.provider_of(row).await?,
            credentials: Credentials::open(&self.vault, row)?,
            config: serde_json::from_str(&row.config).unwrap_or_default(),
        })
    }

    /// The provider call a test makes: listing where supported, else the cheapest request.
    async fn probe(
        &self,
        provider: &Provider,
        upstream: &Upstream<'_>,
        known_models: &[String],
    ) -> Result<Option<Vec<DiscoveredModel>>, ProviderError> {
        if provider.supports_model_listing || provider.family != ApiFamily::OpenaiCompat {
            return providers::list_models(
                &self
                    .outbound
                    .client(upstream.allow_private, upstream.timeouts.connect),
                upstream,
            )
            .await
            .map(Some);
        }
        let model = upstream
            .config
            .get("default_model")
            .cloned()
            .or_else(|| known_models.first().cloned())
            .ok_or_else(|| ProviderError::Config("this provider cannot list models: add a model or set default_model to test with".into()))?;
        providers::ping_chat(
            &self
                .outbound
                .client(upstream.allow_private, upstream.timeouts.connect),
            upstream,
            &model,
        )
        .await
        .map(|()| None)
    }

    /// Tests a stored connection, applies the status rules and records the result.
    pub(super) async fn run_check(
        &self,
        row: &SqlConnection,
        trigger: Trigger,
    ) -> Result<TestResultDto, ApiError> {
        let lock = self.locks.get(&row.id);
        let _guard = lock.lock().await;
        // Re-read: the row may have changed while this test waited for the lock.
        let row = db::connections::find(&self.db.pool, &row.id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| super::CatalogError::ConnectionNotFound(row.id.clone()))?;
        let Target {
            provider,
            credentials,
            config,
        } = self.target(&row).await?;
        let upstream = self.stored_upstream(&row, &provider, &credentials, &config);
        let known: Vec<String> = db::connections::models(&self.db.pool, &row.id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|m| m.model_id)
            .collect();

        let started = Instant::now();
        let probed = self.probe(&provider, &upstream, &known).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        // A passing test that listed models keeps the stored list current.
        if let Ok(Some(found)) = &probed {
            let pairs: Vec<(String, String)> = found
                .iter()
                .map(|m| (m.id.clone(), m.display_name.clone()))
                .collect();
            db::connections::replace_discovered(&self.db.pool, &row.id, &pairs, now)
                .await
                .map_err(StoreError::from)?;
        }
        let outcome = probed.map(|found| found.map(|m| m.len()));
        let (status, last_error, cooldown_until) = next_status(&row.status, &outcome, now);

        db::connections::record_health(
            &self.db.pool,
            &row.id,
            &HealthUpdate {
                status: &status,
                last_error: last_error.as_deref(),
                cooldown_until,
                checked_at: now,
            },
        )
        .await
        .map_err(StoreError::from)?;
        // Automatic recovery: a passing test re-enables the models a failure disabled.
        db::connections::set_models_enabled(&self.db.pool, &row.id, outcome.is_ok())
            .await
            .map_err(StoreError::from)?;
        if status != row.status {
            tracing::info!(connection_id = %row.id, from = %row.status, to = %status, "connection status changed");
            self.notifications.status_changed(
                &subject(&row),
                &row.status,
                &status,
                last_error.as_deref(),
            );
        }

        let test = SqlTest {
            id: new_id("test"),
            connection_id: row.id.clone(),
            success: Flag(outcome.is_ok()),
            status,
            http_status: outcome
                .as_ref()
                .err()
                .and_then(ProviderError::http_status)
                .map(i64::from),
            latency_ms,
            model_count: outcome
                .as_ref()
                .ok()
                .copied()
                .flatten()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            error: last_error,
            trigger_kind: trigger.as_str().into(),
            created_at: now,
        };
        db::connections::insert_test(&self.db.pool, &test)
            .await
            .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(test_dto(test))
    }

    /// Applies what an inference call learned about a connection (401/403 → `error`,
    /// 429 → `rate_limited` with its cool-down, success → `active`), off the request path.
    pub fn report_inference(&self, id: &str, current: &str, failure: Option<&ProviderError>) {
        let now = now_ms();
        let outcome: Result<Option<usize>, ProviderError> = match failure {
            None => Ok(None),
            Some(
                e @ ProviderError::Http {
                    status: 401 | 403 | 429,
                    ..
                },
            ) => Err(e.clone()),
            // Other failures say little about the connection itself; leave its status.
            Some(_) => return,
        };
        let (status, last_error, cooldown_until) = next_status(current, &outcome, now);
        if status == current && failure.is_none() {
            return;
        }
        let this = self.clone();
        let id = id.to_owned();
        let current = current.to_owned();
        tokio::spawn(async move {
            let update = HealthUpdate {
                status: &status,
                last_error: last_error.as_deref(),
                cooldown_until,
                checked_at: now,
            };
            // A change is recorded only from the status the call saw: of many calls that
            // saw it at once, one records it and tells the connection's people.
            let changed = status != current;
            let recorded = if changed {
                db::connections::record_health_from(&this.db.pool, &id, &current, &update).await
            } else {
                db::connections::record_health(&this.db.pool, &id, &update)
                    .await
                    .map(|()| false)
            };
            match recorded {
                Ok(first) => {
                    tracing::info!(connection_id = %id, %status, "connection status set by an inference call");
                    this.changes.bump();
                    if first {
                        if let Ok(Some(row)) = db::connections::find(&this.db.pool, &id).await {
                            this.notifications.status_changed(
                                &subject(&row),
                                &current,
                                &status,
                                last_error.as_deref(),
                            );
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(connection_id = %id, error = %e, "could not record connection status")
                }
            }
        });
    }

    /// `POST /api/connections/{id}/test`.
    pub async fn test(&self, actor: &Actor, id: &str) -> Result<TestResultDto, ApiError> {
        let access = self.load(actor, id, false).await?;
        self.pace.start(actor, &tested(&access.row))?;
        let result = self.run_check(&access.row, Trigger::Manual).await?;
        let detail = match &result.error {
            None => format!("test passed in {} ms", result.latency_ms),
            Some(e) => format!("test failed: {e}"),
        };
        self.audit(Some(actor), "test", id, &detail).await?;
        Ok(result)
    }

    /// Saves a new connection and checks it at once (the console's "Save"), so the list shows
    /// what the check found (an error and its reason, the models it discovered, when it was
    /// checked) instead of an untested "active".
    pub async fn create_checked(
        &self,
        actor: &Actor,
        req: &NewConnectionDto,
    ) -> Result<ConnectionDto, ApiError> {
        let created = self.create(actor, req).await?;
        let access = self.load(actor, &created.id, false).await?;
        let detail = match self.run_check(&access.row, Trigger::Manual).await {
            Ok(result) => match &result.error {
                None => format!("checked on creation in {} ms", result.latency_ms),
                Some(e) => format!("check on creation failed: {e}"),
            },
            Err(e) => format!("could not check on creation: {}", e.public_message()),
        };
        self.audit(Some(actor), "test", &created.id, &detail)
            .await?;
        self.get(actor, &created.id).await
    }

    /// Tests what a create form holds, before anything is saved.
    pub async fn test_draft(
        &self,
        actor: &Actor,
        req: &NewConnectionDto,
    ) -> Result<TestResultDto, ApiError> {
        let p = self.prepare(actor, req).await?;
        self.pace
            .start(actor, &serde_json::to_string(req).unwrap_or_default())?;
        let upstream = self.upstream(
            p.provider.family,
            &p.endpoint_url,
            &p.credentials,
            &p.config,
            providers::Timeouts::from_ms(
                p.limits.timeout_ms,
                p.limits.connect_timeout_ms,
                p.limits.idle_timeout_ms,
                p.limits.max_duration_ms,
            ),
            p.allow_private || p.provider.allow_private,
        );
        let started = Instant::now();
        let outcome = self
            .probe(&p.provider, &upstream, &[])
            .await
            .map(|found| found.map(|m| m.len()));
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        Ok(TestResultDto {
            success: outcome.is_ok(),
            status: if outcome.is_ok() {
                "active".into()
            } else {
                "error".into()
            },
            latency_ms,
            model_count: outcome
                .as_ref()
                .ok()
                .copied()
                .flatten()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            http_status: outcome
                .as_ref()
                .err()
                .and_then(ProviderError::http_status)
                .map(i64::from),
            error: outcome.err().map(|e| e.to_string()),
            trigger: "draft".into(),
            tested_at: rfc3339(now_ms()),
        })
    }

    /// `POST /api/connections/{id}/discover`: stores the provider's model list.
    pub async fn discover(&self, actor: &Actor, id: &str) -> Result<Vec<ModelDto>, ApiError> {
        let access = self.load(actor, id, true).await?;
        self.pace.start(actor, &("discover", tested(&access.row)))?;
        let row = access.row;
        let Target {
            provider,
            credentials,
            config,
        } = self.target(&row).await?;
        let upstream = self.stored_upstream(&row, &provider, &credentials, &config);
        let found: Vec<DiscoveredModel> = providers::list_models(
            &self
                .outbound
                .client(upstream.allow_private, upstream.timeouts.connect),
            &upstream,
        )
        .await
        .map_err(|error| UpstreamError {
            provider_key: provider.key.clone(),
            error,
            detail: String::new(),
        })?;
        let pairs: Vec<(String, String)> =
            found.into_iter().map(|m| (m.id, m.display_name)).collect();
        db::connections::replace_discovered(&self.db.pool, id, &pairs, now_ms())
            .await
            .map_err(StoreError::from)?;
        self.audit(
            Some(actor),
            "discover",
            id,
            &format!("discovered {} models", pairs.len()),
        )
        .await?;
        self.models(actor, id).await
    }
}

/// Tests every connection that is due, in the background, for the life of the process.
/// With replicas sharing Redis, one replica per connection and interval takes the check
/// (a lease); the result reaches the others through the database and the change bus.
pub fn spawn_scheduler(
    connections: Connections,
    interval: Duration,
    shared: Option<Arc<crate::cluster::Shared>>,
) {
    if interval.is_zero() {
        tracing::info!("scheduled health checks are off");
        return;
    }
    tokio::spawn(async move {
        let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CHECKS));
        let tick = (interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        loop {
            // Jitter keeps replicas and connections from checking in lock-step.
            let jitter = rand::thread_rng().gen_range(0.0..0.2);
            tokio::time::sleep(tick.mul_f64(1.0 + jitter)).await;
            let rows = match db::connections::list_all(&connections.db.pool).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "health checks: could not list connections");
                    continue;
                }
            };
            let now = now_ms();
            let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
            for row in rows {
                let due = row
                    .last_health_check_at
                    .is_none_or(|t| now - t >= interval_ms);
                if row.status == "inactive" || !due {
                    continue;
                }
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    return;
                };
                let connections = connections.clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    let lock = connections.locks.get(&row.id);
                    // A test already running for this connection covers this round.
                    if lock.try_lock().is_err() {
                        return;
                    }
                    if let Some(shared) = shared {
                        // Another replica holds this round's check. Without Redis each
                        // replica checks (a check too many beats none).
                        let lease = format!("health:{}", row.id);
                        if matches!(shared.lease(&lease, interval).await, Ok(false)) {
                            return;
                        }
                    }
                    if let Err(e) = connections.run_check(&row, Trigger::Scheduled).await {
                        tracing::warn!(connection_id = %row.id, error = %e, "scheduled health check failed to run");
                    }
                    drop(permit);
                });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry: Option<u64>) -> Result<Option<usize>, ProviderError> {
        Err(ProviderError::Http {
            status,
            message: "x".into(),
            retry_after_secs: retry,
        })
    }

    #[test]
    fn status_rules() {
        assert_eq!(next_status("error", &Ok(Some(3)), 0).0, "active");
        assert_eq!(next_status("active", &http(401, None), 0).0, "error");
        assert_eq!(next_status("active", &http(403, None), 0).0, "error");
        assert_eq!(next_status("active", &http(500, None), 0).0, "error");
        assert_eq!(
            next_status(
                "active",
                &Err(ProviderError::Unreachable("refused".into())),
                0
            )
            .0,
            "error"
        );
        let (s, _, until) = next_status("active", &http(429, Some(7)), 1_000);
        assert_eq!((s.as_str(), until), ("rate_limited", Some(8_000)));
        let (_, _, until) = next_status("active", &http(429, None), 0);
        assert_eq!(until, Some(60_000));
    }

    #[test]
    fn tests_never_touch_inactive() {
        assert_eq!(next_status("inactive", &Ok(None), 0).0, "inactive");
        assert_eq!(next_status("inactive", &http(401, None), 0).0, "inactive");
    }
}
