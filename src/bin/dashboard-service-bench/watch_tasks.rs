//! The calls of `watch`: the run's dashboards made and trashed, subscribers that hold a
//! WatchDashboards stream open and note when each event arrived, and writers that retitle
//! the run's dashboards and note when each write's response (carrying its revision) arrived.
//! Times are microseconds since one epoch of the process, so that the two can be subtracted.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use dashboard_service::pb;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use dashboard_service::pb::sharing_service_client::SharingServiceClient;
use dashboard_service::pb::watch_dashboards_response::Type;
use dashboard_service::server::BoxError;
use hdrhistogram::Histogram;
use tonic::codec::Streaming;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::target::{authed, shed_delay};

/// The least pause after a shed call, when the server's RetryInfo asks for none.
const SHED_PAUSE: Duration = Duration::from_millis(10);
/// How long a call keeps being retried while the server sheds it.
const SHED_GIVE_UP: Duration = Duration::from_secs(30);

/// Where the write revisions of a run end: the last revision committed, and how long the
/// subscribers wait to receive it.
pub type End = Option<(i64, Instant)>;

/// Calls `call` again while the server sheds it (RESOURCE_EXHAUSTED, OVERLOADED), after the
/// RetryInfo delay (at least [`SHED_PAUSE`]); counts the shed tries in `shed`.
pub async fn unshed<T, F, Fut>(shed: &mut u64, mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let started = Instant::now();
    loop {
        let status = match call().await {
            Ok(value) => return Ok(value),
            Err(status) => status,
        };
        match shed_delay(&status) {
            Some(delay) if started.elapsed() < SHED_GIVE_UP => {
                *shed += 1;
                tokio::time::sleep(delay.max(SHED_PAUSE)).await;
            }
            _ => return Err(status),
        }
    }
}

/// A request with the caller's token; a token that is no header value is an INTERNAL status
/// (it never is: tokens are ASCII).
pub fn request<T>(message: T, token: &str) -> Result<tonic::Request<T>, tonic::Status> {
    authed(message, token).map_err(|e| tonic::Status::internal(e.to_string()))
}

/// A status as `Code REASON: message` (the message cut at 100 characters).
pub fn describe(status: &tonic::Status) -> String {
    let message: String = status.message().chars().take(100).collect();
    match status.get_details_error_info() {
        Some(info) => format!("{:?} {}: {message}", status.code(), info.reason),
        None => format!("{:?}: {message}", status.code()),
    }
}

/// Opens a stream from now (start_revision 0), retrying while the server sheds the call.
/// The server fixes the stream's starting revision before it answers, so every write
/// committed after this returns is the stream's to deliver.
pub async fn open(
    channel: Channel,
    token: String,
) -> Result<(Streaming<pb::WatchDashboardsResponse>, u64), tonic::Status> {
    let mut shed = 0;
    let stream = unshed(&mut shed, || {
        let mut client = DashboardServiceClient::new(channel.clone());
        let request = request(pb::WatchDashboardsRequest::default(), &token);
        async move { client.watch_dashboards(request?).await }
    })
    .await?;
    Ok((stream.into_inner(), shed))
}

/// The run's dashboards, each shared with every org member as a viewer.
pub async fn make_dashboards(
    channel: &Channel,
    token: &str,
    n: usize,
) -> Result<Vec<String>, BoxError> {
    let mut shed = 0;
    let mut names = Vec::new();
    for i in 0..n {
        let name = unshed(&mut shed, || {
            let mut client = DashboardServiceClient::new(channel.clone());
            let dashboard = pb::Dashboard {
                title: format!("Bench watch {i}"),
                ..Default::default()
            };
            let request = request(
                pb::CreateDashboardRequest {
                    dashboard: Some(dashboard),
                    request_id: String::new(),
                },
                token,
            );
            async move { client.create_dashboard(request?).await }
        })
        .await
        .map_err(|s| format!("CreateDashboard: {}", describe(&s)))?
        .into_inner()
        .name;
        unshed(&mut shed, || {
            let mut client = SharingServiceClient::new(channel.clone());
            let request = request(
                pb::ShareDashboardRequest {
                    name: name.clone(),
                    grantee: Some(pb::Grantee {
                        kind: Some(pb::grantee::Kind::OrgMembers(true)),
                    }),
                    role: "roles/viewer".into(),
                    expire_time: None,
                },
                token,
            );
            async move { client.share_dashboard(request?).await }
        })
        .await
        .map_err(|s| format!("ShareDashboard: {}", describe(&s)))?;
        names.push(name);
    }
    Ok(names)
}

/// Moves the run's dashboards to the trash, so that runs do not pile up in the dataset the
/// other modes sample; a failure is only reported.
pub async fn trash(channel: &Channel, token: &str, dashboards: &[String]) {
    let mut shed = 0;
    for name in dashboards {
        let outcome = unshed(&mut shed, || {
            let mut client = DashboardServiceClient::new(channel.clone());
            let request = request(
                pb::DeleteDashboardRequest {
                    name: name.clone(),
                    ..Default::default()
                },
                token,
            );
            async move { client.delete_dashboard(request?).await }
        })
        .await;
        if let Err(status) = outcome {
            eprintln!("DeleteDashboard {name}: {}", describe(&status));
        }
    }
}

