//! The native adapters through `/v1/chat/completions` and `/v1/embeddings`: for each of
//! Anthropic, Gemini, Bedrock, Azure OpenAI and Cohere, a connection is tested and
//! discovered against its mock, then whole and streamed answers, tool calls and errors
//! come back in OpenAI's format, and the mock saw exactly the native request it expects.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};
use crate::mocks::{connection_body, Mock};

const KEY: &str = "sk-native-test-0001";

struct Family {
    provider: &'static str,
    model: &'static str,
    /// The fixture's text answer.
    text: &'static str,
    tool: &'static str,
    tool_args: Value,
    /// Arguments of the streamed tool call, where the fixture streams one.
    stream_tool_args: Option<Value>,
    /// Where the whole text request went (path and query) and the body it carried.
    native_uri: &'static str,
    native_body: Value,
    /// The header that carries the credential, and its expected value.
    auth: (&'static str, &'static str),
    /// The failure the mock answers with, and what the client then sees.
    failure: u16,
    client_status: u16,
}

fn families() -> Vec<Family> {
    let user = json!([{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]);
    vec![
        Family {
            provider: "anthropic",
            model: "claude-sonnet-4-20250514",
            text: "Hello from Claude.",
            tool: "get_weather",
            tool_args: json!({"location": "Paris, France", "unit": "celsius"}),
            stream_tool_args: Some(json!({"location": "San Francisco, CA"})),
            native_uri: "/anthropic/v1/messages",
            native_body: json!({"model": "claude-sonnet-4-20250514", "max_tokens": 4096, "system": "Be brief.", "messages": user}),
            auth: ("x-api-key", KEY),
            failure: 529,
            client_status: 503,
        },
        Family {
            provider: "google",
            model: "gemini-2.0-flash",
            text: "Hello from Gemini.",
            tool: "get_weather",
            tool_args: json!({"location": "Paris"}),
            stream_tool_args: Some(json!({"location": "Paris"})),
            native_uri: "/gemini/v1beta/models/gemini-2.0-flash:generateContent",
            native_body: json!({"contents": [{"role": "user", "parts": [{"text": "Say hello"}]}], "systemInstruction": {"parts": [{"text": "Be brief."}]}}),
            auth: ("x-goog-api-key", KEY),
            failure: 429,
            client_status: 429,
        },
        Family {
            provider: "bedrock",
            model: "anthropic.claude-3-haiku-20240307-v1:0",
            text: "Hello from Bedrock.",
            tool: "top_song",
            tool_args: json!({"sign": "WZPZ"}),
            stream_tool_args: Some(json!({"sign": "WZPZ"})),
            native_uri: "/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
            native_body: json!({"messages": [{"role": "user", "content": [{"text": "Say hello"}]}], "system": [{"text": "Be brief."}]}),
            // The signature itself is recomputed by the mock; a wrong one answers 403.
            auth: ("content-type", "application/json"),
            failure: 429,
            client_status: 429,
        },
        Family {
            provider: "azure-openai",
            model: "prod-gpt4o",
            text: "Hello from Azure.",
            tool: "get_weather",
            tool_args: json!({"location": "Seattle"}),
            stream_tool_args: None,
            native_uri:
                "/azure/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21",
            native_body: json!({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]}),
            auth: ("api-key", KEY),
            failure: 429,
            client_status: 429,
        },
        Family {
            provider: "cohere",
            model: "command-r-plus",
            text: "Hello from Cohere.",
            tool: "get_weather",
            tool_args: json!({"location": "Toronto"}),
            stream_tool_args: Some(json!({"location": "Toronto"})),
            native_uri: "/cohere/v2/chat",
            native_body: json!({"model": "command-r-plus", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]}),
            auth: ("authorization", "Bearer sk-native-test-0001"),
            failure: 429,
            client_status: 429,
        },
    ]
}

