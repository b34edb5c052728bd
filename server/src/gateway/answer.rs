//! Answering the client once a connection has replied: whole answers (canonical or
//! native), and streams, which wait for the first upstream event (so a failure can still
//! fall back) and then forward every event as it comes, settling the limiter and writing
//! the log row when the stream ends.

use std::{pin::Pin, sync::Arc};

use axum::{
    body::Body,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::limits::Reservation;
use crate::providers::{ChunkStream, ProviderError};
use crate::routing::catalog::Route;

use super::call::{with_headers, Call, Outcome, Usage};
use super::dialect::{Dialect, StreamEncoder};

/// A failure before anything reached the client: the call goes back to the loop, which
/// falls back (boxed: it is the rare path, and `Call` is large).
pub type Fallback = Box<(Call, ProviderError)>;

pub fn fall_back(call: Call, error: ProviderError) -> Fallback {
    Box::new((call, error))
}

/// Where the answer goes and what it settles.
pub struct Served {
    pub call: Call,
    pub route: Arc<Route>,
    pub upstream_model: String,
    pub reservation: Reservation,
    pub dialect: Arc<dyn Dialect>,
}

/// A canonical whole answer, rendered in the client's dialect.
pub async fn whole(s: Served, mut value: Value) -> Response {
    let usage = Usage::from_openai(&value).unwrap_or_default();
    if value.get("model").is_some() {
        value["model"] = Value::String(s.call.requested_model.clone());
    }
    let rendered = s.dialect.whole(value);
    if s.call.capture.is_some() {
        s.call
            .capture_response(&serde_json::to_vec(&rendered).unwrap_or_default());
    }
    s.call
        .answered(&s.route, &s.upstream_model, s.reservation, usage);
    let response = (StatusCode::OK, axum::Json(&rendered)).into_response();
    if s.dialect.keeps_answers() {
        s.dialect.answered(rendered).await;
    }
    with_headers(response, Some(&s.route), s.call.resolution)
}

/// The fields of a JSON answer the gateway reads, borrowed from its bytes.
#[derive(serde::Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    usage: Option<&'a serde_json::value::RawValue>,
}

/// `bytes` with the JSON value `raw` (a slice of them) replaced by the string `with`.
pub fn splice(bytes: &[u8], raw: &serde_json::value::RawValue, with: &str) -> Option<Vec<u8>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let end = start.checked_add(raw.get().len())?;
    let (head, rest) = (bytes.get(..start)?, bytes.get(end..)?);
    let mut out = Vec::with_capacity(bytes.len() + with.len());
    out.extend_from_slice(head);
    serde_json::to_writer(&mut out, with).ok()?;
    out.extend_from_slice(rest);
    Some(out)
}

/// `body` (a JSON object) with its top-level `model` set to `model`, every other byte as it
/// was: a native request keeps its exact bytes (thinking signatures, cache breakpoints).
pub fn with_model(body: &[u8], model: &str) -> Result<Bytes, ProviderError> {
    let peek: Peek<'_> =
        serde_json::from_slice(body).map_err(|e| ProviderError::Unsupported(e.to_string()))?;
    match peek.model {
        Some(raw) => splice(body, raw, model)
            .map(Bytes::from)
            .ok_or_else(|| ProviderError::Unsupported("unreadable request".into())),
        None => Err(ProviderError::Unsupported(
            "the request names no model".into(),
        )),
    }
}

/// A JSON answer still in bytes (an OpenAI-format completion for an OpenAI client, or a
/// native answer in the client's dialect): passed through with only its `model` replaced
/// (no parse into a tree and back). `usage_of` reads the dialect's usage object.
pub async fn raw(
    s: Served,
    bytes: Bytes,
    usage_of: fn(&str) -> Usage,
) -> Result<Response, Fallback> {
    let peek: Peek<'_> = match serde_json::from_slice(&bytes) {
        Ok(p) => p,
        Err(e) => return Err(fall_back(s.call, ProviderError::Decode(e.to_string()))),
    };
    let usage = peek.usage.map(|u| usage_of(u.get())).unwrap_or_default();
    let body = match peek.model {
        Some(raw) => splice(&bytes, raw, &s.call.requested_model).map(Bytes::from),
        None => Some(bytes.clone()),
    };
    let Some(body) = body else {
        return Err(fall_back(
            s.call,
            ProviderError::Decode("unreadable answer".into()),
        ));
    };
    s.call.capture_response(&body);
    s.call
        .answered(&s.route, &s.upstream_model, s.reservation, usage);
    if s.dialect.keeps_answers() {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            s.dialect.answered(v).await;
        }
    }
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(with_headers(response, Some(&s.route), s.call.resolution))
}

