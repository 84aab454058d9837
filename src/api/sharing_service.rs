//! SharingService: shares, members, owners, access explanations, public links.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use tonic::{Request, Response, Status};

use super::{convert, parse_dashboard_names, principal};
use crate::app::Authorizer;
use crate::core::authz::{
    Access, BuiltinRole, Grant, GranteeKind, Permission, PermissionSet, RoleBook, ceiling,
    check_grantee_scope, check_role_change, may_create_dashboards, may_manage_directory,
    may_manage_groups,
};
use crate::core::dashboard::{Dashboard, Limits};
use crate::core::directory::{Group, PublicLink, User, tenant_visible_to};
use crate::core::error::echo;
use crate::core::{Error, Micros, Principal, Result, Violation, names, new_id, now_micros};
use crate::pb;
use crate::pb::sharing_service_server::SharingService;
use crate::store::Store;
use crate::store::shares::ShareUpsert;

const MAX_INVITES: usize = 1_000;

pub struct SharingApi {
    store: Store,
    authorizer: Authorizer,
    limits: Limits,
}

impl SharingApi {
    pub fn new(store: Store, limits: Limits) -> Self {
        Self {
            authorizer: Authorizer::new(store.clone()),
            store,
            limits,
        }
    }
}

/// A role named on input, resolved: `(roles/{id}, permissions)`.
struct ResolvedRole {
    name: String,
    permissions: PermissionSet,
}

impl SharingApi {
    /// The dashboard for an access-management call: SHARE needed, not in the trash.
    async fn managed(
        &self,
        caller: &Principal,
        name: &str,
        field: &str,
    ) -> Result<(Dashboard, Access)> {
        let id = names::parse_dashboard_name(field, name)?;
        let (dashboard, access) = self
            .authorizer
            .dashboard(caller, &id, Permission::Share)
            .await?;
        if dashboard.is_deleted() {
            return Err(Error::failed_precondition(
                "DASHBOARD_DELETED",
                dashboard.name(),
                "the dashboard is in the trash; undelete it first",
            ));
        }
        Ok((dashboard, access))
    }

    /// Built-in role or alias, or a custom role of the org.
    async fn resolve_role(&self, org_id: &str, input: &str, field: &str) -> Result<ResolvedRole> {
        if input.is_empty() {
            return Err(Error::invalid(
                field,
                "required: e.g. roles/viewer or readonly",
            ));
        }
        if let Some(builtin) = BuiltinRole::parse(input) {
            return Ok(ResolvedRole {
                name: builtin.name().to_string(),
                permissions: builtin.permissions(),
            });
        }
        match self.store.roles().get(org_id, input).await? {
            Some(role) => Ok(ResolvedRole {
                name: role.name,
                permissions: role.permissions,
            }),
            None => Err(Error::invalid(
                field,
                format!("unknown role {}", echo(input)),
            )),
        }
    }

    /// The user a grantee names, if it exists in the org and the caller may see it. Unknown,
    /// other-org and other-tenant users are the same INVALID_ARGUMENT: nothing leaks.
    async fn resolve_user(&self, caller: &Principal, by: UserRef<'_>, field: &str) -> Result<User> {
        let found = match by {
            UserRef::Name(name) => {
                let id = names::parse_user_name(field, name)?;
                self.store.users().get(&caller.org_id, &id).await?
            }
            UserRef::Email(email) => {
                self.store
                    .users()
                    .find_by_email(&caller.org_id, email)
                    .await?
            }
        };
        match found {
            Some(user) if user.visible_to(caller) => {
                check_grantee_scope(
                    caller,
                    GranteeKind::User,
                    &user.id,
                    user.tenant_id.as_deref(),
                )?;
                Ok(user)
            }
            _ => Err(Error::invalid(field, "unknown user")),
        }
    }

