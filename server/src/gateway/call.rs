//! One call through the gateway: what its request-log row accumulates (attempts, how it
//! was resolved, usage) and the explainability headers every answer carries.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    http::{HeaderName, HeaderValue},
    response::Response,
};
use serde_json::Value;

use crate::auth::Principal;
use crate::clock::now_ms;
use crate::db::Flag;
use crate::error::ApiError;
use crate::extract::RequestMeta;
use crate::ids::new_ordered_id;
use crate::limits::Reservation;
use crate::logs::bodies::Captured;
use crate::logs::{Attempt, LogRow};
use crate::routing::catalog::{Route, Snapshot};
use crate::state::AppState;

use super::dialect::{render, Dialect};
use super::Endpoint;

pub const CONNECTION: HeaderName = HeaderName::from_static("x-langmart-connection");
pub const RESOLUTION: HeaderName = HeaderName::from_static("x-langmart-resolution");
pub const PROVIDER: HeaderName = HeaderName::from_static("x-langmart-provider");

/// Token counts of one answer. `prompt` counts every input token, cached ones included
/// (OpenAI's sense); the cache figures say how many of them were read from or written to
/// the provider's prompt cache.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt: Option<i64>,
    pub completion: Option<i64>,
    pub cache_read: Option<i64>,
    pub cache_write: Option<i64>,
    /// Counted by the gateway, not reported by the provider (see [`crate::cost::Basis`]).
    pub estimated: bool,
}

impl Usage {
    /// From an OpenAI-format answer or chunk (`usage.prompt_tokens`, …).
    pub fn from_openai(v: &Value) -> Option<Usage> {
        v.get("usage")
            .filter(|u| u.is_object())
            .map(Usage::from_openai_usage)
    }

    /// From an OpenAI-format `usage` object.
    pub fn from_openai_usage(u: &Value) -> Usage {
        Usage {
            prompt: u.get("prompt_tokens").and_then(Value::as_i64),
            completion: u.get("completion_tokens").and_then(Value::as_i64),
            cache_read: u
                .pointer("/prompt_tokens_details/cached_tokens")
                .and_then(Value::as_i64),
            cache_write: None,
            estimated: false,
        }
    }

    /// From an OpenAI-format `usage` object's JSON text, read typed (no tree is built).
    pub fn from_openai_text(raw: &str) -> Usage {
        #[derive(serde::Deserialize)]
        struct Details {
            cached_tokens: Option<i64>,
        }
        #[derive(serde::Deserialize)]
        struct Peek {
            prompt_tokens: Option<i64>,
            completion_tokens: Option<i64>,
            prompt_tokens_details: Option<Details>,
        }
        serde_json::from_str::<Peek>(raw)
            .map(|p| Usage {
                prompt: p.prompt_tokens,
                completion: p.completion_tokens,
                cache_read: p.prompt_tokens_details.and_then(|d| d.cached_tokens),
                cache_write: None,
                estimated: false,
            })
            .unwrap_or_default()
    }

    /// From Anthropic's `usage` object: its `input_tokens` leave out cached tokens.
    pub fn from_anthropic(u: &Value) -> Usage {
        let n = |k: &str| u.get(k).and_then(Value::as_i64);
        let (input, read, write) = (
            n("input_tokens"),
            n("cache_read_input_tokens"),
            n("cache_creation_input_tokens"),
        );
        Usage {
            prompt: input.map(|i| {
                i.saturating_add(read.unwrap_or(0))
                    .saturating_add(write.unwrap_or(0))
            }),
            completion: n("output_tokens"),
            cache_read: read,
            cache_write: write,
            estimated: false,
        }
    }

    /// From the Responses API's `usage` object.
    pub fn from_responses(u: &Value) -> Usage {
        Usage {
            prompt: u.get("input_tokens").and_then(Value::as_i64),
            completion: u.get("output_tokens").and_then(Value::as_i64),
            cache_read: u
                .pointer("/input_tokens_details/cached_tokens")
                .and_then(Value::as_i64),
            cache_write: None,
            estimated: false,
        }
    }

    /// The provider's usage; for a stream that ended without it (cancelled, broken, or a
    /// provider that sends none), the gateway's count instead: the prompt as estimated
    /// before the call and about a token per four characters delivered, marked estimated.
    pub fn or_estimate(self, delivered_chars: u64, prompt_estimate: u64) -> Usage {
        if self.completion.is_some() {
            return self;
        }
        Usage {
            prompt: self.prompt.or_else(|| i64::try_from(prompt_estimate).ok()),
            completion: i64::try_from(delivered_chars.div_ceil(4)).ok(),
            estimated: true,
            ..self
        }
    }

