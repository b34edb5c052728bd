//! The inference API under `/v1`, one module per client dialect — OpenAI chat
//! ([`openai_chat`]), OpenAI Responses ([`openai_responses`]), Anthropic Messages
//! ([`anthropic_messages`]) — each only parsing its request and rendering its answers,
//! with the request path itself in [`crate::gateway`]. Every `/v1` answer, routed or not,
//! leaves a request-log row ([`Seen`]).

pub mod anthropic_messages;
mod models;
pub mod openai_chat;
pub mod openai_responses;
pub mod schemas;

use axum::{
    extract::Request,
    http::{
        header::{AUTHORIZATION, USER_AGENT},
        HeaderMap, HeaderValue,
    },
    response::Response,
    routing::{any, get, post},
};
use serde_json::Value;

use crate::clock::now_ms;
use crate::db::Flag;
use crate::error::{ErrorCode, RequestError};
use crate::extract::truncate;
use crate::ids::new_ordered_id;
use crate::logs::{LogRow, Logged};
use crate::openapi::Routes;
use crate::state::AppState;

pub use openai_chat::try_prompt;

/// Longest model string accepted; longer ones are refused before routing (they would only
/// fill logs and maps).
pub const MAX_MODEL_LEN: usize = 512;
/// Longest path kept in a log row.
const MAX_PATH: usize = 256;

/// Every `/v1` route; each is in [`V1Doc`].
pub fn routes() -> Routes {
    Routes::new()
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
        .unlisted("/v1/{*rest}", any(crate::api::not_found))
}

/// The `/v1` half of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    models::validate,
    models::list,
    models::get,
    openai_chat::chat,
    openai_chat::embeddings,
    openai_chat::completions,
    openai_responses::create,
    openai_responses::retrieve,
    openai_responses::delete,
    openai_responses::input_items,
    anthropic_messages::create,
    anthropic_messages::count_tokens,
))]
pub struct V1Doc;

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

/// What is kept of a `/v1` request until its answer, so that every answer the request
/// path did not log itself (unknown routes, bad keys, malformed bodies, model lists, token
/// counts) gets its request-log row, and every refusal and failure an info line with its
/// path: operators see what clients tried. A row whose request had no valid key belongs
/// to no user; platform admins see those. Everything here is a reference count; the row's
/// strings are made only when a row is written.
pub struct Seen {
    started: std::time::Instant,
    uri: axum::http::Uri,
    user_agent: Option<HeaderValue>,
    authorization: Option<HeaderValue>,
    api_key: Option<HeaderValue>,
    request_id: Option<HeaderValue>,
}

impl Seen {
    /// `Some` for requests under `/v1/`.
    pub fn of(req: &Request) -> Option<Seen> {
        if !req.uri().path().starts_with("/v1/") {
            return None;
        }
        let h = req.headers();
        Some(Seen {
            started: std::time::Instant::now(),
            uri: req.uri().clone(),
            user_agent: h.get(USER_AGENT).cloned(),
            authorization: h.get(AUTHORIZATION).cloned(),
            api_key: h.get("x-api-key").cloned(),
            request_id: h.get("x-request-id").cloned(),
        })
    }

    /// Logs a refusal or failure, and writes the row the request path did not.
    pub fn answered(
        self,
        state: &AppState,
        response: &Response,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let status = response.status().as_u16();
        let code = response
            .extensions()
            .get::<ErrorCode>()
            .map(|c| c.0.clone());
        let text =
            |v: &Option<HeaderValue>| v.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
        let path = truncate(self.uri.path(), MAX_PATH);
        if status >= 400 {
            tracing::info!(
                status,
                path,
                code = code.as_deref().unwrap_or_default(),
                user_agent = text(&self.user_agent).unwrap_or_default(),
                "inference request refused or failed"
            );
        }
        if response.extensions().get::<Logged>().is_some() {
            return None;
        }
        let state = state.clone();
        let path = path.to_owned();
        Some(async move { self.write_row(&state, status, code, path).await })
    }

    async fn write_row(
        self,
        state: &AppState,
        status: u16,
        code: Option<std::borrow::Cow<'static, str>>,
        path: String,
    ) {
        let text =
            |v: &Option<HeaderValue>| v.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (AUTHORIZATION.as_str(), &self.authorization),
            ("x-api-key", &self.api_key),
        ] {
            if let (Some(v), Ok(n)) = (value, axum::http::HeaderName::try_from(name)) {
                headers.insert(n, v.clone());
            }
        }
        // Cached: no SQL or hashing beyond a digest when the key was seen recently.
        let caller = state
            .keys
            .identify(crate::extract::presented_key(&headers).as_deref())
            .await
            .ok();
        let now = now_ms();
        let endpoint = path.strip_prefix("/v1/").unwrap_or(&path);
        state.request_log.record(LogRow {
            id: new_ordered_id("req", now),
            request_id: text(&self.request_id).unwrap_or_default(),
            created_at: now,
            user_id: caller
                .as_ref()
                .map(|c| c.user_id.clone())
                .unwrap_or_default(),
            key_id: caller
                .as_ref()
                .map(|c| c.key_id.clone())
                .unwrap_or_default(),
            endpoint: truncate(endpoint, MAX_PATH).to_owned(),
            user_agent: text(&self.user_agent).map(|ua| truncate(&ua, 256).to_owned()),
            requested_model: String::new(),
            resolution: "none".into(),
            collection: None,
            connection_id: None,
            provider: None,
            upstream_model: None,
            status_code: i64::from(status),
            error_code: code.map(|c| c.into_owned()),
            latency_ms: i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX),
            ttft_ms: None,
            prompt_tokens: None,
            completion_tokens: None,
            cache_read_tokens: None,
            cache_write_tokens: None,
            stream: Flag(false),
            attempts: "[]".into(),
            cost_usd: None,
            cost_basis: None,
            bodies: None,
        });
    }
}
