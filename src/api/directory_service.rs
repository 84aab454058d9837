//! DirectoryService: users, groups, custom roles.

use std::collections::{HashMap, HashSet};

use tonic::{Request, Response, Status};

use super::{check_etag, convert, page_size, pagination, principal};
use crate::app::Authorizer;
use crate::core::authz::{BuiltinRole, PermissionSet, may_manage_directory, may_manage_groups};
use crate::core::dashboard::Limits;
use crate::core::directory::{CustomRole, Group, GroupKind, User};
use crate::core::error::echo;
use crate::core::page_token::CursorValue;
use crate::core::{Error, PlatformRole, Principal, Result, Violation, names, new_id, now_micros};
use crate::pb;
use crate::pb::directory_service_server::DirectoryService;
use crate::store::Store;
use crate::store::groups::GroupQuery;
use crate::store::roles::RoleChanges;
use crate::store::users::UserQuery;

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 4_000;
const MAX_MEMBERS_PER_CALL: usize = 1_000;
/// Dashboards per statement when checking what a group holds against its new member's adder.
const GRANT_CHECK_BATCH: usize = 500;

pub struct DirectoryApi {
    store: Store,
    limits: Limits,
    authorizer: Authorizer,
}

impl DirectoryApi {
    pub fn new(store: Store, limits: Limits) -> Self {
        Self {
            authorizer: Authorizer::new(store.clone()),
            store,
            limits,
        }
    }
}

fn require_group_manager(caller: &Principal) -> Result<()> {
    if may_manage_groups(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_CANNOT_MANAGE_GROUPS",
            "only org AUTHORs and ADMINs manage groups",
        ))
    }
}

/// A group's fields and membership are managed by its creator (while an org AUTHOR) and
/// the org's ADMINs: being allowed to manage groups at all is not enough to change someone
/// else's.
fn require_manager_of(caller: &Principal, group: &Group) -> Result<()> {
    require_group_manager(caller)?;
    if group.managed_by(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "NOT_GROUP_MANAGER",
            format!("only the creator of {} and ADMINs manage it", group.name()),
        ))
    }
}

fn require_admin(caller: &Principal, what: &str) -> Result<()> {
    if may_manage_directory(caller) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ADMIN_REQUIRED",
            format!("only ADMINs manage {what}"),
        ))
    }
}

fn check_text(
    violations: &mut Vec<Violation>,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) {
    let chars = value.chars().count();
    if required && value.trim().is_empty() {
        violations.push(Violation::new(field, "required: must not be empty"));
    } else if chars > max {
        violations.push(Violation::new(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
}

fn ok_or_invalid(violations: Vec<Violation>) -> Result<()> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_fields(violations))
    }
}

impl DirectoryApi {
    /// A user of the caller's org that the caller may see, or NOT_FOUND.
    async fn visible_user(&self, caller: &Principal, name: &str, field: &str) -> Result<User> {
        let id = match name {
            "users/me" => caller.user_id.clone(),
            other => names::parse_user_name(field, other)?,
        };
        match self.store.users().get(&caller.org_id, &id).await? {
            Some(user) if user.visible_to(caller) => Ok(user),
            _ => Err(Error::not_found(names::user_name(&id))),
        }
    }

    /// A group of the caller's org that the caller may see, or NOT_FOUND.
    async fn visible_group(&self, caller: &Principal, name: &str, field: &str) -> Result<Group> {
        let id = names::parse_group_name(field, name)?;
        match self.store.groups().get(&caller.org_id, &id).await? {
            Some(group) if group.visible_to(caller) => Ok(group),
            _ => Err(Error::not_found(names::group_name(&id))),
        }
    }

    /// Resolves member names for a group: each must be a user of the org (and of the
    /// group's tenant for tenant groups). Violations name `field[i]`, or `field` alone for
    /// a single-user request (`indexed` false).
    async fn member_ids(
        &self,
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
        let users = self.store.users().get_many(&caller.org_id, &wanted).await?;
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
        let mut unique = Vec::new();
        let mut seen = HashSet::new();
        for (_, id) in ids {
            if seen.insert(id.clone()) {
                unique.push(id);
            }
        }
        Ok(unique)
    }

