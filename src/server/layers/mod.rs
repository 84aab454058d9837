//! Tower layers of our own in front of every service: the concurrency limit that sheds
//! overload, the call deadline, and the statuses tonic answers by itself (undecodable or
//! oversized requests, unknown methods) made to carry an `ErrorInfo` like every status the
//! handlers return.

mod deadline;
mod overload;
mod status;

pub use deadline::DeadlineLayer;
pub use overload::{NEVER_SHED, OverloadLayer, RETRY_DELAY_MS};
pub use status::status_layer;
