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
use crate::budgets::{Budget, Period, Scope};
use crate::clock::{now_ms, rfc3339};
use crate::db::{
    self,
    keys::{SqlApiKey, SqlKeyPolicy},
    Db, StoreError,
};
use crate::error::{ApiError, RequestError};
use crate::ids::{new_id, random_base62};
use app::dto::{ApiKeyDto, CreatedApiKeyDto, KeyPolicyDto, KeyScope};

pub const KEY_PREFIX: &str = "sk-langmart-";
const KEY_RANDOM_CHARS: usize = 43;
/// Characters of the key kept for display (`sk-langmart-AbCd`).
const DISPLAY_PREFIX_CHARS: usize = KEY_PREFIX.len() + 4;
/// Bounds how long a key revoked on another replica keeps working here.
const CACHE_TTL: Duration = Duration::from_secs(30);
/// `last_used_at` is written at most this often per key.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// The scopes a key holds, as a small set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub const ALL: Scopes = Scopes(0b11);

    fn bit(scope: KeyScope) -> u8 {
        match scope {
            KeyScope::Inference => 0b01,
            KeyScope::Manage => 0b10,
        }
    }

    pub fn of(scopes: &[KeyScope]) -> Self {
        Scopes(scopes.iter().fold(0, |bits, s| bits | Self::bit(*s)))
    }

    /// Reads the stored form (space-separated names); names it does not know grant nothing.
    pub fn parse(text: &str) -> Self {
        let known: Vec<KeyScope> = text
            .split_whitespace()
            .filter_map(KeyScope::parse)
            .collect();
        Self::of(&known)
    }

    pub fn contains(self, scope: KeyScope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    /// Whether every scope of `other` is in `self`.
    pub fn covers(self, other: Scopes) -> bool {
        other.0 & !self.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn list(self) -> Vec<KeyScope> {
        KeyScope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .collect()
    }

    pub fn to_text(self) -> String {
        self.list()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Most patterns in a key's allow-list, and the longest one.
const MAX_MODEL_PATTERNS: usize = 100;
const MAX_PATTERN_CHARS: usize = 200;
/// Highest rpm or tpm a key may be given.
const MAX_RATE: i64 = 1_000_000_000;

/// What a key may call, how fast and for how much, set when it is made or changed
/// (`/api/keys`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyPolicy {
    /// Model references it may call (`*` matches any run of characters); `None`: every
    /// model its owner may use.
    pub models: Option<Vec<String>>,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub budget: Option<Budget>,
    /// Output tokens reserved against budgets for a request that sets no maximum.
    pub default_max_tokens: Option<i64>,
}

impl KeyPolicy {
    /// Whether `reference` (as a client wrote it, or a route's `provider/model`) is allowed.
    pub fn allows(&self, reference: &str) -> bool {
        self.models.as_ref().is_none_or(|patterns| {
            patterns
                .iter()
                .any(|p| crate::routing::catalog::glob_match(p, reference))
        })
    }

    /// The policy a client sent (console form, `/api/keys`).
    pub fn from_dto(dto: app::dto::KeyPolicyDto) -> Result<Self, RequestError> {
        Ok(KeyPolicy {
            models: dto.models,
            rpm: dto.rate_limit_rpm,
            tpm: dto.rate_limit_tpm,
            budget: dto.budget.map(Budget::from_dto).transpose()?,
            default_max_tokens: dto.default_max_tokens,
        })
    }

    /// The allow-list as the error message shows it.
    pub fn describe_models(&self) -> String {
        self.models
            .as_ref()
            .map_or_else(|| "all".to_owned(), |m| m.join(", "))
    }

    /// Checks the fields a client sent.
    fn validate(&self) -> Result<(), RequestError> {
        if let Some(models) = &self.models {
            if models.len() > MAX_MODEL_PATTERNS
                || models
                    .iter()
                    .any(|m| m.trim().is_empty() || m.chars().count() > MAX_PATTERN_CHARS)
            {
                return Err(RequestError::InvalidField {
                    field: "models",
                    message: format!(
                        "models must be at most {MAX_MODEL_PATTERNS} model references (or patterns \
                         such as openai/*) of 1–{MAX_PATTERN_CHARS} characters"
                    ),
                });
            }
        }
        if let Some(b) = self.budget {
            b.validate()?;
        }
        for (field, value) in [
            ("rate_limit_rpm", self.rpm),
            ("rate_limit_tpm", self.tpm),
            ("default_max_tokens", self.default_max_tokens),
        ] {
            if value.is_some_and(|v| !(1..=MAX_RATE).contains(&v)) {
                return Err(RequestError::InvalidField {
                    field,
                    message: format!("{field} must be between 1 and {MAX_RATE}"),
                });
            }
        }
        Ok(())
    }

    /// This policy with what `parent` limits and this one leaves open filled in from it;
    /// an error when it asks for more than `parent` allows. A pattern is within the parent
    /// when one of the parent's patterns matches it as text (`openai/*` covers `openai/gpt-*`).
    fn within(mut self, parent: &KeyPolicy) -> Result<KeyPolicy, AuthError> {
        match (&self.models, &parent.models) {
            (None, Some(p)) => self.models = Some(p.clone()),
            (Some(asked), Some(_)) if !asked.iter().all(|m| parent.allows(m)) => {
                return Err(AuthError::ExceedsParentKey("call other models"));
            }
            _ => {}
        }
        for (mine, theirs) in [(&mut self.rpm, parent.rpm), (&mut self.tpm, parent.tpm)] {
            match (*mine, theirs) {
                (None, Some(limit)) => *mine = Some(limit),
                (Some(asked), Some(limit)) if asked > limit => {
                    return Err(AuthError::ExceedsParentKey("have a higher rate limit"));
                }
                _ => {}
            }
        }
        Ok(self)
    }

    fn of(row: &SqlKeyPolicy) -> Self {
        KeyPolicy {
            // A list that cannot be read allows nothing rather than everything.
            models: row
                .models
                .as_deref()
                .map(|m| serde_json::from_str(m).unwrap_or_default()),
            rpm: row.rate_limit_rpm,
            tpm: row.rate_limit_tpm,
            budget: row
                .budget_usd
                .zip(row.budget_period.as_deref())
                .and_then(|(usd, period)| {
                    Period::parse(period).map(|period| Budget { usd, period })
                }),
            default_max_tokens: row.default_max_tokens,
        }
    }

    /// The stored form (without the budget chain, which comes from the parent).
    fn to_row(&self) -> SqlKeyPolicy {
        SqlKeyPolicy {
            models: self
                .models
                .as_ref()
                .map(|m| serde_json::to_string(m).unwrap_or_else(|_| "[]".into())),
            rate_limit_rpm: self.rpm,
            rate_limit_tpm: self.tpm,
            budget_usd: self.budget.map(|b| b.usd),
            budget_period: self.budget.map(|b| b.period.as_str().to_owned()),
            budget_chain: None,
            default_max_tokens: self.default_max_tokens,
        }
    }
}

/// Who is calling, as established by an API key.
#[derive(Debug)]
pub struct Principal {
    pub key_id: String,
    pub user_id: String,
    pub email: String,
    pub handle: String,
    pub is_admin: bool,
    pub scopes: Scopes,
    /// Epoch ms after which the key no longer works.
    pub expires_at: Option<i64>,
    pub policy: KeyPolicy,
    /// Every key budget its spend counts against: its own, and those of the keys it was
    /// made with.
    pub budgets: Vec<(Scope, Budget)>,
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
            scopes: Scopes::ALL,
            expires_at: None,
            policy: KeyPolicy::default(),
            budgets: Vec::new(),
            last_touch_ms: AtomicI64::new(0),
        }
    }
}

