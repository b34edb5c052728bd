//! What a key may call and how fast (`models`, `rate_limit_rpm`, `rate_limit_tpm`), and
//! the cost every request-log row carries. Run on SQLite and on PostgreSQL.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, TestApp};

async fn chat(app: &TestApp, key: &str, model: &str) -> reqwest::Response {
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
}

async fn model_ids(app: &TestApp, key: &str) -> Vec<String> {
    let body: Value = app.get_json("/v1/models", key).await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_key_calls_only_the_models_it_is_allowed() {
    let Some(app) = spawn_app().await else { return };
    let (_, manager) = app.user_with_key("allow@example.com", "allow").await;
    let up = ChatMock::start("up").await;
    for provider in ["openai", "groq"] {
        app.connection(&manager, json!({"provider": provider, "name": provider, "api_key": "sk-up-0001", "endpoint_url": up.base}))
            .await;
    }
    let (key, id) = app
        .key_with(&manager, json!({"models": ["openai/*"]}))
        .await;

    assert_eq!(
        chat(&app, &key, "openai/gpt-4o").await.status(),
        StatusCode::OK
    );
    let refused = chat(&app, &key, "groq/gpt-4o").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MODEL_NOT_ALLOWED", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("openai/*"),
        "{body}"
    );
    // The same refusal in Anthropic's shape on /v1/messages.
    let res = app
        .api(Method::POST, "/v1/messages", &key)
        .json(&json!({"model": "groq/gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "permission_error", "{body}");
    // Nor through token counting.
    let res = app
        .api(Method::POST, "/v1/messages/count_tokens", &key)
        .json(&json!({"model": "groq/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // An alias is held to where it leads, not to its name: one named like an allowed
    // model but aimed elsewhere (here made with the limited key itself) is refused.
    let res = app
        .api(Method::POST, "/api/aliases", &key)
        .json(&json!({"name": "openai/sneaky", "target": "groq/gpt-4o"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = chat(&app, &key, "openai/sneaky").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let ids = model_ids(&app, &key).await;
    assert!(
        !ids.is_empty() && ids.iter().all(|m| m.starts_with("openai/")),
        "{ids:?}"
    );
    assert!(model_ids(&app, &manager)
        .await
        .iter()
        .any(|m| m.starts_with("groq/")));

    // A key made with this one cannot reach wider; without a list it inherits this one.
    let res = app
        .api(Method::POST, "/api/keys", &key)
        .json(&json!({"name": "wider", "models": ["groq/*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "KEY_EXCEEDS_PARENT", "{body}");
    let (child, _) = app.key_with(&key, json!({})).await;
    assert_eq!(
        chat(&app, &child, "groq/gpt-4o").await.status(),
        StatusCode::FORBIDDEN
    );
    let (narrower, _) = app
        .key_with(&key, json!({"models": ["openai/gpt-4o"]}))
        .await;
    assert_eq!(
        chat(&app, &narrower, "openai/gpt-4o").await.status(),
        StatusCode::OK
    );

    // PUT widens it (the manager key has no list), and the change applies at once.
    let res = app
        .api(Method::PUT, &format!("/api/keys/{id}"), &manager)
        .json(&json!({"models": null, "rate_limit_rpm": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["models"], Value::Null, "{updated}");
    assert_eq!(updated["rate_limit_rpm"], 100, "{updated}");
    assert_eq!(
        chat(&app, &key, "groq/gpt-4o").await.status(),
        StatusCode::OK
    );
    // A key cannot widen itself.
    let res = app
        .api(Method::PUT, &format!("/api/keys/{id}"), &key)
        .json(&json!({"rate_limit_rpm": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Bad policies are 400s naming the field.
    for (body, field) in [
        (json!({"name": "x", "models": [""]}), "models"),
        (json!({"name": "x", "rate_limit_rpm": 0}), "rate_limit_rpm"),
        (json!({"name": "x", "rate_limit_tpm": -5}), "rate_limit_tpm"),
    ] {
        let res = app
            .api(Method::POST, "/api/keys", &manager)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "INVALID_FIELD", "{err}");
        assert!(
            err["error"]["message"].as_str().unwrap().starts_with(field),
            "{err}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_key_over_its_own_rate_gets_429_with_its_headers() {
    let Some(app) = spawn_app().await else { return };
    let (_, manager) = app.user_with_key("rpm@example.com", "rpm").await;
    let up = ChatMock::start("up").await;
    app.connection(&manager, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": up.base}))
        .await;
    let (key, _) = app.key_with(&manager, json!({"rate_limit_rpm": 5})).await;
    for i in 0..5 {
        assert_eq!(
            chat(&app, &key, "openai/gpt-4o").await.status(),
            StatusCode::OK,
            "{i}"
        );
    }
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers().clone();
    let secs: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert_eq!(h["x-ratelimit-limit"], "5");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "KEY_RATE_LIMIT_EXCEEDED", "{body}");
    let row = app.log_rows(&key, "").await.remove(0);
    assert_eq!(row["error_code"], "KEY_RATE_LIMIT_EXCEEDED", "{row}");
    assert_eq!(
        row["attempts"],
        json!([]),
        "never sent to a provider: {row}"
    );
    // Another key of the same user is not held back.
    assert_eq!(
        chat(&app, &manager, "openai/gpt-4o").await.status(),
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn every_row_carries_its_cost() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("cost@example.com", "cost").await;
    let up = ChatMock::start("up").await;
    app.connection(&key, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": up.base}))
        .await;

    // A whole answer at the seeded price of gpt-4o ($2.50 in, $10 out per million):
    // the mock reports 11 prompt and 7 completion tokens.
    assert_eq!(
        chat(&app, &key, "openai/gpt-4o").await.status(),
        StatusCode::OK
    );
    let row = app.log_rows(&key, "").await.remove(0);
    let expected = (11.0 * 2.5 + 7.0 * 10.0) / 1e6;
    assert!(
        (row["cost_usd"].as_f64().unwrap() - expected).abs() < 1e-12,
        "{row}"
    );
    assert_eq!(row["cost_basis"], "reported", "{row}");

    // A model without a price: the cost is unknown, and says so.
    assert_eq!(
        chat(&app, &key, "openai/meta-llama/llama-4-scout")
            .await
            .status(),
        StatusCode::OK
    );
    let row = app.log_rows(&key, "").await.remove(0);
    assert_eq!(row["cost_usd"], Value::Null, "{row}");
    assert_eq!(row["cost_basis"], "unpriced", "{row}");

    // A stream the client cancels is charged for what it was sent.
    up.pace(200, 20);
    let mut res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "stream": true, "messages": [{"role": "user", "content": "count"}]}))
        .send()
        .await
        .unwrap();
    let mut seen = 0;
    while seen < 10 {
        let chunk = res.chunk().await.unwrap().unwrap();
        seen += String::from_utf8_lossy(&chunk).matches("data: ").count();
    }
    drop(res);
    let mut row = Value::Null;
    for _ in 0..50 {
        row = app.log_rows(&key, "").await.remove(0);
        if row["stream"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(row["status"], 499, "{row}");
    assert_eq!(row["cost_basis"], "estimated", "{row}");
    let completion = row["completion_tokens"].as_i64().unwrap();
    // Chunks "<0>" … "<9>" and on: three or four characters each, about a token.
    assert!((2..=60).contains(&completion), "{row}");
    assert!(row["cost_usd"].as_f64().unwrap() > 0.0, "{row}");
    app.stop().await;
}

/// `GET /api/usage` adds up requests, tokens and cost by model, key and day, over the
/// caller's own requests only.
#[tokio::test]
async fn usage_is_grouped_by_model_key_and_day() {
    let Some(app) = spawn_app().await else { return };
    let (_, first) = app.user_with_key("usage@example.com", "usage").await;
    let (_, other) = app.user_with_key("other@example.com", "other").await;
    let up = ChatMock::start("up").await;
    for key in [&first, &other] {
        app.connection(key, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": up.base}))
            .await;
    }
    let (second, second_id) = app.key_with(&first, json!({})).await;
    for (key, model) in [
        (&first, "openai/gpt-4o"),
        (&first, "openai/gpt-4o"),
        (&second, "openai/meta-llama/llama-4-scout"),
        (&other, "openai/gpt-4o"),
    ] {
        assert_eq!(chat(&app, key, model).await.status(), StatusCode::OK);
    }
    app.state.request_log.flush().await;
    let usage = |query: &'static str, key: String| {
        let app = &app;
        async move {
            let res = app
                .api(Method::GET, &format!("/api/usage{query}"), &key)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{query}");
            res.json::<Value>().await.unwrap()
        }
    };
    // The second account is not an admin: it sees only its own request.
    let mine = usage("?group_by=model", other.clone()).await;
    assert_eq!(mine["total"]["requests"], 1, "{mine}");

    let by_model = usage("?group_by=model", second.clone()).await;
    // The first account is the platform admin: it sees everyone's.
    let rows = by_model["rows"].as_array().unwrap();
    let gpt = rows.iter().find(|r| r["group"] == "openai/gpt-4o").unwrap();
    assert_eq!(gpt["requests"], 3, "{by_model}");
    assert_eq!(gpt["prompt_tokens"], 33);
    let expected = 3.0 * (11.0 * 2.5 + 7.0 * 10.0) / 1e6;
    assert!(
        (gpt["cost_usd"].as_f64().unwrap() - expected).abs() < 1e-12,
        "{gpt}"
    );
    let llama = rows
        .iter()
        .find(|r| r["group"] == "openai/meta-llama/llama-4-scout")
        .unwrap();
    assert_eq!(llama["unpriced_requests"], 1, "{llama}");
    assert_eq!(by_model["total"]["requests"], 4);

    let by_key = usage("?group_by=key", first.clone()).await;
    let row = by_key["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == second_id.as_str())
        .unwrap();
    assert_eq!(row["requests"], 1, "{by_key}");

    let by_day = usage("?group_by=day&from=2020-01-01", first.clone()).await;
    let today = &server::clock::rfc3339(server::clock::now_ms())[..10];
    assert_eq!(by_day["rows"][0]["group"], today, "{by_day}");
    let none = usage("?from=2020-01-01&to=2020-01-02", first.clone()).await;
    assert_eq!(none["rows"], json!([]), "{none}");

    for bad in [
        "?group_by=planet",
        "?from=yesterday",
        "?from=2030-01-01&to=2020-01-01",
    ] {
        let res = app
            .api(Method::GET, &format!("/api/usage{bad}"), &first)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    app.stop().await;
}
