//! Self-hosted gateways (gateway type 3): models on a network LangMart cannot reach,
//! served through agents (`langmart gateway`) that dial out to the server over WebSocket.
//! A gateway is owned like a connection (a person, or an organization whose admins manage
//! it); its token is shown once and kept as a digest. Each upstream an agent announces
//! becomes a connection of type 3 (`catalog::relayed`), routed, limited, checked and logged
//! like any other; its requests travel over the agent's link ([`relay`]), and its
//! credentials never leave the agent.
//!
//! - [`protocol`]: the messages and frames of the link, shared with the agent.
//! - [`hub`]: the agents connected to this process, by gateway.
//! - [`relay`]: a provider request sent through an agent.
//! - `link`: the server's end of one agent's WebSocket.
//! - [`agent`]: the `langmart gateway` program.

pub mod agent;
pub mod hub;
mod link;
pub mod protocol;
pub mod relay;

use std::{sync::Arc, time::Duration};

use app::dto::{
    CreatedGatewayDto, GatewayAgentDto, GatewayDetailDto, GatewayDto, GatewayEventDto,
    NewGatewayDto, OwnerDto,
};
use axum::http::StatusCode;

use crate::access::{self, Access, Owner};
use crate::catalog::{Actor, Connections};
use crate::clock::{now_ms, rfc3339};
use crate::db::{gateways::SqlGateway, gateways::SqlGatewayEvent, Db, StoreError};
use crate::error::{codes, ApiError, Coded};
use crate::ids::{new_id, random_base62};

pub use hub::Hub;
pub use link::connect;

/// The prefix of a gateway token.
pub const TOKEN_PREFIX: &str = "lmg_";
/// Events kept for the console's timeline.
const EVENT_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("Gateway {0} not found")]
    NotFound(String),
    #[error("You may see this gateway but not change it")]
    NotEditable,
    #[error("{0}")]
    InvalidName(String),
}

impl Coded for GatewayError {
    fn code(&self) -> &'static str {
        match self {
            GatewayError::NotFound(_) => codes::GATEWAY_NOT_FOUND,
            GatewayError::NotEditable => codes::ACCESS_DENIED,
            GatewayError::InvalidName(_) => codes::INVALID_NAME,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::NotEditable => StatusCode::FORBIDDEN,
            GatewayError::InvalidName(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn field(&self) -> Option<&'static str> {
        matches!(self, GatewayError::InvalidName(_)).then_some("name")
    }
}

/// The gateways service: management, and the agents' arrivals and departures.
#[derive(Clone)]
pub struct Gateways {
    db: Db,
    hub: Arc<Hub>,
    connections: Connections,
    heartbeat: Duration,
    grace: Duration,
}

fn owner_of(g: &SqlGateway) -> Option<Owner<'_>> {
    match (&g.owner_user_id, &g.owner_org_id) {
        (Some(user), _) => Some(Owner::User(user)),
        (None, Some(org)) => Some(Owner::Organization(org)),
        (None, None) => None,
    }
}

/// A token's SHA-256 digest, as stored.
fn digest(token: &str) -> String {
    crate::auth::digest_key(token)
}

fn new_token() -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{}", random_base62(40));
    let hint = token.chars().take(TOKEN_PREFIX.len() + 4).collect();
    (token, hint)
}

