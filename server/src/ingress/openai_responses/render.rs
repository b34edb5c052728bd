//! Canonical chat answers → the Responses API: a whole `response` object, and the event
//! stream OpenAI sends (`response.created`, `response.in_progress`, `output_item.added`,
//! `content_part.added`, `output_text.delta`, `function_call_arguments.delta`, the
//! matching `…done` events and `response.completed` with usage), every event numbered
//! by `sequence_number`.

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::gateway::StreamEncoder;

use super::request::{tool_names, ToolNames, LOCAL_SHELL};

/// What every response to one request shares: its id, creation time and the settings the
/// request made, which a response object repeats.
#[derive(Clone)]
pub struct Template {
    pub id: String,
    pub created_at: i64,
    /// The response object without `status`, `output`, `usage`, `error`.
    base: Map<String, Value>,
    names: ToolNames,
    local_shell: bool,
}

/// A fresh response id.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", crate::ids::random_base62(32))
}

impl Template {
    pub fn new(body: &Value, requested_model: &str, store: bool) -> Self {
        let get = |k: &str, default: Value| {
            body.get(k)
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or(default)
        };
        let mut base = Map::new();
        base.insert("object".into(), json!("response"));
        base.insert("background".into(), json!(false));
        base.insert("incomplete_details".into(), Value::Null);
        base.insert("instructions".into(), get("instructions", Value::Null));
        base.insert(
            "max_output_tokens".into(),
            get("max_output_tokens", Value::Null),
        );
        base.insert("max_tool_calls".into(), get("max_tool_calls", Value::Null));
        base.insert("model".into(), json!(requested_model));
        base.insert(
            "parallel_tool_calls".into(),
            get("parallel_tool_calls", json!(true)),
        );
        base.insert(
            "previous_response_id".into(),
            get("previous_response_id", Value::Null),
        );
        base.insert(
            "reasoning".into(),
            get("reasoning", json!({"effort": null, "summary": null})),
        );
        base.insert("service_tier".into(), json!("default"));
        base.insert("store".into(), json!(store));
        base.insert("temperature".into(), get("temperature", json!(1.0)));
        base.insert(
            "text".into(),
            get(
                "text",
                json!({"format": {"type": "text"}, "verbosity": "medium"}),
            ),
        );
        base.insert("tool_choice".into(), get("tool_choice", json!("auto")));
        base.insert("tools".into(), get("tools", json!([])));
        base.insert("top_logprobs".into(), get("top_logprobs", json!(0)));
        base.insert("top_p".into(), get("top_p", json!(1.0)));
        base.insert("truncation".into(), get("truncation", json!("disabled")));
        base.insert("user".into(), get("user", Value::Null));
        base.insert("metadata".into(), get("metadata", json!({})));
        if let Some(key) = body.get("prompt_cache_key").filter(|v| v.is_string()) {
            base.insert("prompt_cache_key".into(), key.clone());
        }
        let local_shell = body
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|t| t["type"] == "local_shell"));
        Template {
            id: new_id("resp"),
            created_at: crate::clock::now_ms() / 1000,
            base,
            names: tool_names(body),
            local_shell,
        }
    }

    /// The response object in `status`, with `output` and `usage`.
    fn response(
        &self,
        status: &str,
        output: Vec<Value>,
        usage: Value,
        extra: Option<(&str, Value)>,
    ) -> Value {
        let mut r = self.base.clone();
        r.insert("id".into(), json!(self.id));
        r.insert("created_at".into(), json!(self.created_at));
        r.insert("status".into(), json!(status));
        r.insert("error".into(), Value::Null);
        r.insert("output".into(), Value::Array(output));
        r.insert("usage".into(), usage);
        if let Some((k, v)) = extra {
            r.insert(k.into(), v);
        }
        Value::Object(r)
    }

    /// The output item for a tool call: a custom tool's call carries its raw input, the
    /// shell's its action, any other a function call with JSON arguments.
    fn call_item(&self, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
        if self.names.custom.contains(name) {
            let input = serde_json::from_str::<Value>(arguments)
                .ok()
                .and_then(|v| v.get("input").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| arguments.to_owned());
            return json!({"id": new_id("ctc"), "type": "custom_tool_call", "status": status,
                           "call_id": call_id, "name": name, "input": input});
        }
        if self.local_shell && name == LOCAL_SHELL {
            let mut action = serde_json::from_str::<Value>(arguments).unwrap_or_else(|_| json!({}));
            if let Some(a) = action.as_object_mut() {
                a.insert("type".into(), json!("exec"));
            }
            return json!({"id": new_id("lsh"), "type": "local_shell_call", "status": status,
                          "call_id": call_id, "action": action});
        }
        if let Some((ns, short)) = self.names.namespaced.get(name) {
            return json!({"id": new_id("fc"), "type": "function_call", "status": status,
                          "call_id": call_id, "name": short, "namespace": ns, "arguments": arguments});
        }
        json!({"id": new_id("fc"), "type": "function_call", "status": status,
               "call_id": call_id, "name": name, "arguments": arguments})
    }

    /// A whole chat completion as a response.
    pub fn whole(&self, answer: &Value) -> Value {
        let choice = &answer["choices"][0];
        let message = &choice["message"];
        let mut output = Vec::new();
        if let Some(thought) = reasoning_of(message) {
            output.push(reasoning_item(&new_id("rs"), thought));
        }
        if let Some(text) = message["content"].as_str().filter(|t| !t.is_empty()) {
            output.push(message_item(&new_id("msg"), text, "completed"));
        }
        for call in message["tool_calls"].as_array().into_iter().flatten() {
            output.push(self.call_item(
                call["id"].as_str().unwrap_or_default(),
                call["function"]["name"].as_str().unwrap_or_default(),
                call["function"]["arguments"].as_str().unwrap_or("{}"),
                "completed",
            ));
        }
        let (status, details) = ending(choice["finish_reason"].as_str());
        self.response(
            status,
            output,
            usage(&answer["usage"]),
            details.map(|d| ("incomplete_details", d)),
        )
    }
}

