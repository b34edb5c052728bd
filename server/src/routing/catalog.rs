//! The routing catalogue: an immutable snapshot of everything routing reads (connections
//! with opened credentials, their models, handles, memberships, provider keys, collections
//! and model prices). Requests
//! read the current snapshot — no SQL, no crypto — and it is rebuilt after any change
//! in this process, and refreshed in the background every few seconds for changes made
//! by other replicas.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use crate::access;
use crate::budgets::{Budget, Period};
use crate::catalog::{providers, Credentials};
use crate::changes::Changes;
use crate::db::{self, Db, StoreError};
use crate::error::ApiError;
use crate::providers::{ApiFamily, Upstream};
use crate::vault::Vault;

use super::strategy::{Cursors, Strategy};

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
    /// A platform admin let it reach non-public addresses (on it, or on its provider).
    pub allow_private: bool,
    pub timeouts: crate::providers::Timeouts,
    pub max_retries: u32,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    /// Requests per UTC day.
    pub rpd: Option<i64>,
    /// Epoch ms until which a `rate_limited` connection rests.
    pub cooldown_until: Option<i64>,
    pub credentials: Credentials,
    pub config: BTreeMap<String, String>,
    /// model id → enabled
    pub models: HashMap<String, bool>,
    /// `x-langmart-connection` and `x-langmart-provider`, made once for every answer.
    pub header_values: Option<(axum::http::HeaderValue, axum::http::HeaderValue)>,
    /// A self-hosted connection's gateway and upstream (type 3).
    pub relay: Option<crate::gateways::relay::Relay>,
}

impl Route {
    /// What an adapter needs to call this connection, under the outbound policy.
    pub fn upstream(&self, outbound: &crate::outbound::Outbound) -> Upstream<'_> {
        Upstream {
            family: self.family,
            base_url: self.endpoint_url.trim_end_matches('/').to_owned(),
            credentials: self.credentials.fields(),
            config: &self.config,
            timeouts: self.timeouts,
            allow_private: outbound.private_allowed(self.allow_private),
            limits: outbound.answer_limits(),
            relay: None,
        }
        .via(self.relay.clone())
    }

    /// Why routing cannot use it now although its status allows: its gateway has no agent.
    pub fn gateway_down(&self) -> bool {
        self.relay.as_ref().is_some_and(|r| !r.available())
    }

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

/// Who a collection belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionOwner {
    User(String),
    Organization(String),
    System,
}

pub struct Member {
    pub reference: String,
    pub weight: f64,
}

/// A collection as routing sees it.
pub struct Collection {
    pub id: String,
    pub name: String,
    pub strategy: Strategy,
    pub owner: CollectionOwner,
    pub owner_handle: String,
    pub members: Vec<Member>,
    /// USD a request may cost at most; dearer and unpriced members are skipped.
    pub max_price_usd: Option<f64>,
}

impl Collection {
    /// `auto(free)`: its members are computed from free providers and zero prices.
    pub fn is_free(&self) -> bool {
        self.owner == CollectionOwner::System && self.name == "free"
    }

    /// What callers put in `model` to use it.
    pub fn reference(&self) -> String {
        match self.owner {
            CollectionOwner::System => format!("auto({})", self.name),
            _ => format!("collection/{}/{}", self.owner_handle, self.name),
        }
    }
}

/// A name that stands for a model reference (`claude-*` → `collection/coding`).
pub struct Alias {
    pub id: String,
    pub owner: Owner,
    pub owner_handle: String,
    /// Exact, or a glob where `*` matches any run of characters.
    pub name: String,
    pub target: String,
}

impl Alias {
    pub fn is_glob(&self) -> bool {
        self.name.contains('*')
    }

    pub fn matches(&self, model: &str) -> bool {
        if self.is_glob() {
            glob_match(&self.name, model)
        } else {
            self.name == model
        }
    }

    /// How the alias reads in `explain` and error messages.
    pub fn describe(&self) -> String {
        format!(
            "{} → {} (alias of {})",
            self.name, self.target, self.owner_handle
        )
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Prompt tokens read from the provider's cache (`None`: the input price).
    pub cached_input_per_mtok: Option<f64>,
    /// Prompt tokens written to the provider's cache (`None`: the input price).
    pub cache_write_per_mtok: Option<f64>,
}

/// Budgets of users and organizations (see [`crate::budgets`]); key budgets travel
/// with the key.
#[derive(Debug, Default)]
pub struct SpendBudgets {
    /// user id → the user's budget.
    pub users: HashMap<String, Budget>,
    /// organization id → the budget of what its connections serve.
    pub organizations: HashMap<String, Budget>,
    /// organization id → each member's budget on its connections.
    pub members: HashMap<String, Budget>,
}

impl SpendBudgets {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.organizations.is_empty() && self.members.is_empty()
    }
}

