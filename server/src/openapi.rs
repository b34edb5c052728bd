//! The machine-readable description of `/api` and `/v1` (OpenAPI 3.1, from the handlers'
//! own `#[utoipa::path]` annotations and types), served at `/api/openapi.json`, with
//! Swagger UI at `/api/docs` (its assets are compiled in: nothing comes from a CDN).
//!
//! Every route of the two surfaces is added through [`Routes`], which remembers its path,
//! so a test can hold the routed paths against the document's. The console's server
//! functions (`/api/fn/*`) are its private calls, not part of the API, and are left out.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use axum::Router;
use bytes::Bytes;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{Modify, OpenApi as _};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::gateway::{CONNECTION, PROVIDER, RESOLUTION};
use crate::state::AppState;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/openapi.json";
/// Where its Swagger UI is served.
pub const DOCS_PATH: &str = "/api/docs";

/// A router that remembers the paths it routes.
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    /// A documented route.
    pub fn route(mut self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push(path);
        self
    }

    /// A route the document leaves out on purpose (the JSON 404 of unknown paths).
    pub fn unlisted(mut self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method);
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// The paths routed, as the document writes them (`{*id}` is `{id}` there).
    pub fn paths(&self) -> Vec<String> {
        self.paths.iter().map(|p| p.replace("{*", "{")).collect()
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// The whole document: `/api` and `/v1` and what they share.
pub fn document() -> OpenApi {
    let mut doc = ServiceDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.merge(crate::api::ApiDoc::openapi());
    doc.merge(crate::ingress::V1Doc::openapi());
    Shared.modify(&mut doc);
    doc
}

/// The paths the server routes on its two surfaces and beside them (`/health`, `/metrics`).
pub fn routed_paths() -> Vec<String> {
    services().paths()
}

/// `/health`, `/metrics`, `/api` and `/v1`, as routed.
pub fn services() -> Routes {
    use axum::routing::get;
    Routes::new()
        .route("/health", get(crate::health::health))
        .route("/metrics", get(crate::metrics::scrape_with_token))
        .merge(crate::api::routes())
        .merge(crate::ingress::routes())
}

/// The document and its Swagger UI. The document is made on its first request, not at
/// start (a replica nobody asks for it does not hold it).
pub fn router() -> Router<AppState> {
    let docs: Router<AppState> = SwaggerUi::new(DOCS_PATH)
        .config(Config::from(DOCUMENT_PATH))
        .into();
    docs.route(DOCUMENT_PATH, axum::routing::get(serve_document))
}

async fn serve_document() -> impl IntoResponse {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    let json =
        JSON.get_or_init(|| Bytes::from(serde_json::to_vec(&document()).unwrap_or_default()));
    ([(header::CONTENT_TYPE, "application/json")], json.clone())
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "LangMart",
        description = "A self-hosted LLM gateway. `/v1` speaks the OpenAI and Anthropic \
                       protocols to any client; `/api` manages connections, collections, keys, \
                       organizations, budgets and logs. Both take a LangMart key (`sk-langmart-…`) as a \
                       bearer token; `/v1` also takes it in `x-api-key`.",
        license(name = "MIT")
    ),
    paths(crate::health::health, crate::metrics::scrape_with_token),
    components(schemas(ErrorBody, ErrorDetail))
)]
struct ServiceDoc;

/// What every operation shares: the key schemes, and the error envelope for any status
/// an operation does not describe itself.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("LangMart key")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The operator's `--metrics-token`"))
                    .build(),
            ),
        );
        let error: Response = ResponseBuilder::new()
            .description("An error: `error.code` is one of the catalogue's stable codes")
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build();
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations: [&mut Option<Operation>; 4] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                name_operation(operation);
                describe_responses(operation);
                if ROUTED.contains(&path.as_str()) {
                    explain_routing(operation);
                }
                operation
                    .responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| error.clone().into());
                if path == "/health" {
                    continue;
                }
                let needs = |scheme: &str| SecurityRequirement::new(scheme, Vec::<String>::new());
                let schemes = match path.as_str() {
                    "/metrics" => vec![needs("metrics_token")],
                    p if p.starts_with("/v1/") => vec![needs("bearer"), needs("x_api_key")],
                    _ => vec![needs("bearer")],
                };
                operation.security.get_or_insert(schemes);
            }
        }
    }
}

/// The `/v1` operations that route a request to a connection.
const ROUTED: [&str; 5] = [
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/v1/messages",
];

/// A routed answer says which connection served it and how the model string was resolved.
fn explain_routing(operation: &mut Operation) {
    use utoipa::openapi::{HeaderBuilder, Object, Type};
    let header = |description: &str| {
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::String)))
                .description(Some(description))
                .build(),
        )
    };
    if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") {
        ok.headers.insert(
            CONNECTION.as_str().into(),
            header("The id of the connection that served it"),
        );
        ok.headers.insert(
            PROVIDER.as_str().into(),
            header("That connection's provider"),
        );
        ok.headers.insert(
            RESOLUTION.as_str().into(),
            header("How the model string was resolved (direct, alias, collection, …)"),
        );
    }
}

/// `{tag}_{handler}` (`keys_list`, `connections_get`): unique, where the handlers' own
/// names repeat across modules. An operation that names itself keeps its name.
fn name_operation(operation: &mut Operation) {
    let tag = operation
        .tags
        .as_ref()
        .and_then(|t| t.first())
        .cloned()
        .unwrap_or_default();
    if let Some(id) = operation.operation_id.as_mut() {
        let is_handler_name = id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if is_handler_name && !tag.is_empty() && !id.starts_with(&format!("{tag}_")) {
            *id = format!("{tag}_{id}");
        }
    }
}

/// OpenAPI requires a description on every response; a typed one says its status.
fn describe_responses(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                response.description = match status.as_str() {
                    "200" => "OK",
                    "201" => "Created",
                    "204" => "No content",
                    _ => "The answer",
                }
                .to_owned();
            }
        }
    }
}
