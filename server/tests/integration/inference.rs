//! The OpenAI-compatible request path against mock upstreams: every model form, priority
//! order, fallback on each retryable failure, retries, budgets, streams, explain, logs.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{error_code, spawn_app, TestApp};

/// Creates a connection to `mock` and tests it (which stores its model list).
async fn connect(app: &TestApp, key: &str, mock: &ChatMock, extra: Value) -> String {
    let mut body = json!({"provider": "openai", "name": mock.name, "api_key": "sk-upstream-0001", "endpoint_url": mock.base});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app
        .api(Method::POST, "/api/connections", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let created: Value = res.json().await.unwrap();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let tested: Value = app
        .api(Method::POST, &format!("/api/connections/{id}/test"), key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tested["success"], true, "{tested}");
    id
}

async fn chat(app: &TestApp, key: &str, model: &str) -> reqwest::Response {
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
}

fn served_by(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-langmart-connection")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn logs(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    app.state.request_log.flush().await;
    let v: Value = app
        .api(Method::GET, &format!("/api/logs{query}"), key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["logs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn chat_completion_passes_through_and_is_explained() {
    let Some(app) = spawn_app().await else { return };
    let mock = ChatMock::start("primary").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let conn = connect(&app, &key, &mock, json!({})).await;

    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                      "temperature": 0.2, "max_tokens": 50, "seed": 7, "stop": ["\n"], "user": "u-1",
                      "response_format": {"type": "json_object"},
                      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(served_by(&res), conn);
    assert_eq!(res.headers()["x-langmart-resolution"], "priority");
    assert_eq!(res.headers()["x-langmart-provider"], "openai");
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["model"], "openai/gpt-4o",
        "the model the caller asked for"
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "hello from primary"
    );
    let sent = mock.last_body();
    assert_eq!(sent["model"], "gpt-4o");
    for field in [
        "temperature",
        "max_tokens",
        "seed",
        "stop",
        "user",
        "response_format",
        "tools",
    ] {
        assert!(
            sent.get(field).is_some(),
            "{field} was not passed through: {sent}"
        );
    }

    let rows = logs(&app, &key, "").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["request_id"], request_id.as_str());
    assert_eq!(row["model"], "openai/gpt-4o");
    assert_eq!(
        (row["resolution"].as_str(), row["connection_id"].as_str()),
        (Some("priority"), Some(conn.as_str()))
    );
    assert_eq!(
        (
            row["status"].as_i64(),
            row["prompt_tokens"].as_i64(),
            row["completion_tokens"].as_i64()
        ),
        (Some(200), Some(11), Some(7))
    );
    assert_eq!(row["attempts"].as_array().unwrap().len(), 1);

    let models: Value = app
        .api(Method::GET, "/v1/models", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"openai/gpt-4o") && ids.contains(&"openai/meta-llama/llama-4-scout"),
        "{ids:?}"
    );

    let explained: Value = app
        .api(
            Method::GET,
            "/api/routing/explain?model=openai/gpt-4o",
            &key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(explained["resolution"], "priority");
    assert_eq!(explained["candidates"][0]["connection_id"], conn.as_str());
    assert_eq!(explained["candidates"][0]["usable"], true);
    assert_eq!(
        mock.calls(),
        2,
        "explain calls nobody (one test + one chat)"
    );
}

#[tokio::test]
async fn every_model_form_and_its_errors() {
    let Some(app) = spawn_app().await else { return };
    let mock = ChatMock::start("m").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (_, eve) = app.user_with_key("eve@example.com", "eve").await;
    connect(&app, &key, &mock, json!({})).await;

    for (model, resolution, upstream) in [
        ("gpt-4o", "direct", "gpt-4o"),
        ("openai/gpt-4o", "priority", "gpt-4o"),
        ("ada/openai/gpt-4o", "handle", "gpt-4o"),
        (
            "openai/meta-llama/llama-4-scout",
            "priority",
            "meta-llama/llama-4-scout",
        ),
        (
            "ada/openai/meta-llama/llama-4-scout",
            "handle",
            "meta-llama/llama-4-scout",
        ),
        (
            "meta-llama/llama-4-scout",
            "direct",
            "meta-llama/llama-4-scout",
        ),
    ] {
        let res = chat(&app, &key, model).await;
        assert_eq!(res.status(), StatusCode::OK, "{model}");
        assert_eq!(
            res.headers()["x-langmart-resolution"],
            resolution,
            "{model}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["model"], model);
        assert_eq!(mock.last_body()["model"], upstream, "{model}");
    }
    let unknown = chat(&app, &key, "openai/gpt-9").await;
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MODEL_NOT_FOUND");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("gpt-9"),
        "{body}"
    );
    let denied = chat(&app, &eve, "ada/openai/gpt-4o").await;
    assert_eq!(
        error_code(denied, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let not_hers = chat(&app, &eve, "gpt-4o").await;
    assert_eq!(
        error_code(not_hers, StatusCode::NOT_FOUND).await,
        "MODEL_NOT_FOUND"
    );
}

#[tokio::test]
async fn bad_requests_never_reach_a_provider() {
    let Some(app) = spawn_app().await else { return };
    let mock = ChatMock::start("m").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    connect(&app, &key, &mock, json!({})).await;
    let before = mock.calls();
    for body in [
        json!({"model": "openai/gpt-4o"}),
        json!({"model": "openai/gpt-4o", "messages": []}),
        json!({"model": 4, "messages": [{"role": "user", "content": "x"}]}),
        json!({"messages": [{"role": "user", "content": "x"}]}),
        json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}),
    ] {
        let res = app
            .api(Method::POST, "/v1/chat/completions", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "INVALID_BODY",
            "{body}"
        );
    }
    let malformed = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(malformed, StatusCode::BAD_REQUEST).await,
        "INVALID_JSON"
    );
    assert_eq!(mock.calls(), before);
}

