//! The `Caller` and `Manager` extractors: a valid LangMart key in `Authorization: Bearer …`
//! (or in `x-api-key`, where Anthropic clients put it) with the `inference` scope (`/v1`)
//! or the `manage` scope (`/api`).

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, HeaderMap},
};

use crate::auth::Principal;
use crate::catalog::Actor;
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::KeyScope;

/// A key that may call models (`/v1`).
pub struct Caller(pub Arc<Principal>);

/// A key that may manage the account (`/api`).
pub struct Manager(pub Arc<Principal>);

impl Manager {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.0.user_id.clone(),
            is_admin: self.0.is_admin,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = presented_key(&parts.headers);
        state
            .keys
            .authenticate(header.as_deref(), KeyScope::Inference)
            .await
            .map(Caller)
    }
}

impl FromRequestParts<AppState> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = presented_key(&parts.headers);
        state
            .keys
            .authenticate(header.as_deref(), KeyScope::Manage)
            .await
            .map(Manager)
    }
}

/// The key as an `Authorization` value: the header itself, else `x-api-key` as a Bearer
/// token. A header that is not visible ASCII cannot hold a key and counts as a wrong one.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("Bearer invalid").to_owned())
    };
    text(AUTHORIZATION.as_str()).or_else(|| text("x-api-key").map(|k| format!("Bearer {k}")))
}