/// An OpenAI-format answer in bytes for a client that does not speak OpenAI: parsed and
/// rendered in its dialect.
pub async fn canonical_bytes(s: Served, bytes: Bytes) -> Result<Response, Fallback> {
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v.is_object() => Ok(whole(s, v).await),
        Ok(_) => Err(fall_back(
            s.call,
            ProviderError::Decode("the answer is not a JSON object".into()),
        )),
        Err(e) => Err(fall_back(s.call, ProviderError::Decode(e.to_string()))),
    }
}

/// Renders a stream's items for the client and keeps what the log row needs.
pub trait Relay<I>: Send {
    /// The bytes for one item, if it shows the client anything.
    fn item(&mut self, item: I) -> Option<Bytes>;
    /// After the last item.
    fn end(&mut self) -> Bytes;
    /// A failure after the stream started: too late for a status code.
    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes;
    fn usage(&self) -> Usage;
    /// The whole answer the stream added up to, for dialects that keep answers.
    fn final_answer(&mut self) -> Option<Value> {
        None
    }
    /// A failure the stream reported in its own events, which were passed on as they were.
    fn failure(&self) -> Option<(u16, String)> {
        None
    }
    /// The stream ended without its dialect's closing event: it was cut short.
    fn unfinished(&self) -> bool {
        false
    }
    /// Characters of answer (text, reasoning, tool arguments) passed on so far: what a
    /// stream that ends without the provider's usage is charged for.
    fn delivered_chars(&self) -> u64;
}

/// Canonical chunks through a dialect's encoder.
pub struct Encoded {
    encoder: Box<dyn StreamEncoder>,
    usage: Usage,
    delivered: u64,
}

impl Encoded {
    pub fn new(encoder: Box<dyn StreamEncoder>) -> Self {
        Encoded {
            encoder,
            usage: Usage::default(),
            delivered: 0,
        }
    }
}

impl Relay<Value> for Encoded {
    fn item(&mut self, chunk: Value) -> Option<Bytes> {
        if let Some(u) = Usage::from_openai(&chunk) {
            self.usage = u;
        }
        self.delivered += answer_chars(&chunk);
        self.encoder.chunk(chunk)
    }
    fn end(&mut self) -> Bytes {
        self.encoder.end()
    }
    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes {
        self.encoder.error(code, message, status)
    }
    fn usage(&self) -> Usage {
        self.usage
    }
    fn final_answer(&mut self) -> Option<Value> {
        self.encoder.final_answer()
    }
    fn delivered_chars(&self) -> u64 {
        self.delivered
    }
}

/// Characters of answer in one OpenAI-format chunk: content, reasoning, tool arguments.
fn answer_chars(chunk: &Value) -> u64 {
    let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
        return 0;
    };
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, str::len) as u64;
    choices
        .iter()
        .filter_map(|c| c.get("delta"))
        .map(|d| {
            let tools = d
                .get("tool_calls")
                .and_then(Value::as_array)
                .map_or(0, |calls| {
                    calls
                        .iter()
                        .map(|t| len(t.pointer("/function/arguments")))
                        .sum::<u64>()
                });
            len(d.get("content")) + len(d.get("reasoning_content")) + tools
        })
        .sum()
}

pub type Items<I> = Pin<Box<dyn Stream<Item = Result<I, ProviderError>> + Send>>;

/// A canonical chunk stream, encoded in the client's dialect.
pub async fn canonical_stream(s: Served, chunks: ChunkStream) -> Result<Response, Fallback> {
    let relay = Encoded::new(s.dialect.encoder(&s.call.requested_model));
    stream(s, chunks, Box::new(relay)).await
}

