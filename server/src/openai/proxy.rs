//! The inference request path: route, then try candidates in order — budget check, send,
//! retry the same connection on connect errors and 5xx, fall back to the next on any
//! retryable failure while nothing has reached the client — and log one row per call.
//! Streams wait for the first upstream event before answering, so they can fall back too.
//! The path works on OpenAI-format requests and answers; an [`Egress`] renders answers,
//! chunks and errors in the dialect the client spoke (OpenAI here, Anthropic for
//! `/v1/messages`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::StreamExt;
use rand::Rng;
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::clock::now_ms;
use crate::db::Flag;
use crate::error::{ApiError, RequestError, UpstreamError};
use crate::ids::new_ordered_id;
use crate::limits::{OverBudget, Reservation};
use crate::logs::{Attempt, LogRow};
use crate::providers::{self, ChatReply, ChunkStream, ProviderError};
use crate::routing::{self, catalog::Route, Candidate};
use crate::state::AppState;

const CONNECTION: HeaderName = HeaderName::from_static("x-langmart-connection");
const RESOLUTION: HeaderName = HeaderName::from_static("x-langmart-resolution");
const PROVIDER: HeaderName = HeaderName::from_static("x-langmart-provider");
/// Estimate of completion tokens when the request sets no maximum.
const DEFAULT_COMPLETION_ESTIMATE: u64 = 256;
/// The latency a failed attempt counts as, at least.
const FAILURE_LATENCY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Embeddings,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat/completions",
            Endpoint::Embeddings => "embeddings",
        }
    }
}

/// How answers reach the client: the dialect it spoke.
pub trait Egress: Sync {
    /// Whether OpenAI-format answers reach the client as they are (only `model` replaced).
    fn speaks_openai(&self) -> bool {
        false
    }
    /// An error body with our stable code, in this dialect's error shape.
    fn error_body(&self, code: &str, message: &str, status: StatusCode) -> Value;
    /// A whole OpenAI-format answer (`model` already the name the caller sent).
    fn whole(&self, answer: Value) -> Value;
    /// A fresh encoder for one streamed answer.
    fn encoder(&self, requested_model: &str) -> Box<dyn StreamEncoder>;
}

/// Writes one streamed answer's OpenAI chunks as this dialect's server-sent events.
pub trait StreamEncoder: Send {
    fn chunk(&mut self, chunk: Value) -> Option<Bytes>;
    /// After the last chunk.
    fn end(&mut self) -> Bytes;
    /// A failure after the stream started: too late for a status code.
    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes;
}

/// OpenAI's own format: chunks pass through, `data: [DONE]` ends the stream.
pub struct OpenAiEgress;

impl Egress for OpenAiEgress {
    fn speaks_openai(&self) -> bool {
        true
    }

    fn error_body(&self, code: &str, message: &str, status: StatusCode) -> Value {
        json!({"error": {"code": code, "message": message, "type": crate::error::error_type_for(status), "status": status.as_u16()}})
    }

    fn whole(&self, answer: Value) -> Value {
        answer
    }

    fn encoder(&self, requested_model: &str) -> Box<dyn StreamEncoder> {
        Box::new(OpenAiEncoder {
            model: Value::String(requested_model.to_owned()),
        })
    }
}

struct OpenAiEncoder {
    model: Value,
}

impl StreamEncoder for OpenAiEncoder {
    fn chunk(&mut self, mut chunk: Value) -> Option<Bytes> {
        if let Some(m) = chunk.get_mut("model") {
            *m = self.model.clone();
        }
        Some(Bytes::from(format!("data: {chunk}\n\n")))
    }

    fn end(&mut self) -> Bytes {
        Bytes::from_static(b"data: [DONE]\n\n")
    }

    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes {
        let body = OpenAiEgress.error_body(code, message, status);
        Bytes::from(format!("data: {body}\n\n"))
    }
}

/// An error response in the egress's dialect, keeping the status, `Retry-After` and the
/// cause the logging middleware records.
pub fn render(egress: &dyn Egress, err: ApiError) -> Response {
    let body = egress.error_body(&err.code(), &err.public_message(), err.status());
    let mut response = err.into_response();
    *response.body_mut() = Body::from(body.to_string());
    response
}

