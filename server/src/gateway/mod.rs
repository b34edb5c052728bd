//! The request path every ingress shares: plan → for each candidate: attempt → answer.
//!
//! An ingress (OpenAI chat, OpenAI Responses, Anthropic Messages) parses its request into a
//! [`GatewayRequest`] — the model, whether it streams, its size, its canonical OpenAI form
//! for the adapters, and the client's own body for connections that speak the dialect
//! natively — and gives a [`Dialect`] that renders answers, streams and errors. Here:
//! routing ([`crate::routing::plan`]), then for each candidate the rpm/tpm/daily
//! reservation, the send with same-connection retries ([`attempt`]), fallback to the next
//! candidate on a retryable failure while nothing has reached the client, and the answer
//! ([`answer`], [`native`]), with one request-log row per call.

mod answer;
mod attempt;
mod call;
pub use call::{CONNECTION, PROVIDER, RESOLUTION};
pub mod dialect;
mod estimate;
mod native;

use std::sync::Arc;

use axum::{
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::auth::{AuthError, Principal};
use crate::clock::now_ms;
use crate::error::{codes, ApiError, RequestError, UpstreamError};
use crate::extract::RequestMeta;
use crate::limits::{Ask, OverBudget, Refused};
use crate::providers::{self, ChatReply, NativeApi, NativeReply, ProviderError};
use crate::routing::{self, catalog::Route, Candidate};
use crate::state::AppState;

pub use answer::{splice, with_model};
pub use call::Usage;
pub use dialect::{render, Dialect, StreamEncoder};
pub use estimate::{json_len, request_size, DEFAULT_COMPLETION_ESTIMATE};

use answer::Served;
use attempt::{Outgoing, Reply};
use call::{with_headers, Call, Outcome};

/// The inference endpoints, as the request log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Embeddings,
    Completions,
    Responses,
    Messages,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat/completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Completions => "completions",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
        }
    }
}

/// The client's own body, for connections that speak its dialect natively.
pub struct NativeBody {
    pub api: NativeApi,
    pub bytes: Bytes,
    /// Protocol headers the client sent that the provider should see (`anthropic-beta`…).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl NativeBody {
    /// The body with `model` replaced, every other byte kept.
    pub fn with_model(&self, model: &str) -> Result<Bytes, ProviderError> {
        with_model(&self.bytes, model)
    }
}

/// A request, parsed by its ingress.
pub struct GatewayRequest {
    pub endpoint: Endpoint,
    pub model: String,
    pub stream: bool,
    pub size: routing::RequestSize,
    /// The request in OpenAI's form for the adapters (chat or embeddings), or why it has
    /// none: then only a connection that speaks the client's dialect natively can serve it.
    pub canonical: Result<Value, String>,
    pub native: Option<NativeBody>,
}

