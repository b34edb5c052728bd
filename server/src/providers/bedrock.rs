//! AWS Bedrock: requests signed with SigV4 (service `bedrock`) from the connection's
//! access key, secret and region. Models from `GET {base}/foundation-models`
//! (ListFoundationModels); chat through the runtime's Converse API,
//! `POST {runtime}/model/{id}/converse`, and ConverseStream (`/converse-stream`), whose
//! answer is AWS's binary event stream (decoded with `aws-smithy-eventstream`). Claude
//! models also take Anthropic's own Messages body through InvokeModel
//! (`/invoke`, `/invoke-with-response-stream`), which keeps what Converse cannot carry
//! (thinking blocks and signatures, cache breakpoints, betas).

use std::collections::HashMap;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{sign, SignableBody, SignableRequest, SigningSettings},
    sign::v4,
};
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message as Frame};
use bytes::BytesMut;
use futures_util::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{json, Value};

use super::openai_format::{
    self as oai, ChatRequest, ChunkWriter, Content, Message, PartRef, ToolChoice, Usage,
};
use super::{
    body_bytes, cut_short_is_an_error, decode, send, send_for, ChatReply, ChunkStream,
    DiscoveredModel, EventStream, NativeReply, NativeRequest, ProviderError, SseEvent, Upstream,
};