/// A key to create: its name, and optionally fewer scopes or a lifetime. Unset, a key has
/// every scope of the key it is made with (all of them when made in the console or CLI)
/// and lives as long as that key.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    pub name: String,
    pub scopes: Option<Vec<KeyScope>>,
    /// Epoch ms.
    pub expires_at: Option<i64>,
    pub policy: KeyPolicy,
}

/// A change to a key: each field given replaces the stored one (`Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct KeyChange {
    pub name: Option<String>,
    pub models: Option<Option<Vec<String>>>,
    pub rpm: Option<Option<i64>>,
    pub tpm: Option<Option<i64>>,
    pub budget: Option<Option<Budget>>,
    pub default_max_tokens: Option<Option<i64>>,
    /// Epoch ms.
    pub expires_at: Option<Option<i64>>,
}

#[derive(Clone)]
pub struct ApiKeys {
    db: Db,
    /// digest → owner; `None` caches "no such active key" so floods of bad keys stay off the database.
    cache: Cache<String, Option<Arc<Principal>>>,
    /// Tells the other replicas when keys change.
    changes: crate::changes::Changes,
}

pub fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl ApiKeys {
    pub fn new(db: Db, changes: crate::changes::Changes) -> Self {
        Self {
            db,
            changes,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CACHE_TTL)
                .build(),
        }
    }

    /// Creates a key for `user_id`. `made_with` is the API key the request came with, if
    /// any: the new key gets at most its scopes and lifetime, and dies with it.
    pub async fn create(
        &self,
        user_id: &str,
        made_with: Option<&Principal>,
        request: KeyRequest,
    ) -> Result<CreatedApiKeyDto, ApiError> {
        let name = valid_name(&request.name)?;
        request.policy.validate()?;
        let now = now_ms();
        let parent = made_with.filter(|p| p.key_id != "console");
        let policy = match parent {
            Some(p) => request.policy.within(&p.policy)?,
            None => request.policy,
        };
        let ceiling = parent.map_or(Scopes::ALL, |p| p.scopes);
        let scopes = request.scopes.as_deref().map_or(ceiling, Scopes::of);
        if scopes.is_empty() {
            return Err(RequestError::InvalidField {
                field: "scopes",
                message: "Choose at least one scope: inference, manage".into(),
            }
            .into());
        }
        if !ceiling.covers(scopes) {
            return Err(AuthError::ExceedsParentKey("have a scope").into());
        }
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(RequestError::InvalidField {
                field: "expires_at",
                message: "The expiry must be in the future".into(),
            }
            .into());
        }
        let parent_expiry = parent.and_then(|p| p.expires_at);
        let expires_at = match (request.expires_at, parent_expiry) {
            (Some(asked), Some(limit)) if asked > limit => {
                return Err(AuthError::ExceedsParentKey("live longer").into())
            }
            (Some(asked), _) => Some(asked),
            (None, limit) => limit,
        };
        let key = format!("{KEY_PREFIX}{}", random_base62(KEY_RANDOM_CHARS));
        let row = SqlApiKey {
            id: new_id("key"),
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            prefix: key[..DISPLAY_PREFIX_CHARS].to_owned(),
            digest: digest(&key),
            scopes: scopes.to_text(),
            parent_key_id: parent.map(|p| p.key_id.clone()),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            policy: SqlKeyPolicy {
                // Its spend counts against every budget its parent's spend counts against.
                budget_chain: parent.filter(|p| !p.budgets.is_empty()).map(|p| {
                    let ids: Vec<&String> = p
                        .budgets
                        .iter()
                        .filter_map(|(s, _)| match s {
                            Scope::Key(id) => Some(id),
                            _ => None,
                        })
                        .collect();
                    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
                }),
                ..policy.to_row()
            },
        };
        let inserted = db::keys::insert(&self.db.pool, &row)
            .await
            .map_err(StoreError::from)?;
        if !inserted {
            // The parent was revoked while this request was under way.
            return Err(AuthError::InvalidApiKey.into());
        }
        self.cache.invalidate(&row.digest).await;
        Ok(CreatedApiKeyDto {
            api_key: key_dto(row),
            key,
        })
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<ApiKeyDto>, ApiError> {
        let rows = db::keys::list_for_user(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().map(key_dto).collect())
    }

    /// Changes one of `user_id`'s active keys: its name, policy or expiry. The result stays
    /// within the key it was made with, and within `made_with` (the API key the change came
    /// with, if any), as a new key would; what they limit and the change leaves open is
    /// filled in from them. Another user's key id is reported as not found.
    pub async fn update(
        &self,
        user_id: &str,
        made_with: Option<&Principal>,
        key_id: &str,
        change: KeyChange,
    ) -> Result<ApiKeyDto, ApiError> {
        let keys = db::keys::list_for_user(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        let policy_of = |k: &SqlApiKey| KeyPolicy::of(&k.policy);
        let Some(mut row) = keys
            .iter()
            .find(|k| k.id == key_id && k.revoked_at.is_none())
            .cloned()
        else {
            return Err(RequestError::NotFound("API key").into());
        };
        if let Some(name) = &change.name {
            row.name = valid_name(name)?.to_owned();
        }
        let stored = policy_of(&row);
        let mut policy = KeyPolicy {
            models: change.models.unwrap_or_else(|| stored.models.clone()),
            rpm: change.rpm.unwrap_or(stored.rpm),
            tpm: change.tpm.unwrap_or(stored.tpm),
            budget: change.budget.unwrap_or(stored.budget),
            default_max_tokens: change
                .default_max_tokens
                .unwrap_or(stored.default_max_tokens),
        };
        policy.validate()?;
        let now = now_ms();
        let expires_at = change.expires_at.unwrap_or(row.expires_at);
        if change.expires_at.flatten().is_some_and(|at| at <= now) {
            return Err(RequestError::InvalidField {
                field: "expires_at",
                message: "The expiry must be in the future".into(),
            }
            .into());
        }
        let parent = row
            .parent_key_id
            .as_deref()
            .and_then(|id| keys.iter().find(|k| k.id == id));
        let acting = made_with.filter(|p| p.key_id != "console" && p.key_id != row.id);
        for (limit, expiry) in parent
            .map(|p| (policy_of(p), p.expires_at))
            .into_iter()
            .chain(acting.map(|a| (a.policy.clone(), a.expires_at)))
        {
            policy = policy.within(&limit)?;
            if let Some(limit) = expiry {
                if expires_at.is_none_or(|at| at > limit) {
                    return Err(AuthError::ExceedsParentKey("live longer").into());
                }
            }
        }
        if made_with.is_some_and(|p| p.key_id == row.id) {
            // A key changing itself cannot give itself more than it has.
            policy = policy.within(&stored)?;
            if row
                .expires_at
                .is_some_and(|limit| expires_at.is_none_or(|at| at > limit))
            {
                return Err(AuthError::ExceedsParentKey("live longer").into());
            }
        }
        row.policy = SqlKeyPolicy {
            budget_chain: row.policy.budget_chain.take(),
            ..policy.to_row()
        };
        row.expires_at = expires_at;
        let updated = db::keys::update(&self.db.pool, user_id, &row)
            .await
            .map_err(StoreError::from)?;
        if !updated {
            return Err(RequestError::NotFound("API key").into());
        }
        // Keys made with this one carry its budget: drop every cached owner.
        self.cache.invalidate_all();
        self.changes.keys_changed();
        Ok(key_dto(row))
    }

    /// Revokes one of `user_id`'s keys and every key made with it, at any depth; another
    /// user's key id is reported as not found.
    pub async fn revoke(&self, user_id: &str, key_id: &str) -> Result<(), ApiError> {
        let keys = db::keys::list_for_user(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        if !keys.iter().any(|k| k.id == key_id) {
            return Err(RequestError::NotFound("API key").into());
        }
        let mut doomed = vec![key_id.to_owned()];
        let mut next = 0;
        while next < doomed.len() {
            let parent = doomed[next].clone();
            doomed.extend(
                keys.iter()
                    .filter(|k| k.parent_key_id.as_deref() == Some(parent.as_str()))
                    .map(|k| k.id.clone()),
            );
            next += 1;
        }
        let now = now_ms();
        for key in keys.iter().filter(|k| doomed.contains(&k.id)) {
            db::keys::revoke(&self.db.pool, &key.id, now)
                .await
                .map_err(StoreError::from)?;
            self.cache.invalidate(&key.digest).await;
        }
        self.changes.keys_changed();
        tracing::info!(
            key_id,
            revoked = doomed.len(),
            "API key revoked with the keys made with it"
        );
        Ok(())
    }

    /// Authenticates an `Authorization` header value for a route that needs `scope`.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        scope: KeyScope,
    ) -> Result<Arc<Principal>, ApiError> {
        let principal = self.identify(header).await?;
        if principal.expires_at.is_some_and(|at| at <= now_ms()) {
            return Err(AuthError::ExpiredApiKey.into());
        }
        if !principal.scopes.contains(scope) {
            return Err(AuthError::MissingScope(scope.as_str()).into());
        }
        self.touch(&principal);
        Ok(principal)
    }

    /// The owner of the presented key, whatever its scopes and lifetime: for attributing a
    /// request-log row, never for granting anything.
    pub async fn identify(&self, header: Option<&str>) -> Result<Arc<Principal>, ApiError> {
        let token = bearer_token(header)?;
        let digest = digest(token);
        // A hit reads the cache only; the loader (its database reads) is boxed, so the
        // future of every request does not carry it.
        if let Some(hit) = self.cache.get(&digest).await {
            return Ok(hit.ok_or(AuthError::InvalidApiKey)?);
        }
        let db = self.db.clone();
        let lookup = digest.clone();
        let cached = self
            .cache
            .try_get_with(digest, Box::pin(load_owner(db, lookup)))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok(cached.ok_or(AuthError::InvalidApiKey)?)
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

    /// Drops every cached owner (after a change to data the cache copies, such as a
    /// handle), here and on the other replicas.
    pub fn forget_all(&self) {
        self.forget_all_here();
        self.changes.keys_changed();
    }

    /// Drops every cached owner of this process (another replica changed keys).
    pub fn forget_all_here(&self) {
        self.cache.invalidate_all();
    }
}

/// The owner of the active key with this digest, with its policy and every key budget it
/// spends from, as the cache keeps it.
async fn load_owner(db: Db, lookup: String) -> Result<Option<Arc<Principal>>, sqlx::Error> {
    let owner = db::keys::owner_of_active(&db.pool, &lookup).await?;
    let Some(o) = owner else {
        return Ok::<_, sqlx::Error>(None);
    };
    let policy = KeyPolicy::of(&o.policy);
    let mut budgets: Vec<(Scope, Budget)> = policy
        .budget
        .map(|b| (Scope::Key(o.key_id.clone()), b))
        .into_iter()
        .collect();
    let chain: Vec<String> = o
        .policy
        .budget_chain
        .as_deref()
        .map(|c| serde_json::from_str(c).unwrap_or_default())
        .unwrap_or_default();
    for id in chain {
        if let Some((usd, period)) = db::keys::budget_of(&db.pool, &id).await? {
            if let Some(period) = Period::parse(&period) {
                budgets.push((Scope::Key(id), Budget { usd, period }));
            }
        }
    }
    Ok(Some(Arc::new(Principal {
        key_id: o.key_id,
        user_id: o.user_id,
        email: o.email,
        handle: o.handle,
        is_admin: o.is_admin.0,
        scopes: Scopes::parse(&o.scopes),
        expires_at: o.expires_at,
        policy,
        budgets,
        last_touch_ms: AtomicI64::new(0),
    })))
}

fn valid_name(name: &str) -> Result<&str, RequestError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(RequestError::InvalidField {
            field: "name",
            message: "Key name must be 1–100 characters".into(),
        });
    }
    Ok(name)
}

