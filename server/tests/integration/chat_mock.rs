//! An OpenAI-compatible upstream for inference tests: `/v1/models`, `/v1/chat/completions`
//! (whole or streamed), `/v1/embeddings`, and OpenAI's own `/v1/responses` (whole or
//! streamed, in the event sequence OpenAI sends) and legacy `/v1/completions`. It can fail
//! with a status (+ Retry-After), hang, break a stream after its first chunk, count calls
//! and keep the last request body and path.

#![expect(
    clippy::unwrap_used,
    reason = "a mock that cannot run must fail the test"
)]

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

#[derive(Default)]
struct Behaviour {
    fail: Option<(u16, Option<u64>)>,
    hang: bool,
    break_stream: bool,
    slow_stream: bool,
    /// A stream of this many chunks, one every this long.
    paced: Option<(usize, Duration)>,
    /// After this many events, the stream goes silent for this long.
    stall: Option<(usize, Duration)>,
    delay: Option<Duration>,
    /// Answer 200 with a body that is not JSON.
    garbage: bool,
    /// Answer content of this many bytes (whole: the message; stream: one event).
    bloat: Option<usize>,
    /// Send half the answer, then reset the connection.
    cut: bool,
    /// Send this many bytes (in 1 MiB chunks, made as they are sent) as the answer.
    huge: Option<usize>,
    /// A stream that ends cleanly after its first event: no finish, no `[DONE]`.
    end_early: bool,
}

#[derive(Clone)]
pub struct ChatMock {
    pub name: String,
    pub base: String,
    behaviour: Arc<Mutex<Behaviour>>,
    calls: Arc<AtomicUsize>,
    last_body: Arc<Mutex<Value>>,
    last_path: Arc<Mutex<String>>,
    /// The headers of the last chat or embeddings call.
    last_headers: Arc<Mutex<axum::http::HeaderMap>>,
    /// Set when a streamed response was dropped before it finished (the client went away).
    pub stream_cancelled: Arc<AtomicBool>,
}

impl ChatMock {
    pub async fn start(name: &str) -> ChatMock {
        let mut mock = ChatMock {
            name: name.to_owned(),
            base: String::new(),
            behaviour: Default::default(),
            calls: Default::default(),
            last_body: Arc::new(Mutex::new(Value::Null)),
            last_path: Default::default(),
            last_headers: Default::default(),
            stream_cancelled: Default::default(),
        };
        let app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(chat))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/responses", post(responses))
            .route("/v1/completions", post(completions))
            .with_state(mock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        mock.base = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        mock
    }

