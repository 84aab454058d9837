//! Sharing decides under the dashboard's lock (issue 12 item 4), and every sharing write
//! appends its events.
//!
//! The races: concurrent sharing calls on one dashboard, repeated. A check made on shares
//! read before the dashboard is locked lets N concurrent ShareDashboard calls pass the share
//! limit together, and lets a contributor's stale ROLE_EXCEEDS_GRANTER check demote a user
//! an ADMIN has just made owner.

mod common;

use common::{Caller, assert_error, server, start, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::audit_service_client::AuditServiceClient;
use tonic::{Code, Status};

const ROUNDS: usize = 30;

fn share_request(
    caller: &Caller,
    dashboard: &str,
    user: &str,
    role: &str,
) -> tonic::Request<pb::ShareDashboardRequest> {
    caller.req(pb::ShareDashboardRequest {
        name: dashboard.into(),
        grantee: Some(pb::Grantee {
            kind: Some(pb::grantee::Kind::User(user.into())),
        }),
        role: role.into(),
        expire_time: None,
    })
}

async fn shares_of(caller: &mut Caller, dashboard: &str) -> pb::ListSharesResponse {
    let request = caller.req(pb::ListSharesRequest {
        parent: dashboard.into(),
    });
    caller
        .sharing
        .list_shares(request)
        .await
        .expect("list shares")
        .into_inner()
}

/// The role of `user`'s direct share on the dashboard.
async fn role_of(caller: &mut Caller, dashboard: &str, user: &str) -> Option<String> {
    let shares = shares_of(caller, dashboard).await;
    shares
        .users
        .into_iter()
        .find(|s| {
            matches!(
                s.grantee.as_ref().and_then(|g| g.kind.as_ref()),
                Some(pb::grantee::Kind::User(u)) if u == user
            )
        })
        .map(|s| s.role)
}

/// N concurrent ShareDashboard calls for different grantees never leave more shares than
/// the limit, and exactly as many succeed as there was room for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_shares_never_pass_the_share_limit() {
    const LIMIT: usize = 3;
    const GRANTEES: usize = 6;
    let server = start(|c| c.max_shares_per_dashboard = LIMIT);
    let org = unique_org();
    let mut owner = server.user(&org, "owner", PlatformRole::Author).await;
    let mut grantees = Vec::new();
    for i in 0..GRANTEES {
        grantees.push(
            server
                .user(&org, &format!("g{i}"), PlatformRole::Viewer)
                .await
                .name(),
        );
    }
    for round in 0..ROUNDS {
        // The creator's owner share is the first of LIMIT.
        let dashboard = owner.create(&format!("limit {round}")).await.name;
        let mut calls = Vec::new();
        for grantee in &grantees {
            let mut client = owner.sharing.clone();
            let request = share_request(&owner, &dashboard, grantee, "roles/viewer");
            calls.push(tokio::spawn(async move {
                client.share_dashboard(request).await
            }));
        }
        let mut granted = 0;
        for call in calls {
            match call.await.expect("task") {
                Ok(_) => granted += 1,
                Err(status) => {
                    assert_error(&status, Code::FailedPrecondition, "SHARE_LIMIT_REACHED");
                }
            }
        }
        let shares = shares_of(&mut owner, &dashboard).await;
        assert!(
            shares.users.len() <= LIMIT,
            "round {round}: {} shares on a dashboard limited to {LIMIT} ({granted} calls succeeded)",
            shares.users.len()
        );
        assert_eq!(
            granted,
            LIMIT - 1,
            "round {round}: every free place is taken"
        );
        assert_eq!(shares.users.len(), LIMIT, "round {round}");
    }
}

