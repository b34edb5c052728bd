//! Cohere v2: `Authorization: Bearer`; `POST {base}/v2/chat` (whole or streamed as
//! server-sent events), `POST {base}/v2/embed`, and `GET {base}/v1/models` paged by
//! `page_token`. The v2 chat format is close to OpenAI's (roles, tool calls with JSON
//! text arguments); content blocks, finish reasons, usage and stream events map back.

use serde::Deserialize;
use serde_json::{json, Value};

use super::openai_format::{
    self as oai, ChatRequest, ChunkWriter, Content, Message, PartRef, ToolChoice, Usage,
};
use super::{
    cut_short_is_an_error, decode, event_json, send, send_for, sse_chunks, ChatReply,
    DiscoveredModel, ProviderError, Upstream,
};

const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
struct ModelPage {
    #[serde(default)]
    models: Vec<Model>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Model {
    name: String,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{}/v1/models", upstream.base_url))
            .bearer_auth(upstream.credential("api_key"))
            .query(&[("page_size", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("page_token", t.as_str())]);
        }
        let page: ModelPage = decode(send(request, upstream).await?).await?;
        models.extend(page.models.into_iter().map(|m| DiscoveredModel {
            display_name: m.name.clone(),
            id: m.name,
        }));
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
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
    let request = super::urls::post(client, format!("{}/v2/chat", upstream.base_url))
        .bearer_auth(upstream.credential("api_key"))
        .json(&native);
    let response = send_for(request, upstream, stream).await?;
    if !stream {
        let answer: ChatResponse = decode(response).await?;
        return Ok(ChatReply::Whole(answer.into_openai(&req.model)));
    }
    let mut state = StreamState::new(&req.model);
    let chunks = sse_chunks(response, move |_, data| state.on_event(data));
    Ok(ChatReply::Stream(cut_short_is_an_error(chunks, || false)))
}

fn to_native(req: &ChatRequest, stream: bool) -> Result<Value, ProviderError> {
    req.require_single_choice("Cohere")?;
    let mut messages = Vec::new();
    for message in &req.messages {
        messages.push(match message {
            Message::System { content } | Message::Developer { content } => {
                json!({"role": "system", "content": content.text()?})
            }
            Message::User { content } => json!({"role": "user", "content": user_content(content)?}),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut m = json!({"role": "assistant"});
                let calls = tool_calls.as_ref().filter(|c| !c.is_empty());
                if let Some(c) = content {
                    let text = c.text()?;
                    if !text.is_empty() {
                        // Text said before tool calls is Cohere's tool plan.
                        let field = if calls.is_some() { "tool_plan" } else { "content" };
                        m[field] = json!(text);
                    }
                }
                if let Some(calls) = calls {
                    m["tool_calls"] = Value::Array(
                        calls
                            .iter()
                            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}))
                            .collect(),
                    );
                }
                m
            }
            Message::Tool {
                content,
                tool_call_id,
            } => json!({"role": "tool", "tool_call_id": tool_call_id, "content": content.text()?}),
        });
    }
    let mut native = json!({"model": req.model, "messages": messages});
    let fields: [(&str, Option<Value>); 7] = [
        ("max_tokens", req.max_output_tokens().map(|v| json!(v))),
        ("temperature", req.temperature.map(|v| json!(v))),
        ("p", req.top_p.map(|v| json!(v))),
        ("seed", req.seed.map(|v| json!(v))),
        ("frequency_penalty", req.frequency_penalty.map(|v| json!(v))),
        ("presence_penalty", req.presence_penalty.map(|v| json!(v))),
        ("stream", stream.then_some(json!(true))),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            native[k] = v;
        }
    }
    let stop = req.stop_sequences();
    if !stop.is_empty() {
        native["stop_sequences"] = json!(stop);
    }
    if req.wants_json() {
        let mut format = json!({"type": "json_object"});
        if let Some(schema) = req
            .response_format
            .as_ref()
            .and_then(|f| f.json_schema.as_ref())
            .and_then(|s| s.get("schema"))
        {
            format["json_schema"] = schema.clone();
        }
        native["response_format"] = format;
    }
    let choice = req.tool_choice()?;
    let tools: Vec<Value> = req
        .tools()
        .iter()
        // Cohere cannot name one tool: offering only that one and requiring a call is the same.
        .filter(|t| match &choice {
            Some(ToolChoice::Function(name)) => t.function.name == *name,
            _ => true,
        })
        .map(|t| {
            let mut f = json!({"name": t.function.name, "parameters": t.function.schema()});
            if let Some(d) = &t.function.description {
                f["description"] = json!(d);
            }
            json!({"type": "function", "function": f})
        })
        .collect();
    if !tools.is_empty() {
        native["tools"] = Value::Array(tools);
        match choice {
            Some(ToolChoice::Required) | Some(ToolChoice::Function(_)) => {
                native["tool_choice"] = json!("REQUIRED")
            }
            Some(ToolChoice::None) => native["tool_choice"] = json!("NONE"),
            _ => {}
        }
    }
    Ok(native)
}

