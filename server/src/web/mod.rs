//! The console: Leptos server-side rendering, server functions, static site files, and a
//! guard that sends signed-out visitors to the log-in page before anything renders.

mod assets;
mod backend;
mod playground;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{header::RETRY_AFTER, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::Session;

use crate::logs::export::Format;
use crate::sessions::USER_ID_KEY;
use crate::state::AppState;
use app::{
    backend::{Backend, ClientAddr},
    error::AppError,
    shell, App,
};

const SERVER_FN_PREFIX: &str = "/api/fn/";
/// Error bodies of server functions are small; anything larger is not one of ours.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let site_root = state.settings.resolved_site_root();
    if !site_root.join("pkg").is_dir() {
        tracing::warn!(site_root = %site_root.display(), "console assets not found; pages will not hydrate (build the site first)");
    }
    let options = LeptosOptions::builder()
        .output_name("langmart")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir(assets::pkg_dir(&site_root))
        .site_addr(state.settings.addr)
        .build();
    let trust_forwarded_for = state.settings.trust_forwarded_for;
    let exports = state.clone();
    let backend: Backend = Arc::new(backend::ConsoleService::new(state));
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(backend.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .merge(assets::bundle(&site_root))
        .route(
            "/console/logs.csv",
            export_route(exports.clone(), Format::Csv),
        )
        .route("/console/logs.jsonl", export_route(exports, Format::Jsonl))
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn(page_deadline))
        .layer(middleware::from_fn(guard))
        .layer(middleware::from_fn(same_origin))
        .layer(middleware::from_fn(move |req, next| {
            client_address(trust_forwarded_for, req, next)
        }))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(assets::cache_control))
        .layer(assets::compression())
        .with_state(options)
}

/// Records where the request came from for the service layer (log-in throttling): the
/// peer's address or, behind a trusted proxy, the last `X-Forwarded-For` entry.
async fn client_address(trust_forwarded_for: bool, mut req: Request, next: Next) -> Response {
    let forwarded = trust_forwarded_for
        .then(|| {
            req.headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = forwarded.or(peer) {
        req.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(req).await
}

/// The headers every console response carries: no framing (clickjacking), no type
/// sniffing, no referrer to other sites, and a content policy that lets the page load only
/// its own scripts, styles and wasm (Leptos' hydration snippet is inline).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Server functions act with the session cookie, so a page elsewhere must not be able to
/// call them through a signed-in visitor's browser (CSRF). Browsers say where a request
/// comes from (`Origin`, `Sec-Fetch-Site`): it must be this site. A request that says
/// neither is accepted only with a JSON body, which no other page can send without this
/// server's consent (CORS preflight). `text/plain` bodies are refused outright.
async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == Method::GET || !req.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(req).await;
    }
    let h = req.headers();
    let text = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let content_type = text("content-type").to_ascii_lowercase();
    let fetch_site = text("sec-fetch-site");
    let origin = text("origin");
    let host = text("host");
    let same_site_fetch = matches!(fetch_site, "" | "same-origin" | "none");
    let same_origin = origin.is_empty()
        || reqwest::Url::parse(origin).ok().is_some_and(|o| {
            let port = o.port().map(|p| format!(":{p}")).unwrap_or_default();
            o.host_str()
                .is_some_and(|oh| format!("{oh}{port}").eq_ignore_ascii_case(host))
        });
    let says_where = !origin.is_empty() || !fetch_site.is_empty();
    let json = content_type.starts_with("application/json");
    let refused = content_type.starts_with("text/plain")
        || !same_site_fetch
        || !same_origin
        || (!says_where && !json);
    if refused {
        tracing::warn!(
            path = req.uri().path(),
            origin,
            fetch_site,
            "refused a cross-site console call"
        );
        return crate::error::ApiError::from(crate::auth::AuthError::CrossSite).into_response();
    }
    next.run(req).await
}

/// `GET /console/logs.csv|.jsonl?<the Request Logs filters>`: the page's export, for the
/// signed-in user (a download link cannot carry an API key; a GET changes nothing, and
/// another site cannot read the answer).
fn export_route(state: AppState, format: Format) -> axum::routing::MethodRouter<LeptosOptions> {
    axum::routing::get(move |session, filter| export_logs(state.clone(), session, format, filter))
}

async fn export_logs(
    state: AppState,
    session: Session,
    format: Format,
    filter: Result<
        axum::extract::Query<app::dto::LogFilterDto>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let Ok(axum::extract::Query(filter)) = filter else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    // The same sign-in rule as every server function (a session a password change ended
    // is refused).
    let actor = match backend::ConsoleService::new(state.clone())
        .actor(&session)
        .await
    {
        Ok(actor) => actor,
        Err(e) => return app_error_response(e),
    };
    let query = crate::logs::export::console_query(&filter, crate::clock::now_ms());
    crate::logs::export::download(&state, &actor.user_id, actor.is_admin, &query, format)
        .await
        .into_response()
}

/// An `AppError` (what server functions answer) as a response of its own status.
fn app_error_response(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(e)).into_response()
}

