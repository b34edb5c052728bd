//! The management REST API under `/api`, authenticated with a LangMart key.

mod aliases;
mod bodies;
mod budgets;
mod collections;
mod connections;
mod gateways;
mod keys;
mod notifications;
mod orgs;
mod providers;
mod routing;
mod usage;
mod users;

pub use crate::extract::{presented_key, ApiJson, Manager};
pub use routing::{DEFAULT_MAX_TOKENS, DEFAULT_PROMPT_TOKENS};

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
        .route("/api/keys/{id}", delete(keys::revoke).put(keys::update))
        .route("/api/users", get(users::list))
        .route(
            "/api/signup-invites",
            get(users::invites).post(users::create_invite),
        )
        .route("/api/signup-invites/{id}", delete(users::withdraw_invite))
        .route("/api/organizations", get(orgs::list).post(orgs::create))
        .route(
            "/api/organizations/{handle}/members",
            get(orgs::members).post(orgs::invite),
        )
        .route(
            "/api/organizations/{handle}/invitations",
            get(orgs::org_invitations),
        )
        .route(
            "/api/organizations/{handle}/invitations/{id}",
            delete(orgs::withdraw),
        )
        .route(
            "/api/organizations/{handle}/membership",
            put(orgs::set_preferences),
        )
        .route("/api/invitations", get(orgs::my_invitations))
        .route("/api/invitations/{id}/accept", post(orgs::accept))
        .route("/api/invitations/{id}/decline", post(orgs::decline))
        .route(
            "/api/organizations/{handle}/members/{user_id}",
            put(orgs::set_role).delete(orgs::remove_member),
        )
        .route("/api/organizations/{handle}/leave", post(orgs::leave))
        .route(
            "/api/providers",
            get(providers::list).post(providers::create),
        )
        .route("/api/providers/{id}", put(providers::update))
        .route("/api/gateways", get(gateways::list).post(gateways::create))
        .route(
            crate::gateways::protocol::CONNECT_PATH,
            get(gateways::connect),
        )
        .route(
            "/api/gateways/{id}",
            get(gateways::get).delete(gateways::delete),
        )
        .route("/api/gateways/{id}/rotate", post(gateways::rotate))
        .route(
            "/api/connections",
            get(connections::list).post(connections::create),
        )
        .route("/api/connections/test", post(connections::test_draft))
        .route(
            "/api/connections/{id}",
            get(connections::get)
                .put(connections::update)
                .delete(connections::delete),
        )
        .route(
            "/api/connections/{id}/update-key",
            post(connections::update_key),
        )
        .route("/api/connections/{id}/test", post(connections::test))
        .route("/api/connections/{id}/tests", get(connections::tests))
        .route("/api/connections/{id}/audit", get(connections::audit))
        .route(
            "/api/connections/{id}/models",
            get(connections::models).post(connections::add_model),
        )
        .route(
            "/api/connections/{id}/discover",
            post(connections::discover),
        )
        .route("/api/aliases", get(aliases::list).post(aliases::create))
        .route(
            "/api/aliases/{id}",
            get(aliases::get)
                .put(aliases::update)
                .delete(aliases::delete),
        )
        .route(
            "/api/collections",
            get(collections::list).post(collections::create),
        )
        .route(
            "/api/collections/reachable-models",
            get(collections::reachable_models),
        )
        .route(
            "/api/collections/{id}",
            get(collections::get)
                .put(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/api/prices",
            get(collections::prices)
                .put(collections::set_price)
                .delete(collections::delete_price),
        )
        .route("/api/routing/explain", get(routing::explain))
        .route("/api/logs", get(routing::logs))
        .route("/api/logs.csv", get(routing::export_csv))
        .route("/api/logs.jsonl", get(routing::export_jsonl))
        .route("/api/logs/{id}/bodies", get(bodies::read))
        .route(
            "/api/settings/body-capture",
            get(bodies::get_setting).put(bodies::set_setting),
        )
        .route("/api/usage", get(usage::usage))
        .route("/api/dashboard", get(usage::dashboard))
        .route("/api/notifications", get(notifications::list))
        .route("/api/notifications/read", post(notifications::mark_read))
        .route(
            "/api/notifications/webhook",
            put(notifications::set_webhook),
        )
        .route("/api/budgets", get(budgets::mine))
        .route("/api/users/{id}/budget", put(budgets::set_for_user))
        .route(
            "/api/organizations/{handle}/budget",
            get(budgets::of_org).put(budgets::set_for_org),
        )
        .route("/api/{*rest}", any(not_found))
}

async fn me(
    State(state): State<AppState>,
    Manager(caller): Manager,
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
