//! CORS for gRPC-Web callers from browser pages of other origins (GRPC_WEB_ALLOWED_ORIGINS).

use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::server::BoxError;

/// CORS for gRPC-Web callers from the configured origins (preflights answered here); `None`
/// when no origin is configured, so browsers keep to the same-origin rule.
pub fn grpc_web_cors(origins: &[String]) -> Result<Option<CorsLayer>, BoxError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| {
                http::HeaderValue::from_str(o)
                    .map_err(|_| format!("GRPC_WEB_ALLOWED_ORIGINS: invalid origin {o:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    let header = http::HeaderName::from_static;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([http::Method::POST])
            .allow_headers([
                header("authorization"),
                header("content-type"),
                header("grpc-timeout"),
                header("traceparent"),
                header("tracestate"),
                header("x-grpc-web"),
                header("x-request-id"),
                header("x-user-agent"),
            ])
            .expose_headers([
                header("grpc-status"),
                header("grpc-message"),
                header("grpc-status-details-bin"),
                header("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(86_400)),
    ))
}
