//! Azure OpenAI: `api-key` header, resource endpoint from the connection, `api-version`
//! query. A deployment is what requests name, so deployments are the models.

use serde::Deserialize;
use serde_json::Value;

use super::{
    body_bytes, decode, native_reply, openai_compat, send, send_for, ChatReply, DiscoveredModel,
    NativeReply, NativeRequest, ProviderError, Upstream,
};

/// The Responses API version a connection uses unless its `responses_api_version` says
/// otherwise (Azure's v1 API takes `preview`).
const RESPONSES_API_VERSION: &str = "preview";

/// The inference API version a new connection uses unless its settings say otherwise.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";
/// Deployment listing exists only in this data-plane version.
const DEPLOYMENTS_API_VERSION: &str = "2022-12-01";

#[derive(Deserialize)]
struct DeploymentList {
    data: Vec<Deployment>,
}

#[derive(Deserialize)]
struct Deployment {
    id: String,
    model: Option<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let request = client
        .get(format!("{}/openai/deployments", upstream.base_url))
        .header("api-key", upstream.credential("api_key"))
        .query(&[("api-version", DEPLOYMENTS_API_VERSION)]);
    let list: DeploymentList = decode(send(request, upstream).await?).await?;
    Ok(list
        .data
        .into_iter()
        .map(|d| DiscoveredModel {
            display_name: match &d.model {
                Some(model) => format!("{} ({model})", d.id),
                None => d.id.clone(),
            },
            id: d.id,
        })
        .collect())
}

/// `POST {endpoint}/openai/v1/responses?api-version=…`: Azure's Responses API names the
/// deployment in the body's `model`, so the client's body goes as it came.
pub async fn responses(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    request: NativeRequest<'_>,
) -> Result<NativeReply, ProviderError> {
    let version = upstream
        .setting("responses_api_version")
        .unwrap_or(RESPONSES_API_VERSION);
    let mut builder =
        super::urls::post(client, format!("{}/openai/v1/responses", upstream.base_url))
            .query(&[("api-version", version)])
            .header("api-key", upstream.credential("api_key"))
            .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let response = send_for(builder.body(request.body), upstream, request.stream).await?;
    native_reply(response, request.stream, |e| Some(Ok(e))).await
}

/// `POST {endpoint}/openai/deployments/{deployment}/{path}?api-version=…`: the request's
/// `model` names the deployment and leaves the body (Azure routes by URL).
fn deployment_request(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    path: &str,
    body: &Value,
) -> Result<reqwest::RequestBuilder, ProviderError> {
    let mut body = body.clone();
    let deployment = body
        .as_object_mut()
        .and_then(|o| o.remove("model"))
        .and_then(|m| m.as_str().map(str::to_owned))
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ProviderError::Unsupported("a deployment name is required".into()))?;
    let mut url = reqwest::Url::parse(&format!("{}/openai/deployments/", upstream.base_url))
        .map_err(|e| ProviderError::Config(format!("endpoint_url: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| ProviderError::Config("endpoint_url cannot take a path".into()))?
        .pop_if_empty()
        .push(&deployment)
        .extend(path.split('/'));
    let version = upstream
        .setting("api_version")
        .unwrap_or(DEFAULT_API_VERSION);
    Ok(client
        .post(url)
        .query(&[("api-version", version)])
        .header("api-key", upstream.credential("api_key"))
        .json(&body))
}

pub async fn chat(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
    stream: bool,
) -> Result<ChatReply, ProviderError> {
    let request = deployment_request(client, upstream, "chat/completions", body)?;
    openai_compat::read_chat(send_for(request, upstream, stream).await?, stream).await
}

pub async fn embed(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
    body: &Value,
) -> Result<ChatReply, ProviderError> {
    let request = deployment_request(client, upstream, "embeddings", body)?;
    let response = send(request, upstream).await?;
    Ok(ChatReply::Raw(body_bytes(response).await?))
}