    /// `(kind, grantee_id)` of a grantee, checked against the directory and tenant scope.
    async fn resolve_grantee(
        &self,
        caller: &Principal,
        grantee: Option<&pb::Grantee>,
        field: &str,
    ) -> Result<(GranteeKind, String)> {
        use pb::grantee::Kind;
        let kind = grantee.and_then(|g| g.kind.as_ref()).ok_or_else(|| {
            Error::invalid(
                field,
                "required: one of user, email, group, tenant, all_tenants, org_members, everyone",
            )
        })?;
        let resolved = match kind {
            Kind::User(name) => (
                GranteeKind::User,
                self.resolve_user(caller, UserRef::Name(name), &format!("{field}.user"))
                    .await?
                    .id,
            ),
            Kind::Email(email) => (
                GranteeKind::User,
                self.resolve_user(caller, UserRef::Email(email), &format!("{field}.email"))
                    .await?
                    .id,
            ),
            Kind::Group(name) => {
                let field = format!("{field}.group");
                let id = names::parse_group_name(&field, name)?;
                match self.store.groups().get(&caller.org_id, &id).await? {
                    Some(group) if group.visible_to(caller) => {
                        check_grantee_scope(
                            caller,
                            GranteeKind::Group,
                            &group.id,
                            group.tenant_id.as_deref(),
                        )?;
                        (GranteeKind::Group, group.id)
                    }
                    _ => return Err(Error::invalid(field, "unknown group")),
                }
            }
            Kind::Tenant(tenant) => {
                if !names::is_valid_id(tenant) {
                    return Err(Error::invalid(
                        format!("{field}.tenant"),
                        "must be 1..128 of [A-Za-z0-9._@-]",
                    ));
                }
                (GranteeKind::Tenant, tenant.clone())
            }
            Kind::AllTenants(true) => (GranteeKind::AllTenants, String::new()),
            Kind::OrgMembers(true) => (GranteeKind::OrgMembers, String::new()),
            Kind::Everyone(true) => (GranteeKind::Everyone, String::new()),
            Kind::AllTenants(false) | Kind::OrgMembers(false) | Kind::Everyone(false) => {
                return Err(Error::invalid(
                    field,
                    "an audience grantee must be set to true",
                ));
            }
        };
        if !matches!(resolved.0, GranteeKind::User | GranteeKind::Group) {
            check_grantee_scope(caller, resolved.0, &resolved.1, None)?;
        }
        Ok(resolved)
    }

    fn expire_time(
        &self,
        value: Option<&prost_types::Timestamp>,
        field: &str,
    ) -> Result<Option<Micros>> {
        let Some(t) = value else { return Ok(None) };
        let micros = convert::micros_of(field, t)?;
        if micros <= now_micros() {
            return Err(Error::invalid(field, "must be in the future"));
        }
        Ok(Some(micros))
    }

    /// Fails when adding `new` shares would pass the per-dashboard limit.
    fn check_share_limit(
        &self,
        existing: &[Grant],
        upserts: &[ShareUpsert],
        dashboard: &Dashboard,
    ) -> Result<()> {
        let added = upserts
            .iter()
            .filter(|u| {
                !existing
                    .iter()
                    .any(|g| g.kind == u.kind && g.grantee_id == u.grantee_id)
            })
            .count();
        if existing.len() + added > self.limits.max_shares_per_dashboard {
            return Err(Error::failed_precondition(
                "SHARE_LIMIT_REACHED",
                dashboard.name(),
                format!(
                    "a dashboard has at most {} shares",
                    self.limits.max_shares_per_dashboard
                ),
            ));
        }
        Ok(())
    }

    async fn role_permissions(&self, org_id: &str, grants: &[Grant]) -> Result<RoleBook> {
        self.authorizer.role_book(org_id, grants).await
    }

    /// The principal a CheckAccess is about: the caller, or a user the caller may inspect.
    async fn subject_principal(&self, caller: &Principal, name: &str) -> Result<Principal> {
        if name.is_empty() || name == "users/me" {
            return Ok(caller.clone());
        }
        let id = names::parse_user_name("principal", name)?;
        if id == caller.user_id {
            return Ok(caller.clone());
        }
        match self.store.users().get(&caller.org_id, &id).await? {
            Some(user) if user.visible_to(caller) => Ok(user.as_principal()),
            _ => Err(Error::not_found(names::user_name(&id))),
        }
    }

