//! Google Gemini: `x-goog-api-key`; `POST {base}/v1beta/models/{model}:generateContent`
//! (`:streamGenerateContent?alt=sse` to stream), `:embedContent` / `:batchEmbedContents`,
//! and `GET {base}/v1beta/models` paged by `pageToken` (only models that can generate
//! content or embeddings are routable). Assistant turns are role `model`, tool calls are
//! `functionCall` parts, tool results `functionResponse` parts named by function, and a
//! safety block is an error that says what was blocked.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::openai_format::{
    self as oai, ChatRequest, ChunkWriter, Content, Message, PartRef, ToolChoice, Usage,
};
use super::{
    cut_short_is_an_error, decode, event_json, send, send_for, sse_chunks, ChatReply,
    DiscoveredModel, ProviderError, Upstream,
};

const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelPage {
    #[serde(default)]
    models: Vec<Model>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Model {
    name: String,
    display_name: Option<String>,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{}/v1beta/models", upstream.base_url))
            .header("x-goog-api-key", upstream.credential("api_key"))
            .query(&[("pageSize", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("pageToken", t.as_str())]);
        }
        let page: ModelPage = decode(send(request, upstream).await?).await?;
        models.extend(
            page.models
                .into_iter()
                .filter(|m| {
                    m.supported_generation_methods.is_empty()
                        || m.supported_generation_methods.iter().any(|g| {
                            g == "generateContent"
                                || g == "embedContent"
                                || g == "streamGenerateContent"
                        })
                })
                .map(|m| {
                    let id = m.name.strip_prefix("models/").unwrap_or(&m.name).to_owned();
                    DiscoveredModel {
                        display_name: m.display_name.unwrap_or_else(|| id.clone()),
                        id,
                    }
                }),
        );
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Ok(models)
}

/// `{base}/v1beta/models/{model}:{method}`; `models/` in front of the id is optional.
fn model_url(upstream: &Upstream<'_>, model: &str, method: &str) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    format!("{}/v1beta/models/{model}:{method}", upstream.base_url)
}

pub async fn chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let req = ChatRequest::from_body(body)?;
    if stream {
        req.require_single_choice("Gemini streaming")?;
    }
    let native = to_native(&req)?;
    let request = if stream {
        super::urls::post(
            client,
            model_url(upstream, &req.model, "streamGenerateContent"),
        )
        .query(&[("alt", "sse")])
    } else {
        super::urls::post(client, model_url(upstream, &req.model, "generateContent"))
    }
    .header("x-goog-api-key", upstream.credential("api_key"))
    .json(&native);
    let response = send_for(request, upstream, stream).await?;
    if !stream {
        let answer: GenerateResponse = decode(response).await?;
        return answer.into_openai(&req.model).map(ChatReply::Whole);
    }
    let mut state = StreamState::new(&req.model);
    let chunks = sse_chunks(response, move |_, data| state.on_event(data));
    Ok(ChatReply::Stream(cut_short_is_an_error(chunks, || false)))
}