    /// Adding anyone to a group gives them what the group holds, so only a caller that holds
    /// it may: every active share of the group must be within the caller's own permissions
    /// on that dashboard, as if the caller were granting it (PERMISSION_DENIED
    /// `GROUP_GRANTS_EXCEED_CALLER` otherwise). ADMINs hold everything on their org's
    /// dashboards. The message counts dashboards and names none: the caller may not be
    /// able to read them.
    async fn check_group_grants(&self, caller: &Principal, group: &Group) -> Result<()> {
        if caller.is_admin() {
            return Ok(());
        }
        let now = now_micros();
        let grants: Vec<_> = self
            .store
            .groups()
            .grants_to(&caller.org_id, &group.id)
            .await?
            .into_iter()
            .filter(|g| g.is_active(now))
            .collect();
        if grants.is_empty() {
            return Ok(());
        }
        let book = self.authorizer.role_book(&caller.org_id, &grants).await?;
        // What the group holds on each dashboard.
        let mut held: HashMap<String, PermissionSet> = HashMap::new();
        for g in &grants {
            let entry = held.entry(g.dashboard_id.clone()).or_default();
            *entry = entry.union(book.permissions(&g.role));
        }
        let ids: Vec<String> = held.keys().cloned().collect();
        let mut exceeded = 0;
        // In slices: a group may be shared on more dashboards than one statement binds.
        for ids in ids.chunks(GRANT_CHECK_BATCH) {
            let dashboards = self
                .store
                .dashboards()
                .get_many(&caller.org_id, ids)
                .await?;
            let access = self.authorizer.access_many(caller, &dashboards).await?;
            exceeded += dashboards
                .iter()
                .zip(&access)
                .filter(|(d, a)| {
                    held.get(&d.id)
                        .is_some_and(|p| !p.is_subset_of(a.permissions))
                })
                .count();
        }
        if exceeded == 0 {
            return Ok(());
        }
        Err(Error::permission_denied(
            "GROUP_GRANTS_EXCEED_CALLER",
            format!(
                "{} holds permissions the caller does not hold on {exceeded} dashboard(s): \
                 only a caller holding them, or an ADMIN, may add members",
                group.name()
            ),
        ))
    }

    async fn group_with_members(&self, group: &Group) -> Result<pb::Group> {
        let members = self
            .store
            .groups()
            .member_ids(&group.id, None, None)
            .await?;
        Ok(convert::group(group, members))
    }
}