fn key_dto(row: SqlApiKey) -> ApiKeyDto {
    let policy = KeyPolicy::of(&row.policy);
    ApiKeyDto {
        policy: KeyPolicyDto {
            models: policy.models,
            rate_limit_rpm: policy.rpm,
            rate_limit_tpm: policy.tpm,
            default_max_tokens: policy.default_max_tokens,
            budget: policy.budget.map(Budget::to_dto),
        },
        spent_usd: None,
        budget_resets_at: None,
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        scopes: Scopes::parse(&row.scopes).list(),
        parent_key_id: row.parent_key_id,
        created_at: rfc3339(row.created_at),
        expires_at: row.expires_at.map(rfc3339),
        expired: row.expires_at.is_some_and(|at| at <= now_ms()),
        last_used_at: row.last_used_at.map(rfc3339),
        revoked_at: row.revoked_at.map(rfc3339),
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
    fn scopes_round_trip_and_compare() {
        let inference = Scopes::of(&[KeyScope::Inference]);
        assert_eq!(Scopes::parse("inference manage"), Scopes::ALL);
        assert_eq!(
            Scopes::parse("manage bogus"),
            Scopes::of(&[KeyScope::Manage])
        );
        assert_eq!(Scopes::ALL.to_text(), "inference manage");
        assert!(Scopes::ALL.covers(inference));
        assert!(!inference.covers(Scopes::ALL));
        assert!(Scopes::parse("").is_empty());
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
