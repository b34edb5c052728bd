//! A connection's timeout bounds how long an answer takes to *start* and, for a stream,
//! how long it may pause; a long generation that keeps sending is never cut.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, TestApp};

async fn connect(app: &TestApp, key: &str, mock: &ChatMock, timeout_ms: u64) {
    let body = json!({"provider": "openai", "name": mock.name, "api_key": "sk-upstream-0001",
                      "endpoint_url": mock.base, "timeout_ms": timeout_ms, "max_retries": 0,
                      "allow_fallback": false});
    let res = app
        .api(Method::POST, "/api/connections", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
}

async fn stream(app: &TestApp, key: &str) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let res = app
        .api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": "openai/gpt-4o", "stream": true, "messages": [{"role": "user", "content": "write a long file"}]}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (status, text, started.elapsed())
}

#[tokio::test]
async fn a_stream_longer_than_the_timeout_arrives_whole() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("long").await;
    connect(&app, &key, &mock, 500).await;
    // 16 chunks a quarter second apart: about 4 s, eight times the 500 ms timeout.
    mock.pace(16, 250);
    let (status, text, took) = stream(&app, &key).await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..16 {
        assert!(
            text.contains(&format!("<{i}>")),
            "chunk {i} missing after {took:?}: {text}"
        );
    }
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(took >= Duration::from_millis(3_500), "{took:?}");
    // A whole answer still has to arrive within the timeout.
    mock.delay(1_500);
    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn a_stream_that_goes_silent_longer_than_the_timeout_ends_with_an_error_event() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("stalls").await;
    connect(&app, &key, &mock, 500).await;
    mock.pace(6, 100);
    mock.stall(3, 5_000);
    let (status, text, took) = stream(&app, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("<0>") && text.contains("<1>"), "{text}");
    assert!(!text.contains("<5>"), "{text}");
    assert!(text.contains("STREAM_INTERRUPTED"), "{text}");
    assert!(
        took < Duration::from_millis(4_000),
        "the silence was waited out: {took:?}"
    );
    // The row is written when the server's side of the stream ends, just after the
    // client read its last byte.
    let mut logs = Value::Null;
    for _ in 0..50 {
        app.state.request_log.flush().await;
        logs = app
            .api(Method::GET, "/api/logs", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if logs["logs"].as_array().is_some_and(|l| !l.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = &logs["logs"][0];
    assert!(row.to_string().contains("STREAM_INTERRUPTED"), "{row}");
}

#[tokio::test]
async fn pause_and_duration_limits_are_set_per_connection() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("tuned").await;
    // A generous start (5 s), but pauses of at most 300 ms.
    let res = app
        .api(Method::POST, "/api/connections", &key)
        .json(
            &json!({"provider": "openai", "name": "tuned", "api_key": "sk-upstream-0001",
                      "endpoint_url": mock.base, "timeout_ms": 5_000, "idle_timeout_ms": 300,
                      "connect_timeout_ms": 2_000, "max_retries": 0}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &created["timeout_ms"],
            &created["connect_timeout_ms"],
            &created["idle_timeout_ms"],
            &created["max_duration_ms"]
        ),
        (&json!(5_000), &json!(2_000), &json!(300), &Value::Null)
    );
    // A pause of 1 s is longer than the idle limit, though shorter than the timeout.
    mock.pace(6, 100);
    mock.stall(3, 1_000);
    let (status, text, _) = stream(&app, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("STREAM_INTERRUPTED"), "{text}");
    assert!(text.contains("nothing for 300 ms"), "{text}");

    // No pause limit beyond the timeout, but at most 1.5 s in all: a 3 s stream ends there.
    let res = app
        .api(Method::PUT, &format!("/api/connections/{id}"), &key)
        .json(&json!({"idle_timeout_ms": null, "max_duration_ms": 1_500}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    mock.recover();
    mock.pace(30, 100);
    let (status, text, took) = stream(&app, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("<5>") && !text.contains("<29>"), "{text}");
    assert!(text.contains("max_duration_ms"), "{text}");
    assert!(took < Duration::from_millis(2_900), "{took:?}");

    // Out of bounds: a 400 naming the field.
    for (field, value) in [
        ("connect_timeout_ms", 50),
        ("idle_timeout_ms", 700_000),
        ("max_duration_ms", 10),
    ] {
        let res = app
            .api(Method::PUT, &format!("/api/connections/{id}"), &key)
            .json(&json!({ field: value }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "INVALID_FIELD", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}"
        );
    }
}
