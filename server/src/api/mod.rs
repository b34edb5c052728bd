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
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::error::{ApiError, RequestError};
use crate::openapi::Routes;
use crate::state::AppState;
use app::dto::UserDto;

/// Every `/api` route; each is in [`ApiDoc`].
pub fn routes() -> Routes {
    Routes::new()
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
        .unlisted("/api/{*rest}", any(not_found))
}

/// The account the key belongs to.
#[utoipa::path(
    get,
    path = "/api/me",
    tag = "account",
    responses((status = 200, body = UserDto)),
)]
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

/// What an action with nothing else to return answers.
#[derive(Serialize, ToSchema)]
pub struct Done {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

impl Done {
    pub fn ok() -> Json<Done> {
        Json(Done {
            success: true,
            message: None,
        })
    }

    pub fn saying(message: &'static str) -> Json<Done> {
        Json(Done {
            success: true,
            message: Some(message),
        })
    }
}

/// The `/api` half of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    me,
    keys::list,
    keys::create,
    keys::update,
    keys::revoke,
    users::list,
    users::invites,
    users::create_invite,
    users::withdraw_invite,
    orgs::list,
    orgs::create,
    orgs::members,
    orgs::invite,
    orgs::org_invitations,
    orgs::withdraw,
    orgs::set_preferences,
    orgs::my_invitations,
    orgs::accept,
    orgs::decline,
    orgs::set_role,
    orgs::remove_member,
    orgs::leave,
    providers::list,
    providers::create,
    providers::update,
    gateways::list,
    gateways::create,
    gateways::connect_doc,
    gateways::get,
    gateways::delete,
    gateways::rotate,
    connections::list,
    connections::create,
    connections::test_draft,
    connections::get,
    connections::update,
    connections::delete,
    connections::update_key,
    connections::test,
    connections::tests,
    connections::audit,
    connections::models,
    connections::add_model,
    connections::discover,
    aliases::list,
    aliases::create,
    aliases::get,
    aliases::update,
    aliases::delete,
    collections::list,
    collections::create,
    collections::reachable_models,
    collections::get,
    collections::update,
    collections::delete,
    collections::prices,
    collections::set_price,
    collections::delete_price,
    routing::explain,
    routing::logs,
    routing::export_csv,
    routing::export_jsonl,
    bodies::read,
    bodies::get_setting,
    bodies::set_setting,
    usage::usage,
    usage::dashboard,
    notifications::list,
    notifications::mark_read,
    notifications::set_webhook,
    budgets::mine,
    budgets::set_for_user,
    budgets::of_org,
    budgets::set_for_org,
))]
pub struct ApiDoc;

/// JSON 404 for any unknown path under `/api` and `/v1`.
pub async fn not_found(uri: Uri) -> ApiError {
    RequestError::RouteNotFound(uri.path().to_owned()).into()
}
