//! The chat and embedding endpoints of the native provider APIs, on the same listener as
//! their list-models mocks (`mocks.rs`): Anthropic Messages, Gemini generateContent and
//! embedContent, Bedrock Converse/ConverseStream (SigV4 recomputed over the body, answers
//! in AWS's binary event stream), Azure OpenAI deployments and Cohere v2. Each checks its
//! family's auth, records the request it received and answers with the recorded
//! real-format fixtures in `tests/fixtures/`: the tool-call answer when the request offers
//! tools, else the text answer; a stream when asked; the family's error body on failure.

#![expect(
    clippy::unwrap_used,
    reason = "a mock that cannot run must fail the test"
)]

use std::collections::HashMap;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message as Frame};
use axum::{
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::{json, Value};

use crate::mocks::{bedrock_signature_ok, header, Mock};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../fixtures/", $path))
    };
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Path and query, still percent-encoded.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body's bytes as they arrived (for families that take them untouched).
    pub raw: Bytes,
}

pub fn routes() -> Router<Mock> {
    Router::new()
        .route("/anthropic/v1/messages", post(anthropic))
        .route(
            "/anthropic/v1/messages/count_tokens",
            post(anthropic_count_tokens),
        )
        .route("/azure/openai/v1/responses", post(azure_responses))
        .route("/gemini/v1beta/models/{call}", post(gemini))
        .route("/bedrock/model/{model}/{operation}", post(bedrock))
        .route(
            "/azure/openai/deployments/{deployment}/{*path}",
            post(azure),
        )
        .route("/cohere/v2/chat", post(cohere_chat))
        .route("/cohere/v2/embed", post(cohere_embed))
}

fn json_fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn offers_tools(body: &Value) -> bool {
    body.get("tools").is_some_and(|t| !t.is_null()) || body.get("toolConfig").is_some()
}

/// A server-sent-event body, one network chunk per event as providers send them.
fn sse(mock: &Mock, text: &'static str) -> Response {
    let frames = text
        .split_inclusive("\n\n")
        .map(|f| Bytes::from_static(f.as_bytes()))
        .collect();
    streamed(mock, frames, "text/event-stream")
}

/// A streamed answer of `frames`; only their first half when the mock is told to end
/// streams early (cleanly, as a proxy that drops the rest would).
fn streamed(mock: &Mock, mut frames: Vec<Bytes>, content_type: &'static str) -> Response {
    if mock.ends_streams_early() {
        frames.truncate(frames.len().div_ceil(2));
    }
    let frames = frames.into_iter().map(Ok::<_, std::io::Error>);
    let mut res = Response::new(Body::from_stream(futures_util::stream::iter(frames)));
    res.headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    res
}

/// Records the request, then applies the mock's failure or hang, answering failures in
/// the family's own error shape.
async fn gate(
    mock: &Mock,
    uri: &Uri,
    headers: &HeaderMap,
    body: Value,
    error: fn(u16) -> Value,
) -> Result<String, Response> {
    gate_raw(mock, uri, headers, body, Bytes::new(), error).await
}

async fn gate_raw(
    mock: &Mock,
    uri: &Uri,
    headers: &HeaderMap,
    body: Value,
    raw: Bytes,
    error: fn(u16) -> Value,
) -> Result<String, Response> {
    mock.record(Recorded {
        uri: uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        headers: headers.clone(),
        body,
        raw,
    });
    match mock.gate().await {
        Ok(key) => Ok(key),
        Err(res) => {
            let status = res.status();
            let retry_after = res.headers().get("retry-after").cloned();
            let mut out = json_response(status, error(status.as_u16()));
            if let Some(r) = retry_after {
                out.headers_mut().insert("retry-after", r);
            }
            Err(out)
        }
    }
}