/// The `x-request-id` of a request (set by the request-id layer, or the client's own),
/// without copying the rest of its headers.
pub struct RequestId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        ))
    }
}

/// What the log row of this call accumulates.
struct Call {
    state: AppState,
    egress: &'static dyn Egress,
    caller: Arc<Principal>,
    request_id: String,
    endpoint: Endpoint,
    requested_model: String,
    resolution: &'static str,
    /// The collection's reference, when the request named one.
    collection: Option<String>,
    started: Instant,
    attempts: Vec<Attempt>,
}

impl Call {
    /// A whole answer came back: the reservation is settled with its real usage and the
    /// call is logged as served.
    fn answered(
        &self,
        route: &Route,
        upstream_model: &str,
        reservation: Reservation,
        usage: Usage,
    ) {
        self.state
            .limiter
            .settle(&route.id, reservation, usage.total());
        self.log(Outcome {
            route: Some(route),
            upstream_model: Some(upstream_model),
            status: 200,
            error_code: None,
            ttft: None,
            usage,
            stream: false,
        });
    }

    fn log(&self, o: Outcome<'_>) {
        let Outcome {
            route,
            upstream_model,
            status,
            error_code,
            ttft,
            usage,
            stream,
        } = o;
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        self.state.request_log.record(LogRow {
            id: new_ordered_id("req", now),
            request_id: self.request_id.clone(),
            created_at: now,
            user_id: self.caller.user_id.clone(),
            key_id: self.caller.key_id.clone(),
            endpoint: self.endpoint.path().to_owned(),
            requested_model: self.requested_model.clone(),
            resolution: self.resolution.to_owned(),
            collection: self.collection.clone(),
            connection_id: route.map(|r| r.id.clone()),
            provider: route.map(|r| r.provider_key.clone()),
            upstream_model: upstream_model.map(str::to_owned),
            status_code: i64::from(status),
            error_code,
            latency_ms: ms(self.started.elapsed()),
            ttft_ms: ttft.map(ms),
            prompt_tokens: usage.prompt,
            completion_tokens: usage.completion,
            stream: Flag(stream),
            attempts: serde_json::to_string(&self.attempts).unwrap_or_else(|_| "[]".into()),
        });
    }

    fn fail(&self, err: ApiError) -> Response {
        let code = err.code().into_owned();
        let status = err.status();
        self.log(Outcome {
            route: None,
            upstream_model: None,
            status: status.as_u16(),
            error_code: Some(code),
            ttft: None,
            usage: Usage::default(),
            stream: false,
        });
        with_headers(render(self.egress, err), None, self.resolution)
    }
}

/// How a call ended, for its log row.
struct Outcome<'a> {
    route: Option<&'a Route>,
    upstream_model: Option<&'a str>,
    status: u16,
    error_code: Option<String>,
    ttft: Option<Duration>,
    usage: Usage,
    stream: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    prompt: Option<i64>,
    completion: Option<i64>,
}

impl Usage {
    fn from_json(v: &Value) -> Option<Usage> {
        let u = v.get("usage").filter(|u| u.is_object())?;
        Some(Usage {
            prompt: u.get("prompt_tokens").and_then(Value::as_i64),
            completion: u.get("completion_tokens").and_then(Value::as_i64),
        })
    }

    fn total(&self) -> u64 {
        u64::try_from(self.prompt.unwrap_or(0) + self.completion.unwrap_or(0)).unwrap_or(0)
    }
}

/// The explainability headers; the route's values were made once, with the snapshot.
fn with_headers(
    mut response: Response,
    route: Option<&Route>,
    resolution: &'static str,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(RESOLUTION, HeaderValue::from_static(resolution));
    if let Some(route) = route {
        if let Some((id, provider)) = &route.header_values {
            headers.insert(CONNECTION, id.clone());
            headers.insert(PROVIDER, provider.clone());
        }
    }
    response
}

