//! Connections: a user's, an organization's or the platform's stored credential for one
//! provider. Access: an individual connection is its owner's alone; organization members
//! use their organization's and its admins change them; everyone uses platform
//! connections and platform admins change them. Anyone else is told it does not exist.

use std::{collections::BTreeMap, sync::Arc};

use app::dto::{
    AuditDto, ConnectionDetailDto, ConnectionDto, ConnectionUpdateDto, ModelDto, NewConnectionDto,
    OwnerDto, ProviderRef, RateLimits,
};

use super::credentials::{Credentials, SealedCredentials};
use super::providers::{self, non_empty, Provider};
use super::{Actor, CatalogError};
use crate::access::{self, Owner};
use crate::changes::Changes;
use crate::clock::{now_ms, rfc3339};
use crate::db::{
    self, connections::SealedColumns, connections::SqlConnection, Db, Flag, StoreError,
};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::vault::Vault;
use app::dto::OrgRole;

pub const SCOPE_INDIVIDUAL: &str = "individual";
pub const SCOPE_ORGANIZATION: &str = "organization";
pub const SCOPE_PLATFORM: &str = "platform";

/// Query filters of `GET /api/connections`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConnectionFilter {
    pub provider_id: Option<String>,
    pub provider: Option<String>,
    pub gateway_type: Option<i64>,
    pub status: Option<String>,
    pub scope: Option<String>,
}

#[derive(Clone)]
pub struct Connections {
    pub(super) db: Db,
    pub(super) vault: Arc<Vault>,
    pub(super) outbound: Arc<crate::outbound::Outbound>,
    pub(super) locks: super::health::TestLocks,
    pub(super) pace: super::health::TestPace,
    pub(super) changes: Changes,
    /// Told when a check or a call fails or recovers a connection.
    pub(super) notifications: crate::notify::Notifications,
}

/// A connection with the caller's right to change it.
pub struct Accessible {
    pub row: SqlConnection,
    pub can_edit: bool,
}

