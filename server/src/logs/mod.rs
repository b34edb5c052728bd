//! The request log: one row per inference call. Handlers hand rows to a bounded channel
//! (never waiting on the database); a background task writes them in batches and flushes
//! what is pending on shutdown. When the database fails, the writer keeps its batch and
//! retries; the channel then fills and further rows are dropped and counted: memory stays
//! bounded, requests are never held up, and `/health` says so.

pub mod bodies;
pub mod dashboard;
pub mod export;
pub mod histogram;
pub mod hourly;
pub mod query;
pub mod retention;
pub mod timeline;
pub mod usage;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use sqlx::{pool::PoolConnection, Acquire, Any, FromRow};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::clock::rfc3339;
use crate::db::{Backend, Db, Flag};

const CHANNEL: usize = 10_000;
/// Most bytes of captured bodies waiting to be written: past it a row goes without its
/// bodies, so the queue's memory stays bounded while the database is away (10,000 rows
/// with 128 KiB each would be 1.3 GB).
const BODY_BUDGET: usize = 64 * 1024 * 1024;
/// The wait before a failed batch is written again.
const RETRY: Duration = Duration::from_secs(1);
/// Most rows written in one transaction.
const BATCH: usize = 2_048;

pub use app::dto::{AttemptDto as Attempt, RequestLogDto as LogDto};
pub use query::{list, LogPage, LogQuery};

/// Marks an answer whose request-log row was already written by the request path.
#[derive(Clone, Copy, Debug)]
pub struct Logged;

#[derive(Debug, Clone, FromRow)]
pub struct LogRow {
    pub id: String,
    pub request_id: String,
    pub created_at: i64,
    pub user_id: String,
    pub key_id: String,
    /// The path under `/v1/` (`chat/completions`, `responses`…), also for answers that
    /// were never routed.
    pub endpoint: String,
    pub user_agent: Option<String>,
    pub requested_model: String,
    pub resolution: String,
    pub collection: Option<String>,
    pub connection_id: Option<String>,
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub status_code: i64,
    pub error_code: Option<String>,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    /// Prompt tokens read from the provider's prompt cache.
    pub cache_read_tokens: Option<i64>,
    /// Prompt tokens written to the provider's prompt cache.
    pub cache_write_tokens: Option<i64>,
    #[sqlx(try_from = "i64")]
    pub stream: Flag,
    /// JSON array of [`Attempt`].
    pub attempts: String,
    /// USD: the usage at the model's price (`None` when unpriced or never routed).
    pub cost_usd: Option<f64>,
    /// Where the usage behind the cost came from: `reported`, `estimated` or `unpriced`.
    pub cost_basis: Option<String>,
    /// The call's bodies, when its owner keeps them (stored in `request_bodies`).
    #[sqlx(skip)]
    pub bodies: Option<Box<bodies::Captured>>,
}

impl From<LogRow> for LogDto {
    fn from(r: LogRow) -> Self {
        LogDto {
            attempts: serde_json::from_str(&r.attempts).unwrap_or_default(),
            id: r.id,
            request_id: r.request_id,
            created_at: rfc3339(r.created_at),
            path: format!("/v1/{}", r.endpoint),
            endpoint: r.endpoint,
            user_agent: r.user_agent,
            model: r.requested_model,
            resolution: r.resolution,
            collection: r.collection,
            connection_id: r.connection_id,
            connection_name: None,
            provider: r.provider,
            upstream_model: r.upstream_model,
            status: r.status_code,
            error_code: r.error_code,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            cache_read_tokens: r.cache_read_tokens,
            cache_write_tokens: r.cache_write_tokens,
            stream: r.stream.0,
            cost_usd: r.cost_usd,
            cost_basis: r.cost_basis,
        }
    }
}

