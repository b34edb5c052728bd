//! The HTTP edge: health, the error envelope for bad requests, unknown routes, limits.

use crate::common::{error_code, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn health_reports_the_database_the_request_log_and_the_disk() {
    let Some(app) = spawn_app().await else { return };
    let res = reqwest::get(app.url("/health")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let health: Value = res.json().await.unwrap();
    assert_eq!(health["database"], "ok", "{health}");
    assert_eq!(health["in_flight"], 0, "{health}");
    assert_eq!(health["request_log"]["failing"], false, "{health}");
    assert_eq!(health["request_log"]["dropped"], 0, "{health}");
    assert!(
        health["disk"]["free_bytes"].as_u64().unwrap() > 0,
        "{health}"
    );
    // "degraded" only with a warning (a nearly full disk on this machine).
    let warned = !health["warnings"].as_array().unwrap().is_empty();
    assert_eq!(
        health["status"],
        if warned { "degraded" } else { "ok" },
        "{health}"
    );

    app.state.db.pool.close().await;
    let res = reqwest::get(app.url("/health")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health: Value = res.json().await.unwrap();
    assert_eq!(
        (&health["status"], &health["database"]),
        (&json!("error"), &json!("error")),
        "{health}"
    );
}

/// A nearly full disk (here: a threshold above any disk's free space) is said on
/// `/health` and on every console page, to signed-in people only.
#[tokio::test]
async fn a_nearly_full_disk_is_said_on_health_and_in_the_console() {
    let Some(app) = spawn_app_with(|s| s.min_free_disk_bytes = Some(u64::MAX)).await else {
        return;
    };
    let health: Value = reqwest::get(app.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["disk"]["low"], true, "{health}");
    let warning = "the disk under the data directory is nearly full";
    assert_eq!(health["warnings"], json!([warning]), "{health}");

    let res = app.call_fn("service_warnings", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.signup("ops@example.com", "ops").await;
    let res = app.call_fn("service_warnings", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!([warning]));
    let page = app
        .browser
        .get(app.url("/connections"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"service-warning\"") && page.contains(warning),
        "the console page shows the warning"
    );
}

#[tokio::test]
async fn bad_bodies_get_4xx_codes_and_store_nothing() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let post = |body: &'static str, content_type: &'static str| {
        app.api(Method::POST, "/api/organizations", &key)
            .header("content-type", content_type)
            .body(body)
    };

    let malformed = post("{\"name\": ", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(malformed, StatusCode::BAD_REQUEST).await,
        "INVALID_JSON"
    );

    let unknown_field = post(
        r#"{"name":"A","handle":"acme","color":"red"}"#,
        "application/json",
    )
    .send()
    .await
    .unwrap();
    let body: Value = unknown_field.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_BODY");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("color"),
        "{body}"
    );

    let wrong_type = post(r#"{"name":1,"handle":"acme"}"#, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(wrong_type, StatusCode::BAD_REQUEST).await,
        "INVALID_BODY"
    );

    let not_json = post(r#"{"name":"A","handle":"acme"}"#, "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "UNSUPPORTED_MEDIA_TYPE"
    );

    let huge = format!(
        r#"{{"name":"{}","handle":"acme"}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    let too_large = app
        .api(Method::POST, "/api/organizations", &key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(too_large, StatusCode::PAYLOAD_TOO_LARGE).await,
        "PAYLOAD_TOO_LARGE"
    );

    let orgs: Value = app
        .api(Method::GET, "/api/organizations", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        orgs["organizations"],
        json!([]),
        "no bad request may create anything"
    );
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let Some(app) = spawn_app().await else { return };
    for path in ["/api/nope", "/v1/nope"] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(
            error_code(res, StatusCode::NOT_FOUND).await,
            "ROUTE_NOT_FOUND"
        );
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let Some(app) = spawn_app().await else { return };
    let res = reqwest::get(app.url("/health")).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let echoed = reqwest::Client::new()
        .get(app.url("/health"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-123");
}

/// A built site: the bundle in a content-named directory with compressed copies beside it.
fn built_site(root: &std::path::Path, hash: &str) -> std::io::Result<()> {
    let dir = root.join("pkg").join(hash);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(root.join("pkg/hash.txt"), format!("{hash}\n"))?;
    std::fs::write(
        dir.join("langmart.js"),
        "export default function init() {}\n".repeat(50),
    )?;
    std::fs::write(dir.join("langmart.js.br"), b"brotli bytes")?;
    std::fs::write(dir.join("langmart.js.gz"), b"\x1f\x8bgzip bytes")?;
    std::fs::write(dir.join("langmart.css"), "body { margin: 0 }\n")?;
    Ok(())
}

#[tokio::test]
async fn console_assets_are_content_named_precompressed_and_cached_for_good() {
    let site = tempfile::tempdir().unwrap();
    let hash = "0123abcd4567ef89";
    built_site(site.path(), hash).unwrap();
    let root = site.path().to_path_buf();
    let Some(app) = spawn_app_with(|s| s.site_root = Some(root)).await else {
        return;
    };
    let client = reqwest::Client::new();
    let js = format!("/pkg/{hash}/langmart.js");

    // The page links the hashed files and is itself compressed and revalidated.
    let page = client
        .get(app.url("/login"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let plain = client.get(app.url("/login")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let html = plain.text().await.unwrap();
    assert!(
        html.contains(&js),
        "the script is linked by its hashed path"
    );
    assert!(html.contains(&format!("/pkg/{hash}/langmart.css")));

    // The brotli copy for a browser that takes it, gzip for one that takes only that.
    let br = client
        .get(app.url(&js))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.status(), StatusCode::OK);
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(
        br.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let gz = client
        .get(app.url(&js))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let identity = client.get(app.url(&js)).send().await.unwrap();
    assert!(identity.headers().get("content-encoding").is_none());
    assert!(identity.text().await.unwrap().starts_with("export default"));

    // A missing file is not cached; the build pointer is revalidated.
    let missing = client
        .get(app.url(&format!("/pkg/{hash}/nope.js")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get("cache-control").is_none());
}

#[tokio::test]
async fn console_pages_render_on_the_server() {
    let Some(app) = spawn_app().await else { return };
    let login = app.browser.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(html.contains("Log in to LangMart"));
    assert!(
        html.contains("/pkg/langmart.js"),
        "hydration script is linked (an unhashed site directory)"
    );

    app.signup("ada@example.com", "ada").await;
    let root = app.browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(root.headers()["location"], "/dashboard");
    let keys = app
        .browser
        .get(app.url("/settings/keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), StatusCode::OK);
    let html = keys.text().await.unwrap();
    assert!(html.contains("Create an API key"));
    assert!(html.contains("@ada"), "the signed-in handle is rendered");
}

#[tokio::test]
async fn graceful_shutdown_stops_the_server() {
    let Some(app) = spawn_app().await else { return };
    let url = app.url("/health");
    app.stop().await;
    assert!(reqwest::get(url).await.is_err());
}
