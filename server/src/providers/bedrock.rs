//! AWS Bedrock: requests signed with SigV4 (service `bedrock`) from the connection's
//! access key, secret and region; models from `GET {base}/foundation-models`.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{sign, SignableBody, SignableRequest, SigningSettings},
    sign::v4,
};
use serde::Deserialize;

use super::{decode, send, DiscoveredModel, ProviderError, Upstream};

const SERVICE: &str = "bedrock";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelList {
    #[serde(default)]
    model_summaries: Vec<ModelSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelSummary {
    model_id: String,
    model_name: Option<String>,
    provider_name: Option<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let url = format!("{}/foundation-models", upstream.base_url);
    let headers = signed_headers(upstream, "GET", &url, &[])?;
    let mut request = client.get(&url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let list: ModelList = decode(send(request, upstream.timeout).await?).await?;
    Ok(list
        .model_summaries
        .into_iter()
        .map(|m| DiscoveredModel {
            display_name: match (m.provider_name, m.model_name) {
                (Some(p), Some(n)) => format!("{p} {n}"),
                (_, Some(n)) => n,
                _ => m.model_id.clone(),
            },
            id: m.model_id,
        })
        .collect())
}

/// The headers (`authorization`, `x-amz-date`, optional security token) that sign a request.
pub fn signed_headers(
    upstream: &Upstream<'_>,
    method: &str,
    url: &str,
    body: &[u8],
) -> Result<Vec<(String, String)>, ProviderError> {
    let region = upstream
        .setting("region")
        .ok_or_else(|| ProviderError::Config("region is required".into()))?;
    let session_token = Some(upstream.credential("session_token"))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let identity = Credentials::new(
        upstream.credential("access_key_id"),
        upstream.credential("secret_access_key"),
        session_token,
        None,
        "langmart-connection",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ProviderError::Config(format!("cannot sign request: {e}")))?
        .into();
    let signable = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .map_err(|e| ProviderError::Config(format!("cannot sign request: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| ProviderError::Config(format!("cannot sign request: {e}")))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}
