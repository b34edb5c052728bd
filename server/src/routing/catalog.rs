//! The routing catalogue: an immutable snapshot of everything routing reads (connections
//! with opened credentials, their models, handles, memberships, provider keys). Requests
//! read the current snapshot — no SQL, no crypto — and it is rebuilt after any change
//! in this process, and refreshed in the background every few seconds for changes made
//! by other replicas.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use crate::catalog::{providers, Credentials};
use crate::changes::Changes;
use crate::db::{self, Db, StoreError};
use crate::error::ApiError;
use crate::providers::ApiFamily;
use crate::vault::Vault;

/// Changes made by other replicas become visible within this time.
const MAX_AGE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User(String),
    Organization(String),
}

/// One connection as routing sees it.
pub struct Route {
    pub id: String,
    pub name: String,
    pub provider_key: String,
    pub family: ApiFamily,
    pub endpoint_url: String,
    pub status: String,
    pub scope: String,
    pub owner_user_id: Option<String>,
    pub owner_org_id: Option<String>,
    pub prefer_score: i64,
    pub allow_fallback: bool,
    pub timeout: Duration,
    pub max_retries: u32,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    /// Epoch ms until which a `rate_limited` connection rests.
    pub cooldown_until: Option<i64>,
    pub credentials: Credentials,
    pub config: BTreeMap<String, String>,
    /// model id → enabled
    pub models: HashMap<String, bool>,
}

impl Route {
    /// 0 individual, 1 organization, 2 platform: the tie-break after `prefer_score`.
    pub fn scope_rank(&self) -> u8 {
        match self.scope.as_str() {
            "individual" => 0,
            "organization" => 1,
            _ => 2,
        }
    }

    /// Whether the connection lists `model`; one with no model list yet is asked anyway
    /// when the request names its provider.
    pub fn serves(&self, model: &str, explicit_provider: bool) -> Option<bool> {
        match self.models.get(model) {
            Some(enabled) => Some(*enabled),
            None if explicit_provider && self.models.is_empty() => Some(true),
            None => None,
        }
    }
}

pub struct Snapshot {
    pub handles: HashMap<String, Owner>,
    pub orgs_of: HashMap<String, HashSet<String>>,
    pub provider_keys: HashSet<String>,
    pub routes: Vec<Arc<Route>>,
    generation: u64,
    built: Instant,
}

impl Snapshot {
    /// Whether `user_id` may use connections owned by `owner`.
    pub fn may_use(&self, user_id: &str, route: &Route) -> bool {
        match route.scope.as_str() {
            "individual" => route.owner_user_id.as_deref() == Some(user_id),
            "organization" => route.owner_org_id.as_ref().is_some_and(|org| {
                self.orgs_of
                    .get(user_id)
                    .is_some_and(|orgs| orgs.contains(org))
            }),
            _ => true,
        }
    }

    pub fn owns_or_belongs(&self, user_id: &str, owner: &Owner) -> bool {
        match owner {
            Owner::User(id) => id == user_id,
            Owner::Organization(org) => self
                .orgs_of
                .get(user_id)
                .is_some_and(|orgs| orgs.contains(org)),
        }
    }
}

#[derive(Clone)]
pub struct RoutingCatalog {
    db: Db,
    vault: Arc<Vault>,
    changes: Changes,
    current: Arc<RwLock<Option<Arc<Snapshot>>>>,
    rebuild: Arc<tokio::sync::Mutex<()>>,
}

impl RoutingCatalog {
    pub fn new(db: Db, vault: Arc<Vault>, changes: Changes) -> Self {
        Self {
            db,
            vault,
            changes,
            current: Default::default(),
            rebuild: Default::default(),
        }
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn store(&self, snapshot: Arc<Snapshot>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot);
    }

    /// The snapshot requests route with. After a change made in this process the caller
    /// waits for the rebuild (it must see its own write); a snapshot that is merely old is
    /// served while a background task refreshes it, so requests never wait on SQL for that.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        if let Some(s) = self.current() {
            if s.generation == self.changes.current() {
                if s.built.elapsed() >= MAX_AGE {
                    self.refresh_in_background();
                }
                return Ok(s);
            }
        }
        self.rebuild_now().await
    }

    async fn rebuild_now(&self) -> Result<Arc<Snapshot>, ApiError> {
        let _one_at_a_time = self.rebuild.lock().await;
        if let Some(s) = self
            .current()
            .filter(|s| s.generation == self.changes.current())
        {
            return Ok(s);
        }
        let snapshot = Arc::new(self.build().await?);
        self.store(snapshot.clone());
        Ok(snapshot)
    }

    fn refresh_in_background(&self) {
        // Only one refresh at a time; if one is running, this request just goes on.
        let Ok(guard) = self.rebuild.clone().try_lock_owned() else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            match this.build().await {
                Ok(s) => this.store(Arc::new(s)),
                Err(e) => {
                    tracing::warn!(error = %e, "routing catalogue refresh failed; keeping the previous one")
                }
            }
        });
    }

    async fn build(&self) -> Result<Snapshot, ApiError> {
        let generation = self.changes.current();
        let pool = &self.db.pool;
        let handles = db::handles::all(pool)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|h| {
                let owner = if h.owner_kind == "organization" {
                    Owner::Organization(h.owner_id)
                } else {
                    Owner::User(h.owner_id)
                };
                (h.handle, owner)
            })
            .collect();
        let mut orgs_of: HashMap<String, HashSet<String>> = HashMap::new();
        for (org, user) in db::orgs::all_memberships(pool)
            .await
            .map_err(StoreError::from)?
        {
            orgs_of.entry(user).or_default().insert(org);
        }
        let providers = providers::list(&self.db).await?;
        let families: HashMap<String, ApiFamily> =
            providers.iter().map(|p| (p.id.clone(), p.family)).collect();
        let provider_keys = providers.into_iter().map(|p| p.key).collect();
        let mut models: HashMap<String, HashMap<String, bool>> = HashMap::new();
        for m in db::connections::all_models(pool)
            .await
            .map_err(StoreError::from)?
        {
            models
                .entry(m.connection_id)
                .or_default()
                .insert(m.model_id, m.enabled.0);
        }
        let mut routes = Vec::new();
        for row in db::connections::list_all(pool)
            .await
            .map_err(StoreError::from)?
        {
            let credentials = match Credentials::open(&self.vault, &row) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(connection_id = %row.id, error = %e, "cannot open credentials; connection not routable");
                    continue;
                }
            };
            let Some(family) = families.get(&row.provider_id).copied() else {
                continue;
            };
            routes.push(Arc::new(Route {
                family,
                models: models.remove(&row.id).unwrap_or_default(),
                config: serde_json::from_str(&row.config).unwrap_or_default(),
                credentials,
                timeout: Duration::from_millis(u64::try_from(row.timeout_ms).unwrap_or(30_000)),
                max_retries: u32::try_from(row.max_retries).unwrap_or(0),
                allow_fallback: row.allow_fallback.0,
                id: row.id,
                name: row.name,
                provider_key: row.provider_key,
                endpoint_url: row.endpoint_url,
                status: row.status,
                scope: row.scope,
                owner_user_id: row.owner_user_id,
                owner_org_id: row.owner_org_id,
                prefer_score: row.prefer_score,
                rpm: row.rate_limit_rpm,
                tpm: row.rate_limit_tpm,
                cooldown_until: row.cooldown_until,
            }));
        }
        Ok(Snapshot {
            handles,
            orgs_of,
            provider_keys,
            routes,
            generation,
            built: Instant::now(),
        })
    }
}
