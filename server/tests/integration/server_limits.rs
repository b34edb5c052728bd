//! What one peer may hold of the server: slow headers and bodies are cut by their
//! timeouts, `/v1` past its concurrency gets a fast 503, and shutdown ends within its
//! grace, telling open streams so in band.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app_with, TestApp};

/// Upper bound for things that should happen at once: a bound, not a measurement.
const PROMPTLY: Duration = Duration::from_secs(10);

async fn connect(app: &TestApp, key: &str, mock: &ChatMock) {
    app.connection(
        key,
        json!({"provider": "openai", "name": mock.name, "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0, "allow_fallback": false}),
    )
    .await;
}

fn stream_request(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    let body = if path == "/v1/messages" {
        json!({"model": "openai/gpt-4o", "stream": true, "max_tokens": 100,
               "messages": [{"role": "user", "content": "write a long file"}]})
    } else {
        json!({"model": "openai/gpt-4o", "stream": true,
               "messages": [{"role": "user", "content": "write a long file"}]})
    };
    app.api(Method::POST, path, key).json(&body)
}

/// Reads until the server closes the socket (or `PROMPTLY` passes: then `false`).
async fn closed_by_server(mut socket: TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PROMPTLY, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn slow_headers_are_cut_and_everyone_else_is_served_meanwhile() {
    let Some(app) = spawn_app_with(|s| s.limits.header_read_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let addr = app.base.trim_start_matches("http://").to_owned();
    // 200 slowloris peers: each sends part of a request's headers, then a byte now and then.
    let mut peers = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            .await
            .unwrap();
        peers.push(s);
    }
    for s in &mut peers {
        let _ = s.write_all(b"a").await;
    }
    // Everyone else is served meanwhile.
    let health = reqwest::get(app.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // Each trickling peer is closed by the header timeout, though it kept sending.
    let closed = futures_util::future::join_all(peers.into_iter().map(closed_by_server)).await;
    assert!(closed.iter().all(|c| *c), "every slow peer is closed");
    // An idle keep-alive connection is closed after the same time.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(idle).await,
        "idle keep-alive connection closed"
    );
}

#[tokio::test]
async fn a_stalled_request_body_gets_408() {
    let Some(app) = spawn_app_with(|s| s.limits.body_read_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"model\""
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PROMPTLY, s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"REQUEST_TIMEOUT\""), "{answer}");
}

#[tokio::test]
async fn past_its_concurrency_v1_answers_a_fast_503_and_health_still_answers() {
    let Some(app) = spawn_app_with(|s| s.limits.max_concurrent_requests = 2).await else {
        return;
    };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("slow").await;
    connect(&app, &key, &mock).await;
    // Two long streams take both places.
    mock.pace(200, 100);
    let a = stream_request(&app, &key, "/v1/chat/completions")
        .send()
        .await
        .unwrap();
    let b = stream_request(&app, &key, "/v1/chat/completions")
        .send()
        .await
        .unwrap();
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));

    let refused = stream_request(&app, &key, "/v1/chat/completions")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap(),
        "1"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "OVERLOADED", "{body}");
    // Anthropic clients get their own shape.
    let refused = stream_request(&app, &key, "/v1/messages")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "api_error", "{body}");
    // The console, the management API and /health are not counted.
    let health = reqwest::get(app.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let listed = app
        .api(Method::GET, "/api/connections", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    // A stream's place is freed when it ends (here: the client hangs up).
    drop((a, b));
    mock.recover();
    let admitted = tokio::time::timeout(PROMPTLY, async {
        loop {
            let res = stream_request(&app, &key, "/v1/chat/completions")
                .send()
                .await
                .unwrap();
            if res.status() == StatusCode::OK {
                return res.text().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("admitted again once the streams ended");
    assert!(admitted.ends_with("data: [DONE]\n\n"), "{admitted}");
    // The refusals are in the request log, with their code.
    let rows = app.log_rows(&key, "?limit=50").await;
    let overloaded = rows
        .iter()
        .filter(|r| r["error_code"] == "OVERLOADED" && r["status"] == 503)
        .count();
    assert_eq!(overloaded, 2, "{rows:?}");
}

#[tokio::test]
async fn shutdown_ends_open_streams_in_band_within_the_grace() {
    let Some(mut app) = spawn_app_with(|s| {
        s.limits.shutdown_grace = Duration::from_secs(1);
        s.limits.header_read_timeout = Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    let (user, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("long").await;
    connect(&app, &key, &mock).await;
    // A generation of a minute, and a peer that sent half its headers.
    mock.pace(600, 100);
    let streaming = stream_request(&app, &key, "/v1/chat/completions")
        .send()
        .await
        .unwrap();
    assert_eq!(streaming.status(), StatusCode::OK);
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost")
        .await
        .unwrap();
    let (stopped, text) = tokio::join!(
        tokio::time::timeout(PROMPTLY, app.stop_serving()),
        tokio::time::timeout(PROMPTLY, streaming.text())
    );
    stopped.expect("the server stops though a peer never finished its headers");
    let text = text
        .expect("the stream ends at the grace")
        .unwrap_or_default();
    assert!(text.contains("<0>"), "it had started: {text}");
    assert!(
        text.contains("\"SHUTTING_DOWN\""),
        "it ends with an error event: {text}"
    );
    assert!(!text.contains("<599>"), "it did not run to its end");
    assert!(closed_by_server(half).await);
    // Its row was written before the server returned.
    let rows = server::logs::list(&app.state.db, &user, false, &Default::default())
        .await
        .unwrap()
        .logs;
    assert!(
        rows.iter()
            .any(|r| r.error_code.as_deref() == Some("SHUTTING_DOWN") && r.status == 503),
        "{rows:?}"
    );
}
