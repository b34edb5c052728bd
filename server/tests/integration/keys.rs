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
        .call_fn("create_api_key", &[("name", "laptop")])
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
