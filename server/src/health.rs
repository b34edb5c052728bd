//! `GET /health`: the process is up, and what an operator should know — the database
//! answers, the request log keeps up, the disk under the data directory has room, and how
//! many `/v1` requests are in progress. 503 only when the database is unreachable
//! (inference goes on meanwhile: catalogue and keys are cached).

use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use crate::state::AppState;

/// Below this much free space (or 5% of a smaller disk) the disk is reported as nearly
/// full, unless `--min-free-disk-mb` says otherwise.
const LOW_DISK_BYTES: u64 = 1024 * 1024 * 1024;

/// Whether this replica serves: the database, the request log's writer, free disk, Redis.
/// 200 `ok` or `degraded` (serving, with warnings); 503 when it cannot serve.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Serving", body = Object),
        (status = 503, description = "Not serving", body = Object),
    ),
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.db.ping().await;
    if let Err(e) = &database {
        tracing::error!(error = %e, "health check: database unreachable");
    }
    let log = state.request_log.health();
    let disk = disk_space(&state.settings.data_dir, state.settings.min_free_disk_bytes);
    let redis = redis_state(&state);
    let warnings = warnings(log.failing, disk, redis);
    let status = if database.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if database.is_err() { "error" } else if warnings.is_empty() { "ok" } else { "degraded" },
        "database": if database.is_ok() { "ok" } else { "error" },
        "request_log": log,
        "disk": disk,
        "redis": redis,
        "in_flight": state.admission.in_flight(),
        "warnings": warnings,
    });
    (status, Json(body))
}

/// Free and total bytes on the file system holding the data directory.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct DiskSpace {
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub low: bool,
}

/// `off` (no `--redis-url`), `ok`, or `down`.
fn redis_state(state: &AppState) -> &'static str {
    match &state.shared {
        None => "off",
        Some(s) if s.is_up() => "ok",
        Some(_) => "down",
    }
}

/// What an operator must act on; the console shows the same sentences on every page.
fn warnings(log_failing: bool, disk: Option<DiskSpace>, redis: &str) -> Vec<&'static str> {
    let mut warnings = Vec::new();
    if redis == "down" {
        warnings.push("Redis does not answer: limits, budgets and round robin are not shared between replicas until it returns");
    }
    if log_failing {
        warnings.push("request-log rows cannot be written: the database refuses them (kept and retried; the queue is bounded)");
    }
    if disk.is_some_and(|d| d.low) {
        warnings.push("the disk under the data directory is nearly full");
    }
    warnings
}

/// The warnings `/health` reports, for the console's banner.
pub fn current_warnings(state: &AppState) -> Vec<String> {
    let disk = disk_space(&state.settings.data_dir, state.settings.min_free_disk_bytes);
    warnings(state.request_log.health().failing, disk, redis_state(state))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// `min_free`: below this the disk counts as nearly full (`None`: the default rule).
pub fn disk_space(dir: &std::path::Path, min_free: Option<u64>) -> Option<DiskSpace> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    let free_bytes = stat.f_bavail.saturating_mul(stat.f_frsize);
    let total_bytes = stat.f_blocks.saturating_mul(stat.f_frsize);
    let min_free = min_free.unwrap_or_else(|| LOW_DISK_BYTES.min(total_bytes / 20));
    Some(DiskSpace {
        free_bytes,
        total_bytes,
        low: free_bytes < min_free,
    })
}
