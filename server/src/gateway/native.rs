//! Native answers: a connection that speaks the client's dialect answers in it, and the
//! answer goes back as it came — only the `model` the client asked for written over the
//! upstream's — while the gateway reads the usage (and, for the Responses API, the final
//! response) from the events it passes on.

use std::fmt::Write as _;

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::providers::{NativeApi, SseEvent};

use super::answer::Relay;
use super::call::Usage;

/// Reads a whole answer's `usage` object from its JSON text.
pub fn usage_reader(api: NativeApi) -> fn(&str) -> Usage {
    fn parsed(raw: &str, read: fn(&Value) -> Usage) -> Usage {
        serde_json::from_str::<Value>(raw)
            .map(|u| read(&u))
            .unwrap_or_default()
    }
    match api {
        NativeApi::AnthropicMessages | NativeApi::AnthropicCountTokens => {
            |raw| parsed(raw, Usage::from_anthropic)
        }
        NativeApi::OpenAiResponses => |raw| parsed(raw, Usage::from_responses),
        // The hot path's answers: read typed, without building a tree.
        NativeApi::OpenAiCompletions => Usage::from_openai_text,
    }
}

/// Passes one native stream on, event by event.
pub struct NativeRelay {
    api: NativeApi,
    model: Value,
    usage: Usage,
    /// The Responses API's last `sequence_number`, so an error we add follows it.
    sequence: i64,
    final_answer: Option<Value>,
    failure: Option<(u16, String)>,
    /// The Responses API's closing event, held back until the answer is stored.
    held: Option<Bytes>,
    /// The dialect's closing event arrived (`message_stop`, `response.completed`…).
    closed: bool,
    /// Characters of answer passed on (see [`Relay::delivered_chars`]).
    delivered: u64,
}

impl NativeRelay {
    pub fn new(api: NativeApi, requested_model: &str) -> Self {
        NativeRelay {
            api,
            model: Value::String(requested_model.to_owned()),
            usage: Usage::default(),
            sequence: -1,
            final_answer: None,
            failure: None,
            held: None,
            closed: false,
            delivered: 0,
        }
    }

    fn write(event: &str, data: &str) -> Bytes {
        let mut out = String::with_capacity(event.len() + data.len() + 16);
        if !event.is_empty() {
            let _ = writeln!(out, "event: {event}");
        }
        let _ = write!(out, "data: {data}\n\n");
        Bytes::from(out)
    }