async fn anthropic(State(mock): State<Mock>, uri: Uri, headers: HeaderMap, raw: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap();
    let key = match gate_raw(&mock, &uri, &headers, body.clone(), raw, |_| {
        json_fixture(fixture!("anthropic/error_overloaded.json"))
    })
    .await
    {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "x-api-key") != key || header(&headers, "anthropic-version") != "2023-06-01"
    {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        );
    }
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}),
        );
    }
    match (body["stream"] == json!(true), offers_tools(&body)) {
        (true, true) => sse(&mock, fixture!("anthropic/stream_tool_use.sse")),
        (true, false) => sse(&mock, fixture!("anthropic/stream_text.sse")),
        (false, true) => {
            Json(json_fixture(fixture!("anthropic/message_tool_use.json"))).into_response()
        }
        (false, false) => {
            Json(json_fixture(fixture!("anthropic/message_text.json"))).into_response()
        }
    }
}

/// Anthropic's token counter: a count that depends on the request, so tests can tell it
/// from LangMart's estimate.
async fn anthropic_count_tokens(
    State(mock): State<Mock>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap();
    let key = match gate_raw(&mock, &uri, &headers, body.clone(), raw, |_| {
        json_fixture(fixture!("anthropic/error_overloaded.json"))
    })
    .await
    {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "x-api-key") != key {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        );
    }
    let n = 1000 + body["messages"].as_array().map_or(0, Vec::len);
    Json(json!({"input_tokens": n})).into_response()
}

/// Azure OpenAI's Responses API (v1): the deployment is the body's `model`.
async fn azure_responses(
    State(mock): State<Mock>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match gate(
        &mock,
        &uri,
        &headers,
        body.clone(),
        |s| json!({"error": {"code": s.to_string(), "message": "rate limited"}}),
    )
    .await
    {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "api-key") != key
        || q.get("api-version").map(String::as_str) != Some("preview")
    {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "401", "message": "Access denied"}}),
        );
    }
    let item = if offers_tools(&body) {
        json!({"id": "fc_az", "type": "function_call", "status": "completed", "call_id": "call_az",
               "name": "get_weather", "arguments": "{\"location\":\"Seattle\"}"})
    } else {
        json!({"id": "msg_az", "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": "Hello from Azure.", "annotations": []}]})
    };
    let response = |status: &str, output: Value| {
        json!({"id": "resp_az", "object": "response", "created_at": 1, "status": status, "model": body["model"],
               "output": output, "usage": {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13}})
    };
    if body["stream"] != json!(true) {
        return Json(response("completed", json!([item]))).into_response();
    }
    let mut text = String::new();
    let events = [
        (
            "response.created",
            json!({"response": response("in_progress", json!([]))}),
        ),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        ),
        (
            "response.output_text.delta",
            json!({"item_id": item["id"], "output_index": 0, "content_index": 0, "delta": "Hello from Azure."}),
        ),
        (
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ),
        (
            "response.completed",
            json!({"response": response("completed", json!([item]))}),
        ),
    ];
    for (i, (kind, mut data)) in events.into_iter().enumerate() {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(i);
        text.push_str(&format!("event: {kind}\ndata: {data}\n\n"));
    }
    let mut res = Response::new(Body::from(text));
    res.headers_mut()
        .insert("content-type", "text/event-stream".parse().unwrap());
    res
}

fn gemini_error(status: u16) -> Value {
    let mut e = json_fixture(fixture!("gemini/error_rate_limited.json"));
    e["error"]["code"] = json!(status);
    e
}

