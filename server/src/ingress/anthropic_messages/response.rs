//! Canonical OpenAI answers → Anthropic's Messages format: a whole `message`, the stream
//! events (`message_start`, `content_block_start`/`_delta`/`_stop`, `message_delta`,
//! `message_stop`) and the `{"type":"error","error":{…}}` shape, which also carries
//! LangMart's stable code.

use std::fmt::Write as _;

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::gateway::{Dialect, StreamEncoder};

/// Anthropic's Messages format, for `/v1/messages` clients.
#[derive(Default)]
pub struct AnthropicMessages;

/// Anthropic's error shape, with LangMart's code added.
pub fn error_body(code: &str, message: &str, status: StatusCode) -> Value {
    json!({"type": "error", "error": {"type": error_type(status), "message": message, "code": code}})
}

impl Dialect for AnthropicMessages {
    fn error_body(&self, code: &str, message: &str, status: StatusCode) -> Value {
        error_body(code, message, status)
    }

    fn status_for(&self, upstream: Option<u16>, status: StatusCode) -> StatusCode {
        // Anthropic's SDKs raise `OverloadedError` for 529 and retry it.
        match upstream.and_then(|s| StatusCode::from_u16(s).ok()) {
            Some(s) if s.as_u16() == 529 => s,
            _ => status,
        }
    }

    fn whole(&self, answer: Value) -> Value {
        to_message(&answer)
    }

    fn encoder(&self, requested_model: &str) -> Box<dyn StreamEncoder> {
        Box::new(Encoder::new(requested_model))
    }
}

/// The error `type`s Anthropic clients know, by status.
pub fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        s if (400..500).contains(&s) => "invalid_request_error",
        _ => "api_error",
    }
}

fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

fn message_id(id: Option<&str>) -> String {
    match id {
        Some(id) if id.starts_with("msg_") => id.to_owned(),
        Some(id) if !id.is_empty() => format!("msg_{id}"),
        _ => format!("msg_{}", crate::ids::random_base62(24)),
    }
}

