//! In-process mock providers, one per API family, on one listener at 127.0.0.1:0. Each
//! checks its family's real auth header and answers its real list-models format (chat and
//! embeddings: `native_mock.rs`); all of them can be told to fail (status + Retry-After) or
//! hang, count their calls and record the requests they received.

#![expect(
    clippy::unwrap_used,
    reason = "a mock that cannot run must fail the test"
)]

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, SystemTime},
};

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{sign, SignableBody, SignableRequest, SigningSettings},
    sign::v4,
};
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use crate::native_mock::Recorded;

pub const BEDROCK_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

#[derive(Default)]
struct Behaviour {
    /// The key every family must present (Bedrock: the secret access key).
    key: String,
    fail: Option<(u16, Option<u64>)>,
    hang: bool,
    /// Streams stop cleanly after half their events.
    end_streams_early: bool,
}

#[derive(Clone, Default)]
pub struct Mock {
    inner: Arc<Mutex<Behaviour>>,
    calls: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    pub base: String,
}

impl Mock {
    pub async fn start(key: &str) -> Mock {
        let mut mock = Mock::default();
        mock.set_key(key);
        let app = Router::new()
            .route("/openai/v1/models", get(openai))
            .route("/anthropic/v1/models", get(anthropic))
            .route("/gemini/v1beta/models", get(gemini))
            .route("/azure/openai/deployments", get(azure))
            .route("/bedrock/foundation-models", get(bedrock))
            .route("/cohere/v1/models", get(cohere))
            .merge(crate::native_mock::routes())
            .with_state(mock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        mock.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        mock
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set_key(&self, key: &str) {
        self.inner.lock().unwrap().key = key.to_owned();
    }

    /// Every call answers `status` (with `Retry-After` when given) until `succeed()`.
    pub fn fail(&self, status: u16, retry_after: Option<u64>) {
        self.inner.lock().unwrap().fail = Some((status, retry_after));
    }

    pub fn hang(&self) {
        self.inner.lock().unwrap().hang = true;
    }

    pub fn succeed(&self) {
        let mut b = self.inner.lock().unwrap();
        b.fail = None;
        b.hang = false;
        b.end_streams_early = false;
    }

    /// Streams stop cleanly after half their events (no finish, no closing event).
    pub fn end_streams_early(&self) {
        self.inner.lock().unwrap().end_streams_early = true;
    }

    pub fn ends_streams_early(&self) -> bool {
        self.inner.lock().unwrap().end_streams_early
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn record(&self, request: Recorded) {
        self.requests.lock().unwrap().push(request);
    }

    /// The last chat or embeddings request received.
    pub fn last_request(&self) -> Recorded {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }

    /// The configured failure or hang, if any; otherwise the expected key.
    pub async fn gate(&self) -> Result<String, Response> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (key, fail, hang) = {
            let b = self.inner.lock().unwrap();
            (b.key.clone(), b.fail, b.hang)
        };
        if hang {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        if let Some((status, retry_after)) = fail {
            let mut res = (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"error": {"message": format!("mock failure {status}"), "type": "mock_error"}})),
            )
                .into_response();
            if let Some(secs) = retry_after {
                res.headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            return Err(res);
        }
        Ok(key)
    }
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"message": message, "type": "authentication_error"}})),
    )
        .into_response()
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn openai(State(mock): State<Mock>, headers: HeaderMap) -> Response {
    let key = match mock.gate().await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "authorization") != format!("Bearer {key}") {
        return unauthorized("Incorrect API key provided");
    }
    Json(json!({"object": "list", "data": [
        {"id": "gpt-4o", "object": "model", "created": 1_715_367_049, "owned_by": "system"},
        {"id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "system"},
    ]}))
    .into_response()
}

async fn anthropic(
    State(mock): State<Mock>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let key = match mock.gate().await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "x-api-key") != key || header(&headers, "anthropic-version") != "2023-06-01"
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}))).into_response();
    }
    // Two pages, as the real API pages with has_more / last_id / after_id.
    if q.get("after_id").map(String::as_str) == Some("claude-sonnet-4-20250514") {
        Json(json!({"data": [
            {"type": "model", "id": "claude-3-5-haiku-20241022", "display_name": "Claude Haiku 3.5", "created_at": "2024-10-22T00:00:00Z"}
        ], "has_more": false, "first_id": "claude-3-5-haiku-20241022", "last_id": "claude-3-5-haiku-20241022"}))
        .into_response()
    } else {
        Json(json!({"data": [
            {"type": "model", "id": "claude-sonnet-4-20250514", "display_name": "Claude Sonnet 4", "created_at": "2025-05-22T00:00:00Z"}
        ], "has_more": true, "first_id": "claude-sonnet-4-20250514", "last_id": "claude-sonnet-4-20250514"}))
        .into_response()
    }
}

async fn gemini(
    State(mock): State<Mock>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let key = match mock.gate().await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let presented = q
        .get("key")
        .cloned()
        .unwrap_or_else(|| header(&headers, "x-goog-api-key").to_owned());
    if presented != key {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}))).into_response();
    }
    Json(json!({"models": [
        {"name": "models/gemini-2.0-flash", "displayName": "Gemini 2.0 Flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
        {"name": "models/text-embedding-004", "displayName": "Text Embedding 004", "supportedGenerationMethods": ["embedContent"]},
        {"name": "models/aqa", "displayName": "Model that performs Attributed Question Answering.", "supportedGenerationMethods": ["generateAnswer"]},
    ]}))
    .into_response()
}