async fn gemini(
    State(mock): State<Mock>,
    Path(call): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match gate(&mock, &uri, &headers, body.clone(), gemini_error).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "x-goog-api-key") != key {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}),
        );
    }
    let Some((model, method)) = call.split_once(':') else {
        return json_response(StatusCode::NOT_FOUND, gemini_error(404));
    };
    let blocked = body
        .pointer("/contents/0/parts/0/text")
        .and_then(Value::as_str)
        == Some("something dangerous");
    match method {
        "generateContent" if blocked => {
            Json(json_fixture(fixture!("gemini/generate_blocked.json"))).into_response()
        }
        "generateContent" if offers_tools(&body) => {
            Json(json_fixture(fixture!("gemini/generate_function_call.json"))).into_response()
        }
        "generateContent" => {
            Json(json_fixture(fixture!("gemini/generate_text.json"))).into_response()
        }
        "streamGenerateContent" if q.get("alt").map(String::as_str) != Some("sse") => {
            json_response(StatusCode::BAD_REQUEST, gemini_error(400))
        }
        "streamGenerateContent" if offers_tools(&body) => {
            sse(&mock, fixture!("gemini/stream_function_call.sse"))
        }
        "streamGenerateContent" => sse(&mock, fixture!("gemini/stream_text.sse")),
        "embedContent" => {
            Json(json!({"embedding": {"values": [0.25, -0.5, 0.75]}})).into_response()
        }
        "batchEmbedContents" => {
            let n = body["requests"].as_array().map(Vec::len).unwrap_or(0);
            let all_named = body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["model"] == format!("models/{model}"));
            if !all_named {
                return json_response(StatusCode::BAD_REQUEST, gemini_error(400));
            }
            Json(json!({"embeddings": (0..n).map(|i| json!({"values": [i as f32, 0.5]})).collect::<Vec<_>>()})).into_response()
        }
        _ => json_response(StatusCode::NOT_FOUND, gemini_error(404)),
    }
}

/// ConverseStream's answer: each fixture line as one binary event-stream frame.
fn event_stream(mock: &Mock, jsonl: &'static str) -> Response {
    let frames = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let frame = Frame::new(v["payload"].to_string().into_bytes())
                .add_header(Header::new(
                    ":message-type",
                    HeaderValue::String("event".into()),
                ))
                .add_header(Header::new(
                    ":event-type",
                    HeaderValue::String(v["event"].as_str().unwrap().to_owned().into()),
                ))
                .add_header(Header::new(
                    ":content-type",
                    HeaderValue::String("application/json".into()),
                ));
            let mut bytes = Vec::new();
            write_message_to(&frame, &mut bytes).unwrap();
            Bytes::from(bytes)
        })
        .collect();
    streamed(mock, frames, "application/vnd.amazon.eventstream")
}

/// InvokeModelWithResponseStream for Claude: each Anthropic event of an SSE fixture as a
/// `chunk` frame carrying its JSON base64-encoded.
fn bedrock_anthropic_chunks(mock: &Mock, sse_text: &'static str) -> Response {
    use base64::Engine;
    let frames = sse_text
        .split("\n\n")
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| {
            let payload = json!({"bytes": base64::engine::general_purpose::STANDARD.encode(data)});
            let frame = Frame::new(payload.to_string().into_bytes())
                .add_header(Header::new(
                    ":message-type",
                    HeaderValue::String("event".into()),
                ))
                .add_header(Header::new(
                    ":event-type",
                    HeaderValue::String("chunk".into()),
                ))
                .add_header(Header::new(
                    ":content-type",
                    HeaderValue::String("application/json".into()),
                ));
            let mut bytes = Vec::new();
            write_message_to(&frame, &mut bytes).unwrap();
            Bytes::from(bytes)
        })
        .collect();
    streamed(mock, frames, "application/vnd.amazon.eventstream")
}

async fn bedrock(
    State(mock): State<Mock>,
    Path((model, operation)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let secret = match gate(&mock, &uri, &headers, body.clone(), |_| {
        json_fixture(fixture!("bedrock/error_throttled.json"))
    })
    .await
    {
        Ok(k) => k,
        Err(r) => return r,
    };
    if !bedrock_signature_ok(&headers, &uri, "POST", &raw, &secret) {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({"message": "The request signature we calculated does not match the signature you provided."}),
        );
    }
    if model != "anthropic.claude-3-haiku-20240307-v1:0" {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"message": "The provided model identifier is invalid."}),
        );
    }
    let invoke = operation.starts_with("invoke");
    if invoke
        && (body["anthropic_version"] != "bedrock-2023-05-31"
            || body.get("model").is_some()
            || body.get("stream").is_some())
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": "ValidationException: anthropic_version bedrock-2023-05-31 required; model and stream are not body fields"}),
        );
    }
    let mut res = match (operation.as_str(), offers_tools(&body)) {
        ("invoke", true) => {
            Json(json_fixture(fixture!("anthropic/message_tool_use.json"))).into_response()
        }
        ("invoke", false) => {
            Json(json_fixture(fixture!("anthropic/message_text.json"))).into_response()
        }
        ("invoke-with-response-stream", true) => {
            bedrock_anthropic_chunks(&mock, fixture!("anthropic/stream_tool_use.sse"))
        }
        ("invoke-with-response-stream", false) => {
            bedrock_anthropic_chunks(&mock, fixture!("anthropic/stream_text.sse"))
        }
        ("converse-stream", true) => event_stream(&mock, fixture!("bedrock/stream_tool_use.jsonl")),
        ("converse-stream", false) => event_stream(&mock, fixture!("bedrock/stream_text.jsonl")),
        ("converse", true) => {
            Json(json_fixture(fixture!("bedrock/converse_tool_use.json"))).into_response()
        }
        ("converse", false) => {
            Json(json_fixture(fixture!("bedrock/converse_text.json"))).into_response()
        }
        _ => {
            return json_response(
                StatusCode::NOT_FOUND,
                json!({"message": "Unknown operation"}),
            )
        }
    };
    res.headers_mut().insert(
        "x-amzn-requestid",
        "2c1e9d4a-7b5f-4c36-9a0e-1f2d3c4b5a69".parse().unwrap(),
    );
    res
}

