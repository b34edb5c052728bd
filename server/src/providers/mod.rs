//! One adapter per provider API family, behind one interface: list models, chat (whole
//! or streamed, with tools) and embed. Requests and answers are in OpenAI's format (see
//! [`openai_format`]); each adapter translates to and from its family's native API, and
//! its auth headers, URLs, wire types and stream parser stay in its own file.

mod anthropic;
mod azure_openai;
mod bedrock;
mod cohere;
mod gemini;
mod openai_compat;
pub mod openai_format;
mod urls;

use std::{collections::BTreeMap, pin::Pin, time::Duration};

pub use azure_openai::DEFAULT_API_VERSION as AZURE_DEFAULT_API_VERSION;
pub use openai_compat::ping_chat;

use futures_util::Stream;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API families LangMart speaks. Closed on purpose: a new family is new code, a new
/// provider of an existing family is only a catalogue row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiFamily {
    OpenaiCompat,
    AzureOpenai,
    Anthropic,
    Gemini,
    Bedrock,
    Cohere,
}

impl ApiFamily {
    pub const ALL: [ApiFamily; 6] = [
        ApiFamily::OpenaiCompat,
        ApiFamily::AzureOpenai,
        ApiFamily::Anthropic,
        ApiFamily::Gemini,
        ApiFamily::Bedrock,
        ApiFamily::Cohere,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiFamily::OpenaiCompat => "openai_compat",
            ApiFamily::AzureOpenai => "azure_openai",
            ApiFamily::Anthropic => "anthropic",
            ApiFamily::Gemini => "gemini",
            ApiFamily::Bedrock => "bedrock",
            ApiFamily::Cohere => "cohere",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Everything an adapter needs to call one connection's provider. Credentials are plain
/// text here, in memory only for the call; the type is neither `Serialize` nor `Debug`.
pub struct Upstream<'a> {
    pub family: ApiFamily,
    /// The connection's endpoint (or the provider default), without a trailing slash.
    pub base_url: String,
    pub credentials: &'a BTreeMap<String, String>,
    pub config: &'a BTreeMap<String, String>,
    pub timeouts: Timeouts,
    /// The outbound policy lets this connection reach non-public addresses.
    pub allow_private: bool,
    /// How much the provider may send back.
    pub limits: AnswerLimits,
    /// A self-hosted connection: requests go through its gateway's agents, not the network.
    pub relay: Option<crate::gateways::relay::Relay>,
}

impl Upstream<'_> {
    /// Sends this upstream's requests through `relay`, when there is one: the adapters
    /// then build them on the relay's base, and the agent puts its upstream's URL there.
    pub fn via(mut self, relay: Option<crate::gateways::relay::Relay>) -> Self {
        if relay.is_some() {
            self.base_url = crate::gateways::relay::RELAY_BASE.to_owned();
        }
        self.relay = relay;
        self
    }
}

/// A connection's timeouts, fitted to streaming: a whole answer must arrive within
/// `answer`; a stream must start within it, may then pause at most `idle` between chunks
/// and, if `max_duration` is set, last at most that long. A stream that keeps sending is
/// otherwise never cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// `timeout_ms`: a whole answer, or a stream's start.
    pub answer: Duration,
    /// `connect_timeout_ms`: the connection itself (else bounded by `answer`).
    pub connect: Option<Duration>,
    /// `idle_timeout_ms`: the longest pause within a stream (else `answer`).
    pub idle: Option<Duration>,
    /// `max_duration_ms`: the longest a stream may last (else no limit).
    pub max_duration: Option<Duration>,
}

impl Timeouts {
    /// From a connection's columns, in milliseconds.
    pub fn from_ms(
        answer: i64,
        connect: Option<i64>,
        idle: Option<i64>,
        max_duration: Option<i64>,
    ) -> Self {
        let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        Timeouts {
            answer: Duration::from_millis(u64::try_from(answer).unwrap_or(30_000)),
            connect: connect.map(ms),
            idle: idle.map(ms),
            max_duration: max_duration.map(ms),
        }
    }

    /// Only `answer` set (tests, and what a connection without the others gets).
    pub fn answer(answer: Duration) -> Self {
        Timeouts {
            answer,
            connect: None,
            idle: None,
            max_duration: None,
        }
    }
}

