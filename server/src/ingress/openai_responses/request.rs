//! A Responses API request: checked (a 400 naming the field before any routing), then
//! translated to the canonical OpenAI chat form for connections that do not speak the
//! Responses API. Input items become messages — `function_call` items become an assistant
//! message's tool calls, `function_call_output` items tool messages, `custom_tool_call`s
//! and `local_shell_call`s the same through function tools of those names — and reasoning
//! items, which only their own provider can read back, are left out.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::error::RequestError;

/// Tool types OpenAI runs inside its own API (or that only its models know how to call):
/// they reach a connection that speaks the Responses API natively; translated to chat for
/// another provider they are left out, as no other provider can run them.
const HOSTED_TOOLS: [&str; 14] = [
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "file_search",
    "computer_use_preview",
    "computer_use",
    "code_interpreter",
    "mcp",
    "image_generation",
    "tool_search",
    "shell",
    "apply_patch",
    "computer",
];

/// Records of tools that ran inside OpenAI, and other items only OpenAI can read back:
/// left out when a conversation goes to another provider, which needs none of them.
const OPENAI_ONLY_ITEMS: [&str; 19] = [
    "reasoning",
    "web_search_call",
    "file_search_call",
    "image_generation_call",
    "code_interpreter_call",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "mcp_approval_response",
    "computer_call",
    "computer_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "tool_search_call",
    "tool_search_output",
    "compaction",
    "additional_tools",
];

/// How a namespaced tool's name reads to a chat model: `namespace__name`.
const NAMESPACE_SEPARATOR: &str = "__";

/// The function a `local_shell` tool becomes for chat models: the same action Codex runs.
pub const LOCAL_SHELL: &str = "local_shell";

fn invalid(message: impl Into<String>) -> RequestError {
    RequestError::InvalidBody(message.into())
}

/// What routing and the answer need from the request, read once.
pub struct Checked {
    pub model: String,
    pub stream: bool,
    pub store: bool,
    pub previous_response_id: Option<String>,
    pub max_output_tokens: Option<u64>,
    /// The input as a list of items (a string input becomes one user message).
    pub input: Vec<Value>,
}

/// Checks the shape of a request, naming the field at fault.
pub fn check(body: &Value) -> Result<Checked, RequestError> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("the body must be a JSON object"))?;
    let model = crate::ingress::model_field(obj.get("model"))?;
    let stream = crate::ingress::stream_field(obj.get("stream"))?;
    let store = match obj.get("store") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("\"store\" must be a boolean")),
    };
    let previous_response_id = match obj.get("previous_response_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(invalid("\"previous_response_id\" must be a string")),
    };
    let input = match obj.get("input") {
        Some(Value::String(s)) => vec![json!({"type": "message", "role": "user", "content": s})],
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(invalid(format!("\"input[{i}]\" must be an object")));
                }
            }
            items.clone()
        }
        None | Some(Value::Null) if previous_response_id.is_some() => Vec::new(),
        None | Some(Value::Null) => return Err(invalid("\"input\" is required")),
        Some(_) => {
            return Err(invalid(
                "\"input\" must be a string or an array of input items",
            ))
        }
    };
    if let Some(tools) = obj.get("tools").filter(|t| !t.is_null()) {
        let tools = tools
            .as_array()
            .ok_or_else(|| invalid("\"tools\" must be an array"))?;
        for (i, tool) in tools.iter().enumerate() {
            let kind = tool.get("type").and_then(Value::as_str).ok_or_else(|| {
                invalid(format!(
                    "\"tools[{i}].type\" is required and must be a string"
                ))
            })?;
            let known = matches!(kind, "function" | "custom" | "local_shell" | "namespace")
                || HOSTED_TOOLS.contains(&kind);
            if !known {
                return Err(RequestError::InvalidField {
                    field: "tools",
                    message: format!("tools[{i}]: unknown tool type \"{kind}\""),
                });
            }
            if matches!(kind, "function" | "custom")
                && tool.get("name").and_then(Value::as_str).is_none()
            {
                return Err(invalid(format!("\"tools[{i}].name\" is required")));
            }
        }
    }
    let max_output_tokens = match obj.get("max_output_tokens") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| invalid("\"max_output_tokens\" must be a positive integer"))?,
        ),
    };
    Ok(Checked {
        model,
        stream,
        store,
        previous_response_id,
        max_output_tokens,
        input,
    })
}

