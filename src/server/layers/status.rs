//! Statuses that tonic answers before a handler runs carry no details; this layer gives them
//! the right code and an `ErrorInfo`, so every error a caller sees has one (DESIGN §6):
//!
//! - an undecodable request (tonic-prost says INTERNAL "failed to decode Protobuf message",
//!   also for messages nested past prost's recursion limit) is INVALID_ARGUMENT;
//! - a request over `MAX_MESSAGE_BYTES` (tonic says OUT_OF_RANGE) is RESOURCE_EXHAUSTED;
//! - an unknown method (UNIMPLEMENTED with an empty message) gets a message;
//! - anything else keeps its code and (bounded) message and gains an `ErrorInfo`.
//!
//! Only trailers-only responses (the status in the response head) are rewritten: those are
//! the ones tonic produces itself; handler errors already carry their details.

use tonic::body::Body;
use tonic::{Code, Status};
use tower::util::MapResponseLayer;

use crate::core::Error;

const DETAILS_HEADER: &str = "grpc-status-details-bin";

type Response = http::Response<Body>;

/// The layer: a mapping of responses, since only the response head is looked at.
pub fn status_layer(
    max_message_bytes: usize,
) -> MapResponseLayer<impl Fn(Response) -> Response + Clone + Send + Sync + 'static> {
    MapResponseLayer::new(move |response: Response| {
        if response.headers().contains_key(DETAILS_HEADER) {
            return response;
        }
        match Status::from_header_map(response.headers()) {
            Some(status) if status.code() != Code::Ok => {
                Status::from(classify(&status, max_message_bytes)).into_http()
            }
            _ => response,
        }
    })
}

/// Our error for a status tonic produced without details.
fn classify(status: &Status, max_message_bytes: usize) -> Error {
    let message = status.message();
    match status.code() {
        Code::Internal if message.starts_with("failed to decode") => Error::InvalidArgument {
            reason: "UNDECODABLE_REQUEST",
            message: "the request is not a valid protobuf message of this method's request \
                      type (or is nested more than 100 levels deep)"
                .to_string(),
            violations: Vec::new(),
        },
        Code::OutOfRange if message.contains("message length too large") => {
            Error::ResourceExhausted {
                reason: "MESSAGE_TOO_LARGE",
                message: format!(
                    "the request is larger than the {max_message_bytes} bytes this server \
                     accepts (MAX_MESSAGE_BYTES)"
                ),
            }
        }
        Code::Unimplemented if message.is_empty() => Error::Unimplemented {
            message: "this server has no such service or method (see `grpcurl list`)".into(),
        },
        code => Error::Other {
            code,
            message: message.to_string(),
        },
    }
}
