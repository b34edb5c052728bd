//! Secret canaries: distinctive provider keys, an API key and passwords are driven through
//! the error paths (failing tests against an upstream that echoes the key it was sent,
//! re-keying, refused values, gateway errors whole and streamed, bad bodies, wrong
//! passwords, bogus and revoked keys), then searched for in the database files, the
//! debug-level log, every answer and every console page. None may appear anywhere.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use axum::{http::HeaderMap, response::IntoResponse, Json, Router};
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{captured_logs, spawn_app, TestApp};

const PASSWORD: &str = "Canary-Pa55word-q8w7e6r5";
const WRONG_PASSWORD: &str = "Canary-Wr0ng-pass-z1x2c3";
const PROVIDER_KEY: &str = "sk-CANARY-prov-3c1b9e7d5a2f4680";
const ROTATED_KEY: &str = "sk-CANARY-rekey-9a8b7c6d5e4f3021";
const BOGUS_API_KEY: &str = "sk-langmart-CANARYbogus000111222333444";
const CONTROL_KEY: &str = "sk-CANARY-ctl-7766\r\nX-Injected: 1";

/// An upstream that answers every request 401 and quotes the key it received, as a
/// careless (or hostile) provider might.
async fn echoing_upstream() -> String {
    async fn echo(headers: HeaderMap) -> axum::response::Response {
        let sent = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": format!("Incorrect API key provided: {sent}"), "type": "invalid_request_error"}})),
        )
            .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(echo))
            .await
            .unwrap();
    });
    base
}

/// Every answer's text, kept for the final search.
struct Seen(Vec<String>);

impl Seen {
    async fn keep(&mut self, res: reqwest::Response) -> (StatusCode, String) {
        let status = res.status();
        let headers = format!("{:?}", res.headers());
        let body = res.text().await.unwrap();
        self.0.push(format!("{headers}\n{body}"));
        (status, body)
    }
}

async fn fn_call(app: &TestApp, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.call_fn(name, form).await
}