fn user_content(content: &Content) -> Result<Value, ProviderError> {
    if let Content::Text(t) = content {
        return Ok(json!(t));
    }
    let mut parts = Vec::new();
    for part in content.parts() {
        match part {
            PartRef::Text(t) => parts.push(json!({"type": "text", "text": t})),
            PartRef::Image(url) => {
                oai::image(url)?;
                parts.push(json!({"type": "image_url", "image_url": {"url": url}}))
            }
            PartRef::Unsupported => return Err(oai::unsupported_part("Cohere")),
        }
    }
    Ok(Value::Array(parts))
}

#[derive(Deserialize)]
struct ChatResponse {
    id: String,
    finish_reason: Option<String>,
    message: ResponseMessage,
    #[serde(default)]
    usage: NativeUsage,
}

#[derive(Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    content: Vec<ContentBlock>,
    tool_plan: Option<String>,
    #[serde(default)]
    tool_calls: Vec<NativeToolCall>,
}

#[derive(Deserialize)]
struct ContentBlock {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct NativeToolCall {
    id: String,
    function: NativeFunction,
}

#[derive(Deserialize)]
struct NativeFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct NativeUsage {
    tokens: Option<Tokens>,
    billed_units: Option<Tokens>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Tokens {
    #[serde(default)]
    input_tokens: f64,
    #[serde(default)]
    output_tokens: f64,
}

impl NativeUsage {
    /// Tokens the model saw (including Cohere's own prompt template), else billed units.
    fn usage(self) -> Usage {
        let t = self.tokens.or(self.billed_units).unwrap_or_default();
        Usage {
            prompt: t.input_tokens as u64,
            completion: t.output_tokens as u64,
            cached: None,
        }
    }
}

fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some("TOOL_CALL") => "tool_calls",
        _ => "stop",
    }
}