/// Caps on what a provider may send back (`--max-upstream-body-bytes`,
/// `--max-upstream-event-bytes`): an answer is read into memory, so its size is bounded.
#[derive(Clone, Copy, Debug)]
pub struct AnswerLimits {
    /// A whole answer's bytes at most.
    pub max_body: usize,
    /// One server-sent event's bytes at most.
    pub max_event: usize,
}

impl Default for AnswerLimits {
    fn default() -> Self {
        Self {
            max_body: crate::config::DEFAULT_MAX_UPSTREAM_BODY_BYTES,
            max_event: crate::config::DEFAULT_MAX_UPSTREAM_EVENT_BYTES,
        }
    }
}

impl Upstream<'_> {
    fn credential(&self, name: &str) -> &str {
        self.credentials
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn setting(&self, name: &str) -> Option<&str> {
        self.config
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredModel {
    pub id: String,
    pub display_name: String,
}

/// Why a provider call failed, in terms the health rules act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    #[error("provider did not answer within {0} ms")]
    Timeout(u64),
    #[error("provider answered {status}: {message}")]
    Http {
        status: u16,
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error("unexpected answer from provider: {0}")]
    Decode(String),
    #[error("connection is misconfigured: {0}")]
    Config(String),
    /// The request uses something this family has no equivalent for (found before any
    /// call, so another candidate may still serve it).
    #[error("the request cannot be sent to this provider: {0}")]
    Unsupported(String),
    /// The provider refused the content (e.g. a Gemini safety block).
    #[error("the provider blocked the request: {0}")]
    Blocked(String),
    /// The outbound policy refused the endpoint (a non-public address, not allowed).
    #[error("{0}")]
    Refused(String),
    /// The answer (or one event of a stream) is larger than LangMart accepts.
    #[error("the provider's answer is larger than the {0}-byte limit")]
    TooLarge(usize),
    /// A self-hosted connection whose gateway has no agent connected to serve it.
    #[error("Gateway temporarily unavailable: {0}")]
    GatewayDown(String),
}

/// Replaces every credential value (of 8 characters or more) in `text`: an upstream that
/// echoes the key it was sent must not get it shown to people who may use, but not read,
/// the connection. Applied once, where an error leaves this module (`chat`, `embed`,
/// `native`, `list_models`, `ping_chat`).
pub fn scrub(mut text: String, secrets: &BTreeMap<String, String>) -> String {
    for secret in secrets.values().filter(|v| v.chars().count() >= 8) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "[credential]");
        }
    }
    text
}

