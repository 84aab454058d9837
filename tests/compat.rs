//! Issue 16 item 6, the compatibility gaps: BatchUpdateWidgetLayouts `remove_unlisted`
//! (InfluxDB's PUT cells), ListDashboards `view` (Qubitro's list entries carry their
//! widgets) and UpdateGroup's `members` mask path (Lightdash's UpdateGroup with a member
//! list): permissions, limits, atomicity and the events of each write.

mod common;

use common::{Caller, assert_error, revision_in, revision_of, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use pb::grantee::Kind;
use tonic::{Code, Response, Status};

// ---- helpers --------------------------------------------------------------------------------

fn layout(x: i32, y: i32, w: i32, h: i32) -> pb::WidgetLayout {
    pb::WidgetLayout {
        x: Some(x),
        y: Some(y),
        w: Some(w),
        h: Some(h),
    }
}

async fn add_widget(
    caller: &mut Caller,
    dashboard: &str,
    title: &str,
    at: pb::WidgetLayout,
) -> String {
    let request = caller.req(pb::CreateWidgetRequest {
        parent: dashboard.into(),
        widget: Some(pb::Widget {
            r#type: pb::WidgetType::Chart as i32,
            title: title.into(),
            layout: Some(at),
            ..Default::default()
        }),
        ..Default::default()
    });
    caller
        .widgets
        .create_widget(request)
        .await
        .expect("create widget")
        .into_inner()
        .name
}

/// A dashboard with widgets a (0,0 12x8), b (12,0 12x8) and c (0,8 24x4).
async fn board(caller: &mut Caller) -> (String, [String; 3]) {
    let d = caller.create("cells").await.name;
    let a = add_widget(caller, &d, "a", layout(0, 0, 12, 8)).await;
    let b = add_widget(caller, &d, "b", layout(12, 0, 12, 8)).await;
    let c = add_widget(caller, &d, "c", layout(0, 8, 24, 4)).await;
    (d, [a, b, c])
}

async fn relayout(
    caller: &mut Caller,
    parent: &str,
    entries: &[(&str, Option<pb::WidgetLayout>)],
    etag: &str,
    remove_unlisted: bool,
) -> Result<Response<pb::BatchUpdateWidgetLayoutsResponse>, Status> {
    let request = caller.req(pb::BatchUpdateWidgetLayoutsRequest {
        parent: parent.into(),
        layouts: entries
            .iter()
            .map(|(widget, layout)| pb::WidgetLayoutUpdate {
                widget: widget.to_string(),
                layout: *layout,
            })
            .collect(),
        etag: etag.into(),
        version_message: String::new(),
        remove_unlisted,
    });
    caller.widgets.batch_update_widget_layouts(request).await
}

/// The names of the dashboard's widgets, in layout order.
async fn widget_names(caller: &mut Caller, dashboard: &str) -> Vec<String> {
    let request = caller.req(pb::ListWidgetsRequest {
        parent: dashboard.into(),
        page_size: 1_000,
        ..Default::default()
    });
    caller
        .widgets
        .list_widgets(request)
        .await
        .expect("list widgets")
        .into_inner()
        .widgets
        .into_iter()
        .map(|w| w.name)
        .collect()
}

/// The events of one revision the caller sees, in the order written, as (type, resource,
/// grantee).
async fn events_at(caller: &mut Caller, revision: i64) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = caller.req(pb::ListEventsRequest {
            page_size: 100,
            page_token: page_token.clone(),
            filter: String::new(),
        });
        let page = caller
            .audit
            .list_events(request)
            .await
            .expect("ListEvents")
            .into_inner();
        all.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    all.retain(|e| e.revision == revision);
    all.sort_by_key(|e| e.index);
    all.into_iter()
        .map(|e| (e.r#type, e.resource, e.grantee))
        .collect()
}

fn event(r#type: &str, resource: &str, grantee: &str) -> (String, String, String) {
    (r#type.into(), resource.into(), grantee.into())
}

// ---- BatchUpdateWidgetLayouts remove_unlisted -----------------------------------------------

#[tokio::test]
async fn remove_unlisted_replaces_the_cells_in_one_write() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let (d, [a, b, c]) = board(&mut alice).await;

    // Without it, b cannot take a's place: a stays.
    let status = relayout(
        &mut alice,
        &d,
        &[(&b, Some(layout(0, 0, 12, 8)))],
        "",
        false,
    )
    .await
    .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");

    // With it, a is deleted and the arrangement is checked without it; c, named without a
    // layout, stays where it is.
    let response = relayout(
        &mut alice,
        &d,
        &[(&b, Some(layout(0, 0, 12, 8))), (&c, None)],
        "",
        true,
    )
    .await
    .expect("PUT cells");
    let revision = revision_of(&response);
    let done = response.into_inner();
    let named: Vec<&str> = done.widgets.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(named, [b.as_str(), c.as_str()]);
    assert_eq!(done.widgets[0].layout, Some(layout(0, 0, 12, 8)));
    assert_eq!(done.widgets[1].layout, Some(layout(0, 8, 24, 4)));
    assert_eq!(done.removed_widgets, std::slice::from_ref(&a));
    assert_eq!(widget_names(&mut alice, &d).await, [b.clone(), c.clone()]);
    let request = alice.req(pb::GetWidgetRequest { name: a.clone() });
    let status = alice.widgets.get_widget(request).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // One revision: a WIDGET_DELETED per widget removed, then the LAYOUT_CHANGED.
    assert_eq!(
        events_at(&mut alice, revision).await,
        [
            event("WIDGET_DELETED", &a, ""),
            event("LAYOUT_CHANGED", &b, ""),
        ]
    );

    // One new version of the dashboard: a removed, b moved, c untouched.
    let request = alice.req(pb::ListDashboardVersionsRequest {
        parent: d.clone(),
        page_size: 1,
        ..Default::default()
    });
    let newest = alice
        .versions
        .list_dashboard_versions(request)
        .await
        .expect("versions")
        .into_inner()
        .versions
        .remove(0);
    assert_eq!(newest.revision, revision);
    let request = alice.req(pb::DiffDashboardVersionsRequest {
        name: d.clone(),
        base: (newest.version - 1).to_string(),
        target: newest.version.to_string(),
    });
    let diff = alice
        .versions
        .diff_dashboard_versions(request)
        .await
        .expect("diff")
        .into_inner();
    assert_eq!(diff.widgets_removed, std::slice::from_ref(&a));
    assert!(diff.widgets_added.is_empty());
    let changed: Vec<&str> = diff
        .widgets_changed
        .iter()
        .map(|c| c.widget.as_str())
        .collect();
    assert_eq!(changed, [b.as_str()]);

    // Naming every widget without moving any changes nothing, and takes no revision.
    let response = relayout(&mut alice, &d, &[(&c, None), (&b, None)], "", true)
        .await
        .expect("no-op");
    assert_eq!(revision_in(&response), None);
    assert!(response.into_inner().removed_widgets.is_empty());

    // No entries at all: every widget goes, each with its event, at one revision.
    let status = relayout(&mut alice, &d, &[], "", false).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["layouts"]);
    let response = relayout(&mut alice, &d, &[], "", true)
        .await
        .expect("delete every cell");
    let revision = revision_of(&response);
    let mut gone = vec![b.clone(), c.clone()];
    gone.sort();
    assert_eq!(response.into_inner().removed_widgets, gone);
    assert!(widget_names(&mut alice, &d).await.is_empty());
    let events = events_at(&mut alice, revision).await;
    assert_eq!(
        events,
        gone.iter()
            .map(|w| event("WIDGET_DELETED", w, ""))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn remove_unlisted_is_all_or_nothing() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let (d, [a, b, c]) = board(&mut alice).await;
    let all = widget_names(&mut alice, &d).await;
    assert_eq!(all.len(), 3);

    // An unknown widget named: NOT_FOUND, nothing deleted.
    let unknown = format!("{d}/widgets/0190aaaa-0000-7000-8000-000000000000");
    let status = relayout(&mut alice, &d, &[(&a, None), (&unknown, None)], "", true)
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    // A move that collides with a kept widget: INVALID_ARGUMENT, nothing deleted.
    let status = relayout(
        &mut alice,
        &d,
        &[(&a, None), (&b, Some(layout(6, 0, 12, 8)))],
        "",
        true,
    )
    .await
    .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    // A widget named twice, a widget of another dashboard: INVALID_ARGUMENT per entry.
    let other = alice.create("other").await.name;
    let foreign = add_widget(&mut alice, &other, "f", layout(0, 0, 1, 1)).await;
    let status = relayout(
        &mut alice,
        &d,
        &[(&a, None), (&a, None), (&foreign, None)],
        "",
        true,
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(
        violated_fields(&details),
        ["layouts[1].widget", "layouts[2].widget"]
    );
    // A stale dashboard etag: ABORTED, nothing deleted.
    let etag = alice.get(&d).await.expect("get").etag;
    alice.retitle(&d, "renamed").await;
    let status = relayout(&mut alice, &d, &[(&c, None)], &etag, true)
        .await
        .unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(widget_names(&mut alice, &d).await, all);
    assert_eq!(widget_names(&mut alice, &other).await, [foreign]);

    // The current etag: applied.
    let etag = alice.get(&d).await.expect("get").etag;
    relayout(&mut alice, &d, &[(&c, None)], &etag, true)
        .await
        .expect("current etag");
    assert_eq!(widget_names(&mut alice, &d).await, [c]);
}

#[tokio::test]
async fn remove_unlisted_needs_what_delete_widget_needs() {
    let org = unique_org();
    let s = server();
    let mut alice = s.user(&org, "alice", PlatformRole::Author).await;
    let mut viewer = s.user(&org, "vic", PlatformRole::Author).await;
    let mut editor = s.user(&org, "eve", PlatformRole::Author).await;
    let mut stranger = s.user(&org, "sam", PlatformRole::Author).await;
    let (d, [a, b, _]) = board(&mut alice).await;
    alice.share_with(&d, &viewer, "viewer").await;
    alice.share_with(&d, &editor, "editor").await;

    // DeleteWidget and remove_unlisted answer the same: NOT_FOUND without READ,
    // PERMISSION_DENIED with READ but without MANAGE_WIDGETS.
    for (caller, code, reason) in [
        (&mut stranger, Code::NotFound, "NOT_FOUND"),
        (&mut viewer, Code::PermissionDenied, "MISSING_PERMISSION"),
    ] {
        let request = caller.req(pb::DeleteWidgetRequest {
            name: a.clone(),
            ..Default::default()
        });
        let status = caller.widgets.delete_widget(request).await.unwrap_err();
        assert_error(&status, code, reason);
        let status = relayout(caller, &d, &[(&a, None)], "", true)
            .await
            .unwrap_err();
        assert_error(&status, code, reason);
    }
    assert_eq!(widget_names(&mut alice, &d).await.len(), 3);

    // An editor holds MANAGE_WIDGETS.
    let response = relayout(&mut editor, &d, &[(&a, None), (&b, None)], "", true)
        .await
        .expect("editor");
    assert_eq!(response.into_inner().removed_widgets.len(), 1);
    assert_eq!(widget_names(&mut alice, &d).await, [a, b]);
}

// ---- ListDashboards view --------------------------------------------------------------------

fn list_request(view: pb::DashboardView, page_size: i32) -> pb::ListDashboardsRequest {
    pb::ListDashboardsRequest {
        page_size,
        order_by: "title".into(),
        view: view as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn list_full_carries_each_dashboards_widgets() {
    let org = unique_org();
    let s = server();
    let mut alice = s.user(&org, "alice", PlatformRole::Author).await;
    let mut bob = s.user(&org, "bob", PlatformRole::Viewer).await;
    let one = alice.create("1 one").await.name;
    let w2 = add_widget(&mut alice, &one, "lower", layout(0, 8, 4, 4)).await;
    let w1 = add_widget(&mut alice, &one, "upper", layout(4, 0, 4, 4)).await;
    let two = alice.create("2 two").await.name;
    let three = alice.create("3 three").await.name;
    let w3 = add_widget(&mut alice, &three, "only", layout(0, 0, 1, 1)).await;

    // BASIC (and unspecified): no widgets.
    for view in [pb::DashboardView::Unspecified, pb::DashboardView::Basic] {
        let page = alice.list(list_request(view, 10)).await.expect("basic");
        assert_eq!(page.dashboards.len(), 3);
        assert!(page.dashboards.iter().all(|d| d.widgets.is_empty()));
    }
    // FULL: each with its widgets in layout order, on every page.
    let listed = alice
        .list_all(list_request(pb::DashboardView::Full, 2))
        .await;
    let got: Vec<(String, Vec<String>)> = listed
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.widgets.iter().map(|w| w.name.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (one.clone(), vec![w1.clone(), w2.clone()]),
            (two.clone(), vec![]),
            (three.clone(), vec![w3.clone()]),
        ]
    );
    let full_one = &listed[0];
    assert_eq!(full_one.widgets[0].title, "upper");
    assert_eq!(full_one.widgets[0].layout, Some(layout(4, 0, 4, 4)));
    assert!(!full_one.widgets[0].etag.is_empty());

    // A reader sees the widgets of what it may read, and nothing else.
    alice.share_with(&three, &bob, "viewer").await;
    let page = bob
        .list(list_request(pb::DashboardView::Full, 10))
        .await
        .expect("bob");
    assert_eq!(page.dashboards.len(), 1);
    assert_eq!(page.dashboards[0].name, three);
    assert_eq!(page.dashboards[0].widgets.len(), 1);

    // An unknown view is INVALID_ARGUMENT.
    let mut request = list_request(pb::DashboardView::Full, 10);
    request.view = 42;
    let status = alice.list(request).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["view"]);
}

fn blob(bytes: usize) -> prost_types::Struct {
    let text = prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue("x".repeat(bytes))),
    };
    prost_types::Struct {
        fields: [("blob".to_string(), text)].into(),
    }
}

#[tokio::test]
async fn full_pages_stay_within_the_response_limit() {
    let small = common::start(|c| c.max_message_bytes = 512 * 1024);
    let mut alice = small
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    // 4 dashboards of 3 widgets of 60 kB each: about 720 kB for the 4, more than one
    // response may carry.
    let mut names = Vec::new();
    for i in 0..4 {
        let d = alice.create(&format!("big {i}")).await.name;
        for _ in 0..3 {
            let request = alice.req(pb::CreateWidgetRequest {
                parent: d.clone(),
                widget: Some(pb::Widget {
                    r#type: pb::WidgetType::Chart as i32,
                    layout: Some(pb::WidgetLayout {
                        w: Some(1),
                        h: Some(1),
                        ..Default::default()
                    }),
                    config: Some(blob(60_000)),
                    ..Default::default()
                }),
                ..Default::default()
            });
            alice
                .widgets
                .create_widget(request)
                .await
                .expect("create widget");
        }
        names.push(d);
    }
    let first = alice
        .list(list_request(pb::DashboardView::Full, 50))
        .await
        .expect("FULL page");
    assert!(
        !first.dashboards.is_empty() && first.dashboards.len() < 4,
        "the page is cut to fit: {} dashboards",
        first.dashboards.len()
    );
    assert!(!first.next_page_token.is_empty());
    let all = alice
        .list_all(list_request(pb::DashboardView::Full, 50))
        .await;
    let listed: Vec<String> = all.iter().map(|d| d.name.clone()).collect();
    assert_eq!(listed, names);
    assert!(all.iter().all(|d| d.widgets.len() == 3));
}

// ---- UpdateGroup members --------------------------------------------------------------------

fn members_update(
    group: &str,
    etag: &str,
    members: &[String],
    paths: &[&str],
) -> pb::UpdateGroupRequest {
    pb::UpdateGroupRequest {
        group: Some(pb::Group {
            name: group.into(),
            etag: etag.into(),
            members: members.to_vec(),
            display_name: "renamed".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    }
}

async fn update_group(
    caller: &mut Caller,
    request: pb::UpdateGroupRequest,
) -> Result<Response<pb::Group>, Status> {
    let request = caller.req(request);
    caller.directory.update_group(request).await
}

async fn get_group(caller: &mut Caller, name: &str) -> pb::Group {
    let request = caller.req(pb::GetGroupRequest { name: name.into() });
    caller
        .directory
        .get_group(request)
        .await
        .expect("get group")
        .into_inner()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test]
async fn update_group_members_replaces_the_member_set() {
    let org = unique_org();
    let s = server();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut author = s.user(&org, "author", PlatformRole::Author).await;
    let bob = s.user(&org, "bob", PlatformRole::Viewer).await;
    let carol = s.user(&org, "carol", PlatformRole::Viewer).await;
    let dave = s.user(&org, "dave", PlatformRole::Viewer).await;
    let group = author.group("ops", &[&bob, &carol]).await;
    assert_eq!(group.display_name, "ops");

    // carol stays, bob leaves, dave joins: one revision, one event per member changed.
    let response = update_group(
        &mut author,
        members_update(
            &group.name,
            &group.etag,
            &[dave.name(), carol.name()],
            &["members"],
        ),
    )
    .await
    .expect("replace members");
    let revision = revision_of(&response);
    let updated = response.into_inner();
    assert_eq!(updated.members, sorted(vec![carol.name(), dave.name()]));
    assert_eq!(updated.member_count, 2);
    assert_eq!(updated.display_name, "ops", "only the mask's fields change");
    assert_ne!(updated.etag, group.etag);
    assert_eq!(
        events_at(&mut admin, revision).await,
        [
            event("GROUP_MEMBER_ADDED", &group.name, &dave.name()),
            event("GROUP_MEMBER_REMOVED", &group.name, &bob.name()),
        ]
    );
    assert_eq!(
        get_group(&mut author, &group.name).await.members,
        updated.members
    );

    // The old etag is stale now: ABORTED, nothing changes.
    let status = update_group(
        &mut author,
        members_update(&group.name, &group.etag, &[bob.name()], &["members"]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert!(details.precondition_failure().is_some());
    assert_eq!(
        get_group(&mut author, &group.name).await.members,
        updated.members
    );

    // The same set again: nothing to write, no revision.
    let response = update_group(
        &mut author,
        members_update(
            &group.name,
            &updated.etag,
            &[carol.name(), dave.name()],
            &["members"],
        ),
    )
    .await
    .expect("same set");
    assert_eq!(revision_in(&response), None);
    assert_eq!(response.into_inner().etag, updated.etag);

    // Fields and members together: GROUP_UPDATED and the member events, one revision.
    let response = update_group(
        &mut author,
        members_update(
            &group.name,
            &updated.etag,
            &[bob.name()],
            &["display_name", "members"],
        ),
    )
    .await
    .expect("rename and replace");
    let revision = revision_of(&response);
    let renamed = response.into_inner();
    assert_eq!(renamed.display_name, "renamed");
    assert_eq!(renamed.members, [bob.name()]);
    assert_eq!(
        events_at(&mut admin, revision).await,
        [
            event("GROUP_UPDATED", &group.name, ""),
            event("GROUP_MEMBER_ADDED", &group.name, &bob.name()),
            event("GROUP_MEMBER_REMOVED", &group.name, &carol.name()),
            event("GROUP_MEMBER_REMOVED", &group.name, &dave.name()),
        ]
    );

    // An empty list with the mask path removes everyone; members without the mask path
    // change nothing (an empty mask never means members).
    let mut request = members_update(&group.name, "", &[carol.name()], &[]);
    if let Some(g) = request.group.as_mut() {
        g.display_name = String::new();
    }
    let status = update_group(&mut author, request).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["update_mask"]);
    let response = update_group(
        &mut author,
        members_update(&group.name, "", &[], &["members"]),
    )
    .await
    .expect("empty the group");
    let revision = revision_of(&response);
    assert!(response.into_inner().members.is_empty());
    assert_eq!(
        events_at(&mut admin, revision).await,
        [event("GROUP_MEMBER_REMOVED", &group.name, &bob.name())]
    );
}

#[tokio::test]
async fn update_group_members_checks_every_entry() {
    let org = unique_org();
    let s = server();
    let mut author = s.user(&org, "author", PlatformRole::Author).await;
    let bob = s.user(&org, "bob", PlatformRole::Viewer).await;
    let tina = s
        .tenant_user(&org, "tina", "t1", PlatformRole::PowerUser)
        .await;
    let group = author.group("ops", &[&bob]).await;
    let replace = |members: Vec<String>| members_update(&group.name, "", &members, &["members"]);

    // Unknown users, malformed names and repeats: INVALID_ARGUMENT naming each entry.
    let status = update_group(
        &mut author,
        replace(vec![
            bob.name(),
            "users/nobody".into(),
            "bob".into(),
            bob.name(),
        ]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["group.members[3]"]);
    let status = update_group(
        &mut author,
        replace(vec![bob.name(), "users/nobody".into(), "bob".into()]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(
        sorted(violated_fields(&details)),
        ["group.members[1]", "group.members[2]"]
    );
    // More than 1,000 entries.
    let many: Vec<String> = (0..1_001).map(|i| format!("users/u{i}")).collect();
    let status = update_group(&mut author, replace(many)).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["group.members"]);
    // A tenant group takes users of its tenant only.
    let request = author.req(pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: "t1 team".into(),
            kind: pb::GroupKind::Tenant as i32,
            tenant: "t1".into(),
            ..Default::default()
        }),
        members: vec![],
    });
    let tenant_group = author
        .directory
        .create_group(request)
        .await
        .expect("tenant group")
        .into_inner();
    let status = update_group(
        &mut author,
        members_update(
            &tenant_group.name,
            "",
            &[tina.name(), bob.name()],
            &["members"],
        ),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["group.members[1]"]);
    update_group(
        &mut author,
        members_update(&tenant_group.name, "", &[tina.name()], &["members"]),
    )
    .await
    .expect("a user of the tenant");

    // Nothing changed by the refused calls.
    assert_eq!(
        get_group(&mut author, &group.name).await.members,
        [bob.name()]
    );
}

#[tokio::test]
async fn update_group_members_needs_what_add_and_remove_need() {
    let org = unique_org();
    let s = server();
    let mut admin = s.user(&org, "admin", PlatformRole::Admin).await;
    let mut author = s.user(&org, "author", PlatformRole::Author).await;
    let mut other = s.user(&org, "other", PlatformRole::Author).await;
    let mut bob = s.user(&org, "bob", PlatformRole::Viewer).await;
    let carol = s.user(&org, "carol", PlatformRole::Viewer).await;
    let mut tenant = s
        .tenant_user(&org, "tim", "t1", PlatformRole::PowerUser)
        .await;
    let group = author.group("ops", &[&carol]).await;
    let replace = |members: Vec<String>| members_update(&group.name, "", &members, &["members"]);

    // Not a group manager at all, another AUTHOR's group, a group the caller cannot see.
    let request = replace(vec![bob.name()]);
    let status = update_group(&mut bob, request).await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_CANNOT_MANAGE_GROUPS");
    let request = replace(vec![other.name()]);
    let status = update_group(&mut other, request).await.unwrap_err();
    assert_error(&status, Code::PermissionDenied, "NOT_GROUP_MANAGER");
    let status = update_group(&mut tenant, replace(vec![]))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(
        get_group(&mut author, &group.name).await.members,
        [carol.name()]
    );

    // The group-join rule: once the group holds more than its AUTHOR (an ADMIN shared
    // payroll with it as owner), the AUTHOR may not add anyone, itself included...
    let payroll = admin.create("payroll").await.name;
    admin
        .share(&payroll, Kind::Group(group.name.clone()), "owner")
        .await
        .expect("share with the group");
    for members in [
        vec![carol.name(), author.name()],
        vec![bob.name()],
        vec![carol.name(), admin.name()],
    ] {
        let status = update_group(&mut author, replace(members))
            .await
            .unwrap_err();
        assert_error(
            &status,
            Code::PermissionDenied,
            "GROUP_GRANTS_EXCEED_CALLER",
        );
    }
    assert_error(
        &author.get(&payroll).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_eq!(
        get_group(&mut author, &group.name).await.members,
        [carol.name()]
    );
    // ...but may still remove members (removing gives nothing).
    update_group(&mut author, replace(vec![]))
        .await
        .expect("removing only");

    // An ADMIN holds everything: it may add. And the new member reads what the group holds
    // at once (the listing's facts follow the org's revision), and stops when removed.
    let listed = |page: pb::ListDashboardsResponse| -> Vec<String> {
        page.dashboards.into_iter().map(|d| d.name).collect()
    };
    let page = bob
        .list(pb::ListDashboardsRequest::default())
        .await
        .expect("list");
    assert!(listed(page).is_empty());
    update_group(&mut admin, replace(vec![bob.name()]))
        .await
        .expect("ADMIN adds");
    let page = bob
        .list(pb::ListDashboardsRequest::default())
        .await
        .expect("list");
    assert_eq!(listed(page), std::slice::from_ref(&payroll));
    bob.get(&payroll).await.expect("read through the group");
    update_group(&mut admin, replace(vec![carol.name()]))
        .await
        .expect("ADMIN replaces");
    let page = bob
        .list(pb::ListDashboardsRequest::default())
        .await
        .expect("list");
    assert!(listed(page).is_empty());
    assert_error(
        &bob.get(&payroll).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
}
