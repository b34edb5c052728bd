//! What coding agents need beyond chat: Anthropic Messages passed through losslessly to
//! Anthropic connections, `count_tokens`, `GET /v1/models/{id}`, legacy completions, model
//! aliases (exact and glob, user and organization), dated model variants, and a request-log
//! row for every `/v1` answer, routed or not.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{captured_logs, spawn_app, TestApp};
use crate::mocks::{connection_body, Mock};

const KEY: &str = "sk-native-test-0001";

fn messages(app: &TestApp, path: &str, key: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(app.url(path))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
}

async fn logs(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    app.log_rows(key, query).await
}

/// Everything Claude Code sends that a translation would lose: system items inside
/// `messages`, cache breakpoints, thinking blocks with signatures, context management, MCP
/// servers and fields not invented yet.
fn claude_code_body(model: &str, stream: bool) -> String {
    // Written out by hand (not serialized) so the test can compare bytes.
    format!(
        r#"{{"model":"{model}","max_tokens":32000,"stream":{stream},
  "system":[{{"type":"text","text":"x-anthropic-billing-header: cc"}},{{"type":"text","text":"You are Claude Code.","cache_control":{{"type":"ephemeral"}}}}],
  "messages":[{{"role":"user","content":[{{"type":"text","text":"fix the bug","cache_control":{{"type":"ephemeral","ttl":"1h"}}}}]}},
    {{"role":"assistant","content":[{{"type":"thinking","thinking":"Let me look.","signature":"EqQBCkYIBRgCKkBsig/+=="}},{{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3p"}},{{"type":"tool_use","id":"toolu_01","name":"Bash","input":{{"command":"ls"}}}}]}},
    {{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_01","content":"main.rs"}},{{"type":"document","source":{{"type":"text","media_type":"text/plain","data":"notes"}},"citations":{{"enabled":true}}}}]}},
    {{"role":"system","content":"Mid-conversation reminder."}}],
  "thinking":{{"type":"enabled","budget_tokens":31999}},
  "context_management":{{"edits":[{{"type":"clear_thinking_20251015","keep":"all"}}]}},
  "mcp_servers":[{{"type":"url","url":"https://mcp.example.com/sse","name":"docs"}}],
  "metadata":{{"user_id":"{{\"device_id\":\"d\"}}"}},
  "tools":[{{"name":"Bash","description":"Run","input_schema":{{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{{"command":{{"type":"string"}}}}}}}}],
  "a_field_from_2027":{{"nested":[1,2,3]}}}}"#
    )
}

#[tokio::test]
async fn anthropic_requests_reach_anthropic_byte_for_byte_with_their_betas() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("cc@example.com", "cc-user").await;
    let mock = Mock::start(KEY).await;
    let conn = app
        .connection(&key, connection_body(&mock, "anthropic", "claude", KEY))
        .await;
    let beta = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27";

    for stream in [false, true] {
        let sent = claude_code_body("anthropic/claude-sonnet-4-20250514", stream);
        let res = messages(&app, "/v1/messages?beta=true", &key)
            .header("anthropic-beta", beta)
            .header("content-type", "application/json")
            .body(sent.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "stream={stream}");
        assert_eq!(res.headers()["x-langmart-connection"], conn.as_str());
        let seen = mock.last_request();
        assert_eq!(seen.uri, "/anthropic/v1/messages");
        assert_eq!(
            String::from_utf8_lossy(&seen.raw),
            sent.replace(
                "anthropic/claude-sonnet-4-20250514",
                "claude-sonnet-4-20250514"
            ),
            "the body reaches Anthropic as the client wrote it, only the model replaced"
        );
        assert_eq!(seen.headers["anthropic-beta"], beta);
        assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
        assert_eq!(seen.headers["x-api-key"], KEY);
        let text = res.text().await.unwrap();
        if stream {
            // The fixture's events come back as they were, the model named as asked.
            let expected = include_str!("../fixtures/anthropic/stream_tool_use.sse").replace(
                "claude-sonnet-4-5-20250929",
                "anthropic/claude-sonnet-4-20250514",
            );
            let normalise = |s: &str| -> Vec<Value> {
                s.split("\n\n")
                    .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
                    .map(|d| serde_json::from_str(d).unwrap())
                    .collect()
            };
            assert_eq!(normalise(&text), normalise(&expected));
            assert!(text.contains("event: ping"), "ping events pass too");
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                body["id"], "msg_01Aq9w938a90dw8q",
                "the provider's own answer"
            );
            assert_eq!(body["model"], "anthropic/claude-sonnet-4-20250514");
            assert_eq!(body["usage"]["cache_read_input_tokens"], 0);
        }
    }
    let rows = logs(&app, &key, "?limit=2").await;
    assert_eq!(rows[0]["endpoint"], "messages");
    assert_eq!(rows[0]["stream"], true);
    assert_eq!(rows[0]["prompt_tokens"], 472);
    assert_eq!(rows[0]["completion_tokens"], 89);
    assert_eq!(rows[1]["prompt_tokens"], 472);
    assert_eq!(rows[1]["cache_read_tokens"], 0);
    assert_eq!(rows[1]["cache_write_tokens"], 0);
}

#[tokio::test]
async fn bedrock_hosted_claude_keeps_thinking_and_cache_breakpoints() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app
        .user_with_key("bedrock@example.com", "bedrock-user")
        .await;
    let mock = Mock::start(KEY).await;
    let conn = app
        .connection(
            &key,
            connection_body(&mock, "bedrock", "bedrock claude", KEY),
        )
        .await;
    let model = "bedrock/anthropic.claude-3-haiku-20240307-v1:0";
    for stream in [false, true] {
        let sent = claude_code_body(model, stream);
        let res = messages(&app, "/v1/messages", &key)
            .header(
                "anthropic-beta",
                "interleaved-thinking-2025-05-14, context-1m-2025-08-07",
            )
            .header("content-type", "application/json")
            .body(sent.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "stream={stream}");
        assert_eq!(res.headers()["x-langmart-connection"], conn.as_str());
        let seen = mock.last_request();
        let operation = if stream {
            "invoke-with-response-stream"
        } else {
            "invoke"
        };
        assert_eq!(
            seen.uri,
            format!("/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/{operation}")
        );
        // InvokeModel's body: Anthropic's own, without model and stream, with the version
        // and betas Bedrock wants; everything else as the client sent it.
        let mut expected: Value = serde_json::from_str(&sent).unwrap();
        let o = expected.as_object_mut().unwrap();
        o.remove("model");
        o.remove("stream");
        o.insert("anthropic_version".into(), json!("bedrock-2023-05-31"));
        o.insert(
            "anthropic_beta".into(),
            json!(["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]),
        );
        assert_eq!(seen.body, expected);
        let text = res.text().await.unwrap();
        if stream {
            assert!(text.starts_with("event: message_start\n"), "{text}");
            assert!(
                text.contains("event: content_block_delta")
                    && text.contains("\"type\":\"input_json_delta\"")
            );
            assert!(text.contains(&format!("\"model\":\"{model}\"")));
        } else {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["id"], "msg_01Aq9w938a90dw8q");
            assert_eq!(body["model"], model);
        }
    }
    // Chat through the same connection still uses Converse.
    let res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(mock.last_request().uri.ends_with("/converse"));
}

#[tokio::test]
async fn claude_code_requests_translate_for_other_providers() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("cc2@example.com", "cc2-user").await;
    let up = ChatMock::start("openai-up").await;
    app.connection(&key, json!({"provider": "groq", "name": "groq", "api_key": "sk-up-0001", "endpoint_url": up.base})).await;
    let res = messages(&app, "/v1/messages", &key)
        .header("content-type", "application/json")
        .body(claude_code_body("groq/gpt-4o", false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "hello from openai-up");
    let sent = up.last_body();
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "user", "system"]
    );
    assert_eq!(sent["messages"][5]["content"], "Mid-conversation reminder.");
}

#[tokio::test]
async fn count_tokens_is_counted_by_anthropic_or_estimated_and_says_which() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("count@example.com", "count-user").await;
    let mock = Mock::start(KEY).await;
    app.connection(&key, connection_body(&mock, "anthropic", "claude", KEY))
        .await;
    let up = ChatMock::start("openai-up").await;
    app.connection(&key, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": up.base})).await;

    let body = json!({"model": "anthropic/claude-sonnet-4-20250514", "messages": [{"role": "user", "content": "Hello, Claude"}]});
    let res = messages(&app, "/v1/messages/count_tokens?beta=true", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-token-count"], "counted");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"input_tokens": 1001})
    );
    assert_eq!(
        mock.last_request().uri,
        "/anthropic/v1/messages/count_tokens"
    );
    assert_eq!(
        mock.last_request().body["model"],
        "claude-sonnet-4-20250514"
    );

    let body = json!({"model": "openai/gpt-4o", "system": "Be brief.", "messages": [{"role": "user", "content": "x".repeat(400)}]});
    let res = messages(&app, "/v1/messages/count_tokens", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-token-count"], "estimated");
    let n = res.json::<Value>().await.unwrap()["input_tokens"]
        .as_u64()
        .unwrap();
    assert!((100..=130).contains(&n), "{n}");

    let res = messages(&app, "/v1/messages/count_tokens", &key)
        .json(&json!({"model": "nowhere/model", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn a_single_model_in_both_shapes_and_legacy_completions() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("models@example.com", "models-user").await;
    let up = ChatMock::start("openai-up").await;
    app.connection(&key, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": up.base})).await;

    let res = app
        .api(Method::GET, "/v1/models/openai/gpt-4o", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["id"], "openai/gpt-4o");
    assert_eq!(m["object"], "model");
    // The Anthropic SDK percent-encodes the id.
    let res = reqwest::Client::new()
        .get(app.url("/v1/models/openai%2Fgpt-4o"))
        .header("x-api-key", &key)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["type"], "model");
    assert_eq!(m["id"], "openai/gpt-4o");
    assert!(m["display_name"].is_string() && m["created_at"].is_string());
    let res = app
        .api(Method::GET, "/v1/models/openai/nope", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "MODEL_NOT_FOUND"
    );

    let res = app
        .api(Method::POST, "/v1/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "prompt": "Once", "max_tokens": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["choices"][0]["text"], "once upon a time");
    assert_eq!(c["model"], "openai/gpt-4o");
    assert_eq!(up.last_path(), "/v1/completions");
    assert_eq!(up.last_body()["model"], "gpt-4o");
    let text = app
        .api(Method::POST, "/v1/completions", &key)
        .json(&json!({"model": "openai/gpt-4o", "prompt": "Once", "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("\"text\":\" a time\""), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
}

async fn alias(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.api(Method::POST, "/api/aliases", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn aliases_route_fixed_names_and_say_so() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("alias@example.com", "alias-user").await;
    let mock = Mock::start(KEY).await;
    let claude = app
        .connection(&key, connection_body(&mock, "anthropic", "claude", KEY))
        .await;
    let up = ChatMock::start("openai-up").await;
    let openai = app.connection(&key, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": up.base})).await;

    let res = alias(&app, &key, json!({"name": "claude-*", "target": "anthropic/claude-sonnet-4-20250514", "description": "Claude Code's models"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["glob"], true);
    let res = alias(
        &app,
        &key,
        json!({"name": "claude-opus-4-8", "target": "openai/gpt-4o"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let exact: Value = res.json().await.unwrap();

    // The exact alias wins over the glob; a name only the glob matches takes the glob.
    let res = messages(&app, "/v1/messages", &key)
        .json(&json!({"model": "claude-opus-4-8", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-resolution"], "alias");
    assert_eq!(res.headers()["x-langmart-connection"], openai.as_str());
    let res = messages(&app, "/v1/messages", &key)
        .json(&json!({"model": "claude-haiku-4-5-20251001", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], claude.as_str());
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["model"], "claude-haiku-4-5-20251001",
        "answers carry the name asked for"
    );

    let explain: Value = app
        .api(
            Method::GET,
            "/api/routing/explain?model=claude-haiku-4-5-20251001",
            &key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(explain["resolution"], "alias");
    assert_eq!(
        explain["alias"],
        "claude-* → anthropic/claude-sonnet-4-20250514 (alias of alias-user)"
    );
    let rows = logs(&app, &key, "?limit=1").await;
    assert_eq!(rows[0]["resolution"], "alias");
    assert_eq!(rows[0]["model"], "claude-haiku-4-5-20251001");

    // Listing, changing and deleting.
    let list: Value = app
        .api(Method::GET, "/api/aliases", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["aliases"].as_array().unwrap().len(), 2);
    let id = exact["id"].as_str().unwrap();
    let res = app
        .api(Method::PUT, &format!("/api/aliases/{id}"), &key)
        .json(&json!({"name": "claude-opus-4-8", "target": "anthropic/claude-sonnet-4-20250514"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .api(Method::DELETE, &format!("/api/aliases/{id}"), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Bad input names the field; a second alias of one name conflicts.
    for (body, field) in [
        (json!({"name": "", "target": "openai/gpt-4o"}), "name"),
        (json!({"name": "***", "target": "openai/gpt-4o"}), "name"),
        (
            json!({"name": "has space", "target": "openai/gpt-4o"}),
            "name",
        ),
        (json!({"name": "x", "target": ""}), "target"),
        (json!({"name": "x", "target": "openai/"}), "target"),
        (json!({"name": "gpt-*", "target": "gpt-4o"}), "target"),
    ] {
        let res = alias(&app, &key, body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(
            err["error"]["code"], "INVALID_FIELD",
            "{body} ({field}): {err}"
        );
    }
    let res = alias(
        &app,
        &key,
        json!({"name": "claude-*", "target": "openai/gpt-4o"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Another user neither sees nor is routed by them.
    let (_, other) = app.user_with_key("other@example.com", "other-user").await;
    let list: Value = app
        .api(Method::GET, "/api/aliases", &other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["aliases"], json!([]));
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/aliases/{}", created["id"].as_str().unwrap()),
            &other,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn organization_aliases_apply_to_members_after_their_own() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("orgadmin@example.com", "org-admin").await;
    let (_, member) = app.user_with_key("member@example.com", "org-member").await;
    let up = ChatMock::start("openai-up").await;
    let conn = app.connection(&member, json!({"provider": "openai", "name": "mine", "api_key": "sk-up-0001", "endpoint_url": up.base})).await;
    app.api(Method::POST, "/api/organizations", &admin)
        .json(&json!({"name": "Acme", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    app.join_org(&admin, "acme", &member, "member@example.com", "member")
        .await;
    let res = alias(&app, &admin, json!({"name": "gpt-5-codex", "target": "openai/gpt-4o", "scope": "organization", "organization": "acme"})).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let res = app
        .api(Method::POST, "/v1/chat/completions", &member)
        .json(&json!({"model": "gpt-5-codex", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-resolution"], "alias");
    assert_eq!(res.headers()["x-langmart-connection"], conn.as_str());
    // A member cannot change the organization's alias.
    let list: Value = app
        .api(Method::GET, "/api/aliases", &member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org_alias = &list["aliases"][0];
    assert_eq!(org_alias["can_edit"], false);
    let res = app
        .api(
            Method::DELETE,
            &format!("/api/aliases/{}", org_alias["id"].as_str().unwrap()),
            &member,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The member's own alias of the same name comes first.
    alias(
        &app,
        &member,
        json!({"name": "gpt-5-codex", "target": "openai/meta-llama/llama-4-scout"}),
    )
    .await;
    let explain: Value = app
        .api(
            Method::GET,
            "/api/routing/explain?model=gpt-5-codex",
            &member,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        explain["alias"]
            .as_str()
            .unwrap()
            .contains("alias of org-member"),
        "{explain}"
    );
}

#[tokio::test]
async fn an_undated_model_id_routes_to_its_dated_variant() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("dated@example.com", "dated-user").await;
    let mock = Mock::start(KEY).await;
    let conn = app
        .connection(&key, connection_body(&mock, "anthropic", "claude", KEY))
        .await;
    // Listed: claude-sonnet-4-20250514 and claude-3-5-haiku-20241022.
    let res = messages(&app, "/v1/messages", &key)
        .json(&json!({"model": "claude-sonnet-4", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn.as_str());
    assert_eq!(
        mock.last_request().body["model"],
        "claude-sonnet-4-20250514"
    );
    let explain: Value = app
        .api(
            Method::GET,
            "/api/routing/explain?model=anthropic/claude-3-5-haiku-latest",
            &key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        explain["candidates"][0]["upstream_model"],
        "claude-3-5-haiku-20241022"
    );
    assert!(
        explain["notes"][0]
            .as_str()
            .unwrap()
            .contains("dated variant"),
        "{explain}"
    );
}

#[tokio::test]
async fn every_v1_answer_leaves_a_log_row_and_a_log_line() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("root@example.com", "root-user").await;
    let (_, key) = app.user_with_key("user@example.com", "plain-user").await;
    let client = reqwest::Client::new();
    // No key, a wrong key, an unknown route, a malformed body, a model nobody serves.
    let res = client
        .post(app.url("/v1/chat/completions"))
        .header("user-agent", "curious-client/1.0")
        .json(&json!({"model": "m", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    client
        .post(app.url("/v1/messages"))
        .header("x-api-key", "sk-langmart-nope")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let res = app
        .api(Method::POST, "/v1/nonsense", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    app.api(Method::POST, "/v1/chat/completions", &key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    app.api(Method::POST, "/v1/chat/completions", &key)
        .json(&json!({"model": "nobody/serves-this", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    app.api(Method::GET, "/v1/models", &key)
        .send()
        .await
        .unwrap();

    let mine = logs(&app, &key, "?limit=10").await;
    let mut paths: Vec<(&str, i64, &str)> = mine
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap(),
                r["status"].as_i64().unwrap(),
                r["error_code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            ("/v1/chat/completions", 400, "INVALID_JSON"),
            ("/v1/chat/completions", 404, "MODEL_NOT_FOUND"),
            ("/v1/models", 200, ""),
            ("/v1/nonsense", 404, "ROUTE_NOT_FOUND"),
        ]
    );
    // Requests without a valid key belong to no user: only platform admins see them.
    let all = logs(&app, &admin, "?limit=20").await;
    let anonymous: Vec<&Value> = all
        .iter()
        .filter(|r| r["path"] == "/v1/chat/completions" && r["status"] == 401)
        .collect();
    assert_eq!(anonymous.len(), 1, "{all:?}");
    assert_eq!(anonymous[0]["user_agent"], "curious-client/1.0");
    assert_eq!(anonymous[0]["error_code"], "GATEWAY1_AUTH_001");
    assert!(all
        .iter()
        .any(|r| r["path"] == "/v1/messages" && r["status"] == 401));
    assert!(
        !mine.iter().any(|r| r["status"] == 401),
        "a user sees only their own"
    );
    let lines = captured_logs();
    assert!(
        lines.contains("inference request refused or failed")
            && lines.contains("/v1/nonsense")
            && lines.contains("curious-client/1.0"),
        "an info line names the path"
    );
}
