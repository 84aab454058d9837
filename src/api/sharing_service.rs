//! SharingService: shares, members, owners, access explanations, public links. Each handler
//! parses its request into core types, makes one `app::sharing` call and converts the
//! answer; writes answer `x-dashboards-revision`.

use tonic::{Request, Response, Status};

use super::{convert, parse_dashboard_names, principal, split, written};
use crate::app::App;
use crate::app::sharing::{
    self, GranteeRef, InviteEntry, InviteRequest, InviteTarget, ShareRequest, TransferRequest,
};
use crate::core::authz::{Access, GranteeKind, Permission, RoleBook};
use crate::core::dashboard::Limits;
use crate::core::folder::folder_name;
use crate::core::{Error, Micros, Result, names};
use crate::pb;
use crate::pb::sharing_service_server::SharingService;

pub struct SharingApi {
    app: App,
    limits: Limits,
}

impl SharingApi {
    pub fn new(app: App, limits: Limits) -> Self {
        Self { app, limits }
    }
}

fn permission_or_read(value: i32, field: &str) -> Result<Permission> {
    if value == 0 {
        return Ok(Permission::Read);
    }
    convert::permission_from(value).ok_or_else(|| Error::invalid(field, "unknown permission"))
}

fn grantee_ref(grantee: Option<pb::Grantee>) -> Option<GranteeRef> {
    use pb::grantee::Kind;
    Some(match grantee?.kind? {
        Kind::User(name) => GranteeRef::User(name),
        Kind::Email(email) => GranteeRef::Email(email),
        Kind::Group(name) => GranteeRef::Group(name),
        Kind::Tenant(tenant) => GranteeRef::Tenant(tenant),
        Kind::AllTenants(set) => GranteeRef::AllTenants(set),
        Kind::OrgMembers(set) => GranteeRef::OrgMembers(set),
        Kind::Everyone(set) => GranteeRef::Everyone(set),
    })
}

fn expiry(value: Option<&prost_types::Timestamp>, field: &str) -> Result<Option<Micros>> {
    value.map(|t| convert::micros_of(field, t)).transpose()
}

fn members(list: Vec<sharing::Member>) -> Vec<pb::Member> {
    list.into_iter()
        .map(|m| pb::Member {
            user: Some(convert::user(&m.user)),
            role: m.role,
            permissions: convert::permissions(m.permissions),
            sources: m
                .sources
                .into_iter()
                .map(|s| pb::MemberSource {
                    share: s.share,
                    role: s.role,
                    group: s.group,
                })
                .collect(),
        })
        .collect()
}

/// Why a principal has its access: each matching grant with its role's permissions, where
/// it sits and the way it came down to the resource.
fn grant_explanations(access: &Access, roles: &RoleBook) -> Vec<pb::GrantExplanation> {
    access
        .grants
        .iter()
        .map(|g| pb::GrantExplanation {
            share: g.name(),
            grantee: Some(convert::grantee(g.kind, &g.grantee_id)),
            role: g.role.clone(),
            role_permissions: convert::permissions(roles.permissions(&g.role)),
            source: g.on.name(),
            path: access.inheritance.path_from(&g.on),
            via_group: if g.kind == GranteeKind::Group {
                names::group_name(&g.grantee_id)
            } else {
                String::new()
            },
            expire_time: g.expire_time.map(convert::timestamp),
        })
        .collect()
}

/// Where inheritance stops for the resource, or empty.
fn cut_at(access: &Access) -> String {
    access
        .inheritance
        .cut_at
        .as_ref()
        .map(|t| t.name())
        .unwrap_or_default()
}

#[tonic::async_trait]
impl SharingService for SharingApi {
    async fn share_dashboard(
        &self,
        request: Request<pb::ShareDashboardRequest>,
    ) -> Result<Response<pb::Share>, Status> {
        let (caller, request) = split(request)?;
        let share = ShareRequest {
            expire_time: expiry(request.expire_time.as_ref(), "expire_time")?,
            name: request.name,
            grantee: grantee_ref(request.grantee),
            role: request.role,
        };
        let share = sharing::share(&self.app, &caller, &self.limits, share).await?;
        Ok(written(share.map(|s| convert::share(&s))))
    }

    async fn revoke_share(
        &self,
        request: Request<pb::RevokeShareRequest>,
    ) -> Result<Response<pb::RevokeShareResponse>, Status> {
        let caller = principal(&request)?;
        let done = sharing::revoke(&self.app, &caller, &request.get_ref().name).await?;
        Ok(written(done.map(|()| pb::RevokeShareResponse {})))
    }

    async fn list_shares(
        &self,
        request: Request<pb::ListSharesRequest>,
    ) -> Result<Response<pb::ListSharesResponse>, Status> {
        let caller = principal(&request)?;
        let shares = sharing::list_shares(&self.app, &caller, &request.get_ref().parent).await?;
        let mut response = pb::ListSharesResponse::default();
        for share in shares {
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
        let (caller, request) = split(request)?;
        let users = request
            .users
            .into_iter()
            .enumerate()
            .map(|(i, u)| InviteEntry {
                field: format!("users[{i}]"),
                target: InviteTarget::Email(u.email),
                role: u.role,
            });
        let groups = request
            .groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| InviteEntry {
                field: format!("groups[{i}]"),
                target: InviteTarget::Group(g.id),
                role: g.role,
            });
        let invite = InviteRequest {
            expire_time: expiry(request.expire_time.as_ref(), "expire_time")?,
            name: request.name,
            entries: users.chain(groups).collect(),
        };
        let shares = sharing::invite(&self.app, &caller, &self.limits, invite).await?;
        Ok(written(shares.map(|shares| {
            pb::InviteToDashboardResponse {
                shares: shares.iter().map(convert::share).collect(),
            }
        })))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let (caller, request) = split(request)?;
        let list =
            sharing::list_members(&self.app, &caller, &request.name, request.expand_groups).await?;
        Ok(Response::new(pb::ListMembersResponse {
            members: members(list),
        }))
    }