/// One of the request's tools as a chat model sees it.
struct FlatTool<'a> {
    /// `namespace__name` for a namespace's member, else the tool's name.
    chat_name: String,
    namespace: Option<&'a str>,
    name: &'a str,
    tool: &'a Value,
}

/// The request's tools, a namespace's members flattened as `namespace__name`.
fn flat_tools(body: &Value) -> Vec<FlatTool<'_>> {
    fn name_of(t: &Value) -> &str {
        t.get("name").and_then(Value::as_str).unwrap_or_default()
    }
    let mut out = Vec::new();
    for tool in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if tool.get("type").and_then(Value::as_str) != Some("namespace") {
            let name = name_of(tool);
            out.push(FlatTool {
                chat_name: name.to_owned(),
                namespace: None,
                name,
                tool,
            });
            continue;
        }
        let ns = name_of(tool);
        for member in tool
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name_of(member);
            out.push(FlatTool {
                chat_name: format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
                namespace: Some(ns),
                name,
                tool: member,
            });
        }
    }
    out
}

/// What a chat model's tool call stands for in the Responses API.
#[derive(Debug, Default, Clone)]
pub struct ToolNames {
    /// Chat names of `custom` tools, whose calls come back as `custom_tool_call` items with
    /// the raw `input` rather than JSON arguments.
    pub custom: HashSet<String>,
    /// Chat names of namespaced tools → (namespace, name).
    pub namespaced: std::collections::HashMap<String, (String, String)>,
}

pub fn tool_names(body: &Value) -> ToolNames {
    let mut names = ToolNames::default();
    for t in flat_tools(body) {
        if t.tool.get("type").and_then(Value::as_str) == Some("custom") {
            names.custom.insert(t.chat_name.clone());
        }
        if let Some(ns) = t.namespace {
            names
                .namespaced
                .insert(t.chat_name, (ns.to_owned(), t.name.to_owned()));
        }
    }
    names
}

/// The canonical chat request for `body`, whose input is `items` (history included), or
/// why the request cannot be expressed as one.
pub fn to_chat(body: &Value, items: &[Value]) -> Result<Value, String> {
    let mut messages: Vec<Value> = Vec::new();
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
        if !instructions.is_empty() {
            messages.push(json!({"role": "system", "content": instructions}));
        }
    }
    for (i, item) in items.iter().enumerate() {
        add_item(&mut messages, item).map_err(|e| format!("input[{i}]: {e}"))?;
    }
    drop_orphan_tool_results(&mut messages);
    if messages.is_empty() {
        return Err("the input has no messages".into());
    }
    let mut out = Map::new();
    out.insert("model".into(), body["model"].clone());
    out.insert("messages".into(), Value::Array(messages));
    if let Some(n) = body.get("max_output_tokens").filter(|v| v.is_u64()) {
        out.insert("max_tokens".into(), n.clone());
    }
    for key in ["temperature", "top_p", "parallel_tool_calls", "user"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(effort) = body.pointer("/reasoning/effort").filter(|v| v.is_string()) {
        out.insert("reasoning_effort".into(), effort.clone());
    }
    if body.get("stream") == Some(&Value::Bool(true)) {
        out.insert("stream".into(), Value::Bool(true));
    }
    if let Some(format) = body.pointer("/text/format") {
        match format.get("type").and_then(Value::as_str) {
            Some("json_object") => {
                out.insert("response_format".into(), json!({"type": "json_object"}));
            }
            Some("json_schema") => {
                let mut schema = Map::new();
                for key in ["name", "schema", "strict", "description"] {
                    if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                        schema.insert(key.into(), v.clone());
                    }
                }
                out.insert(
                    "response_format".into(),
                    json!({"type": "json_schema", "json_schema": schema}),
                );
            }
            _ => {}
        }
    }
    let tools = tools(body)?;
    let has_tools = !tools.is_empty();
    if has_tools {
        out.insert("tools".into(), Value::Array(tools));
    }
    if let (true, Some(choice)) = (has_tools, body.get("tool_choice")) {
        if let Some(c) = tool_choice(choice)? {
            out.insert("tool_choice".into(), c);
        }
    }
    Ok(Value::Object(out))
}