impl Gateways {
    pub fn new(
        db: Db,
        hub: Arc<Hub>,
        connections: Connections,
        heartbeat: Duration,
        grace: Duration,
    ) -> Self {
        Gateways {
            db,
            hub,
            connections,
            heartbeat,
            grace,
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Creates a gateway for the caller, or for an organization they administer.
    pub async fn create(
        &self,
        actor: &Actor,
        req: &NewGatewayDto,
    ) -> Result<CreatedGatewayDto, ApiError> {
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(GatewayError::InvalidName(
                "A gateway's name is 1 to 80 characters, without control characters".into(),
            )
            .into());
        }
        let (owner_user_id, owner_org_id) = match req.organization.as_deref() {
            Some(handle) => {
                let org = access::organization_to_own(&self.db, actor, handle).await?;
                (None, Some(org.id))
            }
            None => (Some(actor.user_id.clone()), None),
        };
        let (token, token_hint) = new_token();
        let now = now_ms();
        let row = SqlGateway {
            id: new_id("gw"),
            name: name.to_owned(),
            owner_user_id,
            owner_org_id,
            token_digest: digest(&token),
            token_hint,
            created_by: actor.user_id.clone(),
            created_at: now,
            updated_at: now,
            owner_handle: String::new(),
        };
        crate::db::gateways::insert(&self.db.pool, &row)
            .await
            .map_err(StoreError::from)?;
        tracing::info!(gateway_id = %row.id, "gateway created");
        Ok(CreatedGatewayDto {
            id: row.id,
            name: row.name,
            token,
        })
    }

    /// The gateways the caller may see (their own and their organizations').
    pub async fn list(&self, actor: &Actor) -> Result<Vec<GatewayDto>, ApiError> {
        let all = crate::db::gateways::list_all(&self.db.pool)
            .await
            .map_err(StoreError::from)?;
        let mut out = Vec::new();
        for g in all {
            let access = self.access(actor, &g).await?;
            if access.may_use() {
                out.push(self.to_dto(g, access.may_edit()));
            }
        }
        Ok(out)
    }

    async fn access(&self, actor: &Actor, g: &SqlGateway) -> Result<Access, ApiError> {
        Ok(access::of(&self.db, actor, owner_of(g)).await?)
    }

    /// The gateway if the caller may see it (and change it, with `edit`); else not found.
    async fn load(
        &self,
        actor: &Actor,
        id: &str,
        edit: bool,
    ) -> Result<(SqlGateway, bool), ApiError> {
        let g = crate::db::gateways::find(&self.db.pool, id)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| GatewayError::NotFound(id.to_owned()))?;
        let access = access::require(
            &self.db,
            actor,
            owner_of(&g),
            edit,
            || GatewayError::NotFound(id.to_owned()),
            || GatewayError::NotEditable,
        )
        .await?;
        Ok((g, access.may_edit()))
    }

    pub async fn detail(
        &self,
        actor: &Actor,
        id: &str,
        server_url: &str,
    ) -> Result<GatewayDetailDto, ApiError> {
        let (g, can_edit) = self.load(actor, id, false).await?;
        let rows = crate::db::connections::of_gateway(&self.db.pool, &g.id)
            .await
            .map_err(StoreError::from)?;
        let connections = rows
            .into_iter()
            .map(|row| crate::catalog::connections::to_dto(row, can_edit))
            .collect();
        let events = crate::db::gateways::events(&self.db.pool, &g.id, 50)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(|e| GatewayEventDto {
                at: rfc3339(e.at),
                kind: e.kind,
                agent_id: e.agent_id,
                address: e.address,
                version: e.version,
                detail: e.detail,
            })
            .collect();
        Ok(GatewayDetailDto {
            install_command: install_command(server_url),
            gateway: self.to_dto(g, can_edit),
            connections,
            events,
        })
    }