    /// `start` on a listener made elsewhere (e.g. inside a network namespace).
    pub async fn start_on(name: &str, listener: std::net::TcpListener) -> ChatMock {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let mut mock = ChatMock::start(name).await;
        let app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(chat))
            .route("/v1/embeddings", post(embeddings))
            .with_state(mock.clone());
        mock.base = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        mock
    }

    /// The `Authorization` header of the last chat or embeddings call.
    pub fn last_auth(&self) -> String {
        self.last_header("authorization").unwrap_or_default()
    }

    /// A header of the last chat or embeddings call.
    pub fn last_header(&self, name: &str) -> Option<String> {
        let headers = self.last_headers.lock().unwrap();
        let value = headers.get(name)?.to_str().ok()?;
        Some(value.to_owned())
    }

    pub fn fail(&self, status: u16, retry_after: Option<u64>) {
        self.behaviour.lock().unwrap().fail = Some((status, retry_after));
    }
    pub fn hang(&self) {
        self.behaviour.lock().unwrap().hang = true;
    }
    pub fn break_stream(&self) {
        self.behaviour.lock().unwrap().break_stream = true;
    }
    /// Answers every call after `ms` milliseconds.
    pub fn delay(&self, ms: u64) {
        self.behaviour.lock().unwrap().delay = Some(Duration::from_millis(ms));
    }
    /// Back to answering at once and without failing.
    pub fn recover(&self) {
        let mut b = self.behaviour.lock().unwrap();
        b.fail = None;
        b.delay = None;
        b.paced = None;
        b.stall = None;
        b.bloat = None;
        b.cut = false;
        b.huge = None;
        b.end_early = false;
    }
    /// Answers chat with `200 OK` and an HTML page, like a misrouted proxy.
    pub fn garbage(&self) {
        self.behaviour.lock().unwrap().garbage = true;
    }
    /// Sends half the answer, then resets the connection.
    pub fn cut(&self) {
        self.behaviour.lock().unwrap().cut = true;
    }
    /// Sends `bytes` bytes as the answer, 1 MiB at a time (never all in memory).
    pub fn huge(&self, bytes: usize) {
        self.behaviour.lock().unwrap().huge = Some(bytes);
    }
    /// Ends a stream cleanly after its first event, without a finish or `[DONE]`.
    pub fn end_early(&self) {
        self.behaviour.lock().unwrap().end_early = true;
    }
    /// Answers with `bytes` bytes of content (whole) or one event that large (stream).
    pub fn bloat(&self, bytes: usize) {
        self.behaviour.lock().unwrap().bloat = Some(bytes);
    }
    pub fn slow_stream(&self) {
        self.behaviour.lock().unwrap().slow_stream = true;
    }
    /// Streams `chunks` chunks, one every `every_ms` (a long generation).
    pub fn pace(&self, chunks: usize, every_ms: u64) {
        self.behaviour.lock().unwrap().paced = Some((chunks, Duration::from_millis(every_ms)));
    }
    /// Goes silent for `ms` after the first `events` events of a stream.
    pub fn stall(&self, events: usize, ms: u64) {
        self.behaviour.lock().unwrap().stall = Some((events, Duration::from_millis(ms)));
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn last_body(&self) -> Value {
        self.last_body.lock().unwrap().clone()
    }
    /// The path of the last call that carried a body.
    pub fn last_path(&self) -> String {
        self.last_path.lock().unwrap().clone()
    }

    fn remember_headers(&self, headers: &axum::http::HeaderMap) {
        *self.last_headers.lock().unwrap() = headers.clone();
    }

    /// Counts the call, records the body, and applies a configured failure.
    async fn gate(&self, body: Option<Value>) -> Result<(), Response> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(b) = body {
            *self.last_body.lock().unwrap() = b;
        }
        let (fail, hang, delay) = {
            let b = self.behaviour.lock().unwrap();
            (b.fail, b.hang, b.delay)
        };
        if hang {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if let Some((status, retry_after)) = fail {
            let mut res = (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"error": {"message": format!("{} failure {status}", self.name), "type": "mock_error"}})),
            )
                .into_response();
            if let Some(s) = retry_after {
                res.headers_mut()
                    .insert("retry-after", s.to_string().parse().unwrap());
            }
            return Err(res);
        }
        Ok(())
    }
}

async fn models(State(mock): State<ChatMock>) -> Response {
    if let Err(r) = mock.gate(None).await {
        return r;
    }
    Json(json!({"object": "list", "data": [
        {"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "mock"},
        {"id": "meta-llama/llama-4-scout", "object": "model", "created": 1, "owned_by": "mock"},
        {"id": "text-embedding-3-small", "object": "model", "created": 1, "owned_by": "mock"},
    ]}))
    .into_response()
}

async fn chat(
    State(mock): State<ChatMock>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    *mock.last_path.lock().unwrap() = "/v1/chat/completions".into();
    mock.remember_headers(&headers);
    if let Err(r) = mock.gate(Some(body.clone())).await {
        return r;
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let (garbage, cut, huge) = {
        let b = mock.behaviour.lock().unwrap();
        (b.garbage, b.cut, b.huge)
    };
    if garbage {
        return (StatusCode::OK, "<html>502 Bad Gateway</html>").into_response();
    }
    if let Some(total) = huge {
        return huge_body(total, body["stream"] == json!(true));
    }
    if mock.behaviour.lock().unwrap().end_early && body["stream"] != json!(true) {
        // A whole answer whose JSON stops short, on a connection that ends cleanly.
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            r#"{"id": "chatcmpl-mock", "object": "chat.completion", "choi"#,
        )
            .into_response();
    }
    if cut && body["stream"] != json!(true) {
        let half =
            Bytes::from_static(br#"{"id": "chatcmpl-mock", "object": "chat.completion", "choi"#);
        let parts: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(half), Err(std::io::Error::other("connection reset"))];
        let mut res = Response::new(Body::from_stream(futures_util::stream::iter(parts)));
        res.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        return res;
    }
    if body["stream"] == json!(true) {
        return stream(
            mock,
            model,
            body["stream_options"]["include_usage"] == json!(true),
        );
    }
    let bloat = mock.behaviour.lock().unwrap().bloat;
    let content = match bloat {
        Some(n) => "x".repeat(n),
        None => format!("hello from {}", mock.name),
    };
    Json(json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }))
    .into_response()
}

