//! `/metrics` in the Prometheus text format (the `prometheus` crate: registry, encoder).
//! Per-request figures are taken from request-log rows as the log writer receives them,
//! off the request path; gauges (requests in flight, the log queue, the database pool,
//! Redis) are read when scraped. Labels are bounded: endpoints, statuses, provider keys,
//! resolutions and connection ids — never model strings callers send.
//!
//! Served on `--metrics-addr` (a listener of its own) or on the main listener behind
//! `--metrics-token` (bearer); with neither, not at all.

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use prometheus::{
    CounterVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::logs::LogRow;
use crate::state::AppState;

/// Seconds: from 5 ms (a cached or refused answer) to 5 minutes (a long generation).
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Error codes that mean a limit or budget refused the request.
const REJECTIONS: &[&str] = &[
    "RATE_LIMIT_EXCEEDED",
    "KEY_RATE_LIMIT_EXCEEDED",
    "BUDGET_EXCEEDED",
    "MODEL_UNPRICED",
    "OVERLOADED",
    "SHARED_STATE_UNAVAILABLE",
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    ttft: HistogramVec,
    attempts: IntCounterVec,
    fallbacks: IntCounterVec,
    rejections: IntCounterVec,
    tokens: IntCounterVec,
    cost: CounterVec,
    in_flight: IntGauge,
    log_queue: IntGauge,
    log_dropped: IntGauge,
    db_pool: IntGaugeVec,
    redis_up: IntGauge,
}

/// The attempt fields metrics read from a row's `attempts` JSON.
#[derive(serde::Deserialize)]
struct Attempt {
    connection_id: String,
    outcome: String,
}

impl Metrics {
    /// Every metric, registered once at start (an error is a name clash: a bug).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        macro_rules! register {
            ($metric:expr) => {{
                let m = $metric?;
                registry.register(Box::new(m.clone()))?;
                m
            }};
        }
        let build = register!(IntGaugeVec::new(
            Opts::new("langmart_build_info", "The running build (always 1)."),
            &["version"]
        ));
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let latency = |name: &str, help: &str| {
            HistogramVec::new(
                HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
                &["endpoint"],
            )
        };
        Ok(Self {
            requests: register!(IntCounterVec::new(
                Opts::new("langmart_requests_total", "/v1 requests answered, by endpoint, status, provider and how the model was resolved."),
                &["endpoint", "status", "provider", "resolution"]
            )),
            duration: register!(latency(
                "langmart_request_duration_seconds",
                "Time from a /v1 request to the end of its answer."
            )),
            ttft: register!(latency(
                "langmart_time_to_first_token_seconds",
                "Time from a streamed /v1 request to its first token."
            )),
            attempts: register!(IntCounterVec::new(
                Opts::new("langmart_upstream_attempts_total", "Calls to providers, by connection and outcome (ok, a failure, or why the connection was skipped)."),
                &["connection", "outcome"]
            )),
            fallbacks: register!(IntCounterVec::new(
                Opts::new("langmart_fallbacks_total", "Requests answered by a connection other than the first one tried."),
                &["endpoint"]
            )),
            rejections: register!(IntCounterVec::new(
                Opts::new("langmart_rejections_total", "Requests refused by a rate limit, a budget or the admission cap, by error code."),
                &["code"]
            )),
            tokens: register!(IntCounterVec::new(
                Opts::new("langmart_tokens_total", "Tokens used, by provider and kind (prompt, completion)."),
                &["provider", "kind"]
            )),
            cost: register!(CounterVec::new(
                Opts::new("langmart_cost_usd_total", "What the calls cost at the models' prices, in USD, by provider."),
                &["provider"]
            )),
            in_flight: register!(IntGauge::new(
                "langmart_in_flight_requests",
                "/v1 requests in progress (a stream counts until it ends)."
            )),
            log_queue: register!(IntGauge::new(
                "langmart_log_queue_depth",
                "Request-log rows waiting for the writer."
            )),
            log_dropped: register!(IntGauge::new(
                "langmart_log_rows_dropped",
                "Request-log rows dropped since start because the queue was full."
            )),
            db_pool: register!(IntGaugeVec::new(
                Opts::new("langmart_db_pool_connections", "Database pool connections, by state (idle, in_use)."),
                &["state"]
            )),
            redis_up: register!(IntGauge::new(
                "langmart_redis_up",
                "1 while the shared Redis answers, 0 while it does not; absent without --redis-url."
            )),
            registry,
        })
    }

    /// Counts one answered request from its log row (called by the log writer).
    pub fn observe(&self, row: &LogRow) {
        let status = row.status_code.to_string();
        let provider = row.provider.as_deref().unwrap_or("");
        self.requests
            .with_label_values(&[row.endpoint.as_str(), &status, provider, &row.resolution])
            .inc();
        let seconds = |ms: i64| ms.max(0) as f64 / 1000.0;
        self.duration
            .with_label_values(&[row.endpoint.as_str()])
            .observe(seconds(row.latency_ms));
        if let Some(ttft) = row.ttft_ms {
            self.ttft
                .with_label_values(&[row.endpoint.as_str()])
                .observe(seconds(ttft));
        }
        if let Some(code) = row.error_code.as_deref().filter(|c| REJECTIONS.contains(c)) {
            self.rejections.with_label_values(&[code]).inc();
        }
        let attempts: Vec<Attempt> = serde_json::from_str(&row.attempts).unwrap_or_default();
        for a in &attempts {
            self.attempts
                .with_label_values(&[a.connection_id.as_str(), a.outcome.as_str()])
                .inc();
        }
        if row.status_code < 400 && attempts.len() > 1 {
            self.fallbacks
                .with_label_values(&[row.endpoint.as_str()])
                .inc();
        }
        if let Some(provider) = row.provider.as_deref() {
            let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
            self.tokens
                .with_label_values(&[provider, "prompt"])
                .inc_by(count(row.prompt_tokens));
            self.tokens
                .with_label_values(&[provider, "completion"])
                .inc_by(count(row.completion_tokens));
            if let Some(cost) = row.cost_usd.filter(|c| *c > 0.0) {
                self.cost.with_label_values(&[provider]).inc_by(cost);
            }
        }
    }

    /// The text a scrape gets, with the gauges read now.
    pub fn render(&self, state: &AppState) -> String {
        self.in_flight
            .set(i64::try_from(state.admission.in_flight()).unwrap_or(i64::MAX));
        let log = state.request_log.health();
        self.log_queue
            .set(i64::try_from(log.queued).unwrap_or(i64::MAX));
        self.log_dropped
            .set(i64::try_from(log.dropped).unwrap_or(i64::MAX));
        let size = i64::from(state.db.pool.size());
        let idle = i64::try_from(state.db.pool.num_idle()).unwrap_or(0);
        self.db_pool.with_label_values(&["idle"]).set(idle);
        self.db_pool
            .with_label_values(&["in_use"])
            .set((size - idle).max(0));
        if let Some(shared) = &state.shared {
            self.redis_up.set(i64::from(shared.is_up()));
        }
        let mut families = self.registry.gather();
        if state.shared.is_none() {
            families.retain(|f| f.name() != "langmart_redis_up");
        }
        TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_default()
    }
}

/// `GET /metrics` on the main listener: only with `--metrics-token`, and only for it.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format (0.0.4)", content_type = "text/plain", body = String),
        (status = 404, description = "No `--metrics-token` is set: metrics are on `--metrics-addr` or off"),
    ),
)]
pub async fn scrape_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.settings.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    scrape(State(state)).await
}

/// `GET /metrics` on `--metrics-addr`, which only operators reach.
pub async fn scrape(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state),
    )
        .into_response()
}

/// Compares digests, so the time taken says nothing about how much of the token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a) == Sha256::digest(b)
}