/// An ADMIN makes X owner while a contributor changes X's share to viewer (or revokes it).
/// Whichever commits first, X ends as owner: the contributor's change either committed
/// before the promotion (a lower revision) or was refused with ROLE_EXCEEDS_GRANTER.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_contributor_never_demotes_an_owner_made_concurrently() {
    let server = server();
    let org = unique_org();
    let admin = server.user(&org, "admin", PlatformRole::Admin).await;
    let mut owner = server.user(&org, "owner", PlatformRole::Author).await;
    let contributor = server.user(&org, "contrib", PlatformRole::Author).await;
    let x = server.user(&org, "x", PlatformRole::Author).await;
    let mut refused = 0;
    let mut orders = Vec::new();
    for round in 0..ROUNDS {
        let dashboard = owner.create(&format!("demotion {round}")).await.name;
        owner
            .share_with(&dashboard, &contributor, "roles/contributor")
            .await;
        let x_share = owner.share_with(&dashboard, &x, "roles/editor").await.name;

        let mut admin_client = admin.sharing.clone();
        let promote = share_request(&admin, &dashboard, &x.name(), "roles/owner");
        let mut contributor_client = contributor.sharing.clone();
        // Odd rounds: the contributor revokes X's share instead (the same rule: it may take
        // away only a role within its own permissions).
        let demote = share_request(&contributor, &dashboard, &x.name(), "roles/viewer");
        let revoke = contributor.req(pb::RevokeShareRequest { name: x_share });
        let (promoted, demoted) = tokio::join!(
            tokio::spawn(async move { admin_client.share_dashboard(promote).await }),
            tokio::spawn(async move {
                if round % 2 == 0 {
                    contributor_client
                        .share_dashboard(demote)
                        .await
                        .map(|r| common::revision_in(&r))
                } else {
                    contributor_client
                        .revoke_share(revoke)
                        .await
                        .map(|r| common::revision_in(&r))
                }
            }),
        );
        let promoted: Result<_, Status> = promoted.expect("task");
        let demoted: Result<Option<i64>, Status> = demoted.expect("task");

        let role = role_of(&mut owner, &dashboard, &x.name()).await;
        assert_eq!(
            role.as_deref(),
            Some("roles/owner"),
            "round {round}: a contributor left the ADMIN's new owner as {role:?} \
             (contributor's call: {demoted:?})"
        );
        // The rule first (what a stale check breaks), the revisions after every round.
        let promoted = promoted.expect("the ADMIN's promotion");
        match demoted {
            Ok(demoted_at) => orders.push((round, demoted_at, common::revision_in(&promoted))),
            Err(status) => {
                assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
                refused += 1;
            }
        }
    }
    for (round, demoted_at, promoted_at) in &orders {
        let demoted_at = demoted_at.expect("the change's revision");
        let promoted_at = promoted_at.expect("the promotion's revision");
        assert!(
            demoted_at < promoted_at,
            "round {round}: the contributor's change committed after the promotion"
        );
    }
    let first = orders.len();
    eprintln!("demotion race: {refused} refused, {first} committed first");
}

/// The events of the write that committed at `revision`, in order.
async fn events_at(admin: &Caller, dashboard: &str, revision: i64) -> Vec<pb::Event> {
    let mut client = AuditServiceClient::new(server().channel().await);
    let request = admin.req(pb::ListEventsRequest {
        page_size: 1000,
        page_token: String::new(),
        filter: format!("dashboard = \"{dashboard}\""),
    });
    let mut events: Vec<pb::Event> = client
        .list_events(request)
        .await
        .expect("list events")
        .into_inner()
        .events
        .into_iter()
        .filter(|e| e.revision == revision)
        .collect();
    events.sort_by_key(|e| e.index);
    events
}

/// `(type, resource, grantee, role)` of each event, and every one by `actor`.
fn summary(
    events: &[pb::Event],
    actor: &str,
    dashboard: &str,
) -> Vec<(String, String, String, String)> {
    for e in events {
        assert_eq!(e.actor, actor, "{e:?}");
        assert_eq!(e.dashboard, dashboard, "{e:?}");
    }
    events
        .iter()
        .map(|e| {
            (
                e.r#type.clone(),
                e.resource.clone(),
                e.grantee.clone(),
                e.role.clone(),
            )
        })
        .collect()
}

fn row(t: &str, resource: &str, grantee: &str, role: &str) -> (String, String, String, String) {
    (t.into(), resource.into(), grantee.into(), role.into())
}