    /// Deletes the gateway and its connections; its agents are disconnected at once.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        let (g, _) = self.load(actor, id, true).await?;
        crate::db::gateways::delete(&self.db.pool, &g.id)
            .await
            .map_err(StoreError::from)?;
        self.hub.disconnect(&g.id, "the gateway was deleted");
        self.connections.changed();
        tracing::info!(gateway_id = %g.id, "gateway deleted");
        Ok(())
    }

    /// A new token for the gateway; agents using the old one are disconnected at once.
    pub async fn rotate(&self, actor: &Actor, id: &str) -> Result<CreatedGatewayDto, ApiError> {
        let (g, _) = self.load(actor, id, true).await?;
        let (token, hint) = new_token();
        crate::db::gateways::set_token(&self.db.pool, &g.id, &digest(&token), &hint, now_ms())
            .await
            .map_err(StoreError::from)?;
        self.hub
            .disconnect(&g.id, "the gateway's token was replaced");
        tracing::info!(gateway_id = %g.id, "gateway token rotated");
        Ok(CreatedGatewayDto {
            id: g.id,
            name: g.name,
            token,
        })
    }

    fn to_dto(&self, g: SqlGateway, can_edit: bool) -> GatewayDto {
        let agents: Vec<GatewayAgentDto> = self
            .hub
            .existing(&g.id)
            .map(|pool| pool.agents())
            .unwrap_or_default()
            .iter()
            .map(|a| GatewayAgentDto {
                id: a.agent_id.clone(),
                version: a.version.clone(),
                address: a.address.clone(),
                connected_since: rfc3339(a.connected_at),
                last_heartbeat_at: rfc3339(a.last_heartbeat()),
                upstreams: a.upstreams.iter().map(|u| u.name.clone()).collect(),
                in_flight: a.in_flight(),
                requests: a.served(),
            })
            .collect();
        let owner = match (&g.owner_user_id, &g.owner_org_id) {
            (Some(id), _) => OwnerDto {
                kind: "user".into(),
                id: Some(id.clone()),
                handle: g.owner_handle.clone(),
            },
            (None, id) => OwnerDto {
                kind: "organization".into(),
                id: id.clone(),
                handle: g.owner_handle.clone(),
            },
        };
        GatewayDto {
            status: if agents.is_empty() {
                "disconnected"
            } else {
                "connected"
            }
            .into(),
            version: agents.iter().map(|a| a.version.clone()).max(),
            last_heartbeat_at: agents.iter().map(|a| a.last_heartbeat_at.clone()).max(),
            connected_since: agents.iter().map(|a| a.connected_since.clone()).min(),
            agents,
            id: g.id,
            name: g.name,
            owner,
            token_hint: g.token_hint,
            can_edit,
            created_at: rfc3339(g.created_at),
        }
    }

    /// The gateway a token opens, if any (at connect time only: one indexed lookup).
    async fn authenticate(&self, token: &str) -> Result<Option<SqlGateway>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(crate::db::gateways::by_digest(&self.db.pool, &digest(token)).await?)
    }

    /// An agent whose hello was refused (e.g. an upstream naming an unknown provider).
    async fn refused(&self, gateway_id: &str, link: &hub::AgentLink, reason: &str) {
        self.record(gateway_id, "refused", link, reason).await;
        tracing::warn!(gateway_id, address = %link.address, %reason, "a gateway agent's hello was refused");
    }

    async fn record(&self, gateway_id: &str, kind: &str, link: &hub::AgentLink, detail: &str) {
        let event = SqlGatewayEvent {
            id: new_id("gwe"),
            gateway_id: gateway_id.to_owned(),
            at: now_ms(),
            kind: kind.to_owned(),
            agent_id: link.agent_id.clone(),
            address: link.address.clone(),
            version: link.version.clone(),
            detail: detail.to_owned(),
        };
        if let Err(e) = crate::db::gateways::insert_event(&self.db.pool, &event).await {
            tracing::warn!(error = %e, gateway_id, "could not record a gateway event");
        }
    }

    /// An agent said hello: its upstreams become (or stay) connections, it joins the pool,
    /// and its connections are checked through it (discovery, and recovery to `active`).
    async fn joined(
        &self,
        gateway: &SqlGateway,
        link: Arc<hub::AgentLink>,
    ) -> Result<(), ApiError> {
        let ids = self
            .connections
            .register_relayed(gateway, &link.upstreams)
            .await?;
        self.hub.pool(&gateway.id).add(link.clone());
        let names: Vec<&str> = link.upstreams.iter().map(|u| u.name.as_str()).collect();
        self.record(
            &gateway.id,
            "connected",
            &link,
            &format!("upstreams: {}", names.join(", ")),
        )
        .await;
        tracing::info!(gateway_id = %gateway.id, agent_id = %link.agent_id, address = %link.address, version = %link.version, "gateway agent connected");
        let connections = self.connections.clone();
        tokio::spawn(async move {
            for id in ids {
                connections.check_relayed(&id).await;
            }
        });
        Ok(())
    }

    /// An agent's link ended: it leaves the pool; when none is left for the grace period,
    /// the gateway's connections are checked (and so turn `error`, with the reason).
    async fn left(&self, gateway_id: &str, link: &hub::AgentLink, why: &str) {
        let pool = self.hub.pool(gateway_id);
        let left = pool.remove(&link.agent_id);
        link.fail_all(&format!("the gateway agent disconnected ({why})"));
        self.record(gateway_id, "disconnected", link, why).await;
        tracing::info!(gateway_id, agent_id = %link.agent_id, reason = why, agents_left = left, "gateway agent disconnected");
        if left > 0 {
            return;
        }
        let epoch = pool.epoch();
        let this = self.clone();
        let gateway_id = gateway_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(this.grace).await;
            if pool.connected() || pool.epoch() != epoch {
                return;
            }
            match crate::db::connections::of_gateway(&this.db.pool, &gateway_id).await {
                Ok(rows) => {
                    for row in rows {
                        this.connections.check_relayed(&row.id).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not list a gateway's connections"),
            }
        });
    }

    /// Forgets timeline events past their days, once an hour.
    pub fn spawn_pruner(&self) {
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let before = now_ms() - EVENT_DAYS * 86_400_000;
                if let Err(e) = crate::db::gateways::prune_events(&db.pool, before).await {
                    tracing::warn!(error = %e, "could not prune gateway events");
                }
            }
        });
    }
}

/// This server's address as a visitor reached it (`host`: their `Host` header; else the
/// listening address), for the install command.
pub fn server_url(settings: &crate::config::Settings, host: Option<&str>) -> String {
    let host = host
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| settings.addr.to_string(), str::to_owned);
    let scheme = if settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The command that runs an agent against this server.
pub fn install_command(server_url: &str) -> String {
    format!(
        "LANGMART_GATEWAY_TOKEN=<token> langmart gateway --server {server_url} --config gateway.toml"
    )
}
