//! `POST /v1/messages`: Anthropic-format requests with a LangMart key (`x-api-key` or
//! Bearer), routed with the usual model strings to any provider and answered, streamed
//! and failed in Anthropic's format.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, TestApp};
use crate::mocks::{connection_body, Mock};

async fn connect_openai(app: &TestApp, key: &str, mock: &ChatMock) -> String {
    let created: Value = app
        .api(Method::POST, "/api/connections", key)
        .json(&json!({"provider": "openai", "name": mock.name, "api_key": "sk-upstream-0001", "endpoint_url": mock.base, "max_retries": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    app.api(Method::POST, &format!("/api/connections/{id}/test"), key)
        .send()
        .await
        .unwrap();
    id
}

fn messages(app: &TestApp, key: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(app.url("/v1/messages"))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
}

/// `(event name, data)` of each server-sent event.
async fn events(res: reqwest::Response) -> Vec<(String, Value)> {
    let text = res.text().await.unwrap();
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let name = f
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap()
                .to_owned();
            let data = f.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn anthropic_clients_reach_an_openai_compatible_provider() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("msg@example.com", "msg-user").await;
    let mock = ChatMock::start("openai-up").await;
    let conn = connect_openai(&app, &key, &mock).await;

    let res = messages(&app, &key)
        .json(
            &json!({"model": "openai/gpt-4o", "max_tokens": 64, "system": "Be brief.",
                      "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn.as_str());
    assert_eq!(res.headers()["x-langmart-resolution"], "priority");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "openai/gpt-4o");
    assert!(body["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "hello from openai-up"}])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 11, "output_tokens": 7})
    );
    // The provider got the OpenAI form: the system prompt as the first message.
    let sent = mock.last_body();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent["max_tokens"], 64);
    assert_eq!(sent["model"], "gpt-4o");

    // Streamed, with Bearer auth: the event sequence Anthropic SDKs accumulate.
    let res = reqwest::Client::new()
        .post(app.url("/v1/messages"))
        .bearer_auth(&key)
        .json(
            &json!({"model": "openai/gpt-4o", "max_tokens": 64, "stream": true,
                      "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ev = events(res).await;
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    let text: String = ev
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello!");
    let delta = &ev[ev.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 3);
    assert_eq!(delta["usage"]["input_tokens"], 5);

    // The request log knows it like any other call.
    app.state.request_log.flush().await;
    let logs: Value = app
        .api(Method::GET, "/api/logs?model=openai/gpt-4o", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(logs["logs"].as_array().unwrap().len(), 2);
    assert_eq!(logs["logs"][0]["completion_tokens"], 3);
    app.stop().await;
}

#[tokio::test]
async fn tools_round_trip_through_the_anthropic_provider() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app
        .user_with_key("msgtool@example.com", "msgtool-user")
        .await;
    let mock = Mock::start("sk-ant-native-0001").await;
    app.api(Method::POST, "/api/connections", &key)
        .json(&connection_body(
            &mock,
            "anthropic",
            "claude",
            "sk-ant-native-0001",
        ))
        .send()
        .await
        .unwrap();
    let tools = json!([{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}]);
    let res = messages(&app, &key)
        .json(
            &json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 200, "tools": tools,
                      "tool_choice": {"type": "auto"},
                      "messages": [{"role": "user", "content": "Weather in Paris?"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(
        body["content"][1],
        json!({"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "Paris, France", "unit": "celsius"}})
    );
    assert_eq!(body["usage"]["input_tokens"], 472);
    let sent = mock.last_request().body;
    assert_eq!(sent["tools"][0]["input_schema"], tools[0]["input_schema"]);
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));

    // The client answers the tool call; the result reaches Anthropic as a tool_result.
    let res = messages(&app, &key)
        .json(&json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 200, "tools": tools, "stream": true,
                      "messages": [
                          {"role": "user", "content": "Weather in Paris?"},
                          {"role": "assistant", "content": body["content"]},
                          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "21°C"}]}
                      ]}))
        .send()
        .await
        .unwrap();
    let ev = events(res).await;
    let sent = mock.last_request().body;
    assert_eq!(sent["messages"][1]["content"][1]["type"], "tool_use");
    assert_eq!(
        sent["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "21°C"})
    );
    let start = ev
        .iter()
        .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(start.1["content_block"]["name"], "get_weather");
    let json_text: String = ev
        .iter()
        .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json_text).unwrap(),
        json!({"location": "San Francisco, CA"})
    );
    app.stop().await;
}

#[tokio::test]
async fn errors_come_in_anthropic_shape() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("msgerr@example.com", "msgerr-user").await;
    let shape = |v: &Value, kind: &str, code: &str| {
        assert_eq!(v["type"], "error", "{v}");
        assert_eq!(v["error"]["type"], kind, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    };
    let res = messages(&app, "sk-langmart-wrong")
        .json(&json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    shape(
        &res.json().await.unwrap(),
        "authentication_error",
        "GATEWAY1_AUTH_001",
    );

    let res = messages(&app, &key)
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    shape(&body, "invalid_request_error", "INVALID_BODY");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_tokens"));

    let res = messages(&app, &key)
        .json(&json!({"model": "openai/nothing-here", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    shape(
        &res.json().await.unwrap(),
        "not_found_error",
        "MODEL_NOT_FOUND",
    );

    let mock = ChatMock::start("down").await;
    connect_openai(&app, &key, &mock).await;
    mock.fail(429, Some(9));
    let res = messages(&app, &key)
        .json(&json!({"model": "openai/gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "9");
    shape(
        &res.json().await.unwrap(),
        "rate_limit_error",
        "PROVIDER_OPENAI_429",
    );
    app.stop().await;
}
