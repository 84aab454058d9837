//! Statuses that tonic answers before a handler runs carry no details; this layer gives them
//! the right code and an `ErrorInfo`, so every error a caller sees has one (DESIGN §6):
//!
//! - an undecodable request (tonic-prost says INTERNAL "failed to decode Protobuf message",
//!   also for messages nested past prost's recursion limit) is INVALID_ARGUMENT;
//! - a request over `MAX_MESSAGE_BYTES` (tonic says OUT_OF_RANGE) is RESOURCE_EXHAUSTED;
//! - an unknown method (UNIMPLEMENTED with an empty message) says which method;
//! - anything else keeps its code and (bounded) message and gains an `ErrorInfo`.
//!
//! Only trailers-only responses (the status in the response head) are rewritten: those are
//! the ones tonic produces itself; handler errors already carry their details.

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::domain::Error;
use crate::domain::error::echo;

const DETAILS_HEADER: &str = "grpc-status-details-bin";

#[derive(Clone)]
pub struct StatusLayer {
    max_message_bytes: usize,
}

impl StatusLayer {
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> Layer<S> for StatusLayer {
    type Service = StatusService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StatusService {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

#[derive(Clone)]
pub struct StatusService<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, B> Service<http::Request<B>> for StatusService<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_string();
        let max_message_bytes = self.max_message_bytes;
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            let headers = response.headers();
            if headers.contains_key(DETAILS_HEADER) {
                return Ok(response);
            }
            match Status::from_header_map(headers) {
                Some(status) if status.code() != Code::Ok => {
                    let error = classify(&status, &path, max_message_bytes);
                    Ok(Status::from(error).into_http())
                }
                _ => Ok(response),
            }
        })
    }
}

/// Our error for a status tonic produced without details.
fn classify(status: &Status, path: &str, max_message_bytes: usize) -> Error {
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
            message: format!("unknown method {}", echo(path)),
        },
        code => Error::Other {
            code,
            message: message.to_string(),
        },
    }
}