impl ProviderError {
    /// The error with every credential value in its text replaced (see [`scrub`]).
    pub fn without_secrets(self, secrets: &BTreeMap<String, String>) -> Self {
        let s = |text: String| scrub(text, secrets);
        match self {
            ProviderError::Unreachable(t) => ProviderError::Unreachable(s(t)),
            ProviderError::Http {
                status,
                message,
                retry_after_secs,
            } => ProviderError::Http {
                status,
                message: s(message),
                retry_after_secs,
            },
            ProviderError::Decode(t) => ProviderError::Decode(s(t)),
            ProviderError::Config(t) => ProviderError::Config(s(t)),
            ProviderError::Unsupported(t) => ProviderError::Unsupported(s(t)),
            ProviderError::Blocked(t) => ProviderError::Blocked(s(t)),
            ProviderError::Refused(t) => ProviderError::Refused(s(t)),
            ProviderError::GatewayDown(t) => ProviderError::GatewayDown(s(t)),
            kept @ (ProviderError::Timeout(_) | ProviderError::TooLarge(_)) => kept,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            ProviderError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// OpenAI `chat.completion.chunk`s of one answer, in order. The stream ends after the
/// last chunk (there is no `[DONE]` item); an error item ends it early.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Value, ProviderError>> + Send>>;

/// A chat answer in OpenAI's format.
pub enum ChatReply {
    Whole(Value),
    /// An OpenAI-format JSON answer as the provider sent it, not parsed yet: when the client
    /// speaks OpenAI too, it is passed on with only its `model` replaced.
    Raw(bytes::Bytes),
    Stream(ChunkStream),
}

/// Sends an OpenAI-format chat request (its `model` already the upstream's model id) to
/// the connection's provider. With `stream`, the reply is a chunk stream whose last item
/// carries usage.
pub async fn chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let reply = match upstream.family {
        ApiFamily::OpenaiCompat => openai_compat::chat(client, upstream, body, stream).await,
        ApiFamily::AzureOpenai => azure_openai::chat(client, upstream, body, stream).await,
        ApiFamily::Anthropic => anthropic::chat(client, upstream, body, stream).await,
        ApiFamily::Gemini => gemini::chat(client, upstream, body, stream).await,
        ApiFamily::Bedrock => bedrock::chat(client, upstream, body, stream).await,
        ApiFamily::Cohere => cohere::chat(client, upstream, body, stream).await,
    };
    reply.map_err(|e| e.without_secrets(upstream.credentials))
}

/// Sends an OpenAI-format embeddings request; the answer is an OpenAI embeddings list
/// (`Whole` or `Raw`).
pub async fn embed(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
) -> Result<ChatReply, ProviderError> {
    let reply = match upstream.family {
        ApiFamily::OpenaiCompat => openai_compat::embed(client, upstream, body).await,
        ApiFamily::AzureOpenai => azure_openai::embed(client, upstream, body).await,
        ApiFamily::Gemini => gemini::embed(client, upstream, body)
            .await
            .map(ChatReply::Whole),
        ApiFamily::Cohere => cohere::embed(client, upstream, body)
            .await
            .map(ChatReply::Whole),
        ApiFamily::Anthropic | ApiFamily::Bedrock => Err(ProviderError::Unsupported(format!(
            "{} connections do not serve embeddings through LangMart",
            upstream.family.as_str()
        ))),
    };
    reply.map_err(|e| e.without_secrets(upstream.credentials))
}

/// A client protocol that some families speak natively, so a request in it can go to them
/// as the client wrote it (only `model` replaced) and the answer come back untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeApi {
    /// Anthropic's Messages API (`POST /v1/messages`).
    AnthropicMessages,
    /// Anthropic's token counter (`POST /v1/messages/count_tokens`).
    AnthropicCountTokens,
    /// OpenAI's Responses API (`POST /responses`).
    OpenAiResponses,
    /// OpenAI's legacy completions (`POST /completions`).
    OpenAiCompletions,
}

/// One server-sent event of a native stream, as the provider sent it.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The `event:` name; empty when the provider sent none.
    pub event: String,
    pub data: String,
}

/// The events of a native stream, in order. Provider-level failures (a broken stream, an
/// Anthropic `error` event) arrive as an error item, which ends the stream.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<SseEvent, ProviderError>> + Send>>;

/// A native answer.
pub enum NativeReply {
    Whole(bytes::Bytes),
    Stream(EventStream),
}

/// A request in a native protocol: the client's body (its `model` already the upstream's
/// id) and the protocol headers the client sent that the provider should see.
pub struct NativeRequest<'a> {
    pub api: NativeApi,
    pub body: bytes::Bytes,
    pub headers: &'a [(reqwest::header::HeaderName, reqwest::header::HeaderValue)],
    pub stream: bool,
}

/// Whether `family` (for provider `provider_key`, calling `model`) speaks `api` natively.
/// OpenAI's own API serves the Responses API; other OpenAI-compatible servers are reached
/// through chat completions unless a connection's `responses_api` setting says `native`.
/// Bedrock serves Claude models Anthropic's Messages body through InvokeModel.
pub fn speaks_natively(
    family: ApiFamily,
    provider_key: &str,
    config: &BTreeMap<String, String>,
    api: NativeApi,
    model: &str,
) -> bool {
    match api {
        NativeApi::AnthropicMessages => {
            family == ApiFamily::Anthropic
                || (family == ApiFamily::Bedrock && bedrock::is_claude(model))
        }
        NativeApi::AnthropicCountTokens => family == ApiFamily::Anthropic,
        NativeApi::OpenAiResponses => match config.get("responses_api").map(String::as_str) {
            Some("native") => matches!(family, ApiFamily::OpenaiCompat | ApiFamily::AzureOpenai),
            Some("chat") => false,
            _ => {
                family == ApiFamily::AzureOpenai
                    || (family == ApiFamily::OpenaiCompat && provider_key == "openai")
            }
        },
        NativeApi::OpenAiCompletions => family == ApiFamily::OpenaiCompat,
    }
}