/// Sets `stream_cancelled` if dropped before the stream was read to its end.
struct CancelGuard(Arc<AtomicBool>, bool);

impl CancelGuard {
    fn finish(&mut self) {
        self.1 = true;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn stream(mock: ChatMock, model: String, include_usage: bool) -> Response {
    let (broken, slow, paced, stall, bloat, end_early) = {
        let b = mock.behaviour.lock().unwrap();
        (
            b.break_stream || b.cut,
            b.slow_stream,
            b.paced,
            b.stall,
            b.bloat,
            b.end_early,
        )
    };
    let chunk = |content: &str| {
        json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    };
    let mut events: Vec<String> = ["Hel", "lo", "!"]
        .iter()
        .map(|c| format!("data: {}\n\n", chunk(c)))
        .collect();
    if slow {
        events = (0..200)
            .map(|i| format!("data: {}\n\n", chunk(&i.to_string())))
            .collect();
    }
    if let Some(n) = bloat {
        events.insert(1, format!("data: {}\n\n", chunk(&"x".repeat(n))));
    }
    if let Some((n, _)) = paced {
        events = (0..n)
            .map(|i| format!("data: {}\n\n", chunk(&format!("<{i}>"))))
            .collect();
    }
    if include_usage {
        events.push(format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
                   "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
        ));
    }
    events.push("data: [DONE]\n\n".into());
    if end_early {
        events.truncate(1);
    }
    let guard = CancelGuard(mock.stream_cancelled.clone(), false);
    let body = futures_util::stream::unfold(
        (events.into_iter(), guard, 0usize),
        move |(mut it, mut guard, n)| async move {
            if broken && n == 1 {
                // Let the first event reach the client before the connection breaks.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Some((
                    Err(std::io::Error::other("connection dropped")),
                    (it, guard, n + 1),
                ));
            }
            if slow {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if let Some((_, every)) = paced.filter(|_| n > 0) {
                tokio::time::sleep(every).await;
            }
            if let Some((_, silence)) = stall.filter(|(after, _)| *after == n) {
                tokio::time::sleep(silence).await;
            }
            match it.next() {
                Some(e) => Some((
                    Ok::<Bytes, std::io::Error>(Bytes::from(e)),
                    (it, guard, n + 1),
                )),
                None => {
                    guard.finish();
                    None
                }
            }
        },
    );
    let mut res = Response::new(Body::from_stream(body));
    res.headers_mut()
        .insert("content-type", "text/event-stream".parse().unwrap());
    res
}

