//! WatchDashboards (DESIGN §7): list-then-watch, the new-enemy rule, filters, bookmarks,
//! compaction and errors; on the database `TEST_DATABASE_URL` names, or SQLite.

mod common;

use std::time::Duration;

use common::{Caller, assert_error, revision_of, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::watch_dashboards_response::Type;
use tonic::Code;
use tonic::codec::Streaming;

type Watch = Streaming<pb::WatchDashboardsResponse>;

/// The longest a test waits for an event it expects.
const EVENT_WAIT: Duration = Duration::from_secs(10);

async fn watch(caller: &mut Caller, start_revision: i64, filter: &str) -> Watch {
    caller
        .watch(start_revision, filter)
        .await
        .expect("watch starts")
}

/// Creates a dashboard; its name and the revision it was created at.
async fn create(caller: &mut Caller, title: &str) -> (String, i64) {
    let (dashboard, revision) = caller.create_at_revision(title).await;
    (dashboard.name, revision)
}

/// The next event that is not a BOOKMARK, as (type, revision, dashboard name).
async fn next(stream: &mut Watch) -> (Type, i64, String) {
    loop {
        let event = tokio::time::timeout(EVENT_WAIT, stream.message())
            .await
            .expect("an event within the wait")
            .expect("the stream goes on")
            .expect("the stream is open");
        if event.r#type() == Type::Bookmark {
            continue;
        }
        let r#type = event.r#type();
        let name = event.dashboard.map(|d| d.name).unwrap_or_default();
        return (r#type, event.revision, name);
    }
}

async fn add_widget(caller: &mut Caller, dashboard: &str) -> i64 {
    let response = caller
        .widgets
        .create_widget(caller.req(pb::CreateWidgetRequest {
            parent: dashboard.into(),
            widget: Some(pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                title: "cpu".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create widget");
    revision_of(&response)
}

async fn trash(caller: &mut Caller, name: &str) -> i64 {
    let response = caller
        .dashboards
        .delete_dashboard(caller.req(pb::DeleteDashboardRequest {
            name: name.into(),
            ..Default::default()
        }))
        .await
        .expect("delete");
    revision_of(&response)
}

async fn undelete(caller: &mut Caller, name: &str) -> i64 {
    let response = caller
        .dashboards
        .undelete_dashboard(caller.req(pb::UndeleteDashboardRequest { name: name.into() }))
        .await
        .expect("undelete");
    revision_of(&response)
}

async fn revoke(caller: &mut Caller, share: &str) -> i64 {
    let response = caller
        .sharing
        .revoke_share(caller.req(pb::RevokeShareRequest { name: share.into() }))
        .await
        .expect("revoke");
    revision_of(&response)
}

/// List, then watch from the list's revision: every change after the list arrives once, in
/// revision order, and a new stream started from the last revision received goes on where
/// the first one stopped.
#[tokio::test]
async fn list_then_watch_sees_every_change_once_in_order_across_a_reconnect() {
    let org = unique_org();
    let mut admin = server().user(&org, "admin", PlatformRole::Admin).await;
    let (a, _) = create(&mut admin, "a").await;
    let (b, _) = create(&mut admin, "b").await;
    let (c, created_c) = create(&mut admin, "c").await;
    let listed = admin
        .list(pb::ListDashboardsRequest::default())
        .await
        .expect("list");
    assert_eq!(listed.dashboards.len(), 3);
    assert!(
        listed.revision >= created_c,
        "the list's revision {} is at least the last write's {created_c}",
        listed.revision
    );

    let mut first = watch(&mut admin, listed.revision, "").await;
    let r1 = admin.retitle(&a, "a2").await;
    let (d, r2) = create(&mut admin, "d").await;
    let r3 = add_widget(&mut admin, &b).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next(&mut first).await);
    }
    assert_eq!(
        seen,
        vec![
            (Type::Modified, r1, a.clone()),
            (Type::Added, r2, d.clone()),
            (Type::Modified, r3, b.clone()),
        ]
    );
    drop(first);

    // Written while nobody watched.
    let r4 = trash(&mut admin, &c).await;
    let r5 = undelete(&mut admin, &c).await;
    let mut second = watch(&mut admin, r3, "").await;
    let r6 = admin.retitle(&d, "d2").await;
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(next(&mut second).await);
    }
    assert_eq!(
        rest,
        vec![
            (Type::Removed, r4, c.clone()),
            (Type::Added, r5, c.clone()),
            (Type::Modified, r6, d.clone()),
        ]
    );
    let revisions: Vec<i64> = seen.iter().chain(&rest).map(|(_, r, _)| *r).collect();
    assert_eq!(revisions, vec![r1, r2, r3, r4, r5, r6]);
    assert!(revisions.windows(2).all(|w| w[0] < w[1]));
}

/// The new-enemy rule: a revoked share makes the subscriber's next event for the dashboard
/// REMOVED and nothing after it; a new share (direct or through a group) is ADDED; leaving
/// the group is REMOVED.
#[tokio::test]
async fn access_changes_turn_into_added_and_removed_for_the_subscriber() {
    let org = unique_org();
    let mut owner = server().user(&org, "owner", PlatformRole::Author).await;
    let mut member = server().user(&org, "member", PlatformRole::Viewer).await;
    let (d, _) = create(&mut owner, "d").await;
    let (e, _) = create(&mut owner, "e").await;
    let (f, _) = create(&mut owner, "f").await;
    let share_d = owner.share_with(&d, &member, "roles/viewer").await;
    owner.share_with(&e, &member, "roles/viewer").await;

    let mut stream = watch(&mut member, 0, "").await;
    let r1 = owner.retitle(&d, "d2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, r1, d.clone()));
    let r2 = revoke(&mut owner, &share_d.name).await;
    assert_eq!(next(&mut stream).await, (Type::Removed, r2, d.clone()));
    // Nothing of d follows: the next event is e's.
    owner.retitle(&d, "d3").await;
    add_widget(&mut owner, &d).await;
    let r3 = owner.retitle(&e, "e2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, r3, e.clone()));
    // Shared again: ADDED.
    let share = owner.share_with(&d, &member, "roles/viewer").await;
    let r4 = member_revision(&mut owner, &d).await;
    assert_eq!(next(&mut stream).await, (Type::Added, r4, d.clone()));
    drop(share);

    // Through a group: joining (by the share to the group) adds f, leaving removes it.
    let group = owner.group("readers", &[&member]).await;
    let granted = owner
        .share(
            &f,
            pb::grantee::Kind::Group(group.name.clone()),
            "roles/viewer",
        )
        .await
        .expect("share with the group");
    assert!(!granted.name.is_empty());
    let r5 = member_revision(&mut owner, &f).await;
    assert_eq!(next(&mut stream).await, (Type::Added, r5, f.clone()));
    let response = owner
        .directory
        .remove_group_member(owner.req(pb::RemoveGroupMemberRequest {
            group: group.name.clone(),
            user: member.name(),
        }))
        .await
        .expect("remove member");
    let r6 = revision_of(&response);
    assert_eq!(next(&mut stream).await, (Type::Removed, r6, f.clone()));
    // And nothing of f after it.
    owner.retitle(&f, "f2").await;
    let r7 = owner.retitle(&e, "e3").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, r7, e.clone()));
}

/// The revision of the latest event of `dashboard`, read from the audit trail (the owner
/// may read its shares' events).
async fn member_revision(owner: &mut Caller, dashboard: &str) -> i64 {
    let request = owner.req(pb::ListEventsRequest {
        page_size: 1,
        page_token: String::new(),
        filter: format!("dashboard = \"{dashboard}\""),
    });
    let events = owner
        .audit
        .list_events(request)
        .await
        .expect("list events")
        .into_inner()
        .events;
    events.first().expect("an event").revision
}

/// A filter narrows the watch: a dashboard that starts matching is ADDED, one that stops is
/// REMOVED, others are never mentioned.
#[tokio::test]
async fn a_filter_adds_and_removes_dashboards_as_they_match() {
    let org = unique_org();
    let mut admin = server().user(&org, "admin", PlatformRole::Admin).await;
    let (ops, _) = create(&mut admin, "ops board").await;
    let (other, _) = create(&mut admin, "sales").await;
    let mut stream = watch(&mut admin, 0, "title:\"ops\"").await;
    admin.retitle(&other, "sales 2").await;
    let r1 = admin.retitle(&ops, "ops board 2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, r1, ops.clone()));
    let r2 = admin.retitle(&other, "ops too").await;
    assert_eq!(next(&mut stream).await, (Type::Added, r2, other.clone()));
    let r3 = admin.retitle(&ops, "finance").await;
    assert_eq!(next(&mut stream).await, (Type::Removed, r3, ops.clone()));
}

/// Bad requests fail the call with INVALID_ARGUMENT or OUT_OF_RANGE and an ErrorInfo.
#[tokio::test]
async fn bad_starts_and_filters_are_refused() {
    let org = unique_org();
    let mut admin = server().user(&org, "admin", PlatformRole::Admin).await;
    let (_, latest) = create(&mut admin, "a").await;
    let status = admin.watch(-1, "").await.expect_err("negative");
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(common::violated_fields(&details), vec!["start_revision"]);
    let status = admin.watch(latest + 10, "").await.expect_err("ahead");
    assert_error(&status, Code::OutOfRange, "REVISION_NOT_REACHED");
    let status = admin.watch(0, "title ~ 3").await.expect_err("bad filter");
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut anonymous = server().dashboards().await;
    let status = anonymous
        .watch_dashboards(pb::WatchDashboardsRequest::default())
        .await
        .expect_err("no token");
    assert_error(&status, Code::Unauthenticated, "MISSING_CREDENTIALS");
}

/// A stream with nothing to send sends BOOKMARKs with the revision it reached.
#[tokio::test]
async fn an_idle_stream_sends_bookmarks() {
    let server = common::start(|config| {
        config.watch_bookmark_interval = Duration::from_millis(200);
    });
    let org = unique_org();
    let mut admin = server.user(&org, "admin", PlatformRole::Admin).await;
    let (_, latest) = create(&mut admin, "a").await;
    let mut stream = watch(&mut admin, 0, "").await;
    let event = tokio::time::timeout(EVENT_WAIT, stream.message())
        .await
        .expect("a bookmark within the wait")
        .expect("open")
        .expect("an event");
    assert_eq!(event.r#type(), Type::Bookmark);
    assert_eq!(event.revision, latest);
    assert!(event.dashboard.is_none());
}

/// A directory demotion counts from the next event: an ADMIN's stream demoted to VIEWER
/// reports REMOVED for what a VIEWER of the org cannot read, and goes on for the rest.
#[tokio::test]
async fn a_demoted_subscriber_loses_what_it_no_longer_reads() {
    let org = unique_org();
    let mut admin = server().user(&org, "admin", PlatformRole::Admin).await;
    let mut boss = server().user(&org, "boss", PlatformRole::Admin).await;
    let (private, _) = create(&mut admin, "private").await;
    let (shared, _) = create(&mut admin, "shared").await;
    admin.share_with(&shared, &boss, "roles/viewer").await;
    let mut stream = watch(&mut boss, 0, "").await;
    let response = admin
        .directory
        .upsert_user(admin.req(pb::UpsertUserRequest {
            user: Some(pb::User {
                name: boss.name(),
                role: pb::PlatformRole::Viewer as i32,
                ..Default::default()
            }),
        }))
        .await
        .expect("demote");
    let demoted = revision_of(&response);
    assert_eq!(
        next(&mut stream).await,
        (Type::Removed, demoted, private.clone())
    );
    admin.retitle(&private, "private 2").await;
    let r = admin.retitle(&shared, "shared 2").await;
    assert_eq!(next(&mut stream).await, (Type::Modified, r, shared.clone()));
}
