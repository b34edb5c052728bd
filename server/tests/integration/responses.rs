//! `POST /v1/responses` (OpenAI's Responses API): translated to chat for every family that
//! does not speak it, passed through natively to OpenAI and Azure OpenAI, whole and
//! streamed, with tool calls; stored responses, `previous_response_id`, `item_reference`,
//! the stored-response endpoints, and errors in the Responses shape.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, TestApp};
use crate::mocks::{connection_body, Mock};

const KEY: &str = "sk-native-test-0001";

async fn create(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.api(Method::POST, "/v1/responses", key)
        .json(&body)
        .send()
        .await
        .unwrap()
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
                .unwrap_or_else(|| panic!("no event name in {f:?}"))
                .to_owned();
            let data = f.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

fn weather_tool() -> Value {
    json!([{"type": "function", "name": "get_weather", "description": "Weather for a place",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}])
}

/// The text of a response's message items.
fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|c| c["text"].as_str())
        .collect()
}

/// Checks the stream is one OpenAI's SDK stream helpers accept: starts with
/// `response.created`, numbers every event, adds each output index once, finishes every
/// item before `response.completed`, and returns the completed response.
fn check_stream(evs: &[(String, Value)], what: &str) -> Value {
    assert_eq!(evs[0].0, "response.created", "{what}: {evs:?}");
    assert!(evs[0].1["response"]["created_at"].is_number(), "{what}");
    assert!(evs[0].1["response"]["model"].is_string(), "{what}");
    let id = evs[0].1["response"]["id"].clone();
    let mut added = std::collections::HashSet::new();
    let mut done = std::collections::HashSet::new();
    for (i, (name, data)) in evs.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "{what}");
        assert_eq!(data["sequence_number"], i as u64, "{what}: {name}");
        if let Some(r) = data.get("response") {
            assert_eq!(r["id"], id, "{what}: the response id stays the same");
        }
        match name.as_str() {
            "response.output_item.added" => {
                assert!(
                    added.insert(data["output_index"].as_u64().unwrap()),
                    "{what}"
                )
            }
            "response.output_item.done" => {
                assert!(data["item"]["status"].is_string(), "{what}: {data}");
                done.insert(data["output_index"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(added, done, "{what}: every item finished");
    let (last, data) = evs.last().unwrap();
    assert_eq!(last, "response.completed", "{what}");
    data["response"].clone()
}

struct Case {
    provider: &'static str,
    model: String,
    text: &'static str,
    /// The streamed text, where the mock streams another than it answers whole.
    stream_text: Option<&'static str>,
    tool: &'static str,
    native: bool,
}

#[tokio::test]
async fn every_family_answers_the_responses_api_whole_and_streamed_with_tools() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("resp@example.com", "resp-user").await;
    let mock = Mock::start(KEY).await;
    let openai = ChatMock::start("openai-up").await;
    let groq = ChatMock::start("groq-up").await;
    app.connection(&key, json!({"provider": "openai", "name": "openai native", "api_key": "sk-up-0001", "endpoint_url": openai.base})).await;
    app.connection(&key, json!({"provider": "groq", "name": "groq chat", "api_key": "sk-up-0002", "endpoint_url": groq.base})).await;
    for p in ["anthropic", "google", "bedrock", "azure-openai", "cohere"] {
        app.connection(&key, connection_body(&mock, p, &format!("{p} native"), KEY))
            .await;
    }
    let cases = [
        Case {
            provider: "openai",
            model: "openai/gpt-4o".into(),
            text: "native hello from openai-up",
            stream_text: None,
            tool: "get_weather",
            native: true,
        },
        Case {
            provider: "groq",
            model: "groq/gpt-4o".into(),
            text: "hello from groq-up",
            stream_text: Some("Hello!"),
            tool: "",
            native: false,
        },
        Case {
            provider: "anthropic",
            model: "anthropic/claude-sonnet-4-20250514".into(),
            text: "Hello from Claude.",
            stream_text: None,
            tool: "get_weather",
            native: false,
        },
        Case {
            provider: "google",
            model: "google/gemini-2.0-flash".into(),
            text: "Hello from Gemini.",
            stream_text: None,
            tool: "get_weather",
            native: false,
        },
        Case {
            provider: "bedrock",
            model: "bedrock/anthropic.claude-3-haiku-20240307-v1:0".into(),
            text: "Hello from Bedrock.",
            stream_text: None,
            tool: "top_song",
            native: false,
        },
        Case {
            provider: "azure-openai",
            model: "azure-openai/prod-gpt4o".into(),
            text: "Hello from Azure.",
            stream_text: None,
            tool: "get_weather",
            native: true,
        },
        Case {
            provider: "cohere",
            model: "cohere/command-r-plus".into(),
            text: "Hello from Cohere.",
            stream_text: None,
            tool: "get_weather",
            native: false,
        },
    ];
    for c in &cases {
        let p = c.provider;
        let input =
            json!([{"role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}]);

        // Whole text answer.
        let res = create(
            &app,
            &key,
            json!({"model": c.model, "instructions": "Be brief.", "input": input, "store": false}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{p}");
        assert_eq!(res.headers()["x-langmart-provider"], p);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["object"], "response", "{p}: {body}");
        assert_eq!(body["status"], "completed", "{p}: {body}");
        assert_eq!(body["model"], c.model, "{p}");
        assert_eq!(output_text(&body), c.text, "{p}: {body}");
        assert!(
            body["usage"]["input_tokens"].as_u64().unwrap() > 0,
            "{p}: {body}"
        );
        assert!(body["id"].as_str().unwrap().starts_with("resp_"), "{p}");

        // Whole tool call (the groq mock answers text only: its tool path is the chat one).
        if !c.tool.is_empty() {
            let res = create(&app, &key, json!({"model": c.model, "input": "Weather in Paris?", "tools": weather_tool(), "store": false})).await;
            let body: Value = res.json().await.unwrap();
            let call = body["output"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["type"] == "function_call")
                .unwrap_or_else(|| panic!("{p}: no function call in {body}"));
            assert_eq!(call["name"], c.tool, "{p}");
            assert!(!call["call_id"].as_str().unwrap().is_empty(), "{p}");
            assert_eq!(call["status"], "completed", "{p}");
            serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap();
        }

        // Streamed text.
        let res = create(
            &app,
            &key,
            json!({"model": c.model, "input": input, "stream": true, "store": false}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{p}");
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let evs = events(res).await;
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        if !c.native {
            let completed = check_stream(&evs, p);
            let deltas: String = evs
                .iter()
                .filter(|(n, _)| n == "response.output_text.delta")
                .filter_map(|(_, d)| d["delta"].as_str())
                .collect();
            let expected = c.stream_text.unwrap_or(c.text);
            assert_eq!(deltas, expected, "{p}: {names:?}");
            assert_eq!(output_text(&completed), expected, "{p}");
            assert!(
                completed["usage"]["output_tokens"].as_u64().is_some(),
                "{p}: {completed}"
            );
        } else {
            assert_eq!(names[0], "response.created", "{p}");
            assert_eq!(*names.last().unwrap(), "response.completed", "{p}");
            assert_eq!(evs.last().unwrap().1["response"]["model"], c.model, "{p}");
        }

        // Streamed tool call.
        if !c.tool.is_empty() {
            let res = create(&app, &key, json!({"model": c.model, "input": "Weather?", "tools": weather_tool(), "stream": true, "store": false})).await;
            let evs = events(res).await;
            let (_, last) = evs.last().unwrap();
            assert_eq!(last["type"], "response.completed", "{p}: {evs:?}");
            let call = last["response"]["output"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["type"] == "function_call")
                .unwrap_or_else(|| panic!("{p}: no function call in {last}"))
                .clone();
            assert_eq!(call["name"], c.tool, "{p}");
            if !c.native {
                check_stream(&evs, p);
                let streamed: String = evs
                    .iter()
                    .filter(|(n, _)| n == "response.function_call_arguments.delta")
                    .filter_map(|(_, d)| d["delta"].as_str())
                    .collect();
                assert_eq!(streamed, call["arguments"].as_str().unwrap(), "{p}");
            }
        }
    }
    // What each upstream was sent: OpenAI its own Responses body, the others chat.
    assert_eq!(openai.last_path(), "/v1/responses");
    assert_eq!(groq.last_path(), "/v1/chat/completions");
    assert_eq!(groq.last_body()["stream_options"]["include_usage"], true);
    assert_eq!(
        groq.last_body()["messages"][0],
        json!({"role": "user", "content": "Say hello"})
    );
}

#[tokio::test]
async fn a_native_responses_request_reaches_openai_untouched_but_for_the_model() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("native-r@example.com", "native-r").await;
    let openai = ChatMock::start("openai-up").await;
    let conn = app.connection(&key, json!({"provider": "openai", "name": "openai", "api_key": "sk-up-0001", "endpoint_url": openai.base})).await;
    let body = json!({"model": "openai/gpt-4o", "input": [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sys"}]},
                      {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"}],
                      "tools": [{"type": "web_search", "external_web_access": false}, {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}],
                      "include": ["reasoning.encrypted_content"], "store": false, "client_metadata": {"turn": "1"}, "prompt_cache_key": "abc"});
    let res = create(&app, &key, body.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["model"], "openai/gpt-4o");
    assert_eq!(answer["id"], "resp_mock_1");
    let mut expected = body;
    expected["model"] = json!("gpt-4o");
    assert_eq!(
        openai.last_body(),
        expected,
        "every field, known or not, reaches OpenAI"
    );
    app.state.request_log.flush().await;
    let logs: Value = app
        .api(Method::GET, "/api/logs?limit=1", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = &logs["logs"][0];
    assert_eq!(row["endpoint"], "responses");
    assert_eq!(row["path"], "/v1/responses");
    assert_eq!(row["connection_id"], conn.as_str());
    assert_eq!(row["prompt_tokens"], 12);
    assert_eq!(row["completion_tokens"], 6);
    assert_eq!(row["cache_read_tokens"], 2);
}

#[tokio::test]
async fn stored_responses_continue_conversations_and_stay_private() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("store@example.com", "store-user").await;
    let (_, other) = app.user_with_key("other@example.com", "other-user").await;
    let groq = ChatMock::start("groq-up").await;
    app.connection(&key, json!({"provider": "groq", "name": "groq", "api_key": "sk-up-0002", "endpoint_url": groq.base})).await;

    // store defaults to true.
    let first: Value = create(
        &app,
        &key,
        json!({"model": "groq/gpt-4o", "input": "My name is Ada."}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["store"], true);
    let got: Value = app
        .api(Method::GET, &format!("/v1/responses/{id}"), &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, first);
    let items: Value = app
        .api(
            Method::GET,
            &format!("/v1/responses/{id}/input_items"),
            &key,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items["object"], "list");
    assert_eq!(
        items["data"][0]["content"],
        json!([{"type": "input_text", "text": "My name is Ada."}])
    );
    assert!(items["data"][0]["id"].as_str().unwrap().starts_with("msg_"));

    // Another user cannot see it, read its items or continue from it.
    let res = app
        .api(Method::GET, &format!("/v1/responses/{id}"), &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "RESPONSE_NOT_FOUND");
    let res = create(
        &app,
        &other,
        json!({"model": "groq/gpt-4o", "input": "and me?", "previous_response_id": id}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "PREVIOUS_RESPONSE_NOT_FOUND");
    assert!(
        err["error"].get("param").is_some(),
        "Responses error shape: {err}"
    );

    // The owner continues: the upstream sees the whole conversation.
    let second: Value = create(&app, &key, json!({"model": "groq/gpt-4o", "input": "What is my name?", "previous_response_id": id, "stream": true}))
        .await
        .text()
        .await
        .map(|t| {
            let last = t.split("\n\n").filter(|f| !f.trim().is_empty()).last().unwrap().to_owned();
            serde_json::from_str(last.lines().nth(1).unwrap().trim_start_matches("data: ")).unwrap()
        })
        .unwrap();
    assert_eq!(second["type"], "response.completed");
    assert_eq!(second["response"]["previous_response_id"], id.as_str());
    let messages = groq.last_body()["messages"].clone();
    assert_eq!(
        messages[0],
        json!({"role": "user", "content": "My name is Ada."})
    );
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": "hello from groq-up"})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": "What is my name?"})
    );

    // An earlier output item named by reference (as the AI SDK sends them) is resolved.
    let msg_id = first["output"][0]["id"].as_str().unwrap().to_owned();
    let res = create(&app, &key, json!({"model": "groq/gpt-4o", "input": [
        {"role": "user", "content": "My name is Ada."}, {"type": "item_reference", "id": msg_id}, {"role": "user", "content": "Again?"}]})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        groq.last_body()["messages"][1],
        json!({"role": "assistant", "content": "hello from groq-up"})
    );
    let res = create(
        &app,
        &key,
        json!({"model": "groq/gpt-4o", "input": [{"type": "item_reference", "id": "msg_nope"}]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Delete.
    let res = app
        .api(Method::DELETE, &format!("/v1/responses/{id}"), &key)
        .send()
        .await
        .unwrap();
    let deleted: Value = res.json().await.unwrap();
    assert_eq!(
        deleted,
        json!({"id": id, "object": "response.deleted", "deleted": true})
    );
    let res = app
        .api(Method::GET, &format!("/v1/responses/{id}"), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // store: false keeps nothing.
    let unstored: Value = create(
        &app,
        &key,
        json!({"model": "groq/gpt-4o", "input": "x", "store": false}),
    )
    .await
    .json()
    .await
    .unwrap();
    let res = app
        .api(
            Method::GET,
            &format!("/v1/responses/{}", unstored["id"].as_str().unwrap()),
            &key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_responses_requests_get_a_400_in_the_responses_shape() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("bad@example.com", "bad-user").await;
    for (body, needle) in [
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "teleporter"}]}),
            "teleporter",
        ),
        (json!({"model": "m"}), "input"),
        (json!({"input": "hi"}), "model"),
        (json!({"model": "m", "input": 5}), "input"),
        (
            json!({"model": "m", "input": "hi", "stream": "yes"}),
            "stream",
        ),
    ] {
        let res = create(&app, &key, body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = res.json().await.unwrap();
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {err}");
        assert!(err["error"]["type"] == "invalid_request_error", "{err}");
    }
    let res = app
        .api(Method::POST, "/v1/responses", "sk-langmart-wrong")
        .json(&json!({"model": "m", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
