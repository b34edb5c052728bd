//! The OpenAI-compatible surface under `/v1`. For now: key validation.

use axum::{
    extract::State,
    routing::{any, get},
    Json, Router,
};
use serde_json::{json, Value};

use crate::api::{not_found, Caller};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/validate", get(validate))
        .route("/v1/{*rest}", any(not_found))
}

/// `GET /v1/auth/validate`: whether the Bearer key is valid, and whose it is.
async fn validate(
    State(_): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "valid": true,
        "user": { "id": caller.user_id, "email": caller.email, "handle": caller.handle },
    })))
}
