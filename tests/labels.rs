//! Labels (DESIGN §6): org-scoped labels (LabelService), their attachment to dashboards and
//! the `label` filter of ListDashboards. Runs on SQLite, and on PostgreSQL with
//! TEST_DATABASE_URL.

mod common;

use common::{Caller, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::{Code, Status};

async fn create_label(caller: &mut Caller, display_name: &str) -> Result<pb::Label, Status> {
    let request = caller.req(pb::CreateLabelRequest {
        label: Some(pb::Label {
            display_name: display_name.into(),
            color: "#ff0000".into(),
            description: "a label".into(),
            ..Default::default()
        }),
    });
    caller
        .labels
        .create_label(request)
        .await
        .map(|r| r.into_inner())
}

async fn get_label(caller: &mut Caller, name: &str) -> Result<pb::Label, Status> {
    let request = caller.req(pb::GetLabelRequest { name: name.into() });
    caller
        .labels
        .get_label(request)
        .await
        .map(|r| r.into_inner())
}

/// Every label's display name, all pages of `page_size`.
async fn label_names(caller: &mut Caller, page_size: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let request = caller.req(pb::ListLabelsRequest {
            page_size,
            page_token: token.clone(),
        });
        let page = caller
            .labels
            .list_labels(request)
            .await
            .expect("ListLabels")
            .into_inner();
        out.extend(page.labels.into_iter().map(|l| l.display_name));
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

async fn update_label(
    caller: &mut Caller,
    label: pb::Label,
    paths: &[&str],
) -> Result<pb::Label, Status> {
    let request = caller.req(pb::UpdateLabelRequest {
        label: Some(label),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    });
    caller
        .labels
        .update_label(request)
        .await
        .map(|r| r.into_inner())
}

async fn delete_label(caller: &mut Caller, name: &str, etag: &str) -> Result<(), Status> {
    let request = caller.req(pb::DeleteLabelRequest {
        name: name.into(),
        etag: etag.into(),
    });
    caller.labels.delete_label(request).await.map(|_| ())
}

/// The types and resources of the org's events, as an ADMIN lists them.
async fn events(admin: &mut Caller, filter: &str) -> Vec<(String, String, String)> {
    let request = admin.req(pb::ListEventsRequest {
        page_size: 100,
        filter: filter.into(),
        ..Default::default()
    });
    admin
        .audit
        .list_events(request)
        .await
        .expect("ListEvents")
        .into_inner()
        .events
        .into_iter()
        .map(|e| (e.r#type, e.resource, e.dashboard))
        .collect()
}

#[tokio::test]
async fn crud_uniqueness_and_etag() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut tenant = server()
        .tenant_user(&org, "tina", "acme", PlatformRole::Viewer)
        .await;

    let prod = create_label(&mut alice, "prod").await.expect("create");
    assert!(prod.name.starts_with("labels/"), "{prod:?}");
    assert_eq!(prod.display_name, "prod");
    assert_eq!(prod.color, "#ff0000");
    assert_eq!(prod.creator, "users/alice");
    assert!(!prod.etag.is_empty());

    let taken = create_label(&mut admin, "prod").await.unwrap_err();
    assert_error(&taken, Code::AlreadyExists, "LABEL_NAME_TAKEN");

    for bad in ["", &"x".repeat(65)] {
        let err = create_label(&mut alice, bad).await.unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), ["label.display_name"]);
    }
    let request = alice.req(pb::CreateLabelRequest {
        label: Some(pb::Label {
            display_name: "colorful".into(),
            color: "red".into(),
            ..Default::default()
        }),
    });
    let err = alice.labels.create_label(request).await.unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["label.color"]);

    // Anyone in the org reads labels, tenant users too.
    assert_eq!(get_label(&mut tenant, &prod.name).await.unwrap(), prod);
    create_label(&mut alice, "dev").await.expect("dev");
    create_label(&mut alice, "beta").await.expect("beta");
    assert_eq!(label_names(&mut tenant, 2).await, ["beta", "dev", "prod"]);
    // Another org sees none of them.
    let mut stranger = server()
        .user(&unique_org(), "sam", PlatformRole::Admin)
        .await;
    let err = get_label(&mut stranger, &prod.name).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(label_names(&mut stranger, 10).await.is_empty());

    // Update with the current etag; then the old etag is stale.
    let mut change = prod.clone();
    change.display_name = "production".into();
    change.color = "#00FF00".into();
    let updated = update_label(&mut alice, change.clone(), &["display_name", "color"])
        .await
        .expect("update");
    assert_eq!(updated.display_name, "production");
    assert_eq!(updated.color, "#00FF00");
    assert_eq!(updated.description, "a label", "not in the mask");
    assert_ne!(updated.etag, prod.etag);
    let err = update_label(&mut alice, change.clone(), &["color"])
        .await
        .unwrap_err();
    assert_error(&err, Code::Aborted, "ETAG_MISMATCH");
    // Renaming onto another label's name is refused.
    let mut clash = updated.clone();
    clash.display_name = "dev".into();
    let err = update_label(&mut alice, clash, &["display_name"])
        .await
        .unwrap_err();
    assert_error(&err, Code::AlreadyExists, "LABEL_NAME_TAKEN");

    let err = delete_label(&mut alice, &updated.name, &prod.etag)
        .await
        .unwrap_err();
    assert_error(&err, Code::Aborted, "ETAG_MISMATCH");
    delete_label(&mut alice, &updated.name, &updated.etag)
        .await
        .expect("delete");
    let err = get_label(&mut alice, &updated.name).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(label_names(&mut alice, 10).await, ["beta", "dev"]);
    // The name is free again.
    create_label(&mut alice, "production").await.expect("reuse");

    let log = events(&mut admin, "").await;
    let of = |t: &str| log.iter().filter(|(ty, ..)| ty == t).count();
    assert_eq!(of("LABEL_CREATED"), 4, "{log:?}");
    assert_eq!(of("LABEL_UPDATED"), 1, "{log:?}");
    assert_eq!(of("LABEL_DELETED"), 1, "{log:?}");
}

