//! Groups: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup.

use super::{
    Page, PageRequest, check_description, check_display_name, check_etag, group_members, masked,
    ok_or_invalid, page_of, require_group_manager, require_manager_of,
};
use crate::app::{App, Write, Written};
use crate::core::directory::{Group, GroupKind};
use crate::core::error::echo;
use crate::core::event::{Change, EventType};
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, Violation, names, new_id};
use crate::store::groups::GroupQuery;

/// A group and its member ids (in id order; empty when not asked for).
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: Group,
    pub members: Vec<String>,
}

/// A group as a request sends it; `kind` is `None` when unspecified.
#[derive(Debug, Clone, Default)]
pub struct GroupFields {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub kind: Option<GroupKind>,
    pub tenant: String,
    pub etag: String,
    /// `users/{id}`: read by UpdateGroup only, when its mask names `members`.
    pub members: Vec<String>,
}

/// A group of the caller's org that the caller may see, or NOT_FOUND.
pub async fn get(app: &App, caller: &Principal, name: &str, field: &str) -> Result<GroupView> {
    let group = visible(app, caller, name, field).await?;
    let members = app
        .store
        .groups()
        .member_ids(app.store.db(), &group.id, None, None)
        .await?;
    Ok(GroupView { group, members })
}

pub(super) async fn visible(
    app: &App,
    caller: &Principal,
    name: &str,
    field: &str,
) -> Result<Group> {
    let id = names::parse_group_name(field, name)?;
    match app.store.groups().get(&caller.org_id, &id).await? {
        Some(group) if group.visible_to(caller) => Ok(group),
        _ => Err(Error::not_found(names::group_name(&id))),
    }
}

/// The group, locked for the rest of the write, if the caller may still see it.
pub(super) async fn lock_visible(
    app: &App,
    txn: &sea_orm::DatabaseTransaction,
    caller: &Principal,
    id: &str,
) -> Result<Group> {
    match app.store.groups().lock(txn, &caller.org_id, id).await? {
        Some(group) if group.visible_to(caller) => Ok(group),
        _ => Err(Error::not_found(names::group_name(id))),
    }
}

/// Begins a write that changes `group` (as read before the write, where the caller has
/// already checked `may_change` to fail fast): locks the group's row and decides
/// `may_change` again on what it is under the lock, which is what counts.
pub(super) async fn begin_change(
    app: &App,
    caller: &Principal,
    group: &Group,
    may_change: impl Fn(&Group) -> Result<()>,
) -> Result<(Write, Group)> {
    let write = app.write(&caller.org_id, caller.user_name()).await?;
    let group = lock_visible(app, write.txn(), caller, &group.id).await?;
    may_change(&group)?;
    Ok((write, group))
}

/// Commits the write with `group` as it leaves it and its members, as read in the write.
pub(super) async fn commit_view(
    app: &App,
    write: Write,
    group: Group,
) -> Result<Written<GroupView>> {
    let members = app
        .store
        .groups()
        .member_ids(write.txn(), &group.id, None, None)
        .await?;
    write.commit(GroupView { group, members }).await
}

