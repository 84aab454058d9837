//! Stars (DESIGN §6): StarDashboard / UnstarDashboard, `Dashboard.starred` for the caller,
//! the `starred` filter of ListDashboards; stars are not audited (no event, no revision).

mod common;

use common::{Caller, assert_error, revision_in, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::{Code, Response, Status};

async fn star(caller: &mut Caller, name: &str) -> Result<Response<pb::Dashboard>, Status> {
    let request = caller.req(pb::StarDashboardRequest { name: name.into() });
    caller.dashboards.star_dashboard(request).await
}

async fn unstar(caller: &mut Caller, name: &str) -> Result<Response<pb::Dashboard>, Status> {
    let request = caller.req(pb::UnstarDashboardRequest { name: name.into() });
    caller.dashboards.unstar_dashboard(request).await
}

/// The titles a filtered listing returns, all pages, in title order.
async fn titles(caller: &mut Caller, filter: &str, show_deleted: bool) -> Vec<String> {
    caller
        .list_all(pb::ListDashboardsRequest {
            page_size: 2,
            filter: filter.into(),
            order_by: "title".into(),
            show_deleted,
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|d| d.title)
        .collect()
}

/// The org's latest revision, as ListEvents reports it to an ADMIN.
async fn latest_revision(admin: &mut Caller) -> i64 {
    let request = admin.req(pb::ListEventsRequest {
        page_size: 1,
        ..Default::default()
    });
    admin
        .audit
        .list_events(request)
        .await
        .expect("ListEvents")
        .into_inner()
        .revision
}

#[tokio::test]
async fn star_and_unstar_are_idempotent_and_append_nothing() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let d = alice.create("Ops").await;
    assert!(!d.starred, "a new dashboard is not starred");
    let before = latest_revision(&mut admin).await;

    for _ in 0..2 {
        let response = star(&mut alice, &d.name).await.expect("star");
        assert_eq!(revision_in(&response), None, "a star takes no revision");
        let starred = response.into_inner();
        assert!(starred.starred);
        assert_eq!(starred.name, d.name);
        assert_eq!(starred.etag, d.etag, "a star does not change the dashboard");
    }
    assert!(alice.get(&d.name).await.unwrap().starred);
    // Starring twice kept one star: one unstar removes it.
    let response = unstar(&mut alice, &d.name).await.expect("unstar");
    assert_eq!(revision_in(&response), None);
    assert!(!response.into_inner().starred);
    assert!(!alice.get(&d.name).await.unwrap().starred);
    // Unstarring what is not starred is fine and changes nothing.
    let response = unstar(&mut alice, &d.name).await.expect("unstar again");
    assert!(!response.into_inner().starred);
    assert_eq!(
        latest_revision(&mut admin).await,
        before,
        "stars append no event"
    );
    let request = alice.req(pb::ListEventsRequest {
        filter: format!("resource = \"{}\"", d.name),
        ..Default::default()
    });
    let events = alice.audit.list_events(request).await.unwrap().into_inner();
    let types: Vec<String> = events.events.into_iter().map(|e| e.r#type).collect();
    assert_eq!(types, vec!["DASHBOARD_CREATED"], "the log holds no star");
}

#[tokio::test]
async fn starred_is_per_caller_on_every_read() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let d = alice.create("Shared").await;
    let other = alice.create("Other").await;
    alice.share_with(&d.name, &bob, "roles/viewer").await;
    alice.share_with(&other.name, &bob, "roles/viewer").await;
    star(&mut bob, &d.name).await.expect("bob stars");

    assert!(bob.get(&d.name).await.unwrap().starred);
    assert!(
        !alice.get(&d.name).await.unwrap().starred,
        "alice did not star it"
    );
    let listed = bob.list_all(pb::ListDashboardsRequest::default()).await;
    let starred: Vec<(String, bool)> = listed
        .iter()
        .map(|d| (d.title.clone(), d.starred))
        .collect();
    assert_eq!(
        starred,
        vec![("Other".to_string(), false), ("Shared".to_string(), true)]
    );
    assert!(
        alice
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .iter()
            .all(|d| !d.starred)
    );
    let request = bob.req(pb::BatchGetDashboardsRequest {
        names: vec![other.name.clone(), d.name.clone(), d.name.clone()],
        view: pb::DashboardView::Full as i32,
    });
    let batch = bob
        .dashboards
        .batch_get_dashboards(request)
        .await
        .unwrap()
        .into_inner();
    let flags: Vec<bool> = batch.dashboards.iter().map(|d| d.starred).collect();
    assert_eq!(flags, vec![false, true, true]);
    // Alice's write responses carry her own (absent) star; bob's star survives the write.
    let request = alice.req(pb::UpdateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            name: d.name.clone(),
            title: "Shared 2".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        version_message: String::new(),
    });
    let updated = alice.dashboards.update_dashboard(request).await.unwrap();
    assert!(!updated.into_inner().starred);
    star(&mut alice, &d.name).await.expect("alice stars too");
    let request = alice.req(pb::UpdateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            name: d.name.clone(),
            title: "Shared 3".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
        version_message: String::new(),
    });
    let updated = alice.dashboards.update_dashboard(request).await.unwrap();
    assert!(
        updated.into_inner().starred,
        "a write response shows the caller's star"
    );
    assert!(bob.get(&d.name).await.unwrap().starred);
}

