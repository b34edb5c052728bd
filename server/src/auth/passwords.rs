//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1). Hashing is
//! CPU-bound, so it runs on the blocking pool, and it only runs on login and password
//! changes, never on API requests.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::db::StoreError;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

pub async fn hash(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| StoreError::Internal(format!("hashing task failed: {e}")))?
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
}

pub async fn verify(stored_hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || verify_blocking(&stored_hash, &password))
        .await
        .unwrap_or(false)
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
pub async fn verify_dummy(password: String) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let _ = tokio::task::spawn_blocking(move || {
        let hash =
            DUMMY.get_or_init(|| hash_blocking("langmart-dummy-password").unwrap_or_default());
        verify_blocking(hash, &password)
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(h.clone(), "correct horse battery".into()).await);
        assert!(!verify(h, "wrong horse battery".into()).await);
    }

    #[tokio::test]
    async fn garbage_hash_never_verifies() {
        assert!(!verify("not-a-hash".into(), "x".into()).await);
    }
}