/// Routes `request` and answers in `dialect`.
pub async fn serve(
    state: AppState,
    caller: Arc<Principal>,
    meta: RequestMeta,
    request: GatewayRequest,
    dialect: Arc<dyn Dialect>,
) -> Response {
    let GatewayRequest {
        endpoint,
        model,
        stream,
        size,
        mut canonical,
        native,
    } = request;
    let mut call = Call::new(state.clone(), caller.clone(), meta, endpoint, model.clone());
    let snapshot = match state.routing.snapshot().await {
        Ok(s) => s,
        Err(e) => return call.fail(&*dialect, e, stream),
    };
    call.snapshot = Some(snapshot.clone());
    call.prompt_estimate = size.prompt_tokens;
    if let Some(&days) = snapshot.body_capture.get(&caller.user_id) {
        // The client's own bytes where the ingress kept them, else its request as parsed.
        let parsed;
        let request: &[u8] = match (&native, &canonical) {
            (Some(n), _) => &n.bytes,
            (None, Ok(v)) => {
                parsed = serde_json::to_vec(v).unwrap_or_default();
                &parsed
            }
            (None, Err(_)) => &[],
        };
        call.capture = Some(Box::new(crate::logs::bodies::Captured::new(
            request,
            days,
            now_ms(),
        )));
    }
    let ctx = routing::Context {
        limiter: &state.limiter,
        cursors: &state.routing.cursors,
        now_ms: now_ms(),
        request: size,
        dry_run: false,
        cursor: None,
    };
    let routing_span = tracing::info_span!(
        target: crate::telemetry::TARGET,
        "routing",
        langmart.model = %model,
        langmart.resolution = tracing::field::Empty,
        langmart.collection = tracing::field::Empty,
        langmart.candidates = tracing::field::Empty,
        langmart.considered = tracing::field::Empty,
    );
    let planned = routing_span.in_scope(|| routing::plan(&snapshot, &caller.user_id, &model, &ctx));
    let mut plan = match planned {
        Ok(p) => p,
        Err(e) => return call.fail(&*dialect, e.into(), stream),
    };
    if let Some(shared) = shared_round_robin(&state, &plan) {
        // Replicas share one round-robin position: plan again from it.
        let shared = tracing::Instrument::instrument(Box::pin(shared), routing_span.clone());
        if let Ok(at) = shared.await {
            let ctx = routing::Context {
                cursor: Some(at),
                ..ctx
            };
            plan = match routing::plan(&snapshot, &caller.user_id, &model, &ctx) {
                Ok(p) => p,
                Err(e) => return call.fail(&*dialect, e.into(), stream),
            };
        }
    }
    if let Err(e) = narrow_to_key(&mut plan, &caller, &model) {
        return call.fail(&*dialect, e.into(), stream);
    }
    call.resolution = plan.resolution;
    call.collection = plan.collection.as_ref().map(|c| c.reference());
    routing_span.record("langmart.resolution", plan.resolution);
    if let Some(collection) = &call.collection {
        routing_span.record("langmart.collection", collection.as_str());
    }
    routing_span.record("langmart.candidates", plan.candidates.len());
    routing_span.record("langmart.considered", plan.considered.len());
    drop(routing_span);
    if plan.candidates.is_empty() {
        let reasons: Vec<String> = plan
            .considered
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    c.connection_id,
                    c.reason.clone().unwrap_or_default()
                )
            })
            .collect();
        // Nothing but self-hosted connections whose gateways have no agent: the gateway
        // is what is unavailable (503 `GATEWAY3_CONN_001`, as the documents describe).
        let gateways_only = !plan.considered.is_empty()
            && plan
                .considered
                .iter()
                .all(|c| c.reason.as_deref() == Some(routing::GATEWAY_DOWN));
        let error = if gateways_only {
            RequestError::GatewayUnavailable(reasons.join("; "))
        } else {
            RequestError::NoUsableConnection(reasons.join("; "))
        };
        return call.fail(&*dialect, error.into(), stream);
    }
    if let (true, Endpoint::Chat | Endpoint::Responses | Endpoint::Messages, Ok(body)) =
        (stream, endpoint, canonical.as_mut())
    {
        // Usage always: ask for it upstream even when the client did not (the dialect
        // decides whether the client sees it).
        body["stream_options"] = json!({"include_usage": true});
    }
    let estimate = size.prompt_tokens.saturating_add(size.completion_tokens);
    let key_hold = state
        .key_limiter
        .reserve(Ask {
            id: &caller.key_id,
            rpd: None,
            rpm: caller.policy.rpm,
            tpm: caller.policy.tpm,
            tokens: estimate,
            now_ms: now_ms(),
        })
        .await;
    match key_hold {
        Ok(hold) => call.key_hold = Some(hold),
        Err(Refused::Unshared) => {
            return call.fail(
                &*dialect,
                RequestError::SharedStateUnavailable.into(),
                stream,
            )
        }
        Err(Refused::Over(over)) => {
            let message = format!(
                "This API key is over its {} limit ({} a minute); retry in {} s",
                over.kind,
                over.limit,
                over.retry_after.as_secs().max(1)
            );
            return rate_limited(
                &call,
                &over,
                &*dialect,
                codes::KEY_RATE_LIMIT_EXCEEDED,
                &message,
                stream,
            );
        }
    }

    let mut last_error: Option<(Arc<Route>, ProviderError)> = None;
    let mut over_budget: Option<OverBudget> = None;
    let mut over_spend: Option<ApiError> = None;
    for Candidate {
        route,
        upstream_model,
    } in plan.candidates
    {
        let reserved = state
            .limiter
            .reserve(Ask {
                id: &route.id,
                rpd: route.rpd,
                rpm: route.rpm,
                tpm: route.tpm,
                tokens: estimate,
                now_ms: now_ms(),
            })
            .await;
        let reservation = match reserved {
            Ok(r) => r,
            Err(Refused::Unshared) => {
                call.attempt(&route, "shared_state_unavailable".into(), None, 0);
                over_spend = Some(RequestError::SharedStateUnavailable.into());
                continue;
            }
            Err(Refused::Over(over)) => {
                call.attempt(&route, format!("over_{}_budget", over.kind), None, 0);
                if over_budget
                    .as_ref()
                    .is_none_or(|o| over.retry_after < o.retry_after)
                {
                    over_budget = Some(over);
                }
                continue;
            }
        };
        if !caller.budgets.is_empty() || !snapshot.spend_budgets.is_empty() {
            // Boxed: its future (a database read the first time a budget is used) would
            // otherwise make every request's future larger, budget or not.
            let reserving = Box::pin(reserve_spend(
                &state,
                &caller,
                &snapshot,
                &route,
                &upstream_model,
                &size,
            ));
            match reserving.await {
                Ok(holds) => call.hold_budgets(holds),
                Err((outcome, e)) => {
                    state.limiter.settle(&route.id, reservation, 0);
                    call.attempt(&route, outcome.into(), None, 0);
                    over_spend = Some(e);
                    continue;
                }
            }
        }
        let native_here = native.as_ref().filter(|n| {
            providers::speaks_natively(
                route.family,
                &route.provider_key,
                &route.config,
                n.api,
                &upstream_model,
            )
        });
        let outgoing = match (native_here, canonical.as_mut()) {
            (Some(n), _) => Outgoing::Native(n),
            (None, Ok(body)) => {
                body["model"] = Value::String(upstream_model.clone());
                Outgoing::Canonical(body)
            }
            (None, Err(why)) => Outgoing::Untranslatable(why),
        };
        let api = native_here.map(|n| n.api);
        call.trying = Some(route.clone());
        let result = attempt::send_with_retries(
            &state,
            &mut call,
            &route,
            &upstream_model,
            outgoing,
            stream,
        )
        .await;
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                if !matches!(e, ProviderError::Unsupported(_)) {
                    state
                        .connections
                        .report_inference(&route.id, &route.status, Some(&e));
                }
                state.limiter.settle(&route.id, reservation, 0);
                call.settle_budgets(0.0);
                let go_on = attempt::retryable(&e) && route.allow_fallback;
                last_error = Some((route, e));
                if !go_on {
                    break;
                }
                continue;
            }
        };
        state
            .connections
            .report_inference(&route.id, &route.status, None);
        let served = Served {
            call,
            route: route.clone(),
            upstream_model,
            reservation,
            dialect: dialect.clone(),
        };
        let answered = match (reply, api) {
            (Reply::Canonical(ChatReply::Stream(chunks)), _) => {
                answer::canonical_stream(served, chunks).await
            }
            (Reply::Canonical(ChatReply::Whole(value)), _) => {
                Ok(answer::whole(served, value).await)
            }
            (Reply::Canonical(ChatReply::Raw(bytes)), _) if dialect.speaks_openai() => {
                answer::raw(
                    served,
                    bytes,
                    native::usage_reader(NativeApi::OpenAiCompletions),
                )
                .await
            }
            (Reply::Canonical(ChatReply::Raw(bytes)), _) => {
                answer::canonical_bytes(served, bytes).await
            }
            (Reply::Native(NativeReply::Whole(bytes)), Some(api)) => {
                answer::raw(served, bytes, native::usage_reader(api)).await
            }
            (Reply::Native(NativeReply::Stream(events)), Some(api)) => {
                let relay = native::NativeRelay::new(api, &served.call.requested_model);
                answer::stream(served, events, Box::new(relay)).await
            }
            (Reply::Native(_), None) => Err(answer::fall_back(
                served.call,
                ProviderError::Decode("a native answer to a canonical request".into()),
            )),
        };
        match answered {
            Ok(response) => return response,
            Err(failed) => {
                let (returned_call, e) = *failed;
                // The answer failed before anything was sent (a stream without a first
                // event, a body that is not the provider's format): fall back.
                call = returned_call;
                call.settle_budgets(0.0);
                if let Some(last) = call.attempts.last_mut() {
                    last.outcome = attempt::outcome_name(&e);
                    last.status = e.http_status();
                }
                let fallback = route.allow_fallback;
                last_error = Some((route, e));
                if !fallback {
                    break;
                }
            }
        }
    }

    if let (None, Some(err)) = (&last_error, over_spend) {
        // The key's budget left no room: that is what the caller must hear.
        return call.fail(&*dialect, err, stream);
    }
    match (last_error, over_budget) {
        (None, Some(over)) => {
            let message = format!(
                "Every connection for this model is over its {} budget; retry in {} s",
                over.kind,
                over.retry_after.as_secs().max(1)
            );
            rate_limited(
                &call,
                &over,
                &*dialect,
                codes::RATE_LIMIT_EXCEEDED,
                &message,
                stream,
            )
        }
        (Some((route, error)), _) => {
            let summary: Vec<String> = call
                .attempts
                .iter()
                .map(|a| format!("{} {}: {}", a.connection_id, a.provider, a.outcome))
                .collect();
            let err = ApiError::from(UpstreamError {
                provider_key: route.provider_key.clone(),
                error,
                detail: format!(" (attempts: {})", summary.join("; ")),
            });
            call.fail_at(&*dialect, err, Some(&route), stream)
        }
        (None, None) => call.fail(
            &*dialect,
            RequestError::NoUsableConnection("no candidate was tried".into()).into(),
            stream,
        ),
    }
}

