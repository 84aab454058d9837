//! The one error type of the service: a canonical code and a stable reason per variant.
//! `api::status` is its one mapping to a gRPC status; `store::error` classifies database
//! errors into it.

use tonic::Code;

pub const ERROR_DOMAIN: &str = "dashboards.v1";

/// How much of a caller's input an error may quote (DESIGN §6: never more than ~100
/// characters, so a C-core client's 8 KiB trailer limit is never reached).
pub const MAX_ECHO_CHARS: usize = 100;

/// Bounds of what one status carries, whatever built it: the message, each field violation,
/// how many violations are listed, and each ErrorInfo metadata value.
pub const MAX_MESSAGE_CHARS: usize = 400;
pub const MAX_VIOLATIONS: usize = 20;
pub const MAX_FIELD_CHARS: usize = 120;
pub const MAX_DESCRIPTION_CHARS: usize = 300;
pub const MAX_METADATA_CHARS: usize = 200;

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
pub fn bounded(text: &str, max: usize) -> String {
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

    /// The org has not reached the revision the caller asked for with
    /// `x-dashboards-min-revision` within the call's deadline (DESIGN §7).
    #[error(
        "the org is at revision {latest}, not yet at the revision {min} asked for in \
         x-dashboards-min-revision, and did not reach it within the call's deadline; retry \
         later, or check that the revision is one of this org's"
    )]
    RevisionNotReached { min: i64, latest: i64 },

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

    /// A position outside what exists: a watch's start revision that the change log no
    /// longer holds, or has not reached.
    #[error("{message}")]
    OutOfRange {
        reason: &'static str,
        message: String,
    },

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

    /// The database is known to be unreachable (`store::breaker` is open): the call was
    /// refused before it reached the database, or abandoned while it waited on it. Callers
    /// are told to wait `retry_after` (when the next probe is due) before retrying.
    #[error(
        "the database is unreachable: calls fail at once until it answers again; retry after \
         the RetryInfo delay, with backoff"
    )]
    DatabaseDown { retry_after: std::time::Duration },

    /// A bug or an unexpected database error. The source is logged, not sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// The server is draining after SIGTERM: long streams end with this; retrying on another
    /// replica is the right reaction.
    #[error("the server is shutting down; retry on another replica")]
    ShuttingDown,

    /// The server is at its limit of concurrent calls (`MAX_CONCURRENT_CALLS`) and refused
    /// this one at once rather than queue it; `retry_after` is the hint sent as `RetryInfo`.
    #[error(
        "the server is at its limit of concurrent calls; retry after the RetryInfo delay, \
         preferably on another replica"
    )]
    Overloaded { retry_after: std::time::Duration },
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

    /// INVALID_ARGUMENT with its own reason, naming the field.
    pub fn invalid_with_reason(
        reason: &'static str,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let violation = Violation::new(field, description);
        Self::InvalidArgument {
            reason,
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

    /// A write on dashboard `resource` (`dashboards/{id}`) while it is in the trash.
    pub fn dashboard_deleted(resource: impl Into<String>) -> Self {
        Self::failed_precondition(
            "DASHBOARD_DELETED",
            resource,
            "the dashboard is in the trash; undelete it first",
        )
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
            Self::FailedPrecondition { .. } | Self::RevisionNotReached { .. } => {
                Code::FailedPrecondition
            }
            Self::PermissionDenied { .. } => Code::PermissionDenied,
            Self::Unauthenticated { .. } => Code::Unauthenticated,
            Self::ResourceExhausted { .. } => Code::ResourceExhausted,
            Self::Unimplemented { .. } => Code::Unimplemented,
            Self::OutOfRange { .. } => Code::OutOfRange,
            Self::DeadlineExceeded { .. } => Code::DeadlineExceeded,
            Self::Other { code, .. } => *code,
            Self::Unavailable(_) | Self::DatabaseDown { .. } => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
            Self::ShuttingDown => Code::Unavailable,
            Self::Overloaded { .. } => Code::ResourceExhausted,
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
            | Self::ResourceExhausted { reason, .. }
            | Self::OutOfRange { reason, .. } => reason,
            Self::NotFound { .. } => "NOT_FOUND",
            Self::EtagMismatch { .. } => "ETAG_MISMATCH",
            Self::RevisionNotReached { .. } => "REVISION_NOT_REACHED",
            Self::Unimplemented { .. } => "UNIMPLEMENTED",
            Self::DeadlineExceeded { .. } => "DEADLINE_EXCEEDED",
            Self::Other { code, .. } => code_reason(*code),
            Self::Unavailable(_) | Self::DatabaseDown { .. } => "DATABASE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
            Self::ShuttingDown => "SHUTTING_DOWN",
            Self::Overloaded { .. } => "OVERLOADED",
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