/// Every sharing write appends its events at the revision its response carries.
#[tokio::test]
async fn every_sharing_write_appends_its_events() {
    let server = server();
    let org = unique_org();
    let admin = server.user(&org, "admin", PlatformRole::Admin).await;
    let mut owner = server.user(&org, "owner", PlatformRole::Author).await;
    let alice = server.user(&org, "alice", PlatformRole::Author).await;
    let bob = server.user(&org, "bob", PlatformRole::Viewer).await;
    let carol = server.user(&org, "carol", PlatformRole::Viewer).await;
    let dashboard = owner.create("audited").await.name;
    let actor = owner.name();

    // ShareDashboard: a new share.
    let response = owner
        .sharing
        .share_dashboard(share_request(
            &owner,
            &dashboard,
            &alice.name(),
            "roles/editor",
        ))
        .await
        .expect("share");
    let at = common::revision_in(&response).expect("revision");
    let share = response.into_inner();
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [row(
            "SHARE_GRANTED",
            &share.name,
            &alice.name(),
            "roles/editor"
        )]
    );

    // The same grantee, another role: SHARE_CHANGED on the same share.
    let response = owner
        .sharing
        .share_dashboard(share_request(
            &owner,
            &dashboard,
            &alice.name(),
            "roles/viewer",
        ))
        .await
        .expect("change");
    let at = common::revision_in(&response).expect("revision");
    assert_eq!(response.get_ref().name, share.name);
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [row(
            "SHARE_CHANGED",
            &share.name,
            &alice.name(),
            "roles/viewer"
        )]
    );

    // The same share again changes nothing: no revision.
    let response = owner
        .sharing
        .share_dashboard(share_request(
            &owner,
            &dashboard,
            &alice.name(),
            "roles/viewer",
        ))
        .await
        .expect("again");
    assert_eq!(common::revision_in(&response), None);
    assert_eq!(response.get_ref().name, share.name);

    // An org-wide grantee is named by its kind.
    let request = owner.req(pb::ShareDashboardRequest {
        name: dashboard.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(pb::grantee::Kind::OrgMembers(true)),
        }),
        role: "roles/viewer".into(),
        expire_time: None,
    });
    let response = owner.sharing.share_dashboard(request).await.expect("org");
    let at = common::revision_in(&response).expect("revision");
    let org_share = response.into_inner();
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [row(
            "SHARE_GRANTED",
            &org_share.name,
            "org_members",
            "roles/viewer"
        )]
    );

    // InviteToDashboard: one write, one event per share.
    let request = owner.req(pb::InviteToDashboardRequest {
        name: dashboard.clone(),
        users: vec![
            pb::invite_to_dashboard_request::UserInvite {
                email: format!("bob@{org}.test"),
                role: "roles/viewer".into(),
            },
            pb::invite_to_dashboard_request::UserInvite {
                email: format!("carol@{org}.test"),
                role: "roles/editor".into(),
            },
        ],
        groups: vec![],
        expire_time: None,
    });
    let response = owner
        .sharing
        .invite_to_dashboard(request)
        .await
        .expect("invite");
    let at = common::revision_in(&response).expect("revision");
    let invited = response.into_inner().shares;
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [
            row(
                "SHARE_GRANTED",
                &invited[0].name,
                &bob.name(),
                "roles/viewer"
            ),
            row(
                "SHARE_GRANTED",
                &invited[1].name,
                &carol.name(),
                "roles/editor"
            ),
        ]
    );

    // RevokeShare.
    let request = owner.req(pb::RevokeShareRequest {
        name: invited[0].name.clone(),
    });
    let response = owner.sharing.revoke_share(request).await.expect("revoke");
    let at = common::revision_in(&response).expect("revision");
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [row(
            "SHARE_REVOKED",
            &invited[0].name,
            &bob.name(),
            "roles/viewer"
        )]
    );

    // CreatePublicLink and RevokePublicLink: the link's name.
    let request = owner.req(pb::CreatePublicLinkRequest {
        name: dashboard.clone(),
        expire_time: None,
    });
    let response = owner
        .sharing
        .create_public_link(request)
        .await
        .expect("link");
    let at = common::revision_in(&response).expect("revision");
    let link = response.into_inner();
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [row("PUBLIC_LINK_CREATED", &link.name, "", "")]
    );
    let request = owner.req(pb::RevokePublicLinkRequest {
        name: link.name.clone(),
    });
    let response = owner
        .sharing
        .revoke_public_link(request)
        .await
        .expect("unlink");
    let at = common::revision_in(&response).expect("revision");
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [row("PUBLIC_LINK_REVOKED", &link.name, "", "")]
    );

    // TransferOwnership: the new owner's share and the caller's lower role, in one write.
    let owner_name = owner.name();
    let owner_share = role_share(&mut owner, &dashboard, &owner_name).await;
    let request = owner.req(pb::TransferOwnershipRequest {
        name: dashboard.clone(),
        new_owner: carol.name(),
        previous_owner_role: "roles/editor".into(),
    });
    let response = owner
        .sharing
        .transfer_ownership(request)
        .await
        .expect("transfer");
    let at = common::revision_in(&response).expect("revision");
    assert_eq!(
        summary(&events_at(&admin, &dashboard, at).await, &actor, &dashboard),
        [
            row(
                "SHARE_CHANGED",
                &invited[1].name,
                &carol.name(),
                "roles/owner"
            ),
            row("SHARE_CHANGED", &owner_share, &owner.name(), "roles/editor"),
        ]
    );

    // A refused write appends nothing.
    let mut alice = alice;
    let status = alice
        .sharing
        .share_dashboard(share_request(
            &alice,
            &dashboard,
            &bob.name(),
            "roles/viewer",
        ))
        .await
        .expect_err("a viewer cannot share");
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
    assert!(events_at(&admin, &dashboard, at + 1).await.is_empty());
}

/// The name of `user`'s direct share.
async fn role_share(caller: &mut Caller, dashboard: &str, user: &str) -> String {
    shares_of(caller, dashboard)
        .await
        .users
        .into_iter()
        .find(|s| {
            matches!(
                s.grantee.as_ref().and_then(|g| g.kind.as_ref()),
                Some(pb::grantee::Kind::User(u)) if u == user
            )
        })
        .map(|s| s.name)
        .expect("a direct share")
}