#[tokio::test]
async fn the_starred_filter_lists_the_readable_starred_ones() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut shares = Vec::new();
    let mut names = Vec::new();
    for title in ["alpha", "beta", "gamma", "delta"] {
        let d = alice.create(title).await;
        shares.push(alice.share_with(&d.name, &bob, "roles/viewer").await);
        names.push(d.name);
    }
    for name in &names[..3] {
        star(&mut bob, name).await.expect("star");
    }
    star(&mut admin, &names[3]).await.expect("an ADMIN stars");

    assert_eq!(
        titles(&mut bob, "starred = true", false).await,
        vec!["alpha", "beta", "gamma"]
    );
    assert_eq!(
        titles(&mut bob, "starred = false", false).await,
        vec!["delta"]
    );
    assert_eq!(
        titles(&mut bob, "starred != true", false).await,
        vec!["delta"]
    );
    assert_eq!(
        titles(&mut bob, "NOT starred = true", false).await,
        vec!["delta"]
    );
    assert_eq!(
        titles(&mut bob, "starred = true AND title:a", false).await,
        vec!["alpha", "beta", "gamma"]
    );
    assert_eq!(
        titles(&mut bob, "starred = true AND title:\"ta\"", false).await,
        vec!["beta"]
    );
    assert_eq!(
        titles(&mut bob, "starred = true OR title = delta", false).await,
        vec!["alpha", "beta", "delta", "gamma"]
    );
    // An ADMIN (who reads everything) sees its own stars only.
    assert_eq!(
        titles(&mut admin, "starred = true", false).await,
        vec!["delta"]
    );
    assert!(titles(&mut alice, "starred = true", false).await.is_empty());

    // Access lost: the star is invisible, the listing does not fail, the dashboard is
    // NOT_FOUND for bob (starring it too).
    let request = alice.req(pb::RevokeShareRequest {
        name: shares[1].name.clone(),
    });
    alice.sharing.revoke_share(request).await.expect("revoke");
    assert_eq!(
        titles(&mut bob, "starred = true", false).await,
        vec!["alpha", "gamma"]
    );
    assert_error(
        &bob.get(&names[1]).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        &star(&mut bob, &names[1]).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        &unstar(&mut bob, &names[1]).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    // Shared again: the star is back.
    alice.share_with(&names[1], &bob, "roles/viewer").await;
    assert_eq!(
        titles(&mut bob, "starred = true", false).await,
        vec!["alpha", "beta", "gamma"]
    );

    // Bad values are INVALID_ARGUMENT on `filter`.
    for bad in ["starred = yes", "starred > true"] {
        let status = bob
            .list(pb::ListDashboardsRequest {
                filter: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn strangers_and_trashed_dashboards() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut eve = server().user(&org, "eve", PlatformRole::Author).await;
    let mut outsider = server()
        .user(&unique_org(), "alice", PlatformRole::Admin)
        .await;
    let d = alice.create("Private").await;
    for caller in [&mut eve, &mut outsider] {
        assert_error(
            &star(caller, &d.name).await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_error(
            &unstar(caller, &d.name).await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
    }
    let missing = "dashboards/0190a0b0-0000-7000-8000-000000000000";
    assert_error(
        &star(&mut alice, missing).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        &star(&mut alice, "boards/x").await.unwrap_err(),
        Code::InvalidArgument,
        "INVALID_ARGUMENT",
    );

    // Starred, then trashed: the star stays (listed with show_deleted), may be taken back,
    // but a trashed dashboard cannot be starred.
    let starred = alice.create("Starred").await;
    star(&mut alice, &starred.name).await.expect("star");
    for name in [&d.name, &starred.name] {
        let request = alice.req(pb::DeleteDashboardRequest {
            name: name.clone(),
            etag: String::new(),
        });
        alice
            .dashboards
            .delete_dashboard(request)
            .await
            .expect("trash");
    }
    assert!(titles(&mut alice, "starred = true", false).await.is_empty());
    assert_eq!(
        titles(&mut alice, "starred = true", true).await,
        vec!["Starred"]
    );
    assert!(alice.get(&starred.name).await.unwrap().starred);
    assert_error(
        &star(&mut alice, &d.name).await.unwrap_err(),
        Code::FailedPrecondition,
        "DASHBOARD_DELETED",
    );
    let response = unstar(&mut alice, &starred.name)
        .await
        .expect("unstar in the trash");
    assert!(!response.into_inner().starred);
    assert!(titles(&mut alice, "starred = true", true).await.is_empty());
}

/// The purge of a starred dashboard takes its stars along.
#[tokio::test]
async fn a_starred_dashboard_is_purged() {
    let purging = common::start(|config| {
        config.trash_retention = std::time::Duration::from_millis(200);
        config.purge_interval = std::time::Duration::from_millis(100);
    });
    let org = unique_org();
    let mut alice = purging.user(&org, "alice", PlatformRole::Author).await;
    let mut bob = purging.user(&org, "bob", PlatformRole::Viewer).await;
    let doomed = alice.create("Doomed").await;
    let kept = alice.create("Kept").await;
    alice.share_with(&doomed.name, &bob, "roles/viewer").await;
    star(&mut alice, &doomed.name).await.expect("star");
    star(&mut bob, &doomed.name).await.expect("star");
    star(&mut alice, &kept.name).await.expect("star");
    let request = alice.req(pb::DeleteDashboardRequest {
        name: doomed.name.clone(),
        etag: String::new(),
    });
    alice.dashboards.delete_dashboard(request).await.unwrap();
    let mut purged = false;
    for _ in 0..100 {
        if alice
            .get(&doomed.name)
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
        {
            purged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(purged, "the starred, trashed dashboard was never purged");
    assert_eq!(
        titles(&mut alice, "starred = true", true).await,
        vec!["Kept"]
    );
    assert!(titles(&mut bob, "starred = true", true).await.is_empty());
}

/// Concurrent stars of one dashboard by one caller all succeed and leave one star; a
/// concurrent unstar storm leaves none.
#[tokio::test]
async fn concurrent_stars_keep_one() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let d = alice.create("Busy").await;
    for starring in [true, false] {
        let mut handles = Vec::new();
        for _ in 0..8 {
            let mut caller = server().user(&org, "alice", PlatformRole::Author).await;
            let name = d.name.clone();
            handles.push(tokio::spawn(async move {
                if starring {
                    star(&mut caller, &name)
                        .await
                        .map(|r| r.into_inner().starred)
                } else {
                    unstar(&mut caller, &name)
                        .await
                        .map(|r| r.into_inner().starred)
                }
            }));
        }
        for handle in handles {
            assert_eq!(handle.await.expect("task").expect("call"), starring);
        }
        assert_eq!(alice.get(&d.name).await.unwrap().starred, starring);
        let expected: Vec<String> = if starring {
            vec!["Busy".into()]
        } else {
            Vec::new()
        };
        assert_eq!(titles(&mut alice, "starred = true", false).await, expected);
    }
}
