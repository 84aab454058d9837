//! Group membership: AddGroupMember, RemoveGroupMember, ListGroupMembers, and the member
//! checks CreateGroup shares. Each change is one GROUP_MEMBER_ADDED/REMOVED event on
//! `groups/G` with the member as its grantee.

use std::collections::{HashMap, HashSet};

use sea_orm::DatabaseTransaction;

use super::groups::{GroupView, begin_change, commit_view, visible};
use super::{Page, PageRequest, ok_or_invalid, page_of, require_manager_of};
use crate::app::{App, Written};
use crate::core::authz::{PermissionSet, ShareTarget};
use crate::core::directory::{Group, GroupKind, User};
use crate::core::error::echo;
use crate::core::event::{Change, EventType};
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, Principal, Result, Violation, names};

const MAX_MEMBERS_PER_CALL: usize = 1_000;
/// Dashboards per statement when checking what a group holds against its new member's adder.
const GRANT_CHECK_BATCH: usize = 500;

/// The event of `user_id` joining `group`.
pub(super) fn added(group: &Group, user_id: &str) -> Change {
    member_change(EventType::GroupMemberAdded, &group.id, user_id)
}

fn member_change(r#type: EventType, group_id: &str, user_id: &str) -> Change {
    let mut change = Change::new(r#type, names::group_name(group_id));
    change.grantee = Some(names::user_name(user_id));
    change
}

/// Resolves member names for a group, in the write's transaction: each must be a user of
/// the org the caller sees (and of the group's tenant for tenant groups). Violations name
/// `field[i]`, or `field` alone for a single-user request (`indexed` false). Returns the
/// ids without repeats, in the order given.
pub(super) async fn resolve(
    app: &App,
    txn: &DatabaseTransaction,
    caller: &Principal,
    group: &Group,
    members: &[String],
    field: &str,
    indexed: bool,
) -> Result<Vec<String>> {
    let field_at = |i: usize| {
        if indexed {
            format!("{field}[{i}]")
        } else {
            field.to_string()
        }
    };
    if members.len() > MAX_MEMBERS_PER_CALL {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_MEMBERS_PER_CALL} members per call"),
        ));
    }
    let mut violations = Vec::new();
    let mut ids = Vec::new();
    for (i, name) in members.iter().enumerate() {
        match names::parse_user_name(&field_at(i), name) {
            Ok(id) => ids.push((i, id)),
            Err(Error::InvalidArgument { violations: v, .. }) => violations.extend(v),
            Err(other) => return Err(other),
        }
    }
    let wanted: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    let users: Vec<User> = app
        .store
        .users()
        .get_many_in(txn, &caller.org_id, &wanted)
        .await?;
    for (i, id) in &ids {
        match users.iter().find(|u| &u.id == id) {
            Some(user) if user.visible_to(caller) => {
                if group.kind == GroupKind::Tenant && user.tenant_id != group.tenant_id {
                    violations.push(Violation::new(
                        field_at(*i),
                        format!(
                            "users/{id} is not a user of tenant {:?}",
                            group.tenant_id.clone().unwrap_or_default()
                        ),
                    ));
                }
            }
            _ => violations.push(Violation::new(
                field_at(*i),
                format!("unknown user users/{id}"),
            )),
        }
    }
    ok_or_invalid(violations)?;
    let mut seen = HashSet::new();
    Ok(ids
        .into_iter()
        .map(|(_, id)| id)
        .filter(|id| seen.insert(id.clone()))
        .collect())
}

/// AddGroupMember: a manager of the group adds a user. Adding anyone to a group gives them
/// what the group holds, so the check of that is decided under the group's lock.
pub async fn add(
    app: &App,
    caller: &Principal,
    group_name: &str,
    user: &str,
) -> Result<Written<GroupView>> {
    let group = visible(app, caller, group_name, "group").await?;
    require_manager_of(caller, &group)?;
    let (mut write, group) =
        begin_change(app, caller, &group, |g| require_manager_of(caller, g)).await?;
    check_group_grants(app, write.txn(), caller, &group).await?;
    let ids = resolve(
        app,
        write.txn(),
        caller,
        &group,
        std::slice::from_ref(&user.to_string()),
        "user",
        false,
    )
    .await?;
    let groups = app.store.groups();
    let now = write.now();
    for id in ids {
        if groups
            .add_member(write.txn(), &caller.org_id, &group.id, &id, now)
            .await?
        {
            write.record(added(&group, &id));
        }
    }
    view_and_commit(app, write, caller, &group.id).await
}

