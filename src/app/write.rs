//! The one write path (DESIGN §3 rule 2, §7).
//!
//! Every mutation runs in a [`Write`]: begin (on SQLite this also takes the writer lock) ->
//! the command locks its root row and decides under it -> it records its changes ->
//! [`Write::commit`] bumps the org's revision, appends the changes as events at that
//! revision and commits, all in the one transaction. Repositories take the transaction from
//! here and never open their own, so no change reaches the database without its events.
//!
//! A guard rather than a closure: commands borrow the caller, limits and repositories
//! freely, and the transaction rolls back if the command returns early with an error (the
//! guard is dropped uncommitted).

use sea_orm::DatabaseTransaction;

use crate::core::event::Change;
use crate::core::{Micros, Result, now_micros};
use crate::store::{Store, WriteTxn, events};

/// A write in progress for one org.
pub struct Write {
    txn: WriteTxn,
    org_id: String,
    actor: String,
    now: Micros,
    changes: Vec<Change>,
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
    pub async fn begin(store: &Store, org_id: &str, actor: impl Into<String>) -> Result<Self> {
        Ok(Self {
            txn: store.begin_write().await?,
            org_id: org_id.to_string(),
            actor: actor.into(),
            now: now_micros(),
            changes: Vec::new(),
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

    /// Bumps the org's revision, appends the recorded changes and commits. A write that
    /// recorded nothing commits without a revision.
    pub async fn commit<T>(self, value: T) -> Result<Written<T>> {
        let Self {
            txn,
            org_id,
            actor,
            now,
            changes,
        } = self;
        if changes.is_empty() {
            txn.commit().await?;
            return Ok(Written::unchanged(value));
        }
        // Last lock of the transaction: the org's counter row (see events::bump_revision).
        let revision = events::bump_revision(&txn, &org_id).await?;
        events::append(&txn, &org_id, revision, now, &actor, &changes).await?;
        txn.commit().await?;
        Ok(Written {
            value,
            revision: Some(revision),
        })
    }
}
