//! Connections of type 3: the upstreams a self-hosted gateway's agents announce. They are
//! made (or found again) when an agent says hello, owned like their gateway, and checked
//! through the agent; their endpoint and credentials live on the agent, so neither can be
//! edited here.

use std::collections::BTreeMap;

use super::credentials::Credentials;
use super::health::Trigger;
use super::providers::{self, SELF_HOSTED};
use super::{CatalogError, Connections};
use crate::clock::now_ms;
use crate::db::{self, connections::SqlConnection, gateways::SqlGateway, Flag, StoreError};
use crate::error::ApiError;
use crate::gateways::protocol::{self, Announced};
use crate::ids::new_id;
use crate::providers::ApiFamily;

/// What a relayed connection shows where others show a credential's mask.
pub const HELD_BY_AGENT: &str = "held by the gateway agent";

/// A relayed connection's endpoint as the console shows it (the agent knows the real URL).
pub fn endpoint_of(gateway: &SqlGateway, upstream: &str) -> String {
    format!("gateway://{}/{upstream}", gateway.id)
}

impl Connections {
    /// The connections for the upstreams an agent of `gateway` announced, made where
    /// missing: all or none (an announcement naming an unknown provider is refused).
    pub async fn register_relayed(
        &self,
        gateway: &SqlGateway,
        announced: &[Announced],
    ) -> Result<Vec<String>, ApiError> {
        if announced.is_empty() || announced.len() > protocol::MAX_UPSTREAMS {
            return Err(invalid(format!(
                "an agent announces 1 to {} upstreams",
                protocol::MAX_UPSTREAMS
            )));
        }
        let mut resolved = Vec::with_capacity(announced.len());
        for (i, u) in announced.iter().enumerate() {
            if !protocol::valid_name(&u.name) {
                return Err(invalid(format!(
                    "upstream name \"{}\" is not 1-64 letters, digits, '-', '_' or '.'",
                    u.name.chars().take(64).collect::<String>()
                )));
            }
            if announced[..i].iter().any(|o| o.name == u.name) {
                return Err(invalid(format!(
                    "upstream \"{}\" is announced twice",
                    u.name
                )));
            }
            let provider = providers::resolve(&self.db, Some(&u.provider), None).await?;
            if provider.family == ApiFamily::Bedrock {
                return Err(invalid(format!(
                    "upstream \"{}\": Bedrock is signed per request with AWS credentials and is not served through a gateway",
                    u.name
                )));
            }
            resolved.push((u, provider));
        }
        let existing = db::connections::of_gateway(&self.db.pool, &gateway.id)
            .await
            .map_err(StoreError::from)?;
        let now = now_ms();
        let mut ids = Vec::with_capacity(resolved.len());
        for (u, provider) in resolved {
            if let Some(row) = existing
                .iter()
                .find(|r| r.gateway_upstream.as_deref() == Some(u.name.as_str()))
            {
                if row.provider_id != provider.id {
                    db::connections::set_provider(&self.db.pool, &row.id, &provider.id, now)
                        .await
                        .map_err(StoreError::from)?;
                    self.audit(
                        None,
                        "update",
                        &row.id,
                        &format!("the gateway agent now announces it as {}", provider.name),
                    )
                    .await?;
                }
                ids.push(row.id.clone());
                continue;
            }
            let id = new_id("conn");
            let sealed = Credentials::new(BTreeMap::new()).seal(&self.vault, &id, "api_key")?;
            let (scope, owner_user_id, owner_org_id) =
                match (&gateway.owner_user_id, &gateway.owner_org_id) {
                    (Some(user), _) => ("individual", Some(user.clone()), None),
                    (None, org) => ("organization", None, org.clone()),
                };
            let row = SqlConnection {
                id: id.clone(),
                name: format!("{} ({})", u.name, gateway.name),
                description: format!(
                    "Reached through the self-hosted gateway \"{}\"",
                    gateway.name
                ),
                provider_id: provider.id.clone(),
                endpoint_url: endpoint_of(gateway, &u.name),
                gateway_type: SELF_HOSTED,
                status: "active".into(),
                scope: scope.into(),
                owner_user_id,
                owner_org_id,
                rate_limit_rpm: None,
                rate_limit_tpm: None,
                rate_limit_rpd: None,
                prefer_score: 0,
                allow_fallback: Flag(true),
                allow_private: Flag(false),
                // Local models can be slow to load: a longer start than a cloud API's.
                timeout_ms: 120_000,
                connect_timeout_ms: None,
                idle_timeout_ms: None,
                max_duration_ms: None,
                max_retries: 1,
                config: "{}".into(),
                credential_mask: HELD_BY_AGENT.into(),
                sealed_key_id: sealed.key_id,
                sealed_nonce: sealed.nonce,
                sealed_credentials: sealed.ciphertext,
                last_health_check_at: None,
                last_error: None,
                cooldown_until: None,
                created_by: gateway.created_by.clone(),
                created_at: now,
                updated_at: now,
                gateway_id: Some(gateway.id.clone()),
                gateway_upstream: Some(u.name.clone()),
                provider_key: String::new(),
                provider_name: String::new(),
                api_family: String::new(),
                owner_handle: String::new(),
                model_count: 0,
            };
            let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
            let inserted = db::connections::insert(&mut tx, &row).await;
            match inserted {
                Ok(()) => tx.commit().await.map_err(StoreError::from)?,
                // Another agent of the gateway registered it a moment ago.
                Err(e) if is_unique_violation(&e) => {
                    drop(tx);
                    let again = db::connections::of_gateway(&self.db.pool, &gateway.id)
                        .await
                        .map_err(StoreError::from)?;
                    if let Some(row) = again
                        .iter()
                        .find(|r| r.gateway_upstream.as_deref() == Some(u.name.as_str()))
                    {
                        ids.push(row.id.clone());
                    }
                    continue;
                }
                Err(e) => return Err(StoreError::from(e).into()),
            }
            self.audit(
                None,
                "create",
                &id,
                &format!(
                    "a gateway agent announced upstream \"{}\" ({})",
                    u.name, provider.name
                ),
            )
            .await?;
            ids.push(id);
        }
        self.changes.bump();
        Ok(ids)
    }

    /// Checks a relayed connection through its gateway (discovery when an agent arrives;
    /// `error` with the reason when none is left). Failures are logged, not returned: the
    /// outcome is the connection's status.
    pub async fn check_relayed(&self, id: &str) {
        let row = match db::connections::find(&self.db.pool, id).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, connection_id = id, "could not read a relayed connection");
                return;
            }
        };
        if let Err(e) = self.run_check(&row, Trigger::Gateway).await {
            tracing::warn!(error = %e, connection_id = id, "could not check a relayed connection");
        }
    }

    /// Something routing copies changed outside this service (a gateway was deleted).
    pub fn changed(&self) {
        self.changes.bump();
    }
}

/// A self-hosted connection's endpoint, settings and key are its agent's to change.
pub fn held_by_agent(field: &'static str) -> CatalogError {
    CatalogError::Invalid {
        field,
        message: "this connection is reached through a self-hosted gateway: its URL and key are set in the agent's gateway.toml, not here".into(),
    }
}

fn invalid(message: String) -> ApiError {
    CatalogError::Invalid {
        field: "upstreams",
        message,
    }
    .into()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}