#[tonic::async_trait]
impl DirectoryService for DirectoryApi {
    async fn upsert_user(
        &self,
        request: Request<pb::UpsertUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller = principal(&request)?;
        require_admin(&caller, "users")?;
        let user = request
            .into_inner()
            .user
            .ok_or_else(|| Error::invalid("user", "required"))?;
        let id = names::parse_user_name("user.name", &user.name)?;
        let mut violations = Vec::new();
        let role = convert::platform_role_from(user.role);
        if role.is_none() {
            violations.push(Violation::new(
                "user.role",
                "required: VIEWER, POWER_USER, AUTHOR or ADMIN",
            ));
        }
        check_text(
            &mut violations,
            "user.display_name",
            &user.display_name,
            MAX_NAME_CHARS,
            false,
        );
        if !user.email.is_empty() && (!user.email.contains('@') || user.email.len() > 320) {
            violations.push(Violation::new("user.email", "not an email address"));
        }
        let tenant = Some(user.tenant.clone()).filter(|t| !t.is_empty());
        if let Some(t) = &tenant
            && !names::is_valid_id(t)
        {
            violations.push(Violation::new(
                "user.tenant",
                "must be 1..128 of [A-Za-z0-9._@-]",
            ));
        }
        if let Some(Err(why)) = role.map(|r| r.check_tenant(tenant.as_deref())) {
            violations.push(Violation::new("user.tenant", why));
        }
        ok_or_invalid(violations)?;
        let now = now_micros();
        let stored = self
            .store
            .users()
            .upsert(&User {
                org_id: caller.org_id.clone(),
                id,
                tenant_id: tenant,
                email: Some(user.email).filter(|e| !e.is_empty()),
                display_name: user.display_name,
                role: role.unwrap_or(PlatformRole::Viewer),
                create_time: now,
                update_time: now,
                role_set_by_admin: true,
                withheld_email: None,
            })
            .await?;
        Ok(Response::new(convert::user(&stored)))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller = principal(&request)?;
        let user = self
            .visible_user(&caller, &request.get_ref().name, "name")
            .await?;
        Ok(Response::new(convert::user(&user)))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let size = page_size(request.page_size, &self.limits)?;
        let tenant_users = match pb::UserType::try_from(request.r#type) {
            Ok(pb::UserType::Org) => Some(false),
            Ok(pb::UserType::Tenant) => Some(true),
            Ok(pb::UserType::Unspecified) => None,
            Err(_) => return Err(Error::invalid("type", "unknown user type").into()),
        };
        let fingerprint = pagination::fingerprint(&[
            &request.search,
            &request.r#type.to_string(),
            &request.tenant,
        ]);
        let after =
            pagination::decode::<CursorValue>(&request.page_token, &fingerprint)?.map(|(_, id)| id);
        let query = UserQuery {
            org_id: caller.org_id.clone(),
            search: Some(request.search.trim().to_string()).filter(|s| !s.is_empty()),
            tenant_users,
            tenant_id: Some(request.tenant).filter(|t| !t.is_empty()),
            visible_to_tenant: caller.tenant_id.clone(),
            after_id: after,
            limit: size as u64 + 1,
        };
        let mut users = self.store.users().list(&query).await?;
        let next_page_token = next_token(&mut users, size, |u| {
            pagination::encode(&fingerprint, CursorValue::Text(u.id.clone()), &u.id)
        });
        Ok(Response::new(pb::ListUsersResponse {
            users: users.iter().map(convert::user).collect(),
            next_page_token,
        }))
    }

    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = principal(&request)?;
        require_group_manager(&caller)?;
        let request = request.into_inner();
        let group = request
            .group
            .ok_or_else(|| Error::invalid("group", "required"))?;
        let mut violations = Vec::new();
        check_text(
            &mut violations,
            "group.display_name",
            &group.display_name,
            MAX_NAME_CHARS,
            true,
        );
        check_text(
            &mut violations,
            "group.description",
            &group.description,
            MAX_DESCRIPTION_CHARS,
            false,
        );
        let kind = match pb::GroupKind::try_from(group.kind) {
            Ok(pb::GroupKind::Org) => Some(GroupKind::Org),
            Ok(pb::GroupKind::Tenant) => Some(GroupKind::Tenant),
            _ => {
                violations.push(Violation::new(
                    "group.kind",
                    "required: GROUP_KIND_ORG or GROUP_KIND_TENANT",
                ));
                None
            }
        };
        let tenant = Some(group.tenant.clone()).filter(|t| !t.is_empty());
        match (kind, &tenant) {
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
        let now = now_micros();
        let new = Group {
            id: new_id(),
            org_id: caller.org_id.clone(),
            display_name: group.display_name.trim().to_string(),
            description: group.description,
            kind: kind.unwrap_or(GroupKind::Org),
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
        let members = self
            .member_ids(&caller, &new, &request.members, "members", true)
            .await?;
        let created = self.store.groups().create(&new, &members).await?;
        Ok(Response::new(self.group_with_members(&created).await?))
    }

    async fn get_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = principal(&request)?;
        let group = self
            .visible_group(&caller, &request.get_ref().name, "name")
            .await?;
        Ok(Response::new(self.group_with_members(&group).await?))
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let size = page_size(request.page_size, &self.limits)?;
        let kind = match pb::GroupKind::try_from(request.kind) {
            Ok(pb::GroupKind::Org) => Some(GroupKind::Org),
            Ok(pb::GroupKind::Tenant) => Some(GroupKind::Tenant),
            Ok(pb::GroupKind::Unspecified) => None,
            Err(_) => return Err(Error::invalid("kind", "unknown group kind").into()),
        };
        let mut tenant = Some(request.tenant.clone()).filter(|t| !t.is_empty());
        if let Some(own) = &caller.tenant_id {
            // Tenant users see only their tenant's groups.
            if tenant.as_ref().is_some_and(|t| t != own) || kind == Some(GroupKind::Org) {
                return Ok(Response::new(pb::ListGroupsResponse::default()));
            }
            tenant = Some(own.clone());
        }
        let fingerprint =
            pagination::fingerprint(&[&request.search, &request.kind.to_string(), &request.tenant]);
        let after = pagination::decode(&request.page_token, &fingerprint)?.map(|(v, id)| match v {
            CursorValue::Text(name) => (name, id),
            CursorValue::Int(_) => (String::new(), id),
        });
        let query = GroupQuery {
            org_id: caller.org_id.clone(),
            search: Some(request.search.trim().to_string()).filter(|s| !s.is_empty()),
            kind,
            tenant_id: tenant,
            after,
            limit: size as u64 + 1,
        };
        let mut groups = self.store.groups().list(&query).await?;
        let next_page_token = next_token(&mut groups, size, |g| {
            pagination::encode(
                &fingerprint,
                CursorValue::Text(g.display_name.clone()),
                &g.id,
            )
        });
        let mut rendered = Vec::with_capacity(groups.len());
        if request.include_members {
            let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
            let pairs = self.store.groups().members_of(&ids).await?;
            for group in &groups {
                let mut members: Vec<String> = pairs
                    .iter()
                    .filter(|(g, _)| *g == group.id)
                    .map(|(_, u)| u.clone())
                    .collect();
                members.sort();
                rendered.push(convert::group(group, members));
            }
        } else {
            rendered.extend(groups.iter().map(|g| convert::group(g, Vec::new())));
        }
        Ok(Response::new(pb::ListGroupsResponse {
            groups: rendered,
            next_page_token,
        }))
    }

