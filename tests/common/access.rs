//! What every read path answers a caller about one dashboard, for the freshness tests
//! (tests/access_freshness.rs, tests/access_freshness_more.rs, tests/access_replicas.rs).

use dashboard_service::pb;
use tonic::{Code, Request};

use super::{Caller, assert_error, revision_of};

/// How many times each read path is exercised before a change, so that any cache in the
/// request path would be holding the old answer.
pub const WARM_ROUNDS: usize = 10;

/// The request header a read sends to be answered from state at least as fresh as a
/// revision (DESIGN §7).
pub const MIN_REVISION_HEADER: &str = "x-dashboards-min-revision";

/// What each read path answers for a caller and a dashboard.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen {
    pub get_basic: bool,
    pub get_full: bool,
    pub batch_get: bool,
    pub check: bool,
    pub batch_check: bool,
    pub listed: bool,
}

impl Seen {
    pub const ALL: Seen = Seen {
        get_basic: true,
        get_full: true,
        batch_get: true,
        check: true,
        batch_check: true,
        listed: true,
    };
    pub const NONE: Seen = Seen {
        get_basic: false,
        get_full: false,
        batch_get: false,
        check: false,
        batch_check: false,
        listed: false,
    };

    pub fn expect(readable: bool) -> Seen {
        if readable { Seen::ALL } else { Seen::NONE }
    }
}

/// The caller's request, carrying `x-dashboards-min-revision: min` when `min` is set.
pub fn request_at<T>(caller: &Caller, message: T, min: Option<i64>) -> Request<T> {
    let mut request = caller.req(message);
    if let Some(min) = min {
        request.metadata_mut().insert(
            MIN_REVISION_HEADER,
            min.to_string().parse().expect("header value"),
        );
    }
    request
}

/// Asks every read path whether `caller` may read `name`. Denials must be NOT_FOUND (a
/// dashboard the caller cannot read does not exist for it).
pub async fn seen(caller: &mut Caller, name: &str) -> Seen {
    seen_at(caller, name, None).await
}

/// [`seen`], with every call (each page of the listing too) carrying
/// `x-dashboards-min-revision: min` when `min` is set.
pub async fn seen_at(caller: &mut Caller, name: &str, min: Option<i64>) -> Seen {
    let get = |view: pb::DashboardView| {
        let request = request_at(
            caller,
            pb::GetDashboardRequest {
                name: name.into(),
                view: view as i32,
            },
            min,
        );
        let mut client = caller.dashboards.clone();
        async move {
            match client.get_dashboard(request).await {
                Ok(_) => true,
                Err(status) => {
                    assert_error(&status, Code::NotFound, "NOT_FOUND");
                    false
                }
            }
        }
    };
    let get_basic = get(pb::DashboardView::Basic).await;
    let get_full = get(pb::DashboardView::Full).await;

    let request = request_at(
        caller,
        pb::BatchGetDashboardsRequest {
            names: vec![name.into()],
            view: 0,
        },
        min,
    );
    let batch_get = match caller.dashboards.batch_get_dashboards(request).await {
        Ok(response) => {
            let found = response.into_inner().dashboards;
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].name, name);
            true
        }
        Err(status) => {
            assert_error(&status, Code::NotFound, "NOT_FOUND");
            false
        }
    };

    let request = request_at(
        caller,
        pb::CheckAccessRequest {
            name: name.into(),
            permission: 0,
            principal: String::new(),
        },
        min,
    );
    let check = match caller.sharing.check_access(request).await {
        Ok(response) => response
            .into_inner()
            .permissions()
            .any(|p| p == pb::Permission::Read),
        Err(status) => {
            assert_error(&status, Code::NotFound, "NOT_FOUND");
            false
        }
    };

    let request = request_at(
        caller,
        pb::BatchCheckAccessRequest {
            names: vec![name.into()],
            permission: pb::Permission::Read as i32,
            principal: String::new(),
        },
        min,
    );
    let results = caller
        .sharing
        .batch_check_access(request)
        .await
        .expect("batch check")
        .into_inner()
        .results;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].name, name);
    let batch_check = results[0].allowed;

    let listed = list_all_at(caller, 3, min)
        .await
        .iter()
        .any(|d| d.name == name);

    Seen {
        get_basic,
        get_full,
        batch_get,
        check,
        batch_check,
        listed,
    }
}

