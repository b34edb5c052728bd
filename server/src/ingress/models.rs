//! `GET /v1/models`, `GET /v1/models/{id}` and `GET /v1/auth/validate`. The model list is
//! every model the caller can reach, as `provider/model`, and every collection they can
//! call (`collection/HANDLE/NAME`, `auto(NAME)`), in OpenAI's format, or in Anthropic's
//! when the client sends `anthropic-version` (the Anthropic SDKs and Claude Code do).

use std::collections::BTreeMap;

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::clock::now_ms;
use crate::error::{ApiError, RequestError};
use crate::extract::Caller;
use crate::gateway::render;
use crate::state::AppState;

/// `GET /v1/auth/validate`: whether the Bearer key is valid, and whose it is.
#[utoipa::path(
    get,
    path = "/v1/auth/validate",
    operation_id = "validateKey",
    tag = "inference",
    responses((status = 200, body = crate::ingress::schemas::KeyCheck)),
)]
pub async fn validate(Caller(caller): Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "valid": true,
        "user": { "id": caller.user_id, "email": caller.email, "handle": caller.handle },
    })))
}

/// id → owner, for everything the caller may call: what its owner may use, narrowed to
/// the key's allow-list.
async fn reachable(
    state: &AppState,
    caller: &Principal,
) -> Result<BTreeMap<String, String>, ApiError> {
    let user_id = caller.user_id.as_str();
    let snapshot = state.routing.snapshot().await?;
    let mut ids = BTreeMap::new();
    for route in snapshot
        .routes
        .iter()
        .filter(|r| snapshot.may_use(user_id, r))
    {
        for (model, enabled) in &route.models {
            if *enabled {
                ids.insert(
                    format!("{}/{model}", route.provider_key),
                    route.provider_key.clone(),
                );
            }
        }
    }
    for c in &snapshot.collections {
        let visible = snapshot.may_use_collection(user_id, &c.owner);
        if visible {
            ids.insert(c.reference(), c.owner_handle.clone());
        }
    }
    ids.retain(|id, _| caller.policy.allows(id));
    Ok(ids)
}

fn anthropic_client(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
}

fn anthropic_model(id: &str, created_at: &str) -> Value {
    json!({"type": "model", "id": id, "display_name": id, "created_at": created_at})
}

fn openai_model(id: &str, owner: &str, created: i64) -> Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": owner})
}

#[utoipa::path(
    get,
    path = "/v1/models",
    operation_id = "listModels",
    tag = "inference",
    responses((status = 200, body = crate::ingress::schemas::ModelList)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
) -> Response {
    let anthropic = anthropic_client(&headers);
    let ids = match async { reachable(&state, &caller?.0).await }.await {
        Ok(ids) => ids,
        Err(e) => return error(anthropic, e),
    };
    let now = now_ms();
    if anthropic {
        let created_at = crate::clock::rfc3339(now);
        let data: Vec<Value> = ids
            .keys()
            .map(|id| anthropic_model(id, &created_at))
            .collect();
        let first = ids.keys().next().cloned();
        let last = ids.keys().next_back().cloned();
        return Json(json!({"data": data, "has_more": false, "first_id": first, "last_id": last}))
            .into_response();
    }
    let data: Vec<Value> = ids
        .iter()
        .map(|(id, owner)| openai_model(id, owner, now / 1000))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

/// `GET /v1/models/{id}`: one model of the list (ids contain `/`), else 404.
#[utoipa::path(
    get,
    path = "/v1/models/{id}",
    operation_id = "retrieveModel",
    tag = "inference",
    params(
        ("id" = String, Path, description = "A model id as listed; it may hold slashes"),
    ),
    responses((status = 200, body = crate::ingress::schemas::ModelObject)),
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let anthropic = anthropic_client(&headers);
    let ids = match async { reachable(&state, &caller?.0).await }.await {
        Ok(ids) => ids,
        Err(e) => return error(anthropic, e),
    };
    let Some(owner) = ids.get(&id) else {
        return error(anthropic, RequestError::ModelNotListed(id).into());
    };
    let now = now_ms();
    if anthropic {
        return Json(anthropic_model(&id, &crate::clock::rfc3339(now))).into_response();
    }
    Json(openai_model(&id, owner, now / 1000)).into_response()
}

fn error(anthropic: bool, e: ApiError) -> Response {
    if anthropic {
        render(&crate::ingress::anthropic_messages::AnthropicMessages, e)
    } else {
        render(&**crate::ingress::openai_chat::PLAIN, e)
    }
}