enum Message {
    Row(Box<LogRow>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct RequestLog {
    tx: mpsc::Sender<Message>,
    /// Cuts the writer's linger short for a flush.
    flush_now: Arc<Notify>,
    health: Arc<WriterHealth>,
}

/// What `/health` reports about the writer.
#[derive(Default)]
struct WriterHealth {
    /// Rows dropped because the queue was full (since start).
    dropped: AtomicU64,
    /// The last write failed and the writer is retrying.
    failing: AtomicBool,
    /// Bytes of captured bodies queued or in the batch being written.
    body_bytes: std::sync::atomic::AtomicUsize,
    /// Calls whose bodies were not kept because `BODY_BUDGET` was reached (since start).
    bodies_dropped: AtomicU64,
}

/// The request log's state, for `/health`.
#[derive(Debug, serde::Serialize)]
pub struct LogHealth {
    /// Rows waiting to be written.
    pub queued: usize,
    /// Rows dropped since start because the queue was full.
    pub dropped: u64,
    /// The database refused the last write; rows are kept and retried.
    pub failing: bool,
}

impl RequestLog {
    /// Starts the writer task. `linger` is how long rows gather after the first one
    /// arrives (`--log-flush-ms`): the writer sleeps instead of waiting on the channel, so
    /// rows sent meanwhile wake nothing (waiting on the channel woke a thread for every
    /// request, two futex calls each, per `strace -c`). It is also the most a crash loses.
    /// Each row is also counted in `metrics` as the writer takes it (off the request path).
    pub fn start(db: Db, linger: Duration, metrics: Arc<crate::metrics::Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let flush_now = Arc::new(Notify::new());
        let health = Arc::new(WriterHealth::default());
        tokio::spawn(writer(
            db,
            rx,
            flush_now.clone(),
            linger,
            health.clone(),
            metrics,
        ));
        Self {
            tx,
            flush_now,
            health,
        }
    }

    pub fn health(&self) -> LogHealth {
        LogHealth {
            queued: self.tx.max_capacity() - self.tx.capacity(),
            dropped: self.health.dropped.load(Ordering::Relaxed),
            failing: self.health.failing.load(Ordering::Relaxed),
        }
    }

    /// Queues a row; if the writer is far behind the row is dropped (and counted in the log),
    /// never the request.
    pub fn record(&self, mut row: LogRow) {
        if let Some(size) = row.bodies.as_ref().map(|b| b.size()) {
            let held = self.health.body_bytes.fetch_add(size, Ordering::Relaxed);
            if held + size > BODY_BUDGET {
                self.health.body_bytes.fetch_sub(size, Ordering::Relaxed);
                row.bodies = None;
                let n = self.health.bodies_dropped.fetch_add(1, Ordering::Relaxed);
                // Once, then every thousandth, as for dropped rows.
                if n.is_multiple_of(1_000) {
                    tracing::warn!(
                        calls = n + 1,
                        "request-log queue holds too many captured bodies; calls' bodies are not kept"
                    );
                }
            }
        }
        if let Err(e) = self.tx.try_send(Message::Row(Box::new(row))) {
            if let mpsc::error::TrySendError::Full(Message::Row(r))
            | mpsc::error::TrySendError::Closed(Message::Row(r)) = &e
            {
                self.health
                    .body_bytes
                    .fetch_sub(bodies_size(std::slice::from_ref(r)), Ordering::Relaxed);
            }
            let dropped = self.health.dropped.fetch_add(1, Ordering::Relaxed);
            // Once, then every thousandth: a full queue must not flood the log too.
            if dropped.is_multiple_of(1_000) {
                tracing::warn!(error = %e, dropped = dropped + 1, "request log queue full; log rows are being dropped");
            }
        }
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            self.flush_now.notify_one();
            let _ = wait.await;
        }
    }
}

async fn writer(
    db: Db,
    mut rx: mpsc::Receiver<Message>,
    flush_now: Arc<Notify>,
    linger: Duration,
    health: Arc<WriterHealth>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let mut batch: Vec<LogRow> = Vec::with_capacity(BATCH);
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    // One connection for all log writes, kept between batches: its page cache holds the
    // right edge of the table and its indexes, which a different pooled connection each
    // time would read back from disk.
    let mut conn: Option<PoolConnection<Any>> = None;
    let take = |m: Message, batch: &mut Vec<LogRow>, waiters: &mut Vec<oneshot::Sender<()>>| match m
    {
        Message::Row(r) => {
            metrics.observe(&r);
            batch.push(*r);
        }
        Message::Flush(w) => waiters.push(w),
    };
    let mut open = true;
    while open {
        // Idle: the first message wakes the writer.
        let Some(first) = rx.recv().await else { break };
        take(first, &mut batch, &mut waiters);
        if waiters.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(linger) => {}
                () = flush_now.notified() => {}
            }
        }
        // Everything queued by now, a transaction per `BATCH` rows.
        loop {
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => take(m, &mut batch, &mut waiters),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let full = batch.len() == BATCH;
            let written = write(&db, &mut conn, &batch, &health).await;
            health.failing.store(!written, Ordering::Relaxed);
            if !written {
                // Kept for the next try; meanwhile the bounded queue takes the new rows.
                tokio::time::sleep(RETRY).await;
                continue;
            }
            health
                .body_bytes
                .fetch_sub(bodies_size(&batch), Ordering::Relaxed);
            batch.clear();
            if !full {
                break;
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// Bytes of captured bodies the rows carry.
fn bodies_size<R: std::borrow::Borrow<LogRow>>(rows: &[R]) -> usize {
    rows.iter()
        .filter_map(|r| r.borrow().bodies.as_ref())
        .map(|b| b.size())
        .sum()
}

/// Writes `batch`; `false` when the database could not be reached (worth another try).
/// Rows the database refuses outright are dropped and counted: retrying cannot help them.
async fn write(
    db: &Db,
    conn: &mut Option<PoolConnection<Any>>,
    batch: &[LogRow],
    health: &WriterHealth,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    if conn.is_none() {
        match db.pool.acquire().await {
            Ok(c) => *conn = Some(c),
            Err(e) => {
                tracing::error!(error = %e, rows = batch.len(), "no database connection for request logs; will retry");
                return false;
            }
        }
    }
    let Some(c) = conn.as_mut() else { return false };
    match write_batch(db.backend, c, batch).await {
        Ok(()) => true,
        // A deadlock or a serialization failure is worth another try, like a lost connection.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("40P01" | "40001")) => {
            tracing::warn!(error = %e, rows = batch.len(), "request-log batch met a concurrent writer; will retry");
            false
        }
        Err(e @ sqlx::Error::Database(_)) => {
            tracing::error!(error = %e, rows = batch.len(), "the database refused request-log rows; they are dropped");
            health
                .dropped
                .fetch_add(u64::try_from(batch.len()).unwrap_or(0), Ordering::Relaxed);
            true
        }
        Err(e) => {
            tracing::error!(error = %e, rows = batch.len(), "could not write request logs; will retry");
            // A broken connection is not reused; the next try takes a fresh one.
            *conn = None;
            false
        }
    }
}

const INSERT_ONE: &str = "INSERT INTO request_logs (id, request_id, created_at, user_id, key_id, endpoint, \
     user_agent, requested_model, resolution, collection, connection_id, provider, upstream_model, \
     status_code, error_code, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cache_read_tokens, \
     cache_write_tokens, stream, attempts, cost_usd, cost_basis) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
     $21, $22, $23, NULLIF($24, -1.0), $25)";
/// Rows go in sixteen to a statement: each statement is a round trip to the database (for
/// SQLite a hand-off to its driver thread), which per row cost more than the insert.
const INSERT_16_SQLITE: &str = include_str!("insert_16.sqlite.sql");
const INSERT_16_POSTGRES: &str = include_str!("insert_16.postgres.sql");
const ROWS_PER_STATEMENT: usize = 16;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds as `&str` so the driver borrows the row's text instead of copying every field.
fn bind_row<'q>(q: AnyQuery<'q>, r: &'q LogRow) -> AnyQuery<'q> {
    q.bind(r.id.as_str())
        .bind(r.request_id.as_str())
        .bind(r.created_at)
        .bind(r.user_id.as_str())
        .bind(r.key_id.as_str())
        .bind(r.endpoint.as_str())
        .bind(r.user_agent.as_deref())
        .bind(r.requested_model.as_str())
        .bind(r.resolution.as_str())
        .bind(r.collection.as_deref())
        .bind(r.connection_id.as_deref())
        .bind(r.provider.as_deref())
        .bind(r.upstream_model.as_deref())
        .bind(r.status_code)
        .bind(r.error_code.as_deref())
        .bind(r.latency_ms)
        .bind(r.ttft_ms)
        .bind(r.prompt_tokens)
        .bind(r.completion_tokens)
        .bind(r.cache_read_tokens)
        .bind(r.cache_write_tokens)
        .bind(i64::from(r.stream))
        .bind(r.attempts.as_str())
        .bind(crate::db::nullable_f64(r.cost_usd))
        .bind(r.cost_basis.as_deref())
}

async fn write_batch(
    backend: Backend,
    conn: &mut PoolConnection<Any>,
    rows: &[LogRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert_16 = match backend {
        Backend::Sqlite => INSERT_16_SQLITE,
        Backend::Postgres => INSERT_16_POSTGRES,
    };
    let mut tx = conn.begin().await?;
    let mut chunks = rows.chunks_exact(ROWS_PER_STATEMENT);
    for chunk in chunks.by_ref() {
        chunk
            .iter()
            .fold(sqlx::query(insert_16), bind_row)
            .execute(&mut *tx)
            .await?;
    }
    for r in chunks.remainder() {
        bind_row(sqlx::query(INSERT_ONE), r)
            .execute(&mut *tx)
            .await?;
    }
    for r in rows {
        if let Some(b) = &r.bodies {
            crate::db::bodies::insert(
                &mut tx,
                &r.id,
                &r.user_id,
                b.keep_until,
                &b.request,
                &b.response,
            )
            .await?;
        }
    }
    hourly::add(&mut tx, rows).await?;
    tx.commit().await
}