    async fn update_group(
        &self,
        request: Request<pb::UpdateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let group = request
            .group
            .ok_or_else(|| Error::invalid("group", "required"))?;
        let current = self
            .visible_group(&caller, &group.name, "group.name")
            .await?;
        require_manager_of(&caller, &current)?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let (mut display_name, mut description) = (None, None);
        let mut violations = Vec::new();
        let paths: Vec<String> = if paths.is_empty() {
            let mut implied = Vec::new();
            if !group.display_name.is_empty() {
                implied.push("display_name".to_string());
            }
            if !group.description.is_empty() {
                implied.push("description".to_string());
            }
            implied
        } else {
            paths
        };
        for path in &paths {
            match path.as_str() {
                "display_name" => {
                    check_text(
                        &mut violations,
                        "group.display_name",
                        &group.display_name,
                        MAX_NAME_CHARS,
                        true,
                    );
                    display_name = Some(group.display_name.trim().to_string());
                }
                "description" => {
                    check_text(
                        &mut violations,
                        "group.description",
                        &group.description,
                        MAX_DESCRIPTION_CHARS,
                        false,
                    );
                    description = Some(group.description.clone());
                }
                other => violations.push(Violation::new(
                    "update_mask",
                    format!(
                        "cannot update {}: updatable fields are display_name, description",
                        echo(other)
                    ),
                )),
            }
        }
        if paths.is_empty() {
            violations.push(Violation::new("update_mask", "names no field to update"));
        }
        ok_or_invalid(violations)?;
        check_etag(&group.etag, &current.etag(), &current.name())?;
        let updated = self
            .store
            .groups()
            .update(
                &caller.org_id,
                &current.id,
                current.revision,
                display_name,
                description,
                now_micros(),
            )
            .await?
            .ok_or_else(|| Error::EtagMismatch {
                resource: current.name(),
            })?;
        Ok(Response::new(self.group_with_members(&updated).await?))
    }

