//! WatchDashboards (DESIGN §7): list, then follow the change log from the list's revision.
//!
//! The log is the source of truth; the doorbell (in-process rings, and on PostgreSQL the
//! NOTIFY of other replicas, see `server::notify`) only says that it grew. Per replica and
//! org one [`tail::OrgTail`] reads the log for every stream; each stream keeps a cursor and
//! what its subscriber was told is visible ([`visibility`]), judges every event for its
//! subscriber when it sends it, and waits for the subscriber when the subscriber is slow:
//! nothing is buffered beyond a few messages, so a slow subscriber lags on the log, and when
//! it falls behind the log's retention its stream ends with `REVISION_COMPACTED`.

mod tail;
mod visibility;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use self::tail::{OrgTail, Read};
use self::visibility::Visibility;
pub use self::visibility::{IdSet, Kind, Seen};
use super::App;
use crate::core::event::Event;
use crate::core::filter::Filter;
use crate::core::{Error, Principal, Result};
use crate::store::events;

/// Messages a stream holds ready for a subscriber that is not reading: beyond them, the
/// stream waits (and the HTTP/2 flow-control window holds what was already sent).
const STREAM_BUFFER: usize = 16;

/// How long a stream that read nothing new, though the tail says there is more, waits
/// before asking again (a race with the purge, or a replica's read lagging).
const RETRY_EMPTY_READ: Duration = Duration::from_millis(100);

/// What a subscriber receives.
pub enum WatchEvent {
    Change(Box<Seen>),
    /// Nothing was sent for a bookmark interval: the stream has reached `revision`.
    Bookmark(i64),
}

/// A watch request, parsed.
pub struct WatchRequest {
    /// Changes after this revision; 0: from now.
    pub start_revision: i64,
    pub filter: Option<Filter>,
    pub bookmark_interval: Duration,
}

/// The replica's change-log tails, one per org being watched.
#[derive(Clone, Default)]
pub struct WatchHub {
    tails: Arc<tokio::sync::Mutex<HashMap<String, Weak<OrgTail>>>>,
    streams: Arc<AtomicUsize>,
}

impl WatchHub {
    /// The streams open now (a gauge).
    pub fn open_streams(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }

    async fn tail(&self, app: &App, org_id: &str) -> Result<Arc<OrgTail>> {
        let mut tails = self.tails.lock().await;
        tails.retain(|_, tail| tail.strong_count() > 0);
        if let Some(tail) = tails.get(org_id).and_then(Weak::upgrade) {
            return Ok(tail);
        }
        let tail = OrgTail::start(org_id, app.store.clone(), app.doorbell.subscribe()).await?;
        tails.insert(org_id.to_string(), Arc::downgrade(&tail));
        Ok(tail)
    }
}

/// Starts a watch for `caller`: the checks that can fail the call fail it here (a bad
/// filter, a start the log no longer holds or has not reached); the events come through the
/// receiver, which ends with an error when the stream cannot go on.
pub async fn watch(
    app: &App,
    caller: &Principal,
    request: WatchRequest,
) -> Result<mpsc::Receiver<Result<WatchEvent>>> {
    let tail = app.hub.tail(app, &caller.org_id).await?;
    let latest = *tail.reached().borrow();
    let latest = latest.max(events::latest_revision(app.store.db(), &caller.org_id).await?);
    let cursor = match request.start_revision {
        0 => latest,
        start if start > latest => {
            return Err(Error::OutOfRange {
                reason: "REVISION_NOT_REACHED",
                message: format!(
                    "start_revision {start} is ahead of the organization's latest revision \
                     {latest}"
                ),
            });
        }
        start => {
            if start < latest {
                let oldest = events::oldest_revision(app.store.db(), &caller.org_id).await?;
                if oldest.is_none_or(|oldest| oldest > start + 1) {
                    return Err(compacted(start));
                }
            }
            start
        }
    };
    let visibility = Visibility::load(app, caller.clone(), request.filter).await?;
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    let stream = Stream {
        _open: OpenStream::count(&app.hub.streams),
        app: app.clone(),
        tail,
        cursor,
        visibility,
        sender,
        bookmark_interval: request.bookmark_interval,
        last_sent: Instant::now(),
    };
    tokio::spawn(stream.run());
    Ok(receiver)
}