    pub fn total(&self) -> u64 {
        u64::try_from(
            self.prompt
                .unwrap_or(0)
                .saturating_add(self.completion.unwrap_or(0)),
        )
        .unwrap_or(0)
    }
}

/// How a call ended, for its log row.
pub struct Outcome<'a> {
    pub route: Option<&'a Route>,
    pub upstream_model: Option<&'a str>,
    pub status: u16,
    pub error_code: Option<String>,
    pub ttft: Option<Duration>,
    pub usage: Usage,
    pub stream: bool,
}

/// What the log row of this call accumulates.
pub struct Call {
    pub state: AppState,
    pub caller: Arc<Principal>,
    pub meta: RequestMeta,
    pub endpoint: Endpoint,
    pub requested_model: String,
    pub resolution: &'static str,
    /// The collection's reference, when the request named one.
    pub collection: Option<String>,
    pub started: Instant,
    pub attempts: Vec<Attempt>,
    /// The connection being tried now, for the row of a call the client abandons.
    pub trying: Option<Arc<Route>>,
    /// The routing snapshot the call was planned with: its prices cost the row.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Prompt tokens as estimated before the call, for a stream that ends without the
    /// provider's usage.
    pub prompt_estimate: u64,
    /// What the call holds against its key's own rpm/tpm, settled with its usage.
    pub key_hold: Option<Reservation>,
    /// What the attempt under way holds against the key's budgets, settled with its cost.
    budget_holds: std::sync::Mutex<Vec<crate::budgets::Hold>>,
    /// Set once the row is written; a call dropped before that was abandoned by its
    /// client (see `Drop`).
    logged: AtomicBool,
    /// The call's bodies, when its caller keeps them (`crate::logs::bodies`).
    pub capture: Option<Box<std::sync::Mutex<Captured>>>,
}

impl Call {
    pub fn new(
        state: AppState,
        caller: Arc<Principal>,
        meta: RequestMeta,
        endpoint: Endpoint,
        requested_model: String,
    ) -> Self {
        Call {
            state,
            caller,
            meta,
            endpoint,
            requested_model,
            resolution: "direct",
            collection: None,
            started: Instant::now(),
            attempts: Vec::new(),
            trying: None,
            snapshot: None,
            prompt_estimate: 0,
            key_hold: None,
            budget_holds: std::sync::Mutex::default(),
            logged: AtomicBool::new(false),
            capture: None,
        }
    }

    /// Keeps `bytes` of what the client is sent, when the caller captures bodies.
    pub fn capture_response(&self, bytes: &[u8]) {
        if let Some(c) = &self.capture {
            let mut c = c.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            crate::logs::bodies::append(&mut c.response, bytes);
        }
    }

    /// A whole answer came back: the reservation is settled with its real usage and the
    /// call is logged as served.
    pub fn answered(
        &self,
        route: &Route,
        upstream_model: &str,
        reservation: Reservation,
        usage: Usage,
    ) {
        self.state
            .limiter
            .settle(&route.id, reservation, usage.total());
        self.log(Outcome {
            route: Some(route),
            upstream_model: Some(upstream_model),
            status: 200,
            error_code: None,
            ttft: None,
            usage,
            stream: false,
        });
    }

    /// The attempt about to be made holds `holds` against the key's budgets.
    pub fn hold_budgets(&self, holds: Vec<crate::budgets::Hold>) {
        self.settle_budgets(0.0);
        *self
            .budget_holds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = holds;
    }

