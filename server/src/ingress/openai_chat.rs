//! OpenAI's chat completions, embeddings and legacy completions: `/v1/chat/completions`,
//! `/v1/embeddings`, `/v1/completions`. Chat and embeddings are already the canonical
//! form; legacy completions pass through to OpenAI-compatible connections only.

use std::sync::{Arc, LazyLock};

use axum::{extract::State, http::StatusCode, response::Response};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::error::RequestError;
use crate::extract::{Caller, RawBody, RequestMeta};
use crate::gateway::{self, render, Dialect, Endpoint, GatewayRequest, NativeBody, StreamEncoder};
use crate::providers::NativeApi;
use crate::state::AppState;

/// OpenAI's own format: chunks pass through, `data: [DONE]` ends the stream.
pub struct OpenAiChat {
    /// The client set `stream_options.include_usage`: only then does it get the final
    /// `choices: []` usage chunk, as from OpenAI (the copied `chunk.choices[0]` loop
    /// breaks on it otherwise).
    pub include_usage: bool,
}

/// For answers and errors that do not depend on the request.
pub static PLAIN: LazyLock<Arc<OpenAiChat>> = LazyLock::new(|| {
    Arc::new(OpenAiChat {
        include_usage: false,
    })
});

/// The OpenAI error envelope with our code: `{"error":{"code","message","type","status"}}`.
pub fn error_body(code: &str, message: &str, status: StatusCode) -> Value {
    json!({"error": {"code": code, "message": message, "type": crate::error::error_type_for(status), "status": status.as_u16()}})
}

/// The status OpenAI's SDKs expect: they know no 529, so an overloaded provider is a 503
/// they retry.
pub fn openai_status(upstream: Option<u16>, status: StatusCode) -> StatusCode {
    if upstream == Some(529) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        status
    }
}

impl Dialect for OpenAiChat {
    fn error_body(&self, code: &str, message: &str, status: StatusCode) -> Value {
        error_body(code, message, status)
    }

    fn status_for(&self, upstream: Option<u16>, status: StatusCode) -> StatusCode {
        openai_status(upstream, status)
    }

    fn speaks_openai(&self) -> bool {
        true
    }

    fn whole(&self, answer: Value) -> Value {
        answer
    }

    fn encoder(&self, requested_model: &str) -> Box<dyn StreamEncoder> {
        Box::new(OpenAiEncoder {
            model: Value::String(requested_model.to_owned()),
            include_usage: self.include_usage,
        })
    }
}

struct OpenAiEncoder {
    model: Value,
    include_usage: bool,
}

impl StreamEncoder for OpenAiEncoder {
    fn chunk(&mut self, mut chunk: Value) -> Option<Bytes> {
        if !self.include_usage {
            // No chunk without choices (the usage chunk, Azure's prompt-filter chunk) and
            // no usage field, as OpenAI streams when usage was not asked for.
            if chunk
                .get("choices")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                return None;
            }
            if let Some(obj) = chunk.as_object_mut() {
                obj.remove("usage");
            }
        }
        if let Some(m) = chunk.get_mut("model") {
            *m = self.model.clone();
        }
        Some(Bytes::from(format!("data: {chunk}\n\n")))
    }

    fn end(&mut self) -> Bytes {
        Bytes::from_static(b"data: [DONE]\n\n")
    }

    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes {
        Bytes::from(format!("data: {}\n\n", error_body(code, message, status)))
    }
}