impl Connections {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        outbound: Arc<crate::outbound::Outbound>,
        changes: Changes,
        notifications: crate::notify::Notifications,
        manual_test_interval: std::time::Duration,
    ) -> Self {
        Self {
            db,
            vault,
            outbound,
            locks: Default::default(),
            pace: super::health::TestPace::new(manual_test_interval),
            changes,
            notifications,
        }
    }

    /// The connection if `actor` may use it; `NotEditable` when `edit` is asked and they may not.
    pub async fn load(&self, actor: &Actor, id: &str, edit: bool) -> Result<Accessible, ApiError> {
        let not_found = || CatalogError::ConnectionNotFound(id.to_owned());
        let row = db::connections::find(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(not_found)?;
        let owner = Owner::of_connection(
            &row.scope,
            row.owner_user_id.as_deref(),
            row.owner_org_id.as_deref(),
        );
        let access = access::require(&self.db, actor, owner, edit, not_found, || {
            CatalogError::NotEditable
        })
        .await?;
        Ok(Accessible {
            row,
            can_edit: access.may_edit(),
        })
    }

    pub async fn list(
        &self,
        actor: &Actor,
        filter: &ConnectionFilter,
    ) -> Result<Vec<ConnectionDto>, ApiError> {
        let rows = db::connections::list_visible(&self.db.pool, &actor.user_id)
            .await
            .map_err(StoreError::from)?;
        let roles: std::collections::HashMap<String, Option<OrgRole>> =
            db::orgs::list_for_user(&self.db.pool, &actor.user_id)
                .await
                .map_err(StoreError::from)?
                .into_iter()
                .map(|o| (o.id, OrgRole::parse(&o.role)))
                .collect();
        Ok(rows
            .into_iter()
            .filter(|r| {
                filter
                    .provider_id
                    .as_ref()
                    .is_none_or(|p| &r.provider_id == p)
            })
            .filter(|r| {
                filter
                    .provider
                    .as_ref()
                    .is_none_or(|p| &r.provider_key == p)
            })
            .filter(|r| filter.gateway_type.is_none_or(|g| r.gateway_type == g))
            .filter(|r| filter.status.as_ref().is_none_or(|s| &r.status == s))
            .filter(|r| filter.scope.as_ref().is_none_or(|s| &r.scope == s))
            .map(|r| {
                let owner = Owner::of_connection(
                    &r.scope,
                    r.owner_user_id.as_deref(),
                    r.owner_org_id.as_deref(),
                );
                let role = r
                    .owner_org_id
                    .as_ref()
                    .and_then(|org| roles.get(org).copied().flatten());
                let can_edit = owner.is_some_and(|owner| {
                    access::decide(&actor.user_id, actor.is_admin, owner, role).may_edit()
                });
                to_dto(r, can_edit)
            })
            .collect())
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<ConnectionDto, ApiError> {
        let a = self.load(actor, id, false).await?;
        Ok(to_dto(a.row, a.can_edit))
    }

    pub async fn detail(&self, actor: &Actor, id: &str) -> Result<ConnectionDetailDto, ApiError> {
        let a = self.load(actor, id, false).await?;
        let models = self.models_of(id).await?;
        let tests = db::connections::tests(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(super::health::test_dto)
            .collect();
        let audit = db::connections::audit(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|a| AuditDto {
                action: a.action,
                actor: a.actor_handle,
                detail: a.detail,
                created_at: rfc3339(a.created_at),
            })
            .collect();
        Ok(ConnectionDetailDto {
            connection: to_dto(a.row, a.can_edit),
            models,
            tests,
            audit,
        })
    }

    /// Checks a create request and resolves everything it names, without storing anything.
    pub(super) async fn prepare(
        &self,
        actor: &Actor,
        req: &NewConnectionDto,
    ) -> Result<Prepared, ApiError> {
        let provider = providers::resolve(
            &self.db,
            req.provider.as_deref(),
            req.provider_id.as_deref(),
        )
        .await?;
        let name = non_empty(&req.name, "name")?;
        let credentials =
            credentials_for(&provider, req.api_key.as_deref(), req.credentials.as_ref())?;
        let config = config_for(&provider, req.config.as_ref())?;
        let endpoint_url = endpoint_for(&provider, req.endpoint_url.as_deref(), &config)?;
        if req.allow_private == Some(true) && !actor.is_admin {
            return Err(CatalogError::AdminOnly.into());
        }
        // Platform admins may point a connection at private addresses; it is recorded on
        // the connection, and anyone else's endpoint is held to the outbound policy.
        let allow_private = actor.is_admin && req.allow_private != Some(false);
        self.check_endpoint(&endpoint_url, allow_private || provider.allow_private)
            .await?;
        for url in config_urls(&config) {
            self.check_endpoint(url, allow_private || provider.allow_private)
                .await?;
        }
        let scope = req.scope.as_deref().unwrap_or(SCOPE_INDIVIDUAL).to_owned();
        let (owner_user_id, owner_org_id) = match scope.as_str() {
            SCOPE_INDIVIDUAL => (Some(actor.user_id.clone()), None),
            SCOPE_ORGANIZATION => {
                let handle = req
                    .organization
                    .as_deref()
                    .ok_or_else(|| CatalogError::MissingField("organization".into()))?;
                let org = access::organization_to_own(&self.db, actor, handle.trim()).await?;
                (None, Some(org.id))
            }
            SCOPE_PLATFORM if actor.is_admin => (None, None),
            SCOPE_PLATFORM => return Err(CatalogError::AdminOnly.into()),
            other => {
                return Err(CatalogError::Invalid {
                    field: "scope",
                    message: format!(
                        "scope must be individual, organization or platform, not {other:?}"
                    ),
                }
                .into())
            }
        };
        let prefer_score = req.prefer_score.unwrap_or(match scope.as_str() {
            SCOPE_INDIVIDUAL => 100,
            SCOPE_ORGANIZATION => 50,
            _ => 0,
        });
        let limits = Limits {
            rpm: check_limit(req.rate_limit_rpm, "rate_limit_rpm")?,
            tpm: check_limit(req.rate_limit_tpm, "rate_limit_tpm")?,
            rpd: check_limit(req.rate_limit_rpd, "rate_limit_rpd")?,
            prefer_score: check_range(prefer_score, -10_000, 10_000, "prefer_score")?,
            timeout_ms: check_range(req.timeout_ms.unwrap_or(30_000), 100, 600_000, "timeout_ms")?,
            connect_timeout_ms: check_timeout(req.connect_timeout_ms, CONNECT_TIMEOUT)?,
            idle_timeout_ms: check_timeout(req.idle_timeout_ms, IDLE_TIMEOUT)?,
            max_duration_ms: check_timeout(req.max_duration_ms, MAX_DURATION)?,
            max_retries: check_range(req.max_retries.unwrap_or(2), 0, 10, "max_retries")?,
        };
        Ok(Prepared {
            provider,
            name,
            description: req
                .description
                .clone()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            credentials,
            config,
            endpoint_url,
            scope,
            owner_user_id,
            owner_org_id,
            limits,
            allow_fallback: req.allow_fallback.unwrap_or(true),
            allow_private,
        })
    }

    /// Holds an endpoint to the outbound policy, naming the field.
    async fn check_endpoint(&self, url: &str, allowed: bool) -> Result<(), CatalogError> {
        crate::outbound::check_endpoint(url, self.outbound.private_allowed(allowed))
            .await
            .map_err(|e| CatalogError::Invalid {
                field: "endpoint_url",
                message: e.to_string(),
            })
    }

    pub async fn create(
        &self,
        actor: &Actor,
        req: &NewConnectionDto,
    ) -> Result<ConnectionDto, ApiError> {
        let p = self.prepare(actor, req).await?;
        let id = new_id("conn");
        let sealed = p
            .credentials
            .seal(&self.vault, &id, primary_field(&p.provider))?;
        let now = now_ms();
        let row = SqlConnection {
            id: id.clone(),
            name: p.name,
            description: p.description,
            provider_id: p.provider.id.clone(),
            endpoint_url: p.endpoint_url,
            gateway_type: p.provider.gateway_type,
            status: "active".into(),
            scope: p.scope,
            owner_user_id: p.owner_user_id,
            owner_org_id: p.owner_org_id,
            rate_limit_rpm: p.limits.rpm,
            rate_limit_tpm: p.limits.tpm,
            rate_limit_rpd: p.limits.rpd,
            prefer_score: p.limits.prefer_score,
            allow_fallback: Flag(p.allow_fallback),
            allow_private: Flag(p.allow_private),
            timeout_ms: p.limits.timeout_ms,
            connect_timeout_ms: p.limits.connect_timeout_ms,
            idle_timeout_ms: p.limits.idle_timeout_ms,
            max_duration_ms: p.limits.max_duration_ms,
            max_retries: p.limits.max_retries,
            config: serde_json::to_string(&p.config)
                .map_err(|e| StoreError::Internal(e.to_string()))?,
            credential_mask: sealed.mask,
            sealed_key_id: sealed.key_id,
            sealed_nonce: sealed.nonce,
            sealed_credentials: sealed.ciphertext,
            last_health_check_at: None,
            last_error: None,
            cooldown_until: None,
            created_by: actor.user_id.clone(),
            created_at: now,
            updated_at: now,
            gateway_id: None,
            gateway_upstream: None,
            provider_key: String::new(),
            provider_name: String::new(),
            api_family: String::new(),
            owner_handle: String::new(),
            model_count: 0,
        };
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        db::connections::insert(&mut tx, &row)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        self.audit(
            Some(actor),
            "create",
            &id,
            &format!(
                "created {} connection \"{}\" ({})",
                p.provider.name, row.name, row.scope
            ),
        )
        .await?;
        self.get(actor, &id).await
    }

    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        change: &ConnectionUpdateDto,
    ) -> Result<ConnectionDto, ApiError> {
        let Accessible { mut row, .. } = self.load(actor, id, true).await?;
        let hosts_before = bound_hosts(&row.endpoint_url, &row.config);
        let mut changed = Vec::new();
        let mut action = "edit";
        if let Some(name) = &change.name {
            row.name = non_empty(name, "name")?;
            changed.push("name");
        }
        if let Some(d) = &change.description {
            row.description = d.trim().to_owned();
            changed.push("description");
        }
        let provider = self.provider_of(&row).await?;
        if change.allow_private.is_some() && !actor.is_admin {
            return Err(CatalogError::AdminOnly.into());
        }
        if row.gateway_id.is_some() && (change.endpoint_url.is_some() || change.config.is_some()) {
            return Err(super::relayed::held_by_agent("endpoint_url").into());
        }
        if let Some(url) = &change.endpoint_url {
            let url = check_url(url)?;
            if url != row.endpoint_url {
                // Whoever moves the endpoint decides what it may reach.
                row.allow_private = Flag(actor.is_admin && change.allow_private != Some(false));
                self.check_endpoint(&url, row.allow_private.0 || provider.allow_private)
                    .await?;
                row.endpoint_url = url;
                changed.push("endpoint_url");
            }
        }
        if let Some(allow) = change.allow_private {
            row.allow_private = Flag(allow);
            changed.push("allow_private");
        }
        if let Some(status) = &change.status {
            match status.as_str() {
                "active" | "inactive" => {}
                other => {
                    return Err(CatalogError::Invalid {
                        field: "status",
                        message: format!("status can be set to active or inactive, not {other:?}"),
                    }
                    .into())
                }
            }
            if *status != row.status {
                action = if status == "inactive" {
                    "disable"
                } else {
                    "enable"
                };
                row.status = status.clone();
                if status == "active" {
                    row.cooldown_until = None;
                }
            }
            changed.push("status");
        }
        if let Some(rpm) = change.rate_limit_rpm {
            row.rate_limit_rpm = check_limit(rpm, "rate_limit_rpm")?;
            changed.push("rate_limit_rpm");
        }
        if let Some(tpm) = change.rate_limit_tpm {
            row.rate_limit_tpm = check_limit(tpm, "rate_limit_tpm")?;
            changed.push("rate_limit_tpm");
        }
        if let Some(rpd) = change.rate_limit_rpd {
            row.rate_limit_rpd = check_limit(rpd, "rate_limit_rpd")?;
            changed.push("rate_limit_rpd");
        }
        if let Some(score) = change.prefer_score {
            row.prefer_score = check_range(score, -10_000, 10_000, "prefer_score")?;
            changed.push("prefer_score");
        }
        if let Some(v) = change.allow_fallback {
            row.allow_fallback = Flag(v);
            changed.push("allow_fallback");
        }
        if let Some(t) = change.timeout_ms {
            row.timeout_ms = check_range(t, 100, 600_000, "timeout_ms")?;
            changed.push("timeout_ms");
        }
        for (value, bounds, slot) in [
            (
                change.connect_timeout_ms,
                CONNECT_TIMEOUT,
                &mut row.connect_timeout_ms,
            ),
            (
                change.idle_timeout_ms,
                IDLE_TIMEOUT,
                &mut row.idle_timeout_ms,
            ),
            (
                change.max_duration_ms,
                MAX_DURATION,
                &mut row.max_duration_ms,
            ),
        ] {
            if let Some(v) = value {
                *slot = check_timeout(v, bounds)?;
                changed.push(bounds.0);
            }
        }
        if let Some(r) = change.max_retries {
            row.max_retries = check_range(r, 0, 10, "max_retries")?;
            changed.push("max_retries");
        }
        if let Some(cfg) = &change.config {
            let config = config_for(&provider, Some(cfg))?;
            for url in config_urls(&config) {
                self.check_endpoint(url, row.allow_private.0 || provider.allow_private)
                    .await?;
            }
            row.config =
                serde_json::to_string(&config).map_err(|e| StoreError::Internal(e.to_string()))?;
            changed.push("config");
        }
        // A stored credential stays bound to the hosts it was entered for (the endpoint,
        // and any URL setting such as Bedrock's runtime endpoint): sending requests to a
        // new host needs the credential again, and the old one goes.
        let hosts_after = bound_hosts(&row.endpoint_url, &row.config);
        let mut new_credentials = None;
        if !hosts_after.is_subset(&hosts_before) {
            if change.api_key.is_none() && change.credentials.is_none() {
                return Err(CatalogError::Invalid {
                    field: "api_key",
                    message: "the connection would send requests to another host: enter the credential again (the stored one stays with the old host and is discarded)".into(),
                }
                .into());
            }
            new_credentials = Some(credentials_for(
                &provider,
                change.api_key.as_deref(),
                change.credentials.as_ref(),
            )?);
        }
        row.updated_at = now_ms();
        db::connections::update_settings(&self.db.pool, &row)
            .await
            .map_err(StoreError::from)?;
        if let Some(credentials) = new_credentials {
            let sealed = credentials.seal(&self.vault, id, primary_field(&provider))?;
            store_sealed(&self.db, id, &sealed).await?;
            self.audit(
                Some(actor),
                "update_key",
                id,
                &format!(
                    "requests now go to {}: the old credential was discarded, the new one is {}",
                    hosts_after.into_iter().collect::<Vec<_>>().join(", "),
                    sealed.mask
                ),
            )
            .await?;
        }
        if action == "edit" {
            self.audit(
                Some(actor),
                "edit",
                id,
                &format!("changed {}", changed.join(", ")),
            )
            .await?;
        } else {
            self.audit(
                Some(actor),
                action,
                id,
                &format!("{action}d the connection"),
            )
            .await?;
        }
        self.get(actor, id).await
    }

    /// Replaces the credential; the connection keeps its id, models and settings.
    pub async fn update_key(
        &self,
        actor: &Actor,
        id: &str,
        api_key: Option<&str>,
        fields: Option<&BTreeMap<String, String>>,
    ) -> Result<(), ApiError> {
        let Accessible { row, .. } = self.load(actor, id, true).await?;
        if row.gateway_id.is_some() {
            return Err(super::relayed::held_by_agent("api_key").into());
        }
        let provider = self.provider_of(&row).await?;
        let credentials = credentials_for(&provider, api_key, fields)?;
        let sealed = credentials.seal(&self.vault, id, primary_field(&provider))?;
        store_sealed(&self.db, id, &sealed).await?;
        self.audit(
            Some(actor),
            "update_key",
            id,
            &format!("credential replaced (now {})", sealed.mask),
        )
        .await
    }

    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<i64, ApiError> {
        let Accessible { row, .. } = self.load(actor, id, true).await?;
        db::connections::delete(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?;
        self.audit(
            Some(actor),
            "delete",
            id,
            &format!(
                "deleted connection \"{}\" and its {} models",
                row.name, row.model_count
            ),
        )
        .await?;
        Ok(row.model_count)
    }

    pub async fn models(&self, actor: &Actor, id: &str) -> Result<Vec<ModelDto>, ApiError> {
        self.load(actor, id, false).await?;
        self.models_of(id).await
    }

    async fn models_of(&self, id: &str) -> Result<Vec<ModelDto>, ApiError> {
        Ok(db::connections::models(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|m| ModelDto {
                id: m.model_id,
                display_name: m.display_name,
                source: m.source,
                enabled: m.enabled.0,
                created_at: rfc3339(m.created_at),
            })
            .collect())
    }

    pub async fn add_model(
        &self,
        actor: &Actor,
        id: &str,
        model_id: &str,
        display_name: Option<&str>,
    ) -> Result<ModelDto, ApiError> {
        self.load(actor, id, true).await?;
        let model_id = model_id.trim();
        if model_id.is_empty() || model_id.len() > 200 {
            return Err(CatalogError::Invalid {
                field: "id",
                message: "model id must be 1–200 characters".into(),
            }
            .into());
        }
        let display = display_name
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(model_id);
        let now = now_ms();
        match db::connections::add_manual_model(&self.db.pool, id, model_id, display, now).await {
            Ok(()) => {}
            Err(e) if db::is_unique_violation(&e) => {
                return Err(CatalogError::DuplicateModel(model_id.to_owned()).into())
            }
            Err(e) => return Err(StoreError::from(e).into()),
        }
        self.audit(
            Some(actor),
            "add_model",
            id,
            &format!("added model {model_id}"),
        )
        .await?;
        Ok(ModelDto {
            id: model_id.into(),
            display_name: display.into(),
            source: "manual".into(),
            enabled: true,
            created_at: rfc3339(now),
        })
    }

    pub(super) async fn provider_of(&self, row: &SqlConnection) -> Result<Provider, ApiError> {
        providers::find(&self.db, &row.provider_id)
            .await?
            .ok_or_else(|| CatalogError::ProviderNotFound(row.provider_id.clone()).into())
    }

    /// Records an audit row. Every change to a connection passes here, so it also tells the
    /// routing snapshot to rebuild.
    pub(super) async fn audit(
        &self,
        actor: Option<&Actor>,
        action: &str,
        id: &str,
        detail: &str,
    ) -> Result<(), ApiError> {
        self.changes.bump();
        db::connections::insert_audit(
            &self.db.pool,
            &new_id("audit"),
            actor.map(|a| a.user_id.as_str()),
            action,
            id,
            detail,
            now_ms(),
        )
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    /// Re-seals every credential not yet under the vault's current key. Returns how many.
    pub async fn reseal_all(&self) -> Result<usize, ApiError> {
        let rows = db::connections::list_all(&self.db.pool)
            .await
            .map_err(StoreError::from)?;
        let mut count = 0;
        for row in rows
            .iter()
            .filter(|r| r.sealed_key_id != self.vault.key_id())
        {
            let provider = self.provider_of(row).await?;
            let credentials = Credentials::open(&self.vault, row)?;
            let sealed = credentials.seal(&self.vault, &row.id, primary_field(&provider))?;
            let columns = SealedColumns {
                mask: &sealed.mask,
                key_id: &sealed.key_id,
                nonce: &sealed.nonce,
                ciphertext: &sealed.ciphertext,
            };
            if db::connections::reseal(&self.db.pool, &row.id, &row.sealed_key_id, &columns)
                .await
                .map_err(StoreError::from)?
            {
                count += 1;
            }
        }
        Ok(count)
    }
}

pub(super) struct Limits {
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub rpd: Option<i64>,
    pub prefer_score: i64,
    pub timeout_ms: i64,
    pub connect_timeout_ms: Option<i64>,
    pub idle_timeout_ms: Option<i64>,
    pub max_duration_ms: Option<i64>,
    pub max_retries: i64,
}

/// An optional timeout's field name and bounds in milliseconds.
type TimeoutBounds = (&'static str, i64, i64);
const CONNECT_TIMEOUT: TimeoutBounds = ("connect_timeout_ms", 100, 60_000);
const IDLE_TIMEOUT: TimeoutBounds = ("idle_timeout_ms", 100, 600_000);
const MAX_DURATION: TimeoutBounds = ("max_duration_ms", 1_000, 86_400_000);

/// An optional timeout within its bounds (`None`: the default).
fn check_timeout(
    value: Option<i64>,
    (field, min, max): TimeoutBounds,
) -> Result<Option<i64>, CatalogError> {
    value.map(|v| check_range(v, min, max, field)).transpose()
}

/// A validated create request.
pub(super) struct Prepared {
    pub provider: Provider,
    pub name: String,
    pub description: String,
    pub credentials: Credentials,
    pub config: BTreeMap<String, String>,
    pub endpoint_url: String,
    pub scope: String,
    pub owner_user_id: Option<String>,
    pub owner_org_id: Option<String>,
    pub limits: Limits,
    pub allow_fallback: bool,
    pub allow_private: bool,
}

async fn store_sealed(db: &Db, id: &str, sealed: &SealedCredentials) -> Result<(), ApiError> {
    let columns = SealedColumns {
        mask: &sealed.mask,
        key_id: &sealed.key_id,
        nonce: &sealed.nonce,
        ciphertext: &sealed.ciphertext,
    };
    db::connections::update_credentials(&db.pool, id, &columns, now_ms())
        .await
        .map_err(StoreError::from)?;
    Ok(())
}

fn primary_field(provider: &Provider) -> &str {
    provider
        .credential_fields
        .first()
        .map(|f| f.name.as_str())
        .unwrap_or("api_key")
}

/// The provider's credential fields from `api_key` and/or `credentials`: every required
/// one present, nothing the provider does not know.
pub(super) fn credentials_for(
    provider: &Provider,
    api_key: Option<&str>,
    fields: Option<&BTreeMap<String, String>>,
) -> Result<Credentials, CatalogError> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in fields.into_iter().flatten() {
        if !provider.credential_fields.iter().any(|f| &f.name == name) {
            return Err(CatalogError::UnknownField(name.clone()));
        }
        values.insert(name.clone(), value.trim().to_owned());
    }
    if let Some(key) = api_key {
        if !provider
            .credential_fields
            .iter()
            .any(|f| f.name == "api_key")
        {
            return Err(CatalogError::UnknownField("api_key".into()));
        }
        values.insert("api_key".into(), key.trim().to_owned());
    }
    values.retain(|_, v| !v.is_empty());
    // A secret with a control character in it would be sent inside a header: refuse it
    // (the value itself is never echoed).
    if let Some(name) = values
        .iter()
        .find(|(_, v)| v.chars().any(char::is_control))
        .map(|(name, _)| name)
    {
        return Err(CatalogError::Invalid {
            field: "credentials",
            message: format!(
                "Credential '{name}' contains a control character (a pasted line break or tab?)"
            ),
        });
    }
    for f in provider.credential_fields.iter().filter(|f| f.required) {
        if !values.contains_key(&f.name) {
            return Err(CatalogError::MissingField(f.name.clone()));
        }
    }
    Ok(Credentials::new(values))
}

pub(super) fn config_for(
    provider: &Provider,
    given: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, CatalogError> {
    let mut values = BTreeMap::new();
    for (name, value) in given.into_iter().flatten() {
        if !provider.config_fields.iter().any(|f| &f.name == name) {
            return Err(CatalogError::UnknownField(name.clone()));
        }
        if !value.trim().is_empty() {
            values.insert(name.clone(), value.trim().to_owned());
        }
    }
    for f in &provider.config_fields {
        if !values.contains_key(&f.name) {
            match (&f.default, f.required) {
                (Some(default), _) => {
                    values.insert(f.name.clone(), default.clone());
                }
                (None, true) => return Err(CatalogError::MissingField(f.name.clone())),
                (None, false) => {}
            }
        }
    }
    Ok(values)
}

pub(super) fn endpoint_for(
    provider: &Provider,
    given: Option<&str>,
    config: &BTreeMap<String, String>,
) -> Result<String, CatalogError> {
    match given.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => check_url(url),
        None => {
            let url = provider.default_endpoint(config);
            if url.is_empty() || url.contains('{') {
                Err(CatalogError::MissingField("endpoint_url".into()))
            } else {
                Ok(url)
            }
        }
    }
}

/// The `*_url` settings of a connection's config (endpoints too, e.g. Bedrock's
/// `runtime_endpoint_url`).
fn config_urls(config: &BTreeMap<String, String>) -> impl Iterator<Item = &str> {
    config
        .iter()
        .filter(|(name, _)| name.ends_with("_url"))
        .map(|(_, url)| url.as_str())
}

/// Every host a connection sends its credential to: the endpoint's and those of its URL
/// settings.
fn bound_hosts(endpoint_url: &str, config_json: &str) -> std::collections::BTreeSet<String> {
    let config: BTreeMap<String, String> = serde_json::from_str(config_json).unwrap_or_default();
    std::iter::once(endpoint_url)
        .chain(config_urls(&config))
        .filter_map(host_of)
        .collect()
}

/// The host (and port) an endpoint URL names, which a credential is bound to.
fn host_of(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}:{}",
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default().unwrap_or(0)
    ))
}