#[tokio::test]
async fn only_authors_and_admins_write_labels() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let prod = create_label(&mut alice, "prod").await.expect("create");
    let mut viewer = server().user(&org, "vic", PlatformRole::Viewer).await;
    // POWER_USER is a tenant role.
    let mut power = server()
        .tenant_user(&org, "pat", "acme", PlatformRole::PowerUser)
        .await;
    for caller in [&mut viewer, &mut power] {
        let err = create_label(caller, "mine").await.unwrap_err();
        assert_error(&err, Code::PermissionDenied, "AUTHOR_REQUIRED");
        let err = update_label(caller, prod.clone(), &["color"])
            .await
            .unwrap_err();
        assert_error(&err, Code::PermissionDenied, "AUTHOR_REQUIRED");
        let err = delete_label(caller, &prod.name, "").await.unwrap_err();
        assert_error(&err, Code::PermissionDenied, "AUTHOR_REQUIRED");
        // They still read it.
        assert_eq!(get_label(caller, &prod.name).await.unwrap(), prod);
    }
}

async fn add(caller: &mut Caller, dashboard: &str, label: &str) -> Result<pb::Dashboard, Status> {
    let request = caller.req(pb::AddDashboardLabelRequest {
        name: dashboard.into(),
        label: label.into(),
    });
    caller
        .dashboards
        .add_dashboard_label(request)
        .await
        .map(|r| r.into_inner())
}

async fn remove(
    caller: &mut Caller,
    dashboard: &str,
    label: &str,
) -> Result<pb::Dashboard, Status> {
    let request = caller.req(pb::RemoveDashboardLabelRequest {
        name: dashboard.into(),
        label: label.into(),
    });
    caller
        .dashboards
        .remove_dashboard_label(request)
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn add_and_remove_are_idempotent_and_audited() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let prod = create_label(&mut alice, "prod").await.unwrap();
    let dev = create_label(&mut alice, "dev").await.unwrap();
    let d = alice.create("Ops").await;
    assert!(d.labels.is_empty());

    for _ in 0..2 {
        let got = add(&mut alice, &d.name, &prod.name).await.expect("add");
        assert_eq!(got.labels, vec![prod.name.clone()]);
        assert_eq!(got.etag, d.etag, "labels are not content");
    }
    let got = add(&mut alice, &d.name, &dev.name).await.expect("add dev");
    assert_eq!(got.labels, [prod.name.clone(), dev.name.clone()]);
    assert_eq!(alice.get(&d.name).await.unwrap().labels, got.labels);
    let listed = alice.list_all(Default::default()).await;
    assert_eq!(listed[0].labels, got.labels);

    let got = remove(&mut alice, &d.name, &prod.name)
        .await
        .expect("remove");
    assert_eq!(got.labels, vec![dev.name.clone()]);
    let got = remove(&mut alice, &d.name, &prod.name)
        .await
        .expect("again");
    assert_eq!(got.labels, vec![dev.name.clone()]);

    let err = add(&mut alice, &d.name, "labels/nope").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = add(&mut alice, &d.name, "prod").await.unwrap_err();
    assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");

    // Deleting a label detaches it from every dashboard.
    let dev_now = get_label(&mut alice, &dev.name).await.unwrap();
    delete_label(&mut alice, &dev.name, &dev_now.etag)
        .await
        .expect("delete");
    assert!(alice.get(&d.name).await.unwrap().labels.is_empty());

    let log = events(&mut admin, "").await;
    let added: Vec<_> = log.iter().filter(|(t, ..)| t == "LABEL_ADDED").collect();
    assert_eq!(added.len(), 2, "one per attachment: {log:?}");
    assert!(added.iter().all(|(_, _, dash)| dash == &d.name), "{log:?}");
    let removed = log.iter().filter(|(t, ..)| t == "LABEL_REMOVED").count();
    assert_eq!(removed, 1, "{log:?}");
    // No new version: labels are not content.
    let request = alice.req(pb::ListDashboardVersionsRequest {
        parent: d.name.clone(),
        ..Default::default()
    });
    let versions = alice
        .versions
        .list_dashboard_versions(request)
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(versions.len(), 1, "{versions:?}");
}

