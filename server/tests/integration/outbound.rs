//! The outbound policy under attack: server-side request forgery through a connection's
//! endpoint in every spelling, at save time and at connect time, and a connection that
//! points back at LangMart itself. Every target here is on loopback or refused before any
//! packet is sent: no check sends traffic off the machine.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app_with, TestApp};

async fn create(app: &TestApp, key: &str, endpoint: &str) -> reqwest::Response {
    app.api(Method::POST, "/api/connections", key)
        .json(&json!({"provider": "openai", "name": "probe", "api_key": "sk-probe-0001", "endpoint_url": endpoint}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn connections_cannot_reach_private_addresses_unless_an_admin_allowed_it() {
    let Some(app) = spawn_app_with(|s| s.allow_private_endpoints = false).await else {
        return;
    };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let (_, user) = app.user_with_key("user@example.com", "plain").await;
    let mock = ChatMock::start("internal").await;
    let port = mock
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/v1")
        .to_owned();
    let loopback_spellings = [
        format!("http://127.0.0.1:{port}/v1"),
        format!("http://localhost:{port}/v1"),
        format!("http://LocalHost.:{port}/v1"),
        format!("http://0.0.0.0:{port}/v1"),
        format!("http://127.1:{port}/v1"),
        format!("http://2130706433:{port}/v1"),
        format!("http://0x7f000001:{port}/v1"),
        format!("http://0177.0.0.1:{port}/v1"),
        format!("http://[::1]:{port}/v1"),
        format!("http://[::ffff:127.0.0.1]:{port}/v1"),
        // A DNS name (from /etc/hosts) that resolves to loopback.
        format!("http://ip6-localhost:{port}/v1"),
    ];
    let elsewhere = [
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://metadata.google.internal/computeMetadata/v1".to_owned(),
        "http://10.0.0.1/v1".to_owned(),
        "http://192.168.0.10:11434/v1".to_owned(),
        "http://100.64.1.1/v1".to_owned(),
        "http://[fd12::1]/v1".to_owned(),
        "http://kubernetes.default.svc/v1".to_owned(),
    ];
    for target in loopback_spellings.iter().chain(&elsewhere) {
        let res = create(&app, &user, target).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{target}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "INVALID_FIELD", "{target}: {err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("platform admin"),
            "{target}: {err}"
        );
        // The pre-save test is held to the same rule.
        let res = app
            .api(Method::POST, "/api/connections/test", &user)
            .json(&json!({"provider": "openai", "name": "probe", "api_key": "sk-probe-0001", "endpoint_url": target}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::BAD_REQUEST,
            "draft test of {target}"
        );
    }
    // A path and query smuggled into the endpoint are refused for everyone.
    for target in [
        format!("http://127.0.0.1:{port}/v1/admin?"),
        format!("http://127.0.0.1:{port}/v1/x?y=1"),
        format!("http://127.0.0.1:{port}/v1#frag"),
        format!("http://user:secret@127.0.0.1:{port}/v1"),
    ] {
        for key in [&user, &admin] {
            let res = create(&app, key, &target).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{target}");
        }
    }
    assert_eq!(mock.calls(), 0, "no refused endpoint was ever called");

    // A platform admin may: the connection records it, and it works.
    let res = create(&app, &admin, &mock.base).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let conn: Value = res.json().await.unwrap();
    assert_eq!(conn["allow_private"], true);
    let id = conn["id"].as_str().unwrap().to_owned();
    let tested: Value = app
        .api(Method::POST, &format!("/api/connections/{id}/test"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tested["success"], true, "{tested}");
    // Only admins grant the allowance.
    let res = app
        .api(Method::POST, "/api/connections", &user)
        .json(
            &json!({"provider": "openai", "name": "sneaky", "api_key": "sk-probe-0001",
                      "endpoint_url": mock.base, "allow_private": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Admin-allowed endpoints elsewhere are accepted (nothing is sent to them here).
    for target in &elsewhere {
        let res = create(&app, &admin, target).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{target}");
    }
}

/// The check happens where the connection is made: an endpoint whose allowance is taken
/// away (or a name that starts resolving privately) is refused on the next request.
#[tokio::test]
async fn the_policy_holds_at_connect_time() {
    let Some(app) = spawn_app_with(|s| s.allow_private_endpoints = false).await else {
        return;
    };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let mock = ChatMock::start("internal").await;
    let port = mock
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/v1")
        .to_owned();
    for endpoint in [mock.base.clone(), format!("http://localhost:{port}/v1")] {
        let res = create(&app, &admin, &endpoint).await;
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let chat = || {
            app.api(Method::POST, "/v1/chat/completions", &admin)
                .json(&json!({"model": "root/openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
                .send()
        };
        assert_eq!(chat().await.unwrap().status(), StatusCode::OK, "{endpoint}");
        let before = mock.calls();
        let res = app
            .api(Method::PUT, &format!("/api/connections/{id}"), &admin)
            .json(&json!({"allow_private": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = chat().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "{endpoint}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(
            err["error"]["code"], "ENDPOINT_NOT_ALLOWED",
            "{endpoint}: {err}"
        );
        assert_eq!(
            mock.calls(),
            before,
            "{endpoint}: refused before connecting"
        );
        app.api(Method::DELETE, &format!("/api/connections/{id}"), &admin)
            .send()
            .await
            .unwrap();
    }
}

/// A connection pointing at LangMart's own `/v1` with the user's own key: the request
/// comes back with this instance's hop marker and is refused at once (508), so one call
/// makes exactly one loop turn, and the server stays healthy.
#[tokio::test]
async fn a_connection_pointing_at_langmart_itself_is_refused() {
    let Some(app) = spawn_app_with(|_| {}).await else {
        return;
    };
    let (_, key) = app.user_with_key("loop@example.com", "looper").await;
    let res = app
        .api(Method::POST, "/api/connections", &key)
        .json(&json!({"provider": "openai", "name": "myself", "api_key": key, "endpoint_url": app.url("/v1"), "max_retries": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    for stream in [false, true] {
        let res = app
            .api(Method::POST, "/v1/chat/completions", &key)
            .json(&json!({"model": "openai/gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::LOOP_DETECTED);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "LOOP_DETECTED", "{err}");
    }
    app.state.request_log.flush().await;
    let logs: Value = app
        .api(Method::GET, "/api/logs?limit=50", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let looped: Vec<&Value> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["error_code"] == "LOOP_DETECTED")
        .collect();
    assert_eq!(looped.len(), 2, "{logs}");
    for row in looped {
        assert_eq!(
            row["attempts"].as_array().unwrap().len(),
            1,
            "one loop turn, not retried: {row}"
        );
    }
    let health = reqwest::get(app.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
