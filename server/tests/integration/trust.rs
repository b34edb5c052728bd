//! Attacks between tenants, each asserting it fails and nothing leaks.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, TestApp};

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
