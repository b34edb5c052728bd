//! Console sessions, stored in the database (never only in memory) so any replica can
//! serve any request. The store is tower-sessions-sqlx-store's, on its own typed pool.

use async_trait::async_trait;
use sqlx::{postgres::PgPoolOptions, sqlite::SqliteConnectOptions, sqlite::SqlitePoolOptions};
use std::str::FromStr;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion, SessionStore},
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::db::{Backend, ConnectError};

/// Session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    pub async fn open(url: &str, backend: Backend) -> Result<Self, ConnectError> {
        let store = match backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(std::time::Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                let store = SqliteStore::new(pool);
                store.migrate().await?;
                SessionBackend::Sqlite(store)
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
                let store = PostgresStore::new(pool);
                store.migrate().await?;
                SessionBackend::Postgres(store)
            }
        };
        Ok(store)
    }

    /// Deletes expired sessions every hour, for the life of the process.
    pub fn spawn_cleanup(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
        });
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete_expired().await,
            SessionBackend::Postgres(s) => s.delete_expired().await,
        }
    }
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.create(record).await,
            SessionBackend::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.save(record).await,
            SessionBackend::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            SessionBackend::Sqlite(s) => s.load(id).await,
            SessionBackend::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete(id).await,
            SessionBackend::Postgres(s) => s.delete(id).await,
        }
    }
}
