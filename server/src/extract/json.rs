//! A JSON body extractor whose failures use our error envelope: malformed JSON, unknown
//! or mistyped fields, a missing content type and oversized bodies all get a 4xx code.

use axum::{
    extract::{
        rejection::{BytesRejection, JsonRejection},
        FromRequest, Request,
    },
    http::StatusCode,
    Json,
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, RequestError};

pub struct ApiJson<T>(pub T);

/// A request body read whole; failing to read it (too large, too slow, cut off) is one of
/// our errors, not axum's plain-text answer. Handlers that answer in another dialect take
/// `Result<RawBody, ApiError>` and render the error themselves.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| body_error(&e).into())
    }
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(classify(rejection).into()),
        }
    }
}

fn classify(rejection: JsonRejection) -> RequestError {
    match rejection {
        JsonRejection::JsonSyntaxError(e) => RequestError::InvalidJson(e.body_text()),
        JsonRejection::JsonDataError(e) => RequestError::InvalidBody(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => RequestError::UnsupportedMediaType,
        JsonRejection::BytesRejection(e) => body_error(&e),
        other => RequestError::InvalidBody(other.body_text()),
    }
}

/// Why a request body could not be read: too large, too slow (the server's body read
/// timeout, see `listen`), or cut off.
pub fn body_error(rejection: &BytesRejection) -> RequestError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return RequestError::TooLarge;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = source {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return RequestError::BodyTimeout;
        }
        source = e.source();
    }
    RequestError::InvalidBody("the request body could not be read".into())
}
