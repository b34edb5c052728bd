//! LangMart's back end: configuration, storage, accounts and keys, the HTTP surfaces
//! (console, management API, OpenAI-compatible API) and the server that ties them.

// Leptos view types nest deeply; the default limit is too low for the larger pages.
#![recursion_limit = "256"]

pub mod access;
pub mod admission;
pub mod aliases;
pub mod api;
pub mod auth;
pub mod budget_settings;
pub mod budgets;
pub mod catalog;
pub mod changes;
pub mod clock;
pub mod cluster;
pub mod collections;
pub mod config;
pub mod config_file;
pub mod cost;
pub mod data_dir;
pub mod db;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod gateways;
pub mod health;
pub mod ids;
pub mod ingress;
pub mod limits;
pub mod listen;
pub mod logs;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod orgs;
pub mod outbound;
pub mod providers;
pub mod routing;
pub mod sessions;
pub mod state;
pub mod telemetry;
pub mod vault;
pub mod web;

use std::future::Future;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::{header::CONTENT_LENGTH, HeaderName, HeaderValue},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use config::Settings;
use db::{ConnectError, Db};
use error::{ApiError, ErrorCause, RequestError};
use sessions::SessionBackend;
use state::AppState;
use vault::{Vault, VaultError};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request without an `x-request-id` a fresh UUID.
#[derive(Clone, Copy)]
struct RequestUuids;

impl MakeRequestId for RequestUuids {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::try_from(ids::new_request_uuid())
            .ok()
            .map(RequestId::new)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not create or protect the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] ConnectError),
    #[error(transparent)]
    MasterKey(#[from] VaultError),
    #[error("could not seed the provider catalogue: {0}")]
    Seed(String),
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    #[error("could not count the request log's hourly rollup: {0}")]
    Rollup(String),
    #[error("{0}")]
    Redis(String),
    #[error("{0}")]
    Metrics(String),
}

/// Opens storage and the master key: what every command (serve, user, key) needs.
pub async fn open_state(settings: Settings) -> Result<AppState, StartupError> {
    data_dir::prepare(&settings.data_dir, &settings.database_url()).map_err(|source| {
        StartupError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        }
    })?;
    let db = Db::open(&settings.database_url()).await?;
    let vault = Vault::load(
        settings.master_key.as_deref(),
        settings.master_key_previous.as_deref(),
        &settings.data_dir,
    )?;
    catalog::providers::seed(&db)
        .await
        .map_err(|e| StartupError::Seed(e.to_string()))?;
    logs::hourly::ensure(&db)
        .await
        .map_err(|e| StartupError::Rollup(e.to_string()))?;
    // Each process marks its outbound requests with its own id, to recognise them coming back.
    let instance = format!("lm-{}", ids::random_base62(16));
    let answer_limits = providers::AnswerLimits {
        max_body: settings.max_upstream_body_bytes,
        max_event: settings.max_upstream_event_bytes,
    };
    let outbound =
        outbound::Outbound::new(settings.allow_private_endpoints, &instance, answer_limits)
            .map_err(|e| StartupError::HttpClient(e.to_string()))?;
    let shared = match &settings.redis_url {
        Some(url) => {
            let shared = cluster::Shared::new(url, &settings.redis_prefix, settings.redis_failure)
                .map_err(StartupError::Redis)?;
            shared.keep();
            Some(shared)
        }
        None => None,
    };
    let database_url = settings.database_url();
    let metrics = metrics::Metrics::new().map_err(|e| StartupError::Metrics(e.to_string()))?;
    let state = AppState::new(settings, db, vault, outbound, shared, metrics);
    cluster::bus::start(&state.db, &database_url, &state.changes, &state.keys);
    if let Some(shared) = &state.shared {
        cluster::latency::spawn(shared.clone(), state.limiter.clone());
    }
    // Daily quotas survive a restart: count today's requests from the log.
    let now = clock::now_ms();
    let midnight = now - now.rem_euclid(86_400_000);
    match db::collections::requests_since(&state.db.pool, midnight).await {
        Ok(counts) => state.limiter.seed_daily(counts, now),
        Err(e) => {
            tracing::warn!(error = %e, "could not count today's requests; daily quotas start from zero")
        }
    }
    Ok(state)
}