    /// The shares a caller may see in a sharing view: for tenant users, the same rules as
    /// the directory and ListMembers (`User::visible_to`, `Group::visible_to`,
    /// [`tenant_visible_to`]): org users, their own tenant's users, groups and tenant grant,
    /// and the org-wide audiences; never another tenant's ids. Org users see every share. A user share whose user the directory no
    /// longer knows has no tenant to show, so tenant users do not see it.
    async fn visible_shares(&self, caller: &Principal, shares: Vec<Grant>) -> Result<Vec<Grant>> {
        if caller.tenant_id.is_none() {
            return Ok(shares);
        }
        let ids_of = |kind: GranteeKind| -> Vec<String> {
            shares
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| s.grantee_id.clone())
                .collect()
        };
        let users: HashMap<String, User> = self
            .store
            .users()
            .get_many(&caller.org_id, &ids_of(GranteeKind::User))
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        let groups: HashMap<String, Group> = self
            .store
            .groups()
            .get_many(&caller.org_id, &ids_of(GranteeKind::Group))
            .await?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        Ok(shares
            .into_iter()
            .filter(|s| match s.kind {
                GranteeKind::User => users
                    .get(&s.grantee_id)
                    .is_some_and(|u| u.visible_to(caller)),
                GranteeKind::Group => groups
                    .get(&s.grantee_id)
                    .is_some_and(|g| g.visible_to(caller)),
                GranteeKind::Tenant => tenant_visible_to(caller, Some(&s.grantee_id)),
                GranteeKind::AllTenants | GranteeKind::OrgMembers | GranteeKind::Everyone => true,
            })
            .collect())
    }

    async fn owners(&self, caller: &Principal, dashboard_id: &str) -> Result<Vec<pb::User>> {
        let now = now_micros();
        let grants = self.store.shares().list(dashboard_id).await?;
        let ids: Vec<String> = grants
            .iter()
            .filter(|g| g.is_owner_grant() && g.is_active(now))
            .map(|g| g.grantee_id.clone())
            .collect();
        let mut users = self.store.users().get_many(&caller.org_id, &ids).await?;
        users.retain(|u| u.visible_to(caller));
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users.iter().map(convert::user).collect())
    }
}

