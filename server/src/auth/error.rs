use axum::http::StatusCode;

use crate::error::codes;
use crate::error::Coded;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Invalid API key")]
    InvalidApiKey,
    #[error("Missing API key: send the header Authorization: Bearer sk-langmart-…")]
    MissingApiKey,
    #[error("Invalid Authorization header: the \"Bearer \" prefix is missing (expected Authorization: Bearer sk-langmart-…)")]
    MissingBearerPrefix,
    #[error("Wrong email or password")]
    InvalidCredentials,
    #[error("Too many failed logins; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("The server is busy checking passwords; try again in a moment")]
    Busy,
    #[error("Sign in to continue")]
    NotSignedIn,
    #[error("Only platform administrators may do this")]
    AdminOnly,
    #[error("This console call did not come from this site")]
    CrossSite,
    #[error("This API key has expired")]
    ExpiredApiKey,
    #[error("This API key lacks the '{0}' scope")]
    MissingScope(&'static str),
    #[error("A key made with an API key cannot {0} than the key it is made with")]
    ExceedsParentKey(&'static str),
    #[error("This API key may not call '{0}' (its allowed models: {1})")]
    ModelNotAllowed(String, String),
    #[error(
        "Invalid gateway token: unknown, revoked or replaced (send Authorization: Bearer lmg_…)"
    )]
    InvalidGatewayToken,
}

impl Coded for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidApiKey
            | AuthError::MissingApiKey
            | AuthError::MissingBearerPrefix
            | AuthError::ExpiredApiKey
            | AuthError::InvalidGatewayToken => codes::GATEWAY1_AUTH_001,
            AuthError::MissingScope(_) => codes::INSUFFICIENT_SCOPE,
            AuthError::ExceedsParentKey(_) => codes::KEY_EXCEEDS_PARENT,
            AuthError::ModelNotAllowed(..) => codes::MODEL_NOT_ALLOWED,
            AuthError::InvalidCredentials => codes::AUTH_INVALID_CREDENTIALS,
            AuthError::TooManyAttempts { .. } => codes::AUTH_TOO_MANY_ATTEMPTS,
            AuthError::Busy => codes::AUTH_BUSY,
            AuthError::NotSignedIn => codes::AUTH_REQUIRED,
            AuthError::AdminOnly => codes::ACCESS_DENIED,
            AuthError::CrossSite => codes::CROSS_SITE_REQUEST,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::AdminOnly
            | AuthError::CrossSite
            | AuthError::MissingScope(_)
            | AuthError::ExceedsParentKey(_)
            | AuthError::ModelNotAllowed(..) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
            AuthError::Busy => Some(1),
            _ => None,
        }
    }
}
