//! DashboardService: create, get, update, delete, undelete, batch get, and their errors.

mod common;

use common::{Caller, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

async fn author() -> Caller {
    server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await
}

fn metadata(key: &str, value: &str) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            key.to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(value.into())),
            },
        )]
        .into(),
    }
}

fn update(name: &str, etag: &str, title: &str, mask: &[&str]) -> pb::UpdateDashboardRequest {
    pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: name.into(),
            title: title.into(),
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: mask.iter().map(|p| p.to_string()).collect(),
        }),
    }
}

#[tokio::test]
async fn create_then_get_round_trips_every_field() {
    let mut alice = author().await;
    let request = alice.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: "Ops".into(),
            description: "Production overview".into(),
            metadata: Some(metadata("team", "sre")),
            refresh_period: Some(prost_types::Duration {
                seconds: 30,
                nanos: 0,
            }),
            // Output-only fields are ignored on create.
            name: "dashboards/mine".into(),
            creator: "users/someone-else".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    let created = alice
        .dashboards
        .create_dashboard(request)
        .await
        .unwrap()
        .into_inner();
    let id = created
        .name
        .strip_prefix("dashboards/")
        .expect("dashboards/{id}");
    let uuid = uuid::Uuid::parse_str(id).expect("id is a UUID");
    assert_eq!(uuid.get_version_num(), 7);
    assert_eq!(created.title, "Ops");
    assert_eq!(created.description, "Production overview");
    assert_eq!(created.metadata, Some(metadata("team", "sre")));
    assert_eq!(
        created.refresh_period,
        Some(prost_types::Duration {
            seconds: 30,
            nanos: 0
        })
    );
    assert_eq!(created.creator, "users/alice");
    assert!(created.create_time.is_some());
    assert_eq!(created.create_time, created.update_time);
    assert!(created.delete_time.is_none());
    assert!(!created.etag.is_empty());

    let fetched = alice.get(&created.name).await.unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn request_id_makes_create_idempotent() {
    let mut alice = author().await;
    let make = |caller: &Caller, title: &str| {
        caller.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: title.into(),
                ..Default::default()
            }),
            request_id: "7d0c3a5e-retry-key".into(),
        })
    };
    let first = alice
        .dashboards
        .create_dashboard(make(&alice, "Once"))
        .await
        .unwrap()
        .into_inner();
    let retry = alice
        .dashboards
        .create_dashboard(make(&alice, "Once"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, retry);
    let all = alice.list_all(pb::ListDashboardsRequest::default()).await;
    assert_eq!(all.len(), 1, "the retry created nothing");

    // Concurrent retries also converge on one dashboard.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let mut client = alice.dashboards.clone();
        let request = alice.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "Burst".into(),
                ..Default::default()
            }),
            request_id: "burst-key".into(),
        });
        handles.push(tokio::spawn(async move {
            client.create_dashboard(request).await
        }));
    }
    let mut names = Vec::new();
    for handle in handles {
        names.push(handle.await.unwrap().expect("create").into_inner().name);
    }
    names.dedup();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(
        alice
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn validation_errors_name_their_fields() {
    let mut alice = author().await;
    let cases: Vec<(pb::Dashboard, &str)> = vec![
        (
            pb::Dashboard {
                title: String::new(),
                ..Default::default()
            },
            "dashboard.title",
        ),
        (
            pb::Dashboard {
                title: "x".repeat(201),
                ..Default::default()
            },
            "dashboard.title",
        ),
        (
            pb::Dashboard {
                title: "ok".into(),
                description: "d".repeat(4001),
                ..Default::default()
            },
            "dashboard.description",
        ),
        (
            pb::Dashboard {
                title: "ok".into(),
                metadata: Some(metadata("blob", &"m".repeat(70 * 1024))),
                ..Default::default()
            },
            "dashboard.metadata",
        ),
        (
            pb::Dashboard {
                title: "ok".into(),
                refresh_period: Some(prost_types::Duration {
                    seconds: -5,
                    nanos: 0,
                }),
                ..Default::default()
            },
            "dashboard.refresh_period",
        ),
    ];
    for (dashboard, field) in cases {
        let request = alice.req(pb::CreateDashboardRequest {
            dashboard: Some(dashboard),
            request_id: String::new(),
        });
        let status = alice
            .dashboards
            .create_dashboard(request)
            .await
            .unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(
            violated_fields(&details),
            vec![field.to_string()],
            "{status:?}"
        );
    }
    // Exactly at the limits is fine.
    let request = alice.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: "t".repeat(200),
            description: "d".repeat(4000),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    alice
        .dashboards
        .create_dashboard(request)
        .await
        .expect("limits are inclusive");

    let missing = alice.req(pb::CreateDashboardRequest {
        dashboard: None,
        request_id: String::new(),
    });
    let status = alice
        .dashboards
        .create_dashboard(missing)
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["dashboard"]);

    for bad_name in ["", "dashboards/", "widgets/1", "dashboards/a/b"] {
        let status = alice.get(bad_name).await.unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), vec!["name"]);
    }
}