/// Checks what must hold before any upstream call.
fn validate(endpoint: Endpoint, body: &Value) -> Result<(String, bool), RequestError> {
    let obj = body
        .as_object()
        .ok_or_else(|| RequestError::InvalidBody("the body must be a JSON object".into()))?;
    let model = obj.get("model").and_then(Value::as_str).ok_or_else(|| {
        RequestError::InvalidBody("\"model\" is required and must be a string".into())
    })?;
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
        Endpoint::Embeddings => {
            if obj.get("input").is_none_or(Value::is_null) {
                return Err(RequestError::InvalidBody("\"input\" is required".into()));
            }
        }
    }
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(RequestError::InvalidBody(
                "\"stream\" must be a boolean".into(),
            ))
        }
    };
    if stream && endpoint == Endpoint::Embeddings {
        return Err(RequestError::InvalidBody("embeddings cannot stream".into()));
    }
    Ok((model.to_owned(), stream))
}

/// Tokens expected: the prompt (about four characters a token) and the maximum asked.
/// Reserved against tpm budgets up front and used for cost estimates.
fn request_size(body: &Value, stream: bool) -> routing::RequestSize {
    let prompt = body
        .get("messages")
        .or_else(|| body.get("input"))
        .map(|v| json_len(v) / 4)
        .unwrap_or(0);
    let completion = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_COMPLETION_ESTIMATE);
    routing::RequestSize {
        prompt_tokens: u64::try_from(prompt).unwrap_or(u64::MAX),
        completion_tokens: completion,
        stream,
    }
}

/// About the length of `v` as JSON text, without writing it out (this runs per request).
fn json_len(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 4,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|i| json_len(i) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 4 + json_len(v))
                .sum::<usize>()
        }
    }
}

/// Failures worth trying another connection for.
fn retryable(e: &ProviderError) -> bool {
    match e {
        ProviderError::Unreachable(_)
        | ProviderError::Timeout(_)
        | ProviderError::Decode(_)
        | ProviderError::Config(_)
        | ProviderError::Unsupported(_) => true,
        ProviderError::Blocked(_) => false,
        ProviderError::Http { status, .. } => {
            matches!(status, 401 | 403 | 408 | 429) || *status >= 500
        }
    }
}

/// Failures worth trying the same connection again for.
fn retry_same(e: &ProviderError) -> bool {
    match e {
        ProviderError::Unreachable(_) => true,
        ProviderError::Http { status, .. } => *status >= 500,
        _ => false,
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 50u64.saturating_mul(1 << attempt.min(5)).min(1_000);
    let jitter: f64 = rand::thread_rng().gen_range(0.5..1.5);
    Duration::from_millis(u64::try_from((base as f64 * jitter) as i64).unwrap_or(50))
}

fn outcome_name(e: &ProviderError) -> String {
    match e {
        ProviderError::Http { status, .. } => format!("http_{status}"),
        ProviderError::Timeout(_) => "timeout".into(),
        ProviderError::Unreachable(_) => "unreachable".into(),
        ProviderError::Decode(_) => "bad_response".into(),
        ProviderError::Config(_) => "misconfigured".into(),
        ProviderError::Unsupported(_) => "unsupported".into(),
        ProviderError::Blocked(_) => "blocked".into(),
    }
}

/// `/v1/chat/completions` and `/v1/embeddings`: an OpenAI-format body, answered in kind.
pub async fn handle(
    state: AppState,
    caller: Arc<Principal>,
    request_id: String,
    endpoint: Endpoint,
    body: Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return render(
                &OpenAiEgress,
                RequestError::InvalidJson(e.to_string()).into(),
            )
        }
    };
    serve(state, caller, request_id, endpoint, body, &OpenAiEgress).await
}