fn to_native(req: &ChatRequest) -> Result<Value, ProviderError> {
    let mut system: Vec<String> = Vec::new();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in &req.messages {
        match message {
            Message::System { content } | Message::Developer { content } => {
                system.push(content.text()?)
            }
            Message::User { content } => push(&mut contents, "user", user_parts(content)?),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut parts = Vec::new();
                if let Some(content) = content {
                    let text = content.text()?;
                    if !text.is_empty() {
                        parts.push(json!({"text": text}));
                    }
                }
                for call in tool_calls.iter().flatten() {
                    parts.push(json!({"functionCall": {"name": call.function.name, "args": call.function.arguments_json()?}}));
                }
                push(&mut contents, "model", parts);
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                let name = req.tool_name_of(tool_call_id).ok_or_else(|| {
                    ProviderError::Unsupported(format!(
                        "tool result {tool_call_id:?} answers no earlier tool call; Gemini names results by function"
                    ))
                })?;
                let text = content.text()?;
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(o)) => Value::Object(o),
                    Ok(other) => json!({"content": other}),
                    Err(_) => json!({"content": text}),
                };
                push(
                    &mut contents,
                    "user",
                    vec![json!({"functionResponse": {"name": name, "response": response}})],
                );
            }
        }
    }
    let mut native = json!({
        "contents": contents
            .into_iter()
            .map(|(role, parts)| json!({"role": role, "parts": parts}))
            .collect::<Vec<_>>(),
    });
    let system = system.join("\n\n");
    if !system.is_empty() {
        native["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    let mut config = Map::new();
    let mut set = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            config.insert(k.to_owned(), v);
        }
    };
    set("temperature", req.temperature.map(|v| json!(v)));
    set("topP", req.top_p.map(|v| json!(v)));
    set("maxOutputTokens", req.max_output_tokens().map(|v| json!(v)));
    set("candidateCount", req.n.filter(|n| *n > 1).map(|v| json!(v)));
    set("seed", req.seed.map(|v| json!(v)));
    set("presencePenalty", req.presence_penalty.map(|v| json!(v)));
    set("frequencyPenalty", req.frequency_penalty.map(|v| json!(v)));
    let stop = req.stop_sequences();
    set("stopSequences", (!stop.is_empty()).then(|| json!(stop)));
    if req.wants_json() {
        set("responseMimeType", Some(json!("application/json")));
        let schema = req
            .response_format
            .as_ref()
            .and_then(|f| f.json_schema.as_ref())
            .and_then(|s| s.get("schema"))
            .cloned();
        set("responseJsonSchema", schema);
    }
    if !config.is_empty() {
        native["generationConfig"] = Value::Object(config);
    }
    if !req.tools().is_empty() {
        let declarations: Vec<Value> = req
            .tools()
            .iter()
            .map(|t| {
                let mut d = json!({"name": t.function.name, "parameters": schema_for_gemini(t.function.schema())});
                if let Some(desc) = &t.function.description {
                    d["description"] = json!(desc);
                }
                d
            })
            .collect();
        native["tools"] = json!([{"functionDeclarations": declarations}]);
        let calling = match req.tool_choice()? {
            None | Some(ToolChoice::Auto) => None,
            Some(ToolChoice::None) => Some(json!({"mode": "NONE"})),
            Some(ToolChoice::Required) => Some(json!({"mode": "ANY"})),
            Some(ToolChoice::Function(name)) => {
                Some(json!({"mode": "ANY", "allowedFunctionNames": [name]}))
            }
        };
        if let Some(c) = calling {
            native["toolConfig"] = json!({"functionCallingConfig": c});
        }
    }
    Ok(native)
}

/// Gemini's function parameters are an OpenAPI subset: JSON Schema keywords it rejects
/// are dropped (they only constrain what the model may produce).
fn schema_for_gemini(schema: Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "$schema" | "$id" | "$comment" | "additionalProperties" | "strict"
                    )
                })
                .map(|(k, v)| (k, schema_for_gemini(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(schema_for_gemini).collect()),
        other => other,
    }
}

fn push(contents: &mut Vec<(&'static str, Vec<Value>)>, role: &'static str, parts: Vec<Value>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some((last, existing)) if *last == role => existing.extend(parts),
        _ => contents.push((role, parts)),
    }
}

fn user_parts(content: &Content) -> Result<Vec<Value>, ProviderError> {
    let mut parts = Vec::new();
    for part in content.parts() {
        match part {
            PartRef::Text("") => {}
            PartRef::Text(t) => parts.push(json!({"text": t})),
            PartRef::Image(url) => match oai::image(url)? {
                oai::Image::Inline { media_type, data } => {
                    parts.push(json!({"inlineData": {"mimeType": media_type, "data": data}}))
                }
                oai::Image::Remote(_) => {
                    return Err(ProviderError::Unsupported(
                        "Gemini takes images inline: send them as data: URLs".into(),
                    ))
                }
            },
            PartRef::Unsupported => return Err(oai::unsupported_part("Gemini")),
        }
    }
    Ok(parts)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
    response_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<CandidateContent>,
    finish_reason: Option<String>,
    #[serde(default)]
    safety_ratings: Vec<SafetyRating>,
}

