//! Anthropic: `x-api-key` + `anthropic-version`, `GET {base}/v1/models`, paged by `after_id`.

use serde::Deserialize;

use super::{decode, send, DiscoveredModel, ProviderError, Upstream};

pub const API_VERSION: &str = "2023-06-01";
/// Stops a provider that always says `has_more` from looping forever.
const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
struct ModelPage {
    data: Vec<Model>,
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
    display_name: Option<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{}/v1/models", upstream.base_url))
            .header("x-api-key", upstream.credential("api_key"))
            .header("anthropic-version", API_VERSION)
            .query(&[("limit", "1000")]);
        if let Some(id) = &after {
            request = request.query(&[("after_id", id.as_str())]);
        }
        let page: ModelPage = decode(send(request, upstream.timeout).await?).await?;
        models.extend(page.data.into_iter().map(|m| DiscoveredModel {
            display_name: m.display_name.unwrap_or_else(|| m.id.clone()),
            id: m.id,
        }));
        match (page.has_more, page.last_id) {
            (true, Some(last)) => after = Some(last),
            _ => break,
        }
    }
    Ok(models)
}