/// Sends a native request to a family that speaks it (see [`speaks_natively`]).
pub async fn native(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    request: NativeRequest<'_>,
) -> Result<NativeReply, ProviderError> {
    let reply = match (upstream.family, request.api) {
        (ApiFamily::Anthropic, NativeApi::AnthropicMessages | NativeApi::AnthropicCountTokens) => {
            anthropic::native(client, upstream, request).await
        }
        (ApiFamily::OpenaiCompat, NativeApi::OpenAiResponses | NativeApi::OpenAiCompletions) => {
            openai_compat::native(client, upstream, request).await
        }
        (ApiFamily::AzureOpenai, NativeApi::OpenAiResponses) => {
            azure_openai::responses(client, upstream, request).await
        }
        (ApiFamily::Bedrock, NativeApi::AnthropicMessages) => {
            bedrock::anthropic_native(client, upstream, request).await
        }
        (family, api) => Err(ProviderError::Unsupported(format!(
            "{} connections do not speak {api:?} natively",
            family.as_str()
        ))),
    };
    reply.map_err(|e| e.without_secrets(upstream.credentials))
}

/// A native answer read as the client expects it: whole bytes, or its events.
async fn native_reply(
    response: Response,
    stream: bool,
    on_event: impl FnMut(SseEvent) -> Option<Result<SseEvent, ProviderError>> + Send + 'static,
) -> Result<NativeReply, ProviderError> {
    if !stream {
        return Ok(NativeReply::Whole(body_bytes(response).await?));
    }
    Ok(NativeReply::Stream(sse_events(response, on_event)))
}

/// A response body's bytes as they arrive.
pub(super) type Chunks =
    Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send>>;

/// A response's body as it arrives. For a stream (see [`send_for`]) a pause longer than
/// its idle limit ends it with a timed-out error; a whole answer is bounded by the
/// request's own timeout.
pub(super) fn body_chunks(response: Response) -> Chunks {
    use futures_util::StreamExt;
    let bounds = response.extensions().get::<Bounds>().copied();
    let body = response.bytes_stream();
    let Some(idle) = bounds.and_then(|b| b.idle) else {
        return Box::pin(body.map(|item| item.map_err(transport_error)));
    };
    let deadline = bounds.and_then(|b| b.deadline);
    Box::pin(futures_util::stream::unfold(
        (Box::pin(body), false),
        move |(mut body, ended)| async move {
            if ended {
                return None;
            }
            // The pause allowed now: the idle limit, or what is left before the deadline.
            let (wait, over) = match deadline {
                Some(d) if d.saturating_duration_since(tokio::time::Instant::now()) < idle => (
                    d.saturating_duration_since(tokio::time::Instant::now()),
                    "the stream reached the connection's max_duration_ms".to_owned(),
                ),
                _ => (
                    idle,
                    format!("the provider sent nothing for {} ms", idle.as_millis()),
                ),
            };
            match tokio::time::timeout(wait, body.next()).await {
                Ok(Some(Ok(bytes))) => Some((Ok(bytes), (body, false))),
                Ok(Some(Err(e))) => Some((Err(transport_error(e)), (body, true))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(std::io::Error::new(std::io::ErrorKind::TimedOut, over)),
                    (body, true),
                )),
            }
        },
    ))
}

/// A body's transport error with its causes: reqwest says only "error decoding response
/// body", and the cause (a reset, a gateway agent gone) is what a person needs to read.
fn transport_error(e: reqwest::Error) -> std::io::Error {
    let mut message = without_url(&e);
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    std::io::Error::other(message)
}

/// Why a stream's transport failed: an event over the size limit is `TooLarge`.
fn stream_broke(e: eventsource_stream::EventStreamError<std::io::Error>) -> ProviderError {
    if let eventsource_stream::EventStreamError::Transport(io) = &e {
        if let Some(ProviderError::TooLarge(max)) =
            io.get_ref().and_then(|r| r.downcast_ref::<ProviderError>())
        {
            return ProviderError::TooLarge(*max);
        }
    }
    ProviderError::Unreachable(format!("the stream broke off: {e}"))
}

