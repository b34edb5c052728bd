//! The console's static files. The build (`scripts/lib.sh` `build_site`) puts the bundle
//! under a directory named by its content hash (`pkg/<hash>/`), writes the hash to
//! `pkg/hash.txt`, and stores brotli and gzip copies beside each file; here those files are
//! served precompressed and cached for a year (a new build has a new name), and pages and
//! server-function answers are compressed on the fly.

use std::path::Path;

use axum::{
    extract::Request,
    http::{header::CACHE_CONTROL, HeaderValue},
    middleware::Next,
    response::Response,
    Router,
};
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, NotForContentType, Predicate},
        CompressionLayer, CompressionLevel,
    },
    services::ServeDir,
};

/// Where the page links the bundle from: `pkg/<hash>` for a hashed build, `pkg` otherwise
/// (a hand-made site directory, or the tests').
pub fn pkg_dir(site_root: &Path) -> String {
    std::fs::read_to_string(site_root.join("pkg").join("hash.txt"))
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric()))
        .map_or_else(|| "pkg".to_owned(), |h| format!("pkg/{h}"))
}

/// `/pkg/…`: the bundle files, their `.br`/`.gz` copies chosen by `Accept-Encoding`.
pub fn bundle<S: Clone + Send + Sync + 'static>(site_root: &Path) -> Router<S> {
    let files = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new().nest_service("/pkg", files)
}

/// Compression for what is made per request (pages, server-function JSON). Quick levels: a
/// page is small and made once; the large files come precompressed at the best level.
/// Streams are left alone, or the compressor would hold their text back: event streams
/// (the default predicate) and streamed server-function answers (`text/plain`).
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("text/plain")))
}

/// A hashed bundle file never changes under its name: cache it for a year. Anything else
/// (pages, `hash.txt`, the favicon) is revalidated on every use.
pub async fn cache_control(req: Request, next: Next) -> Response {
    let immutable = is_hashed_asset(req.uri().path());
    let mut response = next.run(req).await;
    if !response.status().is_success() {
        return response;
    }
    let value = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(value));
    response
}

/// `/pkg/<hash>/<file>`: a file inside a content-named build directory.
fn is_hashed_asset(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/pkg/") else {
        return false;
    };
    matches!(rest.split_once('/'), Some((hash, file))
        if hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()) && !file.is_empty() && !file.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_in_a_hashed_directory_are_immutable() {
        assert!(is_hashed_asset("/pkg/0123abcd4567ef89/langmart.js"));
        assert!(!is_hashed_asset("/pkg/langmart.js"));
        assert!(!is_hashed_asset("/pkg/hash.txt"));
        assert!(!is_hashed_asset("/pkg/not-a-hash/langmart.js"));
        assert!(!is_hashed_asset("/pkg/0123abcd4567ef89/"));
        assert!(!is_hashed_asset("/connections"));
    }

    #[test]
    fn the_bundle_directory_comes_from_hash_txt() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pkg_dir(dir.path()), "pkg");
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/hash.txt"), "0123abcd4567ef89\n").unwrap();
        assert_eq!(pkg_dir(dir.path()), "pkg/0123abcd4567ef89");
        std::fs::write(dir.path().join("pkg/hash.txt"), "../etc\n").unwrap();
        assert_eq!(pkg_dir(dir.path()), "pkg");
    }
}