#[tokio::test]
async fn update_applies_only_the_mask() {
    let mut alice = author().await;
    let request = alice.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: "Before".into(),
            description: "keep me".into(),
            metadata: Some(metadata("a", "1")),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    let created = alice
        .dashboards
        .create_dashboard(request)
        .await
        .unwrap()
        .into_inner();

    // The mask names title only: the empty description in the message is not applied.
    let updated = alice
        .dashboards
        .update_dashboard(alice.req(update(&created.name, &created.etag, "After", &["title"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "After");
    assert_eq!(updated.description, "keep me");
    assert_eq!(updated.metadata, Some(metadata("a", "1")));
    assert_ne!(updated.etag, created.etag);
    let micros = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| (t.seconds, t.nanos));
    assert!(micros(&updated.update_time) >= micros(&created.update_time));
    assert_eq!(updated.create_time, created.create_time);

    // No mask: every populated field.
    let mut request = update(&created.name, "", "", &[]);
    request.update_mask = None;
    request.dashboard.as_mut().unwrap().description = "new description".into();
    let updated = alice
        .dashboards
        .update_dashboard(alice.req(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        updated.title, "After",
        "empty title was not populated, so not applied"
    );
    assert_eq!(updated.description, "new description");

    // Clearing a field through the mask.
    let request = update(&created.name, "", "After", &["description", "metadata"]);
    let updated = alice
        .dashboards
        .update_dashboard(alice.req(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.description, "");
    assert_eq!(updated.metadata, None);

    // Unknown and output-only paths.
    for path in ["owner", "create_time", "etag", "name"] {
        let status = alice
            .dashboards
            .update_dashboard(alice.req(update(&created.name, "", "X", &[path])))
            .await
            .unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), vec!["update_mask"], "{path}");
    }
    // A masked title is validated like on create.
    let status = alice
        .dashboards
        .update_dashboard(alice.req(update(&created.name, "", "", &["title"])))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["dashboard.title"]);
    // Nothing changed by the failed calls.
    assert_eq!(alice.get(&created.name).await.unwrap().title, "After");
}

#[tokio::test]
async fn stale_etag_is_aborted() {
    let mut alice = author().await;
    let created = alice.create("Shared").await;
    let first = alice
        .dashboards
        .update_dashboard(alice.req(update(&created.name, &created.etag, "One", &["title"])))
        .await
        .unwrap()
        .into_inner();
    let status = alice
        .dashboards
        .update_dashboard(alice.req(update(&created.name, &created.etag, "Two", &["title"])))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert!(details.precondition_failure().is_some(), "{status:?}");
    assert_eq!(alice.get(&created.name).await.unwrap().title, "One");

    // Delete with a stale etag is refused too; with the current one it works.
    let stale = alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: created.name.clone(),
            etag: created.etag.clone(),
        }))
        .await
        .unwrap_err();
    assert_error(&stale, Code::Aborted, "ETAG_MISMATCH");
    alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: created.name.clone(),
            etag: first.etag,
        }))
        .await
        .expect("current etag");
}