/// Routes an OpenAI-format request and answers through `egress`.
pub async fn serve(
    state: AppState,
    caller: Arc<Principal>,
    request_id: String,
    endpoint: Endpoint,
    mut body: Value,
    egress: &'static dyn Egress,
) -> Response {
    let mut call = Call {
        state: state.clone(),
        egress,
        caller: caller.clone(),
        request_id,
        endpoint,
        requested_model: String::new(),
        resolution: "direct",
        collection: None,
        started: Instant::now(),
        attempts: Vec::new(),
    };
    let (model, stream) = match validate(endpoint, &body) {
        Ok(v) => v,
        Err(e) => return render(egress, e.into()),
    };
    call.requested_model = model.clone();
    let snapshot = match state.routing.snapshot().await {
        Ok(s) => s,
        Err(e) => return call.fail(e),
    };
    let size = request_size(&body, stream);
    let ctx = routing::Context {
        limiter: &state.limiter,
        cursors: &state.routing.cursors,
        now_ms: now_ms(),
        request: size,
        dry_run: false,
    };
    let plan = match routing::plan(&snapshot, &caller.user_id, &model, &ctx) {
        Ok(p) => p,
        Err(e) => return call.fail(e.into()),
    };
    call.resolution = plan.reference.resolution();
    call.collection = plan.collection.as_ref().map(|c| c.reference());
    if plan.candidates.is_empty() {
        let reasons: Vec<String> = plan
            .considered
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    c.connection_id,
                    c.reason.clone().unwrap_or_default()
                )
            })
            .collect();
        return call.fail(RequestError::NoUsableConnection(reasons.join("; ")).into());
    }
    if stream && endpoint == Endpoint::Chat {
        // Usage always: ask for it upstream even when the client did not.
        body["stream_options"] = json!({"include_usage": true});
    }
    let estimate = size.prompt_tokens.saturating_add(size.completion_tokens);

    let mut last_error: Option<(Arc<Route>, ProviderError)> = None;
    let mut over_budget: Option<OverBudget> = None;
    for Candidate {
        route,
        upstream_model,
    } in plan.candidates
    {
        let reservation = match state
            .limiter
            .take_daily(&route.id, route.rpd, now_ms())
            .and_then(|()| {
                state
                    .limiter
                    .try_acquire(&route.id, route.rpm, route.tpm, estimate)
            }) {
            Ok(r) => r,
            Err(over) => {
                call.attempts.push(Attempt {
                    connection_id: route.id.clone(),
                    provider: route.provider_key.clone(),
                    outcome: format!("over_{}_budget", over.kind),
                    status: None,
                    latency_ms: 0,
                });
                if over_budget
                    .as_ref()
                    .is_none_or(|o| over.retry_after < o.retry_after)
                {
                    over_budget = Some(over);
                }
                continue;
            }
        };
        body["model"] = Value::String(upstream_model.clone());
        let mut tries = 0u32;
        let result = loop {
            let attempt_started = Instant::now();
            let result = send(&state, &route, endpoint, &body, stream).await;
            let latency_ms =
                i64::try_from(attempt_started.elapsed().as_millis()).unwrap_or(i64::MAX);
            match &result {
                Ok(_) => {
                    state
                        .limiter
                        .record_latency(&route.id, attempt_started.elapsed());
                    if !stream {
                        state.limiter.record_model_latency(
                            &route.id,
                            &upstream_model,
                            attempt_started.elapsed(),
                            None,
                        );
                    }
                    call.attempts.push(Attempt {
                        connection_id: route.id.clone(),
                        provider: route.provider_key.clone(),
                        outcome: "ok".into(),
                        status: Some(200),
                        latency_ms,
                    });
                }
                Err(e) => {
                    // A failure counts as slow, so latency-optimized routing moves away
                    // from it until exploration finds it has recovered.
                    state.limiter.record_model_latency(
                        &route.id,
                        &upstream_model,
                        attempt_started.elapsed().max(FAILURE_LATENCY),
                        None,
                    );
                    call.attempts.push(Attempt {
                        connection_id: route.id.clone(),
                        provider: route.provider_key.clone(),
                        outcome: outcome_name(e),
                        status: e.http_status(),
                        latency_ms,
                    })
                }
            }
            match result {
                Err(e) if retry_same(&e) && tries < route.max_retries => {
                    tokio::time::sleep(backoff(tries)).await;
                    tries += 1;
                }
                other => break other,
            }
        };
        match result {
            Ok(reply) => {
                state
                    .connections
                    .report_inference(&route.id, &route.status, None);
                let answered = match reply {
                    ChatReply::Stream(chunks) => {
                        respond_stream(
                            call,
                            route.clone(),
                            upstream_model,
                            model.clone(),
                            chunks,
                            reservation,
                        )
                        .await
                    }
                    ChatReply::Whole(answer) => Ok(respond_whole(
                        call,
                        route.clone(),
                        upstream_model,
                        model.clone(),
                        answer,
                        reservation,
                    )),
                    ChatReply::Raw(bytes) => respond_raw(
                        call,
                        route.clone(),
                        upstream_model,
                        model.clone(),
                        bytes,
                        reservation,
                    ),
                };
                match answered {
                    Ok(resp) => return resp,
                    Err(failed) => {
                        let (returned_call, e) = *failed;
                        // The answer failed before anything was sent (a stream without a
                        // first event, a body that is not the provider's format): fall back.
                        call = returned_call;
                        if let Some(last) = call.attempts.last_mut() {
                            last.outcome = outcome_name(&e);
                            last.status = e.http_status();
                        }
                        let fallback = route.allow_fallback;
                        last_error = Some((route, e));
                        if fallback {
                            continue;
                        }
                        break;
                    }
                }
            }
            Err(e) => {
                state
                    .connections
                    .report_inference(&route.id, &route.status, Some(&e));
                let go_on = retryable(&e) && route.allow_fallback;
                last_error = Some((route, e));
                if !go_on {
                    break;
                }
            }
        }
    }

    match (last_error, over_budget) {
        (None, Some(over)) => {
            call.log(Outcome {
                route: None,
                upstream_model: None,
                status: 429,
                error_code: Some("RATE_LIMIT_EXCEEDED".into()),
                ttft: None,
                usage: Usage::default(),
                stream,
            });
            with_headers(rate_limited(&over, call.egress), None, call.resolution)
        }
        (Some((route, error)), _) => {
            let summary: Vec<String> = call
                .attempts
                .iter()
                .map(|a| format!("{} {}: {}", a.connection_id, a.provider, a.outcome))
                .collect();
            let err = ApiError::from(UpstreamError {
                provider_key: route.provider_key.clone(),
                error,
                detail: format!(" (attempts: {})", summary.join("; ")),
            });
            let code = err.code().into_owned();
            call.log(Outcome {
                route: Some(&route),
                upstream_model: None,
                status: err.status().as_u16(),
                error_code: Some(code),
                ttft: None,
                usage: Usage::default(),
                stream,
            });
            with_headers(render(call.egress, err), Some(&route), call.resolution)
        }
        (None, None) => {
            call.fail(RequestError::NoUsableConnection("no candidate was tried".into()).into())
        }
    }
}

