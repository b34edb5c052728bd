//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1). Hashing is
//! CPU-bound, so it runs on the blocking pool, and it only runs on login, sign-up and
//! password changes, never on API requests. Each hash holds 19 MiB while it runs, so only
//! a few run at once ([`in_flight_limit`]): a flood of bogus logins waits its turn for
//! [`QUEUE_WAIT`] and is then answered 503, instead of growing memory without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
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

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(in_flight_limit()))
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The most hashes that ever ran at once in this process (tests hold it to the limit).
pub fn peak_in_flight() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Runs one argon2 computation on the blocking pool once a permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let _permit = tokio::time::timeout(QUEUE_WAIT, permits().acquire())
        .await
        .map_err(|_| {
            tracing::warn!("password hashing is saturated; a request was turned away");
            AuthError::Busy
        })?
        .map_err(|_| AuthError::Busy)?;
    let running = RUNNING.fetch_add(1, Ordering::Relaxed) + 1;
    PEAK.fetch_max(running, Ordering::Relaxed);
    let out = tokio::task::spawn_blocking(work).await;
    RUNNING.fetch_sub(1, Ordering::Relaxed);
    out.map_err(|e| StoreError::Internal(format!("hashing task failed: {e}")).into())
}

pub async fn hash(password: String) -> Result<String, ApiError> {
    Ok(bounded(move || hash_blocking(&password)).await??)
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
}

pub async fn verify(stored_hash: String, password: String) -> Result<bool, ApiError> {
    bounded(move || verify_blocking(&stored_hash, &password)).await
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

/// Verifies against a throwaway hash so that a login for an unknown email costs the same
/// time as one for a known email, and does not reveal which accounts exist.
pub async fn verify_dummy(password: String) -> Result<(), ApiError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    bounded(move || {
        let hash =
            DUMMY.get_or_init(|| hash_blocking("langmart-dummy-password").unwrap_or_default());
        verify_blocking(hash, &password)
    })
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(h.clone(), "correct horse battery".into())
            .await
            .unwrap());
        assert!(!verify(h, "wrong horse battery".into()).await.unwrap());
    }

    #[tokio::test]
    async fn garbage_hash_never_verifies() {
        assert!(!verify("not-a-hash".into(), "x".into()).await.unwrap());
    }
}
