//! LangMart API keys: create → validate → revoke → 401, the header rules, storage as digest.

use crate::common::{error_code, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn key_validates_until_revoked() {
    let Some(app) = spawn_app().await else { return };
    let (user_id, key) = app.user_with_key("ada@example.com", "ada").await;
    assert!(key.starts_with("sk-langmart-"));
    assert_eq!(key.len(), "sk-langmart-".len() + 43);

    let res = app
        .api(Method::GET, "/v1/auth/validate", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"valid": true, "user": {"id": user_id, "email": "ada@example.com", "handle": "ada"}})
    );

    // Revoking through the REST API takes effect immediately (the cache entry is dropped).
    let list: Value = app
        .api(Method::GET, "/api/keys", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["keys"][0]["id"].as_str().unwrap().to_owned();
    let revoke = app
        .api(Method::DELETE, &format!("/api/keys/{id}"), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);

    let res = app
        .api(Method::GET, "/v1/auth/validate", &key)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": "GATEWAY1_AUTH_001", "message": "Invalid API key", "type": "authentication_error", "status": 401}})
    );
}

#[tokio::test]
async fn authorization_header_rules() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let client = reqwest::Client::new();
    let url = app.url("/v1/auth/validate");

    let no_prefix = client
        .get(&url)
        .header("authorization", key.as_str())
        .send()
        .await
        .unwrap();
    let body: Value = no_prefix.json().await.unwrap();
    assert_eq!(body["error"]["code"], "GATEWAY1_AUTH_001");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Bearer"),
        "{body}"
    );

    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(
        error_code(missing, StatusCode::UNAUTHORIZED).await,
        "GATEWAY1_AUTH_001"
    );

    let wrong = client
        .get(&url)
        .bearer_auth("sk-langmart-not-a-real-key")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(wrong, StatusCode::UNAUTHORIZED).await,
        "GATEWAY1_AUTH_001"
    );

    let lowercase_scheme = client
        .get(&url)
        .header("authorization", format!("bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase_scheme.status(), StatusCode::OK);
}

#[tokio::test]
async fn keys_are_listed_with_prefix_and_last_use_but_never_in_full() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let created = app
        .api(Method::POST, "/api/keys", &key)
        .json(&json!({"name": "ci"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let second = created["key"].as_str().unwrap().to_owned();
    assert_eq!(created["api_key"]["prefix"], &second[..16]);

    // Using a key records when it was last used (off the request path).
    app.api(Method::GET, "/v1/auth/validate", &second)
        .send()
        .await
        .unwrap();
    let mut last_used = Value::Null;
    for _ in 0..100 {
        let list = app
            .api(Method::GET, "/api/keys", &key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !list.contains(&second),
            "a listed key must not contain the secret"
        );
        assert!(!list.contains("digest"));
        let list: Value = serde_json::from_str(&list).unwrap();
        let ci = list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "ci")
            .unwrap()
            .clone();
        if !ci["last_used_at"].is_null() {
            last_used = ci["last_used_at"].clone();
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(last_used.is_string(), "last_used_at was never recorded");
}

#[tokio::test]
async fn another_users_key_cannot_be_revoked() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let list: Value = app
        .api(Method::GET, "/api/keys", &ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ada_key_id = list["keys"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .api(Method::DELETE, &format!("/api/keys/{ada_key_id}"), &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "NOT_FOUND");
    let still = app
        .api(Method::GET, "/v1/auth/validate", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_a_digest_of_the_key_is_stored() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let random_part = &key["sk-langmart-".len()..];
    if app.state.db.backend == server::db::Backend::Sqlite {
        // Checkpoint the WAL so every byte written is in the files scanned below.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        for entry in std::fs::read_dir(&app.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                let hit = bytes
                    .windows(random_part.len())
                    .any(|w| w == random_part.as_bytes());
                assert!(!hit, "plaintext key found in {}", path.display());
            }
        }
    }
    let (stored,): (String,) = sqlx::query_as("SELECT digest FROM api_keys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, server::auth::digest_key(&key));
}

#[tokio::test]
async fn console_creates_lists_and_revokes_keys() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let created: Value = app
        .call_fn(
            "create_api_key",
            &[("name", "laptop"), ("inference", "on"), ("manage", "on")],
        )
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["api_key"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.api(Method::GET, "/v1/auth/validate", &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let blank = app.call_fn("create_api_key", &[("name", "  ")]).await;
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST);
    assert_eq!(blank.json::<Value>().await.unwrap()["field"], "name");

    assert_eq!(
        app.call_fn("revoke_api_key", &[("id", &id)]).await.status(),
        StatusCode::OK
    );
    let listed: Value = app
        .call_fn("list_api_keys", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(listed[0]["revoked_at"].is_string());
    assert_eq!(
        app.api(Method::GET, "/v1/auth/validate", &key)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[expect(clippy::unwrap_used, reason = "a failed request must fail the test")]
async fn make_key(app: &crate::common::TestApp, with: &str, body: Value) -> reqwest::Response {
    app.api(Method::POST, "/api/keys", with)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[expect(clippy::unwrap_used, reason = "a failed request must fail the test")]
async fn status(app: &crate::common::TestApp, method: Method, path: &str, key: &str) -> StatusCode {
    app.api(method, path, key).send().await.unwrap().status()
}

/// A key holds scopes: `inference` reaches `/v1`, `manage` reaches `/api`, and a route
/// the key lacks the scope for answers 403 INSUFFICIENT_SCOPE.
#[tokio::test]
async fn scopes_decide_which_routes_a_key_reaches() {
    let Some(app) = spawn_app().await else { return };
    let (_, root) = app.user_with_key("ada@example.com", "ada").await;
    let created: Value = make_key(
        &app,
        &root,
        json!({"name": "infer", "scopes": ["inference"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["api_key"]["scopes"], json!(["inference"]));
    assert_eq!(
        created["api_key"]["parent_key_id"]
            .as_str()
            .map(|s| &s[..4]),
        Some("key-")
    );
    let infer = created["key"].as_str().unwrap().to_owned();
    let manage: Value = make_key(&app, &root, json!({"name": "ops", "scopes": ["manage"]}))
        .await
        .json()
        .await
        .unwrap();
    let manage = manage["key"].as_str().unwrap().to_owned();

    assert_eq!(
        status(&app, Method::GET, "/v1/models", &infer).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, Method::GET, "/v1/auth/validate", &infer).await,
        StatusCode::OK
    );
    let res = app
        .api(Method::GET, "/api/connections", &infer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "INSUFFICIENT_SCOPE"
    );
    let res = make_key(&app, &infer, json!({"name": "escape"})).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "INSUFFICIENT_SCOPE"
    );

    assert_eq!(
        status(&app, Method::GET, "/api/connections", &manage).await,
        StatusCode::OK
    );
    let res = app
        .api(Method::GET, "/v1/models", &manage)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "INSUFFICIENT_SCOPE"
    );
    let res = app
        .api(Method::POST, "/v1/messages", &manage)
        .json(&json!({"model": "anthropic/claude-x", "max_tokens": 5,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = make_key(&app, &root, json!({"name": "none", "scopes": []})).await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
    let res = make_key(&app, &root, json!({"name": "odd", "scopes": ["admin"]})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

/// A leaked key that mints a key does not outlive its own revocation: a key made with a
/// key has at most its scopes and lifetime, and every descendant dies with it.
#[tokio::test]
async fn a_key_minted_by_a_key_dies_with_it_and_is_no_stronger() {
    let Some(app) = spawn_app().await else { return };
    let (_, root) = app.user_with_key("ada@example.com", "ada").await;
    let soon = "2099-01-01T00:00:00Z";
    let leaked: Value = make_key(
        &app,
        &root,
        json!({"name": "leaked", "scopes": ["manage"], "expires_at": soon}),
    )
    .await
    .json()
    .await
    .unwrap();
    let leaked_id = leaked["api_key"]["id"].as_str().unwrap().to_owned();
    let leaked = leaked["key"].as_str().unwrap().to_owned();

    // No more scopes, no longer life than the parent.
    let res = make_key(
        &app,
        &leaked,
        json!({"name": "wider", "scopes": ["inference", "manage"]}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "KEY_EXCEEDS_PARENT"
    );
    let res = make_key(
        &app,
        &leaked,
        json!({"name": "longer", "expires_at": "2100-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "KEY_EXCEEDS_PARENT"
    );
    let res = make_key(
        &app,
        &leaked,
        json!({"name": "past", "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );

    // Defaults: the parent's scopes and expiry.
    let child: Value = make_key(&app, &leaked, json!({"name": "child"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(child["api_key"]["scopes"], json!(["manage"]));
    assert_eq!(child["api_key"]["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(child["api_key"]["parent_key_id"], leaked_id.as_str());
    let child = child["key"].as_str().unwrap().to_owned();
    let grandchild: Value = make_key(&app, &child, json!({"name": "grandchild"}))
        .await
        .json()
        .await
        .unwrap();
    let grandchild = grandchild["key"].as_str().unwrap().to_owned();
    assert_eq!(
        status(&app, Method::GET, "/api/keys", &grandchild).await,
        StatusCode::OK
    );

    // The owner revokes the leaked key (with the root key): its whole line goes.
    assert_eq!(
        status(
            &app,
            Method::DELETE,
            &format!("/api/keys/{leaked_id}"),
            &root
        )
        .await,
        StatusCode::OK
    );
    for key in [&leaked, &child, &grandchild] {
        assert_eq!(
            status(&app, Method::GET, "/api/keys", key).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let list: Value = app
        .api(Method::GET, "/api/keys", &root)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["revoked_at"].is_string())
        .count();
    assert_eq!(revoked, 3);
    assert_eq!(
        status(&app, Method::GET, "/api/keys", &root).await,
        StatusCode::OK
    );
}

/// A key past its expiry stops working and says why; the list marks it expired.
#[tokio::test]
async fn an_expired_key_stops_working() {
    let Some(app) = spawn_app().await else { return };
    let (_, root) = app.user_with_key("ada@example.com", "ada").await;
    let at = server::clock::rfc3339(server::clock::now_ms() + 1_500);
    let short: Value = make_key(&app, &root, json!({"name": "short", "expires_at": at}))
        .await
        .json()
        .await
        .unwrap();
    let short = short["key"].as_str().unwrap().to_owned();
    assert_eq!(
        status(&app, Method::GET, "/v1/auth/validate", &short).await,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let res = app
        .api(Method::GET, "/v1/auth/validate", &short)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    let list: Value = app
        .api(Method::GET, "/api/keys", &root)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "short" && k["expired"] == true));
}

/// The console offers scopes and a lifetime; unticking both is refused at the field.
#[tokio::test]
async fn console_keys_take_scopes_and_a_lifetime() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let created: Value = app
        .call_fn(
            "create_api_key",
            &[("name", "ci"), ("inference", "on"), ("lifetime", "30")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["api_key"]["scopes"], json!(["inference"]));
    assert!(created["api_key"]["expires_at"].is_string());
    assert!(created["api_key"]["parent_key_id"].is_null());
    let none = app.call_fn("create_api_key", &[("name", "x")]).await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert_eq!(none.json::<Value>().await.unwrap()["field"], "scopes");
}