    async fn list_owners(
        &self,
        request: Request<pb::ListOwnersRequest>,
    ) -> Result<Response<pb::ListOwnersResponse>, Status> {
        let caller = principal(&request)?;
        let owners = sharing::list_owners(&self.app, &caller, &request.get_ref().name).await?;
        Ok(Response::new(pb::ListOwnersResponse {
            owners: owners.iter().map(convert::user).collect(),
        }))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Result<Response<pb::TransferOwnershipResponse>, Status> {
        let (caller, request) = split(request)?;
        let transfer = TransferRequest {
            name: request.name,
            new_owner: request.new_owner,
            previous_owner_role: request.previous_owner_role,
        };
        let owners =
            sharing::transfer_ownership(&self.app, &caller, &self.limits, transfer).await?;
        Ok(written(owners.map(|owners| {
            pb::TransferOwnershipResponse {
                owners: owners.iter().map(convert::user).collect(),
            }
        })))
    }

    async fn check_access(
        &self,
        request: Request<pb::CheckAccessRequest>,
    ) -> Result<Response<pb::CheckAccessResponse>, Status> {
        let (caller, request) = split(request)?;
        let permission = permission_or_read(request.permission, "permission")?;
        let explained =
            sharing::check_access(&self.app, &caller, &request.name, &request.principal).await?;
        let access = &explained.access;
        Ok(Response::new(pb::CheckAccessResponse {
            allowed: access.permissions.contains(permission),
            permissions: convert::permissions(access.permissions),
            ceiling: convert::permissions(access.ceiling),
            grants: grant_explanations(access, &explained.roles),
            implicit_owner: access.implicit_owner,
            principal: explained.subject.user_name(),
            inheritance_cut_at: cut_at(access),
            inherited_from: access
                .inheritance
                .folders
                .iter()
                .map(|f| folder_name(f))
                .collect(),
        }))
    }

    async fn batch_check_access(
        &self,
        request: Request<pb::BatchCheckAccessRequest>,
    ) -> Result<Response<pb::BatchCheckAccessResponse>, Status> {
        let (caller, request) = split(request)?;
        let permission = permission_or_read(request.permission, "permission")?;
        let ids = parse_dashboard_names(&request.names)?;
        let found =
            sharing::batch_check_access(&self.app, &caller, &self.limits, &ids, &request.principal)
                .await?;
        let results = ids
            .iter()
            .zip(&found.results)
            .map(|(id, access)| match access {
                Some(access) => pb::AccessResult {
                    name: names::dashboard_name(id),
                    allowed: access.permissions.contains(permission),
                    permissions: convert::permissions(access.permissions),
                    grants: grant_explanations(access, &found.roles),
                    inheritance_cut_at: cut_at(access),
                    implicit_owner: access.implicit_owner,
                },
                None => pb::AccessResult {
                    name: names::dashboard_name(id),
                    ..Default::default()
                },
            })
            .collect();
        Ok(Response::new(pb::BatchCheckAccessResponse { results }))
    }

    async fn get_principal_context(
        &self,
        request: Request<pb::GetPrincipalContextRequest>,
    ) -> Result<Response<pb::PrincipalContext>, Status> {
        let caller = principal(&request)?;
        let context = sharing::principal_context(&self.app, &caller).await?;
        Ok(Response::new(pb::PrincipalContext {
            user: Some(convert::user(&context.user)),
            role: convert::platform_role(caller.role) as i32,
            tenant: caller.tenant_id.clone().unwrap_or_default(),
            groups: context
                .groups
                .iter()
                .map(|g| names::group_name(g))
                .collect(),
            ceiling: convert::permissions(context.ceiling),
            may_create_dashboards: context.may_create_dashboards,
            may_manage_groups: context.may_manage_groups,
            may_manage_roles: context.may_manage_directory,
            may_manage_users: context.may_manage_directory,
        }))
    }

    async fn create_public_link(
        &self,
        request: Request<pb::CreatePublicLinkRequest>,
    ) -> Result<Response<pb::PublicLink>, Status> {
        let (caller, request) = split(request)?;
        let expire_time = expiry(request.expire_time.as_ref(), "expire_time")?;
        let created =
            sharing::create_public_link(&self.app, &caller, &request.name, expire_time).await?;
        Ok(written(
            created.map(|(link, token)| convert::public_link(&link, token)),
        ))
    }

    async fn revoke_public_link(
        &self,
        request: Request<pb::RevokePublicLinkRequest>,
    ) -> Result<Response<pb::RevokePublicLinkResponse>, Status> {
        let caller = principal(&request)?;
        let done = sharing::revoke_public_link(&self.app, &caller, &request.get_ref().name).await?;
        Ok(written(done.map(|()| pb::RevokePublicLinkResponse {})))
    }

    async fn list_public_links(
        &self,
        request: Request<pb::ListPublicLinksRequest>,
    ) -> Result<Response<pb::ListPublicLinksResponse>, Status> {
        let caller = principal(&request)?;
        let links =
            sharing::list_public_links(&self.app, &caller, &request.get_ref().parent).await?;
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
        let (dashboard, widgets) = sharing::shared_dashboard(&self.app, &token).await?;
        // The FULL view: the dashboard and its widgets.
        Ok(Response::new(pb::Dashboard {
            is_public: true,
            widgets: widgets.iter().map(convert::widget).collect(),
            ..convert::dashboard(&dashboard)
        }))
    }
}