impl ChatResponse {
    fn into_openai(self, model: &str) -> Value {
        let mut text: Option<String> = None;
        for block in &self.message.content {
            if let Some(t) = &block.text {
                text.get_or_insert_with(String::new).push_str(t);
            }
        }
        // The plan is what the model says before calling tools: the text of that turn.
        if text.is_none() {
            text = self.message.tool_plan.filter(|p| !p.is_empty());
        }
        let tool_calls: Vec<oai::ToolCallOut> = self
            .message
            .tool_calls
            .into_iter()
            .map(|c| oai::ToolCallOut {
                id: c.id,
                name: c.function.name,
                arguments: c.function.arguments,
            })
            .collect();
        if text.is_none() && tool_calls.is_empty() {
            text = Some(String::new());
        }
        let choice = oai::Choice {
            text,
            tool_calls,
            finish_reason: finish_reason(self.finish_reason.as_deref()),
        };
        oai::completion(&self.id, model, &[choice], self.usage.usage())
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Event {
    MessageStart {
        id: Option<String>,
    },
    ContentDelta {
        delta: EventDelta,
    },
    ToolPlanDelta {
        delta: EventDelta,
    },
    ToolCallStart {
        index: usize,
        delta: EventDelta,
    },
    ToolCallDelta {
        index: usize,
        delta: EventDelta,
    },
    MessageEnd {
        delta: EndDelta,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct EventDelta {
    message: Option<DeltaMessage>,
}

#[derive(Deserialize)]
struct DeltaMessage {
    content: Option<ContentBlock>,
    tool_plan: Option<String>,
    tool_calls: Option<DeltaToolCall>,
}

#[derive(Deserialize)]
struct DeltaToolCall {
    id: Option<String>,
    function: Option<DeltaFunction>,
}

#[derive(Deserialize)]
struct DeltaFunction {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct EndDelta {
    finish_reason: Option<String>,
    #[serde(default)]
    usage: NativeUsage,
}

struct StreamState {
    writer: ChunkWriter,
    done: bool,
}

impl StreamState {
    fn new(model: &str) -> Self {
        StreamState {
            writer: ChunkWriter::new("cohere", model),
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
        let message = |d: EventDelta| d.message;
        let out = match event {
            Event::MessageStart { id } => {
                if let Some(id) = id {
                    self.writer.set_id(id);
                }
                vec![self.writer.role()]
            }
            Event::ContentDelta { delta } => message(delta)
                .and_then(|m| m.content)
                .and_then(|c| c.text)
                .map(|t| vec![w.text(&t)])
                .unwrap_or_default(),
            Event::ToolPlanDelta { delta } => message(delta)
                .and_then(|m| m.tool_plan)
                .map(|t| vec![w.text(&t)])
                .unwrap_or_default(),
            Event::ToolCallStart { index, delta } => {
                let call = message(delta).and_then(|m| m.tool_calls);
                let Some(DeltaToolCall {
                    id: Some(id),
                    function: Some(f),
                }) = call
                else {
                    return vec![Err(ProviderError::Decode(
                        "tool-call-start without an id and function".into(),
                    ))];
                };
                let mut v = vec![w.tool_start(index, &id, f.name.as_deref().unwrap_or_default())];
                if let Some(args) = f.arguments.filter(|a| !a.is_empty()) {
                    v.push(w.tool_arguments(index, &args));
                }
                v
            }
            Event::ToolCallDelta { index, delta } => message(delta)
                .and_then(|m| m.tool_calls)
                .and_then(|c| c.function)
                .and_then(|f| f.arguments)
                .filter(|a| !a.is_empty())
                .map(|a| vec![w.tool_arguments(index, &a)])
                .unwrap_or_default(),
            Event::MessageEnd { delta } => {
                self.done = true;
                vec![
                    w.finish(finish_reason(delta.finish_reason.as_deref())),
                    w.usage(delta.usage.usage()),
                ]
            }
            Event::Other => Vec::new(),
        };
        out.into_iter().map(Ok).collect()
    }
}

#[derive(Deserialize)]
struct EmbedResponse {
    embeddings: EmbeddingsByType,
    #[serde(default)]
    meta: Option<EmbedMeta>,
}

#[derive(Deserialize)]
struct EmbeddingsByType {
    #[serde(default)]
    float: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct EmbedMeta {
    billed_units: Option<Tokens>,
}

pub async fn embed(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
) -> Result<Value, ProviderError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let texts = oai::embedding_inputs(body)?;
    // Cohere's v3+ embedding models need to know what the text is for.
    let input_type = body
        .get("input_type")
        .and_then(Value::as_str)
        .or_else(|| upstream.setting("input_type"))
        .unwrap_or("search_document");
    let mut native = json!({"model": model, "texts": texts, "input_type": input_type, "embedding_types": ["float"]});
    if let Some(d) = body.get("dimensions").and_then(Value::as_u64) {
        native["output_dimension"] = json!(d);
    }
    let request = client
        .post(format!("{}/v2/embed", upstream.base_url))
        .bearer_auth(upstream.credential("api_key"))
        .json(&native);
    let answer: EmbedResponse = decode(send(request, upstream).await?).await?;
    let tokens = answer
        .meta
        .and_then(|m| m.billed_units)
        .map(|b| b.input_tokens as u64)
        .unwrap_or(0);
    Ok(oai::embedding_list(
        model,
        answer.embeddings.float,
        tokens,
        oai::wants_base64(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOL_REQUEST: &str =
        include_str!("../../tests/fixtures/cohere/request_tools.openai.json");
    const TOOL_NATIVE: &str = include_str!("../../tests/fixtures/cohere/request_tools.native.json");
    const TOOL_ANSWER: &str = include_str!("../../tests/fixtures/cohere/chat_tool_call.json");
    const STREAM: &str = include_str!("../../tests/fixtures/cohere/stream_tool_call.sse");

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
                |a: ChatResponse| drop(a.into_openai("m")),
                &events,
                &bytes,
                || StreamState::new("m"),
                |s, data| drop(s.on_event(data)),
            );
        }
    }

    #[test]
    fn translates_messages_tools_and_a_named_tool_choice() {
        let req = ChatRequest::from_body(&serde_json::from_str(TOOL_REQUEST).unwrap()).unwrap();
        let expected: Value = serde_json::from_str(TOOL_NATIVE).unwrap();
        assert_eq!(to_native(&req, false).unwrap(), expected);
    }

    #[test]
    fn a_tool_call_answer_keeps_ids_arguments_and_usage() {
        let answer: ChatResponse = serde_json::from_str(TOOL_ANSWER).unwrap();
        let out = answer.into_openai("command-test");
        let msg = &out["choices"][0]["message"];
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(msg["content"], "I will look up the weather in Toronto.");
        assert_eq!(msg["tool_calls"][0]["id"], "get_weather_1byjy32y4hvq");
        assert_eq!(
            msg["tool_calls"][0]["function"]["arguments"],
            "{\"location\":\"Toronto\"}"
        );
        assert_eq!(out["usage"]["prompt_tokens"], 37);
        assert_eq!(out["usage"]["completion_tokens"], 28);
    }

    #[test]
    fn stream_events_become_chunks() {
        let mut state = StreamState::new("command-test");
        let chunks: Vec<Value> = STREAM
            .split("\n\n")
            .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
            .flat_map(|d| state.on_event(d))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(chunks[0]["id"], "8a6a7f7e-ab34-4c3b-9d1e-8d0c7c1ad0a3");
        let plan: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(plan, "I will check the weather.");
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
            json!({"location": "Toronto"})
        );
        let n = chunks.len();
        assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[n - 1]["usage"]["total_tokens"], 50);
    }
}
