//! Connections against in-process mock providers: the lifecycle, every family's auth and
//! listing, status rules, filters, validation, access, and that no secret ever leaks.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{captured_logs, error_code, spawn_app, spawn_app_with, TestApp};
use crate::mocks::{connection_body, Mock};

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> reqwest::Response {
    app.api(Method::POST, path, key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn put(app: &TestApp, key: &str, path: &str, body: Value) -> reqwest::Response {
    app.api(Method::PUT, path, key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    let res = app.api(Method::GET, path, key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    res.json().await.unwrap()
}

async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let res = post(app, key, "/api/connections", body).await;
    let status = res.status();
    let created: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn test_conn(app: &TestApp, key: &str, id: &str) -> Value {
    let res = post(app, key, &format!("/api/connections/{id}/test"), json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn create_test_discover_rotate_disable_delete() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-mock-original-0001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;

    let conn = create(
        &app,
        &key,
        connection_body(
            &mock,
            "openai",
            "OpenAI Production",
            "sk-mock-original-0001",
        ),
    )
    .await;
    let id = conn["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("conn-"));
    assert_eq!(conn["provider"]["key"], "openai");
    assert_eq!(conn["provider"]["name"], "OpenAI");
    assert!(conn["provider"]["id"]
        .as_str()
        .unwrap()
        .starts_with("prov-"));
    assert_eq!(conn["status"], "active");
    assert_eq!(conn["scope"], "individual");
    assert_eq!(conn["gateway_type"], 2);
    assert_eq!(conn["prefer_score"], 100);
    assert_eq!(conn["allow_fallback"], true);
    assert_eq!(conn["timeout_ms"], 30000);
    assert_eq!(conn["max_retries"], 2);
    assert_eq!(
        conn["rate_limits"],
        json!({"rpm": null, "tpm": null, "rpd": null})
    );
    assert_eq!(conn["credential_mask"], "…0001");
    assert_eq!(conn["model_count"], 0);
    assert!(conn.get("api_key").is_none());

    let tested = test_conn(&app, &key, &id).await;
    assert_eq!(tested["success"], true, "{tested}");
    assert_eq!(tested["status"], "active");
    assert_eq!(tested["model_count"], 2);
    assert!(tested["latency_ms"].as_i64().unwrap() >= 0);

    let discovered: Value = post(
        &app,
        &key,
        &format!("/api/connections/{id}/discover"),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(discovered["model_count"], 2);
    let models = get(&app, &key, &format!("/api/connections/{id}/models")).await;
    let ids: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["gpt-4o", "gpt-4o-mini"]);
    let manual = post(
        &app,
        &key,
        &format!("/api/connections/{id}/models"),
        json!({"id": "ft:gpt-4o:acme"}),
    )
    .await;
    assert_eq!(manual.status(), StatusCode::CREATED);
    let dup = post(
        &app,
        &key,
        &format!("/api/connections/{id}/models"),
        json!({"id": "ft:gpt-4o:acme"}),
    )
    .await;
    assert_eq!(
        error_code(dup, StatusCode::CONFLICT).await,
        "DUPLICATE_MODEL"
    );

    // Rotation: the provider now wants a new key; the connection keeps id, models, settings.
    mock.set_key("sk-mock-rotated-0002");
    let failing = test_conn(&app, &key, &id).await;
    assert_eq!(failing["success"], false);
    assert_eq!(failing["status"], "error");
    assert_eq!(failing["http_status"], 401);
    let rotated = post(
        &app,
        &key,
        &format!("/api/connections/{id}/update-key"),
        json!({"api_key": "sk-mock-rotated-0002"}),
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_eq!(
        rotated.json::<Value>().await.unwrap(),
        json!({"success": true, "message": "API key updated successfully"})
    );
    let after = test_conn(&app, &key, &id).await;
    assert_eq!(
        after["status"], "active",
        "automatic recovery after a passing test"
    );
    let conn = get(&app, &key, &format!("/api/connections/{id}")).await;
    assert_eq!(conn["credential_mask"], "…0002");
    assert_eq!(conn["model_count"], 3);
    assert_eq!(conn["name"], "OpenAI Production");

    // Disable: tests no longer change the status; enable brings it back.
    let disabled = put(
        &app,
        &key,
        &format!("/api/connections/{id}"),
        json!({"status": "inactive"}),
    )
    .await;
    assert_eq!(
        disabled.json::<Value>().await.unwrap()["status"],
        "inactive"
    );
    assert_eq!(test_conn(&app, &key, &id).await["status"], "inactive");
    let bad = put(
        &app,
        &key,
        &format!("/api/connections/{id}"),
        json!({"status": "error"}),
    )
    .await;
    assert_eq!(
        error_code(bad, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
    let enabled = put(&app, &key, &format!("/api/connections/{id}"), json!({"status": "active", "rate_limit_rpm": 120, "rate_limit_tpm": 80000, "prefer_score": 200, "allow_fallback": false})).await;
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(enabled["status"], "active");
    assert_eq!(
        enabled["rate_limits"],
        json!({"rpm": 120, "tpm": 80000, "rpd": null})
    );
    assert_eq!(enabled["prefer_score"], 200);
    assert_eq!(enabled["allow_fallback"], false);
    let cleared = put(
        &app,
        &key,
        &format!("/api/connections/{id}"),
        json!({"rate_limit_rpm": null}),
    )
    .await;
    assert_eq!(
        cleared.json::<Value>().await.unwrap()["rate_limits"],
        json!({"rpm": null, "tpm": 80000, "rpd": null})
    );

    let history = get(&app, &key, &format!("/api/connections/{id}/tests")).await;
    assert_eq!(history["tests"].as_array().unwrap().len(), 4);
    let audit = get(&app, &key, &format!("/api/connections/{id}/audit")).await;
    let actions: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for expected in [
        "create",
        "test",
        "discover",
        "add_model",
        "update_key",
        "disable",
        "enable",
        "edit",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["actor"] == "ada"));

    let deleted = app
        .api(Method::DELETE, &format!("/api/connections/{id}"), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.json::<Value>().await.unwrap()["models_removed"], 3);
    let gone = app
        .api(Method::GET, &format!("/api/connections/{id}"), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(gone, StatusCode::NOT_FOUND).await,
        "CONNECTION_NOT_FOUND"
    );
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM connection_models")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "deleting a connection removes its models");
}

#[tokio::test]
async fn every_family_authenticates_and_lists_models_in_its_own_format() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("family-secret-123456").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let cases = [
        ("openai", vec!["gpt-4o", "gpt-4o-mini"]),
        (
            "anthropic",
            vec!["claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"],
        ),
        ("google", vec!["gemini-2.0-flash", "text-embedding-004"]),
        ("azure-openai", vec!["embeddings", "prod-gpt4o"]),
        (
            "bedrock",
            vec![
                "amazon.titan-text-express-v1",
                "anthropic.claude-3-haiku-20240307-v1:0",
            ],
        ),
        ("cohere", vec!["command-r-plus", "embed-english-v3.0"]),
    ];
    for (provider, expected) in cases {
        let conn = create(
            &app,
            &key,
            connection_body(&mock, provider, provider, "family-secret-123456"),
        )
        .await;
        let id = conn["id"].as_str().unwrap();
        let tested = test_conn(&app, &key, id).await;
        assert_eq!(tested["success"], true, "{provider}: {tested}");
        let found: Value = post(
            &app,
            &key,
            &format!("/api/connections/{id}/discover"),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
        let ids: Vec<&str> = found["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, expected, "{provider}");

        // The wrong secret is refused by the mock the way the real API refuses it.
        let bad = post(&app, &key, &format!("/api/connections/{id}/update-key"),
            if provider == "bedrock" { json!({"credentials": {"access_key_id": crate::mocks::BEDROCK_KEY_ID, "secret_access_key": "wrong-secret-0000"}}) } else { json!({"api_key": "wrong-secret-0000"}) }).await;
        assert_eq!(bad.status(), StatusCode::OK);
        let failed = test_conn(&app, &key, id).await;
        assert_eq!(failed["success"], false, "{provider} accepted a wrong key");
        assert_eq!(failed["status"], "error", "{provider}");
    }
    let bedrock: Value = get(&app, &key, "/api/connections?provider=bedrock").await;
    assert_eq!(bedrock["connections"][0]["config"]["region"], "us-east-1");
    assert_eq!(bedrock["connections"][0]["credential_mask"], "…MPLE");
}

#[tokio::test]
async fn status_follows_the_providers_answers() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-status-000000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let conn = create(
        &app,
        &key,
        connection_body(&mock, "openai", "s", "sk-status-000000001"),
    )
    .await;
    let id = conn["id"].as_str().unwrap().to_owned();
    post(
        &app,
        &key,
        &format!("/api/connections/{id}/discover"),
        json!({}),
    )
    .await;

    mock.fail(401, None);
    let t = test_conn(&app, &key, &id).await;
    assert_eq!(
        (t["status"].as_str(), t["http_status"].as_i64()),
        (Some("error"), Some(401))
    );
    let c = get(&app, &key, &format!("/api/connections/{id}")).await;
    assert!(
        c["last_error"]
            .as_str()
            .unwrap()
            .contains("mock failure 401"),
        "{c}"
    );
    assert!(c["last_health_check_at"].is_string());
    let models = get(&app, &key, &format!("/api/connections/{id}/models")).await;
    assert!(
        models["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["enabled"] == false),
        "models disabled while in error"
    );

    mock.fail(403, None);
    assert_eq!(test_conn(&app, &key, &id).await["status"], "error");

    mock.fail(429, Some(7));
    let t = test_conn(&app, &key, &id).await;
    assert_eq!(t["status"], "rate_limited");
    let c = get(&app, &key, &format!("/api/connections/{id}")).await;
    assert!(c["rate_limited_until"].is_string(), "{c}");

    mock.fail(503, None);
    assert_eq!(test_conn(&app, &key, &id).await["status"], "error");

    mock.succeed();
    assert_eq!(test_conn(&app, &key, &id).await["status"], "active");
    let models = get(&app, &key, &format!("/api/connections/{id}/models")).await;
    assert!(
        models["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["enabled"] == true),
        "models re-enabled on recovery"
    );
    assert!(get(&app, &key, &format!("/api/connections/{id}")).await["last_error"].is_null());

    // Unreachable: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = create(&app, &key, json!({"provider": "openai", "name": "dead", "api_key": "sk-whatever-1234", "endpoint_url": dead})).await;
    let t = test_conn(&app, &key, unreachable["id"].as_str().unwrap()).await;
    assert_eq!(t["status"], "error");
    assert!(t["error"].as_str().unwrap().contains("unreachable"), "{t}");

    // Timeout: the provider hangs past the connection's timeout.
    mock.hang();
    let slow = create(&app, &key, json!({"provider": "openai", "name": "slow", "api_key": "sk-status-000000001", "endpoint_url": mock.url("/openai/v1"), "timeout_ms": 200})).await;
    let t = test_conn(&app, &key, slow["id"].as_str().unwrap()).await;
    assert_eq!(t["status"], "error");
    assert!(t["error"].as_str().unwrap().contains("200 ms"), "{t}");
}

#[tokio::test]
async fn discovery_failure_is_a_provider_error_code() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-disc-000000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let conn = create(
        &app,
        &key,
        connection_body(&mock, "openai", "d", "sk-disc-000000001"),
    )
    .await;
    mock.fail(401, None);
    let res = post(
        &app,
        &key,
        &format!("/api/connections/{}/discover", conn["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "PROVIDER_OPENAI_401"
    );
    mock.fail(429, Some(9));
    let res = post(
        &app,
        &key,
        &format!("/api/connections/{}/discover", conn["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(res.headers()["retry-after"], "9");
    assert_eq!(
        error_code(res, StatusCode::TOO_MANY_REQUESTS).await,
        "PROVIDER_OPENAI_429"
    );
}

#[tokio::test]
async fn filters_by_provider_status_scope_and_gateway_type() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-filter-00000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    post(
        &app,
        &key,
        "/api/organizations",
        json!({"name": "Acme", "handle": "acme"}),
    )
    .await;
    let a = create(
        &app,
        &key,
        connection_body(&mock, "openai", "a", "sk-filter-00000001"),
    )
    .await;
    create(
        &app,
        &key,
        connection_body(&mock, "anthropic", "b", "sk-filter-00000001"),
    )
    .await;
    let mut org = connection_body(&mock, "custom", "c", "sk-filter-00000001");
    org["scope"] = json!("organization");
    org["organization"] = json!("acme");
    let c = create(&app, &key, org).await;
    assert_eq!(c["prefer_score"], 50);
    assert_eq!(c["gateway_type"], 3);
    assert_eq!(
        c["owner"],
        json!({"kind": "organization", "id": c["owner"]["id"], "handle": "acme"})
    );
    put(
        &app,
        &key,
        &format!("/api/connections/{}", a["id"].as_str().unwrap()),
        json!({"status": "inactive"}),
    )
    .await;

    let names = |v: Value| -> Vec<String> {
        v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(get(&app, &key, "/api/connections").await),
        ["a", "b", "c"]
    );
    let openai_id = a["provider"]["id"].as_str().unwrap();
    assert_eq!(
        names(
            get(
                &app,
                &key,
                &format!("/api/connections?provider_id={openai_id}")
            )
            .await
        ),
        ["a"]
    );
    assert_eq!(
        names(get(&app, &key, "/api/connections?status=active").await),
        ["b", "c"]
    );
    assert_eq!(
        names(get(&app, &key, "/api/connections?scope=organization").await),
        ["c"]
    );
    assert_eq!(
        names(get(&app, &key, "/api/connections?gateway_type=3").await),
        ["c"]
    );
    assert_eq!(
        names(
            get(
                &app,
                &key,
                "/api/connections?gateway_type=2&status=inactive"
            )
            .await
        ),
        ["a"]
    );
    let bad = app
        .api(Method::GET, "/api/connections?colour=red", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(bad, StatusCode::BAD_REQUEST).await,
        "INVALID_BODY"
    );
}

#[tokio::test]
async fn create_validates_provider_specific_fields() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let cases = [
        (
            json!({"provider": "nope", "name": "x", "api_key": "k"}),
            "UNKNOWN_PROVIDER",
            "nope",
        ),
        (
            json!({"provider": "openai", "name": "x"}),
            "MISSING_FIELD",
            "api_key",
        ),
        (
            json!({"provider": "openai", "name": "", "api_key": "k"}),
            "INVALID_FIELD",
            "name",
        ),
        (
            json!({"provider": "openai", "name": "x", "credentials": {"password": "p", "api_key": "k"}}),
            "UNKNOWN_FIELD",
            "password",
        ),
        (
            json!({"provider": "bedrock", "name": "x", "credentials": {"access_key_id": "a", "secret_access_key": "s"}}),
            "MISSING_FIELD",
            "region",
        ),
        (
            json!({"provider": "bedrock", "name": "x", "credentials": {"access_key_id": "a"}, "config": {"region": "us-east-1"}}),
            "MISSING_FIELD",
            "secret_access_key",
        ),
        (
            json!({"provider": "azure-openai", "name": "x", "api_key": "k"}),
            "MISSING_FIELD",
            "endpoint_url",
        ),
        (
            json!({"provider": "openai", "name": "x", "api_key": "k", "endpoint_url": "ftp://x"}),
            "INVALID_FIELD",
            "endpoint_url",
        ),
        (
            json!({"provider": "openai", "name": "x", "api_key": "k", "rate_limit_rpm": 0}),
            "INVALID_FIELD",
            "rate_limit_rpm",
        ),
        (
            json!({"provider": "openai", "name": "x", "api_key": "k", "timeout_ms": 5}),
            "INVALID_FIELD",
            "timeout_ms",
        ),
        (
            json!({"provider": "openai", "name": "x", "api_key": "k", "scope": "galaxy"}),
            "INVALID_FIELD",
            "scope",
        ),
        (
            json!({"provider": "openai", "name": "x", "api_key": "k", "scope": "organization"}),
            "MISSING_FIELD",
            "organization",
        ),
        (
            json!({"provider": "openai", "name": "x", "api_key": "k", "colour": "red"}),
            "INVALID_BODY",
            "colour",
        ),
    ];
    for (body, code, named) in cases {
        let res = post(&app, &key, "/api/connections", body.clone()).await;
        let status = res.status();
        let err: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["error"]["code"], code, "{body}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(named),
            "{body}: {err}"
        );
    }
    let platform = post(
        &app,
        &key,
        "/api/connections",
        json!({"provider": "groq", "name": "x", "api_key": "k", "scope": "platform"}),
    )
    .await;
    assert_eq!(
        error_code(platform, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let ok = post(
        &app,
        &admin,
        "/api/connections",
        json!({"provider": "groq", "name": "x", "api_key": "k", "scope": "platform"}),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(ok.json::<Value>().await.unwrap()["prefer_score"], 0);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM connections")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "only the valid request stored anything");
}

#[tokio::test]
async fn access_matrix() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-access-0000001").await;
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let (_, eve) = app.user_with_key("eve@example.com", "eve").await;
    post(
        &app,
        &ada,
        "/api/organizations",
        json!({"name": "Acme", "handle": "acme"}),
    )
    .await;
    app.join_org(&ada, "acme", &bob, "bob@example.com", "member")
        .await;

    let own = create(
        &app,
        &ada,
        connection_body(&mock, "openai", "mine", "sk-access-0000001"),
    )
    .await;
    let own_id = own["id"].as_str().unwrap();
    let mut org_body = connection_body(&mock, "openai", "team", "sk-access-0000001");
    org_body["scope"] = json!("organization");
    org_body["organization"] = json!("acme");
    let team = create(&app, &ada, org_body.clone()).await;
    let team_id = team["id"].as_str().unwrap();
    let mut platform_body = connection_body(&mock, "openai", "shared", "sk-access-0000001");
    platform_body["scope"] = json!("platform");
    let shared = create(&app, &admin, platform_body).await;
    let shared_id = shared["id"].as_str().unwrap();

    // Another user: an individual connection does not exist for them.
    for (method, path) in [
        (Method::GET, format!("/api/connections/{own_id}")),
        (Method::PUT, format!("/api/connections/{own_id}")),
        (Method::DELETE, format!("/api/connections/{own_id}")),
        (Method::POST, format!("/api/connections/{own_id}/test")),
        (
            Method::POST,
            format!("/api/connections/{own_id}/update-key"),
        ),
    ] {
        let body = if path.ends_with("update-key") {
            json!({"api_key": "x"})
        } else {
            json!({"name": "x"})
        };
        let res = app
            .api(method.clone(), &path, &bob)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::NOT_FOUND).await,
            "CONNECTION_NOT_FOUND",
            "{method} {path}"
        );
    }
    // A member uses the organization's connection but cannot change it.
    let seen = get(&app, &bob, &format!("/api/connections/{team_id}")).await;
    assert_eq!(seen["can_edit"], false);
    assert_eq!(test_conn(&app, &bob, team_id).await["success"], true);
    for (method, path) in [
        (Method::PUT, format!("/api/connections/{team_id}")),
        (Method::DELETE, format!("/api/connections/{team_id}")),
        (
            Method::POST,
            format!("/api/connections/{team_id}/update-key"),
        ),
        (Method::POST, format!("/api/connections/{team_id}/discover")),
    ] {
        let body = if path.ends_with("update-key") {
            json!({"api_key": "x"})
        } else {
            json!({"name": "x"})
        };
        let res = app
            .api(method.clone(), &path, &bob)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::FORBIDDEN).await,
            "ACCESS_DENIED",
            "{method} {path}"
        );
    }
    // A member cannot create organization connections either.
    let res = post(&app, &bob, "/api/connections", org_body).await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    // A non-member does not see it.
    let res = app
        .api(Method::GET, &format!("/api/connections/{team_id}"), &eve)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::NOT_FOUND).await,
        "CONNECTION_NOT_FOUND"
    );
    // The org admin edits it.
    let res = put(
        &app,
        &ada,
        &format!("/api/connections/{team_id}"),
        json!({"prefer_score": 60}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Platform connections: everyone sees them, only platform admins change them.
    let listed = get(&app, &eve, "/api/connections").await;
    let names: Vec<&str> = listed["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["shared"]);
    let res = put(
        &app,
        &eve,
        &format!("/api/connections/{shared_id}"),
        json!({"name": "mine now"}),
    )
    .await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let res = put(
        &app,
        &admin,
        &format!("/api/connections/{shared_id}"),
        json!({"name": "shared v2"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_plaintext_credential_anywhere() {
    let Some(app) = spawn_app().await else { return };
    const SECRET: &str = "sk-PLAINTEXT-canary-7f3a9c2e";
    const AWS_SECRET: &str = "AWS-canary-secret-5b8d1e44";
    let mock = Mock::start(SECRET).await;
    app.signup("ada@example.com", "ada").await;
    let created: Value = app
        .call_fn(
            "create_api_key",
            &[("name", "t"), ("inference", "on"), ("manage", "on")],
        )
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();

    let mut bodies = Vec::new();
    let conn = post(
        &app,
        &key,
        "/api/connections",
        connection_body(&mock, "openai", "canary", SECRET),
    )
    .await
    .text()
    .await
    .unwrap();
    bodies.push(conn.clone());
    let id = serde_json::from_str::<Value>(&conn).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    mock.set_key(AWS_SECRET);
    bodies.push(
        post(
            &app,
            &key,
            "/api/connections",
            connection_body(&mock, "bedrock", "aws", AWS_SECRET),
        )
        .await
        .text()
        .await
        .unwrap(),
    );
    mock.set_key(SECRET);
    for path in [
        "/api/connections",
        &format!("/api/connections/{id}"),
        &format!("/api/connections/{id}/models"),
        &format!("/api/connections/{id}/tests"),
        &format!("/api/connections/{id}/audit"),
    ] {
        bodies.push(
            app.api(Method::GET, path, &key)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    for path in [
        format!("/api/connections/{id}/test"),
        format!("/api/connections/{id}/discover"),
    ] {
        bodies.push(
            app.api(Method::POST, &path, &key)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    bodies.push(
        post(
            &app,
            &key,
            &format!("/api/connections/{id}/update-key"),
            json!({"api_key": SECRET}),
        )
        .await
        .text()
        .await
        .unwrap(),
    );
    mock.fail(401, None);
    bodies.push(
        app.api(Method::POST, &format!("/api/connections/{id}/test"), &key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    for page in ["/connections", &format!("/connections/{id}")] {
        bodies.push(
            app.browser
                .get(app.url(page))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    bodies.push(
        app.call_fn("list_connections", &[])
            .await
            .text()
            .await
            .unwrap(),
    );

    for body in &bodies {
        assert!(
            !body.contains(SECRET) && !body.contains(AWS_SECRET),
            "secret in a response: {body}"
        );
    }
    let logs = captured_logs();
    assert!(!logs.is_empty());
    assert!(
        !logs.contains(SECRET) && !logs.contains(AWS_SECRET),
        "secret in the logs"
    );
    if app.state.db.backend == server::db::Backend::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        for entry in std::fs::read_dir(&app.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                for secret in [SECRET, AWS_SECRET] {
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                        "secret in {}",
                        path.display()
                    );
                }
            }
        }
    }
    let (sealed,): (String,) =
        sqlx::query_as("SELECT sealed_credentials FROM connections WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(!sealed.contains(SECRET));
}

#[tokio::test]
async fn test_history_keeps_the_last_fifty() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-history-0000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let conn = create(
        &app,
        &key,
        connection_body(&mock, "openai", "h", "sk-history-0000001"),
    )
    .await;
    let id = conn["id"].as_str().unwrap();
    for _ in 0..53 {
        test_conn(&app, &key, id).await;
    }
    assert_eq!(
        get(&app, &key, &format!("/api/connections/{id}/tests")).await["tests"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
}

#[tokio::test]
async fn scheduled_health_checks_test_connections_in_the_background() {
    let Some(app) =
        spawn_app_with(|s| s.health_check_interval = std::time::Duration::from_secs(1)).await
    else {
        return;
    };
    let mock = Mock::start("sk-sched-00000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let conn = create(
        &app,
        &key,
        connection_body(&mock, "openai", "bg", "sk-sched-00000001"),
    )
    .await;
    let id = conn["id"].as_str().unwrap();
    mock.fail(401, None);
    let mut status = String::new();
    for _ in 0..100 {
        let c = get(&app, &key, &format!("/api/connections/{id}")).await;
        status = c["status"].as_str().unwrap().to_owned();
        if status == "error" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "error", "the scheduler never tested the connection");
    assert!(mock.calls() >= 1);
    let tests = get(&app, &key, &format!("/api/connections/{id}/tests")).await;
    assert_eq!(tests["tests"][0]["trigger"], "scheduled");
}

#[tokio::test]
async fn admins_manage_the_provider_catalogue() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-catalog-000001").await;
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let list = get(&app, &ada, "/api/providers").await;
    let keys: Vec<&str> = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    for k in [
        "openai",
        "anthropic",
        "google",
        "bedrock",
        "azure-openai",
        "cohere",
        "groq",
        "mistral",
        "deepseek",
        "openrouter",
        "together",
        "xai",
        "ollama",
        "custom",
    ] {
        assert!(keys.contains(&k), "{k} not seeded");
    }
    let bedrock = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "bedrock")
        .unwrap();
    let fields: Vec<&str> = bedrock["credential_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["access_key_id", "secret_access_key", "session_token"]
    );

    let new = json!({"key": "acme-llm", "name": "Acme LLM", "api_family": "openai_compat", "base_url": mock.url("/openai/v1")});
    let denied = post(&app, &ada, "/api/providers", new.clone()).await;
    assert_eq!(
        error_code(denied, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let created = post(&app, &admin, "/api/providers", new.clone()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let provider: Value = created.json().await.unwrap();
    let again = post(&app, &admin, "/api/providers", new).await;
    assert_eq!(
        error_code(again, StatusCode::CONFLICT).await,
        "PROVIDER_EXISTS"
    );
    let bad_family = post(
        &app,
        &admin,
        "/api/providers",
        json!({"key": "x1", "name": "X", "api_family": "soap"}),
    )
    .await;
    assert_eq!(
        error_code(bad_family, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );

    // No code change: the new provider works at once, with its default endpoint.
    let conn = create(
        &app,
        &ada,
        json!({"provider": "acme-llm", "name": "acme", "api_key": "sk-catalog-000001"}),
    )
    .await;
    assert_eq!(
        test_conn(&app, &ada, conn["id"].as_str().unwrap()).await["success"],
        true
    );

    let pid = provider["id"].as_str().unwrap();
    let off = put(
        &app,
        &admin,
        &format!("/api/providers/{pid}"),
        json!({"enabled": false, "free": true}),
    )
    .await;
    assert_eq!(off.json::<Value>().await.unwrap()["free"], true);
    let disabled = post(
        &app,
        &ada,
        "/api/connections",
        json!({"provider": "acme-llm", "name": "x", "api_key": "k"}),
    )
    .await;
    assert_eq!(
        error_code(disabled, StatusCode::BAD_REQUEST).await,
        "PROVIDER_DISABLED"
    );
    let visible = get(&app, &ada, "/api/providers").await;
    assert!(!visible["providers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["key"] == "acme-llm"));
    let all = get(&app, &admin, "/api/providers").await;
    assert!(all["providers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["key"] == "acme-llm"));
}

#[tokio::test]
async fn draft_test_checks_credentials_before_saving() {
    let Some(app) = spawn_app().await else { return };
    let mock = Mock::start("sk-draft-00000001").await;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let ok: Value = post(
        &app,
        &key,
        "/api/connections/test",
        connection_body(&mock, "anthropic", "d", "sk-draft-00000001"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ok["success"], true);
    assert_eq!(ok["model_count"], 2);
    let bad: Value = post(
        &app,
        &key,
        "/api/connections/test",
        connection_body(&mock, "anthropic", "d", "sk-wrong"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(bad["success"], false);
    assert_eq!(bad["http_status"], 401);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM connections")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