/// Checks what must hold before any upstream call, naming the field.
fn validate(endpoint: Endpoint, body: &Value) -> Result<(String, bool), RequestError> {
    let obj = body
        .as_object()
        .ok_or_else(|| RequestError::InvalidBody("the body must be a JSON object".into()))?;
    let model = crate::ingress::model_field(obj.get("model"))?;
    match endpoint {
        Endpoint::Chat => {
            let messages = obj
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    RequestError::InvalidBody(
                        "\"messages\" is required and must be an array".into(),
                    )
                })?;
            if messages.is_empty() {
                return Err(RequestError::InvalidBody(
                    "\"messages\" must not be empty".into(),
                ));
            }
            if messages
                .iter()
                .any(|m| m.get("role").and_then(Value::as_str).is_none())
            {
                return Err(RequestError::InvalidBody(
                    "every message needs a string \"role\"".into(),
                ));
            }
        }
        Endpoint::Completions => {
            if obj.get("prompt").is_none_or(Value::is_null) {
                return Err(RequestError::InvalidBody("\"prompt\" is required".into()));
            }
        }
        _ => {
            if obj.get("input").is_none_or(Value::is_null) {
                return Err(RequestError::InvalidBody("\"input\" is required".into()));
            }
        }
    }
    let stream = crate::ingress::stream_field(obj.get("stream"))?;
    if stream && endpoint == Endpoint::Embeddings {
        return Err(RequestError::InvalidBody("embeddings cannot stream".into()));
    }
    Ok((model, stream))
}

/// An OpenAI-format body for `endpoint`, routed and answered in kind.
pub async fn handle(
    state: AppState,
    caller: Arc<Principal>,
    meta: RequestMeta,
    endpoint: Endpoint,
    bytes: Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return render(&**PLAIN, RequestError::InvalidJson(e.to_string()).into()),
    };
    let (model, stream) = match validate(endpoint, &body) {
        Ok(v) => v,
        Err(e) => return render(&**PLAIN, e.into()),
    };
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max_output = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64);
    let prompt = body
        .get("messages")
        .or_else(|| body.get("input"))
        .or_else(|| body.get("prompt"));
    let size = gateway::request_size(prompt, max_output, stream);
    let (canonical, native) = if endpoint == Endpoint::Completions {
        (
            Err("legacy completions are served only by OpenAI-compatible connections".to_owned()),
            Some(NativeBody {
                api: NativeApi::OpenAiCompletions,
                bytes,
                headers: Vec::new(),
            }),
        )
    } else {
        (Ok(body), None)
    };
    let dialect: Arc<dyn Dialect> = if include_usage {
        Arc::new(OpenAiChat {
            include_usage: true,
        })
    } else {
        PLAIN.clone()
    };
    gateway::serve(
        state,
        caller,
        meta,
        GatewayRequest {
            endpoint,
            model,
            stream,
            size,
            canonical,
            native,
        },
        dialect,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/chat/completions",
    operation_id = "createChatCompletion",
    tag = "inference",
    request_body = crate::ingress::schemas::ChatCompletionRequest,
    responses(
        (status = 200, description = "A completion, or with `stream: true` its chunks as server-sent events ending in `data: [DONE]`", content((crate::ingress::schemas::ChatCompletion = "application/json"), (String = "text/event-stream"))),
    ),
)]
pub async fn chat(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    RawBody(body): RawBody,
) -> Response {
    handle(state, caller, meta, Endpoint::Chat, body).await
}

#[utoipa::path(
    post,
    path = "/v1/embeddings",
    operation_id = "createEmbedding",
    tag = "inference",
    request_body = crate::ingress::schemas::EmbeddingsRequest,
    responses( (status = 200, body = crate::ingress::schemas::Embeddings)),
)]
pub async fn embeddings(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    RawBody(body): RawBody,
) -> Response {
    handle(state, caller, meta, Endpoint::Embeddings, body).await
}

#[utoipa::path(
    post,
    path = "/v1/completions",
    operation_id = "createCompletion",
    tag = "inference",
    request_body = crate::ingress::schemas::CompletionRequest,
    responses(
        (status = 200, description = "A completion, or with `stream: true` server-sent events", content((crate::ingress::schemas::Completion = "application/json"), (String = "text/event-stream"))),
    ),
)]
pub async fn completions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    RawBody(body): RawBody,
) -> Response {
    handle(state, caller, meta, Endpoint::Completions, body).await
}

/// A console call's answer: its status, who served it (from the explainability headers)
/// and its body.
pub struct ConsoleAnswer {
    pub status: u16,
    pub connection_id: Option<String>,
    pub provider: Option<String>,
    pub resolution: Option<String>,
    pub body: axum::body::Body,
}

