//! What one watch stream has told its subscriber is visible, and the rule that turns the
//! log's events into the subscriber's ADDED / MODIFIED / REMOVED (DESIGN §7).
//!
//! Each event is judged when it is sent, against access and the filter as they are then
//! (the new-enemy rule): a dashboard the subscriber may no longer read arrives as REMOVED,
//! one it gains as ADDED. Whether it was visible before is what the stream last told the
//! subscriber, so a REMOVED is sent once and nothing of that dashboard follows it.
//!
//! Memory: one 16-byte entry per dashboard the subscriber sees (ids are UUIDs), or, for an
//! ADMIN without a filter (who sees every live dashboard), only the dashboards the stream
//! removed; never any dashboard content beyond the batch being sent.

use std::collections::{HashMap, HashSet};

use crate::app::App;
use crate::core::authz::{Permission, Subject};
use crate::core::dashboard::{Dashboard, ListPage, SortKey};
use crate::core::event::{Event, EventType};
use crate::core::filter::Filter;
use crate::core::{Principal, Result, now_micros};
use crate::store::dashboards::ListQuery;

/// Rows read per statement when (re)loading what the subscriber sees.
const LOAD_PAGE: u64 = 1_000;

/// A set of dashboard ids, 16 bytes each when they are canonical UUIDs (all of ours are).
#[derive(Default)]
pub struct IdSet {
    uuids: HashSet<u128>,
    others: HashSet<String>,
}

impl IdSet {
    fn key(id: &str) -> Option<u128> {
        let uuid = uuid::Uuid::parse_str(id).ok()?;
        (uuid.hyphenated().to_string() == id).then(|| uuid.as_u128())
    }

    pub fn contains(&self, id: &str) -> bool {
        match Self::key(id) {
            Some(k) => self.uuids.contains(&k),
            None => self.others.contains(id),
        }
    }

    pub fn insert(&mut self, id: &str) {
        match Self::key(id) {
            Some(k) => self.uuids.insert(k),
            None => self.others.insert(id.to_string()),
        };
    }

    pub fn remove(&mut self, id: &str) {
        match Self::key(id) {
            Some(k) => self.uuids.remove(&k),
            None => self.others.remove(id),
        };
    }

    fn ids(&self) -> impl Iterator<Item = String> + '_ {
        self.uuids
            .iter()
            .map(|k| uuid::Uuid::from_u128(*k).hyphenated().to_string())
            .chain(self.others.iter().cloned())
    }

    pub fn len(&self) -> usize {
        self.uuids.len() + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The dashboards the subscriber has been told are visible.
enum Known {
    /// Every live dashboard of the org, except these (an ADMIN without a filter).
    AllLiveExcept(IdSet),
    /// Exactly these.
    Only(IdSet),
}

/// What the stream sends for one dashboard at one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Modified,
    Removed,
}

/// One dashboard's change as the subscriber sees it.
pub struct Seen {
    pub kind: Kind,
    pub revision: i64,
    pub dashboard_id: String,
    /// The dashboard as it is now (ADDED, MODIFIED).
    pub dashboard: Option<Dashboard>,
}

pub struct Visibility {
    principal: Principal,
    filter: Option<Filter>,
    subjects: Vec<Subject>,
    known: Known,
}

impl Visibility {
    /// What `principal` sees now through `filter`.
    pub async fn load(app: &App, principal: Principal, filter: Option<Filter>) -> Result<Self> {
        let subjects = app.authorizer.subjects(&principal).await?;
        if let Some(filter) = &filter {
            crate::core::filter::check_cost(filter, subjects.len())?;
        }
        let mut visibility = Self {
            principal,
            filter,
            subjects,
            known: Known::Only(IdSet::default()),
        };
        visibility.known = visibility.current(app).await?;
        Ok(visibility)
    }