#[derive(Deserialize)]
struct CandidateContent {
    #[serde(default)]
    parts: Vec<NativePart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NativePart {
    text: Option<String>,
    function_call: Option<FunctionCall>,
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
struct FunctionCall {
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
    #[serde(default)]
    safety_ratings: Vec<SafetyRating>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SafetyRating {
    category: String,
    probability: Option<String>,
    #[serde(default)]
    blocked: bool,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    cached_content_token_count: Option<u64>,
}

impl UsageMetadata {
    /// Thinking tokens count as completion tokens, as OpenAI counts reasoning tokens.
    fn usage(self) -> Usage {
        Usage {
            prompt: self.prompt_token_count,
            completion: self.candidates_token_count + self.thoughts_token_count,
            cached: self.cached_content_token_count,
        }
    }
}

const BLOCK_REASONS: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
];

/// Names the categories that caused a block, for the error message.
fn flagged(ratings: &[SafetyRating]) -> String {
    let names: Vec<&str> = ratings
        .iter()
        .filter(|r| r.blocked || matches!(r.probability.as_deref(), Some("HIGH") | Some("MEDIUM")))
        .map(|r| r.category.as_str())
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}

fn prompt_blocked(feedback: Option<&PromptFeedback>) -> Option<ProviderError> {
    let f = feedback?;
    let reason = f.block_reason.as_deref()?;
    Some(ProviderError::Blocked(format!(
        "Gemini blocked the prompt ({reason}{})",
        flagged(&f.safety_ratings)
    )))
}

fn finish_reason(reason: Option<&str>, called_tools: bool) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some(r) if BLOCK_REASONS.contains(&r) => "content_filter",
        _ if called_tools => "tool_calls",
        _ => "stop",
    }
}

impl Candidate {
    fn parts(&self) -> &[NativePart] {
        self.content
            .as_ref()
            .map(|c| c.parts.as_slice())
            .unwrap_or_default()
    }

    fn to_choice(&self) -> oai::Choice {
        let mut text: Option<String> = None;
        let mut tool_calls = Vec::new();
        for part in self.parts().iter().filter(|p| !p.thought) {
            if let Some(t) = &part.text {
                text.get_or_insert_with(String::new).push_str(t);
            }
            if let Some(call) = &part.function_call {
                tool_calls.push(oai::ToolCallOut {
                    id: oai::new_call_id(),
                    name: call.name.clone(),
                    arguments: call.args.to_string(),
                });
            }
        }
        let finish = finish_reason(self.finish_reason.as_deref(), !tool_calls.is_empty());
        if text.is_none() && tool_calls.is_empty() && finish != "content_filter" {
            text = Some(String::new());
        }
        oai::Choice {
            text,
            tool_calls,
            finish_reason: finish,
        }
    }

    /// A candidate stopped by a safety filter before it said anything.
    fn blocked(&self) -> Option<ProviderError> {
        let reason = self.finish_reason.as_deref()?;
        (BLOCK_REASONS.contains(&reason) && self.parts().is_empty()).then(|| {
            ProviderError::Blocked(format!(
                "Gemini blocked the answer ({reason}{})",
                flagged(&self.safety_ratings)
            ))
        })
    }
}

impl GenerateResponse {
    fn into_openai(self, model: &str) -> Result<Value, ProviderError> {
        if self.candidates.is_empty() {
            return Err(
                prompt_blocked(self.prompt_feedback.as_ref()).unwrap_or_else(|| {
                    ProviderError::Decode("Gemini answered without candidates".into())
                }),
            );
        }
        if let Some(err) = self
            .candidates
            .iter()
            .map(Candidate::blocked)
            .collect::<Option<Vec<_>>>()
            .and_then(|mut v| v.pop())
        {
            return Err(err);
        }
        let choices: Vec<oai::Choice> = self.candidates.iter().map(Candidate::to_choice).collect();
        let id = self
            .response_id
            .map(|r| format!("chatcmpl-{r}"))
            .unwrap_or_else(|| format!("chatcmpl-{}", crate::ids::random_base62(24)));
        Ok(oai::completion(
            &id,
            model,
            &choices,
            self.usage_metadata.unwrap_or_default().usage(),
        ))
    }
}

