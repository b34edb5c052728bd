//! The HTTP extractors every surface shares: the caller behind a LangMart key, the
//! request's id and client, and a JSON body whose failures use our error envelope.

mod caller;
mod json;

pub use caller::{presented_key, Caller, Manager};
pub use json::{ApiJson, RawBody};

use axum::http::{header::USER_AGENT, request::Parts, HeaderMap};

/// Longest user agent kept in a log row.
const MAX_USER_AGENT: usize = 256;

/// What the request log records about who sent a request: its `x-request-id` (set by the
/// request-id layer, or the client's own) and the client's `User-Agent`.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        RequestMeta {
            request_id: headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            user_agent: headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| truncate(ua, MAX_USER_AGENT).to_owned()),
        }
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta::from_headers(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
