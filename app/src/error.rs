//! The error every server function returns: the same code/message/status as the REST
//! envelope, plus the form field it belongs to so the console can show it in place.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
    pub status: u16,
    /// The form field the error is about, when there is one (`email`, `handle`, …).
    pub field: Option<String>,
    /// Seconds to wait before retrying, when the server says so.
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>, status: u16) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            status,
            field: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// The message if it belongs to `field`, for rendering next to that input.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => {
                AppError::new("INVALID_BODY", msg, 400)
            }
            ServerFnErrorErr::Request(msg) => AppError::new(
                "NETWORK_ERROR",
                format!("Could not reach the server: {msg}"),
                0,
            ),
            other => AppError::new("INTERNAL_ERROR", other.to_string(), 500),
        }
    }
}
