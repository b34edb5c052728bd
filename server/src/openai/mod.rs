//! The OpenAI-compatible surface under `/v1`: chat completions (streaming or not),
//! embeddings, the model list, and key validation.

mod proxy;

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
use proxy::Endpoint;

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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    proxy::handle(state, caller, &headers, Endpoint::Chat, body).await
}

async fn embeddings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    proxy::handle(state, caller, &headers, Endpoint::Embeddings, body).await
}

/// `GET /v1/models`: every model the caller can reach, as `provider/model`, and every
/// collection they can call (`collection/HANDLE/NAME`, `auto(NAME)`), in OpenAI's format.
async fn models(
    State(state): State<AppState>,
    Caller(caller): Caller,
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
    let created = now_ms() / 1000;
    let data: Vec<Value> = ids
        .into_iter()
        .map(|(id, owner)| json!({"id": id, "object": "model", "created": created, "owned_by": owner}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}