async fn send(
    state: &AppState,
    route: &Route,
    endpoint: Endpoint,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let upstream = route.upstream();
    match endpoint {
        Endpoint::Chat => providers::chat(&state.http, &upstream, body, stream).await,
        Endpoint::Embeddings => providers::embed(&state.http, &upstream, body).await,
    }
}

fn rate_limited(over: &OverBudget, egress: &dyn Egress) -> Response {
    let secs = over.retry_after.as_secs().max(1);
    let reset =
        crate::clock::rfc3339(now_ms() + i64::try_from(over.retry_after.as_millis()).unwrap_or(0));
    let body = egress.error_body(
        "RATE_LIMIT_EXCEEDED",
        &format!(
            "Every connection for this model is over its {} budget; retry in {secs} s",
            over.kind
        ),
        StatusCode::TOO_MANY_REQUESTS,
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = response.headers_mut();
    for (name, value) in [
        (header::RETRY_AFTER.as_str(), secs.to_string()),
        ("x-ratelimit-limit", over.limit.to_string()),
        ("x-ratelimit-remaining", over.remaining.to_string()),
        ("x-ratelimit-reset", reset),
    ] {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            h.insert(n, v);
        }
    }
    response
}

/// A failure before anything reached the client: the call goes back to the loop, which
/// falls back (boxed: it is the rare path, and `Call` is large).
type Fallback = Box<(Call, ProviderError)>;

fn fall_back(call: Call, error: ProviderError) -> Fallback {
    Box::new((call, error))
}

fn respond_whole(
    call: Call,
    route: Arc<Route>,
    upstream_model: String,
    requested: String,
    mut value: Value,
    reservation: Reservation,
) -> Response {
    let usage = Usage::from_json(&value).unwrap_or_default();
    if value.get("model").is_some() {
        value["model"] = Value::String(requested);
    }
    call.answered(&route, &upstream_model, reservation, usage);
    let response = (StatusCode::OK, axum::Json(call.egress.whole(value))).into_response();
    with_headers(response, Some(&route), call.resolution)
}

