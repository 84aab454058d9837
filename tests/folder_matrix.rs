//! The permission matrix of tests/sharing.rs with the role given on a folder instead of on
//! the dashboard: for each platform role of the actor and each role it holds on a folder,
//! what it may do on the folder itself and on a dashboard inside it (inherited).

mod common;
#[path = "folder_sharing/helpers.rs"]
mod helpers;

use common::{server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use helpers::*;
use tonic::Code;

/// Outcome of an attempt: Ok, or the status code it failed with.
fn outcome<T>(result: Result<T, tonic::Status>) -> Result<(), Code> {
    result.map(|_| ()).map_err(|s| s.code())
}

const YES: Result<(), Code> = Ok(());
const DENIED: Result<(), Code> = Err(Code::PermissionDenied);
const HIDDEN: Result<(), Code> = Err(Code::NotFound);

#[tokio::test]
async fn permission_matrix_through_a_folder() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let third = server()
        .tenant_user(&org, "third", "t1", PlatformRole::Viewer)
        .await;
    // (sub, tenant, platform role)
    let actors = [
        ("tv", Some("t1"), PlatformRole::Viewer),
        ("tp", Some("t1"), PlatformRole::PowerUser),
        ("oa", None, PlatformRole::Author),
        ("od", None, PlatformRole::Admin),
    ];
    type Cell = (
        Result<(), Code>,
        Result<(), Code>,
        Result<(), Code>,
        Result<(), Code>,
    );
    // role on the folder -> (view, edit, share, delete) per actor, as on a dashboard.
    let admin: Cell = (YES, YES, YES, YES);
    let table: [(&str, [Cell; 4]); 5] = [
        (
            "",
            [
                (HIDDEN, HIDDEN, HIDDEN, HIDDEN),
                (HIDDEN, HIDDEN, HIDDEN, HIDDEN),
                (HIDDEN, HIDDEN, HIDDEN, HIDDEN),
                admin,
            ],
        ),
        (
            "readonly",
            [
                (YES, DENIED, DENIED, DENIED),
                (YES, DENIED, DENIED, DENIED),
                (YES, DENIED, DENIED, DENIED),
                admin,
            ],
        ),
        (
            "readwrite",
            [
                (YES, DENIED, DENIED, DENIED),
                (YES, YES, DENIED, DENIED),
                (YES, YES, DENIED, DENIED),
                admin,
            ],
        ),
        (
            "roles/contributor",
            [
                (YES, DENIED, DENIED, DENIED),
                (YES, YES, YES, DENIED),
                (YES, YES, YES, DENIED),
                admin,
            ],
        ),
        (
            "admin",
            [
                (YES, DENIED, DENIED, DENIED),
                (YES, YES, YES, YES),
                (YES, YES, YES, YES),
                admin,
            ],
        ),
    ];
    for (a, (sub, tenant, role)) in actors.iter().enumerate() {
        let mut caller = server().caller(&org, sub, *tenant, *role).await;
        for (given, row) in &table {
            let (view, edit, share, delete) = row[a];
            let ctx = format!("{sub} with {given:?} on the folder");
            let folder = create_folder(&olga, &format!("{sub} {given}"), "", true)
                .await
                .name;
            let dashboard = create_in(&mut olga, "inside", &folder).await;
            if !given.is_empty() {
                olga.share_with(&folder, &caller, given).await;
            }
            // The dashboard inside, through the folder's share.
            assert_eq!(outcome(caller.get(&dashboard).await), view, "{ctx}: view");
            let edited = caller
                .dashboards
                .update_dashboard(caller.req(common::retitle_request(&dashboard, "edited")))
                .await;
            assert_eq!(outcome(edited), edit, "{ctx}: edit");
            let shared = caller
                .share(&dashboard, Kind::User(third.name()), "roles/viewer")
                .await;
            assert_eq!(outcome(shared), share, "{ctx}: share the dashboard");
            // The folder itself.
            let got = folders()
                .await
                .get_folder(caller.req(pb::GetFolderRequest {
                    name: folder.clone(),
                }))
                .await;
            assert_eq!(outcome(got), view, "{ctx}: view the folder");
            let checked = check(&mut caller, &folder, "").await;
            assert_eq!(outcome(checked), view, "{ctx}: check the folder");
            let listed = list_shares(&mut caller, &folder).await;
            assert_eq!(outcome(listed), share, "{ctx}: list the folder's shares");
            let shared = caller
                .share(&folder, Kind::User(third.name()), "roles/viewer")
                .await;
            assert_eq!(outcome(shared), share, "{ctx}: share the folder");
            let deleted = caller
                .dashboards
                .delete_dashboard(caller.req(pb::DeleteDashboardRequest {
                    name: dashboard.clone(),
                    etag: String::new(),
                }))
                .await;
            assert_eq!(outcome(deleted), delete, "{ctx}: delete the dashboard");
            let trashed = folders()
                .await
                .delete_folder(caller.req(pb::DeleteFolderRequest {
                    name: folder.clone(),
                    etag: String::new(),
                }))
                .await;
            assert_eq!(outcome(trashed), delete, "{ctx}: delete the folder");
        }
    }
}
