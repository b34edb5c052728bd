//! Anthropic's Messages API as an ingress: `POST /v1/messages` (whole or streamed) with a
//! LangMart key in `x-api-key` or `Authorization: Bearer`, so Anthropic SDK clients use
//! LangMart unchanged. The request is translated to the canonical OpenAI format, routed
//! like any chat completion (same model strings, fallback, limits, logs), and the answer,
//! its stream events and errors are written back in Anthropic's format.

mod request;
mod response;

use axum::{extract::State, http::HeaderMap, response::Response, routing::post, Router};
use bytes::Bytes;

use crate::api::presented_key;
use crate::error::RequestError;
use crate::openai::proxy::{self, Endpoint};
use crate::state::AppState;
use response::AnthropicEgress;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/messages", post(create))
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let egress = &AnthropicEgress;
    let caller = match state
        .keys
        .authenticate(presented_key(&headers).as_deref())
        .await
    {
        Ok(c) => c,
        Err(e) => return proxy::render(egress, e),
    };
    let native: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return proxy::render(egress, RequestError::InvalidJson(e.to_string()).into()),
    };
    let canonical = match request::to_openai(&native) {
        Ok(b) => b,
        Err(e) => return proxy::render(egress, e.into()),
    };
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    proxy::serve(state, caller, request_id, Endpoint::Chat, canonical, egress).await
}
