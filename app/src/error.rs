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

/// A decoder's message without its "error deserializing server function results:" lead
/// (which names the wrong side) and without the values it quotes.
fn args_message(msg: &str) -> String {
    let msg = msg
        .strip_prefix("error deserializing server function results: ")
        .unwrap_or(msg);
    let mut out = String::with_capacity(msg.len().min(200));
    let mut quoted = false;
    for c in msg.chars().take(200) {
        match c {
            '"' | '`' => {
                quoted = !quoted;
                if quoted {
                    out.push_str("\"…\"");
                }
            }
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    out
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request's arguments could not be read: the caller's fault, a 400. (On
            // the server, `Deserialization` is about the request; the browser's own
            // decoding of an answer never reaches a status.)
            ServerFnErrorErr::Args(msg)
            | ServerFnErrorErr::MissingArg(msg)
            | ServerFnErrorErr::Deserialization(msg) => AppError::new(
                "INVALID_BODY",
                format!("The request could not be read: {}", args_message(&msg)),
                400,
            ),
            ServerFnErrorErr::Registration(msg) => AppError::new("NOT_FOUND", msg, 404),
            ServerFnErrorErr::UnsupportedRequestMethod(msg) => {
                AppError::new("INVALID_BODY", msg, 405)
            }
            // The browser's own words ("TypeError: Failed to fetch") tell a person nothing;
            // they go to the console log, and the page says what happened.
            ServerFnErrorErr::Request(msg) | ServerFnErrorErr::Response(msg) => {
                leptos::logging::warn!("server function call failed: {msg}");
                AppError::new(
                    "NETWORK_ERROR",
                    "Could not reach LangMart: check your network connection and try again.",
                    0,
                )
            }
            other => AppError::new("INTERNAL_ERROR", other.to_string(), 500),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fetch_says_what_happened_not_what_the_browser_said() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Request(
            "TypeError: Failed to fetch".into(),
        ));
        assert_eq!(e.code, "NETWORK_ERROR");
        assert!(!e.message.contains("TypeError"), "{}", e.message);
        assert!(e.message.starts_with("Could not reach LangMart"));
    }
}
