//! The bottom layer: plain types shared by every layer (the caller, the dashboard and its
//! widgets, resource names, limits, the list filter language, the error type) and
//! [`authz`], the access rules. Imports no other module of the crate.

pub mod authz;
pub mod comment;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod event;
pub mod event_filter;
pub mod filter;
pub mod folder;
pub mod label;
pub mod library_widget;
pub mod mask;
pub mod names;
pub mod page_token;
pub mod principal;
pub mod version;
pub mod widget;

pub use error::{Error, Result, Violation};
pub use principal::{PlatformRole, Principal};

/// Microseconds since the Unix epoch: the one time unit stored and compared.
pub type Micros = i64;

pub fn now_micros() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

/// A new server-assigned id (UUIDv7: time-ordered, so ids sort by creation).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// An etag sent by the caller must be the current one; none sent means "whatever is
/// current".
pub fn check_etag(given: &str, current: &str, resource: &str) -> Result<()> {
    if !given.is_empty() && given != current {
        return Err(Error::EtagMismatch {
            resource: resource.to_string(),
        });
    }
    Ok(())
}