/// CreateGroup: an org AUTHOR or ADMIN creates a group with its initial members.
pub async fn create(
    app: &App,
    caller: &Principal,
    fields: Option<GroupFields>,
    members: &[String],
) -> Result<Written<GroupView>> {
    require_group_manager(caller)?;
    let fields = fields.ok_or_else(|| Error::invalid("group", "required"))?;
    let mut violations = Vec::new();
    check_display_name(&mut violations, "group", &fields.display_name);
    check_description(&mut violations, "group", &fields.description);
    if fields.kind.is_none() {
        violations.push(Violation::new(
            "group.kind",
            "required: GROUP_KIND_ORG or GROUP_KIND_TENANT",
        ));
    }
    let tenant = Some(fields.tenant).filter(|t| !t.is_empty());
    match (fields.kind, &tenant) {
        (Some(GroupKind::Tenant), None) => {
            violations.push(Violation::new("group.tenant", "required for tenant groups"))
        }
        (Some(GroupKind::Org), Some(_)) => {
            violations.push(Violation::new("group.tenant", "org groups have no tenant"))
        }
        (_, Some(t)) if !names::is_valid_id(t) => violations.push(Violation::new(
            "group.tenant",
            "must be 1..128 of [A-Za-z0-9._@-]",
        )),
        _ => {}
    }
    ok_or_invalid(violations)?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let now = write.now();
    let new = Group {
        id: new_id(),
        org_id: caller.org_id.clone(),
        display_name: fields.display_name.trim().to_string(),
        description: fields.description,
        kind: fields.kind.unwrap_or(GroupKind::Org),
        tenant_id: tenant,
        revision: 1,
        create_time: now,
        update_time: now,
        member_count: 0,
        creator_id: Some(caller.user_id.clone()),
    };
    // A new group holds no shares yet, so its initial members gain nothing the caller
    // could not grant (GROUP_GRANTS_EXCEED_CALLER cannot apply); shares come later, by
    // callers holding SHARE on each dashboard.
    let member_ids =
        group_members::resolve(app, write.txn(), caller, &new, members, "members", true).await?;
    let created = app
        .store
        .groups()
        .create(write.txn(), &new, &member_ids)
        .await?;
    write.record(
        Change::new(EventType::GroupCreated, created.name()).fields([
            "display_name",
            "description",
            "kind",
            "tenant",
        ]),
    );
    for id in &member_ids {
        write.record(group_members::added(&created, id));
    }
    commit_view(app, write, created).await
}

/// ListGroups' filters, as sent (they make the page token's fingerprint).
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub search: String,
    pub kind: Option<GroupKind>,
    pub kind_code: i32,
    pub tenant: String,
    pub include_members: bool,
}

/// ListGroups: by (display_name, id); tenant users see only their tenant's groups.
pub async fn list(
    app: &App,
    caller: &Principal,
    filter: GroupFilter,
    page: PageRequest<'_>,
) -> Result<Page<GroupView>> {
    let mut tenant = Some(filter.tenant.clone()).filter(|t| !t.is_empty());
    if let Some(own) = &caller.tenant_id {
        if tenant.as_ref().is_some_and(|t| t != own) || filter.kind == Some(GroupKind::Org) {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: String::new(),
            });
        }
        tenant = Some(own.clone());
    }
    let fingerprint = page_token::fingerprint(&[
        &filter.search,
        &filter.kind_code.to_string(),
        &filter.tenant,
    ]);
    let after = page_token::decode(page.token, &fingerprint)?.map(|(v, id)| match v {
        CursorValue::Text(name) => (name, id),
        CursorValue::Int(_) => (String::new(), id),
    });
    let query = GroupQuery {
        org_id: caller.org_id.clone(),
        search: Some(filter.search.trim().to_string()).filter(|s| !s.is_empty()),
        kind: filter.kind,
        tenant_id: tenant,
        after,
        limit: page.size as u64 + 1,
    };
    let groups = app.store.groups().list(&query).await?;
    let page = page_of(groups, page.size, &fingerprint, |g| {
        (CursorValue::Text(g.display_name.clone()), g.id.clone())
    });
    let pairs = if filter.include_members {
        let ids: Vec<String> = page.items.iter().map(|g| g.id.clone()).collect();
        app.store.groups().members_of(&ids).await?
    } else {
        Vec::new()
    };
    let items = page
        .items
        .into_iter()
        .map(|group| {
            let mut members: Vec<String> = pairs
                .iter()
                .filter(|(g, _)| *g == group.id)
                .map(|(_, u)| u.clone())
                .collect();
            members.sort();
            GroupView { group, members }
        })
        .collect();
    Ok(Page {
        items,
        next_page_token: page.next_page_token,
    })
}

