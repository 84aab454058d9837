//! Access is never stale. After a grant is revoked, expires, loses its group path, is
//! downgraded or its role loses READ, the very next call of every read path (GetDashboard
//! BASIC and FULL, BatchGetDashboards, CheckAccess, BatchCheckAccess, ListDashboards) denies
//! it, however warm the server is: the caller has been seen (the authentication layer's
//! just-in-time cache), every statement has been prepared and run many times, and the
//! database's pages are hot. Also: a member's listing returns exactly what they may read,
//! across orders and pages, as the grants under it change.

mod common;

use std::collections::BTreeSet;

use common::access::{Seen, WARM_ROUNDS, seen, warm};
use common::{Caller, assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use tonic::Code;

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

#[tokio::test]
async fn a_revoked_direct_share_is_denied_on_the_next_call() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let dashboard = olga.create("Revoked").await;

    let share = olga.share_with(&dashboard.name, &bob, "readonly").await;
    warm(&mut bob, &dashboard.name, Seen::ALL).await;

    olga.sharing
        .revoke_share(olga.req(pb::RevokeShareRequest { name: share.name }))
        .await
        .expect("revoke");
    assert_eq!(seen(&mut bob, &dashboard.name).await, Seen::NONE);
    // The owner is unaffected.
    assert_eq!(seen(&mut olga, &dashboard.name).await, Seen::ALL);
}

#[tokio::test]
async fn leaving_a_group_or_losing_the_group_share_is_denied_on_the_next_call() {
    let org = unique_org();
    let mut admin = server().user(&org, "ada", PlatformRole::Admin).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let dashboard = olga.create("Team board").await;
    let team = admin.group("Team", &[&bob]).await;
    let other = admin.group("Other", &[&bob]).await;
    olga.share(&dashboard.name, Kind::Group(team.name.clone()), "readonly")
        .await
        .expect("share with team");
    warm(&mut bob, &dashboard.name, Seen::ALL).await;

    // Membership removed: denied at once, although bob is still in another group.
    admin
        .directory
        .remove_group_member(admin.req(pb::RemoveGroupMemberRequest {
            group: team.name.clone(),
            user: bob.name(),
        }))
        .await
        .expect("remove member");
    assert_eq!(seen(&mut bob, &dashboard.name).await, Seen::NONE);

    // Back in the group: allowed at once.
    admin
        .directory
        .add_group_member(admin.req(pb::AddGroupMemberRequest {
            group: team.name.clone(),
            user: bob.name(),
        }))
        .await
        .expect("add member");
    warm(&mut bob, &dashboard.name, Seen::ALL).await;

    // The group deleted: its share counts for nobody.
    admin
        .directory
        .delete_group(admin.req(pb::DeleteGroupRequest {
            name: team.name.clone(),
            etag: String::new(),
        }))
        .await
        .expect("delete group");
    assert_eq!(seen(&mut bob, &dashboard.name).await, Seen::NONE);

    // A share to a group bob is in, then revoked.
    let share = olga
        .share(&dashboard.name, Kind::Group(other.name.clone()), "readonly")
        .await
        .expect("share with other");
    warm(&mut bob, &dashboard.name, Seen::ALL).await;
    olga.sharing
        .revoke_share(olga.req(pb::RevokeShareRequest { name: share.name }))
        .await
        .expect("revoke");
    assert_eq!(seen(&mut bob, &dashboard.name).await, Seen::NONE);
}

