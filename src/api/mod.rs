//! Thin tonic handlers: validate -> authorize -> repository -> map. One `*_service.rs` per
//! proto service.

mod audit_service;
pub(crate) mod codec;
mod comment_service;
mod convert;
mod dashboard_service;
mod directory_service;
mod folder_service;
mod label_service;
mod library_widget_service;
mod page_fit;
mod sharing_service;
mod status;
mod version_service;
mod watch;
mod widget_service;

pub use audit_service::AuditApi;
pub use comment_service::CommentApi;
pub use dashboard_service::DashboardApi;
pub use directory_service::DirectoryApi;
pub use folder_service::FolderApi;
pub use label_service::LabelApi;
pub use library_widget_service::LibraryWidgetApi;
pub use sharing_service::SharingApi;
pub use version_service::VersionApi;
pub use widget_service::WidgetApi;

use tonic::Request;

pub(crate) use crate::core::page_token as pagination;

use crate::app::Written;
use crate::core::dashboard::Limits;
use crate::core::{Error, Principal, Result};

/// `page_size`: 0 means the default, above the maximum is coerced to it, negative is invalid.
fn page_size(requested: i32, limits: &Limits) -> Result<usize> {
    match requested {
        n if n < 0 => Err(Error::invalid("page_size", "must not be negative")),
        0 => Ok(limits.default_page_size),
        n => Ok((n as usize).min(limits.max_page_size)),
    }
}

/// `names[i]` as dashboard ids, every malformed one reported at once.
fn parse_dashboard_names(names_field: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(names_field.len());
    let mut violations = Vec::new();
    for (i, name) in names_field.iter().enumerate() {
        match crate::core::names::parse_dashboard_name(&format!("names[{i}]"), name) {
            Ok(id) => ids.push(id),
            Err(Error::InvalidArgument { violations: v, .. }) => violations.extend(v),
            Err(other) => return Err(other),
        }
    }
    if violations.is_empty() {
        Ok(ids)
    } else {
        Err(Error::invalid_fields(violations))
    }
}

/// The caller and the message of a request.
fn split<T>(request: Request<T>) -> Result<(Principal, T)> {
    let caller = principal(&request)?;
    Ok((caller, request.into_inner()))
}

/// The caller, as the authentication layer put it into the request.
fn principal<T>(request: &Request<T>) -> Result<Principal> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            Error::unauthenticated(
                "MISSING_CREDENTIALS",
                "missing `authorization: Bearer <token>`",
            )
        })
}

/// The response metadata that carries the org revision a write committed at (DESIGN §7).
pub const REVISION_HEADER: &str = "x-dashboards-revision";

/// A write's response: its message, and `x-dashboards-revision` when it committed a change.
fn written<T>(written: Written<T>) -> tonic::Response<T> {
    let mut response = tonic::Response::new(written.value);
    if let Some(revision) = written.revision {
        response.metadata_mut().insert(
            REVISION_HEADER,
            tonic::metadata::MetadataValue::from(revision),
        );
    }
    response
}

/// Version messages are short notes, not documents.
const MAX_VERSION_MESSAGE_CHARS: usize = 500;

/// A write's `version_message`, checked.
fn version_message(message: &str) -> Result<&str> {
    if message.chars().count() > MAX_VERSION_MESSAGE_CHARS {
        return Err(Error::invalid(
            "version_message",
            format!("at most {MAX_VERSION_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(message)
}
