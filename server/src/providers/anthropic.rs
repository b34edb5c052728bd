//! Anthropic Messages: `x-api-key` + `anthropic-version`; `POST {base}/v1/messages`
//! (whole or streamed as server-sent events), `GET {base}/v1/models` paged by `after_id`.
//! System messages become `system`, tool calls and results become `tool_use` and
//! `tool_result` blocks, and the answer's blocks, stop reason and usage map back.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::openai_format::{
    self as oai, ChatRequest, ChunkWriter, Content, Message, PartRef, ToolChoice, Usage,
};
use super::{
    cut_short_is_an_error, decode, event_json, native_reply, send, send_for, sse_chunks, ChatReply,
    DiscoveredModel, NativeApi, NativeReply, NativeRequest, ProviderError, SseEvent, Upstream,
};

pub const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; this is used when the request sets none.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// Stops a provider that always says `has_more` from looping forever.
const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
struct ModelPage {
    data: Vec<Model>,
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
    display_name: Option<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{}/v1/models", upstream.base_url))
            .header("x-api-key", upstream.credential("api_key"))
            .header("anthropic-version", API_VERSION)
            .query(&[("limit", "1000")]);
        if let Some(id) = &after {
            request = request.query(&[("after_id", id.as_str())]);
        }
        let page: ModelPage = decode(send(request, upstream).await?).await?;
        models.extend(page.data.into_iter().map(|m| DiscoveredModel {
            display_name: m.display_name.unwrap_or_else(|| m.id.clone()),
            id: m.id,
        }));
        match (page.has_more, page.last_id) {
            (true, Some(last)) => after = Some(last),
            _ => break,
        }
    }
    Ok(models)
}

pub async fn chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let req = ChatRequest::from_body(body)?;
    let native = to_native(&req, stream)?;
    let request = super::urls::post(client, format!("{}/v1/messages", upstream.base_url))
        .header("x-api-key", upstream.credential("api_key"))
        .header("anthropic-version", API_VERSION)
        .json(&native);
    let response = send_for(request, upstream, stream).await?;
    if !stream {
        let answer: MessageResponse = decode(response).await?;
        return Ok(ChatReply::Whole(answer.into_openai(&req.model)));
    }
    let mut state = StreamState::new(&req.model);
    let chunks = sse_chunks(response, move |_, data| state.on_event(data));
    Ok(ChatReply::Stream(cut_short_is_an_error(chunks, || false)))
}

/// A Messages (or count_tokens) request exactly as an Anthropic client wrote it: the body
/// goes as it came (its `model` already the upstream id), with the client's
/// `anthropic-version` and `anthropic-beta`, so prompt caching, thinking blocks and their
/// signatures, betas and any field added later reach Anthropic unchanged. A stream's
/// `error` event (e.g. `overloaded_error` after the 200) becomes an error item.
pub async fn native(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    request: NativeRequest<'_>,
) -> Result<NativeReply, ProviderError> {
    let path = match request.api {
        NativeApi::AnthropicCountTokens => "v1/messages/count_tokens",
        _ => "v1/messages",
    };
    let mut builder = super::urls::post(client, format!("{}/{path}", upstream.base_url))
        .header("x-api-key", upstream.credential("api_key"))
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    let mut has_version = false;
    for (name, value) in request.headers {
        has_version |= name.as_str() == "anthropic-version";
        builder = builder.header(name, value);
    }
    if !has_version {
        builder = builder.header("anthropic-version", API_VERSION);
    }
    let response = send_for(builder.body(request.body), upstream, request.stream).await?;
    native_reply(response, request.stream, |e: SseEvent| {
        if e.event == "error" {
            let error = serde_json::from_str::<Value>(&e.data).unwrap_or_default();
            let kind = error
                .pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or("api_error");
            let message = error
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the provider reported an error")
                .to_owned();
            return Some(Err(ProviderError::Http {
                status: status_of(kind),
                message,
                retry_after_secs: None,
            }));
        }
        Some(Ok(e))
    })
    .await
}