/// UpdateGroup: the group's managers change its display name and description, and with
/// `members` in the mask replace its member set (see `group_members::replace`). An empty
/// mask means display name and description, when set.
pub async fn update(
    app: &App,
    caller: &Principal,
    fields: Option<GroupFields>,
    mask: Vec<String>,
) -> Result<Written<GroupView>> {
    let fields = fields.ok_or_else(|| Error::invalid("group", "required"))?;
    let current = visible(app, caller, &fields.name, "group.name").await?;
    require_manager_of(caller, &current)?;
    let (mut display_name, mut description, mut members) = (None, None, None);
    let mut violations = Vec::new();
    let paths: Vec<String> = if mask.is_empty() {
        let mut implied = Vec::new();
        if !fields.display_name.is_empty() {
            implied.push("display_name".to_string());
        }
        if !fields.description.is_empty() {
            implied.push("description".to_string());
        }
        implied
    } else {
        mask
    };
    for path in &paths {
        match path.as_str() {
            "display_name" => {
                check_display_name(&mut violations, "group", &fields.display_name);
                display_name = Some(fields.display_name.trim().to_string());
            }
            "description" => {
                check_description(&mut violations, "group", &fields.description);
                description = Some(fields.description.clone());
            }
            "members" => {
                group_members::check_replacement(&mut violations, &fields.members);
                members = Some(fields.members.as_slice());
            }
            other => violations.push(Violation::new(
                "update_mask",
                format!(
                    "cannot update {}: updatable fields are display_name, description, members",
                    echo(other)
                ),
            )),
        }
    }
    if paths.is_empty() {
        violations.push(Violation::new("update_mask", "names no field to update"));
    }
    ok_or_invalid(violations)?;
    // Decided again under the group's lock: what it is now, who manages it, its etag.
    let (mut write, current) =
        begin_change(app, caller, &current, |g| require_manager_of(caller, g)).await?;
    check_etag(&fields.etag, &current.etag(), &current.name())?;
    let now = write.now();
    let changed = masked(&["display_name", "description"], &paths);
    let mut updated = current;
    if !changed.is_empty() {
        updated = app
            .store
            .groups()
            .update(write.txn(), &updated, display_name, description, now)
            .await?
            .ok_or_else(|| Error::EtagMismatch {
                resource: updated.name(),
            })?;
        write.record(Change::new(EventType::GroupUpdated, updated.name()).fields(changed));
    }
    if let Some(members) = members {
        group_members::replace(app, &mut write, caller, &updated, members).await?;
        updated = app
            .store
            .groups()
            .get_in(write.txn(), &caller.org_id, &updated.id)
            .await?
            .ok_or_else(|| Error::not_found(updated.name()))?;
    }
    commit_view(app, write, updated).await
}

/// DeleteGroup: deletes the group, its memberships and the shares granted to it on
/// dashboards and folders (each recorded as SHARE_REVOKED on its share's name).
pub async fn delete(app: &App, caller: &Principal, name: &str, etag: &str) -> Result<Written<()>> {
    let group = visible(app, caller, name, "name").await?;
    require_manager_of(caller, &group)?;
    let (mut write, group) =
        begin_change(app, caller, &group, |g| require_manager_of(caller, g)).await?;
    check_etag(etag, &group.etag(), &group.name())?;
    let revoked = app
        .store
        .groups()
        .delete(write.txn(), &caller.org_id, &group.id)
        .await?
        .ok_or_else(|| Error::not_found(group.name()))?;
    let grantee = group.name();
    for grant in &revoked {
        write.record(
            Change::new(EventType::ShareRevoked, grant.name())
                .on_dashboard_of(&grant.on)
                .grant(&grantee, &grant.role),
        );
    }
    write.record(Change::new(EventType::GroupDeleted, group.name()));
    write.commit(()).await
}
