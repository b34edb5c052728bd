//! `GET /api/notifications` (the newest, the unread count, the webhook),
//! `POST /api/notifications/read` (marks all read) and `PUT /api/notifications/webhook`
//! (`{"url": "https://…"}`; empty removes it): the caller's own.

use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;

use super::{ApiJson, Manager};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<app::dto::NotificationsDto>, ApiError> {
    Ok(Json(state.notifications.list(&caller.user_id).await?))
}

pub async fn mark_read(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<StatusCode, ApiError> {
    state.notifications.mark_read(&caller.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    #[serde(default)]
    url: Option<String>,
}

pub async fn set_webhook(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let url = state
        .notifications
        .set_webhook(&caller.user_id, body.url.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(serde_json::json!({ "url": url })))
}
