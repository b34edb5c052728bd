//! The inference API under `/v1`, one module per client dialect — OpenAI chat
//! ([`openai_chat`]), OpenAI Responses ([`openai_responses`]), Anthropic Messages
//! ([`anthropic_messages`]) — each only parsing its request and rendering its answers,
//! with the request path itself in [`crate::gateway`]. Every `/v1` answer, routed or not,
//! leaves a request-log row ([`log_every_answer`]).

pub mod anthropic_messages;
mod models;
pub mod openai_chat;
pub mod openai_responses;

use axum::{
    extract::{Request, State},
    http::{header::USER_AGENT, HeaderMap},
    middleware::{self, Next},
    response::Response,
    routing::{any, get, post},
    Router,
};
use serde_json::Value;

use crate::clock::now_ms;
use crate::db::Flag;
use crate::error::{ErrorCode, RequestError};
use crate::extract::truncate;
use crate::ids::new_ordered_id;
use crate::logs::{LogRow, Logged};
use crate::state::AppState;

pub use openai_chat::try_prompt;

/// Longest model string accepted; longer ones are refused before routing (they would only
/// fill logs and maps).
pub const MAX_MODEL_LEN: usize = 512;
/// Longest path kept in a log row.
const MAX_PATH: usize = 256;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/auth/validate", get(models::validate))
        .route("/v1/chat/completions", post(openai_chat::chat))
        .route("/v1/embeddings", post(openai_chat::embeddings))
        .route("/v1/completions", post(openai_chat::completions))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{*id}", get(models::get))
        .route("/v1/responses", post(openai_responses::create))
        .route(
            "/v1/responses/{id}",
            get(openai_responses::retrieve).delete(openai_responses::delete),
        )
        .route(
            "/v1/responses/{id}/input_items",
            get(openai_responses::input_items),
        )
        .route("/v1/messages", post(anthropic_messages::create))
        .route(
            "/v1/messages/count_tokens",
            post(anthropic_messages::count_tokens),
        )
        .route("/v1/{*rest}", any(crate::api::not_found))
        .layer(middleware::from_fn_with_state(state, log_every_answer))
}

/// The request's `model`: a string of at most [`MAX_MODEL_LEN`] bytes.
pub fn model_field(model: Option<&Value>) -> Result<String, RequestError> {
    let model = model.and_then(Value::as_str).ok_or_else(|| {
        RequestError::InvalidBody("\"model\" is required and must be a string".into())
    })?;
    if model.len() > MAX_MODEL_LEN {
        return Err(RequestError::InvalidBody(format!(
            "\"model\" is longer than {MAX_MODEL_LEN} bytes"
        )));
    }
    Ok(model.to_owned())
}

/// The request's `stream` flag (absent or null: false).
pub fn stream_field(stream: Option<&Value>) -> Result<bool, RequestError> {
    match stream {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RequestError::InvalidBody(
            "\"stream\" must be a boolean".into(),
        )),
    }
}

/// Gives every `/v1` answer that the request path did not log itself (unknown routes, bad
/// keys, malformed bodies, model lists, token counts) its request-log row, and logs every
/// refusal and failure with its path at info, so operators see what clients tried. A row
/// whose request had no valid key belongs to no user; platform admins see those.
async fn log_every_answer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let uri = req.uri().clone();
    let user_agent = req.headers().get(USER_AGENT).cloned();
    let authorization = presented(req.headers());
    let request_id = req.headers().get("x-request-id").cloned();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let code = response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| c.0.clone());
    let path = truncate(uri.path(), MAX_PATH);
    if status >= 400 {
        tracing::info!(
            status,
            path,
            code = code.as_deref().unwrap_or_default(),
            user_agent = user_agent
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
            "inference request refused or failed"
        );
    }
    if response.extensions().get::<Logged>().is_some() {
        return response;
    }
    // Cached: no SQL or hashing beyond a digest when the key was seen recently.
    let caller = state.keys.authenticate(authorization.as_deref()).await.ok();
    let now = now_ms();
    let endpoint = path.strip_prefix("/v1/").unwrap_or(path);
    state.request_log.record(LogRow {
        id: new_ordered_id("req", now),
        request_id: request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        created_at: now,
        user_id: caller
            .as_ref()
            .map(|c| c.user_id.clone())
            .unwrap_or_default(),
        key_id: caller
            .as_ref()
            .map(|c| c.key_id.clone())
            .unwrap_or_default(),
        endpoint: truncate(endpoint, 64).to_owned(),
        path: path.to_owned(),
        user_agent: user_agent
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(|ua| truncate(ua, 256).to_owned()),
        requested_model: String::new(),
        resolution: "none".into(),
        collection: None,
        connection_id: None,
        provider: None,
        upstream_model: None,
        status_code: i64::from(status),
        error_code: code.map(|c| c.into_owned()),
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        ttft_ms: None,
        prompt_tokens: None,
        completion_tokens: None,
        cache_read_tokens: None,
        cache_write_tokens: None,
        stream: Flag(false),
        attempts: "[]".into(),
    });
    response
}

fn presented(headers: &HeaderMap) -> Option<String> {
    crate::extract::presented_key(headers)
}
