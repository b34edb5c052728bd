//! OpenAI's Responses API as an ingress — what Codex CLI, the OpenAI Agents SDK,
//! `@ai-sdk/openai` and `client.responses.create` speak: `POST /v1/responses` (whole or
//! streamed), and for stored responses `GET /v1/responses/{id}`,
//! `GET /v1/responses/{id}/input_items` and `DELETE /v1/responses/{id}`.
//!
//! Routed like any chat (same model strings, priorities, fallback, limits, request log with
//! `endpoint = responses`). To connections that speak the Responses API (OpenAI, Azure
//! OpenAI) the request goes as the client wrote it, only `model` replaced; to every other
//! family it is translated to chat ([`request`]) and the answer and its events written back
//! ([`render`]). Conversation state is LangMart's own ([`store`]).

mod render;
mod request;
mod store;

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use crate::error::{ApiError, RequestError};
use crate::extract::{Caller, RawBody, RequestMeta};
use crate::gateway::{
    self, render as render_error, Dialect, Endpoint, GatewayRequest, NativeBody, StreamEncoder,
};
use crate::providers::NativeApi;
use crate::state::AppState;

pub use store::spawn_pruner;

/// The Responses API's error shape (OpenAI's, with our code and the status).
pub fn error_body(code: &str, message: &str, status: StatusCode) -> Value {
    json!({"error": {"message": message, "type": crate::error::error_type_for(status), "param": null, "code": code, "status": status.as_u16()}})
}

/// What a stored answer needs besides itself.
struct Keep {
    state: AppState,
    user_id: String,
    input: Vec<Value>,
    previous: Option<String>,
}

/// The Responses dialect for one request.
struct Responses {
    template: render::Template,
    keep: Option<Arc<Keep>>,
}

impl Dialect for Responses {
    fn error_body(&self, code: &str, message: &str, status: StatusCode) -> Value {
        error_body(code, message, status)
    }

    fn status_for(&self, upstream: Option<u16>, status: StatusCode) -> StatusCode {
        crate::ingress::openai_chat::openai_status(upstream, status)
    }

    fn whole(&self, answer: Value) -> Value {
        self.template.whole(&answer)
    }

    fn encoder(&self, _requested_model: &str) -> Box<dyn StreamEncoder> {
        Box::new(render::Encoder::new(self.template.clone()))
    }

    fn keeps_answers(&self) -> bool {
        self.keep.is_some()
    }

    fn answered(&self, answer: Value) -> BoxFuture<'static, ()> {
        let keep = self.keep.clone();
        Box::pin(async move {
            if let Some(k) = keep {
                store::save(
                    &k.state.db,
                    &k.user_id,
                    &answer,
                    &k.input,
                    k.previous.as_deref(),
                    k.state.settings.responses_retention,
                )
                .await;
            }
        })
    }
}

/// For errors before the request is understood.
fn plain() -> Responses {
    Responses {
        template: render::Template::new(&json!({}), "", false),
        keep: None,
    }
}

fn fail(e: impl Into<ApiError>) -> Response {
    render_error(&plain(), e.into())
}

