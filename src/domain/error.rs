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

/// How much of a caller's input an error may quote (DESIGN §6: never more than ~100
/// characters, so a C-core client's 8 KiB trailer limit is never reached).
pub const MAX_ECHO_CHARS: usize = 100;

/// Bounds of what one status carries, whatever built it: the message, each field violation,
/// how many violations are listed, and each ErrorInfo metadata value.
const MAX_MESSAGE_CHARS: usize = 400;
const MAX_VIOLATIONS: usize = 20;
const MAX_FIELD_CHARS: usize = 120;
const MAX_DESCRIPTION_CHARS: usize = 300;
const MAX_METADATA_CHARS: usize = 200;

/// A caller's input as an error quotes it: in quotes, at most [`MAX_ECHO_CHARS`] characters,
/// saying how many were left out.
pub fn echo(input: &str) -> String {
    let total = input.chars().count();
    if total <= MAX_ECHO_CHARS {
        return format!("{input:?}");
    }
    let head: String = input.chars().take(MAX_ECHO_CHARS).collect();
    format!("{head:?}... ({} more characters)", total - MAX_ECHO_CHARS)
}

/// `text` cut to at most `max` characters (on a character boundary), marked when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

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

    /// The call's deadline (the client's `grpc-timeout`, capped by `REQUEST_TIMEOUT`) passed,
    /// or the database gave up on a statement at its timeout.
    #[error("{message}")]
    DeadlineExceeded { message: String },

    /// A status produced below the handlers (by the gRPC library), kept with its code.
    #[error("{message}")]
    Other { code: Code, message: String },

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
            Self::DeadlineExceeded { .. } => Code::DeadlineExceeded,
            Self::Other { code, .. } => *code,
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
            Self::DeadlineExceeded { .. } => "DEADLINE_EXCEEDED",
            Self::Other { code, .. } => code_reason(*code),
            Self::Unavailable(_) => "DATABASE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
            Self::ShuttingDown => "SHUTTING_DOWN",
        }
    }
}

/// The UPPER_SNAKE name of a code, as the reason of a status that has no more specific one.
fn code_reason(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

impl Error {
    pub fn deadline_exceeded(timeout: std::time::Duration) -> Self {
        Self::DeadlineExceeded {
            message: format!(
                "the deadline of {} ms expired before the call completed",
                timeout.as_millis()
            ),
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        let kind = match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => DbFailure::Unreachable,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                classify_sqlx(e)
            }
            _ => DbFailure::Other,
        };
        match kind {
            DbFailure::Unreachable => Self::Unavailable(Box::new(err)),
            DbFailure::TimedOut => {
                tracing::warn!(error = %err, "the database cancelled a statement at its timeout");
                Self::DeadlineExceeded {
                    message: "the database did not answer within the call's deadline".into(),
                }
            }
            DbFailure::Other => Self::Internal(Box::new(err)),
        }
    }
}

/// How a database error reaches the caller.
enum DbFailure {
    /// The connection or the server is gone, restarting, or refusing connections: a retry
    /// may succeed (UNAVAILABLE).
    Unreachable,
    /// The statement was cancelled at its timeout (DEADLINE_EXCEEDED).
    TimedOut,
    /// Anything else is a bug or a broken invariant (INTERNAL).
    Other,
}

fn classify_sqlx(err: &sea_orm::sqlx::Error) -> DbFailure {
    use sea_orm::sqlx::Error as E;
    match err {
        E::Io(_)
        | E::Tls(_)
        | E::Protocol(_)
        | E::PoolTimedOut
        | E::PoolClosed
        | E::WorkerCrashed => DbFailure::Unreachable,
        E::Database(db) => match db.code().as_deref() {
            // PostgreSQL: query_canceled (statement_timeout).
            Some("57014") => DbFailure::TimedOut,
            // PostgreSQL: connection exceptions (08xxx), admin/crash shutdown and
            // cannot_connect_now (57P0x), too_many_connections (53300).
            Some(code) if code.starts_with("08") || code.starts_with("57P") || code == "53300" => {
                DbFailure::Unreachable
            }
            // SQLite: SQLITE_BUSY (5) and its extended codes, after busy_timeout.
            Some("5" | "261" | "517" | "773") => DbFailure::Unreachable,
            _ => DbFailure::Other,
        },
        _ => DbFailure::Other,
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
        let mut message = bounded(&message, MAX_MESSAGE_CHARS);
        match &err {
            Error::InvalidArgument { violations, .. } => {
                if violations.len() > MAX_VIOLATIONS {
                    message = format!(
                        "{message} ({} violations; the first {MAX_VIOLATIONS} are listed)",
                        violations.len()
                    );
                }
                details.set_bad_request(
                    violations
                        .iter()
                        .take(MAX_VIOLATIONS)
                        .map(|v| {
                            FieldViolation::new(
                                bounded(&v.field, MAX_FIELD_CHARS),
                                bounded(&v.description, MAX_DESCRIPTION_CHARS),
                            )
                        })
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
                    bounded(resource, MAX_METADATA_CHARS),
                    bounded(message, MAX_DESCRIPTION_CHARS),
                )]);
            }
            _ => {}
        }
        for value in metadata.values_mut() {
            *value = bounded(value, MAX_METADATA_CHARS);
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

    /// A database error with a SQLSTATE (or SQLite result code), as sqlx reports it.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database error {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sea_orm::sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            "database error"
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sea_orm::sqlx::error::ErrorKind {
            sea_orm::sqlx::error::ErrorKind::Other
        }
    }

    fn db_error(err: sea_orm::sqlx::Error) -> Error {
        Error::from(sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(
            std::sync::Arc::new(err),
        )))
    }

    #[test]
    fn database_errors_are_classified_by_what_a_retry_can_do() {
        use sea_orm::sqlx::Error as E;
        let code = |c: &'static str| db_error(E::Database(Box::new(Coded(c)))).code();
        // PostgreSQL stopping, restarting or refusing connections; SQLite busy.
        for unreachable in ["57P01", "57P03", "08006", "53300", "5", "517"] {
            assert_eq!(code(unreachable), Code::Unavailable, "{unreachable}");
        }
        assert_eq!(code("57014"), Code::DeadlineExceeded);
        assert_eq!(code("23505"), Code::Internal);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(db_error(E::Io(io)).code(), Code::Unavailable);
        assert_eq!(db_error(E::PoolTimedOut).code(), Code::Unavailable);
        assert_eq!(db_error(E::RowNotFound).code(), Code::Internal);
        let status = Status::from(db_error(E::Database(Box::new(Coded("57P01")))));
        assert_eq!(info(&status).reason, "DATABASE_UNAVAILABLE");
        assert!(!status.message().contains("57P01"));
    }
}
