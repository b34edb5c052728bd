//! `GET /api/notifications` (the newest, the unread count, the webhook),
//! `POST /api/notifications/read` (marks all read) and `PUT /api/notifications/webhook`
//! (`{"url": "https://…"}`; empty removes it): the caller's own.

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/notifications",
    tag = "notifications",
    responses((status = 200, body = app::dto::NotificationsDto)),
)]
pub async fn list(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<app::dto::NotificationsDto>, ApiError> {
    Ok(Json(state.notifications.list(&caller.user_id).await?))
}

#[utoipa::path(
    post,
    path = "/api/notifications/read",
    tag = "notifications",
    responses((status = 204, description = "All marked read")),
)]
pub async fn mark_read(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<StatusCode, ApiError> {
    state.notifications.mark_read(&caller.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    #[serde(default)]
    url: Option<String>,
}

/// Where the caller's notifications are also posted; `null`: nowhere.
#[derive(Serialize, ToSchema)]
pub struct Webhook {
    url: Option<String>,
}

#[utoipa::path(
    put,
    path = "/api/notifications/webhook",
    tag = "notifications",
    request_body = WebhookBody,
    responses((status = 200, body = Webhook)),
)]
pub async fn set_webhook(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<Json<Webhook>, ApiError> {
    let url = state
        .notifications
        .set_webhook(&caller.user_id, body.url.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(Webhook { url }))
}