#[tokio::test]
async fn an_expired_share_is_denied_on_the_first_call_after_its_expiry() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let dashboard = olga.create("Expiring").await;

    // Long enough to warm every path while the share counts, even on a slow machine.
    let expire = chrono::Utc::now() + chrono::Duration::seconds(4);
    let request = olga.req(pb::ShareDashboardRequest {
        name: dashboard.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(Kind::User(bob.name())),
        }),
        role: "readwrite".into(),
        expire_time: Some(timestamp(expire)),
    });
    olga.sharing
        .share_dashboard(request)
        .await
        .expect("share with expiry");
    let mut rounds = 0;
    while rounds < WARM_ROUNDS && chrono::Utc::now() + chrono::Duration::seconds(1) < expire {
        assert_eq!(seen(&mut bob, &dashboard.name).await, Seen::ALL);
        rounds += 1;
    }
    assert!(
        rounds > 0,
        "the machine was too slow to warm up before expiry"
    );

    // The server reads the same clock: once expire_time has passed, nothing may serve it.
    let wait = expire - chrono::Utc::now() + chrono::Duration::milliseconds(50);
    if let Ok(wait) = wait.to_std() {
        tokio::time::sleep(wait).await;
    }
    assert_eq!(seen(&mut bob, &dashboard.name).await, Seen::NONE);
}

#[tokio::test]
async fn a_downgraded_share_or_a_role_losing_read_applies_on_the_next_call() {
    let org = unique_org();
    let mut admin = server().user(&org, "ada", PlatformRole::Admin).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let dashboard = olga.create("Roles").await;

    // readwrite -> readonly: bob may still read, but not write, from the next call.
    olga.share_with(&dashboard.name, &bob, "readwrite").await;
    let update = |caller: &Caller, title: &str| {
        caller.req(pb::UpdateDashboardRequest {
            version_message: String::new(),
            dashboard: Some(pb::Dashboard {
                name: dashboard.name.clone(),
                title: title.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        })
    };
    for round in 0..WARM_ROUNDS {
        let request = update(&bob, &format!("Roles {round}"));
        bob.dashboards
            .update_dashboard(request)
            .await
            .expect("bob may write");
    }
    olga.share_with(&dashboard.name, &bob, "readonly").await;
    let request = update(&bob, "Not allowed");
    let status = bob.dashboards.update_dashboard(request).await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
    assert_eq!(
        bob.permissions(&dashboard.name).await.expect("check"),
        vec![pb::Permission::Read]
    );

    // A custom role that can read, then is changed so that it cannot.
    let role = admin
        .directory
        .create_role(admin.req(pb::CreateRoleRequest {
            role: Some(pb::Role {
                display_name: "Reader".into(),
                permissions: vec![pb::Permission::Read as i32],
                ..Default::default()
            }),
        }))
        .await
        .expect("create role")
        .into_inner();
    let carol_dashboard = olga.create("Custom role").await;
    let mut carol = server().user(&org, "carol", PlatformRole::Author).await;
    olga.share(&carol_dashboard.name, Kind::User(carol.name()), &role.name)
        .await
        .expect("share with the custom role");
    warm(&mut carol, &carol_dashboard.name, Seen::ALL).await;
    admin
        .directory
        .update_role(admin.req(pb::UpdateRoleRequest {
            role: Some(pb::Role {
                name: role.name.clone(),
                permissions: vec![pb::Permission::UpdateLabels as i32],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["permissions".into()],
            }),
        }))
        .await
        .expect("update role");
    assert_eq!(seen(&mut carol, &carol_dashboard.name).await, Seen::NONE);
}

#[tokio::test]
async fn tenant_and_org_wide_shares_are_denied_on_the_next_call_once_revoked() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let mut otto = server().user(&org, "otto", PlatformRole::Viewer).await;
    let dashboard = olga.create("Wide").await;

    for (grantee, reaches_tina, reaches_otto) in [
        (Kind::Tenant("t1".into()), true, false),
        (Kind::AllTenants(true), true, false),
        (Kind::OrgMembers(true), false, true),
        (Kind::Everyone(true), true, true),
    ] {
        let share = olga
            .share(&dashboard.name, grantee.clone(), "readonly")
            .await
            .expect("share");
        let expect = |reaches: bool| if reaches { Seen::ALL } else { Seen::NONE };
        warm(&mut tina, &dashboard.name, expect(reaches_tina)).await;
        warm(&mut otto, &dashboard.name, expect(reaches_otto)).await;
        olga.sharing
            .revoke_share(olga.req(pb::RevokeShareRequest { name: share.name }))
            .await
            .expect("revoke");
        assert_eq!(
            seen(&mut tina, &dashboard.name).await,
            Seen::NONE,
            "{grantee:?}"
        );
        assert_eq!(
            seen(&mut otto, &dashboard.name).await,
            Seen::NONE,
            "{grantee:?}"
        );
    }
}

/// A member's listing walked page by page in every order.
async fn walk(caller: &mut Caller, order_by: &str, show_deleted: bool) -> Vec<pb::Dashboard> {
    caller
        .list_all(pb::ListDashboardsRequest {
            page_size: 7,
            order_by: order_by.into(),
            show_deleted,
            ..Default::default()
        })
        .await
}

async fn assert_listing(caller: &mut Caller, expected: &BTreeSet<String>, show_deleted: bool) {
    for order_by in [
        "",
        "create_time",
        "update_time desc",
        "update_time",
        "title",
        "title desc",
    ] {
        let listed = walk(caller, order_by, show_deleted).await;
        let names: Vec<String> = listed.iter().map(|d| d.name.clone()).collect();
        let unique: BTreeSet<String> = names.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "{order_by:?}: a dashboard repeats"
        );
        assert_eq!(&unique, expected, "{order_by:?}");
        if order_by.starts_with("title") {
            let titles: Vec<&str> = listed.iter().map(|d| d.title.as_str()).collect();
            let mut sorted = titles.clone();
            sorted.sort();
            if order_by.ends_with("desc") {
                sorted.reverse();
            }
            assert_eq!(titles, sorted, "{order_by:?}");
        }
    }
}