/// The body of a server-sent event stream: [`body_chunks`], ended with an error once one
/// event grows past [`AnswerLimits::max_event`] (the decoder buffers an event whole).
fn sse_body(response: Response) -> Chunks {
    use futures_util::StreamExt;
    let max = response
        .extensions()
        .get::<Bounds>()
        .map_or_else(|| AnswerLimits::default().max_event, |b| b.limits.max_event);
    // Bytes since the last event boundary; `None` once the limit was passed.
    let mut open = Some(0usize);
    Box::pin(body_chunks(response).scan((), move |(), chunk| {
        let out = match (open, chunk) {
            (None, _) => None,
            (Some(_), Err(e)) => Some(Err(e)),
            (Some(before), Ok(bytes)) => {
                open = still_open(before, &bytes, max);
                Some(match open {
                    Some(_) => Ok(bytes),
                    None => Err(std::io::Error::other(ProviderError::TooLarge(max))),
                })
            }
        };
        futures_util::future::ready(out)
    }))
}

/// The bytes of the event still open after `bytes`, given `before` open before them;
/// `None` if an event in them is (or grows) longer than `max`.
fn still_open(before: usize, bytes: &[u8], max: usize) -> Option<usize> {
    let mut open = before;
    let mut from = 0;
    while let Some(end) = next_event_end(bytes, from) {
        if open + (end - from) > max {
            return None;
        }
        open = 0;
        from = end;
    }
    open += bytes.len() - from;
    (open <= max).then_some(open)
}

/// Where the first event boundary (`\n\n`, `\r\r`, `\n\r\n`) at or after `from` ends.
fn next_event_end(bytes: &[u8], from: usize) -> Option<usize> {
    (from.max(1)..bytes.len())
        .find(|&i| {
            let (prev, here) = (bytes[i - 1], bytes[i]);
            (here == b'\n' && prev == b'\n')
                || (here == b'\r' && prev == b'\r')
                || (here == b'\n' && prev == b'\r' && i >= 2 && bytes[i - 2] == b'\n')
        })
        .map(|i| i + 1)
}

/// The raw server-sent events of a response; `on_event` may drop an event (`None`) or
/// turn it into an error, which ends the stream.
fn sse_events(
    response: Response,
    mut on_event: impl FnMut(SseEvent) -> Option<Result<SseEvent, ProviderError>> + Send + 'static,
) -> EventStream {
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut ended = false;
    Box::pin(sse_body(response).eventsource().filter_map(move |event| {
        let out = if ended {
            None
        } else {
            match event {
                Ok(e) => {
                    let event = if e.event == "message" {
                        String::new()
                    } else {
                        e.event
                    };
                    on_event(SseEvent {
                        event,
                        data: e.data,
                    })
                }
                Err(e) => Some(Err(stream_broke(e))),
            }
        };
        if matches!(out, Some(Err(_))) {
            ended = true;
        }
        futures_util::future::ready(out)
    }))
}

/// Lists the models the connection's credentials can use.
pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    listed_models(client, upstream)
        .await
        .map_err(|e| e.without_secrets(upstream.credentials))
}

async fn listed_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = match upstream.family {
        ApiFamily::OpenaiCompat => openai_compat::list_models(client, upstream).await?,
        ApiFamily::AzureOpenai => azure_openai::list_models(client, upstream).await?,
        ApiFamily::Anthropic => anthropic::list_models(client, upstream).await?,
        ApiFamily::Gemini => gemini::list_models(client, upstream).await?,
        ApiFamily::Bedrock => bedrock::list_models(client, upstream).await?,
        ApiFamily::Cohere => cohere::list_models(client, upstream).await?,
    };
    models.sort_by(|a, b| a.id.cmp(&b.id));
    models.dedup_by(|a, b| a.id == b.id);
    Ok(models)
}

/// Sends a request and turns transport failures and non-2xx answers into `ProviderError`,
/// with the provider's own error message where its body has one. The outbound policy is
/// applied here for address literals (names are checked by the client's resolver).
async fn send(request: RequestBuilder, upstream: &Upstream<'_>) -> Result<Response, ProviderError> {
    send_for(request, upstream, false).await
}