/// For a round-robin collection when replicas share state: the shared next position.
fn shared_round_robin(
    state: &AppState,
    plan: &routing::Plan,
) -> Option<impl std::future::Future<Output = Result<u64, crate::cluster::Unavailable>>> {
    let shared = state.shared.clone()?;
    let collection = plan
        .collection
        .as_ref()
        .filter(|c| c.strategy == routing::strategy::Strategy::RoundRobin)?;
    let id = collection.id.clone();
    Some(async move { shared.next_cursor(&id).await })
}

/// Reserves the most this attempt can cost against every budget it falls under: the
/// caller's key (and the keys it was made with), the caller, and — when the route is an
/// organization's connection — the organization and its budget per member. The tightest
/// binds. A model without a price cannot be bounded, so under a budget it is refused.
/// On refusal: the attempt's outcome and the error.
async fn reserve_spend(
    state: &AppState,
    caller: &Principal,
    snapshot: &routing::catalog::Snapshot,
    route: &Route,
    upstream_model: &str,
    size: &routing::RequestSize,
) -> Result<Vec<crate::budgets::Hold>, (&'static str, ApiError)> {
    use crate::budgets::Scope;
    let spend = &snapshot.spend_budgets;
    let mut budgets = caller.budgets.clone();
    if let Some(b) = spend.users.get(&caller.user_id) {
        budgets.push((Scope::User(caller.user_id.clone()), *b));
    }
    if let Some(org) = &route.owner_org_id {
        if let Some(b) = spend.organizations.get(org) {
            budgets.push((Scope::Organization(org.clone()), *b));
        }
        if let Some(b) = spend.members.get(org) {
            budgets.push((Scope::Member(org.clone(), caller.user_id.clone()), *b));
        }
    }
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let Some(price) = snapshot.price(&route.provider_key, upstream_model) else {
        let model = format!("{}/{upstream_model}", route.provider_key);
        return Err((
            "unpriced_under_budget",
            crate::budgets::BudgetError::Unpriced(model).into(),
        ));
    };
    let default_output = caller
        .policy
        .default_max_tokens
        .and_then(|n| u64::try_from(n).ok());
    let most = crate::budgets::Budgets::max_cost(&price, size, default_output);
    state
        .budgets
        .reserve_all(&budgets, most)
        .await
        .map_err(|e| ("over_spend_budget", e))
}