/// How a finish reason ends a response.
fn ending(finish_reason: Option<&str>) -> (&'static str, Option<Value>) {
    match finish_reason {
        Some("length") => ("incomplete", Some(json!({"reason": "max_output_tokens"}))),
        Some("content_filter") => ("incomplete", Some(json!({"reason": "content_filter"}))),
        _ => ("completed", None),
    }
}

/// The model's visible reasoning in a chat message or delta (`reasoning_content` from
/// DeepSeek-style servers, `reasoning` from others).
fn reasoning_of(v: &Value) -> Option<&str> {
    v.get("reasoning_content")
        .or_else(|| v.get("reasoning"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

/// A reasoning item whose summary is the model's visible reasoning.
fn reasoning_item(id: &str, text: &str) -> Value {
    json!({"id": id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}], "encrypted_content": null})
}

fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
}

/// Chat usage in the Responses API's terms.
fn usage(u: &Value) -> Value {
    if !u.is_object() {
        return Value::Null;
    }
    let input = u["prompt_tokens"].as_u64().unwrap_or(0);
    let output = u["completion_tokens"].as_u64().unwrap_or(0);
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": u.pointer("/prompt_tokens_details/cached_tokens").and_then(Value::as_u64).unwrap_or(0)},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": u.pointer("/completion_tokens_details/reasoning_tokens").and_then(Value::as_u64).unwrap_or(0)},
        "total_tokens": input + output,
    })
}

/// The item being streamed.
enum Open {
    Reasoning {
        index: usize,
        id: String,
        text: String,
    },
    Text {
        index: usize,
        id: String,
        text: String,
    },
    /// A tool call: the chat tool-call index it carries.
    Call {
        index: usize,
        tool: u64,
        call_id: String,
        name: String,
        id: String,
        arguments: String,
        item: Value,
    },
}

/// Writes chat chunks as Responses events.
pub struct Encoder {
    template: Template,
    sequence: u64,
    started: bool,
    open: Option<Open>,
    output: Vec<Value>,
    finish_reason: Option<String>,
    usage: Value,
    final_answer: Option<Value>,
}

impl Encoder {
    pub fn new(template: Template) -> Self {
        Encoder {
            template,
            sequence: 0,
            started: false,
            open: None,
            output: Vec::new(),
            finish_reason: None,
            usage: Value::Null,
            final_answer: None,
        }
    }

