//! Bounded memory and no lost rows: a provider's answer is read only up to its cap, a call
//! its client abandons still leaves a row, and retention prunes old rows into daily totals.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, spawn_app_with, TestApp};

async fn connect(app: &TestApp, key: &str, provider: &str, mock: &ChatMock, fallback: bool) {
    app.connection(
        key,
        json!({"provider": provider, "name": mock.name, "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0, "allow_fallback": fallback}),
    )
    .await;
}

async fn chat(app: &TestApp, key: &str, stream: bool) -> (StatusCode, String) {
    let res = app
        .api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": "openai/gpt-4o", "stream": stream,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn rows(app: &TestApp, key: &str) -> Vec<Value> {
    app.log_rows(key, "?limit=100").await
}

#[tokio::test]
async fn a_provider_answer_is_read_only_up_to_its_cap() {
    let Some(app) = spawn_app_with(|s| {
        s.max_upstream_body_bytes = 64 * 1024;
        s.max_upstream_event_bytes = 16 * 1024;
    })
    .await
    else {
        return;
    };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("bloated").await;
    connect(&app, &key, "openai", &mock, false).await;

    // Under the caps: served as usual.
    mock.bloat(8 * 1024);
    assert_eq!(chat(&app, &key, false).await.0, StatusCode::OK);
    assert_eq!(chat(&app, &key, true).await.0, StatusCode::OK);

    // A whole answer over its cap: 502 with a code, not read to its end.
    mock.bloat(1024 * 1024);
    let (status, body) = chat(&app, &key, false).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "PROVIDER_OPENAI_TOO_LARGE", "{body}");

    // A stream with one event over its cap: the stream ends in band with the code.
    mock.bloat(64 * 1024);
    let (status, text) = chat(&app, &key, true).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("\"PROVIDER_OPENAI_STREAM_INTERRUPTED\""),
        "{text}"
    );
    assert!(text.contains("larger than the 16384-byte limit"), "{text}");
    assert!(
        !text.contains("xxxxxxxxxxxxxxxx"),
        "the event was not relayed"
    );

    let rows = rows(&app, &key).await;
    assert!(
        rows.iter()
            .any(|r| r["error_code"] == "PROVIDER_OPENAI_TOO_LARGE" && r["status"] == 502),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_whole_answer_the_client_abandons_still_leaves_a_499_row() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("slow").await;
    connect(&app, &key, "openai", &mock, false).await;
    mock.delay(3_000);
    let gave_up = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .timeout(Duration::from_millis(300))
        .json(&json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await;
    assert!(gave_up.unwrap_err().is_timeout());
    // The server notices the closed connection, drops the call and writes its row.
    let row = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(r) = rows(&app, &key)
                .await
                .into_iter()
                .find(|r| r["status"] == 499)
            {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a 499 row");
    assert_eq!(row["error_code"], "CLIENT_CLOSED_REQUEST", "{row}");
    assert_eq!(
        row["provider"], "openai",
        "the connection being tried: {row}"
    );
    assert_eq!(row["model"], "openai/gpt-4o", "{row}");
    assert_eq!(rows(&app, &key).await.len(), 1, "one row, not two");
}

#[tokio::test]
async fn retention_prunes_old_rows_into_daily_totals() {
    let Some(app) = spawn_app().await else { return };
    let (user, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("up").await;
    connect(&app, &key, "openai", &mock, false).await;
    for _ in 0..2 {
        assert_eq!(chat(&app, &key, false).await.0, StatusCode::OK);
    }
    mock.fail(500, None);
    assert_eq!(chat(&app, &key, false).await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(rows(&app, &key).await.len(), 3);

    // A cutoff before them keeps them all; one after them prunes them all.
    let db = &app.state.db;
    let now = server::clock::now_ms();
    assert_eq!(
        server::logs::retention::prune(db, now - 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        server::logs::retention::prune(db, now + 1_000)
            .await
            .unwrap(),
        3
    );
    assert!(rows(&app, &key).await.is_empty());
    let totals: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, model, requests, errors, prompt_tokens, completion_tokens \
         FROM request_log_daily WHERE user_id = $1",
    )
    .bind(&user)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        totals,
        vec![(now / 86_400_000, "openai/gpt-4o".to_owned(), 3, 1, 22, 14)]
    );
    // The cost stays too: in the daily totals, per key for budgets, and in /api/usage.
    let cost = 2.0 * (11.0 * 2.5 + 7.0 * 10.0) / 1e6;
    let (daily, per_key): (f64, f64) = sqlx::query_as(
        "SELECT (SELECT SUM(cost_usd) FROM request_log_daily WHERE user_id = $1), \
                (SELECT SUM(cost_usd) FROM key_spend_daily)",
    )
    .bind(&user)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        (daily - cost).abs() < 1e-12 && (per_key - cost).abs() < 1e-12,
        "{daily} {per_key}"
    );
    let usage: serde_json::Value = app.get_json("/api/usage?group_by=model", &key).await;
    assert_eq!(usage["rows"][0]["requests"], 3, "{usage}");
    assert!(
        (usage["total"]["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-12,
        "{usage}"
    );
}