/// A member's choices about one organization's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipPrefs {
    /// Its connections may serve the member's un-namespaced `provider/model` requests.
    pub serve_unqualified: bool,
    /// Its `prefer_score`s compete with the member's own connections (else those come first).
    pub trust_priorities: bool,
}

pub struct Snapshot {
    pub handles: HashMap<String, Owner>,
    pub orgs_of: HashMap<String, HashSet<String>>,
    /// user id → organization id → the member's choices.
    pub prefs: HashMap<String, HashMap<String, MembershipPrefs>>,
    pub provider_keys: HashSet<String>,
    /// Keys of providers flagged free by an administrator.
    pub free_providers: HashSet<String>,
    pub routes: Vec<Arc<Route>>,
    pub collections: Vec<Arc<Collection>>,
    /// provider key → model id → price (nested so lookups borrow instead of allocating).
    pub prices: HashMap<String, HashMap<String, Price>>,
    pub aliases: Vec<Arc<Alias>>,
    pub spend_budgets: SpendBudgets,
    /// People who keep their calls' bodies: user id → days (see `crate::logs::bodies`).
    pub body_capture: HashMap<String, i64>,
    generation: u64,
    built: Instant,
}

impl Snapshot {
    /// Whether `user_id` may route through `route` (the rule in [`crate::access`]).
    pub fn may_use(&self, user_id: &str, route: &Route) -> bool {
        let owner = access::Owner::of_connection(
            &route.scope,
            route.owner_user_id.as_deref(),
            route.owner_org_id.as_deref(),
        );
        owner.is_some_and(|owner| self.access(user_id, owner).may_use())
    }

    /// Whether `user_id` may call the collection (or alias) owned by `owner`.
    pub fn may_use_collection(&self, user_id: &str, owner: &CollectionOwner) -> bool {
        let owner = match owner {
            CollectionOwner::User(id) => access::Owner::User(id),
            CollectionOwner::Organization(org) => access::Owner::Organization(org),
            CollectionOwner::System => access::Owner::Platform,
        };
        self.access(user_id, owner).may_use()
    }

    /// What `user_id` may do with what `owner` owns; membership comes from the snapshot
    /// (accepted members only), so routing does no SQL.
    fn access(&self, user_id: &str, owner: access::Owner<'_>) -> access::Access {
        let member = owner.organization().is_some_and(|org| {
            self.orgs_of
                .get(user_id)
                .is_some_and(|orgs| orgs.contains(org))
        });
        access::decide(
            user_id,
            false,
            owner,
            member.then_some(app::dto::OrgRole::Member),
        )
    }

    /// The collection `name` owned by `owner_id` (`platform` for system collections).
    pub fn collection(&self, owner: &CollectionOwner, name: &str) -> Option<Arc<Collection>> {
        self.collections
            .iter()
            .find(|c| &c.owner == owner && c.name == name)
            .cloned()
    }

    /// A model `auto(free)` may pick: its provider is flagged free or its price is zero.
    pub fn is_free(&self, provider_key: &str, model: &str) -> bool {
        self.free_providers.contains(provider_key)
            || self
                .price(provider_key, model)
                .is_some_and(|p| p.input_per_mtok == 0.0 && p.output_per_mtok == 0.0)
    }

    pub fn price(&self, provider_key: &str, model: &str) -> Option<Price> {
        self.prices.get(provider_key)?.get(model).copied()
    }

    /// The member's choices about the organization `org_id` (defaults for non-members).
    pub fn prefs_of(&self, user_id: &str, org_id: &str) -> MembershipPrefs {
        self.prefs
            .get(user_id)
            .and_then(|orgs| orgs.get(org_id))
            .copied()
            .unwrap_or(MembershipPrefs {
                serve_unqualified: true,
                trust_priorities: false,
            })
    }

    /// Where `route` stands for `user_id` before priorities count: 0 for the user's own
    /// connections and those of organizations whose priorities they let compete, 1 for
    /// every other shared connection (other organizations', the platform's). A shared
    /// connection can never jump ahead of the user's own by its `prefer_score` alone.
    pub fn tier(&self, user_id: &str, route: &Route) -> u8 {
        match (&route.owner_user_id, &route.owner_org_id) {
            (Some(owner), _) if owner == user_id => 0,
            (_, Some(org)) if self.prefs_of(user_id, org).trust_priorities => 0,
            _ => 1,
        }
    }

