//! OpenAI and every OpenAI-compatible API (Groq, Mistral, DeepSeek, OpenRouter, Together,
//! xAI, Ollama, custom URLs): `Authorization: Bearer`, `GET {base}/models`.

use serde::Deserialize;

use super::{decode, send, DiscoveredModel, ProviderError, Upstream};

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
    let list: ModelList = decode(send(request, upstream.timeout).await?).await?;
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
    let mut request = client
        .post(format!("{}/chat/completions", upstream.base_url))
        .json(&serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
        }));
    let key = upstream.credential("api_key");
    if !key.is_empty() {
        request = request.bearer_auth(key);
    }
    send(request, upstream.timeout).await.map(|_| ())
}

/// Sends an OpenAI-format body to `{base}/{path}` (`chat/completions`, `embeddings`) and
/// returns the provider's successful response unread, so a stream can be passed through.
pub async fn forward(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    path: &str,
    body: &serde_json::Value,
) -> Result<reqwest::Response, ProviderError> {
    let mut request = client
        .post(format!("{}/{path}", upstream.base_url))
        .json(body);
    let key = upstream.credential("api_key");
    if !key.is_empty() {
        request = request.bearer_auth(key);
    }
    if let Some(org) = upstream.setting("organization_id") {
        request = request.header("OpenAI-Organization", org);
    }
    send(request, upstream.timeout).await
}