    fn event(&mut self, out: &mut String, kind: &str, mut data: Value) {
        if let Some(o) = data.as_object_mut() {
            o.insert("type".into(), json!(kind));
            o.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        out.push_str("event: ");
        out.push_str(kind);
        out.push_str("\ndata: ");
        out.push_str(&data.to_string());
        out.push_str("\n\n");
    }

    fn start(&mut self, out: &mut String) {
        self.started = true;
        let r = self
            .template
            .response("in_progress", Vec::new(), Value::Null, None);
        self.event(out, "response.created", json!({"response": r}));
        self.event(out, "response.in_progress", json!({"response": r}));
    }

    /// Ends the open item with its `…done` events.
    fn close(&mut self, out: &mut String) {
        match self.open.take() {
            Some(Open::Reasoning { index, id, text }) => {
                let at = json!({"item_id": id, "output_index": index, "summary_index": 0});
                let mut done = at.clone();
                done["text"] = json!(text);
                self.event(out, "response.reasoning_summary_text.done", done);
                let mut part = at;
                part["part"] = json!({"type": "summary_text", "text": text});
                self.event(out, "response.reasoning_summary_part.done", part);
                let item = reasoning_item(&id, &text);
                self.event(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                self.output.push(item);
            }
            Some(Open::Text { index, id, text }) => {
                self.event(out, "response.output_text.done", json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}));
                self.event(out, "response.content_part.done", json!({"item_id": id, "output_index": index, "content_index": 0,
                    "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}));
                let item = message_item(&id, &text, "completed");
                self.event(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                self.output.push(item);
            }
            Some(Open::Call {
                index,
                call_id,
                name,
                id,
                arguments,
                item,
                ..
            }) => {
                let mut done = self
                    .template
                    .call_item(&call_id, &name, &arguments, "completed");
                done["id"] = json!(id);
                if item["type"] == "function_call" {
                    self.event(out, "response.function_call_arguments.done", json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}));
                } else if item["type"] == "custom_tool_call" {
                    self.event(
                        out,
                        "response.custom_tool_call_input.done",
                        json!({"item_id": id, "output_index": index, "input": done["input"]}),
                    );
                }
                self.event(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": done}),
                );
                self.output.push(done);
            }
            None => {}
        }
    }

    fn reasoning(&mut self, out: &mut String, delta: &str) {
        if !matches!(self.open, Some(Open::Reasoning { .. })) {
            self.close(out);
            let index = self.output.len();
            let id = new_id("rs");
            let item = json!({"id": id, "type": "reasoning", "summary": []});
            self.event(
                out,
                "response.output_item.added",
                json!({"output_index": index, "item": item}),
            );
            self.event(
                out,
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index,
                "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
            );
            self.open = Some(Open::Reasoning {
                index,
                id,
                text: String::new(),
            });
        }
        if let Some(Open::Reasoning { index, id, text }) = &mut self.open {
            text.push_str(delta);
            let data =
                json!({"item_id": id, "output_index": *index, "summary_index": 0, "delta": delta});
            self.event(out, "response.reasoning_summary_text.delta", data);
        }
    }

    fn text(&mut self, out: &mut String, delta: &str) {
        let index = self.output.len();
        if !matches!(self.open, Some(Open::Text { .. })) {
            self.close(out);
            let id = new_id("msg");
            let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
            self.event(
                out,
                "response.output_item.added",
                json!({"output_index": index, "item": item}),
            );
            self.event(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
            );
            self.open = Some(Open::Text {
                index,
                id,
                text: String::new(),
            });
        }
        if let Some(Open::Text { index, id, text }) = &mut self.open {
            text.push_str(delta);
            let data = json!({"item_id": id, "output_index": *index, "content_index": 0, "delta": delta, "logprobs": []});
            self.event(out, "response.output_text.delta", data);
        }
    }

    fn tool_call(&mut self, out: &mut String, call: &Value) {
        let tool = call["index"].as_u64().unwrap_or(0);
        let same = matches!(&self.open, Some(Open::Call { tool: t, .. }) if *t == tool);
        if !same {
            self.close(out);
            let index = self.output.len();
            let call_id = call["id"].as_str().unwrap_or_default().to_owned();
            let name = call["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut item = self.template.call_item(&call_id, &name, "", "in_progress");
            let id = item["id"].as_str().unwrap_or_default().to_owned();
            if item["type"] == "local_shell_call" {
                item["action"] = json!({"type": "exec", "command": []});
            }
            self.event(
                out,
                "response.output_item.added",
                json!({"output_index": index, "item": item}),
            );
            self.open = Some(Open::Call {
                index,
                tool,
                call_id,
                name,
                id,
                arguments: String::new(),
                item,
            });
        }
        let delta = call["function"]["arguments"]
            .as_str()
            .filter(|a| !a.is_empty());
        if let (
            Some(delta),
            Some(Open::Call {
                index,
                id,
                arguments,
                item,
                ..
            }),
        ) = (delta, &mut self.open)
        {
            arguments.push_str(delta);
            if item["type"] == "function_call" {
                let data = json!({"item_id": id, "output_index": *index, "delta": delta});
                self.event(out, "response.function_call_arguments.delta", data);
            }
        }
    }
}

impl StreamEncoder for Encoder {
    fn chunk(&mut self, chunk: Value) -> Option<Bytes> {
        let mut out = String::new();
        if !self.started {
            self.start(&mut out);
        }
        if chunk["usage"].is_object() {
            self.usage = usage(&chunk["usage"]);
        }
        if let Some(choice) = chunk["choices"].get(0) {
            let delta = &choice["delta"];
            if let Some(thought) = reasoning_of(delta) {
                self.reasoning(&mut out, thought);
            }
            if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                self.text(&mut out, text);
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                self.tool_call(&mut out, call);
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    fn end(&mut self) -> Bytes {
        let mut out = String::new();
        if !self.started {
            self.start(&mut out);
        }
        self.close(&mut out);
        let (status, details) = ending(self.finish_reason.as_deref());
        let r = self.template.response(
            status,
            std::mem::take(&mut self.output),
            self.usage.take(),
            details.map(|d| ("incomplete_details", d)),
        );
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.event(&mut out, kind, json!({"response": r}));
        self.final_answer = Some(r);
        Bytes::from(out)
    }

    fn error(&mut self, code: &str, message: &str, _status: StatusCode) -> Bytes {
        let mut out = String::new();
        if !self.started {
            self.start(&mut out);
        }
        self.event(
            &mut out,
            "error",
            json!({"code": code, "message": message, "param": null}),
        );
        let mut r = self.template.response(
            "failed",
            std::mem::take(&mut self.output),
            Value::Null,
            None,
        );
        r["error"] = json!({"code": code, "message": message});
        self.event(&mut out, "response.failed", json!({"response": r}));
        Bytes::from(out)
    }

    fn final_answer(&mut self) -> Option<Value> {
        self.final_answer.take()
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
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let mut lines = e.lines();
                let name = lines
                    .next()
                    .unwrap()
                    .trim_start_matches("event: ")
                    .to_owned();
                let data = lines.next().unwrap().trim_start_matches("data: ");
                (name, serde_json::from_str(data).unwrap())
            })
            .collect()
    }

    fn template(tools: Value) -> Template {
        Template::new(
            &json!({"model": "m", "input": "hi", "tools": tools}),
            "collection/coding",
            true,
        )
    }

    #[test]
    fn a_whole_answer_with_text_and_a_tool_call() {
        let t = template(json!([{"type": "function", "name": "shell"}]));
        let answer = json!({"id": "c1", "model": "x", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me look.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{\"command\":[\"ls\"]}"}}]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 4}});
        let r = t.whole(&answer);
        assert_eq!(r["object"], "response");
        assert_eq!(r["status"], "completed");
        assert_eq!(r["model"], "collection/coding");
        assert!(r["id"].as_str().unwrap().starts_with("resp_"));
        assert_eq!(r["output"][0]["content"][0]["text"], "Let me look.");
        assert_eq!(r["output"][1]["type"], "function_call");
        assert_eq!(r["output"][1]["call_id"], "call_1");
        assert_eq!(r["usage"]["total_tokens"], 14);
        assert_eq!(r["store"], true);
    }

