//! Attacks between tenants, each asserting it fails and nothing leaks.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, spawn_app_with, TestApp};
use crate::mocks::{connection_body, Mock};

async fn chat(app: &TestApp, key: &str, stream: bool) -> reqwest::Response {
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": "openai/gpt-4o", "stream": stream,
                      "messages": [{"role": "user", "content": "my secret prompt"}]}))
        .send()
        .await
        .unwrap()
}

async fn put(app: &TestApp, key: &str, path: &str, body: Value) -> StatusCode {
    app.api(Method::PUT, path, key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

/// An organization admin invites a victim and points an organization connection with a
/// huge priority at their own endpoint, hoping to capture the victim's `openai/gpt-4o`
/// prompts. Nothing routes through it until the victim accepts; after that the victim's
/// own connection still comes first, and an organization's priorities or its serving of
/// un-namespaced requests are the victim's choice.
#[tokio::test]
async fn an_organization_cannot_capture_a_members_prompts() {
    let Some(app) = spawn_app().await else { return };
    let (_, victim) = app.user_with_key("victim@example.com", "victim").await;
    let (_, attacker) = app.user_with_key("mallory@example.com", "mallory").await;
    let own = ChatMock::start("victim-up").await;
    let evil = ChatMock::start("evil-up").await;
    let own_id = app
        .connection(&victim, json!({"provider": "openai", "name": "mine", "api_key": "sk-victim-0001", "endpoint_url": own.base}))
        .await;
    app.api(Method::POST, "/api/organizations", &attacker)
        .json(&json!({"name": "Helpful Team", "handle": "helpful"}))
        .send()
        .await
        .unwrap();
    let res = app
        .api(Method::POST, "/api/connections", &attacker)
        .json(&json!({"provider": "openai", "name": "team", "api_key": "sk-evil-0001", "endpoint_url": evil.base,
                      "scope": "organization", "organization": "helpful", "prefer_score": 10000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let evil_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invited = app
        .api(
            Method::POST,
            "/api/organizations/helpful/members",
            &attacker,
        )
        .json(&json!({"email": "victim@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), StatusCode::CREATED);

    // Invited, not accepted: the victim's traffic is untouched.
    for stream in [false, true] {
        let res = chat(&app, &victim, stream).await;
        assert_eq!(res.headers()["x-langmart-connection"], own_id.as_str());
        res.text().await.unwrap();
    }
    assert_eq!(evil.calls(), 0, "no prompt reached the attacker's endpoint");

    // Accepted: still the victim's own connection first, and explain says why.
    let open: Value = app
        .api(Method::GET, "/api/invitations", &victim)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = open["invitations"][0]["id"].as_str().unwrap().to_owned();
    app.api(
        Method::POST,
        &format!("/api/invitations/{id}/accept"),
        &victim,
    )
    .send()
    .await
    .unwrap();
    for stream in [false, true] {
        let res = chat(&app, &victim, stream).await;
        assert_eq!(res.headers()["x-langmart-connection"], own_id.as_str());
        res.text().await.unwrap();
    }
    assert_eq!(evil.calls(), 0);
    let explain: Value = app
        .api(
            Method::GET,
            "/api/routing/explain?model=openai/gpt-4o",
            &victim,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(explain["candidates"][0]["connection_id"], own_id.as_str());
    assert!(
        explain["notes"][0]
            .as_str()
            .unwrap()
            .contains("your own connections come first"),
        "{explain}"
    );

    // The victim keeps the organization's connections to `helpful/openai/…` only: with
    // their own connection disabled, an un-namespaced request finds no usable connection
    // rather than the organization's endpoint.
    assert_eq!(
        put(
            &app,
            &victim,
            "/api/organizations/helpful/membership",
            json!({"serve_unqualified": false})
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        put(
            &app,
            &victim,
            &format!("/api/connections/{own_id}"),
            json!({"status": "inactive"})
        )
        .await,
        StatusCode::OK
    );
    let res = chat(&app, &victim, false).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(evil.calls(), 0);
    let res = app
        .api(Method::POST, "/v1/chat/completions", &victim)
        .json(&json!({"model": "helpful/openai/gpt-4o", "messages": [{"role": "user", "content": "on purpose"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-langmart-connection"], evil_id.as_str());
    assert_eq!(
        evil.calls(),
        1,
        "only the request that named the organization"
    );

    // Letting the organization's priorities compete is an explicit choice.
    put(
        &app,
        &victim,
        &format!("/api/connections/{own_id}"),
        json!({"status": "active"}),
    )
    .await;
    assert_eq!(
        put(
            &app,
            &victim,
            "/api/organizations/helpful/membership",
            json!({"serve_unqualified": true, "trust_priorities": true})
        )
        .await,
        StatusCode::OK
    );
    let res = chat(&app, &victim, false).await;
    assert_eq!(res.headers()["x-langmart-connection"], evil_id.as_str());
}

/// A person declines an invitation, or an admin withdraws it: no membership follows.
#[tokio::test]
async fn invitations_can_be_declined_and_withdrawn() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    app.api(Method::POST, "/api/organizations", &ada)
        .json(&json!({"name": "Acme", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    let invite = |email: &'static str| {
        app.api(Method::POST, "/api/organizations/acme/members", &ada)
            .json(&json!({"email": email}))
            .send()
    };
    let first: Value = invite("bob@example.com")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = app
        .api(
            Method::POST,
            &format!("/api/invitations/{}/decline", first["id"].as_str().unwrap()),
            &bob,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let second: Value = invite("bob@example.com")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = app
        .api(
            Method::DELETE,
            &format!(
                "/api/organizations/acme/invitations/{}",
                second["id"].as_str().unwrap()
            ),
            &ada,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let open: Value = app
        .api(Method::GET, "/api/invitations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(open["invitations"], json!([]));
    let orgs: Value = app
        .api(Method::GET, "/api/organizations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orgs["organizations"], json!([]));
}

/// An organization co-admin (or anyone who may edit a connection) moves its endpoint to
/// their own server and runs a test, hoping to receive the stored key. The move needs the
/// credential again; with one, the old key is discarded, so the new endpoint never sees it.
#[tokio::test]
async fn a_stored_key_never_follows_its_connection_to_another_host() {
    let Some(app) = spawn_app().await else { return };
    let (_, owner) = app.user_with_key("owner@example.com", "owner").await;
    let (_, coadmin) = app.user_with_key("co@example.com", "coadmin").await;
    let real = ChatMock::start("real").await;
    let thief = crate::mocks::Mock::start("sk-thief-0001").await;
    app.api(Method::POST, "/api/organizations", &owner)
        .json(&json!({"name": "Team", "handle": "team"}))
        .send()
        .await
        .unwrap();
    app.join_org(&owner, "team", &coadmin, "co@example.com", "admin")
        .await;
    let id = app
        .connection(&owner, json!({"provider": "openai", "name": "shared", "api_key": "sk-real-secret-0001",
                                    "endpoint_url": real.base, "scope": "organization", "organization": "team"}))
        .await;
    let moved = app
        .api(Method::PUT, &format!("/api/connections/{id}"), &coadmin)
        .json(&json!({"endpoint_url": thief.url("/openai/v1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::BAD_REQUEST);
    let err: Value = moved.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credential again"),
        "{err}"
    );
    // Unchanged: still the real endpoint, and a test reaches only it.
    let conn: Value = app
        .api(Method::GET, &format!("/api/connections/{id}"), &coadmin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(conn["endpoint_url"], real.base.as_str());
    assert_eq!(thief.calls(), 0);
    // With a credential of their own, the move happens and the old key is gone for good.
    let moved = app
        .api(Method::PUT, &format!("/api/connections/{id}"), &coadmin)
        .json(&json!({"endpoint_url": thief.url("/openai/v1"), "api_key": "sk-thief-0001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    app.api(
        Method::POST,
        &format!("/api/connections/{id}/test"),
        &coadmin,
    )
    .send()
    .await
    .unwrap();
    assert!(thief.calls() > 0);
    let audit: Value = app
        .api(Method::GET, &format!("/api/connections/{id}/audit"), &owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        audit.to_string().contains("old credential was discarded"),
        "{audit}"
    );
    let db_file = std::fs::read(app.data_dir.join("langmart.db")).unwrap_or_default();
    let log_text = crate::common::captured_logs();
    for haystack in [
        String::from_utf8_lossy(&db_file).into_owned(),
        log_text,
        audit.to_string(),
    ] {
        assert!(!haystack.contains("sk-real-secret-0001"));
    }
}

/// A page on another site (another port of the same host counts: same site, other origin)
/// drives a signed-in visitor's browser to call the console's server functions: as a form,
/// as `text/plain` JSON, with a forged log-in. Every one is refused before it runs.
#[tokio::test]
async fn cross_site_console_calls_are_refused() {
    let Some(app) = spawn_app().await else { return };
    app.signup("victim@example.com", "victim").await;
    let evil_origin = "http://127.0.0.1:1";
    let post = |name: &str| app.browser.post(app.url(&format!("/api/fn/{name}")));
    let attempts = [
        post("create_api_key").header("origin", evil_origin).form(&[
            ("name", "stolen"),
            ("inference", "on"),
            ("manage", "on"),
        ]),
        post("create_api_key").header("origin", "null").form(&[
            ("name", "stolen"),
            ("inference", "on"),
            ("manage", "on"),
        ]),
        post("create_api_key")
            .header("sec-fetch-site", "cross-site")
            .form(&[("name", "stolen"), ("inference", "on"), ("manage", "on")]),
        post("create_api_key")
            .header("sec-fetch-site", "same-site")
            .header("origin", evil_origin)
            .form(&[("name", "stolen"), ("inference", "on"), ("manage", "on")]),
        // No Origin at all and a form body: not what a page of ours sends.
        post("create_api_key").form(&[("name", "stolen"), ("inference", "on"), ("manage", "on")]),
        // text/plain: the one JSON-ish body a cross-site form can send without preflight.
        post("create_connection")
            .header("content-type", "text/plain")
            .body(r#"{"req":{"provider":"openai","name":"x","api_key":"sk-x"}}"#),
        post("login").header("origin", evil_origin).form(&[
            ("email", "victim@example.com"),
            ("password", "correct horse battery"),
        ]),
    ];
    for attempt in attempts {
        let res = attempt.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "CROSS_SITE_REQUEST", "{body}");
    }
    let keys: Value = app
        .call_fn("list_api_keys", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(keys, json!([]), "nothing was created");
    // The console's own calls pass: same origin, or JSON without an origin (not a browser).
    assert_eq!(app.call_fn("list_orgs", &[]).await.status(), StatusCode::OK);
    let res = post("list_orgs")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Changing the password ends every other session; the one that changed it goes on.
#[tokio::test]
async fn a_password_change_ends_other_sessions_and_session_ids_are_not_stored() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let other = crate::common::browser();
    let res = other
        .post(app.url("/api/fn/login"))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .form(&[
            ("email", "ada@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let list = |client: &reqwest::Client| {
        client
            .post(app.url("/api/fn/list_orgs"))
            .header("origin", &app.base)
            .header("accept", "application/json")
            .send()
    };
    assert_eq!(list(&other).await.unwrap().status(), StatusCode::OK);
    // The database holds no session id a thief could replay as a cookie.
    let db_file = std::fs::read(app.data_dir.join("langmart.db")).unwrap_or_default();
    let wal = std::fs::read(app.data_dir.join("langmart.db-wal")).unwrap_or_default();
    for bytes in [db_file, wal] {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&cookie),
            "session id stored in plaintext"
        );
    }
    let changed = app
        .call_fn(
            "change_password",
            &[
                ("current_password", "correct horse battery"),
                ("new_password", "another horse battery"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        list(&app.browser).await.unwrap().status(),
        StatusCode::OK,
        "this session goes on"
    );
    assert_eq!(
        list(&other).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the other one ended"
    );
}

#[tokio::test]
async fn manual_tests_of_one_connection_are_paced_per_user() {
    let Some(app) = spawn_app_with(|s| {
        s.manual_test_interval = std::time::Duration::from_secs(5);
    })
    .await
    else {
        return;
    };
    let mock = Mock::start("sk-pace-000000000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (_, other_key) = app.user_with_key("bob@example.com", "bob").await;
    let made = app
        .api(Method::POST, "/api/connections", &key)
        .json(&connection_body(
            &mock,
            "openai",
            "paced",
            "sk-pace-000000000001",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let id = made.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = |key: String| {
        let app = &app;
        let path = format!("/api/connections/{id}/test");
        async move {
            app.api(Method::POST, &path, &key)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(test(key.clone()).await.status(), StatusCode::OK);
    // A burst of 50 more reaches the provider not once and writes no audit row.
    let hits_before = mock.calls();
    for _ in 0..50 {
        let res = test(key.clone()).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "TEST_TOO_SOON"
        );
    }
    assert_eq!(mock.calls(), hits_before);
    let audit: Value = app
        .api(Method::GET, &format!("/api/connections/{id}/audit"), &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tests = audit["audit"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r["action"] == "test").count())
        .unwrap_or_default();
    assert_eq!(tests, 1, "{audit}");
    // Someone else who may not see it still gets 404, not a pace answer.
    assert_eq!(test(other_key).await.status(), StatusCode::NOT_FOUND);
    // A new key is a new test: fixing a credential and testing again is not spam.
    mock.set_key("sk-pace-000000000002");
    let rekeyed = app
        .api(
            Method::POST,
            &format!("/api/connections/{id}/update-key"),
            &key,
        )
        .json(&json!({"api_key": "sk-pace-000000000002"}))
        .send()
        .await
        .unwrap();
    assert!(rekeyed.status().is_success());
    let res = test(key.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["success"], true);
}

#[tokio::test]
async fn credential_values_with_control_characters_are_refused() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-ctl-0000000000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    for bad in ["sk-ctl-00000\r\nX-Evil: 1", "sk-ctl\u{0}000", "sk\tctl"] {
        let res = app
            .api(Method::POST, "/api/connections", &key)
            .json(&connection_body(&mock, "openai", "ctl", bad))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body = res.text().await.unwrap();
        assert!(body.contains("INVALID_FIELD"), "{body}");
        assert!(!body.contains("sk-ctl"), "the value is echoed: {body}");
    }
}

/// Bedrock sends signed requests to `runtime_endpoint_url` when it is set: moving that
/// setting to another host is moving the endpoint, and needs the credential again.
#[tokio::test]
async fn a_url_setting_is_bound_like_the_endpoint() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("unused").await;
    // A provider of the Bedrock family whose connections may set a runtime endpoint.
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let provider = app
        .api(Method::POST, "/api/providers", &admin)
        .json(&json!({"key": "vpc-bedrock", "name": "Bedrock (VPC)", "api_family": "bedrock",
                      "base_url": mock.url("/bedrock"),
                      "credential_fields": [{"name": "access_key_id", "label": "Key id", "required": true},
                                            {"name": "secret_access_key", "label": "Secret", "required": true}],
                      "config_fields": [{"name": "region", "label": "Region", "default": "us-east-1"},
                                        {"name": "runtime_endpoint_url", "label": "Runtime endpoint"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        provider.status(),
        StatusCode::CREATED,
        "{:?}",
        provider.text().await
    );
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let made = app
        .api(Method::POST, "/api/connections", &key)
        .json(&json!({"provider": "vpc-bedrock", "name": "aws", "endpoint_url": mock.url("/bedrock"),
                      "config": {"region": "us-east-1"},
                      "credentials": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "bedrock-secret-canary-0001"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let id = made.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let elsewhere = ChatMock::start("elsewhere").await;
    let moved = app
        .api(Method::PUT, &format!("/api/connections/{id}"), &key)
        .json(&json!({"config": {"region": "us-east-1", "runtime_endpoint_url": elsewhere.base}}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::BAD_REQUEST);
    let text = moved.text().await.unwrap();
    assert!(text.contains("credential again"), "{text}");
    // The same host as the endpoint is no move; a new one with the credential is.
    let same = app
        .api(Method::PUT, &format!("/api/connections/{id}"), &key)
        .json(&json!({"config": {"region": "us-east-1", "runtime_endpoint_url": mock.url("/runtime")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK, "{:?}", same.text().await);
    let rekeyed = app
        .api(Method::PUT, &format!("/api/connections/{id}"), &key)
        .json(&json!({"config": {"region": "us-east-1", "runtime_endpoint_url": elsewhere.base},
                      "credentials": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "bedrock-secret-canary-0002"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        rekeyed.status(),
        StatusCode::OK,
        "{:?}",
        rekeyed.text().await
    );
}