/// Turns `streamGenerateContent` events (each a partial response) into OpenAI chunks.
struct StreamState {
    writer: ChunkWriter,
    started: bool,
    tool_calls: usize,
    usage: UsageMetadata,
    done: bool,
}

impl StreamState {
    fn new(model: &str) -> Self {
        StreamState {
            writer: ChunkWriter::new(format!("chatcmpl-{}", crate::ids::random_base62(24)), model),
            started: false,
            tool_calls: 0,
            usage: UsageMetadata::default(),
            done: false,
        }
    }

    fn on_event(&mut self, data: &str) -> Vec<Result<Value, ProviderError>> {
        if self.done {
            return Vec::new();
        }
        let event: GenerateResponse = match event_json(data) {
            Ok(e) => e,
            Err(e) => return vec![Err(e)],
        };
        if let Some(u) = event.usage_metadata {
            self.usage = u;
        }
        let Some(candidate) = event.candidates.first() else {
            if let Some(err) = prompt_blocked(event.prompt_feedback.as_ref()) {
                self.done = true;
                return vec![Err(err)];
            }
            return Vec::new();
        };
        if !self.started {
            if let Some(err) = candidate.blocked() {
                self.done = true;
                return vec![Err(err)];
            }
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            if let Some(id) = &event.response_id {
                self.writer.set_id(format!("chatcmpl-{id}"));
            }
            out.push(Ok(self.writer.role()));
        }
        for part in candidate.parts().iter().filter(|p| !p.thought) {
            if let Some(t) = part.text.as_deref().filter(|t| !t.is_empty()) {
                out.push(Ok(self.writer.text(t)));
            }
            if let Some(call) = &part.function_call {
                let n = self.tool_calls;
                self.tool_calls += 1;
                out.push(Ok(self.writer.tool_start(
                    n,
                    &oai::new_call_id(),
                    &call.name,
                )));
                out.push(Ok(self.writer.tool_arguments(n, &call.args.to_string())));
            }
        }
        if let Some(reason) = candidate.finish_reason.as_deref() {
            // The last event carries the finish reason and the final counts.
            self.done = true;
            out.push(Ok(self
                .writer
                .finish(finish_reason(Some(reason), self.tool_calls > 0))));
            out.push(Ok(self.writer.usage(self.usage.usage())));
        }
        out
    }
}

#[derive(Deserialize)]
struct EmbedResponse {
    embedding: Values,
}

#[derive(Deserialize)]
struct BatchEmbedResponse {
    #[serde(default)]
    embeddings: Vec<Values>,
}

#[derive(Deserialize)]
struct Values {
    values: Vec<f32>,
}

