//! The one mapping of `core::Error` to a gRPC status.
//!
//! Every status carries exactly one `google.rpc.ErrorInfo` (domain `dashboards.v1`), plus
//! `BadRequest` field violations for invalid input and `PreconditionFailure` violations for
//! etag and state conflicts. Internal and database errors are logged here and never reach
//! the caller as text; every text is bounded.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use crate::core::Error;
use crate::core::error::{
    ERROR_DOMAIN, MAX_DESCRIPTION_CHARS, MAX_FIELD_CHARS, MAX_MESSAGE_CHARS, MAX_METADATA_CHARS,
    MAX_VIOLATIONS, bounded,
};

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
            Error::DatabaseDown { retry_after } => {
                details.set_retry_info(Some(*retry_after));
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
            Error::RevisionNotReached { min, latest } => {
                metadata.insert("min_revision".to_string(), min.to_string());
                metadata.insert("latest_revision".to_string(), latest.to_string());
                details.set_precondition_failure(vec![PreconditionViolation::new(
                    "REVISION",
                    "x-dashboards-min-revision",
                    format!("revision {min} asked for, {latest} reached"),
                )]);
            }
            Error::Overloaded { retry_after } => {
                details.set_retry_info(Some(*retry_after));
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
    use tonic::Code;

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
    fn an_open_breaker_says_when_to_retry() {
        let status = Status::from(Error::DatabaseDown {
            retry_after: std::time::Duration::from_secs(1),
        });
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(info(&status).reason, "DATABASE_UNAVAILABLE");
        assert!(status.message().contains("retry after"), "{status:?}");
        let retry = status.get_error_details().retry_info().cloned();
        assert_eq!(
            retry.and_then(|r| r.retry_delay),
            Some(std::time::Duration::from_secs(1))
        );
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
            Error::RevisionNotReached { min: 9, latest: 7 },
            Error::Overloaded {
                retry_after: std::time::Duration::from_millis(100),
            },
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

    #[test]
    fn overloaded_is_resource_exhausted_with_a_retry_delay() {
        let status = Status::from(Error::Overloaded {
            retry_after: std::time::Duration::from_millis(120),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(info(&status).reason, "OVERLOADED");
        let retry = status.get_error_details().retry_info().cloned();
        assert_eq!(
            retry.and_then(|r| r.retry_delay),
            Some(std::time::Duration::from_millis(120))
        );
    }
}