async fn azure(
    State(mock): State<Mock>,
    Path((deployment, path)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match gate(&mock, &uri, &headers, body.clone(), |s| json!({"error": {"code": s.to_string(), "message": "Requests to the ChatCompletions_Create Operation have exceeded rate limit."}})).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "api-key") != key {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint."}}),
        );
    }
    if q.get("api-version").map(String::as_str) != Some("2024-10-21") || body.get("model").is_some()
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BadRequest", "message": "api-version or body not as Azure expects"}}),
        );
    }
    if deployment != "prod-gpt4o" && deployment != "embeddings" {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}}),
        );
    }
    match path.as_str() {
        "embeddings" => Json(json!({"object": "list", "model": "text-embedding-3-small", "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 0.75]}], "usage": {"prompt_tokens": 2, "total_tokens": 2}})).into_response(),
        "chat/completions" if body["stream"] == json!(true) => sse(&mock, fixture!("azure/stream_text.sse")),
        "chat/completions" if offers_tools(&body) => Json(json_fixture(fixture!("azure/chat_tool_call.json"))).into_response(),
        "chat/completions" => Json(json_fixture(fixture!("azure/chat_text.json"))).into_response(),
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": {"code": "404", "message": "Resource not found"}})),
    }
}

fn cohere_error(_: u16) -> Value {
    json!({"id": "5f1c7a2e-0e3b-4c8e-b0a1-7d9e2f6c3b14", "message": "You are using a Trial key, which is limited to 10 API calls / minute."})
}

async fn cohere_gate(
    mock: &Mock,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(), Response> {
    let key = gate(mock, uri, headers, body.clone(), cohere_error).await?;
    if header(headers, "authorization") != format!("Bearer {key}") {
        return Err(json_response(
            StatusCode::UNAUTHORIZED,
            json!({"id": "x", "message": "invalid api token"}),
        ));
    }
    Ok(())
}

async fn cohere_chat(
    State(mock): State<Mock>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = cohere_gate(&mock, &uri, &headers, &body).await {
        return r;
    }
    match (body["stream"] == json!(true), offers_tools(&body)) {
        (true, true) => sse(&mock, fixture!("cohere/stream_tool_call.sse")),
        (true, false) => sse(&mock, fixture!("cohere/stream_text.sse")),
        (false, true) => Json(json_fixture(fixture!("cohere/chat_tool_call.json"))).into_response(),
        (false, false) => Json(json_fixture(fixture!("cohere/chat_text.json"))).into_response(),
    }
}

async fn cohere_embed(
    State(mock): State<Mock>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = cohere_gate(&mock, &uri, &headers, &body).await {
        return r;
    }
    if body["input_type"].as_str().is_none() || body["embedding_types"] != json!(["float"]) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"id": "x", "message": "invalid request: input_type is required for embed models v3 and higher."}),
        );
    }
    Json(json_fixture(fixture!("cohere/embed.json"))).into_response()
}
