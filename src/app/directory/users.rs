//! Users: UpsertUser (ADMINs), GetUser, ListUsers.

use super::{MAX_NAME_CHARS, Page, PageRequest, check_text, ok_or_invalid, page_of, require_admin};
use crate::app::{App, Written};
use crate::core::directory::User;
use crate::core::event::{Change, EventType};
use crate::core::page_token::{self, CursorValue};
use crate::core::{Error, PlatformRole, Principal, Result, Violation, names};
use crate::store::users::UserQuery;

/// A user as an ADMIN sets it (UpsertUser's `user`); `role` is `None` when unspecified.
#[derive(Debug, Clone, Default)]
pub struct UserFields {
    pub name: String,
    pub email: String,
    pub display_name: String,
    pub role: Option<PlatformRole>,
    pub tenant: String,
}

/// UpsertUser: an ADMIN creates or replaces a user of the org; the directory is then the
/// source of truth for the user's role and tenant (DESIGN §4.3). A user that moves to
/// another tenant leaves the old tenant's groups in the same write.
pub async fn upsert(
    app: &App,
    caller: &Principal,
    fields: Option<UserFields>,
) -> Result<Written<User>> {
    require_admin(caller, "users")?;
    let fields = fields.ok_or_else(|| Error::invalid("user", "required"))?;
    let id = names::parse_user_name("user.name", &fields.name)?;
    let mut violations = Vec::new();
    if fields.role.is_none() {
        violations.push(Violation::new(
            "user.role",
            "required: VIEWER, POWER_USER, AUTHOR or ADMIN",
        ));
    }
    check_text(
        &mut violations,
        "user.display_name",
        &fields.display_name,
        MAX_NAME_CHARS,
        false,
    );
    let email = fields.email;
    if !email.is_empty() && (!email.contains('@') || email.len() > 320) {
        violations.push(Violation::new("user.email", "not an email address"));
    }
    let tenant = Some(fields.tenant).filter(|t| !t.is_empty());
    if let Some(t) = &tenant
        && !names::is_valid_id(t)
    {
        violations.push(Violation::new(
            "user.tenant",
            "must be 1..128 of [A-Za-z0-9._@-]",
        ));
    }
    if let Some(Err(why)) = fields.role.map(|r| r.check_tenant(tenant.as_deref())) {
        violations.push(Violation::new("user.tenant", why));
    }
    ok_or_invalid(violations)?;
    let mut write = app.write(&caller.org_id, caller.user_name()).await?;
    let now = write.now();
    let user = User {
        org_id: caller.org_id.clone(),
        id,
        tenant_id: tenant,
        email: Some(email).filter(|e| !e.is_empty()),
        display_name: fields.display_name,
        role: fields.role.unwrap_or(PlatformRole::Viewer),
        create_time: now,
        update_time: now,
        role_set_by_admin: true,
        withheld_email: None,
    };
    let stored = app.store.users().upsert(write.txn(), &user).await?;
    record_user_write(&mut write, &stored.user, &stored.left_groups);
    write.commit(stored.user).await
}

/// The events of a user row written: USER_UPSERTED, and GROUP_MEMBER_REMOVED for each
/// group of a former tenant the user left.
pub(crate) fn record_user_write(write: &mut crate::app::Write, user: &User, left: &[String]) {
    let user_name = names::user_name(&user.id);
    write.record(Change::new(EventType::UserUpserted, &user_name));
    for group_id in left {
        let mut change = Change::new(EventType::GroupMemberRemoved, names::group_name(group_id));
        change.grantee = Some(user_name.clone());
        write.record(change);
    }
}

/// A user of the caller's org that the caller may see (`users/me` is the caller), or
/// NOT_FOUND.
pub async fn get(app: &App, caller: &Principal, name: &str, field: &str) -> Result<User> {
    let id = match name {
        "users/me" => caller.user_id.clone(),
        other => names::parse_user_name(field, other)?,
    };
    match app.store.users().get(&caller.org_id, &id).await? {
        Some(user) if user.visible_to(caller) => Ok(user),
        _ => Err(Error::not_found(names::user_name(&id))),
    }
}

/// ListUsers' filters.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub search: String,
    /// `Some(true)`: tenant users only; `Some(false)`: org users only.
    pub tenant_users: Option<bool>,
    /// The request's `type`, as sent (part of the page token's fingerprint).
    pub type_code: i32,
    pub tenant: String,
}

/// ListUsers: the users of the caller's org it may see, in id order.
pub async fn list(
    app: &App,
    caller: &Principal,
    filter: UserFilter,
    page: PageRequest<'_>,
) -> Result<Page<User>> {
    let fingerprint = page_token::fingerprint(&[
        &filter.search,
        &filter.type_code.to_string(),
        &filter.tenant,
    ]);
    let after = page_token::decode::<CursorValue>(page.token, &fingerprint)?.map(|(_, id)| id);
    let query = UserQuery {
        org_id: caller.org_id.clone(),
        search: Some(filter.search.trim().to_string()).filter(|s| !s.is_empty()),
        tenant_users: filter.tenant_users,
        tenant_id: Some(filter.tenant).filter(|t| !t.is_empty()),
        visible_to_tenant: caller.tenant_id.clone(),
        after_id: after,
        limit: page.size as u64 + 1,
    };
    let users = app.store.users().list(&query).await?;
    Ok(page_of(users, page.size, &fingerprint, |u| {
        (CursorValue::Text(u.id.clone()), u.id.clone())
    }))
}