/// RemoveGroupMember: anyone may leave a group; removing others is the managers'.
pub async fn remove(
    app: &App,
    caller: &Principal,
    group_name: &str,
    user: &str,
) -> Result<Written<GroupView>> {
    let group = visible(app, caller, group_name, "group").await?;
    let user_id = names::parse_user_name("user", user)?;
    let may_remove = |g: &Group| {
        if user_id == caller.user_id {
            Ok(())
        } else {
            require_manager_of(caller, g)
        }
    };
    may_remove(&group)?;
    let (mut write, group) = begin_change(app, caller, &group, may_remove).await?;
    let now = write.now();
    if !app
        .store
        .groups()
        .remove_member(write.txn(), &group.id, &user_id, now)
        .await?
    {
        return Err(Error::not_found(format!(
            "{} in {}",
            names::user_name(&user_id),
            group.name()
        )));
    }
    write.record(member_change(
        EventType::GroupMemberRemoved,
        &group.id,
        &user_id,
    ));
    view_and_commit(app, write, caller, &group.id).await
}

/// The request field UpdateGroup's member list comes in.
const REPLACEMENT_FIELD: &str = "group.members";

/// A member list replacing a group's members, checked on its own: at most
/// MAX_MEMBERS_PER_CALL entries, each user named once (`group.members[i]` otherwise).
pub(super) fn check_replacement(violations: &mut Vec<Violation>, members: &[String]) {
    if members.len() > MAX_MEMBERS_PER_CALL {
        violations.push(Violation::new(
            REPLACEMENT_FIELD,
            format!(
                "at most {MAX_MEMBERS_PER_CALL} members per call (got {})",
                members.len()
            ),
        ));
        return;
    }
    let mut seen = HashSet::new();
    for (i, name) in members.iter().enumerate() {
        if !seen.insert(name.trim()) {
            violations.push(Violation::new(
                format!("{REPLACEMENT_FIELD}[{i}]"),
                format!("{} is named more than once", echo(name)),
            ));
        }
    }
}

/// UpdateGroup's `members`: `members` becomes the member set of `group` (locked by the
/// write, its manager checked). Each member added is resolved as AddGroupMember resolves
/// it, and adding anyone needs what AddGroupMember needs (the group-join rule,
/// [`check_group_grants`]); removing needs the manager, as RemoveGroupMember for others.
/// Records one GROUP_MEMBER_ADDED per user added (in the order given) and one
/// GROUP_MEMBER_REMOVED per user removed (in id order); nothing when the set is unchanged.
pub(super) async fn replace(
    app: &App,
    write: &mut crate::app::Write,
    caller: &Principal,
    group: &Group,
    members: &[String],
) -> Result<()> {
    let wanted = resolve(
        app,
        write.txn(),
        caller,
        group,
        members,
        REPLACEMENT_FIELD,
        true,
    )
    .await?;
    let groups = app.store.groups();
    let current: HashSet<String> = groups
        .member_ids(write.txn(), &group.id, None, None)
        .await?
        .into_iter()
        .collect();
    let wanted_set: HashSet<&String> = wanted.iter().collect();
    let joining: Vec<String> = wanted
        .iter()
        .filter(|id| !current.contains(*id))
        .cloned()
        .collect();
    let mut leaving: Vec<String> = current
        .iter()
        .filter(|id| !wanted_set.contains(id))
        .cloned()
        .collect();
    leaving.sort();
    if !joining.is_empty() {
        check_group_grants(app, write.txn(), caller, group).await?;
    }
    if joining.is_empty() && leaving.is_empty() {
        return Ok(());
    }
    let now = write.now();
    groups
        .replace_members(write.txn(), group, &joining, &leaving, now)
        .await?;
    for id in &joining {
        write.record(added(group, id));
    }
    for id in &leaving {
        write.record(member_change(EventType::GroupMemberRemoved, &group.id, id));
    }
    Ok(())
}

/// The group as the write leaves it, committed.
async fn view_and_commit(
    app: &App,
    write: crate::app::Write,
    caller: &Principal,
    group_id: &str,
) -> Result<Written<GroupView>> {
    let group = app
        .store
        .groups()
        .get_in(write.txn(), &caller.org_id, group_id)
        .await?
        .ok_or_else(|| Error::not_found(names::group_name(group_id)))?;
    commit_view(app, write, group).await
}

