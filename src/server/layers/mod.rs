//! Tower layers of our own in front of every service: the call deadline, the statuses
//! tonic answers by itself (undecodable or oversized requests, unknown methods) made to carry
//! an `ErrorInfo` like every status the handlers return, and the database breaker.

mod breaker;
mod deadline;
mod status;

pub use breaker::BreakerLayer;
pub use deadline::DeadlineLayer;
pub use status::status_layer;