    /// Anthropic: the model is in `message_start`; usage there and (cumulative) in
    /// `message_delta`.
    fn anthropic(&mut self, e: &SseEvent) -> Option<String> {
        match e.event.as_str() {
            "message_stop" | "error" => {
                self.closed = true;
                None
            }
            "message_start" => {
                let mut v: Value = serde_json::from_str(&e.data).ok()?;
                if let Some(u) = v.pointer("/message/usage") {
                    self.usage = Usage::from_anthropic(u);
                }
                if let Some(m) = v.pointer_mut("/message/model") {
                    *m = self.model.clone();
                }
                Some(v.to_string())
            }
            "message_delta" => {
                let v: Value = serde_json::from_str(&e.data).ok()?;
                if let Some(u) = v.get("usage") {
                    let later = Usage::from_anthropic(u);
                    let now = &mut self.usage;
                    now.completion = later.completion.or(now.completion);
                    if later.prompt.is_some() {
                        now.prompt = later.prompt;
                        now.cache_read = later.cache_read.or(now.cache_read);
                        now.cache_write = later.cache_write.or(now.cache_write);
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Responses: the `response` object of the lifecycle events carries the model; the
    /// final one carries usage and is the answer a `store`d response keeps.
    fn responses(&mut self, e: &SseEvent) -> Option<String> {
        let kind = e.event.as_str();
        let lifecycle = matches!(
            kind,
            "response.created"
                | "response.in_progress"
                | "response.queued"
                | "response.completed"
                | "response.failed"
                | "response.incomplete"
        );
        if !lifecycle && kind != "error" {
            if let Some(n) = sequence_of(&e.data) {
                self.sequence = n;
            }
            return None;
        }
        let mut v: Value = serde_json::from_str(&e.data).ok()?;
        if let Some(n) = v.get("sequence_number").and_then(Value::as_i64) {
            self.sequence = n;
        }
        if matches!(
            kind,
            "error" | "response.completed" | "response.incomplete" | "response.failed"
        ) {
            self.closed = true;
        }
        if kind == "error" {
            let code = v.get("code").and_then(Value::as_str).unwrap_or("error");
            self.failure = Some((502, format!("UPSTREAM_{}", code.to_uppercase())));
            return None;
        }
        if let Some(m) = v.pointer_mut("/response/model") {
            *m = self.model.clone();
        }
        match kind {
            "response.completed" | "response.incomplete" => {
                if let Some(u) = v.pointer("/response/usage").filter(|u| u.is_object()) {
                    self.usage = Usage::from_responses(u);
                }
                self.final_answer = v.get("response").cloned();
            }
            "response.failed" => {
                let code = v
                    .pointer("/response/error/code")
                    .and_then(Value::as_str)
                    .unwrap_or("failed");
                self.failure = Some((502, format!("UPSTREAM_{}", code.to_uppercase())));
            }
            _ => {}
        }
        Some(v.to_string())
    }

    /// Legacy completions: every chunk names the model; the last may carry usage.
    fn completions(&mut self, e: &SseEvent) -> Option<String> {
        let mut v: Value = serde_json::from_str(&e.data).ok()?;
        if let Some(choices) = v.get("choices").and_then(Value::as_array) {
            self.delivered += choices
                .iter()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .map(|t| t.len() as u64)
                .sum::<u64>();
        }
        if let Some(u) = Usage::from_openai(&v) {
            self.usage = u;
        }
        if let Some(m) = v.get_mut("model") {
            *m = self.model.clone();
        }
        Some(v.to_string())
    }
}

/// The `sequence_number` of an event, read without parsing the rest of it.
fn sequence_of(data: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Seq {
        sequence_number: Option<i64>,
    }
    serde_json::from_str::<Seq>(data).ok()?.sequence_number
}

/// Characters of answer in one native event: Anthropic's `content_block_delta` (text,
/// thinking, tool input) and the Responses API's `*.delta` events; read typed, only for
/// those events.
fn delta_chars(api: NativeApi, e: &SseEvent) -> u64 {
    #[derive(serde::Deserialize, Default)]
    struct AnthropicDelta<'a> {
        #[serde(borrow, default)]
        text: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        partial_json: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        thinking: Option<std::borrow::Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    struct AnthropicEvent<'a> {
        #[serde(borrow, default)]
        delta: AnthropicDelta<'a>,
    }
    #[derive(serde::Deserialize)]
    struct ResponsesDelta<'a> {
        #[serde(borrow, default)]
        delta: Option<std::borrow::Cow<'a, str>>,
    }
    let len = |s: Option<std::borrow::Cow<'_, str>>| s.map_or(0, |s| s.len() as u64);
    match api {
        NativeApi::AnthropicMessages if e.event == "content_block_delta" => {
            serde_json::from_str::<AnthropicEvent<'_>>(&e.data).map_or(0, |v| {
                len(v.delta.text) + len(v.delta.partial_json) + len(v.delta.thinking)
            })
        }
        NativeApi::OpenAiResponses if e.event.ends_with(".delta") => {
            serde_json::from_str::<ResponsesDelta<'_>>(&e.data).map_or(0, |v| len(v.delta))
        }
        _ => 0,
    }
}

impl Relay<SseEvent> for NativeRelay {
    fn item(&mut self, e: SseEvent) -> Option<Bytes> {
        self.delivered += delta_chars(self.api, &e);
        let rewritten = match self.api {
            NativeApi::AnthropicMessages | NativeApi::AnthropicCountTokens => self.anthropic(&e),
            NativeApi::OpenAiResponses => self.responses(&e),
            NativeApi::OpenAiCompletions => self.completions(&e),
        };
        let bytes = Self::write(&e.event, rewritten.as_deref().unwrap_or(&e.data));
        if self.api == NativeApi::OpenAiResponses
            && matches!(
                e.event.as_str(),
                "response.completed" | "response.incomplete"
            )
        {
            self.held = Some(bytes);
            return None;
        }
        Some(bytes)
    }