const SERVICE: &str = "bedrock";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelList {
    #[serde(default)]
    model_summaries: Vec<ModelSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelSummary {
    model_id: String,
    model_name: Option<String>,
    provider_name: Option<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let url = format!("{}/foundation-models", upstream.base_url);
    let headers = signed_headers(upstream, "GET", &url, &[])?;
    let mut request = client.get(&url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let list: ModelList = decode(send(request, upstream).await?).await?;
    Ok(list
        .model_summaries
        .into_iter()
        .map(|m| DiscoveredModel {
            display_name: match (m.provider_name, m.model_name) {
                (Some(p), Some(n)) => format!("{p} {n}"),
                (_, Some(n)) => n,
                _ => m.model_id.clone(),
            },
            id: m.model_id,
        })
        .collect())
}

/// The headers (`authorization`, `x-amz-date`, optional security token) that sign a request.
pub fn signed_headers(
    upstream: &Upstream<'_>,
    method: &str,
    url: &str,
    body: &[u8],
) -> Result<Vec<(String, String)>, ProviderError> {
    let region = upstream
        .setting("region")
        .ok_or_else(|| ProviderError::Config("region is required".into()))?;
    let session_token = Some(upstream.credential("session_token"))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let identity = Credentials::new(
        upstream.credential("access_key_id"),
        upstream.credential("secret_access_key"),
        session_token,
        None,
        "langmart-connection",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ProviderError::Config(format!("cannot sign request: {e}")))?
        .into();
    let signable = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .map_err(|e| ProviderError::Config(format!("cannot sign request: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| ProviderError::Config(format!("cannot sign request: {e}")))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// Model ids (`anthropic.claude-…-v1:0`, inference-profile ARNs) go in the path with
/// everything but unreserved characters encoded, as the AWS SDKs send them.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The runtime endpoint: `bedrock-runtime.{region}` beside the control plane's
/// `bedrock.{region}`, or the connection's `runtime_endpoint_url` setting (VPC endpoints,
/// proxies), else the connection's endpoint itself.
fn runtime_base(upstream: &Upstream<'_>) -> String {
    if let Some(url) = upstream.setting("runtime_endpoint_url") {
        return url.trim_end_matches('/').to_owned();
    }
    upstream
        .base_url
        .replacen("://bedrock.", "://bedrock-runtime.", 1)
}

pub async fn chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let req = ChatRequest::from_body(body)?;
    let native = to_native(&req)?;
    let operation = if stream {
        "converse-stream"
    } else {
        "converse"
    };
    let url = format!(
        "{}/model/{}/{operation}",
        runtime_base(upstream),
        utf8_percent_encode(&req.model, PATH_SEGMENT)
    );
    let payload = serde_json::to_vec(&native).map_err(|e| ProviderError::Decode(e.to_string()))?;
    let mut request = super::urls::post(client, url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in signed_headers(upstream, "POST", &url, &payload)? {
        request = request.header(name, value);
    }
    let response = send_for(request.body(payload), upstream, stream).await?;
    let request_id = response
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map(|id| format!("chatcmpl-{id}"))
        .unwrap_or_else(|| format!("chatcmpl-{}", crate::ids::random_base62(24)));
    if !stream {
        let answer: ConverseResponse = decode(response).await?;
        return Ok(ChatReply::Whole(
            answer.into_openai(&request_id, &req.model),
        ));
    }
    let chunks = event_stream(response, StreamState::new(&request_id, &req.model));
    Ok(ChatReply::Stream(cut_short_is_an_error(chunks, || false)))
}

/// Whether `model` (an id, inference profile or ARN) is one of Anthropic's Claude models,
/// which InvokeModel serves in Anthropic's own Messages format.
pub fn is_claude(model: &str) -> bool {
    model.contains("anthropic.claude")
}

/// The Anthropic version InvokeModel takes in the body.
const BEDROCK_ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// An Anthropic Messages request for a Claude model, through InvokeModel: the model moves
/// from the body to the URL, `stream` to the operation, the `anthropic-beta` header into
/// the body's `anthropic_beta`, and everything else (thinking blocks with their
/// signatures, cache breakpoints, tools, fields added later) goes as the client sent it.
/// A stream's chunks are the Anthropic events themselves.
pub async fn anthropic_native(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    request: NativeRequest<'_>,
) -> Result<NativeReply, ProviderError> {
    let mut body: serde_json::Map<String, Value> = serde_json::from_slice(&request.body)
        .map_err(|e| ProviderError::Unsupported(format!("cannot read the request: {e}")))?;
    let model = body
        .remove("model")
        .and_then(|m| m.as_str().map(str::to_owned))
        .ok_or_else(|| ProviderError::Unsupported("the request names no model".into()))?;
    body.remove("stream");
    body.entry("anthropic_version")
        .or_insert_with(|| json!(BEDROCK_ANTHROPIC_VERSION));
    let betas: Vec<Value> = request
        .headers
        .iter()
        .filter(|(name, _)| name.as_str() == "anthropic-beta")
        .filter_map(|(_, v)| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| json!(b))
        .collect();
    if !betas.is_empty() && !body.contains_key("anthropic_beta") {
        body.insert("anthropic_beta".into(), Value::Array(betas));
    }
    let operation = if request.stream {
        "invoke-with-response-stream"
    } else {
        "invoke"
    };
    let url = format!(
        "{}/model/{}/{operation}",
        runtime_base(upstream),
        utf8_percent_encode(&model, PATH_SEGMENT)
    );
    let payload = serde_json::to_vec(&body).map_err(|e| ProviderError::Decode(e.to_string()))?;
    let mut builder = super::urls::post(client, url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in signed_headers(upstream, "POST", &url, &payload)? {
        builder = builder.header(name, value);
    }
    let response = send_for(builder.body(payload), upstream, request.stream).await?;
    if !request.stream {
        return Ok(NativeReply::Whole(body_bytes(response).await?));
    }
    Ok(NativeReply::Stream(anthropic_events(response)))
}

/// InvokeModelWithResponseStream's frames: each `chunk` carries one Anthropic event, its
/// JSON base64-encoded in `bytes`; an exception frame ends the stream as an error.
fn anthropic_events(response: reqwest::Response) -> EventStream {
    decode_frames(response, |frame| {
        if header(frame, ":message-type") != Some("event") {
            return vec![Err(exception(frame))];
        }
        anthropic_event(frame.payload())
            .map(Ok)
            .into_iter()
            .collect()
    })
}

/// The Anthropic event inside a `chunk` frame's payload (`{"bytes": base64 of its JSON}`).
fn anthropic_event(payload: &[u8]) -> Option<SseEvent> {
    use base64::Engine;
    let chunk: Value = serde_json::from_slice(payload).ok()?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(chunk.get("bytes")?.as_str()?)
        .ok()?;
    let data = String::from_utf8(data).ok()?;
    let event: Value = serde_json::from_str(&data).ok()?;
    let kind = event.get("type")?.as_str()?.to_owned();
    Some(SseEvent { event: kind, data })
}

fn to_native(req: &ChatRequest) -> Result<Value, ProviderError> {
    req.require_single_choice("Bedrock")?;
    let mut system = Vec::new();
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut used_tools = false;
    for message in &req.messages {
        match message {
            Message::System { content } | Message::Developer { content } => {
                system.push(json!({"text": content.text()?}))
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
                        blocks.push(json!({"text": text}));
                    }
                }
                for call in tool_calls.iter().flatten() {
                    used_tools = true;
                    blocks.push(json!({"toolUse": {
                        "toolUseId": call.id,
                        "name": call.function.name,
                        "input": call.function.arguments_json()?,
                    }}));
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
                    json!({"toolResult": {"toolUseId": tool_call_id, "content": [{"text": content.text()?}]}}),
                ],
            ),
        }
    }
    let mut native = json!({
        "messages": messages
            .into_iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect::<Vec<_>>(),
    });
    if !system.is_empty() {
        native["system"] = Value::Array(system);
    }
    let mut inference = serde_json::Map::new();
    if let Some(v) = req.max_output_tokens() {
        inference.insert("maxTokens".into(), json!(v));
    }
    if let Some(v) = req.temperature {
        inference.insert("temperature".into(), json!(v));
    }
    if let Some(v) = req.top_p {
        inference.insert("topP".into(), json!(v));
    }
    let stop = req.stop_sequences();
    if !stop.is_empty() {
        inference.insert("stopSequences".into(), json!(stop));
    }
    if !inference.is_empty() {
        native["inferenceConfig"] = Value::Object(inference);
    }
    let choice = req.tool_choice()?;
    // Converse has no "none": without earlier tool use, leaving the tools out is the same.
    let offer_tools = !req.tools().is_empty() && (choice != Some(ToolChoice::None) || used_tools);
    if offer_tools {
        let tools: Vec<Value> = req
            .tools()
            .iter()
            .map(|t| {
                let mut spec =
                    json!({"name": t.function.name, "inputSchema": {"json": t.function.schema()}});
                if let Some(d) = &t.function.description {
                    spec["description"] = json!(d);
                }
                json!({"toolSpec": spec})
            })
            .collect();
        let mut config = json!({"tools": tools});
        match choice {
            Some(ToolChoice::Auto) => config["toolChoice"] = json!({"auto": {}}),
            Some(ToolChoice::Required) => config["toolChoice"] = json!({"any": {}}),
            Some(ToolChoice::Function(name)) => {
                config["toolChoice"] = json!({"tool": {"name": name}})
            }
            Some(ToolChoice::None) | None => {}
        }
        native["toolConfig"] = config;
    }
    Ok(native)
}

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
            PartRef::Text(t) => blocks.push(json!({"text": t})),
            PartRef::Image(url) => match oai::image(url)? {
                oai::Image::Inline { media_type, data } => {
                    let format = media_type.strip_prefix("image/").unwrap_or(media_type);
                    if !matches!(format, "png" | "jpeg" | "gif" | "webp") {
                        return Err(ProviderError::Unsupported(format!(
                            "Bedrock takes png, jpeg, gif and webp images, not {media_type}"
                        )));
                    }
                    blocks.push(json!({"image": {"format": format, "source": {"bytes": data}}}))
                }
                oai::Image::Remote(_) => {
                    return Err(ProviderError::Unsupported(
                        "Bedrock takes images inline: send them as data: URLs".into(),
                    ))
                }
            },
            PartRef::Unsupported => return Err(oai::unsupported_part("Bedrock")),
        }
    }
    Ok(blocks)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse {
    output: Output,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: NativeUsage,
}

#[derive(Deserialize)]
struct Output {
    message: OutputMessage,
}

#[derive(Deserialize)]
struct OutputMessage {
    #[serde(default)]
    content: Vec<Block>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Block {
    text: Option<String>,
    tool_use: Option<ToolUse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse {
    tool_use_id: String,
    name: String,
    #[serde(default)]
    input: Value,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct NativeUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    cache_read_input_tokens: Option<u64>,
    cache_write_input_tokens: Option<u64>,
}

impl NativeUsage {
    fn usage(self) -> Usage {
        Usage {
            prompt: self.input_tokens
                + self.cache_read_input_tokens.unwrap_or(0)
                + self.cache_write_input_tokens.unwrap_or(0),
            completion: self.output_tokens,
            cached: self.cache_read_input_tokens,
        }
    }
}

fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("guardrail_intervened") | Some("content_filtered") => "content_filter",
        _ => "stop",
    }
}

impl ConverseResponse {
    fn into_openai(self, id: &str, model: &str) -> Value {
        let mut text: Option<String> = None;
        let mut tool_calls = Vec::new();
        for block in self.output.message.content {
            if let Some(t) = block.text {
                text.get_or_insert_with(String::new).push_str(&t);
            }
            if let Some(u) = block.tool_use {
                tool_calls.push(oai::ToolCallOut {
                    id: u.tool_use_id,
                    name: u.name,
                    arguments: u.input.to_string(),
                });
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
        oai::completion(id, model, &[choice], self.usage.usage())
    }
}

/// Converse's stream: each frame through the stream state into chunks.
fn event_stream(response: reqwest::Response, mut state: StreamState) -> ChunkStream {
    decode_frames(response, move |frame| state.on_frame(frame))
}

/// Decodes AWS's binary event stream frame by frame, whatever the network's chunking;
/// `on_frame` turns each frame into items. Nothing is read after an error item.
fn decode_frames<T: Send + 'static>(
    response: reqwest::Response,
    mut on_frame: impl FnMut(&Frame) -> Vec<Result<T, ProviderError>> + Send + 'static,
) -> std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<T, ProviderError>> + Send>> {
    let mut buffer = BytesMut::new();
    let mut decoder = MessageFrameDecoder::new();
    let mut done = false;
    Box::pin(
        super::body_chunks(response)
            .map(move |item| {
                if done {
                    return Vec::new();
                }
                let bytes = match item {
                    Ok(b) => b,
                    Err(e) => {
                        done = true;
                        return vec![Err(ProviderError::Unreachable(format!(
                            "the stream broke off: {e}"
                        )))];
                    }
                };
                buffer.extend_from_slice(&bytes);
                let mut out = Vec::new();
                while !done {
                    match decoder.decode_frame(&mut buffer) {
                        Ok(DecodedFrame::Complete(frame)) => {
                            for item in on_frame(&frame) {
                                done |= item.is_err();
                                out.push(item);
                            }
                        }
                        Ok(DecodedFrame::Incomplete) => break,
                        Err(e) => {
                            done = true;
                            out.push(Err(ProviderError::Decode(format!("event stream: {e}"))));
                        }
                    }
                }
                out
            })
            .flat_map(futures_util::stream::iter),
    )
}

/// A frame that is not an event: the exception it reports, with Bedrock's status for it.
fn exception(frame: &Frame) -> ProviderError {
    let kind = header(frame, ":exception-type")
        .or_else(|| header(frame, ":error-code"))
        .unwrap_or("internalServerException");
    let message = serde_json::from_slice::<Value>(frame.payload())
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| header(frame, ":error-message").map(str::to_owned))
        .unwrap_or_else(|| kind.to_owned());
    ProviderError::Http {
        status: status_of(kind),
        message,
        retry_after_secs: None,
    }
}

fn header<'a>(frame: &'a Frame, name: &str) -> Option<&'a str> {
    frame
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

/// The HTTP status Bedrock gives each exception, for exceptions that arrive in a stream.
fn status_of(exception: &str) -> u16 {
    match exception {
        "validationException" => 400,
        "accessDeniedException" => 403,
        "resourceNotFoundException" => 404,
        "modelTimeoutException" => 408,
        "throttlingException" | "serviceQuotaExceededException" => 429,
        "serviceUnavailableException" | "modelNotReadyException" => 503,
        _ => 500,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    content_block_index: usize,
    start: Option<StartBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    tool_use: Option<ToolUseStart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart {
    tool_use_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    content_block_index: usize,
    delta: DeltaBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    text: Option<String>,
    tool_use: Option<ToolUseDelta>,
}

#[derive(Deserialize)]
struct ToolUseDelta {
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: NativeUsage,
}

/// Turns ConverseStream events into OpenAI chunks.
struct StreamState {
    writer: ChunkWriter,
    /// Content-block index → OpenAI tool-call index.
    tool_blocks: HashMap<usize, usize>,
    done: bool,
}

impl StreamState {
    fn new(id: &str, model: &str) -> Self {
        StreamState {
            writer: ChunkWriter::new(id, model),
            tool_blocks: HashMap::new(),
            done: false,
        }
    }

    fn on_frame(&mut self, frame: &Frame) -> Vec<Result<Value, ProviderError>> {
        if self.done {
            return Vec::new();
        }
        let payload = frame.payload();
        if header(frame, ":message-type") != Some("event") {
            self.done = true;
            return vec![Err(exception(frame))];
        }
        fn parse<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, ProviderError> {
            serde_json::from_slice(payload)
                .map_err(|e| ProviderError::Decode(format!("stream event: {e}")))
        }
        let w = &self.writer;
        let out = match header(frame, ":event-type").unwrap_or_default() {
            "messageStart" => Ok(vec![w.role()]),
            "contentBlockStart" => {
                parse::<BlockStart>(payload).map(|e| match e.start.and_then(|s| s.tool_use) {
                    Some(t) => {
                        let n = self.tool_blocks.len();
                        self.tool_blocks.insert(e.content_block_index, n);
                        vec![w.tool_start(n, &t.tool_use_id, &t.name)]
                    }
                    None => Vec::new(),
                })
            }
            "contentBlockDelta" => parse::<BlockDelta>(payload).map(|e| {
                let mut v = Vec::new();
                if let Some(t) = e.delta.text.filter(|t| !t.is_empty()) {
                    v.push(w.text(&t));
                }
                if let (Some(u), Some(n)) = (
                    e.delta.tool_use,
                    self.tool_blocks.get(&e.content_block_index),
                ) {
                    if !u.input.is_empty() {
                        v.push(w.tool_arguments(*n, &u.input));
                    }
                }
                v
            }),
            "messageStop" => parse::<MessageStop>(payload)
                .map(|e| vec![w.finish(finish_reason(e.stop_reason.as_deref()))]),
            "metadata" => parse::<Metadata>(payload).map(|e| {
                self.done = true;
                vec![w.usage(e.usage.usage())]
            }),
            _ => Ok(Vec::new()),
        };
        match out {
            Ok(chunks) => chunks.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::Header;

    const TOOL_REQUEST: &str =
        include_str!("../../tests/fixtures/bedrock/request_tools.openai.json");
    const TOOL_NATIVE: &str =
        include_str!("../../tests/fixtures/bedrock/request_tools.native.json");
    const TOOL_ANSWER: &str = include_str!("../../tests/fixtures/bedrock/converse_tool_use.json");
    const STREAM: &str = include_str!("../../tests/fixtures/bedrock/stream_tool_use.jsonl");

    /// The fixture's events (`{"event": name, "payload": …}` per line) as wire frames.
    fn frames(jsonl: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut frame = Frame::new(v["payload"].to_string().into_bytes());
            if let Some(exception) = v["exception"].as_str() {
                frame = frame
                    .add_header(Header::new(
                        ":message-type",
                        HeaderValue::String("exception".into()),
                    ))
                    .add_header(Header::new(
                        ":exception-type",
                        HeaderValue::String(exception.to_owned().into()),
                    ));
            } else {
                frame = frame
                    .add_header(Header::new(
                        ":message-type",
                        HeaderValue::String("event".into()),
                    ))
                    .add_header(Header::new(
                        ":event-type",
                        HeaderValue::String(v["event"].as_str().unwrap().to_owned().into()),
                    ));
            }
            frame = frame.add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ));
            write_message_to(&frame, &mut out).unwrap();
        }
        out
    }

    /// The fixture's lines with one event's payload partly replaced by arbitrary JSON.
    fn mutated_stream() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let lines: Vec<Value> = STREAM
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (0..lines.len()).prop_flat_map(move |i| {
            let lines = lines.clone();
            super::super::fuzz::mutated(lines[i]["payload"].clone()).prop_map(move |payload| {
                let mut all = lines.clone();
                all[i]["payload"] = payload;
                all.iter().map(|l| format!("{l}\n")).collect()
            })
        })
    }

    /// Runs `bytes` through the frame decoder and the stream state, as the stream does.
    fn decode_all(bytes: &[u8]) {
        let mut state = StreamState::new("chatcmpl-x", "m");
        let mut buffer = BytesMut::from(bytes);
        let mut decoder = MessageFrameDecoder::new();
        while let Ok(DecodedFrame::Complete(frame)) = decoder.decode_frame(&mut buffer) {
            let _ = state.on_frame(&frame);
            let _ = anthropic_event(frame.payload());
        }
    }

    proptest::proptest! {
        /// Answers and event-stream frames with any part replaced by arbitrary JSON, and
        /// arbitrary bytes as frames, never panic the decoders.
        #[test]
        fn arbitrary_answers_and_frames_never_panic(
            answer in super::super::fuzz::mutated(serde_json::from_str(TOOL_ANSWER).unwrap()),
            stream in mutated_stream(),
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            if let Ok(a) = serde_json::from_value::<ConverseResponse>(answer) {
                let _ = a.into_openai("chatcmpl-x", "m");
            }
            decode_all(&frames(&stream));
            decode_all(&bytes);
            // A valid frame's prelude followed by arbitrary bytes.
            let mut framed = frames(STREAM);
            framed.truncate(12);
            framed.extend_from_slice(&bytes);
            decode_all(&framed);
            let _ = anthropic_event(&bytes);
        }
    }

    #[test]
    fn translates_system_tools_and_results() {
        let req = ChatRequest::from_body(&serde_json::from_str(TOOL_REQUEST).unwrap()).unwrap();
        let expected: Value = serde_json::from_str(TOOL_NATIVE).unwrap();
        assert_eq!(to_native(&req).unwrap(), expected);
    }

    #[test]
    fn a_tool_use_answer_becomes_tool_calls() {
        let answer: ConverseResponse = serde_json::from_str(TOOL_ANSWER).unwrap();
        let out = answer.into_openai("chatcmpl-x", "claude-on-bedrock");
        let call = &out["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(call["id"], "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
        assert_eq!(
            serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
            json!({"sign": "WZPZ"})
        );
        assert_eq!(out["usage"]["total_tokens"], 465);
    }

    #[test]
    fn frames_split_anywhere_decode_to_the_same_chunks() {
        let bytes = frames(STREAM);
        for split in [1usize, 7, 64, bytes.len()] {
            let mut state = StreamState::new("chatcmpl-x", "m");
            let mut buffer = BytesMut::new();
            let mut decoder = MessageFrameDecoder::new();
            let mut chunks = Vec::new();
            for piece in bytes.chunks(split) {
                buffer.extend_from_slice(piece);
                while let Ok(DecodedFrame::Complete(frame)) = decoder.decode_frame(&mut buffer) {
                    chunks.extend(state.on_frame(&frame).into_iter().map(|r| r.unwrap()));
                }
            }
            assert_eq!(
                chunks[0]["choices"][0]["delta"]["role"], "assistant",
                "split {split}"
            );
            let text: String = chunks
                .iter()
                .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
                .collect();
            assert_eq!(text, "Let me look that up.");
            let args: String = chunks
                .iter()
                .filter_map(|c| {
                    c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
                })
                .collect();
            assert_eq!(
                serde_json::from_str::<Value>(&args).unwrap(),
                json!({"sign": "WZPZ"})
            );
            let n = chunks.len();
            assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "tool_calls");
            assert_eq!(chunks[n - 1]["usage"]["prompt_tokens"], 420);
        }
    }

    #[test]
    fn an_exception_frame_is_an_error_with_its_status() {
        let bytes = frames(
            r#"{"exception": "throttlingException", "payload": {"message": "Too many requests, please wait before trying again."}}"#,
        );
        let mut state = StreamState::new("x", "m");
        let mut buffer = BytesMut::from(bytes.as_slice());
        let Ok(DecodedFrame::Complete(frame)) =
            MessageFrameDecoder::new().decode_frame(&mut buffer)
        else {
            panic!()
        };
        let out = state.on_frame(&frame);
        assert!(matches!(
            &out[0],
            Err(ProviderError::Http { status: 429, .. })
        ));
    }

    #[test]
    fn runtime_endpoint_sits_beside_the_control_plane() {
        let creds = Default::default();
        let config = Default::default();
        let upstream = Upstream {
            family: super::super::ApiFamily::Bedrock,
            base_url: "https://bedrock.eu-west-1.amazonaws.com".into(),
            credentials: &creds,
            config: &config,
            timeouts: crate::providers::Timeouts::answer(std::time::Duration::from_secs(1)),
            allow_private: false,
            limits: Default::default(),
            relay: None,
        };
        assert_eq!(
            runtime_base(&upstream),
            "https://bedrock-runtime.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            utf8_percent_encode("anthropic.claude-3-haiku-20240307-v1:0", PATH_SEGMENT).to_string(),
            "anthropic.claude-3-haiku-20240307-v1%3A0"
        );
    }
}
