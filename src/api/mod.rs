//! Thin tonic handlers: validate -> authorize -> repository -> map. One `*_service.rs` per
//! proto service.

mod convert;
mod dashboard_service;
mod pagination;
mod widget_service;

pub use dashboard_service::DashboardApi;
pub use widget_service::WidgetApi;

use tonic::Request;

use crate::domain::{Error, Principal, Result};

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