    fn end(&mut self) -> Bytes {
        match self.api {
            NativeApi::OpenAiCompletions => Bytes::from_static(b"data: [DONE]\n\n"),
            _ => self.held.take().unwrap_or_default(),
        }
    }

    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes {
        match self.api {
            NativeApi::AnthropicMessages | NativeApi::AnthropicCountTokens => Self::write(
                "error",
                &json!({"type": "error", "error": {
                    "type": crate::ingress::anthropic_messages::error_type(status),
                    "message": message, "code": code}})
                .to_string(),
            ),
            NativeApi::OpenAiResponses => {
                self.sequence += 1;
                Self::write(
                    "error",
                    &json!({"type": "error", "code": code, "message": message, "param": null,
                            "sequence_number": self.sequence})
                    .to_string(),
                )
            }
            NativeApi::OpenAiCompletions => Self::write(
                "",
                &json!({"error": {"code": code, "message": message,
                        "type": crate::error::error_type_for(status), "status": status.as_u16()}})
                .to_string(),
            ),
        }
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn final_answer(&mut self) -> Option<Value> {
        self.final_answer.take()
    }

    fn failure(&self) -> Option<(u16, String)> {
        self.failure.clone()
    }

    fn delivered_chars(&self) -> u64 {
        self.delivered
    }

    fn unfinished(&self) -> bool {
        match self.api {
            NativeApi::AnthropicMessages | NativeApi::OpenAiResponses => !self.closed,
            // Legacy completions have no closing event of their own.
            NativeApi::AnthropicCountTokens | NativeApi::OpenAiCompletions => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: Value) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.to_string(),
        }
    }

    #[test]
    fn anthropic_events_pass_with_the_model_replaced_and_usage_read() {
        let mut r = NativeRelay::new(NativeApi::AnthropicMessages, "my-alias");
        let start = r
            .item(ev(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 1}}}),
            ))
            .unwrap();
        let text = String::from_utf8_lossy(&start).into_owned();
        assert!(text.starts_with("event: message_start\ndata: "));
        assert!(text.contains("\"model\":\"my-alias\"") && !text.contains("claude-x"));
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCkYIAxgCIkD+/=="}});
        let out = r.item(ev("content_block_delta", delta.clone())).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("event: content_block_delta\ndata: {delta}\n\n")
        );
        r.item(ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}}),
        ));
        let u = r.usage();
        assert_eq!(
            (u.prompt, u.completion, u.cache_read),
            (Some(105), Some(42), Some(100))
        );
    }

    #[test]
    fn responses_keep_the_final_answer_and_number_our_error_after_theirs() {
        let mut r = NativeRelay::new(NativeApi::OpenAiResponses, "openai/gpt-5");
        r.item(ev(
            "response.created",
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "gpt-5-2025", "status": "in_progress"}}),
        ));
        r.item(ev(
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "sequence_number": 4, "delta": "hi"}),
        ));
        let held = r.item(ev(
            "response.completed",
            json!({"type": "response.completed", "sequence_number": 5, "response": {"id": "resp_1", "model": "gpt-5-2025", "status": "completed", "usage": {"input_tokens": 3, "output_tokens": 2}}}),
        ));
        assert!(
            held.is_none(),
            "the closing event waits for the answer to be stored"
        );
        let done = r.end();
        assert!(String::from_utf8_lossy(&done).contains("\"model\":\"openai/gpt-5\""));
        assert_eq!(r.usage().total(), 5);
        assert_eq!(r.final_answer().unwrap()["id"], "resp_1");
        let err = r.error("X", "broke", StatusCode::BAD_GATEWAY);
        assert!(String::from_utf8_lossy(&err).contains("\"sequence_number\":6"));
    }
}
