//! The shared reader of one org's change log on this replica.
//!
//! Every watch stream of an org reads its events from here, so a write costs one log read
//! per replica however many streams follow the org (each stream reading the log itself made
//! writes ten times slower with 100 watchers). The tail keeps the newest
//! [`RECENT_EVENTS`] events in memory; a stream further behind reads the log itself, at its
//! own pace, and never makes the tail keep more.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::core::dashboard::Dashboard;
use crate::core::event::Event;
use crate::core::{Error, Result};
use crate::store::{Store, events};

/// Events kept in memory per org: a few seconds of a busy org, ~1 MiB.
pub const RECENT_EVENTS: usize = 4_096;

/// Events read per statement (in whole revisions), by the tail and by a stream catching
/// up; also the most a stream judges at once.
pub const EVENTS_PER_READ: usize = 1_000;

/// How often the tail looks at the log without a ring: rings can be missed (a replica's
/// listening connection down for a moment), the log cannot.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What a stream reads next: events after its cursor, or word that the log no longer holds
/// them.
pub enum Read {
    Events(Vec<Arc<Event>>),
    Compacted,
}

pub struct OrgTail {
    org_id: String,
    store: Store,
    /// The newest revision whose events are in `recent` (the org's latest, once read).
    reached: watch::Sender<i64>,
    /// Events of consecutive revisions ending at `reached`, oldest first.
    recent: RwLock<VecDeque<Arc<Event>>>,
    /// The rows of the dashboards those events touched (`None`: gone), each with the
    /// revision it was read at: read once per write for every stream, which then only
    /// decides its subscriber's access (facts shared, decisions not).
    rows: RwLock<HashMap<String, (i64, Option<Dashboard>)>>,
}

impl OrgTail {
    /// Starts the tail of `org_id` at its latest revision; its task ends when the last
    /// [`Arc`] is dropped.
    pub async fn start(
        org_id: &str,
        store: Store,
        rings: broadcast::Receiver<(String, i64)>,
    ) -> Result<Arc<Self>> {
        let latest = events::latest_revision(store.db(), org_id).await?;
        let tail = Arc::new(Self {
            org_id: org_id.to_string(),
            store,
            reached: watch::channel(latest).0,
            recent: RwLock::new(VecDeque::new()),
            rows: RwLock::new(HashMap::new()),
        });
        tokio::spawn(follow(Arc::downgrade(&tail), rings));
        Ok(tail)
    }

    /// The newest revision read, and a way to wait for a newer one.
    pub fn reached(&self) -> watch::Receiver<i64> {
        self.reached.subscribe()
    }

    /// The events after `cursor`, about [`EVENTS_PER_READ`] of them in whole revisions, from
    /// memory when they are still there, else from the log.
    pub async fn read_after(&self, cursor: i64) -> Result<Read> {
        if let Some(events) = self.in_memory(cursor)? {
            return Ok(Read::Events(events));
        }
        let (read, _) = events::after(
            self.store.db(),
            &self.org_id,
            cursor,
            EVENTS_PER_READ as u64,
        )
        .await?;
        // The log holds every revision up to the latest unless the purge took some.
        let complete = read.first().is_some_and(|e| e.revision == cursor + 1);
        if !complete {
            let latest = *self.reached.borrow();
            let oldest = events::oldest_revision(self.store.db(), &self.org_id).await?;
            if cursor < latest && oldest.is_none_or(|oldest| oldest > cursor + 1) {
                return Ok(Read::Compacted);
            }
        }
        Ok(Read::Events(read.into_iter().map(Arc::new).collect()))
    }

    /// `Some` when memory holds the revision after `cursor` (or `cursor` is the newest).
    fn in_memory(&self, cursor: i64) -> Result<Option<Vec<Arc<Event>>>> {
        let recent = self
            .recent
            .read()
            .map_err(|_| Error::internal("the change-log tail's lock is poisoned"))?;
        let reached = *self.reached.borrow();
        let Some(oldest) = recent.front().map(|e| e.revision) else {
            return Ok((cursor >= reached).then(Vec::new));
        };
        if cursor + 1 < oldest {
            return Ok(None);
        }
        let start = recent.partition_point(|e| e.revision <= cursor);
        let mut events: Vec<Arc<Event>> = Vec::new();
        for event in recent.range(start..) {
            // Whole revisions: stop at a revision's first event once the read is full.
            let new_revision = events.last().is_none_or(|e| e.revision != event.revision);
            if new_revision && events.len() >= EVENTS_PER_READ {
                break;
            }
            events.push(event.clone());
        }
        Ok(Some(events))
    }