/// `total` bytes of answer, 1 MiB at a time: a JSON string that never ends (whole), or one
/// event that never ends (stream).
fn huge_body(total: usize, stream: bool) -> Response {
    const MIB: usize = 1024 * 1024;
    let head = if stream {
        Bytes::from_static(br#"data: {"choices": [{"delta": {"content": ""#)
    } else {
        Bytes::from_static(br#"{"choices": [{"message": {"content": ""#)
    };
    let filler = Bytes::from(vec![b'x'; MIB]);
    let chunks = std::iter::once(head).chain((0..total / MIB).map(move |_| filler.clone()));
    let body = futures_util::stream::iter(chunks.map(Ok::<Bytes, std::io::Error>));
    let mut res = Response::new(Body::from_stream(body));
    let kind = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    res.headers_mut()
        .insert("content-type", kind.parse().unwrap());
    res
}

async fn embeddings(
    State(mock): State<ChatMock>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    mock.remember_headers(&headers);
    if let Err(r) = mock.gate(Some(body.clone())).await {
        return r;
    }
    Json(json!({"object": "list", "model": body["model"], "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
                "usage": {"prompt_tokens": 4, "total_tokens": 4}}))
    .into_response()
}

/// OpenAI's Responses API: a text answer, or a function call when the request offers
/// function tools; streamed in OpenAI's event sequence when asked.
async fn responses(State(mock): State<ChatMock>, Json(body): Json<Value>) -> Response {
    *mock.last_path.lock().unwrap() = "/v1/responses".into();
    if let Err(r) = mock.gate(Some(body.clone())).await {
        return r;
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let call = body["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["type"] == "function"))
        .map(|t| t["name"].clone());
    let item = match &call {
        Some(name) => json!({"id": "fc_mock", "type": "function_call", "status": "completed",
            "call_id": "call_mock", "name": name, "arguments": "{\"city\":\"Paris\"}"}),
        None => {
            json!({"id": "msg_mock", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": format!("native hello from {}", mock.name), "annotations": []}]})
        }
    };
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": "resp_mock_1", "object": "response", "created_at": 1_700_000_000, "status": status,
               "model": model, "output": output, "usage": usage, "error": null, "store": body["store"]})
    };
    let usage = json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 2},
                       "output_tokens": 6, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 18});
    if body["stream"] != json!(true) {
        return Json(response("completed", json!([item]), usage)).into_response();
    }
    let mut events = vec![
        (
            "response.created",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.in_progress",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": item}),
        ),
    ];
    if call.is_none() {
        events.push(("response.output_text.delta", json!({"item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": "native hello"})));
    } else {
        events.push((
            "response.function_call_arguments.delta",
            json!({"item_id": "fc_mock", "output_index": 0, "delta": "{\"city\":\"Paris\"}"}),
        ));
    }
    events.push((
        "response.output_item.done",
        json!({"output_index": 0, "item": item}),
    ));
    events.push((
        "response.completed",
        json!({"response": response("completed", json!([item]), usage)}),
    ));
    let text: String = events
        .into_iter()
        .enumerate()
        .map(|(i, (kind, mut data))| {
            data["type"] = json!(kind);
            data["sequence_number"] = json!(i);
            format!("event: {kind}\ndata: {data}\n\n")
        })
        .collect();
    let mut res = Response::new(Body::from(text));
    res.headers_mut()
        .insert("content-type", "text/event-stream".parse().unwrap());
    res
}

/// Legacy completions, whole or streamed.
async fn completions(State(mock): State<ChatMock>, Json(body): Json<Value>) -> Response {
    *mock.last_path.lock().unwrap() = "/v1/completions".into();
    if let Err(r) = mock.gate(Some(body.clone())).await {
        return r;
    }
    let model = body["model"].clone();
    if body["stream"] == json!(true) {
        let chunk = |text: &str, finish: Value| {
            json!({"id": "cmpl-mock", "object": "text_completion", "created": 1, "model": model,
                   "choices": [{"index": 0, "text": text, "finish_reason": finish}]})
        };
        let text = format!(
            "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
            chunk("once upon", Value::Null),
            chunk(" a time", json!("stop"))
        );
        let mut res = Response::new(Body::from(text));
        res.headers_mut()
            .insert("content-type", "text/event-stream".parse().unwrap());
        return res;
    }
    Json(
        json!({"id": "cmpl-mock", "object": "text_completion", "created": 1, "model": model,
        "choices": [{"index": 0, "text": "once upon a time", "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}),
    )
    .into_response()
}