    #[test]
    fn a_stream_follows_openais_event_sequence() {
        let mut e = Encoder::new(template(json!([{"type": "function", "name": "shell"}])));
        let mut out = Vec::new();
        let chunk = |delta: Value, finish: Value| json!({"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        out.extend(e.chunk(chunk(
            json!({"role": "assistant", "content": "Hel"}),
            Value::Null,
        )));
        out.extend(e.chunk(chunk(json!({"content": "lo"}), Value::Null)));
        out.extend(e.chunk(chunk(json!({"tool_calls": [{"index": 0, "id": "call_9", "type": "function", "function": {"name": "shell", "arguments": ""}}]}), Value::Null)));
        out.extend(e.chunk(chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"command\":"}}]}),
            Value::Null,
        )));
        out.extend(e.chunk(chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "[\"ls\"]}"}}]}),
            json!("tool_calls"),
        )));
        out.extend(e.chunk(json!({"id": "c", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}})));
        out.push(e.end());
        let evs = events(&out);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, (name, data)) in evs.iter().enumerate() {
            assert_eq!(data["sequence_number"], i as u64, "{name}");
            assert_eq!(data["type"], name.as_str());
        }
        let done = &evs.last().unwrap().1["response"];
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
        assert_eq!(done["output"][1]["arguments"], "{\"command\":[\"ls\"]}");
        assert_eq!(done["usage"]["input_tokens"], 5);
        let fc_added = &evs[9].1["item"];
        assert_eq!(evs[10].1["item_id"], fc_added["id"]);
        assert_eq!(e.final_answer().unwrap()["status"], "completed");
    }

    #[test]
    fn custom_and_shell_tools_come_back_as_their_own_items() {
        let t =
            template(json!([{"type": "custom", "name": "apply_patch"}, {"type": "local_shell"}]));
        let answer = json!({"choices": [{"finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"input\":\"*** Begin Patch\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "local_shell", "arguments": "{\"command\":[\"ls\",\"-l\"]}"}}]}}]});
        let r = t.whole(&answer);
        assert_eq!(r["output"][0]["type"], "custom_tool_call");
        assert_eq!(r["output"][0]["input"], "*** Begin Patch");
        assert_eq!(r["output"][1]["type"], "local_shell_call");
        assert_eq!(
            r["output"][1]["action"],
            json!({"type": "exec", "command": ["ls", "-l"]})
        );
    }

    #[test]
    fn reasoning_comes_first_as_a_summarised_item() {
        let mut e = Encoder::new(template(json!([])));
        let mut out = Vec::new();
        out.extend(e.chunk(json!({"choices": [{"delta": {"reasoning_content": "think"}}]})));
        out.extend(e.chunk(
            json!({"choices": [{"delta": {"content": "answer"}, "finish_reason": "stop"}]}),
        ));
        out.push(e.end());
        let evs = events(&out);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            &names[2..5],
            [
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta"
            ]
        );
        let done = &evs.last().unwrap().1["response"];
        assert_eq!(done["output"][0]["summary"][0]["text"], "think");
        assert_eq!(done["output"][1]["content"][0]["text"], "answer");
        assert_eq!(done["output"][1]["content"][0]["text"], "answer");
        let t = template(
            json!([{"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]}]),
        );
        let r = t.whole(
            &json!({"choices": [{"message": {"content": null, "tool_calls": [
            {"id": "c", "function": {"name": "ns__f", "arguments": "{}"}}]}}]}),
        );
        assert_eq!(
            (
                r["output"][0]["name"].as_str(),
                r["output"][0]["namespace"].as_str()
            ),
            (Some("f"), Some("ns"))
        );
    }

    #[test]
    fn a_broken_stream_ends_failed() {
        let mut e = Encoder::new(template(json!([])));
        let mut out = vec![e
            .chunk(json!({"choices": [{"delta": {"content": "x"}}]}))
            .unwrap()];
        out.push(e.error(
            "PROVIDER_OPENAI_STREAM_INTERRUPTED",
            "broke",
            StatusCode::BAD_GATEWAY,
        ));
        let evs = events(&out);
        let (last, data) = evs.last().unwrap();
        assert_eq!(last, "response.failed");
        assert_eq!(
            data["response"]["error"]["code"],
            "PROVIDER_OPENAI_STREAM_INTERRUPTED"
        );
        assert_eq!(evs[evs.len() - 2].0, "error");
    }
}