fn tools(body: &Value) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for FlatTool {
        chat_name: name,
        tool,
        ..
    } in flat_tools(body)
    {
        let kind = tool.get("type").and_then(Value::as_str).unwrap_or_default();
        let function = match kind {
            "function" => {
                let mut f = Map::new();
                f.insert("name".into(), json!(name));
                if let Some(d) = tool.get("description").filter(|d| d.is_string()) {
                    f.insert("description".into(), d.clone());
                }
                f.insert(
                    "parameters".into(),
                    tool.get("parameters")
                        .filter(|p| p.is_object())
                        .cloned()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                );
                if let Some(s) = tool.get("strict").filter(|s| s.is_boolean()) {
                    f.insert("strict".into(), s.clone());
                }
                Value::Object(f)
            }
            "custom" => {
                // A freeform tool: the model writes one string, described by the format.
                let mut description = tool
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if let Some(def) = tool.pointer("/format/definition").and_then(Value::as_str) {
                    description.push_str("\n\nThe input must follow this grammar:\n");
                    description.push_str(def);
                }
                json!({
                    "name": name,
                    "description": description,
                    "parameters": {
                        "type": "object",
                        "properties": {"input": {"type": "string", "description": "The tool's whole input, as free text."}},
                        "required": ["input"],
                    },
                })
            }
            "local_shell" => json!({
                "name": LOCAL_SHELL,
                "description": "Runs a command on the user's machine and returns its output.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "command": {"type": "array", "items": {"type": "string"}, "description": "The program and its arguments."},
                        "working_directory": {"type": "string"},
                        "timeout_ms": {"type": "integer"},
                    },
                    "required": ["command"],
                },
            }),
            // Hosted tools: no other provider can run them.
            _ => continue,
        };
        out.push(json!({"type": "function", "function": function}));
    }
    Ok(out)
}

fn tool_choice(choice: &Value) -> Result<Option<Value>, String> {
    Ok(match choice {
        Value::String(mode) => Some(Value::String(mode.clone())),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function" | "custom") => o.get("name").map(|name| {
                let name = match o.get("namespace").and_then(Value::as_str) {
                    Some(ns) => json!(format!(
                        "{ns}{NAMESPACE_SEPARATOR}{}",
                        name.as_str().unwrap_or_default()
                    )),
                    None => name.clone(),
                };
                json!({"type": "function", "function": {"name": name}})
            }),
            Some("local_shell") => {
                Some(json!({"type": "function", "function": {"name": LOCAL_SHELL}}))
            }
            Some("allowed_tools") => o.get("mode").cloned(),
            Some(other) => {
                return Err(format!(
                "tool_choice \"{other}\" needs a connection that speaks the Responses API natively"
            ))
            }
            None => None,
        },
        _ => None,
    })
}

/// Tool results without an earlier call of that id: strict chat APIs refuse them, and
/// they answer nothing the model asked.
fn drop_orphan_tool_results(messages: &mut Vec<Value>) {
    let mut called: HashSet<String> = HashSet::new();
    messages.retain(|m| {
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            if let Some(id) = call["id"].as_str() {
                called.insert(id.to_owned());
            }
        }
        m["role"] != "tool"
            || m["tool_call_id"]
                .as_str()
                .is_some_and(|id| called.contains(id))
    });
}

/// Text of a content that is a string or a list of text parts.
fn text_of(content: &Value) -> Result<String, String> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("input_text" | "output_text" | "text" | "summary_text") => {
                        out.push_str(p.get("text").and_then(Value::as_str).unwrap_or_default())
                    }
                    Some("refusal") => {
                        out.push_str(p.get("refusal").and_then(Value::as_str).unwrap_or_default())
                    }
                    // Images and files in a tool's output: chat APIs take text there.
                    Some("input_image" | "input_file") => {}
                    Some(other) => return Err(format!("a \"{other}\" part is not text")),
                    None => return Err("a content part has no type".into()),
                }
            }
            Ok(out)
        }
        Value::Null => Ok(String::new()),
        _ => Err("content must be a string or a list of parts".into()),
    }
}

