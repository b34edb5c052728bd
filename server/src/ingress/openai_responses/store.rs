//! Conversation state for the Responses API. LangMart keeps it itself (per user, for the
//! retention period) rather than relying on a provider's storage, so `previous_response_id`
//! works whichever connection served the earlier turn — and when a turn falls back to
//! another provider.

use std::time::Duration;

use serde_json::Value;

use crate::clock::now_ms;
use crate::db::{self, responses::SqlStoredResponse, Db, StoreError};
use crate::error::{ApiError, RequestError};

/// The longest chain of `previous_response_id`s followed.
const MAX_CHAIN: usize = 1_000;
/// Expired responses deleted per statement, so pruning never holds the table long.
const PRUNE_BATCH: i64 = 500;

/// The id prefix OpenAI gives each kind of input item.
fn id_prefix(kind: &str) -> &'static str {
    match kind {
        "function_call" => "fc",
        "function_call_output" => "fco",
        "custom_tool_call" => "ctc",
        "custom_tool_call_output" => "ctco",
        "local_shell_call" => "lsh",
        "local_shell_call_output" => "lsho",
        "reasoning" => "rs",
        _ => "msg",
    }
}

/// Input items as OpenAI lists them: each with a `type` and an `id`, a message's text
/// content as a list of parts.
pub fn with_ids(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            if let Some(o) = item.as_object_mut() {
                let kind = o
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("message")
                    .to_owned();
                o.insert("type".into(), Value::String(kind.clone()));
                if let (Some(Value::String(text)), Some(role)) = (
                    o.get("content").cloned(),
                    o.get("role").and_then(Value::as_str),
                ) {
                    let part = if role == "assistant" {
                        "output_text"
                    } else {
                        "input_text"
                    };
                    o.insert(
                        "content".into(),
                        serde_json::json!([{"type": part, "text": text}]),
                    );
                }
                if !o.get("id").is_some_and(Value::is_string) {
                    o.insert(
                        "id".into(),
                        Value::String(super::render::new_id(id_prefix(&kind))),
                    );
                }
            }
            item
        })
        .collect()
}

/// The items of the conversation that `previous` ends, oldest first: each stored turn's
/// input, then its output.
pub async fn history(db: &Db, user_id: &str, previous: &str) -> Result<Vec<Value>, ApiError> {
    let now = now_ms();
    let mut turns = Vec::new();
    let mut next = Some(previous.to_owned());
    while let Some(id) = next.take() {
        if turns.len() >= MAX_CHAIN {
            break;
        }
        let row = db::responses::find(&db.pool, user_id, &id, now)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| RequestError::PreviousResponseNotFound(id.clone()))?;
        next = row.previous_response_id.clone();
        turns.push(row);
    }
    let mut items = Vec::new();
    for row in turns.into_iter().rev() {
        let input: Vec<Value> = serde_json::from_str(&row.input_items).unwrap_or_default();
        let response: Value = serde_json::from_str(&row.response).unwrap_or_default();
        items.extend(input);
        items.extend(response["output"].as_array().cloned().unwrap_or_default());
    }
    Ok(items)
}

/// Keeps an answer for `retention`. Failures are logged: the client already has its answer.
pub async fn save(
    db: &Db,
    user_id: &str,
    response: &Value,
    input: &[Value],
    previous: Option<&str>,
    retention: Duration,
) {
    let Some(id) = response.get("id").and_then(Value::as_str) else {
        return;
    };
    let now = now_ms();
    let row = SqlStoredResponse {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX)),
        previous_response_id: previous.map(str::to_owned),
        input_items: Value::Array(input.to_vec()).to_string(),
        response: response.to_string(),
    };
    let items: Vec<(String, String)> = input
        .iter()
        .chain(response["output"].as_array().into_iter().flatten())
        .filter_map(|item| {
            item.get("id")
                .and_then(Value::as_str)
                .map(|id| (id.to_owned(), item.to_string()))
        })
        .collect();
    if let Err(e) = db::responses::insert(&db.pool, &row, &items).await {
        tracing::warn!(error = %e, response_id = id, "could not store a response");
    }
}

/// The input with every `item_reference` replaced by the stored item it names (the AI SDK
/// refers to earlier turns' items by id).
pub async fn resolve_references(
    db: &Db,
    user_id: &str,
    input: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let now = now_ms();
    let mut out = Vec::with_capacity(input.len());
    for item in input {
        let is_reference = item.get("type").and_then(Value::as_str) == Some("item_reference")
            || (item.get("type").is_none()
                && item.get("role").is_none()
                && item.get("id").is_some_and(Value::is_string));
        if !is_reference {
            out.push(item);
            continue;
        }
        let id = item["id"].as_str().unwrap_or_default();
        let stored = db::responses::find_item(&db.pool, user_id, id, now)
            .await
            .map_err(StoreError::from)?
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .ok_or_else(|| RequestError::InvalidField {
                field: "input",
                message: format!("Item with id '{id}' not found."),
            })?;
        out.push(stored);
    }
    Ok(out)
}

pub async fn find(db: &Db, user_id: &str, id: &str) -> Result<SqlStoredResponse, ApiError> {
    db::responses::find(&db.pool, user_id, id, now_ms())
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| RequestError::ResponseNotFound(id.to_owned()).into())
}

pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<(), ApiError> {
    if db::responses::delete(&db.pool, user_id, id)
        .await
        .map_err(StoreError::from)?
    {
        Ok(())
    } else {
        Err(RequestError::ResponseNotFound(id.to_owned()).into())
    }
}

/// Deletes expired responses every hour, in small batches.
pub fn spawn_pruner(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3_600));
        loop {
            tick.tick().await;
            loop {
                match db::responses::prune(&db.pool, now_ms(), PRUNE_BATCH).await {
                    Ok(n) if n as i64 >= PRUNE_BATCH => tokio::task::yield_now().await,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not prune stored responses");
                        break;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_items_get_types_and_ids() {
        let items = with_ids(&[
            json!({"role": "user", "content": "hi"}),
            json!({"type": "function_call_output", "call_id": "c", "output": "x"}),
            json!({"type": "message", "id": "msg_keep", "role": "user", "content": "x"}),
        ]);
        assert_eq!(items[0]["type"], "message");
        assert_eq!(
            items[0]["content"],
            json!([{"type": "input_text", "text": "hi"}])
        );
        assert!(items[0]["id"].as_str().unwrap().starts_with("msg_"));
        assert!(items[1]["id"].as_str().unwrap().starts_with("fco_"));
        assert_eq!(items[2]["id"], "msg_keep");
    }
}