enum UserRef<'a> {
    Name(&'a str),
    Email(&'a str),
}

fn permission_or_read(value: i32, field: &str) -> Result<Permission> {
    if value == 0 {
        return Ok(Permission::Read);
    }
    convert::permission_from(value).ok_or_else(|| Error::invalid(field, "unknown permission"))
}

#[tonic::async_trait]
impl SharingService for SharingApi {
    async fn share_dashboard(
        &self,
        request: Request<pb::ShareDashboardRequest>,
    ) -> Result<Response<pb::Share>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (dashboard, access) = self.managed(&caller, &request.name, "name").await?;
        let role = self
            .resolve_role(&caller.org_id, &request.role, "role")
            .await?;
        let (kind, grantee_id) = self
            .resolve_grantee(&caller, request.grantee.as_ref(), "grantee")
            .await?;
        let expire_time = self.expire_time(request.expire_time.as_ref(), "expire_time")?;
        let existing = self.store.shares().list(&dashboard.id).await?;
        let previous = existing
            .iter()
            .find(|g| g.kind == kind && g.grantee_id == grantee_id);
        let book = self.role_permissions(&caller.org_id, &existing).await?;
        check_role_change(
            access.permissions,
            Some((&role.name, role.permissions)),
            previous.map(|g| (g.role.as_str(), book.permissions(&g.role))),
        )?;
        let upsert = ShareUpsert {
            kind,
            grantee_id,
            role: role.name,
            expire_time,
        };
        self.check_share_limit(&existing, std::slice::from_ref(&upsert), &dashboard)?;
        let mut changed = self
            .store
            .shares()
            .change(
                &caller.org_id,
                &dashboard.id,
                &caller.user_id,
                &[upsert],
                &[],
                now_micros(),
            )
            .await?;
        let share = changed
            .pop()
            .ok_or_else(|| Error::internal("share not returned"))?;
        Ok(Response::new(convert::share(&share)))
    }

    async fn revoke_share(
        &self,
        request: Request<pb::RevokeShareRequest>,
    ) -> Result<Response<pb::RevokeShareResponse>, Status> {
        let caller = principal(&request)?;
        let (dashboard_id, share_id) =
            names::parse_child_name("name", &request.get_ref().name, "shares")?;
        let (dashboard, access) = self
            .managed(&caller, &names::dashboard_name(&dashboard_id), "name")
            .await?;
        let share = self
            .store
            .shares()
            .get(&dashboard.id, &share_id)
            .await?
            .ok_or_else(|| Error::not_found(names::share_name(&dashboard.id, &share_id)))?;
        let book = self
            .role_permissions(&caller.org_id, std::slice::from_ref(&share))
            .await?;
        check_role_change(
            access.permissions,
            None,
            Some((&share.role, book.permissions(&share.role))),
        )?;
        self.store
            .shares()
            .change(
                &caller.org_id,
                &dashboard.id,
                &caller.user_id,
                &[],
                &[share.id],
                now_micros(),
            )
            .await?;
        Ok(Response::new(pb::RevokeShareResponse {}))
    }

    async fn list_shares(
        &self,
        request: Request<pb::ListSharesRequest>,
    ) -> Result<Response<pb::ListSharesResponse>, Status> {
        let caller = principal(&request)?;
        let id = names::parse_dashboard_name("parent", &request.get_ref().parent)?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Share)
            .await?;
        let shares = self.store.shares().list(&dashboard.id).await?;
        let mut response = pb::ListSharesResponse::default();
        for share in self.visible_shares(&caller, shares).await? {
            let rendered = convert::share(&share);
            match share.kind {
                GranteeKind::User => response.users.push(rendered),
                GranteeKind::Group => response.groups.push(rendered),
                GranteeKind::Tenant => response.tenants.push(rendered),
                GranteeKind::AllTenants | GranteeKind::OrgMembers | GranteeKind::Everyone => {
                    response.org_wide.push(rendered)
                }
            }
        }
        Ok(Response::new(response))
    }

    async fn invite_to_dashboard(
        &self,
        request: Request<pb::InviteToDashboardRequest>,
    ) -> Result<Response<pb::InviteToDashboardResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (dashboard, access) = self.managed(&caller, &request.name, "name").await?;
        if request.users.is_empty() && request.groups.is_empty() {
            return Err(Error::invalid("users", "invite at least one user or group").into());
        }
        if request.users.len() + request.groups.len() > MAX_INVITES {
            return Err(Error::invalid(
                "users",
                format!("at most {MAX_INVITES} invitations per call"),
            )
            .into());
        }
        let expire_time = self.expire_time(request.expire_time.as_ref(), "expire_time")?;
        // Validate every entry first: nothing is applied unless all are valid.
        let mut violations = Vec::new();
        let mut upserts: Vec<(ShareUpsert, PermissionSet)> = Vec::new();
        let entries = request
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (format!("users[{i}]"), Some(&u.email), None, &u.role))
            .chain(
                request
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("groups[{i}]"), None, Some(&g.id), &g.role)),
            );
        for (field, email, group, role_input) in entries {
            let grantee = match (email, group) {
                (Some(email), _) => self
                    .resolve_user(&caller, UserRef::Email(email), &format!("{field}.email"))
                    .await
                    .map(|u| (GranteeKind::User, u.id)),
                (_, Some(group)) => {
                    let g = pb::Grantee {
                        kind: Some(pb::grantee::Kind::Group(group.clone())),
                    };
                    self.resolve_grantee(&caller, Some(&g), &field)
                        .await
                        .map_err(|e| match e {
                            Error::InvalidArgument { .. } => {
                                Error::invalid(format!("{field}.id"), "unknown group")
                            }
                            other => other,
                        })
                }
                _ => continue,
            };
            let role = self
                .resolve_role(&caller.org_id, role_input, &format!("{field}.role"))
                .await;
            match (grantee, role) {
                (Ok((kind, grantee_id)), Ok(role)) => {
                    if upserts
                        .iter()
                        .any(|(u, _)| u.kind == kind && u.grantee_id == grantee_id)
                    {
                        violations.push(Violation::new(field, "invited twice"));
                    } else {
                        upserts.push((
                            ShareUpsert {
                                kind,
                                grantee_id,
                                role: role.name,
                                expire_time,
                            },
                            role.permissions,
                        ));
                    }
                }
                (a, b) => {
                    for err in [a.err(), b.err()].into_iter().flatten() {
                        match err {
                            Error::InvalidArgument { violations: v, .. } => violations.extend(v),
                            other => return Err(other.into()),
                        }
                    }
                }
            }
        }
        if !violations.is_empty() {
            return Err(Error::invalid_fields(violations).into());
        }
        let existing = self.store.shares().list(&dashboard.id).await?;
        let book = self.role_permissions(&caller.org_id, &existing).await?;
        for (upsert, permissions) in &upserts {
            let previous = existing
                .iter()
                .find(|g| g.kind == upsert.kind && g.grantee_id == upsert.grantee_id);
            check_role_change(
                access.permissions,
                Some((&upsert.role, *permissions)),
                previous.map(|g| (g.role.as_str(), book.permissions(&g.role))),
            )?;
        }
        let upserts: Vec<ShareUpsert> = upserts.into_iter().map(|(u, _)| u).collect();
        self.check_share_limit(&existing, &upserts, &dashboard)?;
        let shares = self
            .store
            .shares()
            .change(
                &caller.org_id,
                &dashboard.id,
                &caller.user_id,
                &upserts,
                &[],
                now_micros(),
            )
            .await?;
        Ok(Response::new(pb::InviteToDashboardResponse {
            shares: shares.iter().map(convert::share).collect(),
        }))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let id = names::parse_dashboard_name("name", &request.name)?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Share)
            .await?;
        let now = now_micros();
        let grants: Vec<Grant> = self
            .store
            .shares()
            .list(&dashboard.id)
            .await?
            .into_iter()
            .filter(|g| g.is_active(now))
            .collect();
        let book = self.role_permissions(&caller.org_id, &grants).await?;
        // user id -> sources (share, role, via group)
        let mut sources: BTreeMap<String, Vec<pb::MemberSource>> = BTreeMap::new();
        let mut direct: HashMap<String, String> = HashMap::new();
        for g in grants.iter().filter(|g| g.kind == GranteeKind::User) {
            direct.insert(g.grantee_id.clone(), g.role.clone());
            sources
                .entry(g.grantee_id.clone())
                .or_default()
                .push(pb::MemberSource {
                    share: names::share_name(&g.dashboard_id, &g.id),
                    role: g.role.clone(),
                    group: String::new(),
                });
        }
        if request.expand_groups {
            let group_grants: Vec<&Grant> = grants
                .iter()
                .filter(|g| g.kind == GranteeKind::Group)
                .collect();
            let group_ids: Vec<String> =
                group_grants.iter().map(|g| g.grantee_id.clone()).collect();
            for (group_id, user_id) in self.store.groups().members_of(&group_ids).await? {
                for g in group_grants.iter().filter(|g| g.grantee_id == group_id) {
                    sources
                        .entry(user_id.clone())
                        .or_default()
                        .push(pb::MemberSource {
                            share: names::share_name(&g.dashboard_id, &g.id),
                            role: g.role.clone(),
                            group: names::group_name(&group_id),
                        });
                }
            }
        }
        let ids: Vec<String> = sources.keys().cloned().collect();
        let users: HashMap<String, User> = self
            .store
            .users()
            .get_many(&caller.org_id, &ids)
            .await?
            .into_iter()
            .filter(|u| u.visible_to(&caller))
            .map(|u| (u.id.clone(), u))
            .collect();
        let members = sources
            .into_iter()
            .filter_map(|(user_id, sources)| {
                let user = users.get(&user_id)?;
                let granted = sources.iter().fold(PermissionSet::EMPTY, |acc, s| {
                    acc.union(book.permissions(&s.role))
                });
                let strongest = sources
                    .iter()
                    .max_by_key(|s| book.permissions(&s.role).iter().count())
                    .map(|s| s.role.clone())
                    .unwrap_or_default();
                Some(pb::Member {
                    user: Some(convert::user(user)),
                    role: direct.get(&user_id).cloned().unwrap_or(strongest),
                    permissions: convert::permissions(granted.intersect(ceiling(user.role))),
                    sources,
                })
            })
            .collect();
        Ok(Response::new(pb::ListMembersResponse { members }))
    }

    async fn list_owners(
        &self,
        request: Request<pb::ListOwnersRequest>,
    ) -> Result<Response<pb::ListOwnersResponse>, Status> {
        let caller = principal(&request)?;
        let id = names::parse_dashboard_name("name", &request.get_ref().name)?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Read)
            .await?;
        Ok(Response::new(pb::ListOwnersResponse {
            owners: self.owners(&caller, &dashboard.id).await?,
        }))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::TransferOwnershipResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (dashboard, access) = self.managed(&caller, &request.name, "name").await?;
        if access.permissions != PermissionSet::ALL {
            return Err(Error::permission_denied(
                "OWNER_REQUIRED",
                "only a holder of every permission (an owner) can transfer ownership",
            )
            .into());
        }
        let new_owner = self
            .resolve_user(&caller, UserRef::Name(&request.new_owner), "new_owner")
            .await?;
        if new_owner.id == caller.user_id {
            return Err(Error::invalid(
                "new_owner",
                "the caller cannot transfer ownership to itself",
            )
            .into());
        }
        let keep = if request.previous_owner_role.is_empty() {
            "roles/editor"
        } else {
            &request.previous_owner_role
        };
        let keep = self
            .resolve_role(&caller.org_id, keep, "previous_owner_role")
            .await?;
        let mut upserts = vec![ShareUpsert {
            kind: GranteeKind::User,
            grantee_id: new_owner.id.clone(),
            role: BuiltinRole::Owner.name().to_string(),
            expire_time: None,
        }];
        let existing = self.store.shares().list(&dashboard.id).await?;
        if existing
            .iter()
            .any(|g| g.kind == GranteeKind::User && g.grantee_id == caller.user_id)
        {
            upserts.push(ShareUpsert {
                kind: GranteeKind::User,
                grantee_id: caller.user_id.clone(),
                role: keep.name,
                expire_time: None,
            });
        }
        self.check_share_limit(&existing, &upserts, &dashboard)?;
        self.store
            .shares()
            .change(
                &caller.org_id,
                &dashboard.id,
                &caller.user_id,
                &upserts,
                &[],
                now_micros(),
            )
            .await?;
        Ok(Response::new(pb::TransferOwnershipResponse {
            owners: self.owners(&caller, &dashboard.id).await?,
        }))
    }

    async fn check_access(
        &self,
        request: Request<pb::CheckAccessRequest>,
    ) -> Result<Response<pb::CheckAccessResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let id = names::parse_dashboard_name("name", &request.name)?;
        let permission = permission_or_read(request.permission, "permission")?;
        let (dashboard, caller_access) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Read)
            .await?;
        let subject = self.subject_principal(&caller, &request.principal).await?;
        let access = if subject == caller && !caller.is_admin() {
            caller_access
        } else if subject == caller {
            self.authorizer.explain(&caller, &dashboard).await?
        } else {
            if !caller.is_admin() && !caller_access.permissions.contains(Permission::Share) {
                return Err(Error::permission_denied(
                    "MISSING_PERMISSION",
                    format!(
                        "checking another principal's access needs SHARE on {}",
                        dashboard.name()
                    ),
                )
                .into());
            }
            self.authorizer.explain(&subject, &dashboard).await?
        };
        let book = self
            .role_permissions(&caller.org_id, &access.grants)
            .await?;
        let grants = access
            .grants
            .iter()
            .map(|g| pb::GrantExplanation {
                share: names::share_name(&g.dashboard_id, &g.id),
                grantee: Some(convert::grantee(g.kind, &g.grantee_id)),
                role: g.role.clone(),
                role_permissions: convert::permissions(book.permissions(&g.role)),
                via_group: if g.kind == GranteeKind::Group {
                    names::group_name(&g.grantee_id)
                } else {
                    String::new()
                },
                expire_time: g.expire_time.map(convert::timestamp),
            })
            .collect();
        Ok(Response::new(pb::CheckAccessResponse {
            allowed: access.permissions.contains(permission),
            permissions: convert::permissions(access.permissions),
            ceiling: convert::permissions(access.ceiling),
            grants,
            implicit_owner: access.implicit_owner,
            principal: subject.user_name(),
        }))
    }

    async fn batch_check_access(
        &self,
        request: Request<pb::BatchCheckAccessRequest>,
    ) -> Result<Response<pb::BatchCheckAccessResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        if request.names.is_empty() || request.names.len() > self.limits.max_batch_get {
            return Err(Error::invalid(
                "names",
                format!("1..{} names per call", self.limits.max_batch_get),
            )
            .into());
        }
        let permission = permission_or_read(request.permission, "permission")?;
        let ids = parse_dashboard_names(&request.names)?;
        let subject = self.subject_principal(&caller, &request.principal).await?;
        let dashboards = self
            .store
            .dashboards()
            .get_many(&caller.org_id, &ids)
            .await?;
        let caller_access = self.authorizer.access_many(&caller, &dashboards).await?;
        let subject_access = if subject == caller {
            caller_access.clone()
        } else {
            self.authorizer.access_many(&subject, &dashboards).await?
        };
        let by_id: HashMap<&str, (&Access, &Access)> = dashboards
            .iter()
            .zip(caller_access.iter().zip(subject_access.iter()))
            .map(|(d, (c, s))| (d.id.as_str(), (c, s)))
            .collect();
        let results = ids
            .iter()
            .map(|id| {
                // What the caller may not read, or may not inspect for others, reads as denied.
                let visible = by_id.get(id.as_str()).filter(|(mine, _)| {
                    mine.permissions.contains(Permission::Read)
                        && (subject == caller
                            || caller.is_admin()
                            || mine.permissions.contains(Permission::Share))
                });
                let permissions = visible
                    .map(|(_, theirs)| theirs.permissions)
                    .unwrap_or_default();
                pb::AccessResult {
                    name: names::dashboard_name(id),
                    allowed: permissions.contains(permission),
                    permissions: convert::permissions(permissions),
                }
            })
            .collect();
        Ok(Response::new(pb::BatchCheckAccessResponse { results }))
    }

    async fn get_principal_context(
        &self,
        request: Request<pb::GetPrincipalContextRequest>,
    ) -> Result<Response<pb::PrincipalContext>, Status> {
        let caller = principal(&request)?;
        let now = now_micros();
        let user = match self
            .store
            .users()
            .get(&caller.org_id, &caller.user_id)
            .await?
        {
            Some(user) => user,
            None => User {
                org_id: caller.org_id.clone(),
                id: caller.user_id.clone(),
                tenant_id: caller.tenant_id.clone(),
                email: caller.email.clone(),
                display_name: caller.name.clone().unwrap_or_default(),
                role: caller.role,
                create_time: now,
                update_time: now,
                role_set_by_admin: false,
                withheld_email: None,
            },
        };
        let mut groups = self.store.groups().group_ids_of(&caller).await?;
        groups.sort();
        Ok(Response::new(pb::PrincipalContext {
            user: Some(convert::user(&user)),
            role: convert::platform_role(caller.role) as i32,
            tenant: caller.tenant_id.clone().unwrap_or_default(),
            groups: groups.iter().map(|g| names::group_name(g)).collect(),
            ceiling: convert::permissions(ceiling(caller.role)),
            may_create_dashboards: may_create_dashboards(caller.role),
            may_manage_groups: may_manage_groups(&caller),
            may_manage_roles: may_manage_directory(&caller),
            may_manage_users: may_manage_directory(&caller),
        }))
    }

    async fn create_public_link(
        &self,
        request: Request<pb::CreatePublicLinkRequest>,
    ) -> Result<Response<pb::PublicLink>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let (dashboard, _) = self.managed(&caller, &request.name, "name").await?;
        let expire_time = self.expire_time(request.expire_time.as_ref(), "expire_time")?;
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let link = PublicLink {
            id: new_id(),
            org_id: caller.org_id.clone(),
            dashboard_id: dashboard.id.clone(),
            expire_time,
            creator_id: caller.user_id.clone(),
            create_time: now_micros(),
        };
        let created = self.store.public_links().create(&link, &token).await?;
        Ok(Response::new(convert::public_link(&created, token)))
    }

    async fn revoke_public_link(
        &self,
        request: Request<pb::RevokePublicLinkRequest>,
    ) -> Result<Response<pb::RevokePublicLinkResponse>, Status> {
        let caller = principal(&request)?;
        let (dashboard_id, link_id) =
            names::parse_child_name("name", &request.get_ref().name, "publicLinks")?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &dashboard_id, Permission::Share)
            .await?;
        if !self
            .store
            .public_links()
            .revoke(&dashboard.id, &link_id)
            .await?
        {
            return Err(Error::not_found(request.get_ref().name.clone()).into());
        }
        Ok(Response::new(pb::RevokePublicLinkResponse {}))
    }

    async fn list_public_links(
        &self,
        request: Request<pb::ListPublicLinksRequest>,
    ) -> Result<Response<pb::ListPublicLinksResponse>, Status> {
        let caller = principal(&request)?;
        let id = names::parse_dashboard_name("parent", &request.get_ref().parent)?;
        let (dashboard, _) = self
            .authorizer
            .dashboard(&caller, &id, Permission::Share)
            .await?;
        let links = self
            .store
            .public_links()
            .list(&dashboard.id, now_micros())
            .await?;
        Ok(Response::new(pb::ListPublicLinksResponse {
            links: links
                .iter()
                .map(|l| convert::public_link(l, String::new()))
                .collect(),
        }))
    }

    /// Anonymous: the authentication layer lets this method through without a token.
    async fn get_shared_dashboard(
        &self,
        request: Request<pb::GetSharedDashboardRequest>,
    ) -> Result<Response<pb::Dashboard>, Status> {
        let token = request.into_inner().token;
        if token.is_empty() || token.len() > 256 {
            return Err(Error::invalid("token", "required: the token of a public link").into());
        }
        let not_found = || Error::not_found("shared dashboard");
        let link = self
            .store
            .public_links()
            .find_by_token(&token, now_micros())
            .await?
            .ok_or_else(not_found)?;
        let dashboard = self
            .store
            .dashboards()
            .get(&link.org_id, &link.dashboard_id)
            .await?
            .filter(|d| !d.is_deleted())
            .ok_or_else(not_found)?;
        // The FULL view: the dashboard and its widgets.
        let widgets = self
            .store
            .widgets()
            .of_dashboards(&link.org_id, std::slice::from_ref(&dashboard.id))
            .await?;
        Ok(Response::new(pb::Dashboard {
            is_public: true,
            widgets: widgets.iter().map(convert::widget).collect(),
            ..convert::dashboard(&dashboard)
        }))
    }
}
