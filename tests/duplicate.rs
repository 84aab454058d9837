//! DuplicateDashboard: a copy of a dashboard's fields and every widget, owned by the caller,
//! made in one write (all or nothing) and recorded as DASHBOARD_CREATED plus one
//! WIDGET_CREATED per widget at one revision; idempotent with `request_id`.

mod common;

use std::collections::BTreeSet;

use common::{Caller, assert_error, revision_in, revision_of, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::{Code, Response, Status};

fn request(name: &str, title: &str, request_id: &str) -> pb::DuplicateDashboardRequest {
    pb::DuplicateDashboardRequest {
        name: name.into(),
        title: title.into(),
        request_id: request_id.into(),
        folder: String::new(),
    }
}

async fn duplicate(
    caller: &mut Caller,
    name: &str,
    title: &str,
    request_id: &str,
) -> Result<Response<pb::Dashboard>, Status> {
    let request = caller.req(request(name, title, request_id));
    caller.dashboards.duplicate_dashboard(request).await
}

async fn full(caller: &mut Caller, name: &str) -> pb::Dashboard {
    let request = caller.req(pb::GetDashboardRequest {
        name: name.into(),
        view: pb::DashboardView::Full as i32,
    });
    caller
        .dashboards
        .get_dashboard(request)
        .await
        .expect("get FULL")
        .into_inner()
}

fn text(value: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(value.into())),
    }
}

fn structure(key: &str, value: &str) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(key.to_string(), text(value))].into(),
    }
}

/// Widget `i` of a full dashboard: 12 per row of the 24-column grid, each with content of
/// its own.
fn widget(i: i32) -> pb::Widget {
    let types = [
        pb::WidgetType::Chart,
        pb::WidgetType::Gauge,
        pb::WidgetType::Table,
    ];
    pb::Widget {
        r#type: types[i as usize % types.len()] as i32,
        title: format!("w{i}"),
        subtitle: format!("sub {i}"),
        description: format!("widget number {i}"),
        layout: Some(pb::WidgetLayout {
            x: Some((i % 12) * 2),
            y: Some(i / 12),
            w: Some(2),
            h: Some(1),
        }),
        config: Some(structure("series", &format!("s{i}"))),
        data_sources: vec![pb::DataSource {
            device_id: format!("dev{i}"),
            device_name: format!("Device {i}"),
            project_id: "p1".into(),
            project_name: "Plant".into(),
            query: format!("SELECT * FROM dev{i}"),
        }],
        ..Default::default()
    }
}

/// A dashboard of `caller` with every field set and `widgets` widgets.
async fn source(caller: &mut Caller, title: &str, widgets: i32) -> pb::Dashboard {
    let request = caller.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: title.into(),
            description: "the plant's dashboard".into(),
            metadata: Some(structure("team", "ops")),
            refresh_period: Some(prost_types::Duration {
                seconds: 30,
                nanos: 0,
            }),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    let created = caller
        .dashboards
        .create_dashboard(request)
        .await
        .expect("create")
        .into_inner();
    for i in 0..widgets {
        let request = caller.req(pb::CreateWidgetRequest {
            parent: created.name.clone(),
            widget: Some(widget(i)),
            ..Default::default()
        });
        caller
            .widgets
            .create_widget(request)
            .await
            .expect("create widget");
    }
    created
}