/// What one subscriber received.
#[derive(Default)]
pub struct Received {
    /// (revision, arrival in µs since the epoch) of every event but BOOKMARKs, in order.
    pub deliveries: Vec<(i64, i64)>,
    pub bookmarks: u64,
    /// The stream failed or ended before the run did.
    pub error: Option<String>,
    /// The drain wait passed before the last write's revision arrived.
    pub incomplete: bool,
}

/// Reads the stream until it has delivered the run's last write revision (or the drain wait
/// passes), then drops it: the client cancels the stream, which is no error.
pub async fn receive(
    mut stream: Streaming<pb::WatchDashboardsResponse>,
    epoch: Instant,
    mut end: tokio::sync::watch::Receiver<End>,
) -> Received {
    let mut got = Received::default();
    let mut reached = 0i64;
    loop {
        let until = *end.borrow();
        if let Some((last, _)) = until
            && reached >= last
        {
            break;
        }
        // Far enough never to fire before the run has an end.
        let drain = until.map_or(epoch + Duration::from_secs(86_400 * 365), |(_, at)| at);
        tokio::select! {
            message = stream.message() => match message {
                Ok(Some(event)) if event.r#type() == Type::Bookmark => got.bookmarks += 1,
                Ok(Some(event)) => {
                    got.deliveries.push((event.revision, micros_since(epoch)));
                    reached = reached.max(event.revision);
                }
                Ok(None) => {
                    got.error = Some("the server ended the stream".into());
                    break;
                }
                Err(status) => {
                    got.error = Some(describe(&status));
                    break;
                }
            },
            changed = end.changed(), if until.is_none() => {
                if changed.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep_until(drain.into()), if until.is_some() => {
                got.incomplete = true;
                break;
            }
        }
    }
    got
}

pub fn micros_since(epoch: Instant) -> i64 {
    i64::try_from(epoch.elapsed().as_micros()).unwrap_or(i64::MAX)
}

/// What one writer did.
pub struct Writes {
    /// (revision, arrival of the write's response in µs since the epoch).
    pub committed: Vec<(i64, i64)>,
    /// Latency of the writes the server admitted (µs), without the waits after shed tries.
    pub latency: Histogram<u64>,
    pub shed: u64,
    /// Errors by `Code REASON`: how many, and the first message.
    pub errors: BTreeMap<String, (u64, String)>,
}

/// One writer: retitles `dashboards` in turn (writer `index` of `writers` takes every
/// `writers`-th one, from its own) until `deadline`, every `interval` if given.
#[allow(clippy::too_many_arguments)]
pub async fn write(
    channel: Channel,
    token: String,
    dashboards: std::sync::Arc<Vec<String>>,
    index: usize,
    writers: usize,
    deadline: Instant,
    interval: Option<Duration>,
    epoch: Instant,
) -> Result<Writes, BoxError> {
    let mut done = Writes {
        committed: Vec::new(),
        latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        shed: 0,
        errors: BTreeMap::new(),
    };
    let mut tick = interval.map(|every| {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    let mut n = 0usize;
    while Instant::now() < deadline {
        if let Some(tick) = tick.as_mut() {
            tick.tick().await;
            if Instant::now() >= deadline {
                break;
            }
        }
        let name = dashboards[(index + n * writers) % dashboards.len()].clone();
        // A new title every time: a write that changes nothing commits no revision.
        let title = format!("Bench watch {index}/{n}");
        n += 1;
        let outcome = unshed(&mut done.shed, || {
            let mut client = DashboardServiceClient::new(channel.clone());
            let request = request(retitle(&name, &title), &token);
            async move {
                let begin = Instant::now();
                let response = client.update_dashboard(request?).await?;
                Ok((response, begin.elapsed()))
            }
        })
        .await;
        let status = match outcome {
            Ok((response, took)) => {
                let at = micros_since(epoch);
                done.latency.saturating_record(took.as_micros() as u64);
                if let Some(revision) = revision_in(response.metadata()) {
                    done.committed.push((revision, at));
                    continue;
                }
                tonic::Status::internal("the response carries no x-dashboards-revision")
            }
            Err(status) => status,
        };
        done.errors
            .entry(
                describe(&status)
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .into(),
            )
            .or_insert_with(|| (0, status.message().chars().take(100).collect()))
            .0 += 1;
    }
    Ok(done)
}

pub fn retitle(name: &str, title: &str) -> pb::UpdateDashboardRequest {
    pb::UpdateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            name: name.into(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        ..Default::default()
    }
}

/// The revision a write committed at (response metadata `x-dashboards-revision`).
pub fn revision_in(metadata: &tonic::metadata::MetadataMap) -> Option<i64> {
    metadata
        .get("x-dashboards-revision")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
