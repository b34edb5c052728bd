//! The store: one sqlx `AnyPool` over SQLite (default, embedded) or PostgreSQL, chosen by
//! the URL scheme. Queries use `$1` placeholders and runtime `query_as`, so the same
//! repository functions run on both; only the DDL differs (`migrations/<backend>/`).

pub mod aliases;
pub mod bodies;
pub mod budgets;
pub mod collections;
pub mod connections;
pub mod gateways;
pub mod handles;
pub mod keys;
pub mod notifications;
pub mod orgs;
pub mod providers;
pub mod responses;
pub mod signup;
pub mod users;

/// An optional float as it is bound: `None` becomes `-1.0`, which the SQL turns back into
/// NULL with `NULLIF($n, -1.0)` (every such column holds amounts that are never negative).
/// sqlx 0.8.6's `Any` driver sends a NULL `f64` to PostgreSQL typed as `float4`, and the
/// statement it caches then refuses the next real `f64` ("incorrect binary data format
/// in bind parameter"; fixed upstream in sqlx 0.9).
pub fn nullable_f64(value: Option<f64>) -> f64 {
    value.unwrap_or(-1.0)
}

use std::time::Duration;

use axum::http::StatusCode;
use sqlx::{any::AnyPoolOptions, AnyPool, Executor};

use crate::error::codes;
use crate::error::Coded;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached: the gateway is unavailable, not broken.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err)
            }
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl Coded for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => codes::GATEWAY3_CONN_001,
            StoreError::Internal(_) => codes::INTERNAL_ERROR,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            StoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A boolean column. Stored as a 0/1 BIGINT on every backend, because sqlx's Any driver
/// cannot decode SQLite's BOOLEAN; read with `#[sqlx(try_from = "i64")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(value: i64) -> Self {
        Flag(value != 0)
    }
}

impl From<Flag> for i64 {
    fn from(flag: Flag) -> Self {
        i64::from(flag.0)
    }
}

/// True when a write failed only because a UNIQUE constraint already holds the value.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL (expected sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error("could not open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("could not migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Db {
    /// Opens (creating a SQLite file if needed) and migrates the database.
    pub async fn open(url: &str) -> Result<Self, ConnectError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)
            .ok_or_else(|| ConnectError::UnsupportedUrl(crate::config::redact_url(url)))?;
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(5));
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(url).await?;
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&self.pool).await,
            Backend::Postgres => {
                sqlx::migrate!("../migrations/postgres")
                    .run(&self.pool)
                    .await
            }
        }
    }

    /// A cheap round trip for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
