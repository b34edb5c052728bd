//! Console sessions, stored in the database (never only in memory) so any replica can
//! serve any request. The store is tower-sessions-sqlx-store's, on its own typed pool;
//! what it stores under is a digest of the session id, so a copy of the database holds no
//! id that could be used as a cookie.

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
/// Session key holding when the user signed in (epoch ms): sessions from before the
/// user's last password change are no longer valid.
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";

/// The id a session is stored under: the first 128 bits of SHA-256 of its cookie id.
fn stored(id: &Id) -> Id {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.0.to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

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
        let mut hashed = record.clone();
        hashed.id = stored(&record.id);
        match self {
            SessionBackend::Sqlite(s) => s.create(&mut hashed).await,
            SessionBackend::Postgres(s) => s.create(&mut hashed).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut hashed = record.clone();
        hashed.id = stored(&record.id);
        match self {
            SessionBackend::Sqlite(s) => s.save(&hashed).await,
            SessionBackend::Postgres(s) => s.save(&hashed).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let found = match self {
            SessionBackend::Sqlite(s) => s.load(&stored(id)).await?,
            SessionBackend::Postgres(s) => s.load(&stored(id)).await?,
        };
        Ok(found.map(|mut r| {
            r.id = *id;
            r
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SessionBackend::Sqlite(s) => s.delete(&stored(id)).await,
            SessionBackend::Postgres(s) => s.delete(&stored(id)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_ids_are_digests_not_the_cookie() {
        let id = Id(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        assert_ne!(stored(&id), id);
        assert_eq!(stored(&id), stored(&id));
    }
}