/// What bounds reading a successful response: for a stream, how long it may go without
/// a byte (the connection's timeout); for every answer, its size. Carried on the response
/// so every decoder reads its body through [`body_bytes`], [`decode`] or [`body_chunks`].
#[derive(Clone, Copy)]
struct Bounds {
    idle: Option<Duration>,
    /// When the stream must have ended (`max_duration`), from its start.
    deadline: Option<tokio::time::Instant>,
    limits: AnswerLimits,
}

/// [`send`] for a request whose answer may be a stream. A whole answer must arrive
/// within the connection's timeout; a stream must *start* within it (the response head)
/// and then never pause longer, however long it lasts — a long generation is not cut.
async fn send_for(
    request: RequestBuilder,
    upstream: &Upstream<'_>,
    stream: bool,
) -> Result<Response, ProviderError> {
    let timeout = upstream.timeouts.answer;
    let started = tokio::time::Instant::now();
    let request = if stream {
        request
    } else {
        request.timeout(timeout)
    };
    let (client, request) = request.build_split();
    let mut request = request.map_err(|e| ProviderError::Config(without_url(&e)))?;
    crate::telemetry::propagate(request.headers_mut());
    let timed_out =
        || ProviderError::Timeout(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
    if let Some(relay) = &upstream.relay {
        let response = tokio::time::timeout(timeout, relay.execute(request))
            .await
            .map_err(|_| timed_out())??;
        return answered(response, upstream, stream, started).await;
    }
    if !upstream.allow_private {
        if let Some(refused) = crate::outbound::refused_literal(request.url()) {
            return Err(ProviderError::Refused(refused.to_string()));
        }
    }
    let response = tokio::time::timeout(timeout, client.execute(request))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| {
            if let Some(refused) = refusal(&e) {
                ProviderError::Refused(refused)
            } else if e.is_timeout() {
                timed_out()
            } else {
                ProviderError::Unreachable(without_url(&e))
            }
        })?;
    answered(response, upstream, stream, started).await
}

/// A response that arrived: a success with the bounds its body is read under, or the
/// provider's error.
async fn answered(
    response: Response,
    upstream: &Upstream<'_>,
    stream: bool,
    started: tokio::time::Instant,
) -> Result<Response, ProviderError> {
    let timeout = upstream.timeouts.answer;
    if response.status().is_success() {
        let mut response = response;
        let t = upstream.timeouts;
        response.extensions_mut().insert(Bounds {
            idle: stream.then_some(t.idle.unwrap_or(timeout)),
            deadline: t.max_duration.filter(|_| stream).map(|max| started + max),
            limits: upstream.limits,
        });
        return Ok(response);
    }
    let status = response.status();
    let retry_after_secs = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = error_text(response).await;
    Err(ProviderError::Http {
        status: status.as_u16(),
        message: error_message(status, &body),
        retry_after_secs,
    })
}

/// The outbound policy's refusal inside a transport error, if that is what it was.
fn refusal(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<crate::outbound::OutboundError>() {
            return Some(refused.to_string());
        }
        source = e.source();
    }
    None
}

/// reqwest's messages include the URL, which for some families carries a key.
fn without_url(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    if let Some(url) = err.url() {
        message = message.replace(url.as_str(), "<provider>");
    }
    if err.is_connect() {
        format!("connection failed ({message})")
    } else {
        message
    }
}

/// The provider's message from the error shapes the families use
/// (`{"error":{"message"}}`, `{"error":"…"}`, `{"message"}`, `{"Message"}`).
fn error_message(status: StatusCode, body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let found = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("Message"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
    });
    // Trimmed: an error body is the provider's, and may be long or not meant for clients.
    let text = found
        .map(|m| m.chars().take(500).collect::<String>())
        .unwrap_or_else(|| body.chars().take(200).collect());
    if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    }
}

/// Turns a byte stream of server-sent events into chunks, `on_event(event name, data)`
/// translating each native event into zero or more OpenAI chunks.
fn sse_chunks<F>(response: Response, mut on_event: F) -> ChunkStream
where
    F: FnMut(&str, &str) -> Vec<Result<Value, ProviderError>> + Send + 'static,
{
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let events = sse_body(response).eventsource();
    Box::pin(
        events
            .map(move |event| match event {
                Ok(e) => on_event(&e.event, &e.data),
                Err(e) => vec![Err(stream_broke(e))],
            })
            .flat_map(futures_util::stream::iter),
    )
}

