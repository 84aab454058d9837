//! Tower layers of our own in front of every service: gRPC-Web CORS, the concurrency limit
//! that sheds overload, the database breaker, the call deadline, read-your-writes
//! (`x-dashboards-min-revision`), and the statuses tonic answers by itself (undecodable or
//! oversized requests, unknown methods) made to carry an `ErrorInfo` like every status the
//! handlers return.

mod breaker;
mod cors;
mod deadline;
mod min_revision;
mod overload;
mod status;

pub use breaker::BreakerLayer;
pub use cors::grpc_web_cors;
pub use deadline::{CallDeadline, DeadlineLayer};
pub use min_revision::{MIN_REVISION_HEADER, MinRevisionLayer};
pub use overload::{NEVER_SHED, OverloadLayer, RETRY_DELAY_MS};
pub use status::status_layer;