/// `POST /v1/responses`.
#[utoipa::path(
    post,
    path = "/v1/responses",
    operation_id = "createResponse",
    tag = "inference",
    request_body = crate::ingress::schemas::ResponsesRequest,
    responses(
        (status = 200, description = "A response, or with `stream: true` its events as server-sent events", content((crate::ingress::schemas::ResponseObject = "application/json"), (String = "text/event-stream"))),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    meta: RequestMeta,
    body: Result<RawBody, ApiError>,
) -> Response {
    let caller = match caller {
        Ok(Caller(c)) => c,
        Err(e) => return fail(e),
    };
    let bytes = match body {
        Ok(RawBody(bytes)) => bytes,
        Err(e) => return fail(e),
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(RequestError::InvalidJson(e.to_string())),
    };
    let mut checked = match request::check(&body) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let references = checked.input.iter().any(|i| {
        i.get("type").and_then(Value::as_str) == Some("item_reference")
            || (i.get("type").is_none() && i.get("role").is_none())
    });
    if references {
        checked.input =
            match store::resolve_references(&state.db, &caller.user_id, checked.input).await {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
    }
    let history = match &checked.previous_response_id {
        Some(prev) => match store::history(&state.db, &caller.user_id, prev).await {
            Ok(h) => h,
            Err(e) => return fail(e),
        },
        None => Vec::new(),
    };
    let input = store::with_ids(&checked.input);
    let mut items = history;
    items.extend(input.iter().cloned());
    let canonical = request::to_chat(&body, &items);
    // A continued conversation goes upstream whole: the provider need not have kept it.
    let native_bytes = if checked.previous_response_id.is_some() || references {
        let mut full = body.clone();
        if let Some(o) = full.as_object_mut() {
            o.remove("previous_response_id");
            o.insert("input".into(), Value::Array(items.clone()));
        }
        Bytes::from(full.to_string())
    } else {
        bytes
    };
    let size = gateway::request_size(
        Some(&Value::Array(items)),
        checked.max_output_tokens,
        checked.stream,
    );
    let keep = checked.store.then(|| {
        Arc::new(Keep {
            state: state.clone(),
            user_id: caller.user_id.clone(),
            input,
            previous: checked.previous_response_id.clone(),
        })
    });
    let dialect = Responses {
        template: render::Template::new(&body, &checked.model, checked.store),
        keep,
    };
    gateway::serve(
        state,
        caller,
        meta,
        GatewayRequest {
            endpoint: Endpoint::Responses,
            model: checked.model,
            stream: checked.stream,
            size,
            canonical,
            native: Some(NativeBody {
                api: NativeApi::OpenAiResponses,
                bytes: native_bytes,
                headers: Vec::new(),
            }),
        },
        Arc::new(dialect),
    )
    .await
}

/// `GET /v1/responses/{id}`: a stored response of the caller's (another user's is 404).
#[utoipa::path(
    get,
    path = "/v1/responses/{id}",
    operation_id = "getResponse",
    tag = "inference",
    params(("id" = String, Path)),
    responses((status = 200, body = crate::ingress::schemas::ResponseObject)),
)]
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let Caller(caller) = caller?;
        let row = store::find(&state.db, &caller.user_id, &id).await?;
        Ok::<_, ApiError>(serde_json::from_str::<Value>(&row.response).unwrap_or_default())
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => fail(e),
    }
}

/// `DELETE /v1/responses/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/responses/{id}",
    operation_id = "deleteResponse",
    tag = "inference",
    params(("id" = String, Path)),
    responses((status = 200, body = crate::ingress::schemas::ResponseDeleted)),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let Caller(caller) = caller?;
        store::delete(&state.db, &caller.user_id, &id).await
    }
    .await;
    match result {
        Ok(()) => {
            Json(json!({"id": id, "object": "response.deleted", "deleted": true})).into_response()
        }
        Err(e) => fail(e),
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    order: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
    #[allow(
        dead_code,
        reason = "accepted as OpenAI accepts it; items carry no extra fields to include"
    )]
    include: Option<Vec<String>>,
}

/// `GET /v1/responses/{id}/input_items`: the request's input items, newest first unless
/// `order=asc`, `limit` (1–100, default 20) after the item `after`.
#[utoipa::path(
    get,
    path = "/v1/responses/{id}/input_items",
    operation_id = "listInputItems",
    tag = "inference",
    params(
        ("id" = String, Path),
        ListQuery,
    ),
    responses((status = 200, body = crate::ingress::schemas::InputItems)),
)]
pub async fn input_items(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(id): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = async {
        let Caller(caller) = caller?;
        let Query(q) = query.map_err(|e| RequestError::InvalidBody(e.body_text()))?;
        let row = store::find(&state.db, &caller.user_id, &id).await?;
        let mut items: Vec<Value> = serde_json::from_str(&row.input_items).unwrap_or_default();
        match q.order.as_deref() {
            None | Some("desc") => items.reverse(),
            Some("asc") => {}
            Some(other) => {
                return Err(RequestError::InvalidBody(format!(
                    "\"order\" must be asc or desc, not {other:?}"
                ))
                .into())
            }
        }
        if let Some(after) = &q.after {
            if let Some(pos) = items.iter().position(|i| i["id"] == after.as_str()) {
                items.drain(..=pos);
            }
        }
        let limit = q.limit.unwrap_or(20).clamp(1, 100);
        let has_more = items.len() > limit;
        items.truncate(limit);
        Ok::<_, ApiError>(json!({
            "object": "list",
            "data": items,
            "first_id": items.first().map(|i| i["id"].clone()),
            "last_id": items.last().map(|i| i["id"].clone()),
            "has_more": has_more,
        }))
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => fail(e),
    }
}
