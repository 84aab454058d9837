//! DirectoryService: users, groups, custom roles. Parse -> one `app::directory` call ->
//! convert; writes answer `x-dashboards-revision`.

use tonic::{Request, Response, Status};

use super::{convert, page_size, principal, split, written};
use crate::app::App;
use crate::app::directory::groups::{GroupFields, GroupFilter, GroupView};
use crate::app::directory::roles::{self, Role, RoleFields};
use crate::app::directory::users::{UserFields, UserFilter};
use crate::app::directory::{PageRequest, group_members, groups, users};
use crate::core::Error;
use crate::core::dashboard::Limits;
use crate::core::directory::GroupKind;
use crate::pb;
use crate::pb::directory_service_server::DirectoryService;

pub struct DirectoryApi {
    app: App,
    limits: Limits,
}

impl DirectoryApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }

    fn page<'a>(&self, size: i32, token: &'a str) -> Result<PageRequest<'a>, Error> {
        Ok(PageRequest {
            size: page_size(size, &self.limits)?,
            token,
        })
    }
}

fn user_fields(u: pb::User) -> UserFields {
    UserFields {
        role: convert::platform_role_from(u.role),
        name: u.name,
        email: u.email,
        display_name: u.display_name,
        tenant: u.tenant,
    }
}

/// A request's group kind: `Ok(None)` when unspecified, `Err` when unknown.
fn group_kind(value: i32) -> Result<Option<GroupKind>, ()> {
    match pb::GroupKind::try_from(value) {
        Ok(pb::GroupKind::Org) => Ok(Some(GroupKind::Org)),
        Ok(pb::GroupKind::Tenant) => Ok(Some(GroupKind::Tenant)),
        Ok(pb::GroupKind::Unspecified) => Ok(None),
        Err(_) => Err(()),
    }
}

fn group_fields(g: pb::Group) -> GroupFields {
    GroupFields {
        kind: group_kind(g.kind).ok().flatten(),
        name: g.name,
        display_name: g.display_name,
        description: g.description,
        tenant: g.tenant,
        etag: g.etag,
        members: g.members,
    }
}

fn role_fields(r: pb::Role) -> RoleFields {
    RoleFields {
        permissions: r
            .permissions
            .iter()
            .map(|p| convert::permission_from(*p))
            .collect(),
        name: r.name,
        display_name: r.display_name,
        description: r.description,
        etag: r.etag,
    }
}