/// A user message's content in chat form: text and images (and inline files).
fn user_content(content: &Value) -> Result<Value, String> {
    let Value::Array(parts) = content else {
        return Ok(Value::String(text_of(content)?));
    };
    let mut out = Vec::new();
    for p in parts {
        match p.get("type").and_then(Value::as_str) {
            Some("input_text" | "output_text" | "text") => out.push(json!({
                "type": "text",
                "text": p.get("text").and_then(Value::as_str).unwrap_or_default(),
            })),
            Some("input_image") => {
                let url = p.get("image_url").and_then(Value::as_str).ok_or(
                    "input_image needs an image_url (file ids are not available through LangMart)",
                )?;
                let mut image = json!({"url": url});
                if let Some(detail) = p.get("detail").filter(|d| d.is_string()) {
                    image["detail"] = detail.clone();
                }
                out.push(json!({"type": "image_url", "image_url": image}));
            }
            Some("input_file") => {
                let data = p
                    .get("file_data")
                    .and_then(Value::as_str)
                    .ok_or("input_file needs file_data (file ids and URLs are not available through LangMart)")?;
                out.push(json!({"type": "file", "file": {
                    "filename": p.get("filename").and_then(Value::as_str).unwrap_or("file"),
                    "file_data": data,
                }}));
            }
            Some(other) => return Err(format!("unsupported content part \"{other}\"")),
            None => return Err("a content part has no type".into()),
        }
    }
    // A lone text part is sent as a plain string, as most clients do.
    Ok(match out.as_slice() {
        [only] if only["type"] == "text" => only["text"].clone(),
        _ => Value::Array(out),
    })
}

/// Appends a tool call to the assistant message being built, or starts one.
fn push_call(messages: &mut Vec<Value>, call_id: &Value, name: &Value, arguments: String) {
    let call = json!({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}});
    if let Some(last) = messages.last_mut() {
        if last["role"] == "assistant" {
            match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                Some(calls) => calls.push(call),
                None => last["tool_calls"] = json!([call]),
            }
            return;
        }
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

fn output_text(output: Option<&Value>) -> Result<String, String> {
    match output {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ Value::Array(_)) => text_of(v),
        Some(Value::Null) | None => Ok(String::new()),
        Some(other) => Ok(other.to_string()),
    }
}

