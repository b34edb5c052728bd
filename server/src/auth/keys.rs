//! LangMart API keys: `sk-langmart-` + 43 base62 characters (256 bits) from the OS CSPRNG.
//! Only the SHA-256 digest is stored. Checking a key is a hash and a cache lookup: no
//! argon2 (keys have full entropy, so a fast digest is enough) and, once cached, no SQL.

use std::{
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use moka::future::Cache;
use sha2::{Digest, Sha256};

use super::AuthError;
use crate::clock::now_ms;
use crate::db::{self, keys::SqlApiKey, Db, StoreError};
use crate::error::{ApiError, RequestError};
use crate::ids::{new_id, random_base62};
use app::dto::{ApiKeyDto, CreatedApiKeyDto};

pub const KEY_PREFIX: &str = "sk-langmart-";
const KEY_RANDOM_CHARS: usize = 43;
/// Characters of the key kept for display (`sk-langmart-AbCd`).
const DISPLAY_PREFIX_CHARS: usize = KEY_PREFIX.len() + 4;
/// Bounds how long a key revoked on another replica keeps working here.
const CACHE_TTL: Duration = Duration::from_secs(30);
/// `last_used_at` is written at most this often per key.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Who is calling, as established by an API key.
#[derive(Debug)]
pub struct Principal {
    pub key_id: String,
    pub user_id: String,
    pub email: String,
    pub handle: String,
    pub is_admin: bool,
    last_touch_ms: AtomicI64,
}

impl Principal {
    /// A signed-in console user sending a test prompt: no API key is involved, and the
    /// request log says `console` where it would name the key.
    pub fn console(user_id: String, email: String, handle: String, is_admin: bool) -> Self {
        Principal {
            key_id: "console".to_owned(),
            user_id,
            email,
            handle,
            is_admin,
            last_touch_ms: AtomicI64::new(0),
        }
    }
}

#[derive(Clone)]
pub struct ApiKeys {
    db: Db,
    /// digest → owner; `None` caches "no such active key" so floods of bad keys stay off the database.
    cache: Cache<String, Option<Arc<Principal>>>,
}

pub fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl ApiKeys {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CACHE_TTL)
                .build(),
        }
    }

    pub async fn create(&self, user_id: &str, name: &str) -> Result<CreatedApiKeyDto, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RequestError::InvalidField {
                field: "name",
                message: "Key name must be 1–100 characters".into(),
            }
            .into());
        }
        let key = format!("{KEY_PREFIX}{}", random_base62(KEY_RANDOM_CHARS));
        let row = SqlApiKey {
            id: new_id("key"),
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            prefix: key[..DISPLAY_PREFIX_CHARS].to_owned(),
            digest: digest(&key),
            created_at: now_ms(),
            last_used_at: None,
            revoked_at: None,
        };
        db::keys::insert(&self.db.pool, &row)
            .await
            .map_err(StoreError::from)?;
        self.cache.invalidate(&row.digest).await;
        Ok(CreatedApiKeyDto {
            api_key: row.into_dto(),
            key,
        })
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<ApiKeyDto>, ApiError> {
        let rows = db::keys::list_for_user(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().map(SqlApiKey::into_dto).collect())
    }

    /// Revokes one of `user_id`'s keys; another user's key id is reported as not found.
    pub async fn revoke(&self, user_id: &str, key_id: &str) -> Result<(), ApiError> {
        let key = db::keys::find_for_user(&self.db.pool, user_id, key_id)
            .await
            .map_err(StoreError::from)?
            .ok_or(RequestError::NotFound("API key"))?;
        db::keys::revoke(&self.db.pool, &key.id, now_ms())
            .await
            .map_err(StoreError::from)?;
        self.cache.invalidate(&key.digest).await;
        tracing::info!(key_id = %key.id, "API key revoked");
        Ok(())
    }

    /// Authenticates an `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Arc<Principal>, ApiError> {
        let token = bearer_token(header)?;
        let digest = digest(token);
        let db = self.db.clone();
        let lookup = digest.clone();
        let cached = self
            .cache
            .try_get_with(digest, async move {
                let owner = db::keys::owner_of_active(&db.pool, &lookup).await?;
                Ok::<_, sqlx::Error>(owner.map(|o| {
                    Arc::new(Principal {
                        key_id: o.key_id,
                        user_id: o.user_id,
                        email: o.email,
                        handle: o.handle,
                        is_admin: o.is_admin.0,
                        last_touch_ms: AtomicI64::new(0),
                    })
                }))
            })
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let principal = cached.ok_or(AuthError::InvalidApiKey)?;
        self.touch(&principal);
        Ok(principal)
    }

    /// Records `last_used_at` off the request path, at most once a minute per key.
    fn touch(&self, principal: &Principal) {
        let now = now_ms();
        let last = principal.last_touch_ms.load(Ordering::Relaxed);
        if now - last < TOUCH_INTERVAL_MS
            || principal
                .last_touch_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let pool = self.db.pool.clone();
        let key_id = principal.key_id.clone();
        tokio::spawn(async move {
            if let Err(e) = db::keys::touch(&pool, &key_id, now).await {
                tracing::warn!(%key_id, error = %e, "could not record key use");
            }
        });
    }

    /// Drops every cached owner (after a change to data the cache copies, such as a handle).
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }
}

fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("bearer"))
        .ok_or(AuthError::MissingApiKey)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err(AuthError::MissingApiKey)
            } else {
                Ok(token)
            }
        }
        _ => Err(AuthError::MissingBearerPrefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_prefix_is_required() {
        assert_eq!(
            bearer_token(Some("Bearer sk-langmart-abc")).unwrap(),
            "sk-langmart-abc"
        );
        assert_eq!(
            bearer_token(Some("bearer  sk-langmart-abc ")).unwrap(),
            "sk-langmart-abc"
        );
        assert!(matches!(
            bearer_token(Some("sk-langmart-abc")),
            Err(AuthError::MissingBearerPrefix)
        ));
        assert!(matches!(bearer_token(None), Err(AuthError::MissingApiKey)));
        assert!(matches!(
            bearer_token(Some("Bearer ")),
            Err(AuthError::MissingApiKey)
        ));
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