/// The whole HTTP application for `state`.
pub async fn build_router(state: AppState) -> Result<Router, StartupError> {
    let sessions = SessionBackend::open(&state.settings.database_url(), state.db.backend).await?;
    sessions.spawn_cleanup();
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("langmart_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)));
    let max_body = state.settings.max_body_bytes;
    let observed = state.clone();

    let services = openapi::services()
        .into_router()
        .merge(openapi::router())
        .with_state(state.clone());

    // Only the console has sessions: the key-authenticated API and /v1 never read a cookie.
    let console = web::router(state).layer(session_layer);

    // The layers are composed first and put on the routes once: each `Router::layer` call
    // boxes every route again, and a request clones the whole nest of boxes.
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, RequestUuids))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or_default();
            let request_id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            // The inference path's span is at debug: at the default level it costs nothing
            // per request (a formatted info span was ~7% of its CPU), and its failures are
            // still logged with their request id and route (`observe`).
            if route.starts_with("/v1/") {
                tracing::debug_span!("http", method = %req.method(), route, request_id)
            } else {
                tracing::info_span!("http", method = %req.method(), route, request_id)
            }
        }))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            observe(observed.clone(), req, next)
        }))
        .layer(middleware::from_fn(move |req, next| {
            reject_large_bodies(max_body, req, next)
        }))
        .layer(DefaultBodyLimit::max(max_body))
        // Present only while traces are exported (`--otlp-endpoint`).
        .option_layer(telemetry::exporting().then(|| middleware::from_fn(telemetry::request)));
    Ok(Router::new().merge(services).merge(console).layer(layers))
}

/// Answers 413 from the declared length, before a handler reads anything.
async fn reject_large_bodies(limit: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return ApiError::from(RequestError::TooLarge).into_response();
    }
    next.run(req).await
}

/// Logs the cause of every 5xx once, here, rather than where the error was built, and
/// gives every `/v1` answer that the request path did not log its request-log row
/// ([`ingress::Seen`]). One layer for both: each layer costs every request.
async fn observe(state: AppState, req: Request, next: Next) -> Response {
    // A request this instance sent itself: a connection points back at LangMart. Refused
    // before anything else runs, so the loop ends at the first turn.
    if state.outbound.is_own_hop(req.headers()) {
        tracing::warn!(
            path = req.uri().path(),
            "refused a request from this instance itself (a connection points at LangMart)"
        );
        return ApiError::from(RequestError::Loop).into_response();
    }
    // Cheap clones (reference counts), read only when the request failed.
    let request_id = req.headers().get(&REQUEST_ID).cloned();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let v1 = ingress::Seen::of(&req);
    let ticket = match v1 {
        Some(_) => match state.admission.enter() {
            Some(ticket) => Some(ticket),
            None => {
                let refused = admission::refusal(req.uri().path());
                if let Some(row) = v1.and_then(|seen| seen.answered(&state, &refused)) {
                    row.await;
                }
                return refused;
            }
        },
        None => None,
    };
    let mut response = next.run(req).await;
    if let Some(ticket) = ticket {
        response = admission::hold(ticket, response);
    }
    if let Some(row) = v1.and_then(|seen| seen.answered(&state, &response)) {
        row.await;
    }
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::error!(
            status = response.status().as_u16(),
            route = route.as_ref().map(MatchedPath::as_str).unwrap_or_default(),
            request_id = request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default(),
            %cause,
            "request failed"
        );
    }
    response
}

/// On a fresh install (no account yet), prints a one-time setup token: whoever holds it
/// (someone who can read this log) makes the first, admin, account in the console.
async fn announce_setup(state: &AppState, listener: &TcpListener) {
    match state.signup.issue_setup_token().await {
        Ok(Some(token)) => {
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            tracing::warn!(
                "No account exists yet. Open http://{addr}/signup and enter the setup token {token} \
                 to create the first (administrator) account, or run `langmart user create --admin`."
            );
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not issue a setup token"),
    }
}

/// How long shutdown waits for the request log's last rows.
const LAST_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves LangMart on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    catalog::health::spawn_scheduler(
        state.connections.clone(),
        state.settings.health_check_interval,
        state.shared.clone(),
    );
    ingress::openai_responses::spawn_pruner(state.db.clone());
    logs::retention::spawn(state.db.clone(), state.settings.log_retention);
    state.notifications.spawn_pruner();
    state.body_capture.spawn_pruner();
    state.gateways.spawn_pruner();
    if let Some(addr) = state.settings.metrics_addr {
        let metrics_listener = TcpListener::bind(addr)
            .await
            .map_err(|e| StartupError::Metrics(format!("--metrics-addr {addr}: {e}")))?;
        let app = Router::new()
            .route("/metrics", get(metrics::scrape))
            .with_state(state.clone());
        tracing::info!(%addr, "metrics on their own listener");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics_listener, app).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    announce_setup(&state, &listener).await;
    let request_log = state.request_log.clone();
    let limits = state.settings.limits.clone();
    let ending = state.ending.clone();
    let relays = state.outbound.relays().clone();
    let router = build_router(state).await?;
    listen::serve(router, listener, &limits, ending, shutdown).await;
    // Gateway agents are told to go elsewhere (another replica, or this one restarted).
    relays.close_all("the server is shutting down");
    // Rows of requests that finished during shutdown are written before the process ends
    // (unless the database is gone: then the process does not wait for it for ever).
    if tokio::time::timeout(LAST_FLUSH, request_log.flush())
        .await
        .is_err()
    {
        tracing::error!("the request log could not be written before exit");
    }
    Ok(())
}