/// The call ends with 429 in the dialect's shape, with `Retry-After` and the
/// `X-RateLimit-*` headers: logged, then answered.
fn rate_limited(
    call: &Call,
    over: &OverBudget,
    dialect: &dyn Dialect,
    code: &str,
    message: &str,
    stream: bool,
) -> Response {
    call.log(Outcome {
        route: None,
        upstream_model: None,
        status: 429,
        error_code: Some(code.to_owned()),
        ttft: None,
        usage: Usage::default(),
        stream,
    });
    let secs = over.retry_after.as_secs().max(1);
    let reset =
        crate::clock::rfc3339(now_ms() + i64::try_from(over.retry_after.as_millis()).unwrap_or(0));
    let body = dialect.error_body(code, message, StatusCode::TOO_MANY_REQUESTS);
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = response.headers_mut();
    for (name, value) in [
        (header::RETRY_AFTER.as_str(), secs.to_string()),
        ("x-ratelimit-limit", over.limit.to_string()),
        ("x-ratelimit-remaining", over.remaining.to_string()),
        ("x-ratelimit-reset", reset),
    ] {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            h.insert(n, v);
        }
    }
    response
        .extensions_mut()
        .insert(crate::error::ErrorCode(code.to_owned().into()));
    with_headers(response, None, call.resolution)
}

