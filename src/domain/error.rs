//! The one error type of the service and its one mapping to a gRPC status.
//!
//! Every status carries exactly one `google.rpc.ErrorInfo` (domain `dashboards.v1`), plus
//! `BadRequest` field violations for invalid input and `PreconditionFailure` violations for
//! etag and state conflicts. Internal and database errors are logged here and never reach
//! the caller as text.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

pub const ERROR_DOMAIN: &str = "dashboards.v1";

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A field that failed validation: `field` is the request path (e.g. `dashboard.title`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input. `violations` name every offending field.
    #[error("{message}")]
    InvalidArgument {
        reason: &'static str,
        message: String,
        violations: Vec<Violation>,
    },

    /// The resource does not exist, or the caller may not see it (the two are indistinguishable).
    #[error("{resource} not found")]
    NotFound { resource: String },

    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
        resource: String,
    },

    /// The caller's etag is stale.
    #[error("etag of {resource} does not match: it was changed by someone else; re-read and retry")]
    EtagMismatch { resource: String },

    /// The resource is in a state that does not allow the call.
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
        resource: String,
    },

    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },

    #[error("{message}")]
    Unauthenticated {
        reason: &'static str,
        message: String,
    },

    #[error("{message}")]
    ResourceExhausted {
        reason: &'static str,
        message: String,
    },

    #[error("{message}")]
    Unimplemented { message: String },

    /// The database cannot be reached. The source is logged, not sent.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A bug or an unexpected database error. The source is logged, not sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// The server is draining after SIGTERM: long streams end with this; retrying on another
    /// replica is the right reaction.
    #[error("the server is shutting down; retry on another replica")]
    ShuttingDown,
}

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let violation = Violation::new(field, description);
        Self::InvalidArgument {
            reason: "INVALID_ARGUMENT",
            message: format!("invalid {}: {}", violation.field, violation.description),
            violations: vec![violation],
        }
    }

    /// Several field violations reported at once.
    pub fn invalid_fields(violations: Vec<Violation>) -> Self {
        let message = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ");
        Self::InvalidArgument {
            reason: "INVALID_ARGUMENT",
            message,
            violations,
        }
    }

    pub fn not_found(resource: impl Into<String>) -> Self {
        Self::NotFound {
            resource: resource.into(),
        }
    }

    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    pub fn unauthenticated(reason: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthenticated {
            reason,
            message: message.into(),
        }
    }

    pub fn failed_precondition(
        reason: &'static str,
        resource: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::FailedPrecondition {
            reason,
            resource: resource.into(),
            message: message.into(),
        }
    }

    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }

    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument { .. } => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::EtagMismatch { .. } => Code::Aborted,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::PermissionDenied { .. } => Code::PermissionDenied,
            Self::Unauthenticated { .. } => Code::Unauthenticated,
            Self::ResourceExhausted { .. } => Code::ResourceExhausted,
            Self::Unimplemented { .. } => Code::Unimplemented,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
            Self::ShuttingDown => Code::Unavailable,
        }
    }

    /// The `ErrorInfo.reason`: UPPER_SNAKE, stable, machine-readable.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument { reason, .. }
            | Self::AlreadyExists { reason, .. }
            | Self::FailedPrecondition { reason, .. }
            | Self::PermissionDenied { reason, .. }
            | Self::Unauthenticated { reason, .. }
            | Self::ResourceExhausted { reason, .. } => reason,
            Self::NotFound { .. } => "NOT_FOUND",
            Self::EtagMismatch { .. } => "ETAG_MISMATCH",
            Self::Unimplemented { .. } => "UNIMPLEMENTED",
            Self::Unavailable(_) => "DATABASE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
            Self::ShuttingDown => "SHUTTING_DOWN",
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(Box::new(err)),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let code = err.code();
        let mut metadata = HashMap::new();
        let mut details = ErrorDetails::new();
        let message = match &err {
            Error::Internal(source) => {
                tracing::error!(error = %source, debug = ?source, "internal error");
                "internal error".to_string()
            }
            Error::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                "the database is unavailable; retry later".to_string()
            }
            other => other.to_string(),
        };
        match &err {
            Error::InvalidArgument { violations, .. } => {
                details.set_bad_request(
                    violations
                        .iter()
                        .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
                        .collect::<Vec<_>>(),
                );
            }
            Error::NotFound { resource } => {
                metadata.insert("resource".to_string(), resource.clone());
            }
            Error::AlreadyExists { resource, .. } => {
                metadata.insert("resource".to_string(), resource.clone());
            }
            Error::EtagMismatch { resource } => {
                metadata.insert("resource".to_string(), resource.clone());
                details.set_precondition_failure(vec![PreconditionViolation::new(
                    "ETAG",
                    resource.clone(),
                    "the etag does not match the current version",
                )]);
            }
            Error::FailedPrecondition {
                reason,
                resource,
                message,
            } => {
                metadata.insert("resource".to_string(), resource.clone());
                details.set_precondition_failure(vec![PreconditionViolation::new(
                    *reason,
                    resource.clone(),
                    message.clone(),
                )]);
            }
            _ => {}
        }
        details.set_error_info(err.reason(), ERROR_DOMAIN, metadata);
        Status::with_error_details(code, message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: &Status) -> tonic_types::ErrorInfo {
        status
            .get_error_details()
            .error_info()
            .cloned()
            .expect("ErrorInfo")
    }

    #[test]
    fn internal_and_unavailable_hide_their_source() {
        let sql = "SELECT * FROM dashboards WHERE secret = 'x'";
        let status = Status::from(Error::internal(sql));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
        assert_eq!(info(&status).reason, "INTERNAL");

        let status = Status::from(Error::from(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout,
        )));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("Timeout"));
        assert_eq!(info(&status).reason, "DATABASE_UNAVAILABLE");
    }

    #[test]
    fn every_error_carries_one_error_info_in_our_domain() {
        let errors = vec![
            Error::invalid("f", "bad"),
            Error::not_found("dashboards/x"),
            Error::EtagMismatch {
                resource: "dashboards/x".into(),
            },
            Error::failed_precondition("LAST_OWNER", "dashboards/x", "keep one owner"),
            Error::permission_denied("MISSING_PERMISSION", "no"),
            Error::unauthenticated("INVALID_TOKEN", "no"),
            Error::ResourceExhausted {
                reason: "TOO_MANY",
                message: "slow down".into(),
            },
            Error::Unimplemented {
                message: "later".into(),
            },
            Error::ShuttingDown,
        ];
        for err in errors {
            let reason = err.reason();
            let code = err.code();
            let status = Status::from(err);
            assert_eq!(status.code(), code);
            let info = info(&status);
            assert_eq!(info.reason, reason);
            assert_eq!(info.domain, ERROR_DOMAIN);
            assert!(
                reason.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{reason}"
            );
        }
        let status = Status::from(Error::EtagMismatch {
            resource: "dashboards/x".into(),
        });
        assert_eq!(status.code(), Code::Aborted);
        assert!(status.get_error_details().precondition_failure().is_some());
    }
}