async fn connect(app: &TestApp, key: &str, mock: &Mock, provider: &str) -> String {
    let created: Value = app
        .api(Method::POST, "/api/connections", key)
        .json(&connection_body(
            mock,
            provider,
            &format!("{provider} native"),
            KEY,
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let tested: Value = app
        .api(Method::POST, &format!("/api/connections/{id}/test"), key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tested["success"], true, "{provider}: {tested}");
    assert_eq!(tested["status"], "active");
    let discovered = app
        .api(
            Method::POST,
            &format!("/api/connections/{id}/discover"),
            key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(discovered.status(), StatusCode::OK, "{provider} discover");
    id
}

fn tools() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather for a place",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}])
}

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> reqwest::Response {
    app.api(Method::POST, path, key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The `data:` payloads of a server-sent-event body.
async fn sse_data(res: reqwest::Response) -> Vec<String> {
    let text = res.text().await.unwrap();
    text.split("\n\n")
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(str::to_owned)
        .collect()
}

fn chunks(data: &[String]) -> Vec<Value> {
    data.iter()
        .filter(|d| d.as_str() != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect()
}

fn streamed_arguments(chunks: &[Value]) -> Value {
    let args: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/tool_calls/0/function/arguments")
                .and_then(Value::as_str)
        })
        .collect();
    serde_json::from_str(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[tokio::test]
async fn every_native_family_answers_in_openai_format() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("native@example.com", "native-user").await;
    let mock = Mock::start(KEY).await;
    for f in families() {
        let p = f.provider;
        let conn = connect(&app, &key, &mock, p).await;
        let model = format!("{p}/{}", f.model);
        let messages = json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]);

        // Whole text answer, and the exact native request behind it.
        let res = post(
            &app,
            &key,
            "/v1/chat/completions",
            json!({"model": model, "messages": messages}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{p}");
        assert_eq!(res.headers()["x-langmart-connection"], conn.as_str());
        assert_eq!(res.headers()["x-langmart-provider"], p);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["object"], "chat.completion", "{p}: {body}");
        assert_eq!(body["model"], model);
        assert_eq!(body["choices"][0]["message"]["role"], "assistant");
        assert_eq!(
            body["choices"][0]["message"]["content"], f.text,
            "{p}: {body}"
        );
        assert_eq!(body["choices"][0]["finish_reason"], "stop", "{p}");
        let usage = &body["usage"];
        assert!(usage["prompt_tokens"].as_u64().unwrap() > 0, "{p}: {usage}");
        assert_eq!(
            usage["total_tokens"].as_u64().unwrap(),
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        );
        let seen = mock.last_request();
        assert_eq!(seen.uri, f.native_uri, "{p}");
        assert_eq!(seen.body, f.native_body, "{p}");
        assert_eq!(seen.headers[f.auth.0], f.auth.1, "{p}");

        // Whole tool call.
        let res = post(
            &app,
            &key,
            "/v1/chat/completions",
            json!({"model": model, "messages": messages, "tools": tools()}),
        )
        .await;
        let body: Value = res.json().await.unwrap();
        let call = &body["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(
            body["choices"][0]["finish_reason"], "tool_calls",
            "{p}: {body}"
        );
        assert_eq!(call["type"], "function");
        assert!(!call["id"].as_str().unwrap().is_empty());
        assert_eq!(call["function"]["name"], f.tool, "{p}");
        let args: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, f.tool_args, "{p}");
        assert!(
            mock.last_request()
                .body
                .to_string()
                .contains("Weather for a place"),
            "{p}: tools were sent"
        );

        // Streamed text: chunks, a usage chunk without choices, then [DONE].
        let res = post(
            &app,
            &key,
            "/v1/chat/completions",
            json!({"model": model, "messages": messages, "stream": true}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{p}");
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let data = sse_data(res).await;
        assert_eq!(data.last().unwrap(), "[DONE]", "{p}");
        let streamed = chunks(&data);
        assert!(
            streamed
                .iter()
                .all(|c| c["model"] == model || c["model"] == ""),
            "{p}"
        );
        assert_eq!(streamed_text(&streamed), f.text, "{p}");
        assert!(
            streamed
                .iter()
                .all(|c| c["choices"].get(0).is_some() && c.get("usage").is_none()),
            "{p}: no usage chunk unless asked"
        );
        let res = post(
            &app,
            &key,
            "/v1/chat/completions",
            json!({"model": model, "messages": messages, "stream": true, "stream_options": {"include_usage": true}}),
        )
        .await;
        let streamed = chunks(&sse_data(res).await);
        let usage = streamed
            .iter()
            .rev()
            .find(|c| c["usage"].is_object())
            .unwrap();
        assert_eq!(usage["choices"], json!([]), "{p}");
        assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0, "{p}");

        // Streamed tool call.
        if let Some(expected) = &f.stream_tool_args {
            let res = post(
                &app,
                &key,
                "/v1/chat/completions",
                json!({"model": model, "messages": messages, "tools": tools(), "stream": true}),
            )
            .await;
            let streamed = chunks(&sse_data(res).await);
            let start = streamed
                .iter()
                .find(|c| c.pointer("/choices/0/delta/tool_calls/0/id").is_some())
                .unwrap_or_else(|| panic!("{p}: no tool call started"));
            assert_eq!(
                start
                    .pointer("/choices/0/delta/tool_calls/0/function/name")
                    .unwrap(),
                f.tool,
                "{p}"
            );
            assert_eq!(&streamed_arguments(&streamed), expected, "{p}");
            let finish = streamed.iter().find_map(|c| {
                c.pointer("/choices/0/finish_reason")
                    .and_then(Value::as_str)
            });
            assert_eq!(finish, Some("tool_calls"), "{p}");
        }
    }

    // Provider failures keep their status and name the provider (last: a 429 rests the
    // connection).
    for f in families() {
        mock.fail(f.failure, Some(7));
        let res = post(&app, &key, "/v1/chat/completions", json!({"model": format!("{}/{}", f.provider, f.model), "messages": [{"role": "user", "content": "hi"}]})).await;
        assert_eq!(res.status().as_u16(), f.client_status, "{}", f.provider);
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap();
        let code = format!(
            "PROVIDER_{}_{}",
            f.provider.to_uppercase().replace('-', "_"),
            f.failure
        );
        assert_eq!(body["error"]["code"], code, "{body}");
        if f.failure == 429 {
            assert_eq!(retry_after.as_deref(), Some("7"), "{}", f.provider);
        }
    }
    mock.succeed();
    app.stop().await;
}

#[tokio::test]
async fn gemini_safety_blocks_and_bedrock_signatures_are_clear_errors() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("blocks@example.com", "blocks-user").await;
    let mock = Mock::start(KEY).await;
    connect(&app, &key, &mock, "google").await;
    let res = post(&app, &key, "/v1/chat/completions", json!({"model": "google/gemini-2.0-flash", "messages": [{"role": "user", "content": "something dangerous"}]})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "PROVIDER_GOOGLE_CONTENT_BLOCKED");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SAFETY") && message.contains("HARM_CATEGORY_DANGEROUS_CONTENT"),
        "{message}"
    );

    // A Bedrock connection whose secret is wrong signs wrongly: the provider's 403 comes
    // back named, and the connection is marked in error.
    let created: Value = app
        .api(Method::POST, "/api/connections", &key)
        .json(&connection_body(
            &mock,
            "bedrock",
            "wrong secret",
            "not-the-secret",
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = post(&app, &key, "/v1/chat/completions", json!({"model": "bedrock/anthropic.claude-3-haiku-20240307-v1:0", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "PROVIDER_BEDROCK_403", "{body}");
    assert!(created["id"].is_string());

    // What a family cannot take is a 400 before any call is made.
    connect(&app, &key, &mock, "anthropic").await;
    let before = mock.calls();
    let res = post(&app, &key, "/v1/chat/completions", json!({"model": "anthropic/claude-sonnet-4-20250514",
        "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["code"], "PROVIDER_ANTHROPIC_UNSUPPORTED",
        "{body}"
    );
    assert_eq!(mock.calls(), before);
    app.stop().await;
}

#[tokio::test]
async fn native_embeddings_come_back_as_openai_lists() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("embed@example.com", "embed-user").await;
    let mock = Mock::start(KEY).await;
    for p in ["google", "cohere", "azure-openai"] {
        connect(&app, &key, &mock, p).await;
    }
    let embed = |model: &str, input: Value, format: Option<&str>| {
        let mut body = json!({"model": model, "input": input});
        if let Some(f) = format {
            body["encoding_format"] = json!(f);
        }
        body
    };
    let one = post(
        &app,
        &key,
        "/v1/embeddings",
        embed("google/text-embedding-004", json!("hello"), None),
    )
    .await;
    let one: Value = one.json().await.unwrap();
    assert_eq!(one["object"], "list", "{one}");
    assert_eq!(one["data"][0]["embedding"], json!([0.25, -0.5, 0.75]));
    assert!(mock
        .last_request()
        .uri
        .ends_with("text-embedding-004:embedContent"));

    let batch: Value = post(
        &app,
        &key,
        "/v1/embeddings",
        embed("google/text-embedding-004", json!(["a", "b"]), None),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(batch["data"].as_array().unwrap().len(), 2, "{batch}");
    assert_eq!(batch["data"][1]["index"], 1);
    assert!(mock.last_request().uri.ends_with(":batchEmbedContents"));

    // The openai SDKs ask for base64 by default: little-endian f32.
    let b64: Value = post(
        &app,
        &key,
        "/v1/embeddings",
        embed(
            "cohere/embed-english-v3.0",
            json!(["hello", "world"]),
            Some("base64"),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> = raw
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(floats, vec![0.25, -0.5, 0.75]);
    assert_eq!(b64["usage"]["prompt_tokens"], 2);
    assert_eq!(mock.last_request().body["input_type"], "search_document");

    let azure: Value = post(
        &app,
        &key,
        "/v1/embeddings",
        embed("azure-openai/embeddings", json!("hello"), None),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        azure["data"][0]["embedding"],
        json!([0.25, -0.5, 0.75]),
        "{azure}"
    );
    assert_eq!(
        mock.last_request().uri,
        "/azure/openai/deployments/embeddings/embeddings?api-version=2024-10-21"
    );
    app.stop().await;
}

/// A translated stream that a proxy or the provider closes cleanly mid-answer (no finish,
/// no closing event) ends with the dialect's error event, not as if it were whole, and
/// its row says so — for every family, not only OpenAI's.
#[tokio::test]
async fn a_stream_cut_short_is_an_error_in_every_family() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("cut@example.com", "cut-user").await;
    let mock = Mock::start(KEY).await;
    for f in families() {
        let p = f.provider;
        connect(&app, &key, &mock, p).await;
        mock.end_streams_early();
        let res = post(
            &app,
            &key,
            "/v1/chat/completions",
            json!({"model": format!("{p}/{}", f.model), "stream": true,
                   "messages": [{"role": "user", "content": "Say hello"}]}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{p}");
        let data = sse_data(res).await;
        let code = format!(
            "PROVIDER_{}_STREAM_INTERRUPTED",
            p.to_uppercase().replace('-', "_")
        );
        let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
        assert_eq!(last["error"]["code"], code.as_str(), "{p}: {data:?}");
        assert!(
            !data
                .iter()
                .any(|d| d.contains("\"finish_reason\":\"stop\"")),
            "{p}: a cut stream must not look finished: {data:?}"
        );
        let mut row = Value::Null;
        for _ in 0..50 {
            row = app
                .log_rows(&key, "")
                .await
                .into_iter()
                .next()
                .unwrap_or_default();
            if row["error_code"] == code.as_str() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(row["error_code"], code.as_str(), "{p}: {row}");
        assert_eq!(row["status"], 502, "{p}: {row}");
        mock.succeed();
    }
    app.stop().await;
}