/// Pages that need a signed-in user; everything else (log-in, sign-up, assets, server
/// functions, which check for themselves) passes.
fn needs_user(path: &str) -> bool {
    path == "/"
        || [
            "/dashboard",
            "/connections",
            "/collections",
            "/logs",
            "/playground",
            "/settings",
        ]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

async fn guard(session: Session, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let signed_in = matches!(session.get::<String>(USER_ID_KEY).await, Ok(Some(_)));
    if path == "/" {
        return Redirect::to(if signed_in { "/dashboard" } else { "/login" }).into_response();
    }
    if !signed_in && needs_user(path) {
        return Redirect::to("/login").into_response();
    }
    if signed_in && (path == "/login" || path == "/signup") {
        return Redirect::to("/dashboard").into_response();
    }
    next.run(req).await
}

/// Longest a rendered page's stream may pause between two chunks.
const PAGE_STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// A page whose stream pauses longer than [`PAGE_STALL`] is cut, and said in the log: a
/// streamed page waits on its `Suspense` boundaries, and one that never resolves (Leptos
/// 0.8 can lose a boundary's wake-up, leptos-rs/leptos#4698) would otherwise hold the
/// browser's navigation open forever, silently. Server functions (the playground's stream)
/// and downloads are not pages.
async fn page_deadline(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == Method::GET
        && !path.starts_with(SERVER_FN_PREFIX)
        && !path.starts_with("/console/")
        && !path.starts_with("/pkg/");
    if !is_page {
        return next.run(req).await;
    }
    let path = path.to_owned();
    next.run(req)
        .await
        .map(|body| cut_when_stalled(body, PAGE_STALL, path))
}

/// `body`, ended with an error (and a log line naming `path`) once it pauses `stall`.
fn cut_when_stalled(body: Body, stall: std::time::Duration, path: String) -> Body {
    let timed = tower_http::timeout::TimeoutBody::new(stall, body);
    Body::new(http_body_util::BodyExt::map_err(timed, move |e| {
        tracing::error!(%path, error = %e, "a page's stream stalled (a Suspense boundary never resolved); cut");
        e
    }))
}

/// A failed server function answers 500 whatever went wrong; give it the status (and
/// `Retry-After`) of the `AppError` it carries, so a bad form is a 4xx like on the REST API.
async fn server_fn_status(req: Request, next: Next) -> Response {
    let is_server_fn = req.uri().path().starts_with(SERVER_FN_PREFIX);
    let response = next.run(req).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "server function failed").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status) {
            if status.is_client_error() || status.is_server_error() {
                parts.status = status;
            }
        }
        if let Some(secs) = err.retry_after {
            parts.headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::{cut_when_stalled, needs_user};

    #[tokio::test]
    async fn a_stalled_page_stream_is_cut_and_a_flowing_one_is_not() {
        use axum::body::Body;
        use futures_util::{stream, StreamExt};
        use http_body_util::BodyExt;
        let stall = std::time::Duration::from_millis(50);
        // A first chunk, then nothing ever again: a boundary that never resolves.
        let stalled = stream::iter([Ok::<_, std::io::Error>("<html>")]).chain(stream::pending());
        let body = cut_when_stalled(Body::from_stream(stalled), stall, "/gateways".into());
        let cut = tokio::time::timeout(std::time::Duration::from_secs(5), body.collect()).await;
        assert!(
            matches!(cut, Ok(Err(_))),
            "a stalled stream ends in an error"
        );
        let whole = cut_when_stalled(Body::from("<html></html>"), stall, "/".into());
        let bytes = whole.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"<html></html>");
    }

    #[test]
    fn console_pages_need_a_user_and_the_rest_does_not() {
        for p in [
            "/",
            "/dashboard",
            "/connections",
            "/settings",
            "/settings/keys",
            "/logs",
            "/playground",
        ] {
            assert!(needs_user(p), "{p}");
        }
        for p in [
            "/login",
            "/signup",
            "/pkg/langmart.js",
            "/favicon.svg",
            "/api/fn/login",
            "/settingsx",
        ] {
            assert!(!needs_user(p), "{p}");
        }
    }
}
