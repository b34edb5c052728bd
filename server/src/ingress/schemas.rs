//! The `/v1` shapes as the OpenAPI document describes them. The handlers read the raw
//! body and pass every field they do not act on through to the provider (clients send
//! fields newer than any list), so these name the fields LangMart reads or answers
//! with, and allow the rest: the full shapes are OpenAI's and Anthropic's own references.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An OpenAI Chat Completions request. Other fields pass through to the provider.
#[derive(Serialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// A model id, an alias, a collection (`collection/<name>`) or `provider/model`.
    #[schema(example = "gpt-4o-mini")]
    model: String,
    messages: Vec<Value>,
    stream: Option<bool>,
    /// `{"include_usage": true}` adds a usage chunk before `[DONE]`.
    stream_options: Option<Value>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    response_format: Option<Value>,
}

/// An OpenAI `chat.completion`.
#[derive(Serialize, ToSchema)]
pub struct ChatCompletion {
    id: String,
    #[schema(example = "chat.completion")]
    object: String,
    created: i64,
    model: String,
    choices: Vec<Value>,
    usage: Option<TokenUsage>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// An OpenAI (legacy) Completions request. Other fields pass through.
#[derive(Serialize, ToSchema)]
pub struct CompletionRequest {
    model: String,
    /// A string or an array of strings.
    prompt: Value,
    stream: Option<bool>,
    max_tokens: Option<u64>,
}

/// An OpenAI `text_completion`.
#[derive(Serialize, ToSchema)]
pub struct Completion {
    id: String,
    #[schema(example = "text_completion")]
    object: String,
    created: i64,
    model: String,
    choices: Vec<Value>,
    usage: Option<TokenUsage>,
}

/// An OpenAI Embeddings request. Other fields pass through.
#[derive(Serialize, ToSchema)]
pub struct EmbeddingsRequest {
    model: String,
    /// A string, an array of strings or of token arrays.
    input: Value,
    encoding_format: Option<String>,
    dimensions: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct Embeddings {
    #[schema(example = "list")]
    object: String,
    data: Vec<Value>,
    model: String,
    usage: Option<Value>,
}

/// An OpenAI Responses request. Other fields pass through.
#[derive(Serialize, ToSchema)]
pub struct ResponsesRequest {
    model: String,
    /// A string or an array of input items.
    input: Value,
    instructions: Option<String>,
    stream: Option<bool>,
    /// Continue a stored response of the same key's user.
    previous_response_id: Option<String>,
    /// Keep it for `GET /v1/responses/{id}` and `previous_response_id` (default true).
    store: Option<bool>,
    tools: Option<Vec<Value>>,
    max_output_tokens: Option<u64>,
    reasoning: Option<Value>,
}

/// An OpenAI `response`.
#[derive(Serialize, ToSchema)]
pub struct ResponseObject {
    id: String,
    #[schema(example = "response")]
    object: String,
    created_at: i64,
    #[schema(example = "completed")]
    status: String,
    model: String,
    output: Vec<Value>,
    usage: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ResponseDeleted {
    id: String,
    #[schema(example = "response")]
    object: String,
    deleted: bool,
}

/// A page of a stored response's input items.
#[derive(Serialize, ToSchema)]
pub struct InputItems {
    #[schema(example = "list")]
    object: String,
    data: Vec<Value>,
    first_id: Option<String>,
    last_id: Option<String>,
    has_more: bool,
}

/// An Anthropic Messages request. Other fields pass through.
#[derive(Serialize, ToSchema)]
pub struct MessagesRequest {
    model: String,
    messages: Vec<Value>,
    max_tokens: u64,
    /// A string or an array of text blocks.
    system: Option<Value>,
    stream: Option<bool>,
    tools: Option<Vec<Value>>,
    thinking: Option<Value>,
}

/// An Anthropic `message`.
#[derive(Serialize, ToSchema)]
pub struct Message {
    id: String,
    #[schema(example = "message")]
    r#type: String,
    #[schema(example = "assistant")]
    role: String,
    content: Vec<Value>,
    model: String,
    stop_reason: Option<String>,
    usage: Value,
}

/// An Anthropic token-count request: a Messages request without `max_tokens`.
#[derive(Serialize, ToSchema)]
pub struct CountTokensRequest {
    model: String,
    messages: Vec<Value>,
    system: Option<Value>,
    tools: Option<Vec<Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenCount {
    input_tokens: u64,
}

/// The models the key reaches: OpenAI's list, or Anthropic's when the caller sends
/// `anthropic-version`.
#[derive(Serialize, ToSchema)]
pub struct ModelList {
    #[schema(example = "list")]
    object: Option<String>,
    data: Vec<ModelObject>,
    /// Anthropic's form only.
    has_more: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ModelObject {
    id: String,
    /// `model` (OpenAI's form).
    object: Option<String>,
    /// `model` (Anthropic's form).
    r#type: Option<String>,
    owned_by: Option<String>,
}

/// Whether the key works, and whose it is.
#[derive(Serialize, ToSchema)]
pub struct KeyCheck {
    valid: bool,
    user: KeyOwner,
}

#[derive(Serialize, ToSchema)]
pub struct KeyOwner {
    id: String,
    email: String,
    handle: String,
}