/// Every page of the caller's listing (`page_size` a page), each call carrying
/// `x-dashboards-min-revision: min` when `min` is set.
pub async fn list_all_at(
    caller: &mut Caller,
    page_size: i32,
    min: Option<i64>,
) -> Vec<pb::Dashboard> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let message = pb::ListDashboardsRequest {
            page_size,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let request = request_at(caller, message, min);
        let page = caller
            .dashboards
            .list_dashboards(request)
            .await
            .expect("list page")
            .into_inner();
        assert!(page.dashboards.len() <= page_size.max(1) as usize);
        all.extend(page.dashboards);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Exercises every read path until it is warm, asserting it answers `expected` each time.
pub async fn warm(caller: &mut Caller, name: &str, expected: Seen) {
    for round in 0..WARM_ROUNDS {
        assert_eq!(seen(caller, name).await, expected, "warm-up round {round}");
    }
}

// ---- Changes that take access away, each returning the revision it committed at -------

/// RevokeShare of a dashboard's or a folder's share.
pub async fn revoke(caller: &mut Caller, share: &str) -> i64 {
    let request = caller.req(pb::RevokeShareRequest { name: share.into() });
    let response = caller.sharing.revoke_share(request).await;
    revision_of(&response.expect("revoke the share"))
}

/// RemoveGroupMember.
pub async fn remove_member(caller: &mut Caller, group: &str, user: &str) -> i64 {
    let request = caller.req(pb::RemoveGroupMemberRequest {
        group: group.into(),
        user: user.into(),
    });
    let response = caller.directory.remove_group_member(request).await;
    revision_of(&response.expect("remove the member"))
}

/// AddGroupMember.
pub async fn add_member(caller: &mut Caller, group: &str, user: &str) -> i64 {
    let request = caller.req(pb::AddGroupMemberRequest {
        group: group.into(),
        user: user.into(),
    });
    let response = caller.directory.add_group_member(request).await;
    revision_of(&response.expect("add the member"))
}

/// UpdateFolder of `inherit_access` alone (false: a cut point).
pub async fn set_folder_inherit(caller: &mut Caller, folder: &str, inherit: bool) -> i64 {
    let request = caller.req(pb::UpdateFolderRequest {
        folder: Some(pb::Folder {
            name: folder.into(),
            inherit_access: Some(inherit),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["inherit_access".into()],
        }),
    });
    let response = caller.folders.update_folder(request).await;
    let response = response.expect("update the folder's inherit_access");
    let revision = revision_of(&response);
    assert_eq!(response.into_inner().inherit_access, Some(inherit));
    revision
}

/// UpdateDashboard of `inherit_access` alone (false: a cut point).
pub async fn set_dashboard_inherit(caller: &mut Caller, dashboard: &str, inherit: bool) -> i64 {
    let request = caller.req(pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: dashboard.into(),
            inherit_access: Some(inherit),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["inherit_access".into()],
        }),
    });
    let response = caller.dashboards.update_dashboard(request).await;
    let response = response.expect("update the dashboard's inherit_access");
    let revision = revision_of(&response);
    assert_eq!(response.into_inner().inherit_access, Some(inherit));
    revision
}

/// MoveFolder (`parent` `""`: to the root).
pub async fn move_folder(caller: &mut Caller, folder: &str, parent: &str) -> i64 {
    let request = caller.req(pb::MoveFolderRequest {
        name: folder.into(),
        parent: parent.into(),
        validate_only: false,
    });
    let response = caller.folders.move_folder(request).await;
    revision_of(&response.expect("move the folder"))
}

/// MoveDashboard (`folder` `""`: to the root).
pub async fn move_dashboard(caller: &mut Caller, dashboard: &str, folder: &str) -> i64 {
    let request = caller.req(pb::MoveDashboardRequest {
        name: dashboard.into(),
        folder: folder.into(),
        validate_only: false,
    });
    let response = caller.dashboards.move_dashboard(request).await;
    revision_of(&response.expect("move the dashboard"))
}

/// UpsertUser by an ADMIN: the directory sets `id`'s org role (DESIGN §4.3; the email is
/// the one the test tokens claim).
pub async fn set_user_role(caller: &mut Caller, id: &str, role: pb::PlatformRole) -> i64 {
    let request = caller.req(pb::UpsertUserRequest {
        user: Some(pb::User {
            name: format!("users/{id}"),
            email: format!("{id}@{}.test", caller.org),
            display_name: id.into(),
            role: role as i32,
            ..Default::default()
        }),
    });
    let response = caller.directory.upsert_user(request).await;
    let response = response.expect("upsert the user");
    let revision = revision_of(&response);
    let user = response.into_inner();
    assert_eq!((user.role, user.role_set_by_admin), (role as i32, true));
    revision
}

/// CreateRole: a custom role with `permissions`.
pub async fn custom_role(
    caller: &mut Caller,
    title: &str,
    permissions: &[pb::Permission],
) -> pb::Role {
    let request = caller.req(pb::CreateRoleRequest {
        role: Some(pb::Role {
            display_name: title.into(),
            permissions: permissions.iter().map(|p| *p as i32).collect(),
            ..Default::default()
        }),
    });
    let response = caller.directory.create_role(request).await;
    response.expect("create the role").into_inner()
}

/// UpdateRole of a custom role's permissions alone.
pub async fn set_role_permissions(
    caller: &mut Caller,
    role: &str,
    permissions: &[pb::Permission],
) -> i64 {
    let request = caller.req(pb::UpdateRoleRequest {
        role: Some(pb::Role {
            name: role.into(),
            permissions: permissions.iter().map(|p| *p as i32).collect(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["permissions".into()],
        }),
    });
    let response = caller.directory.update_role(request).await;
    revision_of(&response.expect("update the role"))
}
