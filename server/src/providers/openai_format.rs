//! OpenAI's chat format is LangMart's canonical form: every adapter reads a request in it
//! and answers in it, so a native family only translates to and from this one shape.
//! Here: typed views of the request parts adapters translate, and builders for the
//! completions, chunks and embedding lists they answer with.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::ProviderError;

/// The parts of an OpenAI chat request that a native API has an equivalent for. Fields
/// without one are ignored, as OpenAI-compatible servers do.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop: Option<Stop>,
    pub tools: Option<Vec<Tool>>,
    pub tool_choice: Option<ToolChoiceWire>,
    pub parallel_tool_calls: Option<bool>,
    pub user: Option<String>,
    pub seed: Option<i64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub response_format: Option<ResponseFormat>,
    pub n: Option<u32>,
}

impl ChatRequest {
    pub fn from_body(body: &Value) -> Result<Self, ProviderError> {
        ChatRequest::deserialize(body)
            .map_err(|e| ProviderError::Unsupported(format!("cannot read the request: {e}")))
    }

    /// `max_completion_tokens` is the newer name; either is accepted.
    pub fn max_output_tokens(&self) -> Option<u64> {
        self.max_completion_tokens.or(self.max_tokens)
    }

    pub fn stop_sequences(&self) -> Vec<String> {
        match &self.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        }
    }

    pub fn tools(&self) -> &[Tool] {
        self.tools.as_deref().unwrap_or_default()
    }

    pub fn tool_choice(&self) -> Result<Option<ToolChoice>, ProviderError> {
        match &self.tool_choice {
            None => Ok(None),
            Some(ToolChoiceWire::Mode(m)) => match m.as_str() {
                "auto" => Ok(Some(ToolChoice::Auto)),
                "none" => Ok(Some(ToolChoice::None)),
                "required" => Ok(Some(ToolChoice::Required)),
                other => Err(ProviderError::Unsupported(format!(
                    "tool_choice {other:?} is not one of auto, none, required"
                ))),
            },
            Some(ToolChoiceWire::Named { function }) => {
                Ok(Some(ToolChoice::Function(function.name.clone())))
            }
        }
    }

    /// Whether the caller asked for JSON output (`json_object` or `json_schema`).
    pub fn wants_json(&self) -> bool {
        self.response_format
            .as_ref()
            .is_some_and(|f| f.kind == "json_object" || f.kind == "json_schema")
    }

    /// One answer only, for APIs that cannot produce several.
    pub fn require_single_choice(&self, family: &str) -> Result<(), ProviderError> {
        match self.n {
            Some(n) if n > 1 => Err(ProviderError::Unsupported(format!(
                "{family} returns one choice per request; n = {n} is not available"
            ))),
            _ => Ok(()),
        }
    }

    /// The function name of an earlier assistant tool call, for APIs that name a tool
    /// result by function rather than by call id.
    pub fn tool_name_of(&self, call_id: &str) -> Option<&str> {
        self.messages.iter().find_map(|m| match m {
            Message::Assistant {
                tool_calls: Some(calls),
                ..
            } => calls
                .iter()
                .find(|c| c.id == call_id)
                .map(|c| c.function.name.as_str()),
            _ => None,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    pub json_schema: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    System {
        content: Content,
    },
    Developer {
        content: Content,
    },
    User {
        content: Content,
    },
    Assistant {
        #[serde(default)]
        content: Option<Content>,
        #[serde(default)]
        tool_calls: Option<Vec<ToolCall>>,
    },
    Tool {
        #[serde(default)]
        content: Content,
        tool_call_id: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

impl Default for Content {
    fn default() -> Self {
        Content::Text(String::new())
    }
}

impl Content {
    /// The text of a content that must be text (system prompts, tool results).
    pub fn text(&self) -> Result<String, ProviderError> {
        match self {
            Content::Text(t) => Ok(t.clone()),
            Content::Parts(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text { text } => out.push_str(text),
                        _ => {
                            return Err(ProviderError::Unsupported(
                                "only text parts are allowed here".into(),
                            ))
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    pub fn parts(&self) -> Vec<PartRef<'_>> {
        match self {
            Content::Text(t) => vec![PartRef::Text(t)],
            Content::Parts(parts) => parts
                .iter()
                .map(|p| match p {
                    Part::Text { text } => PartRef::Text(text),
                    Part::ImageUrl { image_url } => PartRef::Image(&image_url.url),
                    Part::Other => PartRef::Unsupported,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    ImageUrl {
        image_url: ImageUrl,
    },
    #[serde(other)]
    Other,
}

/// A content part as adapters see it.
pub enum PartRef<'a> {
    Text(&'a str),
    /// An `image_url`: a `data:` URL or a web address.
    Image(&'a str),
    Unsupported,
}

#[derive(Debug, Deserialize)]
pub struct ImageUrl {
    pub url: String,
}

/// An image as the native APIs take it.
#[derive(Debug, PartialEq, Eq)]
pub enum Image<'a> {
    Inline { media_type: &'a str, data: &'a str },
    Remote(&'a str),
}

/// Reads `data:image/png;base64,…` or a web address.
pub fn image(url: &str) -> Result<Image<'_>, ProviderError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| ProviderError::Unsupported("a data: URL without data".into()))?;
        let media_type = meta.strip_suffix(";base64").ok_or_else(|| {
            ProviderError::Unsupported("image data: URLs must be base64-encoded".into())
        })?;
        return Ok(Image::Inline { media_type, data });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(Image::Remote(url))
    } else {
        Err(ProviderError::Unsupported(format!(
            "image_url must be a data: or http(s) URL, not {:?}",
            url.chars().take(40).collect::<String>()
        )))
    }
}

pub fn unsupported_part(family: &str) -> ProviderError {
    ProviderError::Unsupported(format!(
        "{family} accepts text and image content parts only"
    ))
}

#[derive(Debug, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub function: FunctionCall,
}

#[derive(Debug, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    #[serde(default)]
    pub arguments: String,
}

impl FunctionCall {
    /// The arguments as the JSON object native APIs want (OpenAI sends a JSON string).
    pub fn arguments_json(&self) -> Result<Value, ProviderError> {
        if self.arguments.trim().is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        serde_json::from_str(&self.arguments).map_err(|e| {
            ProviderError::Unsupported(format!(
                "the arguments of tool call {:?} are not JSON: {e}",
                self.name
            ))
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct Tool {
    pub function: FunctionDef,
}

#[derive(Debug, Deserialize)]
pub struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
}

impl FunctionDef {
    /// The JSON schema of the arguments; an object schema when none was given.
    pub fn schema(&self) -> Value {
        self.parameters
            .clone()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}))
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ToolChoiceWire {
    Mode(String),
    Named { function: NamedFunction },
}

#[derive(Debug, Deserialize)]
pub struct NamedFunction {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

/// Token counts as OpenAI reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
    /// Prompt tokens served from the provider's cache (part of `prompt`).
    pub cached: Option<u64>,
}

impl Usage {
    pub fn to_json(self) -> Value {
        let mut u = json!({
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt.saturating_add(self.completion),
        });
        if let Some(cached) = self.cached {
            u["prompt_tokens_details"] = json!({"cached_tokens": cached});
        }
        u
    }
}

/// A tool call in an answer; `arguments` is the JSON text OpenAI clients parse.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallOut {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// One choice of a whole answer.
#[derive(Debug, Default)]
pub struct Choice {
    pub text: Option<String>,
    pub tool_calls: Vec<ToolCallOut>,
    pub finish_reason: &'static str,
}

impl Choice {
    fn to_json(&self, index: usize) -> Value {
        let mut message = json!({"role": "assistant", "content": self.text});
        if !self.tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(
                self.tool_calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect(),
            );
        }
        json!({"index": index, "message": message, "finish_reason": self.finish_reason, "logprobs": null})
    }
}

/// A whole `chat.completion`.
pub fn completion(id: &str, model: &str, choices: &[Choice], usage: Usage) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": choices.iter().enumerate().map(|(i, c)| c.to_json(i)).collect::<Vec<_>>(),
        "usage": usage.to_json(),
    })
}

/// Writes the `chat.completion.chunk`s of one streamed answer.
pub struct ChunkWriter {
    id: String,
    model: String,
    created: i64,
}

impl ChunkWriter {
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Self {
        ChunkWriter {
            id: id.into(),
            model: model.into(),
            created: unix_now(),
        }
    }

    pub fn set_id(&mut self, id: impl Into<String>) {
        self.id = id.into();
    }

    fn chunk(&self, delta: Value, finish_reason: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": null}],
        })
    }

    pub fn role(&self) -> Value {
        self.chunk(json!({"role": "assistant", "content": ""}), None)
    }

    pub fn text(&self, text: &str) -> Value {
        self.chunk(json!({"content": text}), None)
    }

    pub fn tool_start(&self, index: usize, id: &str, name: &str) -> Value {
        self.chunk(
            json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
            None,
        )
    }

    pub fn tool_arguments(&self, index: usize, arguments: &str) -> Value {
        self.chunk(
            json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}),
            None,
        )
    }

    pub fn finish(&self, reason: &str) -> Value {
        self.chunk(json!({}), Some(reason))
    }

    /// The last chunk: usage, with no choices (what OpenAI sends for `include_usage`).
    pub fn usage(&self, usage: Usage) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [], "usage": usage.to_json(),
        })
    }
}

