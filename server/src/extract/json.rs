//! A JSON body extractor whose failures use our error envelope: malformed JSON, unknown
//! or mistyped fields, a missing content type and oversized bodies all get a 4xx code.

use axum::{
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::StatusCode,
    Json,
};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, RequestError};

pub struct ApiJson<T>(pub T);

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
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            RequestError::TooLarge
        }
        other => RequestError::InvalidBody(other.body_text()),
    }
}