/// Streams `items` to the client through `relay` once the first one has arrived.
pub async fn stream<I: Send + 'static>(
    s: Served,
    mut items: Items<I>,
    mut relay: Box<dyn Relay<I>>,
) -> Result<Response, Fallback> {
    let Served {
        call,
        route,
        upstream_model,
        reservation,
        dialect,
    } = s;
    let first = match tokio::time::timeout(route.timeouts.answer, items.next()).await {
        Ok(Some(Ok(item))) => item,
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
                ProviderError::Timeout(
                    u64::try_from(route.timeouts.answer.as_millis()).unwrap_or(0),
                ),
            ))
        }
    };
    let ttft = call.started.elapsed();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let resolution = call.resolution;
    let task_route = route.clone();
    // The first event goes out with the response head, in the same write, instead of
    // waiting for the forwarding task to be scheduled.
    let head = relay.item(first);
    if let Some(head) = &head {
        call.capture_response(head);
    }
    // The stream outlives the request's span (which ends with the response head).
    let span = tracing::info_span!(
        target: crate::telemetry::TARGET,
        "stream",
        langmart.connection = %route.id,
        langmart.ttft_ms = u64::try_from(ttft.as_millis()).unwrap_or(u64::MAX),
        langmart.status = tracing::field::Empty,
        langmart.error_code = tracing::field::Empty,
        langmart.prompt_tokens = tracing::field::Empty,
        langmart.completion_tokens = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let forwarding = async move {
        let route = task_route;
        let mut status = 200u16;
        let mut error_code = None;
        let mut ending = std::pin::pin!(call.state.ending.fired());
        // What reaches the client is also what a caller who captures bodies keeps.
        let send = |bytes: Bytes| {
            call.capture_response(&bytes);
            tx.send(Ok(bytes))
        };
        loop {
            let next = tokio::select! {
                biased;
                next = items.next() => next,
                () = &mut ending => {
                    // Shutdown's grace is over: say so in band rather than cut the stream.
                    status = 503;
                    let code = crate::error::codes::SHUTTING_DOWN;
                    let bytes = relay.error(
                        code,
                        "LangMart is shutting down; the answer ends here",
                        StatusCode::SERVICE_UNAVAILABLE,
                    );
                    error_code = Some(code.to_owned());
                    let _ = send(bytes).await;
                    break;
                }
            };
            let Some(item) = next else {
                if relay.unfinished() {
                    status = 502;
                    let code =
                        crate::error::codes::provider(&route.provider_key, "STREAM_INTERRUPTED");
                    let bytes = relay.error(
                        &code,
                        "the provider's stream ended before the answer was finished",
                        StatusCode::BAD_GATEWAY,
                    );
                    error_code = Some(code);
                    let _ = send(bytes).await;
                    break;
                }
                let tail = relay.end();
                // A kept answer is stored before the client sees its end, so a follow-up
                // request that names it finds it.
                if dialect.keeps_answers() && relay.failure().is_none() {
                    if let Some(answer) = relay.final_answer() {
                        dialect.answered(answer).await;
                    }
                }
                let _ = send(tail).await;
                break;
            };
            let bytes = match item {
                Ok(item) => match relay.item(item) {
                    Some(b) => b,
                    None => continue,
                },
                Err(e) => {
                    // Mid-stream failure: too late to fall back; tell the client in-band.
                    status = 502;
                    let code =
                        crate::error::codes::provider(&route.provider_key, "STREAM_INTERRUPTED");
                    let bytes = relay.error(
                        &code,
                        &format!("the provider's stream broke off: {e}"),
                        StatusCode::BAD_GATEWAY,
                    );
                    error_code = Some(code);
                    let _ = send(bytes).await;
                    break;
                }
            };
            if send(bytes).await.is_err() {
                // The client went away: dropping `items` cancels the upstream request.
                status = 499;
                error_code = Some(crate::error::codes::CLIENT_CLOSED_REQUEST.into());
                break;
            }
        }
        drop(items);
        if let (200, Some((s, code))) = (status, relay.failure()) {
            status = s;
            error_code = Some(code);
        }
        let usage = relay
            .usage()
            .or_estimate(relay.delivered_chars(), call.prompt_estimate);
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
        let span = tracing::Span::current();
        span.record("langmart.status", status);
        if let Some(tokens) = usage.prompt {
            span.record("langmart.prompt_tokens", tokens);
        }
        if let Some(tokens) = usage.completion {
            span.record("langmart.completion_tokens", tokens);
        }
        if let Some(code) = &error_code {
            span.record("langmart.error_code", code.as_str());
            span.record("otel.status_code", "ERROR");
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
    };
    tokio::spawn(tracing::Instrument::instrument(forwarding, span));
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
    fn a_native_body_keeps_every_other_byte() {
        let body = br#"{"model":"claude-x","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}],"thinking":{"type":"enabled","budget_tokens":1024},  "z":1}"#;
        let out = with_model(body, "claude-sonnet-4-5-20250929").unwrap();
        let expected =
            String::from_utf8_lossy(body).replace("claude-x", "claude-sonnet-4-5-20250929");
        assert_eq!(String::from_utf8_lossy(&out), expected);
        assert!(with_model(br#"{"messages":[]}"#, "m").is_err());
    }
}
