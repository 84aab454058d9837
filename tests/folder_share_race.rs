//! Share changes on one folder decide under the folder row's lock (as sharing_race.rs for
//! dashboards): concurrent calls never pass the share limit nor leave a folder without an
//! owner.

mod common;
#[path = "folder_sharing/helpers.rs"]
mod helpers;

use common::{Caller, assert_error, start, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use helpers::*;
use tonic::Code;

fn share_request(
    caller: &Caller,
    folder: &str,
    user: &str,
    role: &str,
) -> tonic::Request<pb::ShareDashboardRequest> {
    caller.req(pb::ShareDashboardRequest {
        name: folder.into(),
        grantee: Some(pb::Grantee {
            kind: Some(Kind::User(user.into())),
        }),
        role: role.into(),
        expire_time: None,
    })
}

/// Concurrent share changes on one folder decide under its lock: N concurrent shares never
/// pass the share limit, and two owners taking each other's ownership away at once leave
/// one owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_folder_share_changes_decide_under_the_lock() {
    const LIMIT: usize = 3;
    const GRANTEES: usize = 5;
    const ROUNDS: usize = 10;
    let server = start(|c| c.max_shares_per_dashboard = LIMIT);
    let org = unique_org();
    let alice = server.user(&org, "alice", PlatformRole::Author).await;
    let bob = server.user(&org, "bob", PlatformRole::Author).await;
    let mut grantees = Vec::new();
    for i in 0..GRANTEES {
        let user = server
            .user(&org, &format!("g{i}"), PlatformRole::Viewer)
            .await;
        grantees.push(user.name());
    }
    let mut client = folders_on(&server).await;
    for round in 0..ROUNDS {
        let folder = client
            .create_folder(alice.req(pb::CreateFolderRequest {
                folder: Some(pb::Folder {
                    title: format!("f{round}"),
                    ..Default::default()
                }),
            }))
            .await
            .expect("create folder")
            .into_inner()
            .name;
        // The creator's owner share takes one place.
        let calls = grantees.iter().map(|g| {
            let mut sharing = alice.sharing.clone();
            let request = share_request(&alice, &folder, g, "viewer");
            async move { sharing.share_dashboard(request).await }
        });
        let results = futures_util::future::join_all(calls).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, LIMIT - 1, "round {round}");
        for status in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_error(status, Code::FailedPrecondition, "SHARE_LIMIT_REACHED");
        }

        // Two owners revoke each other at once: one of them stays.
        let other = client
            .create_folder(alice.req(pb::CreateFolderRequest {
                folder: Some(pb::Folder {
                    title: format!("o{round}"),
                    ..Default::default()
                }),
            }))
            .await
            .expect("create folder")
            .into_inner()
            .name;
        let mut sharing = alice.sharing.clone();
        let bobs = sharing
            .share_dashboard(share_request(&alice, &other, &bob.name(), "owner"))
            .await
            .expect("make bob owner")
            .into_inner()
            .name;
        let mut lister = alice.sharing.clone();
        let shares = lister
            .list_shares(alice.req(pb::ListSharesRequest {
                parent: other.clone(),
            }))
            .await
            .expect("shares")
            .into_inner();
        let alices = shares
            .users
            .iter()
            .find(|s| s.name != bobs)
            .expect("alice's owner share")
            .name
            .clone();
        let (mut a, mut b) = (alice.sharing.clone(), bob.sharing.clone());
        let (ra, rb) = tokio::join!(
            a.revoke_share(alice.req(pb::RevokeShareRequest { name: bobs.clone() })),
            b.revoke_share(bob.req(pb::RevokeShareRequest {
                name: alices.clone()
            })),
        );
        assert!(
            ra.is_ok() != rb.is_ok(),
            "round {round}: exactly one revoke wins"
        );
        for status in [ra.err(), rb.err()].into_iter().flatten() {
            // The loser either finds itself no longer an owner (and the folder unreadable)
            // or meets the last owner.
            assert!(
                matches!(status.code(), Code::FailedPrecondition | Code::NotFound),
                "round {round}: {status:?}"
            );
        }
    }
}
