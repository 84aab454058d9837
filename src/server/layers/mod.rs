//! Tower layers of our own in front of every service: gRPC-Web CORS, the call deadline, the
//! statuses tonic answers by itself (undecodable or oversized requests, unknown methods) made
//! to carry an `ErrorInfo` like every status the handlers return, and the database breaker.

mod breaker;
mod cors;
mod deadline;
mod status;

pub use breaker::BreakerLayer;
pub use cors::grpc_web_cors;
pub use deadline::DeadlineLayer;
pub use status::status_layer;
