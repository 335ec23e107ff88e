//! One error type for the REST API and its one mapping to responses. Internal errors are
//! logged here and reach the client only as `internal`.

use crate::conversations::ChatError;
use crate::tickets::TicketError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use switchboard_shared::ErrorCode;
use switchboard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no bearer token, or one that is unknown, expired or revoked.
    #[error("authentication required")]
    Unauthorized,
    /// 401: wrong e-mail or password (one answer for both).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 403: authenticated, but the role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// 404: no such resource, or not yours (one answer for both).
    #[error("not found")]
    NotFound,
    /// 409: e.g. an e-mail already taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 413: the request body is larger than [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES),
    /// told from its `Content-Length` before it is read, or while reading a chunked one.
    #[error("the request body is larger than {} bytes", super::MAX_BODY_BYTES)]
    TooLarge,
    /// 429: too many attempts; `retry_after` seconds until the next one may pass.
    #[error("too many attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// 422: a field is invalid.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// 500: logged, never detailed to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Invalid(what) => ApiError::Invalid(what),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Refused(ErrorCode::InvalidToken) => ApiError::Unauthorized,
            ChatError::Refused(ErrorCode::UnknownConversation | ErrorCode::UnknownAgent) => {
                ApiError::NotFound
            }
            ChatError::Refused(code) => ApiError::Invalid(code.describe().to_string()),
            ChatError::Store(s) => s.into(),
            ChatError::Auth(a) => ApiError::Internal(a.into()),
        }
    }
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        match e {
            TicketError::NotFound => ApiError::NotFound,
            TicketError::Invalid(why) => ApiError::Invalid(why),
            TicketError::Conflict(why) => ApiError::Conflict(why),
            TicketError::Store(s) => s.into(),
            TicketError::Chat(c) => c.into(),
        }
    }
}

impl From<crate::reports::range::RangeError> for ApiError {
    fn from(e: crate::reports::range::RangeError) -> Self {
        ApiError::Invalid(e.to_string())
    }
}

impl From<crate::reports::csv::CsvError> for ApiError {
    fn from(e: crate::reports::csv::CsvError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error in the API");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        let mut response = (
            status,
            Json(json!({ "error": { "code": code, "message": message } })),
        )
            .into_response();
        if let ApiError::TooManyAttempts { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        response
    }
}