fn check_url(url: &str) -> Result<String, CatalogError> {
    let url = url.trim().trim_end_matches('/');
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if scheme_ok && url.len() > "https://".len() && !url.chars().any(char::is_whitespace) {
        Ok(url.to_owned())
    } else {
        Err(CatalogError::Invalid {
            field: "endpoint_url",
            message: format!("endpoint_url must be an http(s) URL, not {url:?}"),
        })
    }
}

fn check_limit(value: Option<i64>, field: &'static str) -> Result<Option<i64>, CatalogError> {
    match value {
        Some(v) if v < 1 => Err(CatalogError::Invalid {
            field,
            message: format!("{field} must be at least 1 (or null for unlimited)"),
        }),
        other => Ok(other),
    }
}

fn check_range(value: i64, min: i64, max: i64, field: &'static str) -> Result<i64, CatalogError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(CatalogError::Invalid {
            field,
            message: format!("{field} must be between {min} and {max}"),
        })
    }
}

pub fn to_dto(row: SqlConnection, can_edit: bool) -> ConnectionDto {
    let config: BTreeMap<String, String> = serde_json::from_str(&row.config).unwrap_or_default();
    let owner = match row.scope.as_str() {
        SCOPE_INDIVIDUAL => OwnerDto {
            kind: "user".into(),
            id: row.owner_user_id.clone(),
            handle: row.owner_handle.clone(),
        },
        SCOPE_ORGANIZATION => OwnerDto {
            kind: "organization".into(),
            id: row.owner_org_id.clone(),
            handle: row.owner_handle.clone(),
        },
        _ => OwnerDto {
            kind: "platform".into(),
            id: None,
            handle: "platform".into(),
        },
    };
    let rate_limited_until = row
        .cooldown_until
        .filter(|_| row.status == "rate_limited")
        .map(rfc3339);
    ConnectionDto {
        id: row.id,
        name: row.name,
        description: row.description,
        provider: ProviderRef {
            id: row.provider_id,
            key: row.provider_key,
            name: row.provider_name,
        },
        endpoint_url: row.endpoint_url,
        gateway_type: row.gateway_type,
        status: row.status,
        scope: row.scope,
        owner,
        model_count: row.model_count,
        rate_limits: RateLimits {
            rpm: row.rate_limit_rpm,
            tpm: row.rate_limit_tpm,
            rpd: row.rate_limit_rpd,
        },
        prefer_score: row.prefer_score,
        allow_fallback: row.allow_fallback.0,
        allow_private: row.allow_private.0,
        timeout_ms: row.timeout_ms,
        connect_timeout_ms: row.connect_timeout_ms,
        idle_timeout_ms: row.idle_timeout_ms,
        max_duration_ms: row.max_duration_ms,
        max_retries: row.max_retries,
        config,
        credential_mask: row.credential_mask,
        last_health_check_at: row.last_health_check_at.map(rfc3339),
        last_error: row.last_error,
        rate_limited_until,
        can_edit,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        used_by: Vec::new(),
        last_day: None,
        warning: None,
        gateway_id: row.gateway_id,
        gateway_upstream: row.gateway_upstream,
    }
}