#[tokio::test]
async fn a_members_listing_is_exactly_what_they_may_read_through_every_grant_kind() {
    let org = unique_org();
    let mut admin = server().user(&org, "ada", PlatformRole::Admin).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let g1 = admin.group("G1", &[&bob]).await;
    let g2 = admin.group("G2", &[&bob]).await;
    let stranger_group = admin.group("G3", &[&olga]).await;
    let no_read = admin
        .directory
        .create_role(admin.req(pb::CreateRoleRequest {
            role: Some(pb::Role {
                display_name: "Labeller".into(),
                permissions: vec![pb::Permission::UpdateLabels as i32],
                ..Default::default()
            }),
        }))
        .await
        .expect("create role")
        .into_inner();

    let mut expected = BTreeSet::new();
    let mut boards = Vec::new();
    for i in 0..30 {
        // Titles repeat so that ties are broken by id.
        boards.push(olga.create(&format!("Board {:02}", i % 9)).await.name);
    }
    // bob's own dashboards.
    for i in 0..4 {
        expected.insert(bob.create(&format!("Mine {i}")).await.name);
    }
    // Several grants reach some dashboards at once (direct + two groups + org-wide): they
    // must be listed once.
    let reaches_bob = [
        (0..6, Kind::User(bob.name())),
        (4..10, Kind::Group(g1.name.clone())),
        (8..14, Kind::Group(g2.name.clone())),
        (12..15, Kind::OrgMembers(true)),
        (14..16, Kind::Everyone(true)),
    ];
    for (range, grantee) in reaches_bob {
        for board in &boards[range] {
            olga.share(board, grantee.clone(), "readonly")
                .await
                .expect("share");
            expected.insert(board.clone());
        }
    }
    // Grants that do not reach bob, or do not give READ.
    for board in &boards[16..20] {
        olga.share(board, Kind::Group(stranger_group.name.clone()), "readonly")
            .await
            .expect("share");
        olga.share(board, Kind::AllTenants(true), "readonly")
            .await
            .expect("share");
        olga.share(board, Kind::User(bob.name()), &no_read.name)
            .await
            .expect("share");
    }
    assert_listing(&mut bob, &expected, false).await;

    // An expired grant is not listed.
    let expire = chrono::Utc::now() + chrono::Duration::seconds(2);
    let request = olga.req(pb::ShareDashboardRequest {
        name: boards[20].clone(),
        grantee: Some(pb::Grantee {
            kind: Some(Kind::User(bob.name())),
        }),
        role: "readonly".into(),
        expire_time: Some(timestamp(expire)),
    });
    olga.sharing
        .share_dashboard(request)
        .await
        .expect("share with expiry");
    let mut with_expiring = expected.clone();
    with_expiring.insert(boards[20].clone());
    assert_listing(&mut bob, &with_expiring, false).await;
    let wait = expire - chrono::Utc::now() + chrono::Duration::milliseconds(50);
    if let Ok(wait) = wait.to_std() {
        tokio::time::sleep(wait).await;
    }
    assert_listing(&mut bob, &expected, false).await;

    // A retitled dashboard moves in the title order (its grants carry the sort keys).
    let request = olga.req(pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: boards[0].clone(),
            title: "AAA first".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
    });
    olga.dashboards
        .update_dashboard(request)
        .await
        .expect("retitle");
    let by_title = walk(&mut bob, "title", false).await;
    assert_eq!(by_title[0].name, boards[0]);
    assert_eq!(by_title[0].title, "AAA first");
    let by_update = walk(&mut bob, "update_time desc", false).await;
    assert_eq!(by_update[0].name, boards[0]);
    assert_listing(&mut bob, &expected, false).await;

    // A trashed dashboard leaves the listing, and is back with show_deleted.
    let request = olga.req(pb::DeleteDashboardRequest {
        name: boards[5].clone(),
        etag: String::new(),
    });
    olga.dashboards
        .delete_dashboard(request)
        .await
        .expect("trash");
    let mut without_trashed = expected.clone();
    without_trashed.remove(&boards[5]);
    assert_listing(&mut bob, &without_trashed, false).await;
    // bob cannot see into the trash (deleting needs DELETE): an owner can.
    let trashed: BTreeSet<String> = walk(&mut olga, "", true)
        .await
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert!(trashed.contains(&boards[5]));

    // Leaving a group removes exactly what only that group gave.
    admin
        .directory
        .remove_group_member(admin.req(pb::RemoveGroupMemberRequest {
            group: g1.name.clone(),
            user: bob.name(),
        }))
        .await
        .expect("remove member");
    for board in &boards[6..8] {
        without_trashed.remove(board);
    }
    assert_listing(&mut bob, &without_trashed, false).await;

    // The admin lists every dashboard of the org; the listing is the same kind of walk.
    let mut everything: BTreeSet<String> = boards.iter().cloned().collect();
    everything.extend(expected.iter().cloned());
    everything.remove(&boards[5]);
    assert_listing(&mut admin, &everything, false).await;
}

#[tokio::test]
async fn a_tenant_user_lists_only_its_tenant_and_all_tenant_shares() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut tina = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let mut expected = BTreeSet::new();
    for (i, grantee) in [
        Kind::Tenant("t1".into()),
        Kind::Tenant("t2".into()),
        Kind::AllTenants(true),
        Kind::OrgMembers(true),
        Kind::Everyone(true),
        Kind::User(tina.name()),
    ]
    .into_iter()
    .enumerate()
    {
        let board = olga.create(&format!("Tenant board {i}")).await.name;
        olga.share(&board, grantee.clone(), "readonly")
            .await
            .expect("share");
        if !matches!(grantee, Kind::Tenant(ref t) if t == "t2")
            && !matches!(grantee, Kind::OrgMembers(_))
        {
            expected.insert(board);
        }
    }
    assert_listing(&mut tina, &expected, false).await;
}