    /// The alias `model` names for `user_id`, if any: the user's own before their
    /// organizations', an exact name before a glob, a more specific glob (more literal
    /// characters) before a looser one.
    pub fn alias_for(&self, user_id: &str, model: &str) -> Option<Arc<Alias>> {
        self.aliases
            .iter()
            .filter(|a| a.matches(model) && self.owns_or_belongs(user_id, &a.owner))
            .min_by_key(|a| {
                (
                    matches!(a.owner, Owner::Organization(_)),
                    a.is_glob(),
                    std::cmp::Reverse(a.name.len() - a.name.matches('*').count()),
                    a.owner_handle.clone(),
                    a.name.clone(),
                )
            })
            .cloned()
    }

    pub fn owns_or_belongs(&self, user_id: &str, owner: &Owner) -> bool {
        let owner = match owner {
            Owner::User(id) => access::Owner::User(id),
            Owner::Organization(org) => access::Owner::Organization(org),
        };
        self.access(user_id, owner).may_use()
    }
}

#[derive(Clone)]
pub struct RoutingCatalog {
    db: Db,
    vault: Arc<Vault>,
    changes: Changes,
    current: Arc<RwLock<Option<Arc<Snapshot>>>>,
    rebuild: Arc<tokio::sync::Mutex<()>>,
    /// Round-robin positions: kept outside the snapshots so rebuilds do not reset them.
    pub cursors: Arc<Cursors>,
    /// Budgets and latencies per connection: a new snapshot drops deleted connections'.
    limiter: Arc<crate::limits::Limiter>,
    /// The gateways' pools: a type-3 route holds its gateway's.
    relays: Arc<crate::gateways::Hub>,
}

