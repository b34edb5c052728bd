//! Google Gemini: `x-goog-api-key`, `GET {base}/v1beta/models`, paged by `pageToken`.
//! Only models that can generate content or embeddings are routable.

use serde::Deserialize;

use super::{decode, send, DiscoveredModel, ProviderError, Upstream};

const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelPage {
    #[serde(default)]
    models: Vec<Model>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Model {
    name: String,
    display_name: Option<String>,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
}

pub async fn list_models(
    client: &reqwest::Client,
    upstream: &Upstream<'_>,
) -> Result<Vec<DiscoveredModel>, ProviderError> {
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{}/v1beta/models", upstream.base_url))
            .header("x-goog-api-key", upstream.credential("api_key"))
            .query(&[("pageSize", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("pageToken", t.as_str())]);
        }
        let page: ModelPage = decode(send(request, upstream.timeout).await?).await?;
        models.extend(
            page.models
                .into_iter()
                .filter(|m| {
                    m.supported_generation_methods.is_empty()
                        || m.supported_generation_methods.iter().any(|g| {
                            g == "generateContent"
                                || g == "embedContent"
                                || g == "streamGenerateContent"
                        })
                })
                .map(|m| {
                    let id = m.name.strip_prefix("models/").unwrap_or(&m.name).to_owned();
                    DiscoveredModel {
                        display_name: m.display_name.unwrap_or_else(|| id.clone()),
                        id,
                    }
                }),
        );
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Ok(models)
}