/// Two clients each run read-modify-write loops (append to the description, retry on
/// ABORTED): every append must land.
#[tokio::test]
async fn concurrent_read_modify_write_loses_nothing() {
    let alice = author().await;
    let mut setup = server()
        .user(&alice.org, "alice", PlatformRole::Author)
        .await;
    let created = setup.create("Counter").await;
    const PER_WRITER: usize = 10;
    let mut writers = Vec::new();
    for writer in 0..2 {
        let mut client = server()
            .user(&alice.org, "alice", PlatformRole::Author)
            .await;
        let name = created.name.clone();
        writers.push(tokio::spawn(async move {
            let mut aborted = 0;
            for i in 0..PER_WRITER {
                loop {
                    let current = client.get(&name).await.expect("get");
                    let mut request = update(&name, &current.etag, "", &["description"]);
                    request.dashboard.as_mut().unwrap().description =
                        format!("{}[w{writer}-{i}]", current.description);
                    match client
                        .dashboards
                        .update_dashboard(client.req(request))
                        .await
                    {
                        Ok(_) => break,
                        Err(status) if status.code() == Code::Aborted => aborted += 1,
                        Err(status) => panic!("unexpected {status:?}"),
                    }
                }
            }
            aborted
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let description = setup.get(&created.name).await.unwrap().description;
    for writer in 0..2 {
        for i in 0..PER_WRITER {
            assert!(
                description.contains(&format!("[w{writer}-{i}]")),
                "lost w{writer}-{i}: {description}"
            );
        }
    }
    assert_eq!(description.matches('[').count(), 2 * PER_WRITER);
}

#[tokio::test]
async fn viewer_cannot_create() {
    let mut viewer = server()
        .user(&unique_org(), "vic", PlatformRole::Viewer)
        .await;
    let request = viewer.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: "Nope".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    let status = viewer
        .dashboards
        .create_dashboard(request)
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_CANNOT_CREATE");
    assert!(
        viewer
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn non_owner_sees_nothing_and_admin_sees_all_of_its_org() {
    let mut alice = author().await;
    let created = alice.create("Private").await;
    let mut bob = server().user(&alice.org, "bob", PlatformRole::Author).await;

    // Bob, same org, no grant: the dashboard does not exist for him, for every method.
    let status = bob.get(&created.name).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let missing = bob.get("dashboards/does-not-exist").await.unwrap_err();
    assert_eq!(
        status.message().replace(&created.name, "X"),
        missing.message().replace("dashboards/does-not-exist", "X")
    );
    let status = bob
        .dashboards
        .update_dashboard(bob.req(update(&created.name, "", "Mine now", &["title"])))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = bob
        .dashboards
        .delete_dashboard(bob.req(pb::DeleteDashboardRequest {
            name: created.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert!(
        bob.list_all(pb::ListDashboardsRequest::default())
            .await
            .is_empty()
    );

    // The org's ADMIN is the implicit owner of everything in it.
    let mut admin = server().user(&alice.org, "root", PlatformRole::Admin).await;
    assert_eq!(admin.get(&created.name).await.unwrap().title, "Private");
    let listed = admin.list_all(pb::ListDashboardsRequest::default()).await;
    assert_eq!(listed.len(), 1);
    admin
        .dashboards
        .update_dashboard(admin.req(update(&created.name, "", "Admin was here", &["title"])))
        .await
        .expect("admin may write");
}

#[tokio::test]
async fn organizations_are_walls() {
    let mut alice = author().await;
    let created = alice.create("Acme secrets").await;
    // Same user id and even ADMIN, but another org.
    let mut outsider = server()
        .user(&unique_org(), "alice", PlatformRole::Admin)
        .await;
    assert_error(
        &outsider.get(&created.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert!(
        outsider
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .is_empty()
    );
    let batch = outsider
        .dashboards
        .batch_get_dashboards(outsider.req(pb::BatchGetDashboardsRequest {
            names: vec![created.name.clone()],
            view: 0,
        }))
        .await
        .unwrap_err();
    assert_error(&batch, Code::NotFound, "NOT_FOUND");
    let status = outsider
        .dashboards
        .update_dashboard(outsider.req(update(&created.name, "", "pwned", &["title"])))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(
        alice.get(&created.name).await.unwrap().title,
        "Acme secrets"
    );
}

#[tokio::test]
async fn delete_is_soft_and_undelete_restores() {
    let mut alice = author().await;
    let keep = alice.create("Keep").await;
    let trash = alice.create("Trash").await;
    let deleted = alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: trash.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    let delete_time = deleted.delete_time.expect("delete_time");
    let expire_time = deleted.expire_time.expect("expire_time");
    // Default retention: 30 days.
    assert_eq!(expire_time.seconds - delete_time.seconds, 30 * 86_400);

    // Still readable by name, hidden from lists unless show_deleted.
    assert!(alice.get(&trash.name).await.unwrap().delete_time.is_some());
    let live = alice.list_all(pb::ListDashboardsRequest::default()).await;
    assert_eq!(
        live.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
        vec![keep.name.clone()]
    );
    let all = alice
        .list_all(pb::ListDashboardsRequest {
            show_deleted: true,
            ..Default::default()
        })
        .await;
    assert_eq!(all.len(), 2);

    // Updating or deleting again a trashed dashboard is a precondition failure.
    let status = alice
        .dashboards
        .update_dashboard(alice.req(update(&trash.name, "", "x", &["title"])))
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    let status = alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: trash.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "ALREADY_DELETED");

    let restored = alice
        .dashboards
        .undelete_dashboard(alice.req(pb::UndeleteDashboardRequest {
            name: trash.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(restored.delete_time.is_none());
    assert!(restored.expire_time.is_none());
    assert_eq!(
        alice
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .len(),
        2
    );
    let status = alice
        .dashboards
        .undelete_dashboard(alice.req(pb::UndeleteDashboardRequest {
            name: trash.name.clone(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "NOT_DELETED");
}

#[tokio::test]
async fn trash_is_purged_after_retention() {
    let purging = common::start(|config| {
        config.trash_retention = std::time::Duration::from_millis(200);
        config.purge_interval = std::time::Duration::from_millis(100);
    });
    let mut alice = purging
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let doomed = alice.create("Doomed").await;
    let kept = alice.create("Kept").await;
    alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: doomed.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
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
    assert!(purged, "the trashed dashboard was never purged");
    let status = alice
        .dashboards
        .undelete_dashboard(alice.req(pb::UndeleteDashboardRequest {
            name: doomed.name.clone(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(
        alice.get(&kept.name).await.unwrap().title,
        "Kept",
        "live dashboards are never purged"
    );
}

#[tokio::test]
async fn batch_get_is_ordered_and_all_or_nothing() {
    let mut alice = author().await;
    let a = alice.create("A").await;
    let b = alice.create("B").await;
    let names = vec![b.name.clone(), a.name.clone(), b.name.clone()];
    let got = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest { names, view: 0 }))
        .await
        .unwrap()
        .into_inner()
        .dashboards;
    assert_eq!(
        got.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(),
        vec!["B", "A", "B"]
    );

    let mut bob = server().user(&alice.org, "bob", PlatformRole::Author).await;
    let bobs = bob.create("Bob's").await;
    let status = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: vec![a.name.clone(), bobs.name.clone()],
            view: 0,
        }))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(
        details.error_info().unwrap().metadata.get("resource"),
        Some(&bobs.name)
    );

    let status = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: vec![],
            view: 0,
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let status = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: vec![a.name.clone(), "nope".into()],
            view: 0,
        }))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["names[1]"]);
    let too_many = vec![a.name.clone(); 1001];
    let status = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: too_many,
            view: 0,
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn unknown_ids_are_not_found_with_error_info() {
    let mut alice = author().await;
    let status = alice
        .get(&format!("dashboards/{}", uuid::Uuid::now_v7()))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert!(
        details
            .error_info()
            .unwrap()
            .metadata
            .contains_key("resource")
    );
}
