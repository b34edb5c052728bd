//! Routing: from a model reference to an ordered list of candidate connections.
//! Order: higher `prefer_score`, then scope (individual, organization, platform), then
//! lower observed latency. Skipped, with the reason: inactive, error, rate-limited in its
//! cool-down, model disabled. Budgets (rpm/tpm) are checked when a candidate is tried.

pub mod catalog;
pub mod model_ref;

use std::sync::Arc;

use axum::http::StatusCode;
use serde::Serialize;

use crate::error::Coded;
use crate::limits::Limiter;
use catalog::{Route, Snapshot};
use model_ref::{ModelRef, ModelRefError};

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("Invalid model: {0}")]
    InvalidModel(#[from] ModelRefError),
    #[error("{0}")]
    ModelNotFound(String),
    #[error("You are not {0} and not a member of it")]
    AccessDenied(String),
}

impl Coded for RoutingError {
    fn code(&self) -> &'static str {
        match self {
            RoutingError::InvalidModel(_) => "INVALID_MODEL",
            RoutingError::ModelNotFound(_) => "MODEL_NOT_FOUND",
            RoutingError::AccessDenied(_) => "ACCESS_DENIED",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            RoutingError::InvalidModel(_) => StatusCode::BAD_REQUEST,
            RoutingError::ModelNotFound(_) => StatusCode::NOT_FOUND,
            RoutingError::AccessDenied(_) => StatusCode::FORBIDDEN,
        }
    }
}

pub struct Candidate {
    pub route: Arc<Route>,
    pub upstream_model: String,
}

/// One connection considered, for `explain` and for error messages.
#[derive(Debug, Clone, Serialize)]
pub struct Considered {
    pub connection_id: String,
    pub name: String,
    pub provider: String,
    pub upstream_model: String,
    pub prefer_score: i64,
    pub scope: String,
    pub status: String,
    pub latency_ms: Option<f64>,
    pub rpm_remaining: Option<i64>,
    pub tpm_remaining: Option<i64>,
    pub usable: bool,
    /// Why it is skipped, when it is.
    pub reason: Option<String>,
}

pub struct Plan {
    pub reference: ModelRef,
    pub candidates: Vec<Candidate>,
    pub considered: Vec<Considered>,
}

/// Why a route cannot take requests now, if it cannot.
fn unusable(route: &Route, model_enabled: bool, now_ms: i64) -> Option<String> {
    match route.status.as_str() {
        "inactive" => return Some("inactive (disabled by a person)".into()),
        "error" => return Some("error (failed its last check)".into()),
        "rate_limited" if route.cooldown_until.is_some_and(|t| t > now_ms) => {
            return Some("rate-limited by the provider, cooling down".into())
        }
        _ => {}
    }
    (!model_enabled).then(|| "model disabled".into())
}

pub fn plan(
    snapshot: &Snapshot,
    user_id: &str,
    model: &str,
    limiter: &Limiter,
    now_ms: i64,
) -> Result<Plan, RoutingError> {
    let reference = model_ref::parse(
        model,
        |h| snapshot.handles.contains_key(h),
        |p| snapshot.provider_keys.contains(p),
    )?;
    let (provider, owner, wanted) = match &reference {
        ModelRef::Auto(name) => {
            return Err(RoutingError::ModelNotFound(format!(
            "No system collection named auto({name}): collections are not available in this build"
        )))
        }
        ModelRef::Collection { name, .. } => {
            return Err(RoutingError::ModelNotFound(format!(
                "No collection named {name}: collections are not available in this build"
            )))
        }
        ModelRef::Handle {
            handle,
            provider,
            model,
        } => {
            let owner = snapshot
                .handles
                .get(handle)
                .cloned()
                .ok_or_else(|| RoutingError::AccessDenied(handle.clone()))?;
            if !snapshot.owns_or_belongs(user_id, &owner) {
                return Err(RoutingError::AccessDenied(handle.clone()));
            }
            (Some(provider.as_str()), Some(owner), model.as_str())
        }
        ModelRef::Provider { provider, model } => (Some(provider.as_str()), None, model.as_str()),
        ModelRef::Bare(model) => (None, None, model.as_str()),
    };

    let mut matching: Vec<(Arc<Route>, bool)> = snapshot
        .routes
        .iter()
        .filter(|r| snapshot.may_use(user_id, r))
        .filter(|r| provider.is_none_or(|p| r.provider_key == p))
        .filter(|r| match &owner {
            Some(catalog::Owner::User(id)) => r.owner_user_id.as_deref() == Some(id.as_str()),
            Some(catalog::Owner::Organization(id)) => {
                r.owner_org_id.as_deref() == Some(id.as_str())
            }
            None => true,
        })
        .filter_map(|r| {
            r.serves(wanted, provider.is_some())
                .map(|enabled| (r.clone(), enabled))
        })
        .collect();
    if matching.is_empty() {
        let looked_for = match (&owner, provider) {
            (Some(_), Some(p)) => {
                format!("model '{wanted}' on provider '{p}' among that owner's connections")
            }
            (None, Some(p)) => {
                format!("model '{wanted}' on any connection to provider '{p}' you may use")
            }
            _ => format!("model '{wanted}' on any connection you may use"),
        };
        return Err(RoutingError::ModelNotFound(format!(
            "Model '{model}' not found: looked for {looked_for}"
        )));
    }
    matching.sort_by(|(a, _), (b, _)| {
        b.prefer_score
            .cmp(&a.prefer_score)
            .then(a.scope_rank().cmp(&b.scope_rank()))
            .then_with(|| {
                let la = limiter.latency_ms(&a.id).unwrap_or(0.0);
                let lb = limiter.latency_ms(&b.id).unwrap_or(0.0);
                la.total_cmp(&lb)
            })
    });

    let mut candidates = Vec::new();
    let mut considered = Vec::new();
    for (route, enabled) in matching {
        let reason = unusable(&route, enabled, now_ms);
        let headroom = limiter.headroom(&route.id, route.rpm, route.tpm);
        let over = match (headroom.rpm_remaining, headroom.tpm_remaining) {
            (Some(0), _) => Some("over its rpm budget".to_owned()),
            (_, Some(0)) => Some("over its tpm budget".to_owned()),
            _ => None,
        };
        considered.push(Considered {
            connection_id: route.id.clone(),
            name: route.name.clone(),
            provider: route.provider_key.clone(),
            upstream_model: wanted.to_owned(),
            prefer_score: route.prefer_score,
            scope: route.scope.clone(),
            status: route.status.clone(),
            latency_ms: limiter.latency_ms(&route.id),
            rpm_remaining: headroom.rpm_remaining,
            tpm_remaining: headroom.tpm_remaining,
            usable: reason.is_none() && over.is_none(),
            reason: reason.clone().or(over),
        });
        if reason.is_none() {
            candidates.push(Candidate {
                route,
                upstream_model: wanted.to_owned(),
            });
        }
    }
    Ok(Plan {
        reference,
        candidates,
        considered,
    })
}