/// The fields of an OpenAI-format answer the request path reads, borrowed from its bytes.
#[derive(serde::Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    usage: Option<&'a serde_json::value::RawValue>,
}

/// Token counts as OpenAI-format answers carry them; anything else counts as unknown.
#[derive(serde::Deserialize)]
struct PeekUsage {
    #[serde(default)]
    prompt_tokens: Option<i64>,
    #[serde(default)]
    completion_tokens: Option<i64>,
}

/// `bytes` with the JSON value `raw` (a slice of them) replaced by the string `with`.
fn splice(bytes: &[u8], raw: &serde_json::value::RawValue, with: &str) -> Option<Vec<u8>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let end = start.checked_add(raw.get().len())?;
    let (head, rest) = (bytes.get(..start)?, bytes.get(end..)?);
    let mut out = Vec::with_capacity(bytes.len() + with.len());
    out.extend_from_slice(head);
    serde_json::to_writer(&mut out, with).ok()?;
    out.extend_from_slice(rest);
    Some(out)
}

/// An OpenAI-format answer still in bytes: passed through with its `model` replaced when
/// the client speaks OpenAI (no parse into a tree and back), else parsed for the egress.
fn respond_raw(
    call: Call,
    route: Arc<Route>,
    upstream_model: String,
    requested: String,
    bytes: Bytes,
    reservation: Reservation,
) -> Result<Response, Fallback> {
    if !call.egress.speaks_openai() {
        return match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) if v.is_object() => Ok(respond_whole(
                call,
                route,
                upstream_model,
                requested,
                v,
                reservation,
            )),
            Ok(_) => Err(fall_back(
                call,
                ProviderError::Decode("the answer is not a JSON object".into()),
            )),
            Err(e) => Err(fall_back(call, ProviderError::Decode(e.to_string()))),
        };
    }
    let peek: Peek<'_> = match serde_json::from_slice(&bytes) {
        Ok(p) => p,
        Err(e) => return Err(fall_back(call, ProviderError::Decode(e.to_string()))),
    };
    let usage = peek
        .usage
        .and_then(|u| serde_json::from_str::<PeekUsage>(u.get()).ok())
        .map(|u| Usage {
            prompt: u.prompt_tokens,
            completion: u.completion_tokens,
        })
        .unwrap_or_default();
    let body = match peek.model {
        Some(raw) => splice(&bytes, raw, &requested).map(Bytes::from),
        None => Some(bytes.clone()),
    };
    let Some(body) = body else {
        return Err(fall_back(
            call,
            ProviderError::Decode("unreadable answer".into()),
        ));
    };
    call.answered(&route, &upstream_model, reservation, usage);
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(with_headers(response, Some(&route), call.resolution))
}