    /// Settles what the call holds against the key's budgets: `cost` is what it spent
    /// (0 for an attempt that failed before an answer).
    pub fn settle_budgets(&self, cost: f64) {
        let holds = std::mem::take(
            &mut *self
                .budget_holds
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for hold in holds {
            self.state.budgets.settle(hold, cost);
        }
    }

    pub fn log(&self, o: Outcome<'_>) {
        self.logged.store(true, Ordering::Relaxed);
        let Outcome {
            route,
            upstream_model,
            status,
            error_code,
            ttft,
            usage,
            stream,
        } = o;
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        if let Some(hold) = self.key_hold {
            self.state
                .key_limiter
                .settle(&self.caller.key_id, hold, usage.total());
        }
        let cost = match (route, upstream_model) {
            (Some(r), Some(m)) => Some(crate::cost::of(
                self.snapshot
                    .as_ref()
                    .and_then(|s| s.price(&r.provider_key, m)),
                &usage,
            )),
            // Never reached a model: nothing to charge.
            _ => None,
        };
        self.settle_budgets(cost.and_then(|c| c.usd).unwrap_or(0.0));
        self.state.request_log.record(LogRow {
            id: new_ordered_id("req", now),
            request_id: self.meta.request_id.clone(),
            created_at: now,
            user_id: self.caller.user_id.clone(),
            key_id: self.caller.key_id.clone(),
            endpoint: self.endpoint.as_str().to_owned(),
            user_agent: self.meta.user_agent.clone(),
            requested_model: self.requested_model.clone(),
            resolution: self.resolution.to_owned(),
            collection: self.collection.clone(),
            connection_id: route.map(|r| r.id.clone()),
            provider: route.map(|r| r.provider_key.clone()),
            upstream_model: upstream_model.map(str::to_owned),
            status_code: i64::from(status),
            error_code,
            latency_ms: ms(self.started.elapsed()),
            ttft_ms: ttft.map(ms),
            prompt_tokens: usage.prompt,
            completion_tokens: usage.completion,
            cache_read_tokens: usage.cache_read,
            cache_write_tokens: usage.cache_write,
            stream: Flag(stream),
            attempts: serde_json::to_string(&self.attempts).unwrap_or_else(|_| "[]".into()),
            cost_usd: cost.and_then(|c| c.usd),
            cost_basis: cost.map(|c| c.basis.as_str().to_owned()),
            bodies: self.capture.as_ref().map(|c| {
                Box::new(std::mem::take(
                    &mut *c.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
                ))
            }),
        });
    }

    /// The call ends with `err` before any answer: logged, then rendered in the dialect.
    pub fn fail(&self, dialect: &dyn Dialect, err: ApiError, stream: bool) -> Response {
        self.fail_at(dialect, err, None, stream)
    }

    /// As [`Call::fail`], naming the route whose failure it was.
    pub fn fail_at(
        &self,
        dialect: &dyn Dialect,
        err: ApiError,
        route: Option<&Route>,
        stream: bool,
    ) -> Response {
        let response = render(dialect, err);
        let code = response
            .extensions()
            .get::<crate::error::ErrorCode>()
            .map(|c| c.0.to_string());
        self.log(Outcome {
            route,
            upstream_model: None,
            status: response.status().as_u16(),
            error_code: code,
            ttft: None,
            usage: Usage::default(),
            stream,
        });
        with_headers(response, route, self.resolution)
    }

    pub fn attempt(&mut self, route: &Route, outcome: String, status: Option<u16>, latency: i64) {
        self.attempts.push(Attempt {
            connection_id: route.id.clone(),
            provider: route.provider_key.clone(),
            outcome,
            status,
            latency_ms: latency,
        });
    }
}

/// A call dropped before its row was written: the client went away while it waited (a
/// whole answer, or a stream before its first event), and the upstream request was
/// cancelled with it. Its row says so (499), naming the connection that was being tried,
/// so usage and failures do not disappear from the log.
impl Drop for Call {
    fn drop(&mut self) {
        if self.logged.load(Ordering::Relaxed) {
            return;
        }
        let trying = self.trying.take();
        self.log(Outcome {
            route: trying.as_deref(),
            upstream_model: None,
            status: 499,
            error_code: Some(crate::error::codes::CLIENT_CLOSED_REQUEST.into()),
            ttft: None,
            usage: Usage::default(),
            stream: false,
        });
    }
}

/// The explainability headers; the route's values were made once, with the snapshot.
pub fn with_headers(
    mut response: Response,
    route: Option<&Route>,
    resolution: &'static str,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(RESOLUTION, HeaderValue::from_static(resolution));
    if let Some(route) = route {
        if let Some((id, provider)) = &route.header_values {
            headers.insert(CONNECTION, id.clone());
            headers.insert(PROVIDER, provider.clone());
        }
    }
    // The request-log middleware sees that this answer has its row already.
    response.extensions_mut().insert(crate::logs::Logged);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_reads_every_dialect() {
        let openai = json!({"usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 4}}});
        assert_eq!(
            Usage::from_openai(&openai),
            Some(Usage {
                prompt: Some(10),
                completion: Some(5),
                cache_read: Some(4),
                cache_write: None,
                estimated: false,
            })
        );
        let anthropic = json!({"input_tokens": 3, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20, "output_tokens": 7});
        let u = Usage::from_anthropic(&anthropic);
        assert_eq!(
            (u.prompt, u.completion, u.cache_read, u.cache_write),
            (Some(123), Some(7), Some(100), Some(20))
        );
        let responses = json!({"input_tokens": 9, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 1}});
        let u = Usage::from_responses(&responses);
        assert_eq!(
            (u.prompt, u.completion, u.cache_read),
            (Some(9), Some(2), Some(1))
        );
        assert_eq!(u.total(), 11);
        let text = r#"{"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 4}, "extra": [1]}"#;
        assert_eq!(
            Usage::from_openai_text(text),
            Usage::from_openai(&openai).unwrap()
        );
    }
}
