//! OpenAI and every OpenAI-compatible API (Groq, Mistral, DeepSeek, OpenRouter, Together,
//! xAI, Ollama, custom URLs): `Authorization: Bearer`, `GET {base}/models`.

use serde::Deserialize;
use serde_json::Value;

use super::{
    body_bytes, decode, native_reply, send, send_for, sse_chunks, ChatReply, DiscoveredModel,
    NativeApi, NativeReply, NativeRequest, ProviderError, Upstream,
};

#[derive(Deserialize)]
struct ModelList {
    data: Vec<Model>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut request = client.get(format!("{}/models", upstream.base_url));
    let key = upstream.credential("api_key");
    if !key.is_empty() {
        request = request.bearer_auth(key);
    }
    if let Some(org) = upstream.setting("organization_id") {
        request = request.header("OpenAI-Organization", org);
    }
    let list: ModelList = decode(send(request, upstream).await?).await?;
    Ok(list
        .data
        .into_iter()
        .map(|m| DiscoveredModel {
            display_name: m.id.clone(),
            id: m.id,
        })
        .collect())
}

/// The cheapest real request: one token from `model`.
pub async fn ping_chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    model: &str,
) -> Result<(), ProviderError> {
    let request = post(client, upstream, "chat/completions").json(&serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }));
    send(request, upstream)
        .await
        .map(|_| ())
        .map_err(|e| e.without_secrets(upstream.credentials))
}

/// The request to `{base}/{path}` with the connection's Bearer key and organization.
fn post(client: &reqwest::Client, upstream: &Upstream<'_>, path: &str) -> reqwest::RequestBuilder {
    let mut request = super::urls::post(client, format!("{}/{path}", upstream.base_url));
    let key = upstream.credential("api_key");
    if !key.is_empty() {
        request = request.bearer_auth(key);
    }
    if let Some(org) = upstream.setting("organization_id") {
        request = request.header("OpenAI-Organization", org);
    }
    request
}

/// The Responses API (`{base}/responses`) or legacy completions (`{base}/completions`),
/// the client's body as it came. Events pass through as sent; a completions stream ends at
/// `[DONE]`, which the client's dialect writes itself.
pub async fn native(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    request: NativeRequest<'_>,
) -> Result<NativeReply, ProviderError> {
    let path = match request.api {
        NativeApi::OpenAiCompletions => "completions",
        _ => "responses",
    };
    let mut builder =
        post(client, upstream, path).header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let response = send_for(builder.body(request.body), upstream, request.stream).await?;
    native_reply(response, request.stream, |e| {
        (e.data.trim() != "[DONE]").then_some(Ok(e))
    })
    .await
}

pub async fn chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let response = send_for(
        post(client, upstream, "chat/completions").json(body),
        upstream,
        stream,
    )
    .await?;
    read_chat(response, stream).await
}

/// Reads an OpenAI-format answer: a JSON completion, or its server-sent chunks up to
/// `[DONE]`. Shared with Azure OpenAI, which answers in the same format.
pub(super) async fn read_chat(
    response: reqwest::Response,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    if !stream {
        return Ok(ChatReply::Raw(body_bytes(response).await?));
    }
    use futures_util::StreamExt;
    let mut done = false;
    // A stream that stops without `[DONE]` and without a finish reason was cut short (a
    // proxy or the provider dropped it cleanly): the client must not take it as whole.
    // (Nothing at all is left to the gateway: "ended before its first event".)
    const STARTED: u8 = 1;
    const COMPLETE: u8 = 2;
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let seen = progress.clone();
    let chunks = sse_chunks(response, move |_, data| {
        if done {
            return Vec::new();
        }
        let finished = || seen.store(COMPLETE, std::sync::atomic::Ordering::Relaxed);
        if data.trim() == "[DONE]" {
            done = true;
            finished();
            return Vec::new();
        }
        match serde_json::from_str::<Value>(data) {
            // Some compatible servers report a failure in-band, as an event.
            Ok(v) if v.get("error").is_some_and(Value::is_object) => {
                done = true;
                finished();
                vec![Err(in_band_error(&v["error"]))]
            }
            Ok(v) => {
                if has_finish_reason(&v) {
                    finished();
                } else {
                    let _ = seen.compare_exchange(
                        0,
                        STARTED,
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
                vec![Ok(v)]
            }
            // Keep-alive text and other non-JSON data carry nothing for the client.
            Err(_) => Vec::new(),
        }
    });
    let cut_short = futures_util::stream::once(async move {
        (progress.load(std::sync::atomic::Ordering::Relaxed) == STARTED).then(|| {
            Err(ProviderError::Unreachable(
                "the stream ended before the answer was finished (no finish reason, no [DONE])"
                    .into(),
            ))
        })
    })
    .filter_map(futures_util::future::ready);
    Ok(ChatReply::Stream(Box::pin(chunks.chain(cut_short))))
}

/// Whether a chunk ends a choice (`finish_reason` set).
fn has_finish_reason(chunk: &Value) -> bool {
    chunk["choices"].as_array().is_some_and(|choices| {
        choices
            .iter()
            .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null()))
    })
}

fn in_band_error(error: &Value) -> ProviderError {
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(502);
    ProviderError::Http {
        status,
        message: error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("error in the stream")
            .to_owned(),
        retry_after_secs: None,
    }
}

pub async fn embed(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
) -> Result<ChatReply, ProviderError> {
    let response = send(post(client, upstream, "embeddings").json(body), upstream).await?;
    Ok(ChatReply::Raw(body_bytes(response).await?))
}
