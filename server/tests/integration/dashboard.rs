//! The console dashboard's figures (`GET /api/dashboard`, the same service the page calls):
//! totals, the time series and the breakdowns hold exactly the traffic made here.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{error_code, spawn_app};

#[tokio::test]
async fn the_dashboard_counts_the_callers_requests_errors_latency_and_names() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let mock = ChatMock::start("dash").await;
    app.connection(
        &key,
        json!({"provider": "openai", "name": "Dash OpenAI", "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0}),
    )
    .await;
    let chat = |key: String| {
        let app = &app;
        async move {
            app.api(Method::POST, "/v1/chat/completions", &key)
                .json(&json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..4 {
        assert_eq!(chat(key.clone()).await, StatusCode::OK);
    }
    mock.fail(500, None);
    assert!(chat(key.clone()).await.is_server_error());
    // Someone else's traffic is not in this user's dashboard.
    assert!(chat(bob.clone()).await.is_client_error());
    app.state.request_log.flush().await;

    let d = app.get_json("/api/dashboard?period=hour", &key).await;
    assert_eq!(d["period"], "hour");
    assert_eq!(d["requests"], 5, "{d}");
    assert_eq!(d["errors"], 1, "{d}");
    assert!(d["prompt_tokens"].as_i64().unwrap() > 0, "{d}");
    assert!(d["p50_ms"].as_f64().is_some(), "{d}");
    let points = d["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    let sum = |f: &str| points.iter().map(|p| p[f].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("requests"), 5);
    assert_eq!(sum("errors"), 1);
    let last = points.last().unwrap();
    assert_eq!(last["requests"], 5, "this minute's bucket holds them: {d}");
    assert!(last["p95_ms"].as_f64().unwrap() >= last["p50_ms"].as_f64().unwrap());
    let top = |table: &str| d[table][0].clone();
    assert_eq!(top("by_connection")["name"], "Dash OpenAI");
    assert_eq!(top("by_connection")["requests"], 5);
    assert_eq!(top("by_model")["name"], "openai/gpt-4o");
    assert_eq!(top("by_key")["requests"], 5);
    assert_ne!(top("by_key")["name"], Value::Null);

    // The connection's own last day, and the warning a 1-in-5 failure rate earns it.
    let list = app.get_json("/api/connections", &key).await;
    let conn = &list["connections"][0];
    assert_eq!(conn["last_day"]["requests"], 5, "{conn}");
    assert_eq!(conn["last_day"]["errors"], 1, "{conn}");
    assert!(conn["last_day"]["p50_ms"].as_f64().is_some(), "{conn}");
    assert_eq!(
        conn["warning"], "1 of 5 requests failed in the last 24 h",
        "{conn}"
    );

    for period in ["day", "week", "month"] {
        let d = app
            .get_json(&format!("/api/dashboard?period={period}"), &key)
            .await;
        assert_eq!(d["requests"], 5, "{period}: {d}");
    }
    let res = app
        .api(Method::GET, "/api/dashboard?period=year", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
}

/// The week and the month are read from the hourly rollup the log writer keeps: they show
/// what the log itself holds (totals, percentiles, breakdowns), and a rebuild from the log
/// (`langmart rebuild-rollups`) counts the same.
#[tokio::test]
async fn the_hourly_rollup_agrees_with_the_log_and_with_its_rebuild() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("rollup").await;
    app.connection(
        &key,
        json!({"provider": "openai", "name": "Rollup OpenAI", "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0}),
    )
    .await;
    for i in 0..7 {
        let model = if i % 2 == 0 {
            "openai/gpt-4o"
        } else {
            "openai/gpt-4o-mini"
        };
        let stream = i % 3 == 0;
        app.api(Method::POST, "/v1/chat/completions", &key)
            .json(&json!({"model": model, "stream": stream,
                          "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    mock.fail(500, None);
    app.api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    app.state.request_log.flush().await;

    let day = app.get_json("/api/dashboard?period=day", &key).await;
    assert_eq!(day["requests"], 8, "{day}");
    let same = |d: &Value, label: &str| {
        for field in [
            "requests",
            "errors",
            "prompt_tokens",
            "completion_tokens",
            "p50_ms",
            "p95_ms",
        ] {
            assert_eq!(d[field], day[field], "{label}: {field} {d}");
        }
        for table in ["by_connection", "by_model", "by_key", "by_collection"] {
            assert_eq!(d[table], day[table], "{label}: {table}");
        }
        let points = d["points"].as_array().unwrap();
        let ttft: Vec<&Value> = points
            .iter()
            .filter(|p| !p["ttft_p50_ms"].is_null())
            .collect();
        assert!(!ttft.is_empty(), "{label}: the streams' first tokens: {d}");
    };
    for period in ["week", "month"] {
        let d = app
            .get_json(&format!("/api/dashboard?period={period}"), &key)
            .await;
        same(&d, period);
    }
    let counted = server::logs::hourly::rebuild(&app.state.db).await.unwrap();
    assert_eq!(counted, 8);
    let d = app.get_json("/api/dashboard?period=month", &key).await;
    same(&d, "rebuilt");
}

/// An organization's admins see the traffic its connections served, their members' too;
/// a member who is not an admin cannot ask for it.
#[tokio::test]
async fn an_organizations_admin_sees_the_traffic_of_its_connections() {
    let Some(app) = spawn_app().await else { return };
    let (_, carl) = app.user_with_key("carl@example.com", "carl").await;
    let (_, mia) = app.user_with_key("mia@example.com", "mia").await;
    let res = app
        .api(Method::POST, "/api/organizations", &carl)
        .json(&json!({"name": "Acme", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.join_org(&carl, "acme", &mia, "mia@example.com", "member")
        .await;
    let mock = ChatMock::start("org").await;
    app.connection(
        &carl,
        json!({"provider": "openai", "name": "Acme OpenAI", "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0,
               "scope": "organization", "organization": "acme"}),
    )
    .await;
    for key in [&carl, &mia, &mia] {
        let res = app
            .api(Method::POST, "/v1/chat/completions", key)
            .json(
                &json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    app.state.request_log.flush().await;

    for period in ["hour", "month"] {
        let d = app
            .get_json(&format!("/api/dashboard?period={period}&org=acme"), &carl)
            .await;
        assert_eq!(d["organization"], "acme");
        assert_eq!(d["requests"], 3, "{period}: {d}");
        assert_eq!(d["by_connection"][0]["name"], "Acme OpenAI");
        let keys: Vec<&str> = d["by_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys[0].starts_with("@mia / "), "{keys:?}");
        assert!(keys[1].starts_with("@carl / "), "{keys:?}");
    }
    // Carl's own dashboard holds only his request.
    let own = app.get_json("/api/dashboard?period=hour", &carl).await;
    assert_eq!(own["requests"], 1, "{own}");
    // A member is not the organization's admin.
    let res = app
        .api(Method::GET, "/api/dashboard?period=hour&org=acme", &mia)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}
