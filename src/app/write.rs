//! The one write path (DESIGN §3 rule 2, §7).
//!
//! Every mutation runs in a [`Write`]: begin (on SQLite this also takes the writer lock) ->
//! the command locks its root row and decides under it -> it records its changes ->
//! [`Write::commit`] bumps the org's revision, appends the changes as events at that
//! revision and commits, all in the one transaction. Repositories take the transaction from
//! here and never open their own, so no change reaches the database without its events.
//!
//! After the commit the write rings the [`Doorbell`] with `(org, revision)`: in-process
//! subscribers (the coming WatchDashboards, cache invalidation) learn that the log grew and
//! read it from there; the log, not the bell, is the source of truth.
//!
//! A guard rather than a closure: commands borrow the caller, limits and repositories
//! freely, and the transaction rolls back if the command returns early with an error (the
//! guard is dropped uncommitted).

use sea_orm::DatabaseTransaction;

use std::collections::BTreeMap;

use super::freshness::Watermarks;
use crate::core::event::{Change, EventType};
use crate::core::names;
use crate::core::{Micros, Result, now_micros};
use crate::store::versions::{self, Touched, VersionMeta};
use crate::store::{Store, WriteTxn, events};

/// How many rings a slow subscriber may miss before it is told it lagged (it then re-reads
/// the log from its last revision).
const DOORBELL_CAPACITY: usize = 1024;

/// Rung after every committed write with its org and revision. It also remembers the
/// highest revision rung per org ([`Watermarks`]), so that `x-dashboards-min-revision`
/// (see `freshness`) costs nothing when the revision asked for was already rung here.
#[derive(Clone)]
pub struct Doorbell {
    sender: tokio::sync::broadcast::Sender<(String, i64)>,
    watermarks: Watermarks,
}

impl Default for Doorbell {
    fn default() -> Self {
        Self {
            sender: tokio::sync::broadcast::channel(DOORBELL_CAPACITY).0,
            watermarks: Watermarks::default(),
        }
    }
}

impl Doorbell {
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<(String, i64)> {
        self.sender.subscribe()
    }

    /// The highest revision known committed, per org.
    pub fn watermarks(&self) -> &Watermarks {
        &self.watermarks
    }

    /// Says that `org_id`'s log reached `revision`: after a commit here, or when another
    /// replica's commit is heard of (`server::notify`; an empty org means "any org": rings
    /// may have been missed).
    pub fn ring(&self, org_id: &str, revision: i64) {
        // Raised before the ring goes out, so a woken waiter finds it.
        self.watermarks.raise(org_id, revision);
        // No subscriber is not an error: nobody is waiting.
        let _ = self.sender.send((org_id.to_string(), revision));
    }
}

/// A write in progress for one org.
pub struct Write {
    txn: WriteTxn,
    doorbell: Doorbell,
    org_id: String,
    actor: String,
    now: Micros,
    changes: Vec<Change>,
    version_message: Option<String>,
    restored_from: Option<i64>,
}

/// What a committed write returns: the value and the org revision it committed at (`None`
/// when it changed nothing, e.g. an idempotent retry).
#[derive(Debug, Clone)]
pub struct Written<T> {
    pub value: T,
    pub revision: Option<i64>,
}