/// ListGroupMembers: the members of a group the caller sees, in id order.
pub async fn list(
    app: &App,
    caller: &Principal,
    group_name: &str,
    page: PageRequest<'_>,
) -> Result<Page<User>> {
    let group = visible(app, caller, group_name, "group").await?;
    let fingerprint = page_token::fingerprint(&[&group.id]);
    let after = page_token::decode::<CursorValue>(page.token, &fingerprint)?.map(|(_, id)| id);
    let ids = app
        .store
        .groups()
        .member_ids(
            app.store.db(),
            &group.id,
            after.as_deref(),
            Some(page.size as u64 + 1),
        )
        .await?;
    let ids = page_of(ids, page.size, &fingerprint, |id| {
        (CursorValue::Text(id.clone()), id.clone())
    });
    let mut users = app
        .store
        .users()
        .get_many(&caller.org_id, &ids.items)
        .await?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Page {
        items: users,
        next_page_token: ids.next_page_token,
    })
}

/// Adding anyone to a group gives them what the group holds, so only a caller that holds
/// it may: every active share of the group must be within the caller's own permissions on
/// that dashboard or folder, as if the caller were granting it (PERMISSION_DENIED
/// `GROUP_GRANTS_EXCEED_CALLER` otherwise). ADMINs hold everything on their org's
/// dashboards and folders. The group's shares are read in the write, after its row was
/// locked. The message counts them and names none: the caller may not be able to read them.
async fn check_group_grants(
    app: &App,
    txn: &DatabaseTransaction,
    caller: &Principal,
    group: &Group,
) -> Result<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let now = crate::core::now_micros();
    let grants: Vec<_> = app
        .store
        .groups()
        .grants_to_in(txn, &caller.org_id, &group.id)
        .await?
        .into_iter()
        .filter(|g| g.is_active(now))
        .collect();
    if grants.is_empty() {
        return Ok(());
    }
    let book = app.authorizer.role_book(&caller.org_id, &grants).await?;
    // What the group holds on each dashboard and on each folder.
    let mut held: HashMap<String, PermissionSet> = HashMap::new();
    let mut held_folders: HashMap<String, PermissionSet> = HashMap::new();
    let mut held_library_widgets: HashMap<String, PermissionSet> = HashMap::new();
    for g in &grants {
        let (map, id) = match &g.on {
            ShareTarget::Dashboard(id) => (&mut held, id),
            ShareTarget::Folder(id) => (&mut held_folders, id),
            ShareTarget::LibraryWidget(id) => (&mut held_library_widgets, id),
        };
        let entry = map.entry(id.clone()).or_default();
        *entry = entry.union(book.permissions(&g.role));
    }
    let ids: Vec<String> = held.keys().cloned().collect();
    let mut exceeded = 0;
    // In slices: a group may be shared on more dashboards than one statement binds.
    for ids in ids.chunks(GRANT_CHECK_BATCH) {
        let dashboards = app.store.dashboards().get_many(&caller.org_id, ids).await?;
        let access = app.authorizer.access_many(caller, &dashboards).await?;
        exceeded += dashboards
            .iter()
            .zip(&access)
            .filter(|(d, a)| {
                held.get(&d.id)
                    .is_some_and(|p| !p.is_subset_of(a.permissions))
            })
            .count();
    }
    // A folder's shares reach everything that inherits from it: the caller must hold them
    // on the folder itself (its own shares and those it inherits).
    let ids: Vec<String> = held_folders.keys().cloned().collect();
    for ids in ids.chunks(GRANT_CHECK_BATCH) {
        let folders = app
            .store
            .folder_shares()
            .folders(txn, &caller.org_id, ids)
            .await?;
        for folder in &folders {
            let access = app.authorizer.folder_access(caller, folder, false).await?;
            if held_folders
                .get(&folder.id)
                .is_some_and(|p| !p.is_subset_of(access.permissions))
            {
                exceeded += 1;
            }
        }
    }
    exceeded +=
        crate::app::library_widgets::exceeded_by(app, caller, &held_library_widgets).await?;
    if exceeded == 0 {
        return Ok(());
    }
    Err(Error::permission_denied(
        "GROUP_GRANTS_EXCEED_CALLER",
        format!(
            "{} holds permissions the caller does not hold on {exceeded} dashboard(s), \
             folder(s) or library widget(s): only a caller holding them, or an ADMIN, may add members",
            group.name()
        ),
    ))
}
