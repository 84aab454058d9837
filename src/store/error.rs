//! Database errors classified by what a retry can do: connection loss and shutdown are
//! UNAVAILABLE, a statement cancelled at its timeout is DEADLINE_EXCEEDED, the rest INTERNAL.

use crate::core::Error;

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

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

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
        // PostgreSQL shut down (admin 57P01, crash 57P02), starting up (57P03), connection
        // exceptions (08xxx), too many connections; SQLite busy.
        for unreachable in [
            "57P01", "57P02", "57P03", "08000", "08001", "08003", "08006", "53300", "5", "517",
        ] {
            let err = db_error(E::Database(Box::new(Coded(unreachable))));
            assert_eq!(err.code(), Code::Unavailable, "{unreachable}");
            assert_eq!(err.reason(), "DATABASE_UNAVAILABLE", "{unreachable}");
        }
        assert_eq!(code("57014"), Code::DeadlineExceeded);
        assert_eq!(code("23505"), Code::Internal);
        // Connection refused or reset, the server gone mid-answer, the pool timing out.
        use std::io::ErrorKind;
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
        ] {
            let io = std::io::Error::new(kind, "i/o");
            let err = db_error(E::Io(io));
            assert_eq!(err.code(), Code::Unavailable, "{kind:?}");
            assert_eq!(err.reason(), "DATABASE_UNAVAILABLE");
        }
        for pool in [E::PoolTimedOut, E::PoolClosed] {
            assert_eq!(db_error(pool).code(), Code::Unavailable);
        }
        // As sea-orm reports a connection that could not be had or was lost.
        for err in [
            sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed),
            sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(
                E::PoolTimedOut,
            ))),
            sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(E::Io(
                std::io::Error::new(ErrorKind::ConnectionReset, "reset"),
            )))),
        ] {
            let err = Error::from(err);
            assert_eq!(err.code(), Code::Unavailable);
            assert_eq!(err.reason(), "DATABASE_UNAVAILABLE");
        }
        assert_eq!(db_error(E::RowNotFound).code(), Code::Internal);
    }
}
