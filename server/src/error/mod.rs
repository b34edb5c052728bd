//! The one API error. Each domain has its own `thiserror` enum; all of them implement
//! [`Coded`] and convert into [`ApiError`], which renders the single JSON envelope
//! `{"error":{"code","message","type","status"}}` used by every surface. Every code comes
//! from the catalogue in [`codes`].

pub mod codes;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use std::borrow::Cow;

use crate::auth::{AccountError, AuthError, HandleError};
use crate::catalog::CatalogError;
use crate::db::StoreError;
use crate::orgs::OrgError;
use crate::providers::ProviderError;
use crate::routing::RoutingError;

/// What every domain error knows about itself.
pub trait Coded {
    /// Stable, documented code (README table).
    fn code(&self) -> &'static str;
    fn status(&self) -> StatusCode;
    /// The form field the error is about, if any.
    fn field(&self) -> Option<&'static str> {
        None
    }
    /// Seconds the client should wait before retrying (sets `Retry-After`).
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

/// A parser's message without the values it quotes: serde says `invalid type: string
/// "…", expected i64`, and that string may be a key or a password sent in the wrong
/// field. Long quoted variants (`unknown variant `…``) go too; short ones, which name what
/// was meant, stay.
pub fn without_values(message: &str) -> String {
    const MAX_VARIANT_CHARS: usize = 20;
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let string_at = rest.find(": string \"").map(|i| (i, ": string \"", '"'));
        let variant_at = rest.find("variant `").map(|i| (i, "variant `", '`'));
        let next = match (string_at, variant_at) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((at, opener, close)) = next else {
            out.push_str(rest);
            return out;
        };
        let value_from = at + opener.len();
        out.push_str(&rest[..value_from]);
        // The quoted value ends at the first closing quote not escaped by a backslash.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest[value_from..].char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                c if c == close && !escaped => {
                    end = Some(value_from + i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            out.push('…');
            return out;
        };
        let value = &rest[value_from..end];
        if close == '`' && value.chars().count() <= MAX_VARIANT_CHARS {
            out.push_str(value);
        } else {
            out.push('…');
        }
        out.push(close);
        rest = &rest[end + close.len_utf8()..];
    }
}

/// Problems with the HTTP request itself, found before any business rule runs.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("Malformed JSON: {}", without_values(.0))]
    InvalidJson(String),
    #[error("Invalid request body: {}", without_values(.0))]
    InvalidBody(String),
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("No usable connection for this model: {0}")]
    NoUsableConnection(String),
    /// Every connection that could serve is self-hosted, and no agent of its gateway is
    /// connected.
    #[error("Gateway temporarily unavailable: {0}")]
    GatewayUnavailable(String),
    /// Redis, where replicas share limits and budgets, does not answer and
    /// `--redis-failure closed` says to refuse rather than count alone.
    #[error("Shared limits are unavailable (Redis does not answer); retry in a moment")]
    SharedStateUnavailable,
    #[error("Request body is too large")]
    TooLarge,
    #[error("The request body stopped arriving before it was complete")]
    BodyTimeout,
    #[error("LangMart is at its limit of requests in progress; retry in a moment")]
    Overloaded,
    #[error("Expected a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("No route for {0}")]
    RouteNotFound(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("The model '{0}' does not exist or you do not have access to it")]
    ModelNotListed(String),
    #[error("Response with id '{0}' not found")]
    ResponseNotFound(String),
    #[error("Previous response with id '{0}' not found (stored responses are kept per user for the retention period)")]
    PreviousResponseNotFound(String),
    #[error("This request came from this LangMart instance itself: a connection points back at LangMart")]
    Loop,
}

