//! The management REST API under `/api`, authenticated with a LangMart key.

mod caller;
mod json;
mod keys;
mod orgs;

pub use caller::Caller;
pub use json::ApiJson;

use axum::{
    extract::State,
    http::Uri,
    routing::{any, delete, get, post, put},
    Json, Router,
};

use crate::auth::AuthError;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::UserDto;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me", get(me))
        .route("/api/keys", get(keys::list).post(keys::create))
        .route("/api/keys/{id}", delete(keys::revoke))
        .route("/api/organizations", get(orgs::list).post(orgs::create))
        .route(
            "/api/organizations/{handle}/members",
            get(orgs::members).post(orgs::add_member),
        )
        .route(
            "/api/organizations/{handle}/members/{user_id}",
            put(orgs::set_role).delete(orgs::remove_member),
        )
        .route("/api/organizations/{handle}/leave", post(orgs::leave))
        .route("/api/{*rest}", any(not_found))
}

async fn me(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<UserDto>, ApiError> {
    let user = state
        .accounts
        .find(&caller.user_id)
        .await?
        .ok_or(AuthError::InvalidApiKey)?;
    Ok(Json(user.into_dto()))
}

/// JSON 404 for any unknown path under `/api` and `/v1`.
pub async fn not_found(uri: Uri) -> ApiError {
    RequestError::RouteNotFound(uri.path().to_owned()).into()
}