/// Every event of `dashboard` the caller may see, oldest first.
async fn events_of(caller: &mut Caller, dashboard: &str) -> Vec<pb::Event> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = caller.req(pb::ListEventsRequest {
            page_size: 100,
            page_token: page_token.clone(),
            filter: format!("dashboard = \"{dashboard}\""),
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
    all.sort_by_key(|e| (e.revision, e.index));
    all
}

/// How many dashboards the caller can list.
async fn count(caller: &mut Caller) -> usize {
    caller
        .list_all(pb::ListDashboardsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .len()
}

#[tokio::test]
async fn a_full_dashboard_is_copied_whole_in_one_write() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let original = source(&mut alice, "Plant", 200).await;
    // READ on the source is enough to copy it.
    alice.share_with(&original.name, &bob, "roles/viewer").await;

    let response = duplicate(&mut bob, &original.name, "", "")
        .await
        .expect("duplicate");
    let revision = revision_of(&response);
    let copy = response.into_inner();
    assert_ne!(copy.name, original.name);
    assert_eq!(copy.title, "Plant (Copy)");
    assert_eq!(copy.creator, "users/bob", "the caller owns the copy");

    let before = full(&mut alice, &original.name).await;
    let after = full(&mut bob, &copy.name).await;
    assert_eq!(after.description, before.description);
    assert_eq!(after.metadata, before.metadata);
    assert_eq!(after.refresh_period, before.refresh_period);
    assert_eq!(after.delete_time, None);
    assert_ne!(after.etag, before.etag);
    assert_eq!(before.widgets.len(), 200);
    assert_eq!(after.widgets.len(), 200);
    let mut ids = BTreeSet::new();
    for (i, (a, b)) in before.widgets.iter().zip(&after.widgets).enumerate() {
        assert_eq!(b.r#type, a.r#type, "widget {i}: type");
        assert_eq!(b.title, a.title, "widget {i}: title");
        assert_eq!(b.subtitle, a.subtitle, "widget {i}: subtitle");
        assert_eq!(b.description, a.description, "widget {i}: description");
        assert_eq!(b.layout, a.layout, "widget {i}: layout");
        assert_eq!(b.config, a.config, "widget {i}: config");
        assert_eq!(b.data_sources, a.data_sources, "widget {i}: data sources");
        assert!(
            b.name.starts_with(&format!("{}/widgets/", copy.name)),
            "widget {i}: {} belongs to the copy",
            b.name
        );
        assert!(ids.insert(b.name.clone()), "widget {i}: a new id");
    }
    // The source is untouched.
    assert_eq!(full(&mut alice, &original.name).await, before);

    // DASHBOARD_CREATED, then one WIDGET_CREATED per widget, all at the write's revision.
    let events = events_of(&mut bob, &copy.name).await;
    assert_eq!(events.len(), 201);
    assert!(events.iter().all(|e| e.revision == revision));
    assert!(events.iter().all(|e| e.actor == "users/bob"));
    assert_eq!(events[0].r#type, "DASHBOARD_CREATED");
    assert_eq!(events[0].resource, copy.name);
    assert!(events[1..].iter().all(|e| e.r#type == "WIDGET_CREATED"));
    let created: BTreeSet<String> = events[1..].iter().map(|e| e.resource.clone()).collect();
    assert_eq!(created, ids);

    // Version 1 of the copy holds every widget.
    let request = bob.req(pb::ListDashboardVersionsRequest {
        parent: copy.name.clone(),
        ..Default::default()
    });
    let versions = bob
        .versions
        .list_dashboard_versions(request)
        .await
        .expect("versions")
        .into_inner()
        .versions;
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].version, 1);
    assert_eq!(versions[0].revision, revision);
    let request = bob.req(pb::GetDashboardVersionRequest {
        name: format!("{}/versions/1", copy.name),
    });
    let v1 = bob
        .versions
        .get_dashboard_version(request)
        .await
        .expect("version 1")
        .into_inner();
    assert_eq!(v1.dashboard.expect("content").widgets.len(), 200);
}

#[tokio::test]
async fn the_title_is_given_or_marks_the_copy() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let original = source(&mut alice, "Ops", 1).await;

    let given = duplicate(&mut alice, &original.name, "Ops, my way", "")
        .await
        .expect("duplicate")
        .into_inner();
    assert_eq!(given.title, "Ops, my way");
    assert_eq!(full(&mut alice, &given.name).await.widgets.len(), 1);

    // A source title at the limit: the copy's is cut so that the suffix fits.
    let long = alice.create(&"é".repeat(200)).await;
    let copy = duplicate(&mut alice, &long.name, "", "")
        .await
        .expect("duplicate")
        .into_inner();
    assert_eq!(copy.title.chars().count(), 200);
    assert!(copy.title.ends_with("é (Copy)"), "{}", copy.title);

    // A given title is checked like CreateDashboard's, and a refused copy creates nothing.
    let before = count(&mut alice).await;
    for bad in ["x".repeat(201), "   ".to_string()] {
        let status = duplicate(&mut alice, &original.name, &bad, "")
            .await
            .expect_err("bad title");
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), vec!["title".to_string()]);
    }
    assert_eq!(count(&mut alice).await, before);
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_copy() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let original = source(&mut alice, "Ops", 3).await;

    let first = duplicate(&mut alice, &original.name, "", "copy-1")
        .await
        .expect("duplicate");
    assert!(revision_in(&first).is_some());
    let first = first.into_inner();
    let before = count(&mut alice).await;
    let retry = duplicate(&mut alice, &original.name, "", "copy-1")
        .await
        .expect("retry");
    assert_eq!(revision_in(&retry), None, "a retry writes nothing");
    assert_eq!(retry.into_inner().name, first.name);
    assert_eq!(count(&mut alice).await, before);
    assert_eq!(full(&mut alice, &first.name).await.widgets.len(), 3);
    assert_eq!(events_of(&mut alice, &first.name).await.len(), 4);

    let other = duplicate(&mut alice, &original.name, "", "copy-2")
        .await
        .expect("another key");
    assert_ne!(other.into_inner().name, first.name);

    // Concurrent first calls with one key make one copy, which every call returns.
    let before = count(&mut alice).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let mut client = alice.dashboards.clone();
        let request = alice.req(request(&original.name, "", "copy-3"));
        tasks.spawn(async move { client.duplicate_dashboard(request).await });
    }
    let mut names = BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let copy = done.expect("task").expect("concurrent duplicate");
        names.insert(copy.into_inner().name);
    }
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(count(&mut alice).await, before + 1);
}