    /// The rows of `ids` read at revision `fresh_from` or later, of those it holds.
    pub fn rows(&self, ids: &[String], fresh_from: i64) -> HashMap<String, Option<Dashboard>> {
        let Ok(rows) = self.rows.read() else {
            return HashMap::new();
        };
        ids.iter()
            .filter_map(|id| {
                let (read_at, row) = rows.get(id)?;
                (*read_at >= fresh_from).then(|| (id.clone(), row.clone()))
            })
            .collect()
    }

    /// Reads what the log gained since `reached` into memory and publishes it.
    async fn catch_up(&self) -> Result<()> {
        loop {
            let reached = *self.reached.borrow();
            let (read, more) = events::after(
                self.store.db(),
                &self.org_id,
                reached,
                EVENTS_PER_READ as u64,
            )
            .await?;
            let Some(newest) = read.last().map(|e| e.revision) else {
                return Ok(());
            };
            let touched = super::touched_dashboards(&read);
            let found = if touched.is_empty() {
                Vec::new()
            } else {
                self.store
                    .dashboards()
                    .get_many(&self.org_id, &touched)
                    .await?
            };
            if read.first().is_some_and(|e| e.revision != reached + 1) {
                // The purge took revisions the tail had not read (it was stopped for longer
                // than the retention): memory restarts after the gap; streams behind it read
                // the log and learn that it was compacted.
                self.recent
                    .write()
                    .map_err(|_| Error::internal("the change-log tail's lock is poisoned"))?
                    .clear();
            }
            {
                let mut recent = self
                    .recent
                    .write()
                    .map_err(|_| Error::internal("the change-log tail's lock is poisoned"))?;
                recent.extend(read.into_iter().map(Arc::new));
                // Trim whole revisions only, so memory always starts at a revision's first
                // event.
                while recent.len() > RECENT_EVENTS {
                    let Some(first) = recent.front().map(|e| e.revision) else {
                        break;
                    };
                    while recent.front().is_some_and(|e| e.revision == first) {
                        recent.pop_front();
                    }
                }
                let mut rows = self
                    .rows
                    .write()
                    .map_err(|_| Error::internal("the change-log tail's lock is poisoned"))?;
                let mut found: HashMap<String, Dashboard> =
                    found.into_iter().map(|d| (d.id.clone(), d)).collect();
                for id in touched {
                    let row = found.remove(&id);
                    rows.insert(id, (newest, row));
                }
                // Only the rows of dashboards that events in memory touched.
                let in_memory: HashSet<&str> = recent
                    .iter()
                    .filter_map(|e| e.change.dashboard_id.as_deref())
                    .collect();
                rows.retain(|id, _| in_memory.contains(id.as_str()));
            }
            self.reached.send_replace(newest);
            if !more {
                return Ok(());
            }
        }
    }
}

/// The tail's task: reads the log when the org's doorbell rings (or every
/// [`POLL_INTERVAL`]), until nobody holds the tail any more.
async fn follow(tail: Weak<OrgTail>, mut rings: broadcast::Receiver<(String, i64)>) {
    loop {
        let Some(org_id) = tail.upgrade().map(|t| t.org_id.clone()) else {
            return;
        };
        let rang = tokio::time::timeout(POLL_INTERVAL, async {
            loop {
                match rings.recv().await {
                    Ok((org, _)) if org == org_id || org.is_empty() => return true,
                    Ok(_) => continue,
                    // Missed rings: one of them may have been ours.
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                }
            }
        })
        .await;
        let Some(tail) = tail.upgrade() else {
            return;
        };
        if rang == Ok(false) {
            return;
        }
        if let Err(err) = tail.catch_up().await {
            // The next ring or poll tries again; streams keep what they have.
            tracing::warn!(org = %tail.org_id, error = %err, "reading the change log for watchers failed");
        }
    }
}