/// The Messages API request for an OpenAI-format chat request.
fn to_native(req: &ChatRequest, stream: bool) -> Result<Value, ProviderError> {
    req.require_single_choice("Anthropic")?;
    let mut system: Vec<String> = Vec::new();
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in &req.messages {
        match message {
            Message::System { content } | Message::Developer { content } => {
                system.push(content.text()?)
            }
            Message::User { content } => push(&mut messages, "user", user_blocks(content)?),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks = Vec::new();
                if let Some(content) = content {
                    let text = content.text()?;
                    if !text.is_empty() {
                        blocks.push(json!({"type": "text", "text": text}));
                    }
                }
                for call in tool_calls.iter().flatten() {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.function.name,
                        "input": call.function.arguments_json()?,
                    }));
                }
                push(&mut messages, "assistant", blocks);
            }
            Message::Tool {
                content,
                tool_call_id,
            } => push(
                &mut messages,
                "user",
                vec![
                    json!({"type": "tool_result", "tool_use_id": tool_call_id, "content": content.text()?}),
                ],
            ),
        }
    }
    let mut native = json!({
        "model": req.model,
        "max_tokens": req.max_output_tokens().unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages
            .into_iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect::<Vec<_>>(),
    });
    let system = system.join("\n\n");
    if !system.is_empty() {
        native["system"] = Value::String(system);
    }
    if let Some(t) = req.temperature {
        native["temperature"] = json!(t);
    }
    if let Some(p) = req.top_p {
        native["top_p"] = json!(p);
    }
    let stop = req.stop_sequences();
    if !stop.is_empty() {
        native["stop_sequences"] = json!(stop);
    }
    if stream {
        native["stream"] = json!(true);
    }
    if let Some(user) = &req.user {
        native["metadata"] = json!({"user_id": user});
    }
    if !req.tools().is_empty() {
        native["tools"] = Value::Array(
            req.tools()
                .iter()
                .map(|t| {
                    let mut tool =
                        json!({"name": t.function.name, "input_schema": t.function.schema()});
                    if let Some(d) = &t.function.description {
                        tool["description"] = json!(d);
                    }
                    tool
                })
                .collect(),
        );
        let mut choice = match req.tool_choice()? {
            None | Some(ToolChoice::Auto) => json!({"type": "auto"}),
            Some(ToolChoice::Required) => json!({"type": "any"}),
            Some(ToolChoice::None) => json!({"type": "none"}),
            Some(ToolChoice::Function(name)) => json!({"type": "tool", "name": name}),
        };
        if req.parallel_tool_calls == Some(false) && choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = json!(true);
        }
        native["tool_choice"] = choice;
    }
    Ok(native)
}

/// Appends blocks, merging consecutive messages of one role (Anthropic wants the roles to
/// alternate; OpenAI sends each tool result as its own message).
fn push(messages: &mut Vec<(&'static str, Vec<Value>)>, role: &'static str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some((last, existing)) if *last == role => existing.extend(blocks),
        _ => messages.push((role, blocks)),
    }
}

fn user_blocks(content: &Content) -> Result<Vec<Value>, ProviderError> {
    let mut blocks = Vec::new();
    for part in content.parts() {
        match part {
            PartRef::Text("") => {}
            PartRef::Text(t) => blocks.push(json!({"type": "text", "text": t})),
            PartRef::Image(url) => blocks.push(match oai::image(url)? {
                oai::Image::Inline { media_type, data } => {
                    json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
                }
                oai::Image::Remote(url) => {
                    json!({"type": "image", "source": {"type": "url", "url": url}})
                }
            }),
            PartRef::Unsupported => return Err(oai::unsupported_part("Anthropic")),
        }
    }
    Ok(blocks)
}

