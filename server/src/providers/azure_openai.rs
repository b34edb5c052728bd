//! Azure OpenAI: `api-key` header, resource endpoint from the connection, `api-version`
//! query. A deployment is what requests name, so deployments are the models.

use serde::Deserialize;

use super::{decode, send, DiscoveredModel, ProviderError, Upstream};

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
    let list: DeploymentList = decode(send(request, upstream.timeout).await?).await?;
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
