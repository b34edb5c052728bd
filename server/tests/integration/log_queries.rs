//! Reading the request log: substring and time filters, cursor paging that holds while new
//! rows arrive, connection names, and CSV / JSON Lines exports of a filtered range.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{error_code, spawn_app};

#[tokio::test]
async fn logs_page_by_cursor_filter_by_substring_and_time_and_export() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("logs").await;
    let conn = app
        .connection(
            &key,
            json!({"provider": "openai", "name": "Log Mock", "api_key": "sk-upstream-0001",
                   "endpoint_url": mock.base, "max_retries": 0}),
        )
        .await;
    let chat = |model: &'static str| {
        let (app, key) = (&app, key.clone());
        async move {
            app.api(Method::POST, "/v1/chat/completions", &key)
                .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..5 {
        assert_eq!(chat("openai/gpt-4o").await, StatusCode::OK);
    }
    for _ in 0..2 {
        assert_eq!(
            chat("openai/meta-llama/llama-4-scout").await,
            StatusCode::OK
        );
    }
    app.state.request_log.flush().await;

    // Pages of 3 by cursor; a row logged between pages does not shift them.
    let page = |query: String| {
        let (app, key) = (&app, key.clone());
        async move { app.get_json(&format!("/api/logs?{query}"), &key).await }
    };
    let first = page("limit=3".into()).await;
    let ids = |p: &Value| -> Vec<String> {
        p["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first).len(), 3);
    assert_eq!(first["logs"][0]["connection_id"], conn.as_str());
    assert_eq!(first["logs"][0]["connection_name"], "Log Mock");
    assert_eq!(chat("openai/gpt-4o").await, StatusCode::OK);
    app.state.request_log.flush().await;
    let mut seen = ids(&first);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let next = page(format!("limit=3&before={cursor}")).await;
        seen.extend(ids(&next));
        match next["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        7,
        "the 7 rows there when paging began, each once"
    );
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 7);

    // Substring, any case; a time range.
    let mini = page("model_contains=LLAMA-4".into()).await;
    assert_eq!(ids(&mini).len(), 2);
    let future = page("from=2999-01-01".into()).await;
    assert_eq!(ids(&future).len(), 0);
    let everything = page("from=2000-01-01&to=2999-01-01&limit=100".into()).await;
    assert_eq!(ids(&everything).len(), 8);
    assert!(everything["next_cursor"].is_null());

    // Bad cursors and times are the caller's error, with the field named.
    for bad in ["before=nonsense", "from=yesterday"] {
        let res = app
            .api(Method::GET, &format!("/api/logs?{bad}"), &key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "INVALID_FIELD"
        );
    }

    // Exports of the filtered range.
    let csv = app
        .api(Method::GET, "/api/logs.csv?model_contains=llama", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .ends_with(".csv\""));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("time,request_id,endpoint,model,"));
    assert!(
        lines[1].contains(",openai/meta-llama/llama-4-scout,") && lines[1].contains(",Log Mock,")
    );
    let jsonl = app
        .api(Method::GET, "/api/logs.jsonl", &key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0]["connection_name"], "Log Mock");
}

#[tokio::test]
async fn the_console_export_needs_a_session_and_holds_only_the_callers_rows() {
    let Some(app) = spawn_app().await else { return };
    let anonymous = app
        .browser
        .get(app.url("/console/logs.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.signup("ada@example.com", "ada").await;
    let csv = app
        .browser
        .get(app.url("/console/logs.csv?since_hours=24"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 1, "only the header: {text}");
}

#[tokio::test]
async fn a_session_ended_by_a_password_change_cannot_export() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    // A second browser signed in as ada (a stolen cookie, say).
    let other = crate::common::browser();
    let login = other
        .post(app.url("/api/fn/login"))
        .header("accept", "application/json")
        .header("origin", &app.base)
        .form(&[
            ("email", "ada@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let before = other
        .get(app.url("/console/logs.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), StatusCode::OK);

    let changed = app
        .call_fn(
            "change_password",
            &[
                ("current_password", "correct horse battery"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let after = other
        .get(app.url("/console/logs.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}