    async fn delete_group(
        &self,
        request: Request<pb::DeleteGroupRequest>,
    ) -> Result<Response<pb::DeleteGroupResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let group = self.visible_group(&caller, &request.name, "name").await?;
        require_manager_of(&caller, &group)?;
        check_etag(&request.etag, &group.etag(), &group.name())?;
        if !self
            .store
            .groups()
            .delete(&caller.org_id, &group.id)
            .await?
        {
            return Err(Error::not_found(group.name()).into());
        }
        Ok(Response::new(pb::DeleteGroupResponse {}))
    }

    async fn add_group_member(
        &self,
        request: Request<pb::AddGroupMemberRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let group = self.visible_group(&caller, &request.group, "group").await?;
        require_manager_of(&caller, &group)?;
        self.check_group_grants(&caller, &group).await?;
        let ids = self
            .member_ids(
                &caller,
                &group,
                std::slice::from_ref(&request.user),
                "user",
                false,
            )
            .await?;
        for id in ids {
            self.store
                .groups()
                .add_member(&caller.org_id, &group.id, &id, now_micros())
                .await?;
        }
        let group = self.visible_group(&caller, &request.group, "group").await?;
        Ok(Response::new(self.group_with_members(&group).await?))
    }

    async fn remove_group_member(
        &self,
        request: Request<pb::RemoveGroupMemberRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let group = self.visible_group(&caller, &request.group, "group").await?;
        let user_id = names::parse_user_name("user", &request.user)?;
        // Anyone may leave a group; removing others is the managers'.
        if user_id != caller.user_id {
            require_manager_of(&caller, &group)?;
        }
        if !self
            .store
            .groups()
            .remove_member(&group.id, &user_id, now_micros())
            .await?
        {
            return Err(Error::not_found(format!(
                "{} in {}",
                names::user_name(&user_id),
                group.name()
            ))
            .into());
        }
        let group = self.visible_group(&caller, &request.group, "group").await?;
        Ok(Response::new(self.group_with_members(&group).await?))
    }

    async fn list_group_members(
        &self,
        request: Request<pb::ListGroupMembersRequest>,
    ) -> Result<Response<pb::ListGroupMembersResponse>, Status> {
        let caller = principal(&request)?;
        let request = request.into_inner();
        let group = self.visible_group(&caller, &request.group, "group").await?;
        let size = page_size(request.page_size, &self.limits)?;
        let fingerprint = pagination::fingerprint(&[&group.id]);
        let after =
            pagination::decode::<CursorValue>(&request.page_token, &fingerprint)?.map(|(_, id)| id);
        let mut ids = self
            .store
            .groups()
            .member_ids(&group.id, after.as_deref(), Some(size as u64 + 1))
            .await?;
        let next_page_token = next_token(&mut ids, size, |id| {
            pagination::encode(&fingerprint, CursorValue::Text(id.clone()), id)
        });
        let mut users = self.store.users().get_many(&caller.org_id, &ids).await?;
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Response::new(pb::ListGroupMembersResponse {
            members: users.iter().map(convert::user).collect(),
            next_page_token,
        }))
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = principal(&request)?;
        require_admin(&caller, "roles")?;
        let role = request
            .into_inner()
            .role
            .ok_or_else(|| Error::invalid("role", "required"))?;
        let mut violations = Vec::new();
        check_text(
            &mut violations,
            "role.display_name",
            &role.display_name,
            MAX_NAME_CHARS,
            true,
        );
        check_text(
            &mut violations,
            "role.description",
            &role.description,
            MAX_DESCRIPTION_CHARS,
            false,
        );
        let permissions = parse_permissions(&role.permissions, "role.permissions", &mut violations);
        ok_or_invalid(violations)?;
        let now = now_micros();
        let id = new_id();
        let created = self
            .store
            .roles()
            .create(&CustomRole {
                name: format!("roles/{id}"),
                id,
                org_id: caller.org_id.clone(),
                display_name: role.display_name.trim().to_string(),
                description: role.description,
                permissions,
                revision: 1,
                create_time: now,
                update_time: now,
            })
            .await?;
        Ok(Response::new(convert::custom_role(&created)))
    }

    async fn get_role(
        &self,
        request: Request<pb::GetRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = principal(&request)?;
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Error::invalid("name", "required: roles/{id}").into());
        }
        if let Some(builtin) = BuiltinRole::parse(&name) {
            return Ok(Response::new(convert::builtin_role(builtin)));
        }
        let role = self.custom_role(&caller, &name, "name").await?;
        Ok(Response::new(convert::custom_role(&role)))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let caller = principal(&request)?;
        let mut roles: Vec<pb::Role> = BuiltinRole::ALL
            .into_iter()
            .map(convert::builtin_role)
            .collect();
        roles.extend(
            self.store
                .roles()
                .list(&caller.org_id)
                .await?
                .iter()
                .map(convert::custom_role),
        );
        Ok(Response::new(pb::ListRolesResponse { roles }))
    }

    async fn update_role(
        &self,
        request: Request<pb::UpdateRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = principal(&request)?;
        require_admin(&caller, "roles")?;
        let request = request.into_inner();
        let role = request
            .role
            .ok_or_else(|| Error::invalid("role", "required"))?;
        if BuiltinRole::parse(&role.name).is_some() {
            return Err(built_in(&role.name).into());
        }
        let current = self.custom_role(&caller, &role.name, "role.name").await?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(Error::invalid(
                "update_mask",
                "required: display_name, description and/or permissions",
            )
            .into());
        }
        let mut violations = Vec::new();
        let (mut display_name, mut description, mut permissions) = (None, None, None);
        for path in &paths {
            match path.as_str() {
                "display_name" => {
                    check_text(&mut violations, "role.display_name", &role.display_name, MAX_NAME_CHARS, true);
                    display_name = Some(role.display_name.trim().to_string());
                }
                "description" => {
                    check_text(&mut violations, "role.description", &role.description, MAX_DESCRIPTION_CHARS, false);
                    description = Some(role.description.clone());
                }
                "permissions" => {
                    permissions = Some(parse_permissions(&role.permissions, "role.permissions", &mut violations));
                }
                other => violations.push(Violation::new(
                    "update_mask",
                    format!(
                    "cannot update {}: updatable fields are display_name, description, permissions",
                    echo(other)
                ),
                )),
            }
        }
        ok_or_invalid(violations)?;
        check_etag(
            &role.etag,
            &convert::custom_role(&current).etag,
            &current.name,
        )?;
        let updated = self
            .store
            .roles()
            .update(
                &caller.org_id,
                &current.name,
                current.revision,
                RoleChanges {
                    display_name,
                    description,
                    permissions,
                },
                now_micros(),
            )
            .await?
            .ok_or_else(|| Error::EtagMismatch {
                resource: current.name.clone(),
            })?;
        Ok(Response::new(convert::custom_role(&updated)))
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Result<Response<pb::DeleteRoleResponse>, Status> {
        let caller = principal(&request)?;
        require_admin(&caller, "roles")?;
        let request = request.into_inner();
        if BuiltinRole::parse(&request.name).is_some() {
            return Err(built_in(&request.name).into());
        }
        let current = self.custom_role(&caller, &request.name, "name").await?;
        check_etag(
            &request.etag,
            &convert::custom_role(&current).etag,
            &current.name,
        )?;
        if !self
            .store
            .roles()
            .delete(&caller.org_id, &current.name)
            .await?
        {
            return Err(Error::not_found(current.name).into());
        }
        Ok(Response::new(pb::DeleteRoleResponse {}))
    }
}

