//! `/metrics`: hidden without `--metrics-token` (or `--metrics-addr`), refused without
//! the token, and with it Prometheus text that a real parser (`prometheus-parse`) reads,
//! whose counters move as requests are served.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::chat_mock::ChatMock;
use crate::collections::connect;
use crate::common::{spawn_app, spawn_app_with, TestApp};

const TOKEN: &str = "metrics-token-0123456789";

async fn scrape(app: &TestApp) -> prometheus_parse::Scrape {
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample `name` whose labels include every pair of `labels`.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test]
async fn metrics_are_hidden_without_a_token_and_refused_without_it() {
    let Some(app) = spawn_app().await else { return };
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let Some(app) = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into())).await else {
        return;
    };
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-0123456788")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn counters_move_as_requests_are_served() {
    let Some(app) = spawn_app_with(|s| s.metrics_token = Some(TOKEN.into())).await else {
        return;
    };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let up = ChatMock::start("up").await;
    let conn = connect(&app, &key, "openai", &up, json!({})).await;

    let before = scrape(&app).await;
    assert_eq!(value(&before, "langmart_build_info", &[]), Some(1.0));
    assert!(
        value(&before, "langmart_redis_up", &[]).is_none(),
        "no Redis, no Redis gauge"
    );
    for _ in 0..3 {
        let res = app
            .api(Method::POST, "/v1/chat/completions", &key)
            .json(
                &json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "nowhere/none", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Rows reach the metrics as the log writer takes them (within its flush interval).
    let ok = [
        ("endpoint", "chat/completions"),
        ("status", "200"),
        ("provider", "openai"),
        ("resolution", "priority"),
    ];
    let started = Instant::now();
    let after = loop {
        let s = scrape(&app).await;
        let served = value(&s, "langmart_requests_total", &ok).unwrap_or(0.0);
        let missing = value(
            &s,
            "langmart_requests_total",
            &[("endpoint", "chat/completions"), ("status", "404")],
        )
        .unwrap_or(0.0);
        if served >= 3.0 && missing >= 1.0 || started.elapsed() > Duration::from_secs(5) {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(value(&after, "langmart_requests_total", &ok), Some(3.0));
    assert_eq!(
        value(
            &after,
            "langmart_upstream_attempts_total",
            &[("connection", conn.as_str()), ("outcome", "ok")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &after,
            "langmart_request_duration_seconds_count",
            &[("endpoint", "chat/completions")]
        ),
        Some(4.0)
    );
    let prompt = value(
        &after,
        "langmart_tokens_total",
        &[("provider", "openai"), ("kind", "prompt")],
    )
    .unwrap();
    assert!(prompt > 0.0, "tokens counted: {prompt}");
    assert!(value(&after, "langmart_in_flight_requests", &[]).is_some());
    assert!(value(&after, "langmart_db_pool_connections", &[("state", "idle")]).is_some());
    assert_eq!(value(&after, "langmart_log_queue_depth", &[]), Some(0.0));
}