#[derive(Deserialize)]
struct MessageResponse {
    id: String,
    #[serde(default)]
    content: Vec<Block>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: NativeUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct NativeUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl NativeUsage {
    /// Prompt tokens in OpenAI's sense include the cached and cache-written ones.
    fn prompt(&self) -> Option<u64> {
        self.input_tokens.map(|i| {
            i + self.cache_creation_input_tokens.unwrap_or(0)
                + self.cache_read_input_tokens.unwrap_or(0)
        })
    }
}

impl MessageResponse {
    fn into_openai(self, model: &str) -> Value {
        let mut text: Option<String> = None;
        let mut tool_calls = Vec::new();
        for block in self.content {
            match block {
                Block::Text { text: t } => text.get_or_insert_with(String::new).push_str(&t),
                Block::ToolUse { id, name, input } => tool_calls.push(oai::ToolCallOut {
                    id,
                    name,
                    arguments: input.to_string(),
                }),
                Block::Other => {}
            }
        }
        if text.is_none() && tool_calls.is_empty() {
            text = Some(String::new());
        }
        let choice = oai::Choice {
            text,
            tool_calls,
            finish_reason: finish_reason(self.stop_reason.as_deref()),
        };
        let usage = Usage {
            prompt: self.usage.prompt().unwrap_or(0),
            completion: self.usage.output_tokens.unwrap_or(0),
            cached: self.usage.cache_read_input_tokens,
        };
        oai::completion(&self.id, model, &[choice], usage)
    }
}

fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// The HTTP status Anthropic uses for each error type, for errors that arrive in a stream.
fn status_of(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: NativeUsage,
    },
    MessageStop,
    Error {
        error: ErrorBody,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    id: String,
    #[serde(default)]
    usage: NativeUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// Turns Messages stream events into OpenAI chunks.
struct StreamState {
    writer: ChunkWriter,
    usage: NativeUsage,
    /// Anthropic content-block index → OpenAI tool-call index.
    tool_blocks: HashMap<u32, usize>,
    done: bool,
}

impl StreamState {
    fn new(model: &str) -> Self {
        StreamState {
            writer: ChunkWriter::new("msg", model),
            usage: NativeUsage::default(),
            tool_blocks: HashMap::new(),
            done: false,
        }
    }

    fn on_event(&mut self, data: &str) -> Vec<Result<Value, ProviderError>> {
        if self.done {
            return Vec::new();
        }
        let event: Event = match event_json(data) {
            Ok(e) => e,
            Err(e) => return vec![Err(e)],
        };
        let w = &self.writer;
        let chunk = match event {
            Event::MessageStart { message } => {
                self.writer.set_id(message.id);
                self.usage = message.usage;
                self.writer.role()
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                StartBlock::Text { text } if !text.is_empty() => w.text(&text),
                StartBlock::ToolUse { id, name } => {
                    let n = self.tool_blocks.len();
                    self.tool_blocks.insert(index, n);
                    w.tool_start(n, &id, &name)
                }
                _ => return Vec::new(),
            },
            Event::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::Text { text } => w.text(&text),
                BlockDelta::InputJson { partial_json } if !partial_json.is_empty() => {
                    match self.tool_blocks.get(&index) {
                        Some(n) => w.tool_arguments(*n, &partial_json),
                        None => return Vec::new(),
                    }
                }
                _ => return Vec::new(),
            },
            Event::MessageDelta { delta, usage } => {
                // Counts here are cumulative and win over message_start's.
                let u = &mut self.usage;
                u.output_tokens = usage.output_tokens.or(u.output_tokens);
                u.input_tokens = usage.input_tokens.or(u.input_tokens);
                u.cache_read_input_tokens =
                    usage.cache_read_input_tokens.or(u.cache_read_input_tokens);
                u.cache_creation_input_tokens = usage
                    .cache_creation_input_tokens
                    .or(u.cache_creation_input_tokens);
                w.finish(finish_reason(delta.stop_reason.as_deref()))
            }
            Event::MessageStop => {
                self.done = true;
                w.usage(Usage {
                    prompt: self.usage.prompt().unwrap_or(0),
                    completion: self.usage.output_tokens.unwrap_or(0),
                    cached: self.usage.cache_read_input_tokens,
                })
            }
            Event::Error { error } => {
                self.done = true;
                return vec![Err(ProviderError::Http {
                    status: status_of(&error.kind),
                    message: error.message,
                    retry_after_secs: None,
                })];
            }
            Event::Other => return Vec::new(),
        };
        vec![Ok(chunk)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOL_REQUEST: &str =
        include_str!("../../tests/fixtures/anthropic/request_tools.openai.json");
    const TOOL_NATIVE: &str =
        include_str!("../../tests/fixtures/anthropic/request_tools.native.json");
    const TOOL_ANSWER: &str = include_str!("../../tests/fixtures/anthropic/message_tool_use.json");
    const STREAM: &str = include_str!("../../tests/fixtures/anthropic/stream_tool_use.sse");

    proptest::proptest! {
        /// Answers and stream events with any part replaced by arbitrary JSON, and
        /// arbitrary bytes as an event, never panic the decoder.
        #[test]
        fn arbitrary_answers_and_events_never_panic(
            answer in super::super::fuzz::mutated(serde_json::from_str(TOOL_ANSWER).unwrap()),
            events in super::super::fuzz::mutated_events(STREAM),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            super::super::fuzz::run_decoders(
                answer,
                |a: MessageResponse| drop(a.into_openai("m")),
                &events,
                &bytes,
                || StreamState::new("m"),
                |s, data| drop(s.on_event(data)),
            );
        }
    }

    fn events(sse: &str) -> Vec<Value> {
        let mut state = StreamState::new("claude-test");
        sse.split("\n\n")
            .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
            .flat_map(|data| state.on_event(data))
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn translates_system_tools_images_and_tool_results() {
        let req = ChatRequest::from_body(&serde_json::from_str(TOOL_REQUEST).unwrap()).unwrap();
        let native = to_native(&req, false).unwrap();
        let expected: Value = serde_json::from_str(TOOL_NATIVE).unwrap();
        assert_eq!(native, expected);
    }

    #[test]
    fn max_tokens_defaults_and_parallel_calls_can_be_turned_off() {
        let req = ChatRequest::from_body(&json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "parallel_tool_calls": false, "tool_choice": "required", "stream": true,
        }))
        .unwrap();
        let native = to_native(&req, true).unwrap();
        assert_eq!(native["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(
            native["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            native["tools"][0]["input_schema"],
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(native["stream"], true);
    }

    #[test]
    fn a_tool_use_answer_becomes_tool_calls() {
        let answer: MessageResponse = serde_json::from_str(TOOL_ANSWER).unwrap();
        let out = answer.into_openai("claude-test");
        let msg = &out["choices"][0]["message"];
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(msg["content"], "I'll check the weather in Paris.");
        assert_eq!(msg["tool_calls"][0]["id"], "toolu_01A09q90qw90lq917835lq9");
        assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
        let args: Value = serde_json::from_str(
            msg["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            args,
            json!({"location": "Paris, France", "unit": "celsius"})
        );
        assert_eq!(
            out["usage"],
            json!({"prompt_tokens": 472, "completion_tokens": 89, "total_tokens": 561, "prompt_tokens_details": {"cached_tokens": 0}})
        );
    }

    #[test]
    fn stream_events_become_chunks_with_tool_calls_and_usage() {
        let chunks = events(STREAM);
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(chunks
            .iter()
            .all(|c| c["id"] == "msg_014p7gG3wDgGV9EUtLvnow3U"));
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Okay, let me check.");
        let start = chunks
            .iter()
            .find(|c| c["choices"][0]["delta"]["tool_calls"][0]["id"].is_string())
            .unwrap();
        assert_eq!(
            start["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
            "get_weather"
        );
        let args: String = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            json!({"location": "San Francisco, CA"})
        );
        let finish = chunks
            .iter()
            .find_map(|c| c["choices"][0]["finish_reason"].as_str())
            .unwrap();
        assert_eq!(finish, "tool_calls");
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(last["usage"]["prompt_tokens"], 472);
        assert_eq!(last["usage"]["completion_tokens"], 89);
    }

    #[test]
    fn an_error_event_ends_the_stream_with_its_status() {
        let mut state = StreamState::new("m");
        let out = state.on_event(
            r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
        );
        assert!(
            matches!(&out[0], Err(ProviderError::Http { status: 529, message, .. }) if message == "Overloaded")
        );
        assert!(state.on_event(r#"{"type": "message_stop"}"#).is_empty());
    }
}