/// The plan narrowed to what the caller's key may call (its `models`): everything when
/// the reference it named (after an alias, the alias's target) is allowed, else the routes
/// whose own `provider/model` is; none of them: `MODEL_NOT_ALLOWED`.
fn narrow_to_key(
    plan: &mut routing::Plan,
    caller: &Principal,
    model: &str,
) -> Result<(), AuthError> {
    let named = plan.alias_target.as_deref().unwrap_or(model);
    if caller.policy.allows(named) {
        return Ok(());
    }
    plan.candidates.retain(|c| {
        caller
            .policy
            .allows(&format!("{}/{}", c.route.provider_key, c.upstream_model))
    });
    if plan.candidates.is_empty() {
        return Err(AuthError::ModelNotAllowed(
            model.to_owned(),
            caller.policy.describe_models(),
        ));
    }
    Ok(())
}

/// The first usable candidate for `model` that speaks `api` natively, for calls that only
/// make sense there (token counting), among those the caller's key may call. A dry run:
/// no cursor moves, nothing is reserved.
pub async fn native_candidate(
    state: &AppState,
    caller: &Principal,
    model: &str,
    api: NativeApi,
) -> Result<Option<(Arc<Route>, String)>, ApiError> {
    let snapshot = state.routing.snapshot().await?;
    let ctx = routing::Context {
        limiter: &state.limiter,
        cursors: &state.routing.cursors,
        now_ms: now_ms(),
        request: routing::RequestSize::default(),
        dry_run: true,
        cursor: None,
    };
    let mut plan = routing::plan(&snapshot, &caller.user_id, model, &ctx)?;
    narrow_to_key(&mut plan, caller, model)?;
    Ok(plan
        .candidates
        .into_iter()
        .find(|c| {
            providers::speaks_natively(
                c.route.family,
                &c.route.provider_key,
                &c.route.config,
                api,
                &c.upstream_model,
            )
        })
        .map(|c| (c.route, c.upstream_model)))
}

/// One native request to `route`, outside the fallback loop.
pub async fn send_native(
    state: &AppState,
    route: &Route,
    upstream_model: &str,
    native: &NativeBody,
    stream: bool,
) -> Result<NativeReply, ProviderError> {
    let body = native.with_model(upstream_model)?;
    let upstream = route.upstream(&state.outbound);
    providers::native(
        &state
            .outbound
            .client(route.allow_private, route.timeouts.connect),
        &upstream,
        providers::NativeRequest {
            api: native.api,
            body,
            headers: &native.headers,
            stream,
        },
    )
    .await
}