/// A chat completion the console makes for a signed-in person ("Try it", the playground),
/// through the same request path as any client's.
pub async fn console_chat(
    state: AppState,
    caller: Arc<Principal>,
    user_agent: &str,
    body: &Value,
) -> ConsoleAnswer {
    let response = handle(
        state,
        caller,
        RequestMeta {
            request_id: String::new(),
            user_agent: Some(user_agent.to_owned()),
        },
        Endpoint::Chat,
        Bytes::from(body.to_string()),
    )
    .await;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    ConsoleAnswer {
        status,
        connection_id: header("x-langmart-connection"),
        provider: header("x-langmart-provider"),
        resolution: header("x-langmart-resolution"),
        body,
    }
}

/// The console's "Try it": one short chat completion through the real request path (so it
/// routes, falls back and is logged like any other call), summarised for the page.
pub async fn try_prompt(
    state: AppState,
    caller: Arc<Principal>,
    model: String,
    prompt: String,
) -> app::dto::TryResultDto {
    let started = std::time::Instant::now();
    let state_log = state.request_log.clone();
    let body = json!({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 256});
    let answer = console_chat(state, caller, "LangMart console", &body).await;
    // The person trying a prompt looks at the Request Logs next: write the row now.
    state_log.flush().await;
    let bytes = axum::body::to_bytes(answer.body, 4 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_owned);
    app::dto::TryResultDto {
        status: answer.status,
        connection_id: answer.connection_id,
        provider: answer.provider,
        model: text("/model"),
        content: text("/choices/0/message/content"),
        error: text("/error/message"),
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_happens_before_any_upstream_call() {
        let ok = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert!(validate(Endpoint::Chat, &ok).is_ok());
        assert!(validate(Endpoint::Chat, &json!({"model": "m", "messages": []})).is_err());
        assert!(validate(Endpoint::Chat, &json!({"model": "m"})).is_err());
        assert!(validate(
            Endpoint::Chat,
            &json!({"model": 5, "messages": [{"role": "user"}]})
        )
        .is_err());
        assert!(validate(
            Endpoint::Chat,
            &json!({"model": "m", "messages": [{"content": "x"}]})
        )
        .is_err());
        assert!(validate(
            Endpoint::Chat,
            &json!({"model": "m", "messages": [{"role": "user"}], "stream": "yes"})
        )
        .is_err());
        assert!(validate(Endpoint::Embeddings, &json!({"model": "m"})).is_err());
        assert!(validate(Endpoint::Completions, &json!({"model": "m"})).is_err());
        assert!(
            validate(
                Endpoint::Chat,
                &json!({"model": "m", "messages": [{"role": "user"}], "stream": true})
            )
            .unwrap()
            .1
        );
    }

    fn sent(encoder: &mut dyn StreamEncoder, chunk: Value) -> Option<Value> {
        encoder.chunk(chunk).map(|b| {
            let text = String::from_utf8_lossy(&b).into_owned();
            serde_json::from_str(text.trim().trim_start_matches("data: ")).unwrap()
        })
    }

    #[test]
    fn the_usage_chunk_goes_only_to_clients_that_asked_for_it() {
        let usage_chunk = json!({"id": "c", "model": "up", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}});
        let text_chunk = json!({"id": "c", "model": "up", "choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": null});
        let mut plain = PLAIN.encoder("openai/gpt-4o");
        assert!(sent(&mut *plain, usage_chunk.clone()).is_none());
        let out = sent(&mut *plain, text_chunk.clone()).unwrap();
        assert_eq!(out["model"], "openai/gpt-4o");
        assert!(out.get("usage").is_none());
        let mut asked = OpenAiChat {
            include_usage: true,
        }
        .encoder("m");
        assert_eq!(
            sent(&mut *asked, usage_chunk).unwrap()["usage"]["completion_tokens"],
            2
        );
    }
}