async fn azure(
    State(mock): State<Mock>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let key = match mock.gate().await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "api-key") != key {
        return unauthorized(
            "Access denied due to invalid subscription key or wrong API endpoint.",
        );
    }
    if q.get("api-version").map(String::as_str) != Some("2022-12-01") {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": "404", "message": "Resource not found"}})),
        )
            .into_response();
    }
    Json(json!({"data": [
        {"id": "prod-gpt4o", "model": "gpt-4o", "object": "deployment", "status": "succeeded"},
        {"id": "embeddings", "model": "text-embedding-3-small", "object": "deployment", "status": "succeeded"},
    ], "object": "list"}))
    .into_response()
}

async fn cohere(State(mock): State<Mock>, headers: HeaderMap) -> Response {
    let key = match mock.gate().await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if header(&headers, "authorization") != format!("Bearer {key}") {
        return unauthorized("invalid api token");
    }
    Json(json!({"models": [
        {"name": "command-r-plus", "endpoints": ["generate", "chat", "summarize"], "context_length": 128000},
        {"name": "embed-english-v3.0", "endpoints": ["embed"], "context_length": 512},
    ], "next_page_token": null}))
    .into_response()
}

/// Recomputes the SigV4 signature from the request as received (method, URL, body), with
/// the secret the mock expects: a match proves the adapter signed with the connection's
/// key id, secret and region.
pub fn bedrock_signature_ok(
    headers: &HeaderMap,
    uri: &Uri,
    method: &str,
    body: &[u8],
    secret: &str,
) -> bool {
    let auth = header(headers, "authorization");
    if !auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={BEDROCK_KEY_ID}/"))
        || !auth.contains("/us-east-1/bedrock/aws4_request")
    {
        return false;
    }
    let Some(time) = parse_amz_date(header(headers, "x-amz-date")) else {
        return false;
    };
    let url = format!("http://{}{}", header(headers, "host"), uri);
    let identity = Credentials::new(BEDROCK_KEY_ID, secret, None, None, "mock").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable =
        SignableRequest::new(method, &url, std::iter::empty(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let expected = instructions
        .headers()
        .find(|(n, _)| *n == "authorization")
        .map(|(_, v)| v.to_owned());
    expected.as_deref() == Some(auth)
}

async fn bedrock(State(mock): State<Mock>, headers: HeaderMap, uri: Uri) -> Response {
    let secret = match mock.gate().await {
        Ok(k) => k,
        Err(r) => return r,
    };
    if !bedrock_signature_ok(&headers, &uri, "GET", &[], &secret) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "The request signature we calculated does not match the signature you provided."})),
        )
            .into_response();
    }
    Json(json!({"modelSummaries": [
        {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", "modelId": "anthropic.claude-3-haiku-20240307-v1:0", "modelName": "Claude 3 Haiku", "providerName": "Anthropic", "inputModalities": ["TEXT", "IMAGE"], "outputModalities": ["TEXT"], "responseStreamingSupported": true},
        {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1", "modelId": "amazon.titan-text-express-v1", "modelName": "Titan Text G1 - Express", "providerName": "Amazon", "inputModalities": ["TEXT"], "outputModalities": ["TEXT"], "responseStreamingSupported": true},
    ]}))
    .into_response()
}

/// `20261122T054000Z` → time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    if s.len() != 16 {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0, 4)?,
        n(4, 6)?,
        n(6, 8)?,
        n(9, 11)?,
        n(11, 13)?,
        n(13, 15)?,
    );
    let date = time::Date::from_calendar_date(
        i32::try_from(y).ok()?,
        time::Month::try_from(u8::try_from(mo).ok()?).ok()?,
        u8::try_from(d).ok()?,
    )
    .ok()?;
    let t = date
        .with_hms(
            u8::try_from(h).ok()?,
            u8::try_from(mi).ok()?,
            u8::try_from(se).ok()?,
        )
        .ok()?
        .assume_utc();
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix_timestamp()).ok()?))
}

/// A JSON body for creating a connection of `provider` against this mock.
pub fn connection_body(mock: &Mock, provider: &str, name: &str, key: &str) -> Value {
    match provider {
        "openai" | "groq" | "custom" => {
            json!({"provider": provider, "name": name, "api_key": key, "endpoint_url": mock.url("/openai/v1")})
        }
        "anthropic" => {
            json!({"provider": "anthropic", "name": name, "api_key": key, "endpoint_url": mock.url("/anthropic")})
        }
        "google" => {
            json!({"provider": "google", "name": name, "api_key": key, "endpoint_url": mock.url("/gemini")})
        }
        "azure-openai" => {
            json!({"provider": "azure-openai", "name": name, "api_key": key, "endpoint_url": mock.url("/azure")})
        }
        "cohere" => {
            json!({"provider": "cohere", "name": name, "api_key": key, "endpoint_url": mock.url("/cohere")})
        }
        "bedrock" => json!({"provider": "bedrock", "name": name,
            "credentials": {"access_key_id": BEDROCK_KEY_ID, "secret_access_key": key},
            "config": {"region": "us-east-1"}, "endpoint_url": mock.url("/bedrock")}),
        other => panic!("no mock for {other}"),
    }
}