async fn respond_stream(
    call: Call,
    route: Arc<Route>,
    upstream_model: String,
    requested: String,
    mut chunks: ChunkStream,
    reservation: Reservation,
) -> Result<Response, Fallback> {
    let first = match tokio::time::timeout(route.timeout, chunks.next()).await {
        Ok(Some(Ok(chunk))) => chunk,
        Ok(Some(Err(e))) => return Err(fall_back(call, e)),
        Ok(None) => {
            return Err(fall_back(
                call,
                ProviderError::Decode("the stream ended before its first event".into()),
            ))
        }
        Err(_) => {
            return Err(fall_back(
                call,
                ProviderError::Timeout(u64::try_from(route.timeout.as_millis()).unwrap_or(0)),
            ))
        }
    };
    let ttft = call.started.elapsed();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let resolution = call.resolution;
    let task_route = route.clone();
    let mut encoder = call.egress.encoder(&requested);
    // The first chunk goes out with the response head, in the same write, instead of
    // waiting for the forwarding task to be scheduled.
    let mut usage = Usage::from_json(&first).unwrap_or_default();
    let head = encoder.chunk(first);
    tokio::spawn(async move {
        let route = task_route;
        let mut status = 200u16;
        let mut error_code = None;
        loop {
            let Some(item) = chunks.next().await else {
                let _ = tx.send(Ok(encoder.end())).await;
                break;
            };
            let bytes = match item {
                Ok(chunk) => {
                    if let Some(u) = Usage::from_json(&chunk) {
                        usage = u;
                    }
                    match encoder.chunk(chunk) {
                        Some(b) => b,
                        None => continue,
                    }
                }
                Err(e) => {
                    // Mid-stream failure: too late to fall back; tell the client in-band.
                    status = 502;
                    let code = format!(
                        "PROVIDER_{}_STREAM_INTERRUPTED",
                        route.provider_key.to_uppercase().replace('-', "_")
                    );
                    let bytes = encoder.error(
                        &code,
                        &format!("the provider's stream broke off: {e}"),
                        StatusCode::BAD_GATEWAY,
                    );
                    error_code = Some(code);
                    let _ = tx.send(Ok(bytes)).await;
                    break;
                }
            };
            if tx.send(Ok(bytes)).await.is_err() {
                // The client went away: dropping `chunks` cancels the upstream request.
                status = 499;
                error_code = Some("CLIENT_CLOSED_REQUEST".into());
                break;
            }
        }
        drop(chunks);
        call.state
            .limiter
            .settle(&route.id, reservation, usage.total());
        if status == 200 {
            call.state.limiter.record_model_latency(
                &route.id,
                &upstream_model,
                call.started.elapsed(),
                Some(ttft),
            );
        }
        call.log(Outcome {
            route: Some(&route),
            upstream_model: Some(&upstream_model),
            status,
            error_code,
            ttft: Some(ttft),
            usage,
            stream: true,
        });
    });
    let rest =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let body = Body::from_stream(
        futures_util::stream::iter(head.map(Ok::<Bytes, std::io::Error>)).chain(rest),
    );
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(with_headers(response, Some(&route), resolution))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_happens_before_any_upstream_call() {
        assert!(validate(
            Endpoint::Chat,
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        )
        .is_ok());
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
        assert!(
            validate(
                Endpoint::Chat,
                &json!({"model": "m", "messages": [{"role": "user"}], "stream": true})
            )
            .unwrap()
            .1
        );
    }

    #[test]
    fn retry_and_fallback_rules() {
        let http = |s| ProviderError::Http {
            status: s,
            message: String::new(),
            retry_after_secs: None,
        };
        for s in [401, 403, 408, 429, 500, 503] {
            assert!(retryable(&http(s)), "{s}");
        }
        assert!(!retryable(&http(400)) && !retryable(&http(404)) && !retryable(&http(422)));
        assert!(retry_same(&http(502)) && retry_same(&ProviderError::Unreachable(String::new())));
        assert!(
            !retry_same(&http(429))
                && !retry_same(&ProviderError::Timeout(1))
                && !retry_same(&http(401))
        );
    }

    #[test]
    fn splicing_replaces_only_the_model() {
        let bytes = br#"{"id":"x","model":"gpt-4o-2024","choices":[{"message":{"content":"model"}}],"usage":{"prompt_tokens":3}}"#;
        let peek: Peek<'_> = serde_json::from_slice(bytes).unwrap();
        let out = splice(bytes, peek.model.unwrap(), "openai/gpt-\"4o\"").unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "openai/gpt-\"4o\"");
        assert_eq!(v["choices"][0]["message"]["content"], "model");
        assert_eq!(v["usage"]["prompt_tokens"], 3);
    }

    #[test]
    fn json_length_is_close_to_the_written_length() {
        let v = json!([{"role": "user", "content": "x".repeat(400)}, {"role": "assistant", "content": null, "n": 3}]);
        let written = v.to_string().len();
        let estimated = json_len(&v);
        assert!(
            estimated.abs_diff(written) * 10 <= written,
            "{estimated} vs {written}"
        );
    }

    #[test]
    fn token_estimate_uses_the_asked_maximum() {
        let body =
            json!({"messages": [{"role": "user", "content": "x".repeat(400)}], "max_tokens": 100});
        let size = request_size(&body, false);
        let n = size.prompt_tokens + size.completion_tokens;
        assert!((200..=230).contains(&n), "{n}");
        assert_eq!(size.completion_tokens, 100);
    }
}