/// Whether the caller wants vectors as base64 of little-endian f32 (the openai SDKs'
/// default) rather than JSON numbers.
pub fn wants_base64(body: &Value) -> bool {
    body.get("encoding_format").and_then(Value::as_str) == Some("base64")
}

/// The texts of an embeddings `input`: a string or an array of strings.
pub fn embedding_inputs(body: &Value) -> Result<Vec<String>, ProviderError> {
    match body.get("input") {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) && !items.is_empty() => {
            Ok(items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect())
        }
        _ => Err(ProviderError::Unsupported(
            "input must be a string or a non-empty array of strings for this provider".into(),
        )),
    }
}

/// An OpenAI `list` of embeddings.
pub fn embedding_list(
    model: &str,
    vectors: Vec<Vec<f32>>,
    prompt_tokens: u64,
    base64: bool,
) -> Value {
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    })
}

fn unix_now() -> i64 {
    crate::clock::now_ms() / 1000
}

/// A tool-call id for APIs that do not give one (Gemini).
pub fn new_call_id() -> String {
    format!("call_{}", crate::ids::random_base62(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_message_shape() {
        let body = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "what is"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"},
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "stop": "END",
            "max_tokens": 10,
            "max_completion_tokens": 20,
        });
        let req = ChatRequest::from_body(&body).unwrap();
        assert_eq!(req.messages.len(), 4);
        assert_eq!(req.max_output_tokens(), Some(20));
        assert_eq!(req.stop_sequences(), vec!["END"]);
        assert_eq!(
            req.tool_choice().unwrap(),
            Some(ToolChoice::Function("get_weather".into()))
        );
        assert_eq!(req.tool_name_of("call_1"), Some("get_weather"));
        let Message::User { content } = &req.messages[1] else {
            panic!()
        };
        let parts = content.parts();
        assert!(
            matches!(parts[1], PartRef::Image(u) if image(u).unwrap() == Image::Inline { media_type: "image/png", data: "iVBOR" })
        );
        let Message::Assistant {
            tool_calls: Some(calls),
            ..
        } = &req.messages[2]
        else {
            panic!()
        };
        assert_eq!(
            calls[0].function.arguments_json().unwrap(),
            json!({"city": "Paris"})
        );
    }

    #[test]
    fn rejects_what_cannot_be_translated() {
        assert!(ChatRequest::from_body(
            &json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})
        )
        .is_err());
        assert!(image("ftp://x").is_err());
        assert!(image("data:image/png,notbase64").is_err());
        let bad = FunctionCall {
            name: "f".into(),
            arguments: "{not json".into(),
        };
        assert!(bad.arguments_json().is_err());
        let empty = FunctionCall {
            name: "f".into(),
            arguments: String::new(),
        };
        assert_eq!(empty.arguments_json().unwrap(), json!({}));
    }

    #[test]
    fn base64_embeddings_are_little_endian_f32() {
        let list = embedding_list("m", vec![vec![1.0, -2.0]], 3, true);
        let b64 = list["data"][0]["embedding"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let floats: Vec<f32> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, vec![1.0, -2.0]);
        assert_eq!(list["usage"]["prompt_tokens"], 3);
    }
}
