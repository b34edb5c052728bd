//! OpenAI and every OpenAI-compatible API (Groq, Mistral, DeepSeek, OpenRouter, Together,
//! xAI, Ollama, custom URLs): `Authorization: Bearer`, `GET {base}/models`.

use serde::Deserialize;
use serde_json::Value;

use super::{
    body_bytes, cut_short_is_an_error, decode, native_reply, send, send_for, sse_chunks, ChatReply,
    DiscoveredModel, NativeApi, NativeReply, NativeRequest, ProviderError, Upstream,
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
    let mut done = false;
    // `[DONE]` closes a stream even when no chunk carried a finish reason.
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = closed.clone();
    let chunks = sse_chunks(response, move |_, data| {
        if done {
            return Vec::new();
        }
        if data.trim() == "[DONE]" {
            done = true;
            seen.store(true, std::sync::atomic::Ordering::Relaxed);
            return Vec::new();
        }
        match serde_json::from_str::<Value>(data) {
            // Some compatible servers report a failure in-band, as an event.
            Ok(v) if v.get("error").is_some_and(Value::is_object) => {
                done = true;
                vec![Err(in_band_error(&v["error"]))]
            }
            Ok(v) => vec![Ok(v)],
            // Keep-alive text and other non-JSON data carry nothing for the client.
            Err(_) => Vec::new(),
        }
    });
    Ok(ChatReply::Stream(cut_short_is_an_error(
        chunks,
        move || closed.load(std::sync::atomic::Ordering::Relaxed),
    )))
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