#[tokio::test]
async fn access_and_state_are_checked() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut viewer = server().user(&org, "vera", PlatformRole::Viewer).await;
    let mut stranger = server().user(&org, "sam", PlatformRole::Author).await;
    let mut outsider = server()
        .user(&unique_org(), "alice", PlatformRole::Admin)
        .await;
    let original = source(&mut alice, "Ops", 1).await;
    alice
        .share_with(&original.name, &viewer, "roles/owner")
        .await;

    // A VIEWER may read but not create, as CreateDashboard answers.
    let status = duplicate(&mut viewer, &original.name, "", "")
        .await
        .expect_err("viewer");
    assert_error(&status, Code::PermissionDenied, "ROLE_CANNOT_CREATE");
    // Not readable: as if it did not exist.
    for caller in [&mut stranger, &mut outsider] {
        let status = duplicate(caller, &original.name, "", "")
            .await
            .expect_err("not readable");
        assert_error(&status, Code::NotFound, "NOT_FOUND");
    }
    let missing = format!("dashboards/{}", uuid::Uuid::now_v7());
    let status = duplicate(&mut alice, &missing, "", "")
        .await
        .expect_err("missing");
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = duplicate(&mut alice, "widgets/x", "", "")
        .await
        .expect_err("bad name");
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");

    // A trashed source: undelete it first.
    let request = alice.req(pb::DeleteDashboardRequest {
        name: original.name.clone(),
        etag: String::new(),
    });
    alice
        .dashboards
        .delete_dashboard(request)
        .await
        .expect("delete");
    let before = count(&mut alice).await;
    let status = duplicate(&mut alice, &original.name, "", "")
        .await
        .expect_err("trashed");
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    assert_eq!(count(&mut alice).await, before);
    let request = alice.req(pb::UndeleteDashboardRequest {
        name: original.name.clone(),
    });
    alice
        .dashboards
        .undelete_dashboard(request)
        .await
        .expect("undelete");
    duplicate(&mut alice, &original.name, "", "")
        .await
        .expect("duplicate after undelete");
}

#[tokio::test]
async fn shares_and_public_links_stay_with_the_source() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut carol = server().user(&org, "carol", PlatformRole::Author).await;
    let original = source(&mut alice, "Ops", 0).await;
    alice
        .share_with(&original.name, &carol, "roles/editor")
        .await;
    let request = alice.req(pb::CreatePublicLinkRequest {
        name: original.name.clone(),
        expire_time: None,
    });
    alice
        .sharing
        .create_public_link(request)
        .await
        .expect("public link");
    assert!(alice.get(&original.name).await.expect("get").is_public);

    let copy = duplicate(&mut alice, &original.name, "", "")
        .await
        .expect("duplicate")
        .into_inner();
    assert!(!copy.is_public);
    let status = carol.get(&copy.name).await.expect_err("not shared");
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let request = alice.req(pb::ListOwnersRequest {
        name: copy.name.clone(),
    });
    let owners = alice
        .sharing
        .list_owners(request)
        .await
        .expect("owners")
        .into_inner();
    assert_eq!(owners.owners.len(), 1, "{owners:?}");
}

/// The source's labels come with the copy, in the same write (one LABEL_ADDED each).
#[tokio::test]
async fn labels_are_copied() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let original = source(&mut alice, "Ops", 1).await;
    let mut attached = Vec::new();
    for display_name in ["prod", "team-a"] {
        let request = alice.req(pb::CreateLabelRequest {
            label: Some(pb::Label {
                display_name: display_name.into(),
                ..Default::default()
            }),
        });
        let label = alice.labels.create_label(request).await.expect("label");
        let name = label.into_inner().name;
        let request = alice.req(pb::AddDashboardLabelRequest {
            name: original.name.clone(),
            label: name.clone(),
        });
        alice
            .dashboards
            .add_dashboard_label(request)
            .await
            .expect("attach");
        attached.push(name);
    }
    let response = duplicate(&mut alice, &original.name, "", "")
        .await
        .expect("duplicate");
    let revision = common::revision_of(&response);
    let copy = response.into_inner();
    assert_eq!(copy.labels, attached);
    assert_eq!(alice.get(&copy.name).await.expect("get").labels, attached);
    let added: Vec<String> = events_of(&mut alice, &copy.name)
        .await
        .into_iter()
        .filter(|e| e.r#type == "LABEL_ADDED")
        .map(|e| {
            assert_eq!(e.revision, revision);
            e.resource
        })
        .collect();
    assert_eq!(added.len(), 2);
    for name in &attached {
        assert!(added.contains(name), "{added:?}");
    }
}

/// Limits lowered since the source was written: the copy fails whole.
#[tokio::test]
async fn a_copy_over_todays_limits_fails_whole() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let original = source(&mut alice, "Ops", 3).await;
    // A second server on the same database whose dashboards hold at most 2 widgets.
    let strict = common::start(|c| {
        c.database_url = server().config.database_url.clone();
        c.max_widgets_per_dashboard = 2;
    });
    let channel = strict.channel().await;
    let mut strict_alice = Caller::on(&channel, alice.token.clone(), &org, "alice");
    let before = count(&mut alice).await;
    let status = duplicate(&mut strict_alice, &original.name, "", "")
        .await
        .expect_err("over the widget limit");
    assert_error(&status, Code::FailedPrecondition, "WIDGET_LIMIT_REACHED");
    assert_eq!(count(&mut alice).await, before);
}
