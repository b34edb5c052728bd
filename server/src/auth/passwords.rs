//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1). Hashing is
//! CPU-bound, so it runs on the blocking pool, and it only runs on login, sign-up and
//! password changes, never on API requests. Each hash holds 19 MiB while it runs, so only
//! a few run at once ([`in_flight_limit`]): a flood of bogus logins waits its turn for
//! [`QUEUE_WAIT`] and is then answered 503, instead of growing memory without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use super::AuthError;
use crate::db::StoreError;
use crate::error::ApiError;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// How long a hash waits for its turn before the caller is told to come back (503).
pub const QUEUE_WAIT: Duration = Duration::from_secs(3);

/// Hashes allowed at once: one per core, at least two.
pub fn in_flight_limit() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// The bound on argon2 work: hashes wait here for a permit. One per installation (held by
/// `Accounts`).
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(in_flight_limit())),
            running: Default::default(),
            peak: Default::default(),
        }
    }
}

impl Hasher {
    /// The most hashes that ever ran at once (tests hold it to the limit).
    pub fn peak_in_flight(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Runs one argon2 computation on the blocking pool once a permit is free.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = tokio::time::timeout(QUEUE_WAIT, self.permits.acquire())
            .await
            .map_err(|_| {
                tracing::warn!("password hashing is saturated; a request was turned away");
                AuthError::Busy
            })?
            .map_err(|_| AuthError::Busy)?;
        let running = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(running, Ordering::Relaxed);
        let out = tokio::task::spawn_blocking(work).await;
        self.running.fetch_sub(1, Ordering::Relaxed);
        out.map_err(|e| StoreError::Internal(format!("hashing task failed: {e}")).into())
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        Ok(self.bounded(move || hash_blocking(&password)).await??)
    }

    pub async fn verify(&self, stored_hash: String, password: String) -> Result<bool, ApiError> {
        self.bounded(move || verify_blocking(&stored_hash, &password))
            .await
    }

    /// Verifies against a throwaway hash so that a login for an unknown email costs the
    /// same time as one for a known email, and does not reveal which accounts exist.
    pub async fn verify_dummy(&self, password: String) -> Result<(), ApiError> {
        static DUMMY: OnceLock<String> = OnceLock::new();
        self.bounded(move || {
            let hash =
                DUMMY.get_or_init(|| hash_blocking("langmart-dummy-password").unwrap_or_default());
            verify_blocking(hash, &password)
        })
        .await
        .map(|_| ())
    }
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = Hasher::default();
        let h = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(hasher
            .verify(h.clone(), "correct horse battery".into())
            .await
            .unwrap());
        assert!(!hasher
            .verify(h, "wrong horse battery".into())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn garbage_hash_never_verifies() {
        let hasher = Hasher::default();
        assert!(!hasher
            .verify("not-a-hash".into(), "x".into())
            .await
            .unwrap());
    }
}