impl<T> Written<T> {
    pub fn unchanged(value: T) -> Self {
        Self {
            value,
            revision: None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Written<U> {
        Written {
            value: f(self.value),
            revision: self.revision,
        }
    }
}

impl Write {
    /// Begins a write of `org_id` on behalf of `actor` (`users/{id}` or `system`).
    pub async fn begin(
        store: &Store,
        doorbell: &Doorbell,
        org_id: &str,
        actor: impl Into<String>,
    ) -> Result<Self> {
        Ok(Self {
            txn: store.begin_write().await?,
            doorbell: doorbell.clone(),
            org_id: org_id.to_string(),
            actor: actor.into(),
            now: now_micros(),
            changes: Vec::new(),
            version_message: None,
            restored_from: None,
        })
    }

    /// The transaction the command's repository calls run in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The write's time: every row and event it touches carries it.
    pub fn now(&self) -> Micros {
        self.now
    }

    /// Moves the write's time forward to at least `t` (an update never goes back in time).
    pub fn not_before(&mut self, t: Micros) {
        self.now = self.now.max(t);
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Records what the command changed; appended as events at commit.
    pub fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// The message of the dashboard version this write makes (a named version is kept
    /// forever); empty means none.
    pub fn version_message(&mut self, message: &str) {
        self.version_message = (!message.is_empty()).then(|| message.to_string());
    }

    /// This write restores version `version` of its dashboard.
    pub fn restored_from(&mut self, version: i64) {
        self.restored_from = Some(version);
    }

    /// Bumps the org's revision, appends the recorded changes, records a new version of
    /// every dashboard whose content they changed (DESIGN §7) and commits. A write that
    /// recorded nothing commits without a revision.
    pub async fn commit<T>(self, value: T) -> Result<Written<T>> {
        let Self {
            txn,
            doorbell,
            org_id,
            actor,
            now,
            changes,
            version_message,
            restored_from,
        } = self;
        if changes.is_empty() {
            txn.commit().await?;
            return Ok(Written::unchanged(value));
        }
        // Everything that needs no revision comes first: the org's counter row is the last
        // lock of the transaction (see events::bump_revision), and every write of the org
        // waits for it until this one commits, so only two statements follow it.
        let mut pending = Vec::new();
        for (dashboard_id, touched) in content_changes(&changes) {
            pending.extend(versions::prepare(&txn, &org_id, &dashboard_id, &touched).await?);
        }
        let revision = events::bump_revision(&txn, &org_id).await?;
        events::append(&txn, &org_id, revision, now, &actor, &changes).await?;
        let meta = VersionMeta {
            revision,
            actor,
            time: now,
            message: version_message,
            restored_from,
        };
        versions::insert(&txn, pending, &meta).await?;
        txn.commit().await?;
        doorbell.ring(&org_id, revision);
        Ok(Written {
            value,
            revision: Some(revision),
        })
    }
}

/// The dashboards whose content (fields, widgets, layout) the changes touched, with the
/// widgets they touched.
fn content_changes(changes: &[Change]) -> BTreeMap<String, Touched> {
    let mut touched: BTreeMap<String, Touched> = BTreeMap::new();
    for change in changes {
        let Some(dashboard_id) = &change.dashboard_id else {
            continue;
        };
        match change.r#type {
            // Stopping or restoring inheritance changes who has access, not the content.
            EventType::DashboardUpdated if change.changed_fields == ["inherit_access"] => {}
            EventType::DashboardCreated
            | EventType::DashboardUpdated
            | EventType::DashboardRestored => {
                touched.entry(dashboard_id.clone()).or_default();
            }
            EventType::WidgetCreated
            | EventType::WidgetUpdated
            | EventType::WidgetDeleted
            | EventType::LayoutChanged => {
                let entry = touched.entry(dashboard_id.clone()).or_default();
                if let Ok((_, widget_id)) = names::parse_widget_name("resource", &change.resource) {
                    entry.widgets.insert(widget_id);
                }
            }
            _ => {}
        }
    }
    touched
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::event::{Change, EventType};
    use crate::store::{DbOptions, SqliteSynchronous};

    async fn store_in(dir: &tempfile::TempDir) -> Store {
        let store = Store::connect(&DbOptions {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display()),
            max_connections: 2,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Normal,
            statement_timeout: None,
            health_check_interval: Duration::from_secs(1),
            health_check_timeout: Duration::from_millis(500),
        })
        .await
        .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    /// A write that records changes commits at the org's next revision and rings the bell
    /// with it; one that records nothing takes no revision and rings nothing; one dropped
    /// uncommitted leaves no trace.
    #[tokio::test]
    async fn commits_take_the_next_revision_and_ring_the_doorbell() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_in(&dir).await;
        let bell = Doorbell::default();
        let mut rings = bell.subscribe();
        for expected in 1..=3 {
            let mut write = Write::begin(&store, &bell, "acme", "users/u")
                .await
                .expect("begin");
            write.record(Change::new(EventType::GroupCreated, "groups/g"));
            let written = write.commit(()).await.expect("commit");
            assert_eq!(written.revision, Some(expected));
            assert_eq!(
                rings.try_recv().expect("a ring"),
                ("acme".to_string(), expected)
            );
        }
        let idle = Write::begin(&store, &bell, "acme", "users/u")
            .await
            .expect("begin");
        assert_eq!(idle.commit(()).await.expect("commit").revision, None);
        let mut dropped = Write::begin(&store, &bell, "acme", "users/u")
            .await
            .expect("begin");
        dropped.record(Change::new(EventType::GroupDeleted, "groups/g"));
        drop(dropped);
        assert!(rings.try_recv().is_err(), "nothing rang");
        assert_eq!(
            events::latest_revision(store.db(), "acme")
                .await
                .expect("read"),
            3
        );
        // Another org counts from 1.
        let mut other = Write::begin(&store, &bell, "globex", "users/u")
            .await
            .expect("begin");
        other.record(Change::new(EventType::GroupCreated, "groups/h"));
        assert_eq!(other.commit(()).await.expect("commit").revision, Some(1));
    }
}
