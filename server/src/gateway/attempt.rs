//! One candidate, tried: the request in the form the connection takes (the client's own
//! body when the connection speaks its dialect natively, else the canonical OpenAI form),
//! sent with retries on the same connection for connect errors and 5xx, with jittered
//! backoff. Which failures move on to the next candidate is decided here too.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;

use crate::providers::{self, ChatReply, NativeReply, NativeRequest, ProviderError};
use crate::routing::catalog::Route;
use crate::state::AppState;

use super::call::Call;
use super::{Endpoint, NativeBody};

/// The latency a failed attempt counts as, at least.
const FAILURE_LATENCY: Duration = Duration::from_secs(1);

/// What a connection answered.
pub enum Reply {
    /// In OpenAI's format, from an adapter.
    Canonical(ChatReply),
    /// In the client's own dialect, untouched.
    Native(NativeReply),
}

/// The request as one candidate takes it.
pub enum Outgoing<'a> {
    Native(&'a NativeBody),
    Canonical(&'a Value),
    /// The request has no canonical form (it uses something only its own dialect has) and
    /// this connection does not speak that dialect.
    Untranslatable(&'a str),
}

/// Failures worth trying another connection for.
pub fn retryable(e: &ProviderError) -> bool {
    match e {
        ProviderError::Unreachable(_)
        | ProviderError::Timeout(_)
        | ProviderError::Decode(_)
        | ProviderError::TooLarge(_)
        | ProviderError::Config(_)
        | ProviderError::Unsupported(_)
        | ProviderError::Refused(_)
        | ProviderError::GatewayDown(_) => true,
        ProviderError::Blocked(_) => false,
        ProviderError::Http { status, .. } => {
            matches!(status, 401 | 403 | 408 | 429) || *status >= 500
        }
    }
}

/// Failures worth trying the same connection again for.
fn retry_same(e: &ProviderError) -> bool {
    match e {
        ProviderError::Unreachable(_) => true,
        // 508: the request came back to this instance; another try would too.
        ProviderError::Http { status, .. } => *status >= 500 && *status != 508,
        _ => false,
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 50u64.saturating_mul(1 << attempt.min(5)).min(1_000);
    let jitter: f64 = rand::thread_rng().gen_range(0.5..1.5);
    Duration::from_millis(u64::try_from((base as f64 * jitter) as i64).unwrap_or(50))
}

/// The attempt's outcome as the request log names it.
pub fn outcome_name(e: &ProviderError) -> String {
    match e {
        ProviderError::Http { status, .. } => format!("http_{status}"),
        ProviderError::Timeout(_) => "timeout".into(),
        ProviderError::Unreachable(_) => "unreachable".into(),
        ProviderError::Decode(_) => "bad_response".into(),
        ProviderError::TooLarge(_) => "too_large".into(),
        ProviderError::Config(_) => "misconfigured".into(),
        ProviderError::Unsupported(_) => "unsupported".into(),
        ProviderError::Blocked(_) => "blocked".into(),
        ProviderError::Refused(_) => "refused_by_policy".into(),
        ProviderError::GatewayDown(_) => "gateway_disconnected".into(),
    }
}

/// Sends to `route` until it answers, fails for good, or has used its retries; every try
/// is an attempt in the log row and feeds the latency figures routing reads.
pub async fn send_with_retries(
    state: &AppState,
    call: &mut Call,
    route: &Route,
    upstream_model: &str,
    outgoing: Outgoing<'_>,
    stream: bool,
) -> Result<Reply, ProviderError> {
    let mut tries = 0u32;
    loop {
        let started = Instant::now();
        let span = tracing::info_span!(
            target: crate::telemetry::TARGET,
            "attempt",
            otel.kind = "client",
            langmart.connection = %route.id,
            langmart.provider = %route.provider_key,
            langmart.upstream_model = upstream_model,
            langmart.retry = tries,
            langmart.outcome = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let sending = send(
            state,
            route,
            upstream_model,
            call.endpoint,
            &outgoing,
            stream,
        );
        let result = tracing::Instrument::instrument(sending, span.clone()).await;
        let elapsed = started.elapsed();
        let latency_ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        match &result {
            Ok(_) => {
                state.limiter.record_latency(&route.id, elapsed);
                if !stream {
                    state
                        .limiter
                        .record_model_latency(&route.id, upstream_model, elapsed, None);
                }
                span.record("langmart.outcome", "ok");
                call.attempt(route, "ok".into(), Some(200), latency_ms);
            }
            Err(e) => {
                // A failure counts as slow, so latency-optimized routing moves away from it
                // until exploration finds it has recovered.
                if !matches!(e, ProviderError::Unsupported(_)) {
                    state.limiter.record_model_latency(
                        &route.id,
                        upstream_model,
                        elapsed.max(FAILURE_LATENCY),
                        None,
                    );
                }
                let outcome = outcome_name(e);
                if let Some(status) = e.http_status() {
                    span.record("http.response.status_code", status);
                }
                span.record("langmart.outcome", outcome.as_str());
                span.record("otel.status_code", "ERROR");
                call.attempt(route, outcome, e.http_status(), latency_ms);
            }
        }
        match result {
            Err(e) if retry_same(&e) && tries < route.max_retries => {
                tokio::time::sleep(backoff(tries)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

async fn send(
    state: &AppState,
    route: &Route,
    upstream_model: &str,
    endpoint: Endpoint,
    outgoing: &Outgoing<'_>,
    stream: bool,
) -> Result<Reply, ProviderError> {
    let upstream = route.upstream(&state.outbound);
    let client = state
        .outbound
        .client(route.allow_private, route.timeouts.connect);
    let http = &client;
    match outgoing {
        Outgoing::Native(native) => {
            let body = native.with_model(upstream_model)?;
            providers::native(
                http,
                &upstream,
                NativeRequest {
                    api: native.api,
                    body,
                    headers: &native.headers,
                    stream,
                },
            )
            .await
            .map(Reply::Native)
        }
        Outgoing::Canonical(body) => match endpoint {
            Endpoint::Embeddings => providers::embed(http, &upstream, body).await,
            _ => providers::chat(http, &upstream, body, stream).await,
        }
        .map(Reply::Canonical),
        Outgoing::Untranslatable(why) => Err(ProviderError::Unsupported((*why).to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_and_fallback_rules() {
        let http = |s| ProviderError::Http {
            status: s,
            message: String::new(),
            retry_after_secs: None,
        };
        for s in [401, 403, 408, 429, 500, 503, 529] {
            assert!(retryable(&http(s)), "{s}");
        }
        assert!(!retryable(&http(400)) && !retryable(&http(404)) && !retryable(&http(422)));
        assert!(retry_same(&http(502)) && retry_same(&ProviderError::Unreachable(String::new())));
        assert!(
            !retry_same(&http(429))
                && !retry_same(&ProviderError::Timeout(1))
                && !retry_same(&http(401))
        );
    }
}
