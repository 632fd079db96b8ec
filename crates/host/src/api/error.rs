//! The one error type of the HTTP edge and its one mapping to responses:
//! RFC 9457 problem documents.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field-level validation error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `channels.debit.cap.amount_minor`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything an API request can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// No or an unknown API key (401).
    Unauthorized,
    /// The key's role may not do this (403).
    Forbidden(String),
    /// No such resource, or not one the caller may see (404).
    NotFound,
    /// The request is malformed: bad JSON syntax (400).
    BadRequest(String),
    /// The body is not `application/json` (415).
    UnsupportedMediaType,
    /// The body is larger than the limit (413).
    PayloadTooLarge,
    /// The method is not allowed on this path (405).
    MethodNotAllowed,
    /// Field-level validation errors (422).
    Validation(Vec<FieldError>),
    /// The idempotency key was used with a different request (422).
    IdempotencyMismatch,
    /// The resource exists already (409).
    Conflict(String),
    /// The stored first response to a repeated idempotent request.
    Replay {
        /// Its status.
        status: u16,
        /// Its JSON body.
        body: String,
    },
    /// A failure of ours: logged, never sent (500).
    Internal(String),
}

impl ApiError {
    /// An internal error from anything displayable.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// A 422 with one field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

/// The problem type URI of a slug.
pub fn problem_type(slug: &str) -> String {
    format!("https://posbridge.invalid/problems/{slug}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title, detail, errors) = match &self {
            Self::Replay { status, body } => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                let mut response = (status, body.clone()).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                return response;
            }
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "a valid API key is required: Authorization: Bearer <key>".to_owned(),
                None,
            ),
            Self::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                detail.clone(),
                None,
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not Found",
                "no such resource".to_owned(),
                None,
            ),
            Self::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad Request",
                detail.clone(),
                None,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported Media Type",
                "the body must be application/json".to_owned(),
                None,
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload Too Large",
                format!("the body exceeds {} bytes", super::REQUEST_BODY_BYTES_MAX),
                None,
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method Not Allowed",
                "this method is not allowed on this resource".to_owned(),
                None,
            ),
            Self::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Validation Failed",
                "the request has invalid fields".to_owned(),
                Some(errors.as_slice()),
            ),
            Self::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency Key Reused",
                "this Idempotency-Key was used with a different request".to_owned(),
                None,
            ),
            Self::Conflict(detail) => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                detail.clone(),
                None,
            ),
            Self::Internal(message) => {
                tracing::error!(error = %message, "internal error in the HTTP API");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal Server Error",
                    "an internal error occurred; it has been logged".to_owned(),
                    None,
                )
            }
        };
        let problem = Problem {
            kind: problem_type(slug),
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        let body = serde_json::to_string(&problem).unwrap_or_else(|_| "{}".to_owned());
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
