//! Notifications: a connection failing its check and recovering reaches the people who
//! look after it (and only them), in the panel and at their webhook; a webhook to a
//! private address is refused unless the platform allows them.

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{error_code, spawn_app, spawn_app_with};

/// A webhook receiver on a free local port: every JSON body it is sent.
#[expect(
    clippy::expect_used,
    reason = "test harness: a receiver that cannot start must fail the test"
)]
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("the receiver's list").push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("the receiver serves")
    });
    (format!("http://{addr}/hook"), got)
}

/// Waits (bounded) until `f` holds: notifications are recorded in the background.
async fn eventually(mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("not within 5 s");
}

#[tokio::test]
async fn a_failed_check_and_its_recovery_reach_the_owner_and_their_webhook() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let mock = ChatMock::start("notify").await;
    let id = app
        .connection(
            &ada,
            json!({"provider": "openai", "name": "Watched", "api_key": "sk-upstream-0001",
                   "endpoint_url": mock.base, "max_retries": 0}),
        )
        .await;
    let (hook, received) = receiver().await;
    let res = app
        .api(Method::PUT, "/api/notifications/webhook", &ada)
        .json(&json!({"url": hook}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let test = |app: &crate::common::TestApp| {
        app.api(Method::POST, &format!("/api/connections/{id}/test"), &ada)
            .send()
    };
    mock.fail(401, None);
    let res = test(&app).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    eventually(async || app.get_json("/api/notifications", &ada).await["unread"] == 1).await;
    mock.recover();
    test(&app).await.unwrap();
    eventually(async || app.get_json("/api/notifications", &ada).await["unread"] == 2).await;

    let panel = app.get_json("/api/notifications", &ada).await;
    let items = panel["items"].as_array().unwrap();
    assert_eq!(items[0]["kind"], "recovered", "{panel}");
    assert_eq!(items[0]["title"], "Watched recovered");
    assert_eq!(items[1]["kind"], "failed");
    assert_eq!(items[1]["connection_id"], id.as_str());
    assert!(
        items[1]["detail"].as_str().unwrap().contains("401"),
        "{panel}"
    );
    assert_eq!(panel["webhook_url"], hook.as_str());
    eventually(async || received.lock().unwrap().len() == 2).await;
    let sent = received.lock().unwrap().clone();
    assert_eq!(sent[0]["type"], "langmart.notification");
    assert_eq!(sent[0]["notification"]["kind"], "failed");
    assert_eq!(sent[1]["notification"]["kind"], "recovered");
    // Nothing secret travels: not the upstream key.
    assert!(!serde_json::to_string(&sent)
        .unwrap()
        .contains("sk-upstream-0001"));

    // Someone else's connection is not theirs to hear about.
    let bobs = app.get_json("/api/notifications", &bob).await;
    assert_eq!(bobs["unread"], 0, "{bobs}");
    assert_eq!(bobs["items"].as_array().unwrap().len(), 0);

    let res = app
        .api(Method::POST, "/api/notifications/read", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_json("/api/notifications", &ada).await["unread"], 0);
}

#[tokio::test]
async fn a_webhook_to_a_private_address_is_refused_by_the_outbound_policy() {
    let Some(app) = spawn_app_with(|s| s.allow_private_endpoints = false).await else {
        return;
    };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "ftp://example.com/x",
    ] {
        let res = app
            .api(Method::PUT, "/api/notifications/webhook", &ada)
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "INVALID_FIELD",
            "{url}"
        );
    }
    let panel = app.get_json("/api/notifications", &ada).await;
    assert_eq!(panel["webhook_url"], Value::Null);
}

/// Many calls that meet the same failure at once tell the owner once.
#[tokio::test]
async fn calls_failing_together_make_one_notification() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("together").await;
    app.connection(
        &ada,
        json!({"provider": "openai", "name": "Shared fate", "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0}),
    )
    .await;
    mock.fail(401, None);
    let calls = (0..6).map(|_| {
        app.api(Method::POST, "/v1/chat/completions", &ada)
            .json(
                &json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
    });
    for res in futures_util::future::join_all(calls).await {
        assert!(!res.unwrap().status().is_success());
    }
    eventually(async || app.get_json("/api/notifications", &ada).await["unread"] == 1).await;
    // Whatever was still in flight has landed by now; still one.
    app.state.request_log.flush().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let panel = app.get_json("/api/notifications", &ada).await;
    assert_eq!(panel["unread"], 1, "{panel}");
    assert_eq!(panel["items"][0]["kind"], "failed");
}