#[tokio::test]
async fn at_most_fifty_labels_per_dashboard() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let d = alice.create("Busy").await;
    let mut names = Vec::new();
    for i in 0..51 {
        names.push(
            create_label(&mut alice, &format!("l{i:02}"))
                .await
                .unwrap()
                .name,
        );
    }
    for name in &names[..50] {
        add(&mut alice, &d.name, name).await.expect("add");
    }
    let err = add(&mut alice, &d.name, &names[50]).await.unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "LABEL_LIMIT_REACHED");
    // Re-adding an attached label at the limit is still fine (idempotent).
    let got = add(&mut alice, &d.name, &names[0]).await.expect("re-add");
    assert_eq!(got.labels.len(), 50);
    remove(&mut alice, &d.name, &names[0]).await.unwrap();
    add(&mut alice, &d.name, &names[50])
        .await
        .expect("room again");
}

#[tokio::test]
async fn attaching_needs_update_labels() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let mut eve = server().user(&org, "eve", PlatformRole::Author).await;
    let prod = create_label(&mut alice, "prod").await.unwrap();
    let d = alice.create("Ops").await;
    alice.share_with(&d.name, &bob, "roles/viewer").await;
    let err = add(&mut bob, &d.name, &prod.name).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = remove(&mut bob, &d.name, &prod.name).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = add(&mut eve, &d.name, &prod.name).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // An editor may.
    alice.share_with(&d.name, &bob, "roles/editor").await;
    let got = add(&mut bob, &d.name, &prod.name)
        .await
        .expect("editor adds");
    assert_eq!(got.labels, vec![prod.name.clone()]);
    // A viewer sees the labels.
    alice.share_with(&d.name, &eve, "roles/viewer").await;
    assert_eq!(
        eve.get(&d.name).await.unwrap().labels,
        vec![prod.name.clone()]
    );
}

/// The titles a filtered listing returns, all pages, in title order.
async fn titles(caller: &mut Caller, filter: &str) -> Vec<String> {
    caller
        .list_all(pb::ListDashboardsRequest {
            page_size: 2,
            filter: filter.into(),
            order_by: "title".into(),
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|d| d.title)
        .collect()
}

#[tokio::test]
async fn filter_by_label_name_or_resource_name() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let prod = create_label(&mut alice, "prod").await.unwrap();
    let team = create_label(&mut alice, "team a").await.unwrap();
    let a = alice.create("A").await;
    let b = alice.create("B").await;
    alice.create("C").await;
    add(&mut alice, &a.name, &prod.name).await.unwrap();
    add(&mut alice, &a.name, &team.name).await.unwrap();
    add(&mut alice, &b.name, &team.name).await.unwrap();

    assert_eq!(titles(&mut alice, r#"label = "prod""#).await, ["A"]);
    assert_eq!(
        titles(&mut alice, &format!(r#"label = "{}""#, team.name)).await,
        ["A", "B"]
    );
    assert_eq!(
        titles(&mut alice, r#"label = "team a" AND NOT label = "prod""#).await,
        ["B"]
    );
    assert_eq!(
        titles(&mut alice, r#"label = "prod" OR title = "C""#).await,
        ["A", "C"]
    );
    assert_eq!(titles(&mut alice, r#"label != "team a""#).await, ["C"]);
    assert!(titles(&mut alice, r#"label = "nope""#).await.is_empty());
    // Another org's label of the same name matches nothing here.
    let mut other = server()
        .user(&unique_org(), "olaf", PlatformRole::Author)
        .await;
    create_label(&mut other, "prod").await.unwrap();
    assert!(titles(&mut other, r#"label = "prod""#).await.is_empty());

    let err = alice
        .dashboards
        .list_dashboards(alice.req(pb::ListDashboardsRequest {
            filter: r#"label < "prod""#.into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

/// The purge of a labeled dashboard takes its labels along; the label stays.
#[tokio::test]
async fn a_labeled_dashboard_is_purged() {
    let purging = common::start(|config| {
        config.trash_retention = std::time::Duration::from_millis(200);
        config.purge_interval = std::time::Duration::from_millis(100);
    });
    let org = unique_org();
    let mut alice = purging.user(&org, "alice", PlatformRole::Author).await;
    let prod = create_label(&mut alice, "prod").await.unwrap();
    let doomed = alice.create("Doomed").await;
    let kept = alice.create("Kept").await;
    add(&mut alice, &doomed.name, &prod.name).await.unwrap();
    add(&mut alice, &kept.name, &prod.name).await.unwrap();
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
    assert!(purged, "the labeled, trashed dashboard was never purged");
    let listed = alice
        .list_all(pb::ListDashboardsRequest {
            filter: r#"label = "prod""#.into(),
            show_deleted: true,
            ..Default::default()
        })
        .await;
    let titles: Vec<_> = listed.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["Kept"]);
    assert_eq!(
        get_label(&mut alice, &prod.name).await.unwrap().name,
        prod.name
    );
}
