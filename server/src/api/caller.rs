//! The `Caller` extractor: a valid LangMart key in `Authorization: Bearer …`.

use std::sync::Arc;

use axum::{extract::FromRequestParts, http::header::AUTHORIZATION, http::request::Parts};

use crate::auth::Principal;
use crate::catalog::Actor;
use crate::error::ApiError;
use crate::state::AppState;

pub struct Caller(pub Arc<Principal>);

impl Caller {
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
        // A header that is not visible ASCII cannot hold a key; treat it like a wrong key.
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("Bearer invalid"));
        state.keys.authenticate(header).await.map(Caller)
    }
}