fn add_item(messages: &mut Vec<Value>, item: &Value) -> Result<(), String> {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    match kind {
        "message" => {
            let role = item
                .get("role")
                .and_then(Value::as_str)
                .ok_or("a message needs a role")?;
            let content = item.get("content").unwrap_or(&Value::Null);
            match role {
                "user" => messages.push(json!({"role": "user", "content": user_content(content)?})),
                "system" | "developer" => {
                    messages.push(json!({"role": "system", "content": text_of(content)?}))
                }
                "assistant" => {
                    let text = text_of(content)?;
                    messages.push(json!({"role": "assistant", "content": text}));
                }
                other => return Err(format!("unknown role \"{other}\"")),
            }
        }
        "function_call" => push_call(
            messages,
            &item["call_id"],
            &match item.get("namespace").and_then(Value::as_str) {
                Some(ns) => json!(format!(
                    "{ns}{NAMESPACE_SEPARATOR}{}",
                    item["name"].as_str().unwrap_or_default()
                )),
                None => item["name"].clone(),
            },
            item.get("arguments")
                .and_then(Value::as_str)
                .unwrap_or("{}")
                .to_owned(),
        ),
        "custom_tool_call" => push_call(
            messages,
            &item["call_id"],
            &item["name"],
            json!({"input": item.get("input").and_then(Value::as_str).unwrap_or_default()})
                .to_string(),
        ),
        "local_shell_call" => push_call(
            messages,
            &item["call_id"],
            &json!(LOCAL_SHELL),
            item.get("action")
                .cloned()
                .unwrap_or_else(|| json!({}))
                .to_string(),
        ),
        "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
            let call_id = item
                .get("call_id")
                .or_else(|| item.get("id"))
                .cloned()
                .unwrap_or(Value::Null);
            messages.push(json!({
                "role": "tool",
                "tool_call_id": call_id,
                "content": output_text(item.get("output"))?,
            }));
        }
        // The model's own reasoning, and the records of tools that ran inside OpenAI:
        // another provider cannot take them back, and needs none of them to go on.
        kind if OPENAI_ONLY_ITEMS.contains(&kind) => {}
        "item_reference" => {
            return Err(format!(
                "item_reference {} was not found among your stored responses",
                item["id"]
            ))
        }
        other => return Err(format!("unknown item type \"{other}\"")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codex_turn_becomes_a_chat_conversation() {
        let body = json!({
            "model": "openai/gpt-5",
            "instructions": "You are a coding agent.",
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Sandbox: none"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
                {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"command\":[\"ls\"]}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\n"},
                {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch"},
                {"type": "custom_tool_call_output", "call_id": "call_2", "output": "ok"},
                {"role": "user", "content": "thanks"},
            ],
            "tools": [
                {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {"command": {"type": "array"}}}, "strict": false},
                {"type": "custom", "name": "apply_patch", "description": "Edit files", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": false,
            "reasoning": {"effort": "medium", "summary": "auto"},
            "store": false,
            "stream": true,
            "include": ["reasoning.encrypted_content"],
            "max_output_tokens": 500,
        });
        let checked = check(&body).unwrap();
        assert!(!checked.store && checked.stream);
        let chat = to_chat(&body, &checked.input).unwrap();
        assert_eq!(
            chat["messages"],
            json!([
                {"role": "system", "content": "You are a coding agent."},
                {"role": "system", "content": "Sandbox: none"},
                {"role": "user", "content": "list files"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{\"command\":[\"ls\"]}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\n"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_2", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"input\":\"*** Begin Patch\"}"}}]},
                {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
                {"role": "user", "content": "thanks"},
            ])
        );
        assert_eq!(chat["tools"][0]["function"]["name"], "shell");
        assert_eq!(
            chat["tools"][1]["function"]["parameters"]["required"],
            json!(["input"])
        );
        assert!(chat["tools"][1]["function"]["description"]
            .as_str()
            .unwrap()
            .contains("start: x"));
        assert_eq!(chat["max_tokens"], 500);
        assert_eq!(chat["reasoning_effort"], "medium");
        assert_eq!(chat["parallel_tool_calls"], false);
        assert_eq!(chat["stream"], true);
        assert_eq!(
            tool_names(&body).custom,
            HashSet::from(["apply_patch".to_owned()])
        );
    }

    #[test]
    fn structured_output_and_images_translate() {
        let body = json!({"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "what is this?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "low"}]}],
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}}});
        let checked = check(&body).unwrap();
        let chat = to_chat(&body, &checked.input).unwrap();
        assert_eq!(
            chat["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(
            chat["messages"][0]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"}})
        );
    }

    #[test]
    fn bad_requests_name_the_field_and_hosted_tools_are_left_out() {
        let unknown = json!({"model": "m", "input": "hi", "tools": [{"type": "teleport"}]});
        let err = check(&unknown).err().unwrap().to_string();
        assert!(err.contains("teleport"), "{err}");
        assert!(check(&json!({"model": "m"})).is_err());
        assert!(check(&json!({"model": "m", "input": 3})).is_err());
        assert!(check(&json!({"model": "m", "input": "x", "max_output_tokens": -1})).is_err());
        let hosted = json!({"model": "m", "input": "hi", "tool_choice": "auto", "tools": [
            {"type": "web_search", "external_web_access": false},
            {"type": "tool_search", "execution": "client"}]});
        let checked = check(&hosted).unwrap();
        let chat = to_chat(&hosted, &checked.input).unwrap();
        assert!(chat.get("tools").is_none() && chat.get("tool_choice").is_none());
    }

    #[test]
    fn namespaced_tools_are_flattened_and_orphan_results_dropped() {
        let body = json!({"model": "m", "tools": [{"type": "namespace", "name": "multi_agent_v1", "tools": [
            {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}]}],
            "input": [
                {"type": "function_call_output", "call_id": "nobody", "output": "stray"},
                {"role": "user", "content": "go"},
                {"type": "function_call", "call_id": "c1", "name": "spawn_agent", "namespace": "multi_agent_v1", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "ok"}, {"type": "input_image", "image_url": "data:x"}]}]});
        let checked = check(&body).unwrap();
        let chat = to_chat(&body, &checked.input).unwrap();
        assert_eq!(
            chat["tools"][0]["function"]["name"],
            "multi_agent_v1__spawn_agent"
        );
        let messages = chat["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(
            messages[1]["tool_calls"][0]["function"]["name"],
            "multi_agent_v1__spawn_agent"
        );
        assert_eq!(messages[2]["content"], "ok");
        let names = tool_names(&body);
        assert_eq!(
            names.namespaced["multi_agent_v1__spawn_agent"],
            ("multi_agent_v1".to_owned(), "spawn_agent".to_owned())
        );
    }
}
