//! What the gateway asks of an ingress: how to write errors, whole answers and streams in
//! the dialect its client speaks. The gateway itself works on OpenAI-format answers (the
//! canonical form every adapter returns) or passes a native answer through untouched.

use axum::{
    body::Body,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::error::ApiError;

/// A client dialect: OpenAI chat, OpenAI Responses, Anthropic Messages. One value per
/// request, so a dialect can carry what the request said (Responses echo their settings).
pub trait Dialect: Send + Sync {
    /// An error body with our stable code, in this dialect's error shape.
    fn error_body(&self, code: &str, message: &str, status: StatusCode) -> Value;

    /// The status this dialect's clients expect for a gateway status (`None`: as it is).
    /// Anthropic clients know 529 (overloaded); OpenAI clients retry a 503 instead.
    fn status_for(&self, _upstream_status: Option<u16>, status: StatusCode) -> StatusCode {
        status
    }

    /// Whether OpenAI chat answers reach the client as they are (only `model` replaced).
    fn speaks_openai(&self) -> bool {
        false
    }

    /// A whole OpenAI-format answer (`model` already the name the caller sent), rendered.
    fn whole(&self, answer: Value) -> Value;

    /// A fresh encoder for one streamed answer.
    fn encoder(&self, requested_model: &str) -> Box<dyn StreamEncoder>;

    /// Whether [`Dialect::answered`] wants the answer (parsing a native one costs a little).
    fn keeps_answers(&self) -> bool {
        false
    }

    /// The answer as the client received it, once it is complete (whole or streamed):
    /// the Responses API keeps it when the request said `store`. Awaited before the
    /// client sees the end of the answer, so a follow-up request finds it.
    fn answered(&self, _answer: Value) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// Writes one streamed answer's OpenAI chunks as this dialect's server-sent events.
pub trait StreamEncoder: Send {
    fn chunk(&mut self, chunk: Value) -> Option<Bytes>;
    /// After the last chunk.
    fn end(&mut self) -> Bytes;
    /// A failure after the stream started: too late for a status code.
    fn error(&mut self, code: &str, message: &str, status: StatusCode) -> Bytes;
    /// The whole answer the events added up to, for dialects that keep answers.
    fn final_answer(&mut self) -> Option<Value> {
        None
    }
}

/// An error response in the dialect, keeping the status, `Retry-After` and the cause the
/// logging middleware records.
pub fn render(dialect: &dyn Dialect, err: ApiError) -> Response {
    let status = dialect.status_for(err.upstream_status(), err.status());
    let body = dialect.error_body(&err.code(), &err.public_message(), status);
    let mut response = err.into_response();
    *response.status_mut() = status;
    *response.body_mut() = Body::from(body.to_string());
    response
}