/// A translated stream that stops after its first chunk without a `finish_reason`, an
/// error, or (OpenAI format) `[DONE]` — `closed()` says whether that marker came — was cut
/// short: a proxy or the provider closed it cleanly mid-answer. The client must not take
/// it as whole, so an error item is added at its end. (A stream with nothing at all in it
/// is left to the gateway: "ended before its first event".)
fn cut_short_is_an_error(
    chunks: ChunkStream,
    closed: impl Fn() -> bool + Send + 'static,
) -> ChunkStream {
    use futures_util::StreamExt;
    #[derive(Clone, Copy, PartialEq)]
    enum Progress {
        Nothing,
        Started,
        Finished,
        Stopped,
    }
    Box::pin(futures_util::stream::unfold(
        (chunks, Progress::Nothing, closed),
        |(mut chunks, progress, closed)| async move {
            if progress == Progress::Stopped {
                return None;
            }
            let next = match chunks.next().await {
                Some(Ok(chunk)) => {
                    let now = if progress == Progress::Finished || has_finish_reason(&chunk) {
                        Progress::Finished
                    } else {
                        Progress::Started
                    };
                    return Some((Ok(chunk), (chunks, now, closed)));
                }
                Some(Err(e)) => Err(e),
                None if progress == Progress::Started && !closed() => {
                    Err(ProviderError::Unreachable(
                        "the stream ended before the answer was finished (no finish reason)".into(),
                    ))
                }
                None => return None,
            };
            // After an error nothing more is read.
            Some((next, (chunks, Progress::Stopped, closed)))
        },
    ))
}

/// Whether a chunk ends a choice (`finish_reason` set).
fn has_finish_reason(chunk: &Value) -> bool {
    chunk["choices"].as_array().is_some_and(|choices| {
        choices
            .iter()
            .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null()))
    })
}

/// Parses one event's JSON, or says which event was malformed.
fn event_json<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, ProviderError> {
    serde_json::from_str(data).map_err(|e| ProviderError::Decode(format!("stream event: {e}")))
}

/// A whole answer, read up to its size limit ([`AnswerLimits::max_body`]).
async fn body_bytes(response: Response) -> Result<bytes::Bytes, ProviderError> {
    let max = response
        .extensions()
        .get::<Bounds>()
        .map_or_else(|| AnswerLimits::default().max_body, |b| b.limits.max_body);
    read_capped(response, max).await
}

/// The body, or `TooLarge` as soon as it passes `max` bytes (never read further):
/// `http_body_util::Limited`, whose collected single chunk comes back without a copy.
async fn read_capped(response: Response, max: usize) -> Result<bytes::Bytes, ProviderError> {
    use http_body_util::BodyExt;
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(ProviderError::TooLarge(max));
    }
    match http_body_util::Limited::new(reqwest::Body::from(response), max)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ProviderError::TooLarge(max)),
        Err(e) => Err(ProviderError::Unreachable(
            e.downcast_ref::<reqwest::Error>()
                .map_or_else(|| e.to_string(), without_url),
        )),
    }
}

/// An error answer's text, of which only the first 64 KiB are read (its message is all
/// that is kept).
async fn error_text(response: Response) -> String {
    use futures_util::StreamExt;
    const MAX_ERROR_BODY: usize = 64 * 1024;
    let mut chunks = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(Ok(chunk)) = chunks.next().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

async fn decode<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, ProviderError> {
    let bytes = body_bytes(response).await?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Decode(e.to_string()))
}