pub async fn embed(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
) -> Result<Value, ProviderError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let inputs = oai::embedding_inputs(body)?;
    let dims = body.get("dimensions").and_then(Value::as_u64);
    let content = |text: &str| {
        let mut c = json!({"content": {"parts": [{"text": text}]}});
        if let Some(d) = dims {
            c["outputDimensionality"] = json!(d);
        }
        c
    };
    let key = upstream.credential("api_key");
    let vectors = if let [single] = inputs.as_slice() {
        let request = client
            .post(model_url(upstream, &model, "embedContent"))
            .header("x-goog-api-key", key)
            .json(&content(single));
        let answer: EmbedResponse = decode(send(request, upstream).await?).await?;
        vec![answer.embedding.values]
    } else {
        let name = format!("models/{}", model.strip_prefix("models/").unwrap_or(&model));
        let requests: Vec<Value> = inputs
            .iter()
            .map(|t| {
                let mut r = content(t);
                r["model"] = json!(name);
                r
            })
            .collect();
        let request = client
            .post(model_url(upstream, &model, "batchEmbedContents"))
            .header("x-goog-api-key", key)
            .json(&json!({"requests": requests}));
        let answer: BatchEmbedResponse = decode(send(request, upstream).await?).await?;
        answer.embeddings.into_iter().map(|e| e.values).collect()
    };
    // Gemini's embedding answers carry no token counts.
    Ok(oai::embedding_list(
        &model,
        vectors,
        0,
        oai::wants_base64(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOL_REQUEST: &str =
        include_str!("../../tests/fixtures/gemini/request_tools.openai.json");
    const TOOL_NATIVE: &str = include_str!("../../tests/fixtures/gemini/request_tools.native.json");
    const TOOL_ANSWER: &str =
        include_str!("../../tests/fixtures/gemini/generate_function_call.json");
    const BLOCKED: &str = include_str!("../../tests/fixtures/gemini/generate_blocked.json");
    const STREAM: &str = include_str!("../../tests/fixtures/gemini/stream_text.sse");

    proptest::proptest! {
        /// Answers and stream events with any part replaced by arbitrary JSON, and
        /// arbitrary bytes as an event, never panic the decoder.
        #[test]
        fn arbitrary_answers_and_events_never_panic(
            answer in super::super::fuzz::mutated(serde_json::from_str(TOOL_ANSWER).unwrap()),
            blocked in super::super::fuzz::mutated(serde_json::from_str(BLOCKED).unwrap()),
            events in super::super::fuzz::mutated_events(STREAM),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            for (answer, events) in [(answer, &events[..]), (blocked, &[][..])] {
                super::super::fuzz::run_decoders(
                    answer,
                    |a: GenerateResponse| drop(a.into_openai("m")),
                    events,
                    &bytes,
                    || StreamState::new("m"),
                    |s, data| drop(s.on_event(data)),
                );
            }
        }
    }

    #[test]
    fn translates_roles_system_tools_and_results() {
        let req = ChatRequest::from_body(&serde_json::from_str(TOOL_REQUEST).unwrap()).unwrap();
        let expected: Value = serde_json::from_str(TOOL_NATIVE).unwrap();
        assert_eq!(to_native(&req).unwrap(), expected);
    }

    #[test]
    fn a_function_call_becomes_a_tool_call() {
        let answer: GenerateResponse = serde_json::from_str(TOOL_ANSWER).unwrap();
        let out = answer.into_openai("gemini-test").unwrap();
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        let call = &out["choices"][0]["message"]["tool_calls"][0];
        assert!(call["id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(call["function"]["name"], "get_weather");
        let args: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args, json!({"location": "Paris"}));
        assert_eq!(out["usage"]["prompt_tokens"], 52);
        assert_eq!(out["usage"]["completion_tokens"], 5);
    }

    #[test]
    fn a_safety_block_is_a_clear_error() {
        let answer: GenerateResponse = serde_json::from_str(BLOCKED).unwrap();
        let err = answer.into_openai("gemini-test").unwrap_err();
        let ProviderError::Blocked(message) = err else {
            panic!("{err:?}")
        };
        assert!(
            message.contains("SAFETY") && message.contains("HARM_CATEGORY_DANGEROUS_CONTENT"),
            "{message}"
        );
    }

    #[test]
    fn stream_events_become_chunks_ending_with_usage() {
        let mut state = StreamState::new("gemini-test");
        let chunks: Vec<Value> = STREAM
            .split("\n\n")
            .filter_map(|f| f.strip_prefix("data: "))
            .flat_map(|d| state.on_event(d))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Hello from Gemini.");
        let n = chunks.len();
        assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            chunks[n - 1]["usage"],
            json!({"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13})
        );
    }

    #[test]
    fn unsupported_schema_keywords_are_dropped() {
        let s = schema_for_gemini(
            json!({"$schema": "x", "type": "object", "additionalProperties": false,
            "properties": {"a": {"type": "object", "additionalProperties": true}}}),
        );
        assert_eq!(
            s,
            json!({"type": "object", "properties": {"a": {"type": "object"}}})
        );
    }
}