/// The dashboards `events` belong to, sorted, each once.
fn touched_dashboards<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<String> {
    let mut ids: Vec<String> = events
        .into_iter()
        .filter_map(|e| e.change.dashboard_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn compacted(cursor: i64) -> Error {
    Error::OutOfRange {
        reason: "REVISION_COMPACTED",
        message: format!(
            "the change log no longer holds the revisions after {cursor}: list again, then \
             watch from the list's revision"
        ),
    }
}

/// Counts a stream as open while it lives.
struct OpenStream(Arc<AtomicUsize>);

impl OpenStream {
    fn count(streams: &Arc<AtomicUsize>) -> Self {
        streams.fetch_add(1, Ordering::Relaxed);
        Self(streams.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Stream {
    _open: OpenStream,
    app: App,
    tail: Arc<OrgTail>,
    /// Every event up to this revision has been judged (and sent when visible).
    cursor: i64,
    visibility: Visibility,
    sender: mpsc::Sender<Result<WatchEvent>>,
    bookmark_interval: Duration,
    last_sent: Instant,
}

impl Stream {
    async fn run(mut self) {
        if let Err(err) = self.follow().await {
            // The subscriber gets the error as the stream's status; it may be gone.
            let _ = self.sender.send(Err(err)).await;
        }
    }

    /// Follows the log until the subscriber goes away (`Ok`) or the stream cannot go on.
    async fn follow(&mut self) -> Result<()> {
        let mut reached = self.tail.reached();
        loop {
            if *reached.borrow_and_update() <= self.cursor {
                let bookmark_due = self.last_sent + self.bookmark_interval;
                tokio::select! {
                    _ = self.sender.closed() => return Ok(()),
                    changed = reached.changed() => {
                        if changed.is_err() {
                            return Err(Error::internal("the change-log tail stopped"));
                        }
                    }
                    _ = tokio::time::sleep_until(bookmark_due) => {
                        if !self.send(WatchEvent::Bookmark(self.cursor)).await {
                            return Ok(());
                        }
                    }
                }
                continue;
            }
            let events = match self.tail.read_after(self.cursor).await? {
                Read::Compacted => return Err(compacted(self.cursor)),
                Read::Events(events) => events,
            };
            let Some(last) = events.last().map(|e| e.revision) else {
                tokio::time::sleep(RETRY_EMPTY_READ).await;
                continue;
            };
            let events: Vec<&Event> = events.iter().map(|e| e.as_ref()).collect();
            let ids = touched_dashboards(events.iter().copied());
            let known = self.tail.rows(&ids, last);
            let sender = self.sender.clone();
            let mut sent_any = false;
            let mut send = |seen: Seen| {
                let sender = sender.clone();
                sent_any = true;
                async move {
                    sender
                        .send(Ok(WatchEvent::Change(Box::new(seen))))
                        .await
                        .is_ok()
                }
            };
            if !self
                .visibility
                .apply(&self.app, &events, &ids, &known, &mut send)
                .await?
            {
                return Ok(());
            }
            self.cursor = last;
            if sent_any {
                self.last_sent = Instant::now();
            } else if self.last_sent.elapsed() >= self.bookmark_interval
                && !self.send(WatchEvent::Bookmark(self.cursor)).await
            {
                return Ok(());
            }
        }
    }

    async fn send(&mut self, event: WatchEvent) -> bool {
        self.last_sent = Instant::now();
        self.sender.send(Ok(event)).await.is_ok()
    }
}
