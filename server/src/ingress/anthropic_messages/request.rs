//! An Anthropic Messages request → the canonical OpenAI chat request. System prompts become
//! a system message, `tool_use` blocks become tool calls, `tool_result` blocks become tool
//! messages (placed first, as OpenAI wants them right after the calls), images become
//! `image_url` parts and the tool settings map across.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::RequestError;

#[derive(Deserialize)]
struct MessagesRequest {
    model: String,
    max_tokens: u64,
    messages: Vec<InMessage>,
    system: Option<Text>,
    stop_sequences: Option<Vec<String>>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stream: Option<bool>,
    tools: Option<Vec<InTool>>,
    tool_choice: Option<InToolChoice>,
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    user_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Role {
    User,
    Assistant,
    /// Some Claude Code betas put system text inside `messages`.
    System,
}

#[derive(Deserialize)]
struct InMessage {
    role: Role,
    content: Blocks,
}

/// A string, or blocks (Anthropic accepts either almost everywhere).
#[derive(Deserialize)]
#[serde(untagged)]
enum Blocks {
    Text(String),
    Blocks(Vec<Block>),
}

impl Blocks {
    fn into_vec(self) -> Vec<Block> {
        match self {
            Blocks::Text(text) => vec![Block::Text { text }],
            Blocks::Blocks(b) => b,
        }
    }
}

/// System prompts and tool results: a string or text blocks.
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Plain(String),
    Blocks(Vec<Block>),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    Image {
        source: Source,
    },
    Document {
        source: Source,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Option<Text>,
        #[serde(default)]
        is_error: bool,
    },
    /// Thinking blocks are the model's own; other providers cannot take them back.
    Thinking {},
    RedactedThinking {},
    #[serde(other)]
    Unsupported,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source {
    Base64 { media_type: String, data: String },
    Url { url: String },
    Text { data: String },
}

#[derive(Deserialize)]
struct InTool {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: String,
    description: Option<String>,
    input_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum InToolChoice {
    Auto {
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    Any {
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    Tool {
        name: String,
        #[serde(default)]
        disable_parallel_tool_use: bool,
    },
    None,
}

fn invalid(message: impl Into<String>) -> RequestError {
    RequestError::InvalidBody(message.into())
}

fn text_of(text: Text, what: &str) -> Result<String, RequestError> {
    match text {
        Text::Plain(s) => Ok(s),
        Text::Blocks(blocks) => {
            let mut out = Vec::new();
            for b in blocks {
                match b {
                    Block::Text { text } => out.push(text),
                    _ => return Err(invalid(format!("{what} may contain text blocks only"))),
                }
            }
            Ok(out.join("\n"))
        }
    }
}

/// The OpenAI content part for an image or document block.
fn media_part(source: Source, document: bool) -> Result<Value, RequestError> {
    Ok(match (source, document) {
        (Source::Base64 { media_type, data }, false) => {
            json!({"type": "image_url", "image_url": {"url": format!("data:{media_type};base64,{data}")}})
        }
        (Source::Base64 { media_type, data }, true) => {
            json!({"type": "file", "file": {"filename": "document", "file_data": format!("data:{media_type};base64,{data}")}})
        }
        (Source::Url { url }, false) => json!({"type": "image_url", "image_url": {"url": url}}),
        (Source::Url { .. }, true) => {
            return Err(invalid(
                "documents must be sent inline (base64 or text sources)",
            ))
        }
        (Source::Text { data }, _) => json!({"type": "text", "text": data}),
    })
}

pub fn to_openai(body: &Value) -> Result<Value, RequestError> {
    let req = MessagesRequest::deserialize(body).map_err(|e| invalid(e.to_string()))?;
    if req.messages.is_empty() {
        return Err(invalid("\"messages\" must not be empty"));
    }
    let mut messages = Vec::new();
    if let Some(system) = req.system {
        let text = text_of(system, "system")?;
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for message in req.messages {
        if let Role::System = message.role {
            let text = match message.content {
                Blocks::Text(t) => t,
                Blocks::Blocks(b) => text_of(Text::Blocks(b), "a system message")?,
            };
            messages.push(json!({"role": "system", "content": text}));
            continue;
        }
        let blocks = message.content.into_vec();
        match message.role {
            Role::System => {}
            Role::User => {
                let mut parts = Vec::new();
                for block in blocks {
                    match block {
                        Block::ToolResult {
                            tool_use_id,
                            content,
                            is_error,
                        } => {
                            let mut text = match content {
                                Some(c) => text_of(c, "a tool_result")?,
                                None => String::new(),
                            };
                            if is_error {
                                text = format!("Error: {text}");
                            }
                            messages.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}));
                        }
                        Block::Text { text } => parts.push(json!({"type": "text", "text": text})),
                        Block::Image { source } => parts.push(media_part(source, false)?),
                        Block::Document { source } => parts.push(media_part(source, true)?),
                        Block::ToolUse { .. } => {
                            return Err(invalid("tool_use blocks belong to assistant messages"))
                        }
                        Block::Thinking {} | Block::RedactedThinking {} => {}
                        Block::Unsupported => {
                            return Err(invalid("unsupported content block in a user message"))
                        }
                    }
                }
                if parts.is_empty() {
                    continue;
                }
                // A lone text part is sent as a plain string, as most clients do.
                let content = match parts.as_slice() {
                    [only] if only["type"] == "text" => only["text"].clone(),
                    _ => Value::Array(parts),
                };
                messages.push(json!({"role": "user", "content": content}));
            }
            Role::Assistant => {
                let mut text = String::new();
                let mut calls = Vec::new();
                for block in blocks {
                    match block {
                        Block::Text { text: t } => text.push_str(&t),
                        Block::ToolUse { id, name, input } => {
                            let arguments = if input.is_null() {
                                "{}".to_owned()
                            } else {
                                input.to_string()
                            };
                            calls.push(json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}));
                        }
                        Block::Thinking {} | Block::RedactedThinking {} => {}
                        _ => {
                            return Err(invalid(
                                "assistant messages may contain text and tool_use blocks only",
                            ))
                        }
                    }
                }
                let mut m = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) }});
                if !calls.is_empty() {
                    m["tool_calls"] = Value::Array(calls);
                }
                messages.push(m);
            }
        }
    }
    let mut out = json!({
        "model": req.model,
        "messages": messages,
        "max_tokens": req.max_tokens,
    });
    if let Some(stop) = req.stop_sequences.filter(|s| !s.is_empty()) {
        out["stop"] = json!(stop);
    }
    if let Some(t) = req.temperature {
        out["temperature"] = json!(t);
    }
    if let Some(p) = req.top_p {
        out["top_p"] = json!(p);
    }
    if req.stream == Some(true) {
        out["stream"] = json!(true);
    }
    if let Some(user) = req.metadata.and_then(|m| m.user_id) {
        out["user"] = json!(user);
    }
    if let Some(tools) = req.tools.filter(|t| !t.is_empty()) {
        let mut list = Vec::new();
        for t in tools {
            if let Some(kind) = t.kind.as_deref().filter(|k| *k != "custom") {
                return Err(RequestError::InvalidField {
                    field: "tools",
                    message: format!(
                        "server tool {kind:?} ({}) runs inside Anthropic's API and is not available through LangMart; declare it as a custom tool",
                        t.name
                    ),
                });
            }
            let mut function = json!({
                "name": t.name,
                "parameters": t.input_schema.unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
            if let Some(d) = t.description {
                function["description"] = json!(d);
            }
            list.push(json!({"type": "function", "function": function}));
        }
        out["tools"] = Value::Array(list);
    }
    if let Some(choice) = req.tool_choice {
        let (value, no_parallel) = match choice {
            InToolChoice::Auto {
                disable_parallel_tool_use,
            } => (json!("auto"), disable_parallel_tool_use),
            InToolChoice::Any {
                disable_parallel_tool_use,
            } => (json!("required"), disable_parallel_tool_use),
            InToolChoice::Tool {
                name,
                disable_parallel_tool_use,
            } => (
                json!({"type": "function", "function": {"name": name}}),
                disable_parallel_tool_use,
            ),
            InToolChoice::None => (json!("none"), false),
        };
        if out.get("tools").is_some() {
            out["tool_choice"] = value;
            if no_parallel {
                out["parallel_tool_calls"] = json!(false);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_a_tool_conversation() {
        let body = json!({
            "model": "openai/gpt-4o",
            "max_tokens": 100,
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather in Paris? See the map."},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "…", "signature": "x"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "21°C"}]},
                    {"type": "text", "text": "And tomorrow?"}
                ]}
            ],
            "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "stop_sequences": ["END"],
            "stream": true,
            "metadata": {"user_id": "u-1"},
        });
        let out = to_openai(&body).unwrap();
        assert_eq!(
            out,
            json!({
                "model": "openai/gpt-4o",
                "max_tokens": 100,
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "Weather in Paris? See the map."},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
                    ]},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "toolu_1", "content": "21°C"},
                    {"role": "user", "content": "And tomorrow?"}
                ],
                "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}],
                "tool_choice": "required",
                "parallel_tool_calls": false,
                "stop": ["END"],
                "stream": true,
                "user": "u-1",
            })
        );
    }

    #[test]
    fn a_system_item_inside_messages_becomes_a_system_message() {
        let body = json!({"model": "m", "max_tokens": 5, "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "hi"}
        ]});
        let out = to_openai(&body).unwrap();
        assert_eq!(
            out["messages"][0],
            json!({"role": "system", "content": "Be terse."})
        );
        assert_eq!(out["messages"][1], json!({"role": "user", "content": "hi"}));
    }

    #[test]
    fn rejects_what_the_messages_api_rejects() {
        let no_max = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert!(to_openai(&no_max)
            .unwrap_err()
            .to_string()
            .contains("max_tokens"));
        let empty = json!({"model": "m", "max_tokens": 1, "messages": []});
        assert!(to_openai(&empty).is_err());
        let server_tool = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}]});
        assert!(matches!(
            to_openai(&server_tool),
            Err(RequestError::InvalidField { field: "tools", .. })
        ));
    }
}