impl Coded for RequestError {
    fn code(&self) -> &'static str {
        match self {
            RequestError::InvalidJson(_) => codes::INVALID_JSON,
            RequestError::InvalidBody(_) => codes::INVALID_BODY,
            RequestError::InvalidField { .. } => codes::INVALID_FIELD,
            RequestError::TooLarge => codes::PAYLOAD_TOO_LARGE,
            RequestError::BodyTimeout => codes::REQUEST_TIMEOUT,
            RequestError::Overloaded => codes::OVERLOADED,
            RequestError::NoUsableConnection(_) => codes::NO_AVAILABLE_CONNECTION,
            RequestError::GatewayUnavailable(_) => codes::GATEWAY3_CONN_001,
            RequestError::SharedStateUnavailable => codes::SHARED_STATE_UNAVAILABLE,
            RequestError::UnsupportedMediaType => codes::UNSUPPORTED_MEDIA_TYPE,
            RequestError::RouteNotFound(_) => codes::ROUTE_NOT_FOUND,
            RequestError::NotFound(_) => codes::NOT_FOUND,
            RequestError::ModelNotListed(_) => codes::MODEL_NOT_FOUND,
            RequestError::ResponseNotFound(_) => codes::RESPONSE_NOT_FOUND,
            RequestError::PreviousResponseNotFound(_) => codes::PREVIOUS_RESPONSE_NOT_FOUND,
            RequestError::Loop => codes::LOOP_DETECTED,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            RequestError::InvalidJson(_)
            | RequestError::InvalidBody(_)
            | RequestError::InvalidField { .. }
            | RequestError::PreviousResponseNotFound(_) => StatusCode::BAD_REQUEST,
            RequestError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            RequestError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            RequestError::NoUsableConnection(_)
            | RequestError::GatewayUnavailable(_)
            | RequestError::SharedStateUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            RequestError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::RouteNotFound(_)
            | RequestError::NotFound(_)
            | RequestError::ModelNotListed(_)
            | RequestError::ResponseNotFound(_) => StatusCode::NOT_FOUND,
            RequestError::Loop => StatusCode::LOOP_DETECTED,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            RequestError::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        matches!(
            self,
            RequestError::Overloaded | RequestError::SharedStateUnavailable
        )
        .then_some(1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Handle(#[from] HandleError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error(transparent)]
    Collection(#[from] crate::collections::CollectionError),
    #[error(transparent)]
    Alias(#[from] crate::aliases::AliasError),
    #[error(transparent)]
    Budget(#[from] crate::budgets::BudgetError),
    #[error(transparent)]
    Gateway(#[from] crate::gateways::GatewayError),
}

/// A provider call that failed, named after the provider: `PROVIDER_OPENAI_401`, …
#[derive(Debug, thiserror::Error)]
#[error("{error}{detail}")]
pub struct UpstreamError {
    pub provider_key: String,
    pub error: ProviderError,
    /// Extra context for the message, such as the attempts made.
    pub detail: String,
}

impl UpstreamError {
    fn code(&self) -> Cow<'static, str> {
        let key = &self.provider_key;
        match &self.error {
            // The request came back to this instance: a connection points at LangMart.
            ProviderError::Http { status: 508, .. } => Cow::Borrowed(codes::LOOP_DETECTED),
            ProviderError::Http { status, .. } => {
                Cow::Owned(codes::provider(key, &status.to_string()))
            }
            ProviderError::Refused(_) => Cow::Borrowed(codes::ENDPOINT_NOT_ALLOWED),
            ProviderError::Timeout(_) => Cow::Borrowed(codes::GATEWAY_TIMEOUT_001),
            ProviderError::Unreachable(_) => Cow::Owned(codes::provider(key, "UNREACHABLE")),
            ProviderError::Decode(_) => Cow::Owned(codes::provider(key, "BAD_RESPONSE")),
            ProviderError::TooLarge(_) => Cow::Owned(codes::provider(key, "TOO_LARGE")),
            ProviderError::Config(_) => Cow::Borrowed(codes::CONNECTION_MISCONFIGURED),
            ProviderError::Unsupported(_) => Cow::Owned(codes::provider(key, "UNSUPPORTED")),
            ProviderError::Blocked(_) => Cow::Owned(codes::provider(key, "CONTENT_BLOCKED")),
            ProviderError::GatewayDown(_) => Cow::Borrowed(codes::GATEWAY3_CONN_001),
        }
    }

    fn status(&self) -> StatusCode {
        match &self.error {
            ProviderError::Http { status, .. }
                if matches!(status, 400 | 401 | 403 | 404 | 429 | 508) =>
            {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ProviderError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ProviderError::GatewayDown(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProviderError::Config(_)
            | ProviderError::Unsupported(_)
            | ProviderError::Blocked(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match &self.error {
            ProviderError::Http {
                status: 429,
                retry_after_secs,
                ..
            } => Some(retry_after_secs.unwrap_or(60)),
            _ => None,
        }
    }
}

impl ApiError {
    fn inner(&self) -> Option<&dyn Coded> {
        Some(match self {
            ApiError::Auth(e) => e,
            ApiError::Account(e) => e,
            ApiError::Handle(e) => e,
            ApiError::Org(e) => e,
            ApiError::Request(e) => e,
            ApiError::Store(e) => e,
            ApiError::Catalog(e) => e,
            ApiError::Routing(e) => e,
            ApiError::Collection(e) => e,
            ApiError::Alias(e) => e,
            ApiError::Budget(e) => e,
            ApiError::Gateway(e) => e,
            ApiError::Upstream(_) => return None,
        })
    }

    pub fn code(&self) -> Cow<'static, str> {
        match (self, self.inner()) {
            (ApiError::Upstream(e), _) => e.code(),
            (_, Some(inner)) => Cow::Borrowed(inner.code()),
            (_, None) => Cow::Borrowed(codes::INTERNAL_ERROR),
        }
    }

    pub fn status(&self) -> StatusCode {
        match (self, self.inner()) {
            (ApiError::Upstream(e), _) => e.status(),
            (_, Some(inner)) => inner.status(),
            (_, None) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        self.inner().and_then(Coded::field)
    }

    /// The provider's own HTTP status, when the error is a provider's answer.
    pub fn upstream_status(&self) -> Option<u16> {
        match self {
            ApiError::Upstream(e) => e.error.http_status(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Upstream(e) => e.retry_after(),
            other => other.inner().and_then(Coded::retry_after),
        }
    }

    /// The `type` of the envelope, the family OpenAI-style clients switch on.
    pub fn error_type(&self) -> &'static str {
        error_type_for(self.status())
    }

    /// What the caller is told. Internal failures are described in the log, not the body.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Store(StoreError::Unavailable(_)) => {
                "Gateway temporarily unavailable".to_owned()
            }
            ApiError::Store(_) | ApiError::Catalog(CatalogError::Sealed(_)) => {
                "Internal error".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The envelope every `/api` error answers with (the OpenAPI document's `ErrorBody`).
    pub fn envelope(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().into_owned(),
                message: self.public_message(),
                r#type: self.error_type(),
                status: self.status().as_u16(),
            },
        }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(self.envelope()).unwrap_or_default()
    }
}

/// What every error answer of `/api` carries (`/v1` answers in the caller's protocol:
/// OpenAI's envelope is this one; Anthropic's has `"type": "error"` around it).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable: see the error catalogue in the README.
    #[schema(example = "INVALID_FIELD")]
    pub code: String,
    pub message: String,
    /// The family OpenAI-style clients switch on (`invalid_request_error`, …).
    #[schema(example = "invalid_request_error")]
    pub r#type: &'static str,
    pub status: u16,
}

pub fn error_type_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 404 | 405 | 408 | 409 | 413 | 415 | 422 => match status.as_u16() {
            404 => "not_found_error",
            409 => "conflict_error",
            _ => "invalid_request_error",
        },
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        _ => "api_error",
    }
}

/// Carried on a 5xx response so the logging middleware can record the cause once.
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

/// Carried on every error response: the stable code, for the request log.
#[derive(Clone, Debug)]
pub struct ErrorCode(pub Cow<'static, str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.envelope())).into_response();
        response.extensions_mut().insert(ErrorCode(self.code()));
        if let Some(secs) = self.retry_after() {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if status.is_server_error() {
            response
                .extensions_mut()
                .insert(ErrorCause(format!("{self:?}")));
        }
        response
    }
}

impl From<ApiError> for app::error::AppError {
    fn from(err: ApiError) -> Self {
        if err.status().is_server_error() {
            tracing::error!(code = %err.code(), cause = ?err, "console request failed");
        }
        let mut out =
            app::error::AppError::new(&err.code(), err.public_message(), err.status().as_u16());
        out.field = err.field().map(str::to_owned);
        out.retry_after = err.retry_after();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_lose_the_values_they_quote() {
        assert_eq!(
            without_values(
                r#"timeout_ms: invalid type: string "sk-secret \"x\" y", expected i64 at line 1"#
            ),
            r#"timeout_ms: invalid type: string "…", expected i64 at line 1"#
        );
        assert_eq!(
            without_values("messages[0].role: unknown variant `system`, expected `user`"),
            "messages[0].role: unknown variant `system`, expected `user`"
        );
        assert_eq!(
            without_values(
                "role: unknown variant `sk-CANARY-prov-3c1b9e7d5a2f4680`, expected one of"
            ),
            "role: unknown variant `…`, expected one of"
        );
        assert_eq!(
            without_values(r#"x: string "unterminated"#),
            r#"x: string "…"#
        );
        assert_eq!(
            without_values("missing field `model`"),
            "missing field `model`"
        );
    }

    #[test]
    fn envelope_has_code_message_type_and_status() {
        let err = ApiError::from(AuthError::InvalidApiKey);
        let body = err.body();
        assert_eq!(body["error"]["code"], "GATEWAY1_AUTH_001");
        assert_eq!(body["error"]["message"], "Invalid API key");
        assert_eq!(body["error"]["type"], "authentication_error");
        assert_eq!(body["error"]["status"], 401);
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let err = ApiError::from(StoreError::Internal("disk full at /secret/path".into()));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.body()["error"]["message"], "Internal error");
    }
}
