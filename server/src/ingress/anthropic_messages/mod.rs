//! Anthropic's Messages API as an ingress: `POST /v1/messages` (whole or streamed) and
//! `POST /v1/messages/count_tokens`, with a LangMart key in `x-api-key` or
//! `Authorization: Bearer`, so Anthropic SDKs and Claude Code use LangMart unchanged.
//!
//! To an Anthropic connection the request goes as the client wrote it — only `model`
//! replaced, `anthropic-version` and `anthropic-beta` forwarded — so prompt caching,
//! thinking blocks with their signatures, betas and fields added later all survive, and
//! the answer comes back untouched. To any other family it is translated to the canonical
//! OpenAI form ([`request`]) and the answer, its stream events and errors are written back
//! in Anthropic's format ([`response`]).

mod request;
mod response;

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::api::presented_key;
use crate::error::{ApiError, RequestError, UpstreamError};
use crate::extract::{RawBody, RequestMeta};
use crate::gateway::{self, render, Endpoint, GatewayRequest, NativeBody};
use crate::providers::{NativeApi, NativeReply, ProviderError};
use crate::state::AppState;
use app::dto::KeyScope;

pub use response::{error_body, error_type, AnthropicMessages};

/// The client's headers an Anthropic connection should see.
const FORWARDED: [&str; 2] = ["anthropic-version", "anthropic-beta"];

/// Marks a token count LangMart estimated because no Anthropic connection could count.
const ESTIMATED: HeaderName = HeaderName::from_static("x-langmart-token-count");

/// What both endpoints read first: the caller and the body.
struct Parsed {
    caller: Arc<crate::auth::Principal>,
    body: Value,
    model: String,
}

async fn parse(state: &AppState, headers: &HeaderMap, bytes: &Bytes) -> Result<Parsed, ApiError> {
    let caller = state
        .keys
        .authenticate(presented_key(headers).as_deref(), KeyScope::Inference)
        .await?;
    let body: Value =
        serde_json::from_slice(bytes).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
    let obj = body
        .as_object()
        .ok_or_else(|| RequestError::InvalidBody("the body must be a JSON object".into()))?;
    let model = crate::ingress::model_field(obj.get("model"))?;
    match obj.get("messages").and_then(Value::as_array) {
        Some(m) if !m.is_empty() => {}
        _ => {
            return Err(RequestError::InvalidBody(
                "\"messages\" is required and must be a non-empty array".into(),
            )
            .into())
        }
    }
    Ok(Parsed {
        caller,
        body,
        model,
    })
}

fn forwarded(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    FORWARDED
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)
                .map(|v| (HeaderName::from_static(name), v.clone()))
        })
        .collect()
}

/// `POST /v1/messages`.
#[utoipa::path(
    post,
    path = "/v1/messages",
    operation_id = "createMessage",
    tag = "inference",
    request_body = crate::ingress::schemas::MessagesRequest,
    responses(
        (status = 200, description = "A message, or with `stream: true` Anthropic's server-sent events", content((crate::ingress::schemas::Message = "application/json"), (String = "text/event-stream"))),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let dialect = AnthropicMessages;
    let bytes = match body {
        Ok(RawBody(bytes)) => bytes,
        Err(e) => return render(&dialect, e),
    };
    let Parsed {
        caller,
        body,
        model,
    } = match parse(&state, &headers, &bytes).await {
        Ok(p) => p,
        Err(e) => return render(&dialect, e),
    };
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return render(
            &dialect,
            RequestError::InvalidBody("\"max_tokens\" is required and must be a number".into())
                .into(),
        );
    }
    let stream = match crate::ingress::stream_field(body.get("stream")) {
        Ok(s) => s,
        Err(e) => return render(&dialect, e.into()),
    };
    let size = gateway::request_size(
        body.get("messages"),
        body.get("max_tokens").and_then(Value::as_u64),
        stream,
    );
    let canonical = request::to_openai(&body).map_err(|e| e.to_string());
    gateway::serve(
        state,
        caller,
        RequestMeta::from_headers(&headers),
        GatewayRequest {
            endpoint: Endpoint::Messages,
            model,
            stream,
            size,
            canonical,
            native: Some(NativeBody {
                api: NativeApi::AnthropicMessages,
                bytes,
                headers: forwarded(&headers),
            }),
        },
        Arc::new(dialect),
    )
    .await
}

/// `POST /v1/messages/count_tokens`: counted by the first Anthropic connection the model
/// routes to; otherwise (or when that connection cannot be reached) estimated at about a
/// token per four characters, and marked `x-langmart-token-count: estimated`.
#[utoipa::path(
    post,
    path = "/v1/messages/count_tokens",
    operation_id = "countMessageTokens",
    tag = "inference",
    request_body = crate::ingress::schemas::CountTokensRequest,
    responses((status = 200, body = crate::ingress::schemas::TokenCount)),
)]
pub async fn count_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<RawBody, ApiError>,
) -> Response {
    let dialect = AnthropicMessages;
    let bytes = match body {
        Ok(RawBody(bytes)) => bytes,
        Err(e) => return render(&dialect, e),
    };
    let Parsed {
        caller,
        body,
        model,
    } = match parse(&state, &headers, &bytes).await {
        Ok(p) => p,
        Err(e) => return render(&dialect, e),
    };
    let candidate =
        match gateway::native_candidate(&state, &caller, &model, NativeApi::AnthropicCountTokens)
            .await
        {
            Ok(c) => c,
            Err(e) => return render(&dialect, e),
        };
    if let Some((route, upstream_model)) = candidate {
        let native = NativeBody {
            api: NativeApi::AnthropicCountTokens,
            bytes,
            headers: forwarded(&headers),
        };
        match gateway::send_native(&state, &route, &upstream_model, &native, false).await {
            Ok(NativeReply::Whole(answer)) => {
                let mut response = (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    answer,
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(ESTIMATED, HeaderValue::from_static("counted"));
                return response;
            }
            Ok(NativeReply::Stream(_)) => {}
            // The request itself is wrong: the provider's answer says why.
            Err(
                error @ ProviderError::Http {
                    status: 400 | 404 | 413,
                    ..
                },
            ) => {
                return render(
                    &dialect,
                    UpstreamError {
                        provider_key: route.provider_key.clone(),
                        error,
                        detail: String::new(),
                    }
                    .into(),
                )
            }
            Err(e) => {
                tracing::info!(connection = %route.id, error = %e, "count_tokens fell back to an estimate")
            }
        }
    }
    let prompt = json!([body.get("system"), body.get("messages"), body.get("tools")]);
    let estimate = gateway::request_size(Some(&prompt), Some(0), false).prompt_tokens;
    let mut response = Json(json!({"input_tokens": estimate})).into_response();
    response
        .headers_mut()
        .insert(ESTIMATED, HeaderValue::from_static("estimated"));
    response
}