#[tokio::test]
async fn priority_order_own_first_then_shared_by_score() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    app.api(Method::POST, "/api/organizations", &key)
        .json(&json!({"name": "Acme", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    let (platform_mock, org_mock, own_mock) = (
        ChatMock::start("platform").await,
        ChatMock::start("org").await,
        ChatMock::start("own").await,
    );
    let platform = connect(&app, &admin, &platform_mock, json!({"scope": "platform"})).await;
    let org = connect(
        &app,
        &key,
        &org_mock,
        json!({"scope": "organization", "organization": "acme"}),
    )
    .await;
    assert_eq!(
        served_by(&chat(&app, &key, "openai/gpt-4o").await),
        org,
        "organization before platform"
    );
    let own = connect(&app, &key, &own_mock, json!({})).await;
    assert_eq!(
        served_by(&chat(&app, &key, "openai/gpt-4o").await),
        own,
        "private first"
    );
    app.api(Method::PUT, &format!("/api/connections/{platform}"), &admin)
        .json(&json!({"prefer_score": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        served_by(&chat(&app, &key, "openai/gpt-4o").await),
        own,
        "a shared connection's priority never jumps ahead of your own"
    );
    app.api(Method::PUT, &format!("/api/connections/{own}"), &key)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        served_by(&chat(&app, &key, "openai/gpt-4o").await),
        platform,
        "among shared connections prefer_score overrides scope"
    );
    assert_eq!(
        served_by(&chat(&app, &key, "acme/openai/gpt-4o").await),
        org,
        "a handle names its owner's connections only"
    );
}

#[tokio::test]
async fn falls_back_on_each_retryable_failure_and_marks_the_connection() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let first = ChatMock::start("first").await;
    let second = ChatMock::start("second").await;
    let a = connect(
        &app,
        &key,
        &first,
        json!({"prefer_score": 200, "max_retries": 0, "timeout_ms": 300}),
    )
    .await;
    let b = connect(&app, &key, &second, json!({"prefer_score": 100})).await;

    for (status, marks) in [
        (500, None),
        (503, None),
        (408, None),
        (429, Some("rate_limited")),
        (401, Some("error")),
        (403, Some("error")),
    ] {
        first.fail(status, if status == 429 { Some(30) } else { None });
        let res = chat(&app, &key, "openai/gpt-4o").await;
        assert_eq!(res.status(), StatusCode::OK, "{status}");
        assert_eq!(served_by(&res), b, "{status}: fell back");
        if let Some(expected) = marks {
            let mut seen = String::new();
            for _ in 0..50 {
                let c: Value = app
                    .api(Method::GET, &format!("/api/connections/{a}"), &key)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                seen = c["status"].as_str().unwrap().to_owned();
                if seen == expected {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            assert_eq!(seen, expected, "{status}");
            // Put it back in rotation for the next case.
            app.api(Method::PUT, &format!("/api/connections/{a}"), &key)
                .json(&json!({"status": "active"}))
                .send()
                .await
                .unwrap();
        }
    }
    // Timeout.
    let mut fresh = app
        .api(Method::GET, &format!("/api/connections/{a}"), &key)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(fresh["status"], "active");
    first.hang();
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(served_by(&res), b, "timeout falls back");
    let rows = logs(&app, &key, "").await;
    let attempts = rows[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["outcome"], "timeout");
    assert_eq!(attempts[1]["outcome"], "ok");
    fresh = app
        .api(Method::GET, &format!("/api/connections/{b}"), &key)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(fresh["status"], "active");
    // A 400 is the caller's problem: no fallback.
    let second_calls = second.calls();
    let fresh_first = ChatMock::start("bad-request").await;
    fresh_first.fail(400, None);
    let c = connect(
        &app,
        &key,
        &ChatMock::start("placeholder").await,
        json!({"prefer_score": 900}),
    )
    .await;
    // Another host: the credential has to come along (it stays bound to its endpoint).
    let moved = app
        .api(Method::PUT, &format!("/api/connections/{c}"), &key)
        .json(&json!({"endpoint_url": fresh_first.base}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(moved, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
    app.api(Method::PUT, &format!("/api/connections/{c}"), &key)
        .json(&json!({"endpoint_url": fresh_first.base, "api_key": "sk-upstream-0001"}))
        .send()
        .await
        .unwrap();
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "PROVIDER_OPENAI_400"
    );
    assert_eq!(second.calls(), second_calls);
}

#[tokio::test]
async fn retries_the_same_connection_then_respects_allow_fallback() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let first = ChatMock::start("first").await;
    let second = ChatMock::start("second").await;
    let a = connect(
        &app,
        &key,
        &first,
        json!({"prefer_score": 200, "max_retries": 2}),
    )
    .await;
    let b = connect(&app, &key, &second, json!({})).await;
    first.fail(502, None);
    let before = first.calls();
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(served_by(&res), b);
    assert_eq!(first.calls() - before, 3, "one try and two retries");

    app.api(Method::PUT, &format!("/api/connections/{a}"), &key)
        .json(&json!({"allow_fallback": false, "max_retries": 0}))
        .send()
        .await
        .unwrap();
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(served_by(&res), a);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "PROVIDER_OPENAI_502");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("attempts"),
        "{body}"
    );

    // Every candidate failing: the last error and the list of attempts.
    app.api(Method::PUT, &format!("/api/connections/{a}"), &key)
        .json(&json!({"allow_fallback": true}))
        .send()
        .await
        .unwrap();
    second.fail(500, None);
    let res = chat(&app, &key, "openai/gpt-4o").await;
    let body: Value = res.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&a) && message.contains(&b), "{message}");
}

#[tokio::test]
async fn rpm_budget_moves_to_the_next_connection_then_answers_429() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (m1, m2) = (ChatMock::start("one").await, ChatMock::start("two").await);
    let a = connect(
        &app,
        &key,
        &m1,
        json!({"prefer_score": 200, "rate_limit_rpm": 1}),
    )
    .await;
    let b = connect(&app, &key, &m2, json!({"rate_limit_rpm": 1})).await;
    assert_eq!(served_by(&chat(&app, &key, "openai/gpt-4o").await), a);
    assert_eq!(served_by(&chat(&app, &key, "openai/gpt-4o").await), b);
    let explained: Value = app
        .api(
            Method::GET,
            "/api/routing/explain?model=openai/gpt-4o",
            &key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(explained["candidates"][0]["rpm_remaining"], 0);
    assert_eq!(explained["candidates"][0]["reason"], "over its rpm budget");
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers().clone();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(h["x-ratelimit-limit"], "1");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert!(h.contains_key("x-ratelimit-reset"));
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "RATE_LIMIT_EXCEEDED"
    );
}