fn mask_paths(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

fn group(view: GroupView) -> pb::Group {
    convert::group(&view.group, view.members)
}

fn role(role: &Role) -> pb::Role {
    match role {
        Role::BuiltIn(r) => convert::builtin_role(*r),
        Role::Custom(r) => convert::custom_role(r),
    }
}

#[tonic::async_trait]
impl DirectoryService for DirectoryApi {
    async fn upsert_user(
        &self,
        request: Request<pb::UpsertUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller = principal(&request)?;
        let fields = request.into_inner().user.map(user_fields);
        let done = users::upsert(&self.app, &caller, fields).await?;
        Ok(written(done.map(|u| convert::user(&u))))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller = principal(&request)?;
        let user = users::get(&self.app, &caller, &request.get_ref().name, "name").await?;
        Ok(Response::new(convert::user(&user)))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let (caller, request) = split(request)?;
        let page = self.page(request.page_size, &request.page_token)?;
        let tenant_users = match pb::UserType::try_from(request.r#type) {
            Ok(pb::UserType::Org) => Some(false),
            Ok(pb::UserType::Tenant) => Some(true),
            Ok(pb::UserType::Unspecified) => None,
            Err(_) => return Err(Error::invalid("type", "unknown user type").into()),
        };
        let filter = UserFilter {
            search: request.search.clone(),
            tenant_users,
            type_code: request.r#type,
            tenant: request.tenant.clone(),
        };
        let page = users::list(&self.app, &caller, filter, page).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.items.iter().map(convert::user).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, request) = split(request)?;
        let fields = request.group.map(group_fields);
        let done = groups::create(&self.app, &caller, fields, &request.members).await?;
        Ok(written(done.map(group)))
    }

    async fn get_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let caller = principal(&request)?;
        let view = groups::get(&self.app, &caller, &request.get_ref().name, "name").await?;
        Ok(Response::new(group(view)))
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let (caller, request) = split(request)?;
        let page = self.page(request.page_size, &request.page_token)?;
        let kind =
            group_kind(request.kind).map_err(|()| Error::invalid("kind", "unknown group kind"))?;
        let filter = GroupFilter {
            search: request.search.clone(),
            kind,
            kind_code: request.kind,
            tenant: request.tenant.clone(),
            include_members: request.include_members,
        };
        let page = groups::list(&self.app, &caller, filter, page).await?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: page.items.into_iter().map(group).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_group(
        &self,
        request: Request<pb::UpdateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, request) = split(request)?;
        let fields = request.group.map(group_fields);
        let mask = mask_paths(request.update_mask);
        let done = groups::update(&self.app, &caller, fields, mask).await?;
        Ok(written(done.map(group)))
    }

    async fn delete_group(
        &self,
        request: Request<pb::DeleteGroupRequest>,
    ) -> Result<Response<pb::DeleteGroupResponse>, Status> {
        let (caller, request) = split(request)?;
        let done = groups::delete(&self.app, &caller, &request.name, &request.etag).await?;
        Ok(written(done.map(|()| pb::DeleteGroupResponse {})))
    }

    async fn add_group_member(
        &self,
        request: Request<pb::AddGroupMemberRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, request) = split(request)?;
        let done = group_members::add(&self.app, &caller, &request.group, &request.user).await?;
        Ok(written(done.map(group)))
    }

    async fn remove_group_member(
        &self,
        request: Request<pb::RemoveGroupMemberRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, request) = split(request)?;
        let done = group_members::remove(&self.app, &caller, &request.group, &request.user).await?;
        Ok(written(done.map(group)))
    }

    async fn list_group_members(
        &self,
        request: Request<pb::ListGroupMembersRequest>,
    ) -> Result<Response<pb::ListGroupMembersResponse>, Status> {
        let (caller, request) = split(request)?;
        let page = self.page(request.page_size, &request.page_token)?;
        let page = group_members::list(&self.app, &caller, &request.group, page).await?;
        Ok(Response::new(pb::ListGroupMembersResponse {
            members: page.items.iter().map(convert::user).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = principal(&request)?;
        let fields = request.into_inner().role.map(role_fields);
        let done = roles::create(&self.app, &caller, fields).await?;
        Ok(written(done.map(|r| convert::custom_role(&r))))
    }

    async fn get_role(
        &self,
        request: Request<pb::GetRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let caller = principal(&request)?;
        let found = roles::get(&self.app, &caller, &request.get_ref().name).await?;
        Ok(Response::new(role(&found)))
    }

    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let caller = principal(&request)?;
        let all = roles::list(&self.app, &caller).await?;
        Ok(Response::new(pb::ListRolesResponse {
            roles: all.iter().map(role).collect(),
        }))
    }

    async fn update_role(
        &self,
        request: Request<pb::UpdateRoleRequest>,
    ) -> Result<Response<pb::Role>, Status> {
        let (caller, request) = split(request)?;
        let fields = request.role.map(role_fields);
        let mask = mask_paths(request.update_mask);
        let done = roles::update(&self.app, &caller, fields, mask).await?;
        Ok(written(done.map(|r| convert::custom_role(&r))))
    }

    async fn delete_role(
        &self,
        request: Request<pb::DeleteRoleRequest>,
    ) -> Result<Response<pb::DeleteRoleResponse>, Status> {
        let (caller, request) = split(request)?;
        let done = roles::delete(&self.app, &caller, &request.name, &request.etag).await?;
        Ok(written(done.map(|()| pb::DeleteRoleResponse {})))
    }
}
