//! An OpenAI-compatible upstream with fixed, configurable latency, for the benchmark.
//! `/v1/...` answers; `/fail/v1/...` always answers 500 (to measure a fallback).

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Clone)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// Time before a whole answer, and before a stream's first chunk.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Chunks in a streamed answer.
    #[arg(long, default_value_t = 10)]
    chunks: usize,
    /// Time between streamed chunks.
    #[arg(long, default_value_t = 10)]
    chunk_interval_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let app = Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .route("/fail/v1/models", get(models))
        .route("/fail/v1/chat/completions", post(fail))
        .with_state(args.clone());
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    // The harness reads the address from the first line.
    use std::io::Write;
    writeln!(std::io::stdout(), "{}", listener.local_addr()?)?;
    // Like the real APIs' front ends: small writes are not held back by Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": "bench-model", "object": "model", "created": 0, "owned_by": "bench"}]}),
    )
}

async fn fail() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": {"message": "failing on purpose", "type": "server_error"}})),
    )
        .into_response()
}

async fn chat(State(args): State<Args>, Json(body): Json<Value>) -> Response {
    if args.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(args.latency_ms)).await;
    }
    let model = body["model"].clone();
    if body["stream"] != json!(true) {
        return Json(json!({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
        }))
        .into_response();
    }
    let include_usage = body["stream_options"]["include_usage"] == json!(true);
    let interval = Duration::from_millis(args.chunk_interval_ms);
    let chunks = args.chunks;
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let model = model.clone();
        async move {
            if i > chunks + 1 {
                return None;
            }
            if i > 0 && i <= chunks {
                tokio::time::sleep(interval).await;
            }
            let text = if i < chunks {
                json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model,
                       "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": null}]})
                .to_string()
            } else if i == chunks && include_usage {
                json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [],
                       "usage": {"prompt_tokens": 8, "completion_tokens": chunks, "total_tokens": 8 + chunks}})
                .to_string()
            } else if i == chunks {
                return Some((Ok::<Bytes, std::io::Error>(Bytes::new()), i + 1));
            } else {
                "[DONE]".to_owned()
            };
            Some((Ok(Bytes::from(format!("data: {text}\n\n"))), i + 1))
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    response
}