/// Tool arguments as the object Anthropic's `input` must be.
fn tool_input(arguments: Option<&str>) -> Value {
    arguments
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// Usage in Anthropic's terms: `input_tokens` excludes the ones read from the cache.
fn usage(u: &Value) -> Value {
    let prompt = u["prompt_tokens"].as_u64().unwrap_or(0);
    let completion = u["completion_tokens"].as_u64().unwrap_or(0);
    let cached = u
        .pointer("/prompt_tokens_details/cached_tokens")
        .and_then(Value::as_u64);
    let mut out = json!({
        "input_tokens": prompt.saturating_sub(cached.unwrap_or(0)),
        "output_tokens": completion,
    });
    if let Some(c) = cached {
        out["cache_read_input_tokens"] = json!(c);
    }
    out
}

fn to_message(answer: &Value) -> Value {
    let choice = &answer["choices"][0];
    let message = &choice["message"];
    let mut content = Vec::new();
    if let Some(text) = message["content"].as_str().filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in message["tool_calls"].as_array().into_iter().flatten() {
        content.push(json!({
            "type": "tool_use",
            "id": call["id"],
            "name": call["function"]["name"],
            "input": tool_input(call["function"]["arguments"].as_str()),
        }));
    }
    json!({
        "id": message_id(answer["id"].as_str()),
        "type": "message",
        "role": "assistant",
        "model": answer["model"],
        "content": content,
        "stop_reason": stop_reason(choice["finish_reason"].as_str().unwrap_or("stop")),
        "stop_sequence": null,
        "usage": usage(&answer["usage"]),
    })
}

enum Open {
    Text(usize),
    /// An Anthropic block index and the OpenAI tool-call index it carries.
    Tool(usize, u64),
}

/// Writes OpenAI chunks as Messages stream events. Blocks open when their first delta
/// arrives and close when another kind starts or the stream ends.
struct Encoder {
    model: String,
    started: bool,
    open: Option<Open>,
    next_index: usize,
    stop_reason: Option<&'static str>,
    usage: Option<Value>,
}

fn event(out: &mut String, name: &str, data: &Value) {
    let _ = write!(out, "event: {name}\ndata: {data}\n\n");
}

impl Encoder {
    fn new(model: &str) -> Self {
        Encoder {
            model: model.to_owned(),
            started: false,
            open: None,
            next_index: 0,
            stop_reason: None,
            usage: None,
        }
    }

    fn start(&mut self, id: Option<&str>, out: &mut String) {
        self.started = true;
        event(
            out,
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": message_id(id), "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
        );
    }

    fn close(&mut self, out: &mut String) {
        if let Some(Open::Text(i) | Open::Tool(i, _)) = self.open.take() {
            event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": i}),
            );
        }
    }

    fn open_block(&mut self, block: Value, out: &mut String) -> usize {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        event(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    fn delta(out: &mut String, index: usize, delta: Value) {
        event(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }
}

impl StreamEncoder for Encoder {
    fn chunk(&mut self, chunk: Value) -> Option<Bytes> {
        let mut out = String::new();
        if !self.started {
            self.start(chunk["id"].as_str(), &mut out);
        }
        if chunk["usage"].is_object() {
            self.usage = Some(usage(&chunk["usage"]));
        }
        if let Some(choice) = chunk["choices"].get(0) {
            let delta = &choice["delta"];
            if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                let index = match self.open {
                    Some(Open::Text(i)) => i,
                    _ => {
                        let i = self.open_block(json!({"type": "text", "text": ""}), &mut out);
                        self.open = Some(Open::Text(i));
                        i
                    }
                };
                Self::delta(&mut out, index, json!({"type": "text_delta", "text": text}));
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let tool = call["index"].as_u64().unwrap_or(0);
                if let Some(id) = call["id"].as_str() {
                    let block = json!({"type": "tool_use", "id": id, "name": call["function"]["name"], "input": {}});
                    let i = self.open_block(block, &mut out);
                    self.open = Some(Open::Tool(i, tool));
                }
                let arguments = call["function"]["arguments"]
                    .as_str()
                    .filter(|a| !a.is_empty());
                if let (Some(args), Some(Open::Tool(i, t))) = (arguments, &self.open) {
                    if *t == tool {
                        Self::delta(
                            &mut out,
                            *i,
                            json!({"type": "input_json_delta", "partial_json": args}),
                        );
                    }
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.stop_reason = Some(stop_reason(reason));
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    fn end(&mut self) -> Bytes {
        let mut out = String::new();
        if !self.started {
            self.start(None, &mut out);
        }
        self.close(&mut out);
        let usage = self
            .usage
            .take()
            .unwrap_or_else(|| json!({"output_tokens": 0}));
        event(
            &mut out,
            "message_delta",
            &json!({"type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null},
                    "usage": usage}),
        );
        event(&mut out, "message_stop", &json!({"type": "message_stop"}));
        Bytes::from(out)
    }

    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes {
        let mut out = String::new();
        event(&mut out, "error", &error_body(code, message, status));
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(bytes: &[Bytes]) -> Vec<(String, Value)> {
        let text: String = bytes
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        text.split("\n\n")
            .filter(|f| !f.is_empty())
            .map(|f| {
                let mut lines = f.lines();
                let name = lines
                    .next()
                    .unwrap()
                    .strip_prefix("event: ")
                    .unwrap()
                    .to_owned();
                let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
                (name, serde_json::from_str(data).unwrap())
            })
            .collect()
    }

    #[test]
    fn a_whole_answer_with_tool_calls_becomes_a_message() {
        let answer = json!({
            "id": "chatcmpl-1", "model": "collection/me/fast",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Checking.",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39, "prompt_tokens_details": {"cached_tokens": 10}},
        });
        assert_eq!(
            AnthropicMessages.whole(answer),
            json!({
                "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "collection/me/fast",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 20, "output_tokens": 9, "cache_read_input_tokens": 10},
            })
        );
    }

    #[test]
    fn chunks_become_the_event_sequence_the_sdks_accumulate() {
        let mut enc = Encoder::new("openai/gpt-4o");
        let chunk = |delta: Value, finish: Value| json!({"id": "chatcmpl-9", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        let mut out: Vec<Bytes> = [
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"content": "Hel"}), Value::Null),
            chunk(json!({"content": "lo"}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}), Value::Null),
            chunk(json!({}), json!("tool_calls")),
            json!({"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}}),
        ]
        .into_iter()
        .filter_map(|c| enc.chunk(c))
        .collect();
        out.push(enc.end());
        let ev = events(&out);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        assert_eq!(ev[0].1["message"]["id"], "msg_chatcmpl-9");
        assert_eq!(ev[0].1["message"]["model"], "openai/gpt-4o");
        assert_eq!(
            ev[5].1["content_block"],
            json!({"type": "tool_use", "id": "call_1", "name": "f", "input": {}})
        );
        assert_eq!(ev[5].1["index"], 1);
        assert_eq!(
            ev[7].1["delta"],
            json!({"type": "input_json_delta", "partial_json": "1}"})
        );
        assert_eq!(ev[9].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(
            ev[9].1["usage"],
            json!({"input_tokens": 5, "output_tokens": 7})
        );
    }

    #[test]
    fn errors_use_anthropic_types_and_keep_our_code() {
        let body =
            AnthropicMessages.error_body("MODEL_NOT_FOUND", "no such model", StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "no such model", "code": "MODEL_NOT_FOUND"}})
        );
        assert_eq!(
            error_type(StatusCode::from_u16(529).unwrap()),
            "overloaded_error"
        );
        assert_eq!(error_type(StatusCode::BAD_GATEWAY), "api_error");
    }
}