impl DirectoryApi {
    async fn custom_role(&self, caller: &Principal, name: &str, field: &str) -> Result<CustomRole> {
        let valid = name.strip_prefix("roles/").is_some_and(names::is_valid_id);
        if !valid {
            return Err(Error::invalid(
                field,
                format!(
                    "{} is not a valid resource name: expected roles/{{id}}",
                    echo(name)
                ),
            ));
        }
        self.store
            .roles()
            .get(&caller.org_id, name)
            .await?
            .ok_or_else(|| Error::not_found(name))
    }
}

fn built_in(name: &str) -> Error {
    Error::failed_precondition(
        "BUILT_IN_ROLE",
        name,
        "built-in roles cannot be changed or deleted",
    )
}

/// At least one permission, each a known value.
fn parse_permissions(
    values: &[i32],
    field: &str,
    violations: &mut Vec<Violation>,
) -> PermissionSet {
    if values.is_empty() {
        violations.push(Violation::new(field, "required: at least one permission"));
    }
    let mut set = PermissionSet::EMPTY;
    for (i, value) in values.iter().enumerate() {
        match convert::permission_from(*value) {
            Some(p) => set = set.union(PermissionSet::of(&[p])),
            None => violations.push(Violation::new(
                format!("{field}[{i}]"),
                "unknown or unspecified permission",
            )),
        }
    }
    set
}

/// Trims a page fetched with one extra row and returns the token for the next page.
pub(super) fn next_token<T>(
    rows: &mut Vec<T>,
    size: usize,
    token: impl Fn(&T) -> String,
) -> String {
    if rows.len() > size {
        rows.truncate(size);
        rows.last().map(token).unwrap_or_default()
    } else {
        String::new()
    }
}
