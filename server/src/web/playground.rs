//! The console's playground: a conversation sent through the real request path as a
//! streamed chat completion (routed, limited, budgeted and logged like any `/v1` call,
//! with the signed-in user as the caller), its OpenAI event stream turned into the
//! playground's own events, one JSON object per line. The client hanging up drops the
//! stream, which ends the upstream call (and logs it as 499).

use std::sync::Arc;
use std::time::Instant;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::auth::Principal;
use crate::state::AppState;
use app::dto::{PlaygroundEventDto, PlaygroundRequestDto};

/// Most of an error body the playground reads.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// `max_tokens` when the page sets none.
const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The chat request the playground makes.
fn body(req: &PlaygroundRequestDto) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = req.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    for turn in &req.messages {
        messages.push(json!({"role": turn.role, "content": turn.content}));
    }
    json!({
        "model": req.model.trim(),
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
    })
}

fn line(event: &PlaygroundEventDto) -> String {
    serde_json::to_string(event).unwrap_or_default() + "\n"
}

/// The playground's event lines for `req`, sent as `caller`.
pub fn stream(
    state: AppState,
    caller: Arc<Principal>,
    req: PlaygroundRequestDto,
) -> impl Stream<Item = String> + Send + 'static {
    let (tx, mut rx) = mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let started = Instant::now();
        let elapsed = || i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let snapshot = state.routing.snapshot().await.ok();
        let answer = crate::ingress::openai_chat::console_chat(
            state,
            caller,
            "LangMart console playground",
            &body(&req),
        )
        .await;
        let (status, body) = (answer.status, answer.body);
        if status != 200 {
            let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the request failed")
                .to_owned();
            let _ = tx
                .send(line(&PlaygroundEventDto::Error { status, message }))
                .await;
            return;
        }
        let connection_id = answer.connection_id;
        let connection = connection_id.as_deref().and_then(|id| {
            snapshot
                .as_ref()
                .and_then(|s| s.routes.iter().find(|r| r.id == id))
                .map(|r| r.name.clone())
        });
        let served = PlaygroundEventDto::Served {
            connection_id,
            connection,
            provider: answer.provider,
            resolution: answer.resolution,
            model: None,
        };
        if tx.send(line(&served)).await.is_err() {
            return;
        }
        let mut events = body.into_data_stream().eventsource();
        let (mut ttft, mut usage) = (None, Value::Null);
        while let Some(event) = events.next().await {
            let Ok(event) = event else {
                let _ = tx
                    .send(line(&PlaygroundEventDto::Error {
                        status: 502,
                        message: "the answer stream broke".into(),
                    }))
                    .await;
                return;
            };
            if event.data == "[DONE]" {
                break;
            }
            let Ok(chunk) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            if let Some(message) = chunk.pointer("/error/message").and_then(Value::as_str) {
                let _ = tx
                    .send(line(&PlaygroundEventDto::Error {
                        status: 502,
                        message: message.to_owned(),
                    }))
                    .await;
                return;
            }
            if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
                usage = u.clone();
            }
            let text = chunk
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !text.is_empty() {
                ttft.get_or_insert_with(elapsed);
                let delta = PlaygroundEventDto::Delta {
                    text: text.to_owned(),
                };
                if tx.send(line(&delta)).await.is_err() {
                    return; // the page went away: dropping the stream ends the call
                }
            }
        }
        let done = PlaygroundEventDto::Done {
            latency_ms: elapsed(),
            ttft_ms: ttft,
            prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_i64),
            completion_tokens: usage.get("completion_tokens").and_then(Value::as_i64),
        };
        let _ = tx.send(line(&done)).await;
    });
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dto::ChatTurnDto;

    #[test]
    fn the_request_streams_with_usage_and_puts_the_system_prompt_first() {
        let req = PlaygroundRequestDto {
            model: " collection/coding ".into(),
            system: Some("Be brief.".into()),
            messages: vec![ChatTurnDto {
                role: "user".into(),
                content: "hi".into(),
            }],
            max_tokens: None,
        };
        let b = body(&req);
        assert_eq!(b["model"], "collection/coding");
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"]["include_usage"], true);
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["messages"][1]["content"], "hi");
        assert_eq!(b["max_tokens"], 1024);
    }
}
