//! Traces: `langmart serve --otlp-endpoint` exports OpenTelemetry spans over OTLP/HTTP to
//! a collector (here an in-test one that decodes the protobuf with `opentelemetry-proto`):
//! a request's server span (`POST /v1/chat/completions`) continuing the client's W3C `traceparent`, its `routing` and
//! `attempt` children, and a streamed answer's `stream` span; the provider receives a
//! `traceparent` of the same trace whose parent is the attempt. Without the flag nothing
//! is added to upstream requests.

#![expect(
    clippy::unwrap_used,
    reason = "collector and request helpers: a failure must fail the test"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{body::Bytes, extract::State, http::StatusCode, routing::post, Router};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::Method;
use serde_json::{json, Value};

use crate::binary::Binary;
use crate::chat_mock::ChatMock;
use crate::collections::connect;
use crate::common::spawn_app;

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

type Received = Arc<Mutex<Vec<Span>>>;

/// An OTLP/HTTP trace collector on a free port: what it received, and its base URL.
async fn collector() -> (Received, String) {
    async fn receive(State(spans): State<Received>, body: Bytes) -> (StatusCode, Vec<u8>) {
        let Ok(request) = ExportTraceServiceRequest::decode(body) else {
            return (StatusCode::BAD_REQUEST, Vec::new());
        };
        let mut kept = spans.lock().unwrap();
        for resource in request.resource_spans {
            for scope in resource.scope_spans {
                kept.extend(scope.spans);
            }
        }
        (
            StatusCode::OK,
            ExportTraceServiceResponse::default().encode_to_vec(),
        )
    }
    let spans = Received::default();
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (spans, base)
}

/// Waits until the collector holds `count` spans named `name` (exports are batched).
async fn wait_for(spans: &Received, name: &str, count: usize) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<Span> = spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    let value = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?;
    match value.value.as_ref()? {
        V::StringValue(s) => Some(s.clone()),
        V::IntValue(i) => Some(i.to_string()),
        V::BoolValue(b) => Some(b.to_string()),
        V::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

fn chat(base: &str, key: &str, stream: bool, traceparent: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "gpt-4o", "stream": stream,
                      "messages": [{"role": "user", "content": "hi"}]}));
    if let Some(tp) = traceparent {
        request = request.header("traceparent", tp);
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_and_the_trace_reaches_the_provider() {
    let (spans, collector) = collector().await;
    let mock = ChatMock::start("traced").await;
    let data = tempfile::tempdir().unwrap();
    let key = Binary::account(data.path(), "tracer@example.com");
    let mut server = Binary::serve(data.path(), &["--otlp-endpoint", &collector]);
    let http = reqwest::Client::new();
    let created: Value = http
        .post(server.url("/api/connections"))
        .bearer_auth(&key)
        .json(
            &json!({"provider": "openai", "name": "traced", "api_key": "sk-upstream-0001",
                      "endpoint_url": mock.base, "max_retries": 0}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"));
    let tested = http
        .post(server.url(&format!("/api/connections/{id}/test")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 200);

    // A whole answer, in the client's trace.
    let traceparent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let res = chat(&server.base, &key, false, Some(&traceparent))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-langmart-connection"], id);
    let upstream = mock
        .last_header("traceparent")
        .expect("a traceparent upstream");
    let parts: Vec<&str> = upstream.split('-').collect();
    assert_eq!(parts.len(), 4, "{upstream}");
    assert_eq!(
        parts[1], CLIENT_TRACE,
        "the provider joins the client's trace"
    );
    assert_ne!(
        parts[2], CLIENT_SPAN,
        "its parent is LangMart's attempt, not the client"
    );

    let in_trace = |s: &Span| hex::encode(&s.trace_id) == CLIENT_TRACE;
    // A server span is named by its method and route, as OpenTelemetry's HTTP conventions say.
    const REQUEST: &str = "POST /v1/chat/completions";
    let requests = wait_for(&spans, REQUEST, 1).await;
    let request = requests
        .iter()
        .find(|s| in_trace(s))
        .unwrap_or_else(|| panic!("no request span in the client's trace: {requests:?}"));
    assert_eq!(hex::encode(&request.parent_span_id), CLIENT_SPAN);
    assert_eq!(
        attribute(request, "http.route").as_deref(),
        Some("/v1/chat/completions")
    );
    assert_eq!(
        attribute(request, "http.response.status_code").as_deref(),
        Some("200")
    );
    let routing = wait_for(&spans, "routing", 1).await;
    let routing = routing.iter().find(|s| in_trace(s)).unwrap();
    assert_eq!(routing.parent_span_id, request.span_id);
    assert_eq!(
        attribute(routing, "langmart.model").as_deref(),
        Some("gpt-4o")
    );
    assert_eq!(
        attribute(routing, "langmart.candidates").as_deref(),
        Some("1")
    );
    let attempts = wait_for(&spans, "attempt", 1).await;
    let attempt = attempts.iter().find(|s| in_trace(s)).unwrap();
    assert_eq!(attempt.parent_span_id, request.span_id);
    assert_eq!(
        hex::encode(&attempt.span_id),
        parts[2],
        "the provider's parent is the attempt"
    );
    assert_eq!(
        attribute(attempt, "langmart.connection").as_deref(),
        Some(id)
    );
    assert_eq!(
        attribute(attempt, "langmart.outcome").as_deref(),
        Some("ok")
    );

    // A stream, in a trace of its own (no traceparent): its span outlives the request's.
    let res = chat(&server.base, &key, true, None).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("[DONE]"), "{body}");
    let streams = wait_for(&spans, "stream", 1).await;
    let stream = streams.first().unwrap_or_else(|| panic!("no stream span"));
    assert_ne!(hex::encode(&stream.trace_id), CLIENT_TRACE);
    assert_eq!(attribute(stream, "langmart.status").as_deref(), Some("200"));
    let requests = wait_for(&spans, REQUEST, 2).await;
    let root = requests
        .iter()
        .find(|s| s.trace_id == stream.trace_id)
        .unwrap_or_else(|| panic!("the stream's request span: {requests:?}"));
    assert!(
        root.parent_span_id.is_empty(),
        "a request without traceparent starts a trace"
    );
    assert_eq!(stream.parent_span_id, root.span_id);
    assert!(stream.end_time_unix_nano >= root.end_time_unix_nano);

    server.terminate();
    assert!(server
        .wait(Duration::from_secs(30))
        .is_some_and(|s| s.success()));
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_added_upstream() {
    let Some(app) = spawn_app().await else { return };
    let mock = ChatMock::start("untraced").await;
    let (_, key) = app.user_with_key("untraced@example.com", "untraced").await;
    connect(&app, &key, "openai", &mock, json!({})).await;
    let traceparent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");
    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .header("traceparent", traceparent)
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(mock.last_header("traceparent"), None);
}
