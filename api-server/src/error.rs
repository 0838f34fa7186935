//! The API's one error type: the only place HTTP status codes are chosen.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use katalusis_crds::{FieldError, Problem};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("your role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { message: String, details: Value },
    /// A conflict with its own code (409).
    #[error("{message}")]
    ConflictCode {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A well-formed request that a business rule refuses (422), with its own code.
    #[error("{message}")]
    Rule {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("the workflow graph is not valid")]
    InvalidGraph(Vec<Problem>),
    #[error("too many attempts; try again later")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A service the request depends on (the language model) is off (503),
    /// failed (502) or too slow (504), with its own code.
    #[error("{message}")]
    Dependency {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a 503 asks clients to wait before trying again.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 5;

impl ApiError {
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::ConflictCode { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidBody(_)
            | Self::Validation(_)
            | Self::InvalidGraph(_)
            | Self::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Dependency { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::ConflictCode { code, .. } => code,
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::InvalidBody(_) => "invalid_body",
            Self::Validation(_) => "validation_failed",
            Self::Rule { code, .. } => code,
            Self::InvalidGraph(_) => "invalid_graph",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable(_) => "unavailable",
            Self::Dependency { code, .. } => code,
            Self::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = match self {
            // An unreachable database is an outage, not a bug: 503 with
            // `Retry-After`, wherever in the chain the error arose.
            Self::Internal(e) if crate::db::is_outage(&e) => {
                tracing::warn!(error = format!("{e:#}"), "database unavailable");
                Self::Unavailable(
                    "the database is unavailable; nothing was changed, try again shortly".into(),
                )
            }
            other => other,
        };
        this.respond()
    }
}

impl ApiError {
    fn respond(self) -> Response {
        let status = self.status();
        let (message, details) = match &self {
            Self::Internal(e) => {
                // The cause chain goes to the log only; it may contain SQL or paths.
                tracing::error!(error = format!("{e:#}"), "internal error");
                ("internal server error".to_string(), Value::Null)
            }
            Self::Validation(errs) => (self.to_string(), json!(errs)),
            Self::InvalidGraph(problems) => (self.to_string(), json!({ "problems": problems })),
            Self::Conflict { details, .. }
            | Self::Rule { details, .. }
            | Self::ConflictCode { details, .. } => (self.to_string(), details.clone()),
            _ => (self.to_string(), Value::Null),
        };
        let mut body = json!({"error": {"code": self.code(), "message": message}});
        if !details.is_null() {
            body["error"]["details"] = details;
        }
        let mut resp = (status, axum::Json(body)).into_response();
        let retry_after = match self {
            Self::TooManyRequests {
                retry_after_seconds,
            } => Some(retry_after_seconds.max(1)),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => {
                Self::InvalidBody(clean_serde_message(&e.body_text()))
            }
            JsonRejection::JsonSyntaxError(e) => Self::BadRequest(format!(
                "malformed JSON: {}",
                clean_serde_message(&e.body_text())
            )),
            JsonRejection::MissingJsonContentType(_) => {
                Self::UnsupportedMediaType("expected `Content-Type: application/json`".into())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        // A malformed id cannot name an existing object.
        Self::NotFound
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::BadRequest(format!("invalid query string: {}", r.body_text()))
    }
}

/// axum prefixes serde messages with its own wording; keep serde's precise part.
fn clean_serde_message(s: &str) -> String {
    s.split_once(": ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| s.to_string())
}