#[tokio::test]
async fn no_secret_appears_in_the_database_logs_answers_or_pages() {
    let Some(app) = spawn_app().await else { return };
    let upstream = echoing_upstream().await;
    let mut seen = Seen(Vec::new());
    // The first account (platform admin) exists; ada signs up with the canary password.
    app.user_with_key("root@example.com", "root").await;
    let (status, body) = seen
        .keep(
            fn_call(
                &app,
                "signup",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("handle", "ada"),
                ],
            )
            .await,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The key's one showing, at creation, is the only answer allowed to hold it.
    let created = fn_call(
        &app,
        "create_api_key",
        &[("name", "canary"), ("inference", "on"), ("manage", "on")],
    )
    .await
    .text()
    .await
    .unwrap();
    let api_key = serde_json::from_str::<Value>(&created).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Password error paths.
    for form in [
        vec![("email", "ada@example.com"), ("password", WRONG_PASSWORD)],
        vec![("email", "nobody@example.com"), ("password", PASSWORD)],
    ] {
        let (status, _) = seen.keep(fn_call(&app, "login", &form).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = seen
        .keep(
            fn_call(
                &app,
                "signup",
                &[
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                    ("handle", "ada2"),
                ],
            )
            .await,
        )
        .await;
    assert!(status.is_client_error());
    let (status, _) = seen
        .keep(
            fn_call(
                &app,
                "change_password",
                &[
                    ("current_password", WRONG_PASSWORD),
                    ("new_password", PASSWORD),
                ],
            )
            .await,
        )
        .await;
    assert!(status.is_client_error());

    // A connection whose upstream quotes the key back: test, discover, re-key, test.
    let body = json!({"provider": "openai", "name": "canary", "api_key": PROVIDER_KEY, "endpoint_url": format!("{upstream}/v1")});
    let (status, created) = seen
        .keep(
            app.api(Method::POST, "/api/connections", &api_key)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, tested) = seen
        .keep(
            app.api(
                Method::POST,
                &format!("/api/connections/{id}/test"),
                &api_key,
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
    assert!(
        tested.contains("Incorrect API key provided"),
        "the upstream's message is kept: {tested}"
    );
    seen.keep(
        app.api(
            Method::POST,
            &format!("/api/connections/{id}/discover"),
            &api_key,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    seen.keep(
        app.api(
            Method::POST,
            &format!("/api/connections/{id}/update-key"),
            &api_key,
        )
        .json(&json!({"api_key": ROTATED_KEY}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    seen.keep(fn_call(&app, "test_connection", &[("id", &id)]).await)
        .await;
    let draft = json!({"req": {"provider": "openai", "name": "draft", "api_key": PROVIDER_KEY, "endpoint_url": format!("{upstream}/v1")}});
    seen.keep(
        app.browser
            .post(app.url("/api/fn/test_draft_connection"))
            .header(header::ORIGIN, &app.base)
            .json(&draft)
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Refused values: a control character, secrets in the endpoint, wrong types.
    for bad in [
        json!({"provider": "openai", "name": "ctl", "api_key": CONTROL_KEY, "endpoint_url": format!("{upstream}/v1")}),
        json!({"provider": "openai", "name": "ui", "api_key": PROVIDER_KEY, "endpoint_url": format!("http://u:{PROVIDER_KEY}@127.0.0.1:9/v1")}),
        json!({"provider": "openai", "name": "q", "api_key": PROVIDER_KEY, "endpoint_url": format!("{upstream}/v1?key={PROVIDER_KEY}")}),
        json!({"provider": "openai", "name": "t", "api_key": PROVIDER_KEY, "timeout_ms": PROVIDER_KEY}),
        json!({"provider": "openai", "name": "f", "api_key": PROVIDER_KEY, "no_such_field": PROVIDER_KEY}),
        json!({"provider": "nonexistent", "name": "p", "api_key": PROVIDER_KEY}),
    ] {
        let (status, body) = seen
            .keep(
                app.api(Method::POST, "/api/connections", &api_key)
                    .json(&bad)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert!(status.is_client_error(), "{status} {body}");
    }

    // Gateway errors, whole and streamed, and the request log.
    for stream in [false, true] {
        let (status, _) = seen
            .keep(
                app.api(Method::POST, "/v1/chat/completions", &api_key)
                    .json(&json!({"model": "openai/gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert!(!status.is_success());
    }
    // Secrets sent in the wrong field of each dialect come back described, not quoted.
    for (path, body) in [
        (
            "/v1/chat/completions",
            json!({"model": "openai/gpt-4o", "temperature": PROVIDER_KEY, "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "openai/gpt-4o", "messages": [{"role": PROVIDER_KEY, "content": "hi"}]}),
        ),
        (
            "/v1/responses",
            json!({"model": "openai/gpt-4o", "input": "hi", "max_output_tokens": PROVIDER_KEY}),
        ),
        (
            "/v1/messages",
            json!({"model": "openai/gpt-4o", "max_tokens": PROVIDER_KEY, "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "openai/x", "input": 5, "dimensions": PROVIDER_KEY}),
        ),
    ] {
        let (status, text) = seen
            .keep(
                app.api(Method::POST, path, &api_key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert!(!status.is_success(), "{path}: {text}");
    }
    seen.keep(
        app.api(Method::POST, "/v1/messages", &api_key)
            .json(&json!({"model": "openai/gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Bogus, malformed and revoked API keys.
    for auth in [
        format!("Bearer {BOGUS_API_KEY}"),
        BOGUS_API_KEY.to_owned(),
        format!("Bearer {PASSWORD}"),
    ] {
        let (status, _) = seen
            .keep(
                reqwest::Client::new()
                    .post(app.url("/v1/chat/completions"))
                    .header(header::AUTHORIZATION, auth)
                    .json(&json!({"model": "openai/gpt-4o", "messages": []}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    // Everything the owner can read back, through the API and the console.
    for path in [
        "/api/connections".to_owned(),
        format!("/api/connections/{id}"),
        format!("/api/connections/{id}/tests"),
        format!("/api/connections/{id}/audit"),
        format!("/api/connections/{id}/models"),
        "/api/logs".to_owned(),
        "/api/keys".to_owned(),
        "/api/me".to_owned(),
        "/v1/models".to_owned(),
    ] {
        seen.keep(app.api(Method::GET, &path, &api_key).send().await.unwrap())
            .await;
    }
    for name in [
        "list_connections",
        "list_logs",
        "list_api_keys",
        "current_user",
    ] {
        seen.keep(fn_call(&app, name, &[]).await).await;
    }
    seen.keep(fn_call(&app, "connection_detail", &[("id", &id)]).await)
        .await;
    for page in [
        "/".to_owned(),
        "/connections".to_owned(),
        format!("/connections/{id}"),
        "/logs".to_owned(),
        "/collections".to_owned(),
        "/settings".to_owned(),
        "/settings/keys".to_owned(),
        "/settings/organizations".to_owned(),
    ] {
        let (status, _) = seen
            .keep(app.browser.get(app.url(&page)).send().await.unwrap())
            .await;
        assert!(
            status.is_success() || status.is_redirection(),
            "{page}: {status}"
        );
    }

    // Revoke the key, and use it once more.
    let key_id = serde_json::from_str::<Value>(&created).unwrap()["key_info"]["id"]
        .as_str()
        .map(str::to_owned);
    let keys: Value = app
        .api(Method::GET, "/api/keys", &api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_id = key_id
        .or_else(|| keys["keys"][0]["id"].as_str().map(str::to_owned))
        .unwrap();
    seen.keep(
        app.api(Method::DELETE, &format!("/api/keys/{key_id}"), &api_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (status, _) = seen
        .keep(
            app.api(Method::GET, "/api/connections", &api_key)
                .send()
                .await
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Let queued log rows reach the database before reading its files.
    app.state.request_log.flush().await;
    let mut stored = Vec::new();
    for file in ["langmart.db", "langmart.db-wal"] {
        if let Ok(bytes) = std::fs::read(app.data_dir.join(file)) {
            stored.extend(bytes);
        }
    }
    if app.state.db.backend == server::db::Backend::Sqlite {
        assert!(!stored.is_empty(), "the SQLite database file was read");
        // Only the account LangMart runs as may read what is stored.
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: std::path::PathBuf| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(app.data_dir.clone()).unwrap(), 0o700);
        for file in [
            "langmart.db",
            "langmart.db-wal",
            "langmart.db-shm",
            "master.key",
        ] {
            if let Ok(m) = mode(app.data_dir.join(file)) {
                assert_eq!(m, 0o600, "{file}");
            }
        }
    }
    let stored = String::from_utf8_lossy(&stored).into_owned();
    let logs = captured_logs();
    let answers = seen.0.join("\n");

    let mut hits = Vec::new();
    for canary in [
        PASSWORD,
        WRONG_PASSWORD,
        PROVIDER_KEY,
        ROTATED_KEY,
        BOGUS_API_KEY,
        "sk-CANARY-ctl",
        api_key.as_str(),
    ] {
        for (place, text) in [
            ("database", &stored),
            ("log", &logs),
            ("answers and pages", &answers),
        ] {
            if let Some(at) = text.find(canary) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(120)
                    .map_or(0, |(i, _)| i);
                let to = (at + canary.len() + 60).min(text.len());
                let around = text.get(from..to).unwrap_or_default();
                hits.push(format!("{canary} in the {place}: …{around}…"));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} secrets leaked:\n{}",
        hits.len(),
        hits.join("\n\n")
    );
}
