//! The catalogue behind routing: providers (admin-managed), connections with their sealed
//! credentials, models, health and audit trail.

pub mod connections;
mod credentials;
pub mod health;
pub mod insights;
pub mod providers;
mod relayed;

pub use connections::Connections;
pub use credentials::Credentials;

use axum::http::StatusCode;

use crate::error::codes;
use crate::error::Coded;

/// Who is acting: from an API key or a console session.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub is_admin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("Unknown provider '{0}'")]
    UnknownProvider(String),
    #[error("Provider '{0}' is disabled")]
    ProviderDisabled(String),
    #[error("Provider '{0}' already exists")]
    ProviderExists(String),
    #[error("Provider {0} not found")]
    ProviderNotFound(String),
    #[error("Missing required field '{0}'")]
    MissingField(String),
    #[error("Unknown field '{0}' for this provider")]
    UnknownField(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("Connection {0} not found")]
    ConnectionNotFound(String),
    #[error("You may use this connection but not change it")]
    NotEditable,
    #[error("Only platform administrators may do this")]
    AdminOnly,
    #[error("Model '{0}' already exists on this connection")]
    DuplicateModel(String),
    #[error("Stored credentials could not be opened: {0}")]
    Sealed(String),
    #[error("This was tested a moment ago; try again in {retry_after_secs} seconds")]
    TestTooSoon { retry_after_secs: u64 },
}

impl Coded for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::UnknownProvider(_) => codes::UNKNOWN_PROVIDER,
            CatalogError::ProviderDisabled(_) => codes::PROVIDER_DISABLED,
            CatalogError::ProviderExists(_) => codes::PROVIDER_EXISTS,
            CatalogError::ProviderNotFound(_) => codes::PROVIDER_NOT_FOUND,
            CatalogError::MissingField(_) => codes::MISSING_FIELD,
            CatalogError::UnknownField(_) => codes::UNKNOWN_FIELD,
            CatalogError::Invalid { .. } => codes::INVALID_FIELD,
            CatalogError::ConnectionNotFound(_) => codes::CONNECTION_NOT_FOUND,
            CatalogError::NotEditable | CatalogError::AdminOnly => codes::ACCESS_DENIED,
            CatalogError::DuplicateModel(_) => codes::DUPLICATE_MODEL,
            CatalogError::Sealed(_) => codes::INTERNAL_ERROR,
            CatalogError::TestTooSoon { .. } => codes::TEST_TOO_SOON,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            CatalogError::ProviderNotFound(_) | CatalogError::ConnectionNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            CatalogError::NotEditable | CatalogError::AdminOnly => StatusCode::FORBIDDEN,
            CatalogError::ProviderExists(_) | CatalogError::DuplicateModel(_) => {
                StatusCode::CONFLICT
            }
            CatalogError::Sealed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            CatalogError::TestTooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            CatalogError::TestTooSoon { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            CatalogError::UnknownProvider(_) | CatalogError::ProviderDisabled(_) => {
                Some("provider")
            }
            CatalogError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
