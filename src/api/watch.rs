//! WatchDashboards' request parsing and event conversion (the handler is in
//! `dashboard_service.rs`).

use std::pin::Pin;
use std::time::Duration;

use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::app::watch::{Kind, WatchEvent, WatchRequest};
use crate::core::{Error, Result, filter, names};
use crate::pb;
use crate::pb::watch_dashboards_response::Type;

pub type WatchStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchDashboardsResponse, Status>> + Send>>;

pub fn parse(
    request: pb::WatchDashboardsRequest,
    bookmark_interval: Duration,
) -> Result<WatchRequest> {
    if request.start_revision < 0 {
        return Err(Error::invalid(
            "start_revision",
            "must be a revision (from ListDashboards) or 0 for now",
        ));
    }
    Ok(WatchRequest {
        start_revision: request.start_revision,
        filter: filter::parse(&request.filter)?,
        bookmark_interval,
    })
}

/// The wire stream of a watch's events; an error ends it with its status.
pub fn stream(events: tokio::sync::mpsc::Receiver<Result<WatchEvent>>) -> WatchStream {
    Box::pin(ReceiverStream::new(events).map(|event| match event {
        Ok(event) => Ok(response(event)),
        Err(err) => Err(Status::from(err)),
    }))
}

fn response(event: WatchEvent) -> pb::WatchDashboardsResponse {
    match event {
        WatchEvent::Bookmark(revision) => pb::WatchDashboardsResponse {
            r#type: Type::Bookmark as i32,
            revision,
            dashboard: None,
        },
        WatchEvent::Change(seen) => {
            let r#type = match seen.kind {
                Kind::Added => Type::Added,
                Kind::Modified => Type::Modified,
                Kind::Removed => Type::Removed,
            };
            let dashboard = match &seen.dashboard {
                Some(d) => convert::dashboard(d),
                None => pb::Dashboard {
                    name: names::dashboard_name(&seen.dashboard_id),
                    ..Default::default()
                },
            };
            pb::WatchDashboardsResponse {
                r#type: r#type as i32,
                revision: seen.revision,
                dashboard: Some(dashboard),
            }
        }
    }
}