#[tokio::test]
async fn streams_pass_through_with_usage_and_fall_back_before_the_first_byte() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (m1, m2) = (ChatMock::start("one").await, ChatMock::start("two").await);
    let a = connect(
        &app,
        &key,
        &m1,
        json!({"prefer_score": 200, "max_retries": 0}),
    )
    .await;
    let b = connect(&app, &key, &m2, json!({})).await;

    let stream = |model: &str| {
        app.api(Method::POST, "/v1/chat/completions", &key)
            .json(&json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let res = stream("openai/gpt-4o").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(served_by(&res), a);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let text = res.text().await.unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.trim_start_matches("data: ")).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "Hello!");
    assert!(chunks.iter().all(|c| c["model"] == "openai/gpt-4o"));
    // The copied `chunk.choices[0].delta.content` loop must work: without
    // `stream_options.include_usage` no chunk lacks choices and none carries usage...
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"].as_array().is_some_and(|a| !a.is_empty())),
        "{chunks:?}"
    );
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    // ...while usage is still asked of the provider, so it is logged (below).
    assert_eq!(m1.last_body()["stream_options"]["include_usage"], true);
    let rows = logs(&app, &key, "").await;
    assert_eq!(
        (
            rows[0]["stream"].as_bool(),
            rows[0]["prompt_tokens"].as_i64(),
            rows[0]["completion_tokens"].as_i64()
        ),
        (Some(true), Some(5), Some(3))
    );
    assert!(rows[0]["ttft_ms"].is_i64());

    // A client that asks for usage gets the final `choices: []` usage chunk, as from OpenAI.
    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "stream": true, "stream_options": {"include_usage": true},
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let last_chunk: Value = text
        .split("\n\n")
        .filter(|e| !e.is_empty() && !e.contains("[DONE]"))
        .last()
        .map(|e| serde_json::from_str(e.trim_start_matches("data: ")).unwrap())
        .unwrap();
    assert_eq!(last_chunk["choices"], json!([]));
    assert_eq!(last_chunk["usage"]["total_tokens"], 8);

    m1.fail(500, None);
    let res = stream("openai/gpt-4o").await.unwrap();
    assert_eq!(
        served_by(&res),
        b,
        "a stream falls back until its first byte"
    );
    assert!(res.text().await.unwrap().ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn a_stream_breaking_midway_is_reported_in_band_and_a_client_leaving_cancels_upstream() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("flaky").await;
    connect(&app, &key, &mock, json!({})).await;
    mock.break_stream();
    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap_or_default();
    assert!(text.contains("STREAM_INTERRUPTED"), "{text}");

    let slow = ChatMock::start("slow").await;
    slow.slow_stream();
    let (_, key2) = app.user_with_key("bob@example.com", "bob").await;
    connect(&app, &key2, &slow, json!({})).await;
    let mut res = app
        .api(Method::POST, "/v1/chat/completions", &key2)
        .json(&json!({"model": "openai/gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let first = res.chunk().await.unwrap();
    assert!(first.is_some());
    drop(res);
    let mut cancelled = false;
    for _ in 0..100 {
        if slow
            .stream_cancelled
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            cancelled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        cancelled,
        "the upstream stream kept running after the client left"
    );
    let rows = logs(&app, &key2, "").await;
    assert_eq!(rows[0]["status"], 499);
}

#[tokio::test]
async fn explain_lists_skipped_connections_with_reasons() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (m1, m2) = (ChatMock::start("one").await, ChatMock::start("two").await);
    let a = connect(&app, &key, &m1, json!({})).await;
    let b = connect(&app, &key, &m2, json!({"prefer_score": 10})).await;
    app.api(Method::PUT, &format!("/api/connections/{a}"), &key)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .unwrap();
    let explained: Value = app
        .api(Method::GET, "/api/routing/explain?model=gpt-4o", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = explained["candidates"].as_array().unwrap();
    assert_eq!(c[0]["connection_id"], a.as_str());
    assert_eq!(c[0]["usable"], false);
    assert!(c[0]["reason"].as_str().unwrap().contains("inactive"));
    assert_eq!(c[1]["connection_id"], b.as_str());
    assert_eq!(c[1]["usable"], true);
    assert_eq!(served_by(&chat(&app, &key, "gpt-4o").await), b);
    app.api(Method::PUT, &format!("/api/connections/{b}"), &key)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .unwrap();
    let res = chat(&app, &key, "gpt-4o").await;
    assert_eq!(
        error_code(res, StatusCode::SERVICE_UNAVAILABLE).await,
        "NO_AVAILABLE_CONNECTION"
    );
}

#[tokio::test]
async fn embeddings_pass_through() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("emb").await;
    let conn = connect(&app, &key, &mock, json!({})).await;
    let res = app
        .api(Method::POST, "/v1/embeddings", &key)
        .json(&json!({"model": "openai/text-embedding-3-small", "input": "hello", "encoding_format": "base64"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(served_by(&res), conn);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["model"], "openai/text-embedding-3-small");
    assert_eq!(mock.last_body()["encoding_format"], "base64");
    assert_eq!(mock.last_body()["model"], "text-embedding-3-small");
}

#[tokio::test]
async fn request_log_batches_of_any_size_are_written_whole() {
    let Some(app) = spawn_app().await else { return };
    let (user, key) = app.user_with_key("batch@example.com", "batcher").await;
    // 37 rows: two sixteen-row statements and five single ones, in one flush.
    for i in 0..37 {
        app.state.request_log.record(server::logs::LogRow {
            id: format!("req-batch-{i:02}"),
            request_id: format!("rid-{i}"),
            created_at: 1_700_000_000_000 + i,
            user_id: user.clone(),
            key_id: "key-batch".into(),
            endpoint: "chat/completions".into(),
            user_agent: Some(format!("batch-client/{i}")),
            requested_model: "openai/batch".into(),
            resolution: "priority".into(),
            collection: None,
            connection_id: Some("conn-batch".into()),
            provider: Some("openai".into()),
            upstream_model: Some("batch".into()),
            status_code: 200,
            error_code: (i % 2 == 0).then(|| "NONE".to_owned()),
            latency_ms: i,
            ttft_ms: None,
            prompt_tokens: Some(i),
            completion_tokens: Some(1),
            cache_read_tokens: (i % 5 == 0).then_some(i),
            cache_write_tokens: None,
            stream: server::db::Flag(i % 3 == 0),
            attempts: "[]".into(),
            cost_usd: None,
            cost_basis: None,
            bodies: None,
        });
    }
    let logs = logs(&app, &key, "?model=openai/batch&limit=500").await;
    assert_eq!(logs.len(), 37);
    assert_eq!(logs[0]["id"], "req-batch-36");
    assert_eq!(logs[36]["prompt_tokens"], 0);
    assert_eq!(logs[1]["user_agent"], "batch-client/35");
    assert_eq!(logs[1]["cache_read_tokens"], 35);
    assert_eq!(logs[0]["path"], "/v1/chat/completions");
    assert_eq!(logs.iter().filter(|l| l["stream"] == true).count(), 13);
    assert_eq!(
        logs.iter().filter(|l| l["error_code"] == "NONE").count(),
        19
    );
}

#[tokio::test]
async fn an_answer_that_is_not_json_falls_back_and_is_named() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app
        .user_with_key("garbage@example.com", "garbage-user")
        .await;
    let broken = ChatMock::start("broken").await;
    let good = ChatMock::start("good").await;
    let broken_id = connect(
        &app,
        &key,
        &broken,
        json!({"prefer_score": 300, "max_retries": 0}),
    )
    .await;
    let good_id = connect(&app, &key, &good, json!({})).await;
    broken.garbage();
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(served_by(&res), good_id);
    let log = &logs(&app, &key, "?model=openai/gpt-4o").await[0];
    assert_eq!(log["attempts"][0]["connection_id"], broken_id.as_str());
    assert_eq!(log["attempts"][0]["outcome"], "bad_response");
    assert_eq!(log["attempts"][1]["outcome"], "ok");

    good.garbage();
    let res = chat(&app, &key, "openai/gpt-4o").await;
    assert_eq!(
        error_code(res, StatusCode::BAD_GATEWAY).await,
        "PROVIDER_OPENAI_BAD_RESPONSE"
    );
}