#[cfg(test)]
pub(crate) mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    /// What a translated stream of `chunks` ends as: `true` when an error was added.
    fn ends_in_error(chunks: Vec<Value>, closed: bool) -> bool {
        use futures_util::StreamExt;
        let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks.into_iter().map(Ok)));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let items: Vec<_> =
            runtime.block_on(cut_short_is_an_error(inner, move || closed).collect());
        items.last().is_some_and(Result::is_err)
    }

    #[test]
    fn a_stream_is_whole_only_with_a_finish_reason_or_its_closing_marker() {
        let delta =
            serde_json::json!({"choices": [{"delta": {"content": "Hel"}, "finish_reason": null}]});
        let finish = serde_json::json!({"choices": [{"delta": {}, "finish_reason": "stop"}]});
        let usage = serde_json::json!({"choices": [], "usage": {"total_tokens": 3}});
        assert!(ends_in_error(vec![delta.clone()], false));
        assert!(
            !ends_in_error(vec![delta.clone()], true),
            "[DONE] closes it"
        );
        assert!(!ends_in_error(vec![delta.clone(), finish, usage], false));
        assert!(
            !ends_in_error(Vec::new(), false),
            "an empty stream is the gateway's to judge"
        );
    }

    /// The events `sse_events` reads from `chunks`, under an event cap of `max_event`.
    fn read_events(
        chunks: Vec<Vec<u8>>,
        max_event: usize,
    ) -> Vec<Result<(String, String), String>> {
        use futures_util::StreamExt;
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks.into_iter().map(Ok::<Vec<u8>, std::io::Error>),
        ));
        let mut response = Response::from(http::Response::new(body));
        response.extensions_mut().insert(Bounds {
            idle: None,
            deadline: None,
            limits: AnswerLimits {
                max_body: usize::MAX,
                max_event,
            },
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(
            sse_events(response, |e| Some(Ok(e)))
                .map(|item| item.map(|e| (e.event, e.data)).map_err(|e| e.to_string()))
                .collect(),
        )
    }

    proptest::proptest! {
        /// However the network cuts a stream, the same events come out; arbitrary bytes
        /// never panic the decoder; the boundary search agrees with a plain one.
        #[test]
        fn sse_decoding_does_not_depend_on_chunking(
            events in proptest::collection::vec(("[a-z_]{0,6}", "[ -~]{0,40}"), 0..8),
            cuts in proptest::collection::vec(0usize..400, 0..6),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let wire: Vec<u8> = events
                .iter()
                .map(|(name, data)| {
                    if name.is_empty() { format!("data: {data}\n\n") } else { format!("event: {name}\ndata: {data}\n\n") }
                })
                .collect::<String>()
                .into_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c < wire.len()).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([wire.len()]) {
                chunks.push(wire[from..cut].to_vec());
                from = cut;
            }
            proptest::prop_assert_eq!(read_events(chunks, 1 << 20), read_events(vec![wire], 1 << 20));
            let _ = read_events(vec![noise.clone()], 64);
            let plain = (1..noise.len()).find(|&i| {
                noise[i - 1..=i] == *b"\n\n"
                    || noise[i - 1..=i] == *b"\r\r"
                    || (i >= 2 && noise[i - 2..=i] == *b"\n\r\n")
            });
            proptest::prop_assert_eq!(next_event_end(&noise, 0), plain.map(|i| i + 1));
            // The cap holds whatever the chunking: no event longer than it gets through.
            if let Some(open) = still_open(0, &noise, 64) {
                proptest::prop_assert!(open <= 64);
            }
        }
    }

    #[test]
    fn an_event_over_its_cap_ends_the_stream() {
        let big = format!("data: {}\n\n", "x".repeat(100));
        let events = read_events(vec![b"data: small\n\n".to_vec(), big.into_bytes()], 64);
        assert_eq!(events[0], Ok((String::new(), "small".into())));
        assert!(
            matches!(&events[1], Err(e) if e.contains("64-byte limit")),
            "{events:?}"
        );
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn families_round_trip_their_names() {
        for f in ApiFamily::ALL {
            assert_eq!(ApiFamily::parse(f.as_str()), Some(f));
        }
        assert_eq!(ApiFamily::parse("soap"), None);
    }

    #[test]
    fn error_messages_come_from_each_shape() {
        let s = StatusCode::UNAUTHORIZED;
        assert_eq!(
            error_message(s, r#"{"error":{"message":"Incorrect API key"}}"#),
            "Incorrect API key"
        );
        assert_eq!(error_message(s, r#"{"error":"bad key"}"#), "bad key");
        assert_eq!(
            error_message(s, r#"{"message":"invalid api token"}"#),
            "invalid api token"
        );
        assert_eq!(
            error_message(s, r#"{"Message":"The security token is invalid"}"#),
            "The security token is invalid"
        );
        assert_eq!(error_message(s, ""), "Unauthorized");
    }
}
