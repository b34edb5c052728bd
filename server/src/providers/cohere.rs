//! Cohere: `Authorization: Bearer`, `GET {base}/v1/models`, paged by `page_token`.

use serde::Deserialize;

use super::{decode, send, DiscoveredModel, ProviderError, Upstream};

const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
struct ModelPage {
    #[serde(default)]
    models: Vec<Model>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Model {
    name: String,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{}/v1/models", upstream.base_url))
            .bearer_auth(upstream.credential("api_key"))
            .query(&[("page_size", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("page_token", t.as_str())]);
        }
        let page: ModelPage = decode(send(request, upstream.timeout).await?).await?;
        models.extend(page.models.into_iter().map(|m| DiscoveredModel {
            display_name: m.name.clone(),
            id: m.name,
        }));
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Ok(models)
}