impl RoutingCatalog {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        changes: Changes,
        limiter: Arc<crate::limits::Limiter>,
        relays: Arc<crate::gateways::Hub>,
    ) -> Self {
        Self {
            relays,
            db,
            vault,
            changes,
            current: Default::default(),
            rebuild: Default::default(),
            cursors: Default::default(),
            limiter,
        }
    }

    /// Fills each connection's `used_by` as `user_id` sees it (see [`super::used_by`]).
    pub async fn fill_used_by(
        &self,
        user_id: &str,
        connections: &mut [app::dto::ConnectionDto],
    ) -> Result<(), ApiError> {
        let snapshot = self.snapshot().await?;
        let ids: Vec<&str> = connections.iter().map(|c| c.id.as_str()).collect();
        let mut used = super::used_by(&snapshot, user_id, &ids);
        for c in connections {
            c.used_by = used.remove(&c.id).unwrap_or_default();
        }
        Ok(())
    }

    /// Names each row's connection, where it still exists and `user_id` may use it.
    pub async fn fill_connection_names(
        &self,
        user_id: &str,
        logs: &mut [app::dto::RequestLogDto],
    ) -> Result<(), ApiError> {
        let snapshot = self.snapshot().await?;
        let names: std::collections::HashMap<&str, &str> = snapshot
            .routes
            .iter()
            .filter(|r| snapshot.may_use(user_id, r))
            .map(|r| (r.id.as_str(), r.name.as_str()))
            .collect();
        for row in logs {
            row.connection_name = row
                .connection_id
                .as_deref()
                .and_then(|id| names.get(id))
                .map(|n| (*n).to_owned());
        }
        Ok(())
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn store(&self, snapshot: Arc<Snapshot>) {
        let live: HashSet<&str> = snapshot.routes.iter().map(|r| r.id.as_str()).collect();
        self.limiter.retain_connections(&live);
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
        let mut prefs: HashMap<String, HashMap<String, MembershipPrefs>> = HashMap::new();
        for m in db::orgs::all_memberships(pool)
            .await
            .map_err(StoreError::from)?
        {
            orgs_of
                .entry(m.user_id.clone())
                .or_default()
                .insert(m.org_id.clone());
            prefs.entry(m.user_id).or_default().insert(
                m.org_id,
                MembershipPrefs {
                    serve_unqualified: m.serve_unqualified.0,
                    trust_priorities: m.trust_priorities.0,
                },
            );
        }
        let providers = providers::list(&self.db).await?;
        let families: HashMap<String, (ApiFamily, bool)> = providers
            .iter()
            .map(|p| (p.id.clone(), (p.family, p.allow_private)))
            .collect();
        let free_providers = providers
            .iter()
            .filter(|p| p.free && p.enabled)
            .map(|p| p.key.clone())
            .collect();
        let provider_keys = providers.into_iter().map(|p| p.key).collect();
        let collections = self.collections().await?;
        let aliases = db::aliases::all(pool)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|a| {
                Arc::new(Alias {
                    owner: if a.owner_kind == "organization" {
                        Owner::Organization(a.owner_id)
                    } else {
                        Owner::User(a.owner_id)
                    },
                    id: a.id,
                    owner_handle: a.owner_handle,
                    name: a.name,
                    target: a.target,
                })
            })
            .collect();
        let mut spend_budgets = SpendBudgets::default();
        for b in db::budgets::all(pool).await.map_err(StoreError::from)? {
            let Some(period) = Period::parse(&b.period) else {
                continue;
            };
            let budget = Budget { usd: b.usd, period };
            let map = match b.scope.as_str() {
                "user" => &mut spend_budgets.users,
                "organization" => &mut spend_budgets.organizations,
                "member" => &mut spend_budgets.members,
                _ => continue,
            };
            map.insert(b.owner_id, budget);
        }
        let body_capture: HashMap<String, i64> = db::bodies::settings(pool)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .collect();
        let mut prices: HashMap<String, HashMap<String, Price>> = HashMap::new();
        for p in db::collections::prices(pool)
            .await
            .map_err(StoreError::from)?
        {
            prices.entry(p.provider_key).or_default().insert(
                p.model_id,
                Price {
                    input_per_mtok: p.input_per_mtok,
                    output_per_mtok: p.output_per_mtok,
                    cached_input_per_mtok: p.cached_input_per_mtok,
                    cache_write_per_mtok: p.cache_write_per_mtok,
                },
            );
        }
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
            let Some((family, provider_allows_private)) = families.get(&row.provider_id).copied()
            else {
                continue;
            };
            let header_values = axum::http::HeaderValue::from_str(&row.id)
                .ok()
                .zip(axum::http::HeaderValue::from_str(&row.provider_key).ok());
            let relay = self
                .relays
                .relay(row.gateway_id.as_deref(), row.gateway_upstream.as_deref());
            routes.push(Arc::new(Route {
                relay,
                header_values,
                family,
                models: models.remove(&row.id).unwrap_or_default(),
                config: serde_json::from_str(&row.config).unwrap_or_default(),
                credentials,
                timeouts: crate::providers::Timeouts::from_ms(
                    row.timeout_ms,
                    row.connect_timeout_ms,
                    row.idle_timeout_ms,
                    row.max_duration_ms,
                ),
                max_retries: u32::try_from(row.max_retries).unwrap_or(0),
                allow_fallback: row.allow_fallback.0,
                allow_private: row.allow_private.0 || provider_allows_private,
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
                rpd: row.rate_limit_rpd,
                cooldown_until: row.cooldown_until,
            }));
        }
        Ok(Snapshot {
            handles,
            orgs_of,
            prefs,
            provider_keys,
            free_providers,
            routes,
            collections,
            prices,
            spend_budgets,
            body_capture,
            aliases,
            generation,
            built: Instant::now(),
        })
    }

    async fn collections(&self) -> Result<Vec<Arc<Collection>>, ApiError> {
        let pool = &self.db.pool;
        let mut members: HashMap<String, Vec<Member>> = HashMap::new();
        for m in db::collections::all_members(pool)
            .await
            .map_err(StoreError::from)?
        {
            members.entry(m.collection_id).or_default().push(Member {
                reference: m.model_ref,
                weight: m
                    .weight
                    .filter(|w| w.is_finite() && *w > 0.0)
                    .unwrap_or(1.0),
            });
        }
        let mut out = Vec::new();
        for row in db::collections::all(pool).await.map_err(StoreError::from)? {
            let Some(strategy) = Strategy::parse(&row.strategy) else {
                tracing::error!(collection_id = %row.id, strategy = %row.strategy, "unknown strategy; collection not routable");
                continue;
            };
            let owner = match row.owner_kind.as_str() {
                "user" => CollectionOwner::User(row.owner_id),
                "organization" => CollectionOwner::Organization(row.owner_id),
                _ => CollectionOwner::System,
            };
            out.push(Arc::new(Collection {
                members: members.remove(&row.id).unwrap_or_default(),
                id: row.id,
                name: row.name,
                strategy,
                owner,
                owner_handle: row.owner_handle,
                max_price_usd: row.max_price_usd,
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob_match("claude-*", "claude-opus-4-8"));
        assert!(glob_match("*-codex", "gpt-5-codex"));
        assert!(glob_match("claude-*-4-*", "claude-opus-4-8"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("claude-*", "gpt-4o"));
        assert!(!glob_match("a*b", "ab-c"));
        assert!(glob_match("a*b", "ab"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    }
}
