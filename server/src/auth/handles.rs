//! Handle rules. A handle names a user or an organization in model strings such as
//! `acme/openai/gpt-4o`, so it must never be confused with the other first segments the
//! router understands.

use axum::http::StatusCode;

use crate::error::codes;
use crate::error::Coded;

/// Words a handle may not be: the seeded provider keys and the router's own keywords.
pub const RESERVED_HANDLES: &[&str] = &[
    // router keywords and top-level paths
    "collection",
    "auto",
    "api",
    "v1",
    "admin",
    "health",
    "login",
    "signup",
    "settings",
    // provider keys seeded in the catalogue
    "openai",
    "anthropic",
    "google",
    "gemini",
    "bedrock",
    "azure-openai",
    "azure",
    "cohere",
    "groq",
    "mistral",
    "deepseek",
    "openrouter",
    "together",
    "xai",
    "ollama",
    "custom",
];

pub const MIN_HANDLE_LEN: usize = 3;
pub const MAX_HANDLE_LEN: usize = 39;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandleError {
    #[error("Handle must be {MIN_HANDLE_LEN}–{MAX_HANDLE_LEN} characters")]
    Length,
    #[error("Handle may contain only lowercase letters a-z, digits and dashes, and may not start or end with a dash")]
    Characters,
    #[error("Handle \"{0}\" is reserved")]
    Reserved(String),
    #[error("Handle \"{0}\" is already taken")]
    Taken(String),
}

impl Coded for HandleError {
    fn code(&self) -> &'static str {
        match self {
            HandleError::Length | HandleError::Characters => codes::INVALID_HANDLE,
            HandleError::Reserved(_) => codes::RESERVED_HANDLE,
            HandleError::Taken(_) => codes::HANDLE_TAKEN,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            HandleError::Taken(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn field(&self) -> Option<&'static str> {
        Some("handle")
    }
}

/// Trims and checks a handle; returns it in its stored form.
pub fn normalize_handle(input: &str) -> Result<String, HandleError> {
    let handle = input.trim();
    if RESERVED_HANDLES.contains(&handle) {
        return Err(HandleError::Reserved(handle.to_owned()));
    }
    if handle.len() < MIN_HANDLE_LEN || handle.len() > MAX_HANDLE_LEN {
        return Err(HandleError::Length);
    }
    let allowed = handle
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !allowed || handle.starts_with('-') || handle.ends_with('-') {
        return Err(HandleError::Characters);
    }
    Ok(handle.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lowercase_digits_and_dashes() {
        assert_eq!(normalize_handle(" ada-99 "), Ok("ada-99".to_owned()));
        assert_eq!(normalize_handle("abc"), Ok("abc".to_owned()));
        assert!(normalize_handle(&"a".repeat(39)).is_ok());
    }

    #[test]
    fn rejects_bad_lengths_and_characters() {
        assert_eq!(normalize_handle("ab"), Err(HandleError::Length));
        assert_eq!(normalize_handle(&"a".repeat(40)), Err(HandleError::Length));
        assert_eq!(normalize_handle("Ada"), Err(HandleError::Characters));
        assert_eq!(normalize_handle("a_b"), Err(HandleError::Characters));
        assert_eq!(normalize_handle("-ab"), Err(HandleError::Characters));
        assert_eq!(normalize_handle("ab-"), Err(HandleError::Characters));
        assert_eq!(normalize_handle("äbc"), Err(HandleError::Characters));
    }

    #[test]
    fn rejects_provider_keys_and_keywords() {
        for word in [
            "openai",
            "collection",
            "auto",
            "api",
            "v1",
            "azure-openai",
            "custom",
        ] {
            assert_eq!(
                normalize_handle(word),
                Err(HandleError::Reserved(word.into()))
            );
        }
    }
}