    /// What the subscriber sees now, as a fresh [`Known`].
    async fn current(&self, app: &App) -> Result<Known> {
        if self.principal.is_admin() && self.filter.is_none() {
            return Ok(Known::AllLiveExcept(IdSet::default()));
        }
        Ok(Known::Only(
            list_all(app, &self.principal, self.filter.as_ref()).await?,
        ))
    }

    fn was_visible(&self, id: &str) -> bool {
        match &self.known {
            Known::AllLiveExcept(hidden) => !hidden.contains(id),
            Known::Only(visible) => visible.contains(id),
        }
    }

    fn mark(&mut self, id: &str, visible: bool) {
        match (&mut self.known, visible) {
            (Known::AllLiveExcept(hidden), true) => hidden.remove(id),
            (Known::AllLiveExcept(hidden), false) => hidden.insert(id),
            (Known::Only(set), true) => set.insert(id),
            (Known::Only(set), false) => set.remove(id),
        }
    }

    /// The dashboards among `ids` visible to the subscriber now, with their rows: those of
    /// `known` (read once for every stream, at or after the events' revision), the others
    /// read here.
    async fn visible_now(
        &self,
        app: &App,
        ids: &[String],
        known: &HashMap<String, Option<Dashboard>>,
    ) -> Result<HashMap<String, Dashboard>> {
        let org = &self.principal.org_id;
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !known.contains_key(*id))
            .cloned()
            .collect();
        let mut rows: Vec<Dashboard> = known.values().flatten().cloned().collect();
        if !unknown.is_empty() {
            rows.extend(app.store.dashboards().get_many(org, &unknown).await?);
        }
        let live: Vec<Dashboard> = rows
            .into_iter()
            .filter(|d| d.delete_time.is_none())
            .collect();
        let access = app.authorizer.access_many(&self.principal, &live).await?;
        let mut visible: HashMap<String, Dashboard> = live
            .into_iter()
            .zip(access)
            .filter(|(_, a)| a.permissions.contains(Permission::Read))
            .map(|(d, _)| (d.id.clone(), d))
            .collect();
        if self.filter.is_some() && !visible.is_empty() {
            let candidates: Vec<String> = visible.keys().cloned().collect();
            let matching: HashSet<String> = app
                .store
                .dashboards()
                .matching(&self.list_query(), &candidates)
                .await?
                .into_iter()
                .collect();
            visible.retain(|id, _| matching.contains(id));
        }
        Ok(visible)
    }

    fn list_query(&self) -> ListQuery {
        ListQuery {
            facts: None,
            plan: Default::default(),
            org_id: self.principal.org_id.clone(),
            caller_id: self.principal.user_id.clone(),
            subjects: self.subjects.clone(),
            only_readable: false,
            now: now_micros(),
            page: ListPage {
                filter: self.filter.clone(),
                sort: SortKey::CreateTime,
                descending: false,
                after: None,
                show_deleted: false,
                limit: 0,
            },
        }
    }

    /// What `events` (of consecutive revisions, in order) mean to the subscriber, judged
    /// now; `ids` are the dashboards they touched, `known` the rows of those already read;
    /// `send` gets each in order and returns false once the subscriber is gone.
    pub async fn apply<F, Fut>(
        &mut self,
        app: &App,
        events: &[&Event],
        ids: &[String],
        known: &HashMap<String, Option<Dashboard>>,
        send: &mut F,
    ) -> Result<bool>
    where
        F: FnMut(Seen) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut now = if ids.is_empty() {
            HashMap::new()
        } else {
            self.visible_now(app, ids, known).await?
        };
        let mut start = 0;
        while start < events.len() {
            let revision = events[start].revision;
            let end = start + events[start..].partition_point(|e| e.revision == revision);
            let of_revision = &events[start..end];
            start = end;
            for (id, types) in by_dashboard(of_revision) {
                if let Some(seen) = self.judge(revision, &id, &types, &now) {
                    if !send(seen).await {
                        return Ok(false);
                    }
                }
            }
            if of_revision.iter().any(|e| self.reaches_me(e)) {
                if !self.resync(app, revision, of_revision, send).await? {
                    return Ok(false);
                }
                // Access changed: what follows is judged anew.
                if start < events.len() && !ids.is_empty() {
                    now = self.visible_now(app, ids, known).await?;
                }
            }
        }
        Ok(true)
    }

    /// The subscriber's event for dashboard `id` at `revision`, given what happened to it
    /// then (`types`) and what is visible now.
    fn judge(
        &mut self,
        revision: i64,
        id: &str,
        types: &[EventType],
        now: &HashMap<String, Dashboard>,
    ) -> Option<Seen> {
        let has = |t: EventType| types.contains(&t);
        // Created or undeleted here: it was not live before. That matters only when what the
        // subscriber was told is "every live dashboard but these"; an explicit set already
        // says it, and may hold the dashboard because a re-list (which reads the state as it
        // is, possibly after this revision) has just sent it as ADDED: not twice.
        let fresh = has(EventType::DashboardCreated) || has(EventType::DashboardUndeleted);
        let was = match &self.known {
            Known::AllLiveExcept(_) => !fresh && self.was_visible(id),
            Known::Only(_) => self.was_visible(id),
        };
        // Trashed or purged here: not visible after, whatever came later.
        let is = !(has(EventType::DashboardDeleted) || has(EventType::DashboardPurged))
            && now.contains_key(id);
        let kind = match (was, is) {
            (false, true) => Kind::Added,
            (true, false) => Kind::Removed,
            // Share changes that keep the dashboard visible change nothing it shows.
            (true, true) if types.iter().any(|t| shows(*t)) => Kind::Modified,
            _ => return None,
        };
        self.mark(id, is);
        Some(Seen {
            kind,
            revision,
            dashboard_id: id.to_string(),
            dashboard: is.then(|| now.get(id).cloned()).flatten(),
        })
    }

    /// An event that may change what the subscriber sees beyond the one dashboard it names:
    /// its own group memberships, its user record, any group deleted, any custom role
    /// changed, and what changes access to a whole folder's contents at once (a share on a
    /// folder, a folder moved, its inheritance changed, trashed or restored).
    fn reaches_me(&self, event: &Event) -> bool {
        let me = self.principal.user_name();
        if folder_wide(event) {
            return !matches!(self.known, Known::AllLiveExcept(_));
        }
        match event.change.r#type {
            EventType::GroupMemberAdded | EventType::GroupMemberRemoved => {
                event.change.grantee.as_deref() == Some(me.as_str())
                    && !matches!(self.known, Known::AllLiveExcept(_))
            }
            EventType::GroupDeleted | EventType::RoleUpdated | EventType::RoleDeleted => {
                !matches!(self.known, Known::AllLiveExcept(_))
            }
            EventType::UserUpserted => event.change.resource == me,
            _ => false,
        }
    }

    /// After a change of the subscriber's reach at `revision`: the principal as the
    /// directory now has it, what it sees now, and the differences as ADDED and REMOVED.
    async fn resync<F, Fut>(
        &mut self,
        app: &App,
        revision: i64,
        of_revision: &[&Event],
        send: &mut F,
    ) -> Result<bool>
    where
        F: FnMut(Seen) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let me = self.principal.user_name();
        let about_me = of_revision
            .iter()
            .any(|e| e.change.r#type == EventType::UserUpserted && e.change.resource == me);
        if about_me {
            let stored = app
                .store
                .users()
                .get(&self.principal.org_id, &self.principal.user_id)
                .await?;
            if let Some(user) = stored {
                let principal = user.effective(self.principal.clone())?;
                if principal.role == self.principal.role && self.principal.is_admin() {
                    // Still an ADMIN: sees what it saw.
                    return Ok(true);
                }
                self.principal = principal;
            }
        }
        self.subjects = app.authorizer.subjects(&self.principal).await?;
        let before = match std::mem::replace(&mut self.known, Known::Only(IdSet::default())) {
            Known::Only(set) => set,
            Known::AllLiveExcept(hidden) => {
                // What an ADMIN without a filter saw: every live dashboard but those it was
                // told are gone.
                let mut admin = self.principal.clone();
                admin.role = crate::core::PlatformRole::Admin;
                let mut set = list_all(app, &admin, None).await?;
                for id in hidden.ids() {
                    set.remove(&id);
                }
                set
            }
        };
        let after = self.current(app).await?;
        let after_set = match &after {
            Known::Only(set) => set,
            Known::AllLiveExcept(_) => {
                // Became an ADMIN without a filter: everything live is visible now.
                self.known = after;
                return Ok(true);
            }
        };
        let removed: Vec<String> = before.ids().filter(|id| !after_set.contains(id)).collect();
        let added: Vec<String> = after_set.ids().filter(|id| !before.contains(id)).collect();
        self.known = after;
        for id in removed {
            let seen = Seen {
                kind: Kind::Removed,
                revision,
                dashboard_id: id,
                dashboard: None,
            };
            if !send(seen).await {
                return Ok(false);
            }
        }
        for chunk in added.chunks(LOAD_PAGE as usize) {
            let rows = app
                .store
                .dashboards()
                .get_many(&self.principal.org_id, chunk)
                .await?;
            for dashboard in rows {
                let seen = Seen {
                    kind: Kind::Added,
                    revision,
                    dashboard_id: dashboard.id.clone(),
                    dashboard: Some(dashboard),
                };
                if !send(seen).await {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// An event that changes the access of every dashboard under a folder at once: a share on
/// a folder granted, changed or revoked; a folder moved (new folders above it), its
/// `inherit_access` changed, trashed or restored. An ADMIN without a filter sees every live
/// dashboard whatever the shares (and trashing records each dashboard's own event).
fn folder_wide(event: &Event) -> bool {
    let on_folder = event.change.resource.starts_with("folders/");
    match event.change.r#type {
        EventType::ShareGranted | EventType::ShareChanged | EventType::ShareRevoked => on_folder,
        EventType::FolderMoved | EventType::FolderDeleted | EventType::FolderUndeleted => true,
        // A new title or description changes no one's access.
        EventType::FolderUpdated => {
            event.change.changed_fields.is_empty()
                || event
                    .change
                    .changed_fields
                    .iter()
                    .any(|f| f == "inherit_access")
        }
        _ => false,
    }
}

/// Event types that change what a dashboard shows (its fields, widgets, layout, public
/// state), as opposed to who may see it.
fn shows(t: EventType) -> bool {
    !matches!(
        t,
        EventType::ShareGranted | EventType::ShareChanged | EventType::ShareRevoked
    )
}

/// The dashboards the events of one revision touched, in order of first mention, with the
/// types of what happened to each.
fn by_dashboard(events: &[&Event]) -> Vec<(String, Vec<EventType>)> {
    let mut out: Vec<(String, Vec<EventType>)> = Vec::new();
    for event in events {
        let Some(id) = &event.change.dashboard_id else {
            continue;
        };
        match out.iter_mut().find(|(d, _)| d == id) {
            Some((_, types)) => types.push(event.change.r#type),
            None => out.push((id.clone(), vec![event.change.r#type])),
        }
    }
    out
}

/// Every dashboard `principal` may READ and `filter` matches, by the listing's own
/// statements (the policy's SQL form).
async fn list_all(app: &App, principal: &Principal, filter: Option<&Filter>) -> Result<IdSet> {
    let mut set = IdSet::default();
    let mut after = None;
    loop {
        let page = ListPage {
            filter: filter.cloned(),
            sort: SortKey::CreateTime,
            descending: false,
            after: after.take(),
            show_deleted: false,
            limit: LOAD_PAGE,
        };
        let (_, entries) = crate::app::dashboards::list_ids(app, principal, page).await?;
        for (id, _) in &entries {
            set.insert(id);
        }
        match entries.last() {
            Some((id, key)) if entries.len() as u64 == LOAD_PAGE => {
                after = Some((key.clone(), id.clone()));
            }
            _ => return Ok(set),
        }
    }
}
