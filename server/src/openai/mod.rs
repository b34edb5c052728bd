//! The OpenAI-compatible surface under `/v1`: chat completions (streaming or not),
//! embeddings, the model list, and key validation.

pub mod proxy;

use std::collections::BTreeSet;

use axum::{
    extract::State,
    http::HeaderMap,
    response::Response,
    routing::{any, get, post},
    Json, Router,
};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::api::{not_found, Caller};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::state::AppState;
use proxy::{Endpoint, RequestId};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/validate", get(validate))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/v1/{*rest}", any(not_found))
}

/// `GET /v1/auth/validate`: whether the Bearer key is valid, and whose it is.
async fn validate(Caller(caller): Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "valid": true,
        "user": { "id": caller.user_id, "email": caller.email, "handle": caller.handle },
    })))
}

async fn chat(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RequestId(request_id): RequestId,
    body: Bytes,
) -> Response {
    proxy::handle(state, caller, request_id, Endpoint::Chat, body).await
}

async fn embeddings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RequestId(request_id): RequestId,
    body: Bytes,
) -> Response {
    proxy::handle(state, caller, request_id, Endpoint::Embeddings, body).await
}

/// The console's "Try it": one short chat completion through the real request path (so it
/// routes, falls back and is logged like any other call), summarised for the page.
pub async fn try_prompt(
    state: AppState,
    caller: std::sync::Arc<crate::auth::Principal>,
    model: String,
    prompt: String,
) -> app::dto::TryResultDto {
    let started = std::time::Instant::now();
    let state_log = state.request_log.clone();
    let body = json!({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 256});
    let response = proxy::handle(
        state,
        caller,
        String::new(),
        Endpoint::Chat,
        Bytes::from(body.to_string()),
    )
    .await;
    // The person trying a prompt looks at the Request Logs next: write the row now.
    state_log.flush().await;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let connection_id = header("x-langmart-connection");
    let provider = header("x-langmart-provider");
    let bytes = axum::body::to_bytes(body, 4 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_owned);
    app::dto::TryResultDto {
        status,
        connection_id,
        provider,
        model: text("/model"),
        content: text("/choices/0/message/content"),
        error: text("/error/message"),
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    }
}

/// `GET /v1/models`: every model the caller can reach, as `provider/model`, and every
/// collection they can call (`collection/HANDLE/NAME`, `auto(NAME)`), in OpenAI's format,
/// or in Anthropic's when the client sends `anthropic-version` (the Anthropic SDKs do).
async fn models(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.routing.snapshot().await?;
    let mut ids: BTreeSet<(String, String)> = BTreeSet::new();
    for route in snapshot
        .routes
        .iter()
        .filter(|r| snapshot.may_use(&caller.user_id, r))
    {
        for (model, enabled) in &route.models {
            if *enabled {
                ids.insert((
                    format!("{}/{model}", route.provider_key),
                    route.provider_key.clone(),
                ));
            }
        }
    }
    // Collections the caller can call, under the reference that names them.
    for c in &snapshot.collections {
        use crate::routing::catalog::CollectionOwner;
        let visible = match &c.owner {
            CollectionOwner::User(id) => *id == caller.user_id,
            CollectionOwner::Organization(org) => snapshot
                .orgs_of
                .get(&caller.user_id)
                .is_some_and(|orgs| orgs.contains(org)),
            CollectionOwner::System => true,
        };
        if visible {
            ids.insert((c.reference(), c.owner_handle.clone()));
        }
    }
    let now = now_ms();
    if headers.contains_key("anthropic-version") {
        let created_at = crate::clock::rfc3339(now);
        let data: Vec<Value> = ids
            .iter()
            .map(|(id, _)| json!({"type": "model", "id": id, "display_name": id, "created_at": created_at, "lifecycle": "active"}))
            .collect();
        let first = ids.first().map(|(id, _)| id.clone());
        let last = ids.last().map(|(id, _)| id.clone());
        return Ok(Json(
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last}),
        ));
    }
    let created = now / 1000;
    let data: Vec<Value> = ids
        .into_iter()
        .map(|(id, owner)| json!({"id": id, "object": "model", "created": created, "owned_by": owner}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}
