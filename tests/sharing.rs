//! SharingService and the access model: the permission matrix, every grantee kind,
//! escalation, last-owner protection, organization and tenant walls, public links, and
//! access explanations.

mod common;

use common::{Caller, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::comment_service_client::CommentServiceClient;
use dashboard_service::pb::grantee::Kind;
use tonic::Code;

fn update_title(name: &str, title: &str) -> pb::UpdateDashboardRequest {
    pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: name.into(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
    }
}

async fn can_view(caller: &mut Caller, name: &str) -> bool {
    match caller.get(name).await {
        Ok(_) => true,
        Err(status) => {
            assert_error(&status, Code::NotFound, "NOT_FOUND");
            false
        }
    }
}

/// A widget on `dashboard` with a comment of its owner's: `(widget, comment)` names.
async fn commented_widget(owner: &mut Caller, dashboard: &str) -> (String, String) {
    let widget = owner
        .widgets
        .create_widget(owner.req(pb::CreateWidgetRequest {
            parent: dashboard.into(),
            widget: Some(pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                title: "tile".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("widget")
        .into_inner()
        .name;
    let comment = CommentServiceClient::new(server().channel().await)
        .create_comment(owner.req(pb::CreateCommentRequest {
            parent: widget.clone(),
            comment: Some(pb::Comment {
                text: "why the dip?".into(),
                ..Default::default()
            }),
        }))
        .await
        .expect("comment")
        .into_inner()
        .name;
    (widget, comment)
}

/// Outcome of an attempt: Ok, or the status code it failed with.
fn outcome<T>(result: Result<T, tonic::Status>) -> Result<(), Code> {
    result.map(|_| ()).map_err(|s| s.code())
}

const YES: Result<(), Code> = Ok(());
const DENIED: Result<(), Code> = Err(Code::PermissionDenied);
const HIDDEN: Result<(), Code> = Err(Code::NotFound);

/// Semaphor's permission matrix and Qubitro's role table, as one table: for each platform
/// role of the actor and each role it was given on a dashboard (by alias, to check those
/// too), what it may do there.
#[tokio::test]
async fn permission_matrix() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    // A user of tenant t1: every actor may share with it, the tenant ones included (tenant
    // users share only within their tenant).
    let third = server()
        .tenant_user(&org, "third", "t1", PlatformRole::Viewer)
        .await;

    struct Actor {
        sub: &'static str,
        tenant: Option<&'static str>,
        role: PlatformRole,
        may_create: bool,
        may_manage_groups: bool,
    }
    let actors = [
        Actor {
            sub: "tv",
            tenant: Some("t1"),
            role: PlatformRole::Viewer,
            may_create: false,
            may_manage_groups: false,
        },
        Actor {
            sub: "tp",
            tenant: Some("t1"),
            role: PlatformRole::PowerUser,
            may_create: true,
            may_manage_groups: false,
        },
        Actor {
            sub: "oa",
            tenant: None,
            role: PlatformRole::Author,
            may_create: true,
            may_manage_groups: true,
        },
        Actor {
            sub: "od",
            tenant: None,
            role: PlatformRole::Admin,
            may_create: true,
            may_manage_groups: true,
        },
    ];
    // role given -> expected (view, edit, share, delete) per actor: tenant VIEWER,
    // tenant POWER_USER, org AUTHOR, org ADMIN.
    type Row = [(
        Result<(), Code>,
        Result<(), Code>,
        Result<(), Code>,
        Result<(), Code>,
    ); 4];
    let admin = (YES, YES, YES, YES);
    let table: [(&str, Row); 5] = [
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

    let label = olga
        .labels
        .create_label(olga.req(pb::CreateLabelRequest {
            label: Some(pb::Label {
                display_name: "matrix".into(),
                ..Default::default()
            }),
        }))
        .await
        .expect("label")
        .into_inner()
        .name;
    for (a, actor) in actors.iter().enumerate() {
        let mut caller = server()
            .caller(&org, actor.sub, actor.tenant, actor.role)
            .await;
        // Create and manage groups depend on the platform role alone.
        let created = caller
            .dashboards
            .create_dashboard(caller.req(pb::CreateDashboardRequest {
                dashboard: Some(pb::Dashboard {
                    title: "mine".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            }))
            .await;
        assert_eq!(created.is_ok(), actor.may_create, "{} create", actor.sub);
        let group = caller
            .directory
            .create_group(caller.req(pb::CreateGroupRequest {
                group: Some(pb::Group {
                    display_name: "g".into(),
                    kind: pb::GroupKind::Org as i32,
                    ..Default::default()
                }),
                members: vec![],
            }))
            .await;
        assert_eq!(
            group.is_ok(),
            actor.may_manage_groups,
            "{} manage groups",
            actor.sub
        );

        for (role, row) in &table {
            let (view, edit, share, delete) = row[a];
            let dashboard = olga.create(&format!("{} {role}", actor.sub)).await;
            if !role.is_empty() {
                let share = olga.share_with(&dashboard.name, &caller, role).await;
                let canonical = match *role {
                    "readonly" => "roles/viewer",
                    "readwrite" => "roles/editor",
                    "admin" => "roles/owner",
                    other => other,
                };
                assert_eq!(
                    share.role, canonical,
                    "aliases are stored as the role they name"
                );
            }
            let ctx = format!("{} with {role:?}", actor.sub);
            assert_eq!(
                outcome(caller.get(&dashboard.name).await),
                view,
                "{ctx}: view"
            );
            // Duplicating needs READ and a role that may create.
            let duplicated = caller
                .dashboards
                .duplicate_dashboard(caller.req(pb::DuplicateDashboardRequest {
                    name: dashboard.name.clone(),
                    ..Default::default()
                }))
                .await;
            let duplicate = match view {
                YES if !actor.may_create => DENIED,
                other => other,
            };
            assert_eq!(outcome(duplicated), duplicate, "{ctx}: duplicate");
            // Starring needs READ alone, whatever the platform role.
            let starred = caller
                .dashboards
                .star_dashboard(caller.req(pb::StarDashboardRequest {
                    name: dashboard.name.clone(),
                }))
                .await;
            assert_eq!(outcome(starred), view, "{ctx}: star");
            let unstarred = caller
                .dashboards
                .unstar_dashboard(caller.req(pb::UnstarDashboardRequest {
                    name: dashboard.name.clone(),
                }))
                .await;
            assert_eq!(outcome(unstarred), view, "{ctx}: unstar");
            // Comments on a widget: READ comments and lists; resolving someone else's thread
            // takes WRITE, deleting someone else's comment SHARE.
            let (widget, olgas) = commented_widget(&mut olga, &dashboard.name).await;
            let mut comments = CommentServiceClient::new(server().channel().await);
            let commented = comments
                .create_comment(caller.req(pb::CreateCommentRequest {
                    parent: widget.clone(),
                    comment: Some(pb::Comment {
                        text: "me too".into(),
                        ..Default::default()
                    }),
                }))
                .await;
            assert_eq!(outcome(commented), view, "{ctx}: comment");
            let listed = comments
                .list_comments(caller.req(pb::ListCommentsRequest {
                    parent: widget.clone(),
                    filter: "resolved = false".into(),
                    ..Default::default()
                }))
                .await;
            assert_eq!(outcome(listed), view, "{ctx}: list comments");
            let resolved = comments
                .resolve_comment(caller.req(pb::ResolveCommentRequest {
                    name: olgas.clone(),
                    ..Default::default()
                }))
                .await;
            assert_eq!(outcome(resolved), edit, "{ctx}: resolve olga's comment");
            let removed = comments
                .delete_comment(caller.req(pb::DeleteCommentRequest {
                    name: olgas.clone(),
                    ..Default::default()
                }))
                .await;
            assert_eq!(outcome(removed), share, "{ctx}: delete olga's comment");
            let edited = caller
                .dashboards
                .update_dashboard(caller.req(update_title(&dashboard.name, "edited")))
                .await;
            assert_eq!(outcome(edited), edit, "{ctx}: edit");
            // UPDATE_LABELS goes with WRITE in every built-in role.
            let labeled = caller
                .dashboards
                .add_dashboard_label(caller.req(pb::AddDashboardLabelRequest {
                    name: dashboard.name.clone(),
                    label: label.clone(),
                }))
                .await;
            assert_eq!(outcome(labeled), edit, "{ctx}: add label");
            let shared = caller
                .share(&dashboard.name, Kind::User(third.name()), "roles/viewer")
                .await;
            assert_eq!(outcome(shared), share, "{ctx}: share");
            // Stopping the inheritance of folder shares changes who has access: SHARE.
            let cut = caller
                .dashboards
                .update_dashboard(caller.req(pb::UpdateDashboardRequest {
                    dashboard: Some(pb::Dashboard {
                        name: dashboard.name.clone(),
                        inherit_access: Some(false),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["inherit_access".into()],
                    }),
                    ..Default::default()
                }))
                .await;
            assert_eq!(outcome(cut), share, "{ctx}: inherit_access");
            // Moving needs DELETE on the dashboard, and at the root a role that may create.
            let moved = caller
                .dashboards
                .move_dashboard(caller.req(pb::MoveDashboardRequest {
                    name: dashboard.name.clone(),
                    folder: String::new(),
                    validate_only: true,
                }))
                .await;
            let may_move = match delete {
                YES if !actor.may_create => DENIED,
                other => other,
            };
            assert_eq!(outcome(moved), may_move, "{ctx}: move");
            let deleted = caller
                .dashboards
                .delete_dashboard(caller.req(pb::DeleteDashboardRequest {
                    name: dashboard.name.clone(),
                    etag: String::new(),
                }))
                .await;
            assert_eq!(outcome(deleted), delete, "{ctx}: delete");
        }
    }
}

#[tokio::test]
async fn every_grantee_kind_reaches_exactly_its_audience() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut org_user = server().user(&org, "ursula", PlatformRole::Author).await;
    let mut t1 = server()
        .tenant_user(&org, "tina", "t1", PlatformRole::Viewer)
        .await;
    let mut t2 = server()
        .tenant_user(&org, "tom", "t2", PlatformRole::Viewer)
        .await;
    let mut member = server().user(&org, "gail", PlatformRole::Viewer).await;
    let mut outsider = server()
        .user(&unique_org(), "ursula", PlatformRole::Admin)
        .await;
    let group = olga.group("Readers", &[&member]).await;

    let cases: Vec<(Kind, [bool; 5])> = vec![
        // org user, t1, t2, group member, and (always false) another org's admin
        (
            Kind::User(org_user.name()),
            [true, false, false, false, false],
        ),
        (
            Kind::Email("tina@".to_string() + &org + ".test"),
            [false, true, false, false, false],
        ),
        (
            Kind::Group(group.name.clone()),
            [false, false, false, true, false],
        ),
        (
            Kind::Tenant("t1".into()),
            [false, true, false, false, false],
        ),
        (Kind::AllTenants(true), [false, true, true, false, false]),
        (Kind::OrgMembers(true), [true, false, false, true, false]),
        (Kind::Everyone(true), [true, true, true, true, false]),
    ];
    for (grantee, expected) in cases {
        let dashboard = olga.create("kinds").await;
        let share = olga
            .share(&dashboard.name, grantee.clone(), "readonly")
            .await
            .expect("share");
        assert!(
            share
                .name
                .starts_with(&format!("{}/shares/", dashboard.name))
        );
        let mut seen = Vec::new();
        for caller in [&mut org_user, &mut t1, &mut t2, &mut member, &mut outsider] {
            seen.push(can_view(caller, &dashboard.name).await);
        }
        assert_eq!(seen, expected, "{grantee:?}");
        // Listing agrees with Get.
        let listed = t2.list_all(pb::ListDashboardsRequest::default()).await;
        assert_eq!(
            listed.iter().any(|d| d.name == dashboard.name),
            expected[2],
            "{grantee:?} listing"
        );
    }
}

#[tokio::test]
async fn revocation_membership_and_expiry_apply_on_the_next_call() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let dashboard = olga.create("Live").await;

    let share = olga.share_with(&dashboard.name, &bob, "readonly").await;
    assert!(can_view(&mut bob, &dashboard.name).await);
    olga.sharing
        .revoke_share(olga.req(pb::RevokeShareRequest {
            name: share.name.clone(),
        }))
        .await
        .unwrap();
    assert!(!can_view(&mut bob, &dashboard.name).await);
    let again = olga
        .sharing
        .revoke_share(olga.req(pb::RevokeShareRequest {
            name: share.name.clone(),
        }))
        .await;
    assert_error(&again.unwrap_err(), Code::NotFound, "NOT_FOUND");

    // Group membership changes count at once.
    let group = olga.group("Team", &[]).await;
    olga.share(&dashboard.name, Kind::Group(group.name.clone()), "readonly")
        .await
        .unwrap();
    assert!(!can_view(&mut bob, &dashboard.name).await);
    olga.directory
        .add_group_member(olga.req(pb::AddGroupMemberRequest {
            group: group.name.clone(),
            user: bob.name(),
        }))
        .await
        .unwrap();
    assert!(can_view(&mut bob, &dashboard.name).await);
    olga.directory
        .remove_group_member(olga.req(pb::RemoveGroupMemberRequest {
            group: group.name.clone(),
            user: bob.name(),
        }))
        .await
        .unwrap();
    assert!(!can_view(&mut bob, &dashboard.name).await);

    // An expiring share stops counting by itself.
    let expire = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let request = olga.req(pb::ShareDashboardRequest {
        name: dashboard.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(Kind::User(bob.name())),
        }),
        role: "readwrite".into(),
        expire_time: Some(prost_types::Timestamp {
            seconds: expire.timestamp(),
            nanos: expire.timestamp_subsec_nanos() as i32,
        }),
    });
    olga.sharing.share_dashboard(request).await.unwrap();
    assert!(can_view(&mut bob, &dashboard.name).await);
    let mut expired = false;
    for _ in 0..100 {
        if !can_view(&mut bob, &dashboard.name).await {
            expired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(expired, "the share never expired");
    assert!(
        bob.list_all(pb::ListDashboardsRequest::default())
            .await
            .iter()
            .all(|d| d.name != dashboard.name)
    );

    // Expiry must be in the future.
    let request = olga.req(pb::ShareDashboardRequest {
        name: dashboard.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(Kind::User(bob.name())),
        }),
        role: "readonly".into(),
        expire_time: Some(prost_types::Timestamp {
            seconds: 1,
            nanos: 0,
        }),
    });
    let status = olga.sharing.share_dashboard(request).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["expire_time"]);
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut carl = server().user(&org, "carl", PlatformRole::Author).await;
    let dave = server().user(&org, "dave", PlatformRole::Author).await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let dashboard = olga.create("Guarded").await;
    olga.share_with(&dashboard.name, &carl, "roles/contributor")
        .await;

    // A contributor may share viewer/editor/contributor...
    carl.share(&dashboard.name, Kind::User(dave.name()), "readwrite")
        .await
        .expect("editor is within reach");
    // ...but not owner,
    let status = carl
        .share(&dashboard.name, Kind::User(dave.name()), "roles/owner")
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
    // nor a custom role with a permission it lacks,
    let deleter = admin
        .directory
        .create_role(admin.req(pb::CreateRoleRequest {
            role: Some(pb::Role {
                display_name: "Deleter".into(),
                permissions: vec![pb::Permission::Read as i32, pb::Permission::Delete as i32],
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let status = carl
        .share(&dashboard.name, Kind::User(dave.name()), &deleter.name)
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
    // nor demote or revoke an owner.
    let status = carl
        .share(&dashboard.name, Kind::User(olga.name()), "readonly")
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
    let shares = olga
        .sharing
        .list_shares(olga.req(pb::ListSharesRequest {
            parent: dashboard.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let olgas = shares
        .users
        .iter()
        .find(|s| {
            s.grantee
                == Some(pb::Grantee {
                    kind: Some(Kind::User(olga.name())),
                })
        })
        .unwrap();
    let status = carl
        .sharing
        .revoke_share(carl.req(pb::RevokeShareRequest {
            name: olgas.name.clone(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "ROLE_EXCEEDS_GRANTER");
    // The owner still is one.
    assert_eq!(olga.permissions(&dashboard.name).await.unwrap().len(), 6);
    // The owner (holding everything) may grant the custom role.
    olga.share(&dashboard.name, Kind::User(dave.name()), &deleter.name)
        .await
        .expect("owner may");
}

#[tokio::test]
async fn a_dashboard_keeps_at_least_one_owner() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut pete = server().user(&org, "pete", PlatformRole::Author).await;
    let dashboard = olga.create("Owned").await;
    let shares = olga
        .sharing
        .list_shares(olga.req(pb::ListSharesRequest {
            parent: dashboard.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shares.users.len(), 1, "the creator's owner share");
    assert_eq!(shares.users[0].role, "roles/owner");
    let own = shares.users[0].name.clone();

    let status = olga
        .sharing
        .revoke_share(olga.req(pb::RevokeShareRequest { name: own.clone() }))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::FailedPrecondition, "LAST_OWNER");
    assert!(details.precondition_failure().is_some());
    let status = olga
        .share(&dashboard.name, Kind::User(olga.name()), "readwrite")
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "LAST_OWNER");

    // Transfer: pete becomes owner, olga steps down to editor.
    let owners = olga
        .sharing
        .transfer_ownership(olga.req(pb::TransferOwnershipRequest {
            name: dashboard.name.clone(),
            new_owner: pete.name(),
            previous_owner_role: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .owners;
    assert_eq!(
        owners.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
        vec![pete.name()]
    );
    let olga_perms = olga.permissions(&dashboard.name).await.unwrap();
    assert!(
        !olga_perms.contains(&pb::Permission::Delete)
            && olga_perms.contains(&pb::Permission::Write)
    );
    // Now olga, an editor, cannot transfer back.
    let status = olga
        .sharing
        .transfer_ownership(olga.req(pb::TransferOwnershipRequest {
            name: dashboard.name.clone(),
            new_owner: olga.name(),
            previous_owner_role: String::new(),
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
    // Pete may remove olga entirely.
    let listed = pete
        .sharing
        .list_owners(pete.req(pb::ListOwnersRequest {
            name: dashboard.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.owners.len(), 1);
    pete.sharing
        .revoke_share(pete.req(pb::RevokeShareRequest { name: own }))
        .await
        .expect("not the last owner");
    assert!(!can_view(&mut olga, &dashboard.name).await);
}

#[tokio::test]
async fn organization_and_tenant_walls_leak_nothing() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let dashboard = olga.create("Inside").await;
    let mut stranger = server()
        .user(&unique_org(), "stranger", PlatformRole::Admin)
        .await;

    // Sharing to a user of another org reads exactly like sharing to nobody.
    let other_org = olga
        .share(&dashboard.name, Kind::User(stranger.name()), "readonly")
        .await
        .unwrap_err();
    let nobody = olga
        .share(
            &dashboard.name,
            Kind::User("users/nobody".into()),
            "readonly",
        )
        .await
        .unwrap_err();
    assert_eq!(other_org.message(), nobody.message());
    let details = assert_error(&other_org, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["grantee.user"]);
    let by_email = olga
        .sharing
        .invite_to_dashboard(olga.req(pb::InviteToDashboardRequest {
            name: dashboard.name.clone(),
            users: vec![pb::invite_to_dashboard_request::UserInvite {
                email: format!("stranger@{}.test", stranger.org),
                role: "readonly".into(),
            }],
            groups: vec![],
            expire_time: None,
        }))
        .await
        .unwrap_err();
    let details = assert_error(&by_email, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["users[0].email"]);

    // The stranger cannot see, list, share, check or invite on it.
    assert!(!can_view(&mut stranger, &dashboard.name).await);
    assert!(
        stranger
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .is_empty()
    );
    let status = stranger
        .share(&dashboard.name, Kind::Everyone(true), "readonly")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = stranger.permissions(&dashboard.name).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // Tenant users: a POWER_USER of t1 shares within t1 only.
    let mut tp = server()
        .tenant_user(&org, "tp", "t1", PlatformRole::PowerUser)
        .await;
    let mut t1_viewer = server()
        .tenant_user(&org, "tv", "t1", PlatformRole::Viewer)
        .await;
    let mut t2_viewer = server()
        .tenant_user(&org, "tw", "t2", PlatformRole::Viewer)
        .await;
    let theirs = tp.create("Tenant board").await;
    tp.share_with(&theirs.name, &t1_viewer, "readonly").await;
    assert!(can_view(&mut t1_viewer, &theirs.name).await);
    let status = tp
        .share(&theirs.name, Kind::User(t2_viewer.name()), "readonly")
        .await
        .unwrap_err();
    assert_eq!(
        status.message(),
        nobody.message(),
        "another tenant's user reads as unknown"
    );
    for grantee in [
        Kind::Tenant("t2".into()),
        Kind::Everyone(true),
        Kind::OrgMembers(true),
        Kind::AllTenants(true),
    ] {
        let status = tp
            .share(&theirs.name, grantee.clone(), "readonly")
            .await
            .unwrap_err();
        assert_error(&status, Code::PermissionDenied, "OUTSIDE_TENANT");
    }
    tp.share(&theirs.name, Kind::Tenant("t1".into()), "readonly")
        .await
        .expect("own tenant");
    assert!(!can_view(&mut t2_viewer, &theirs.name).await);
    assert!(
        t2_viewer
            .list_all(pb::ListDashboardsRequest::default())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn invitations_apply_all_or_nothing() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let mut gail = server().user(&org, "gail", PlatformRole::Viewer).await;
    let group = olga.group("Ops", &[&gail]).await;
    let dashboard = olga.create("Invites").await;
    let invite =
        |users: Vec<(&str, &str)>, groups: Vec<(&str, &str)>| pb::InviteToDashboardRequest {
            name: dashboard.name.clone(),
            users: users
                .into_iter()
                .map(
                    |(email, role)| pb::invite_to_dashboard_request::UserInvite {
                        email: email.into(),
                        role: role.into(),
                    },
                )
                .collect(),
            groups: groups
                .into_iter()
                .map(|(id, role)| pb::invite_to_dashboard_request::GroupInvite {
                    id: id.into(),
                    role: role.into(),
                })
                .collect(),
            expire_time: None,
        };
    let bob_email = format!("bob@{org}.test");
    let status = olga
        .sharing
        .invite_to_dashboard(olga.req(invite(
            vec![
                (&bob_email, "readwrite"),
                ("ghost@nowhere.test", "readonly"),
            ],
            vec![(&group.name, "superuser")],
        )))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(
        violated_fields(&details),
        vec!["users[1].email", "groups[0].role"]
    );
    assert!(
        !can_view(&mut bob, &dashboard.name).await,
        "nothing applied"
    );

    let shares = olga
        .sharing
        .invite_to_dashboard(olga.req(invite(
            vec![(&bob_email, "readwrite")],
            vec![(&group.name, "readonly")],
        )))
        .await
        .unwrap()
        .into_inner()
        .shares;
    assert_eq!(
        shares.iter().map(|s| s.role.as_str()).collect::<Vec<_>>(),
        vec!["roles/editor", "roles/viewer"]
    );
    assert!(can_view(&mut bob, &dashboard.name).await);
    assert!(can_view(&mut gail, &dashboard.name).await);

    // Shares grouped by kind; members with groups expanded.
    let listed = olga
        .sharing
        .list_shares(olga.req(pb::ListSharesRequest {
            parent: dashboard.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            listed.users.len(),
            listed.groups.len(),
            listed.tenants.len(),
            listed.org_wide.len()
        ),
        (2, 1, 0, 0)
    );
    let members = olga
        .sharing
        .list_members(olga.req(pb::ListMembersRequest {
            name: dashboard.name.clone(),
            expand_groups: true,
        }))
        .await
        .unwrap()
        .into_inner()
        .members;
    let by_user = |name: &str| {
        members
            .iter()
            .find(|m| m.user.as_ref().unwrap().name == name)
            .unwrap()
    };
    assert_eq!(by_user(&bob.name()).role, "roles/editor");
    let gail_member = by_user(&gail.name());
    assert_eq!(gail_member.role, "roles/viewer");
    assert_eq!(gail_member.sources[0].group, group.name);
    assert_eq!(
        gail_member.permissions().collect::<Vec<_>>(),
        vec![pb::Permission::Read]
    );
    let direct_only = olga
        .sharing
        .list_members(olga.req(pb::ListMembersRequest {
            name: dashboard.name.clone(),
            expand_groups: false,
        }))
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(direct_only.len(), 2, "olga and bob");
    // Members are access management: an editor may not list them.
    let status = bob
        .sharing
        .list_members(bob.req(pb::ListMembersRequest {
            name: dashboard.name.clone(),
            expand_groups: false,
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
}

#[tokio::test]
async fn check_access_explains_itself() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut vera = server().user(&org, "vera", PlatformRole::Viewer).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let group = olga.group("Viewers", &[&bob, &vera]).await;
    let dashboard = olga.create("Explained").await;
    let group_share = olga
        .share(&dashboard.name, Kind::Group(group.name.clone()), "readonly")
        .await
        .unwrap();
    let direct = olga
        .share_with(&dashboard.name, &bob, "roles/contributor")
        .await;
    olga.share_with(&dashboard.name, &vera, "readwrite").await;

    let check = |principal: &str, permission: pb::Permission| pb::CheckAccessRequest {
        name: dashboard.name.clone(),
        permission: permission as i32,
        principal: principal.into(),
    };
    let response = bob
        .sharing
        .check_access(bob.req(check("", pb::Permission::Share)))
        .await
        .unwrap()
        .into_inner();
    assert!(response.allowed);
    assert_eq!(response.principal, bob.name());
    assert_eq!(
        response.permissions().count(),
        5,
        "contributor: all but DELETE"
    );
    let mut shares: Vec<_> = response
        .grants
        .iter()
        .map(|g| (g.share.clone(), g.via_group.clone()))
        .collect();
    shares.sort();
    let mut expected = vec![
        (group_share.name.clone(), group.name.clone()),
        (direct.name.clone(), String::new()),
    ];
    expected.sort();
    assert_eq!(shares, expected);
    assert!(!response.implicit_owner);

    // VIEWER platform role: an editor share is capped to READ, and the answer says why.
    let response = vera
        .sharing
        .check_access(vera.req(check("", pb::Permission::Write)))
        .await
        .unwrap()
        .into_inner();
    assert!(!response.allowed);
    assert_eq!(
        response.permissions().collect::<Vec<_>>(),
        vec![pb::Permission::Read]
    );
    assert_eq!(
        response.ceiling().collect::<Vec<_>>(),
        vec![pb::Permission::Read]
    );
    assert_eq!(response.grants.len(), 2);

    // Checking someone else needs SHARE (bob has it) or ADMIN; vera has neither.
    let about_vera = bob
        .sharing
        .check_access(bob.req(check(&vera.name(), pb::Permission::Read)))
        .await
        .unwrap()
        .into_inner();
    assert!(about_vera.allowed);
    assert_eq!(about_vera.principal, vera.name());
    let status = vera
        .sharing
        .check_access(vera.req(check(&bob.name(), pb::Permission::Read)))
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");
    let about_admin = admin
        .sharing
        .check_access(admin.req(check("", pb::Permission::Delete)))
        .await
        .unwrap()
        .into_inner();
    assert!(about_admin.allowed && about_admin.implicit_owner);

    // Batch: unreadable and missing dashboards read as denied, in order.
    let secret = admin.create("Admin only").await;
    let response = bob
        .sharing
        .batch_check_access(bob.req(pb::BatchCheckAccessRequest {
            names: vec![
                dashboard.name.clone(),
                secret.name.clone(),
                "dashboards/missing".into(),
            ],
            permission: pb::Permission::Write as i32,
            principal: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response
            .results
            .iter()
            .map(|r| r.allowed)
            .collect::<Vec<_>>(),
        vec![true, false, false]
    );
    assert!(response.results[1].permissions.is_empty());

    // Who am I.
    let ctx = vera
        .sharing
        .get_principal_context(vera.req(pb::GetPrincipalContextRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ctx.groups, vec![group.name.clone()]);
    assert!(!ctx.may_create_dashboards && !ctx.may_manage_groups);
    assert_eq!(ctx.role(), pb::PlatformRole::Viewer);
}

#[tokio::test]
async fn public_links_work_without_credentials_until_revoked() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut editor = server().user(&org, "ed", PlatformRole::Author).await;
    let dashboard = olga.create("Public").await;
    olga.share_with(&dashboard.name, &editor, "readwrite").await;
    let status = editor
        .sharing
        .create_public_link(editor.req(pb::CreatePublicLinkRequest {
            name: dashboard.name.clone(),
            expire_time: None,
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::PermissionDenied, "MISSING_PERMISSION");

    let link = olga
        .sharing
        .create_public_link(olga.req(pb::CreatePublicLinkRequest {
            name: dashboard.name.clone(),
            expire_time: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(link.token.len() >= 32);
    assert!(olga.get(&dashboard.name).await.unwrap().is_public);
    assert_eq!(public_flags(&mut olga, &dashboard.name).await, (true, true));
    let public_list = olga
        .list_all(pb::ListDashboardsRequest {
            filter: "visibility = public".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(
        public_list
            .iter()
            .map(|d| d.name.clone())
            .collect::<Vec<_>>(),
        vec![dashboard.name.clone()]
    );

    // Anonymous: no authorization metadata at all.
    let mut anonymous = server().sharing_client().await;
    let shared = anonymous
        .get_shared_dashboard(pb::GetSharedDashboardRequest {
            token: link.token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shared.title, "Public");
    let status = anonymous
        .get_shared_dashboard(pb::GetSharedDashboardRequest {
            token: "not-a-token".into(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    // The public method is the only anonymous one.
    let status = anonymous
        .list_public_links(pb::ListPublicLinksRequest {
            parent: dashboard.name.clone(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "MISSING_CREDENTIALS");

    let links = olga
        .sharing
        .list_public_links(olga.req(pb::ListPublicLinksRequest {
            parent: dashboard.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .links;
    assert_eq!(links.len(), 1);
    assert!(links[0].token.is_empty(), "tokens are shown only once");
    olga.sharing
        .revoke_public_link(olga.req(pb::RevokePublicLinkRequest {
            name: link.name.clone(),
        }))
        .await
        .unwrap();
    let status = anonymous
        .get_shared_dashboard(pb::GetSharedDashboardRequest {
            token: link.token.clone(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert!(!olga.get(&dashboard.name).await.unwrap().is_public);
    assert_eq!(
        public_flags(&mut olga, &dashboard.name).await,
        (false, false)
    );

    // An expiring link stops working by itself; a trashed dashboard is not served.
    let expire = chrono::Utc::now() + chrono::Duration::milliseconds(1200);
    let short = olga
        .sharing
        .create_public_link(olga.req(pb::CreatePublicLinkRequest {
            name: dashboard.name.clone(),
            expire_time: Some(prost_types::Timestamp {
                seconds: expire.timestamp(),
                nanos: expire.timestamp_subsec_nanos() as i32,
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    anonymous
        .get_shared_dashboard(pb::GetSharedDashboardRequest {
            token: short.token.clone(),
        })
        .await
        .expect("fresh");
    let mut gone = false;
    for _ in 0..100 {
        if anonymous
            .get_shared_dashboard(pb::GetSharedDashboardRequest {
                token: short.token.clone(),
            })
            .await
            .is_err()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the link never expired");
    let forever = olga
        .sharing
        .create_public_link(olga.req(pb::CreatePublicLinkRequest {
            name: dashboard.name.clone(),
            expire_time: None,
        }))
        .await
        .unwrap()
        .into_inner();
    olga.dashboards
        .delete_dashboard(olga.req(pb::DeleteDashboardRequest {
            name: dashboard.name.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
    let status = anonymous
        .get_shared_dashboard(pb::GetSharedDashboardRequest {
            token: forever.token,
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn list_filters_owner_and_shared_with_me() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Author).await;
    let olgas = olga.create("Olga's").await;
    let bobs = bob.create("Bob's").await;
    olga.share_with(&olgas.name, &bob, "readonly").await;
    let names = |ds: Vec<pb::Dashboard>| ds.into_iter().map(|d| d.name).collect::<Vec<_>>();
    let list = |filter: &str| pb::ListDashboardsRequest {
        filter: filter.into(),
        ..Default::default()
    };
    assert_eq!(
        names(bob.list_all(list("shared_with_me = true")).await),
        vec![olgas.name.clone()]
    );
    assert_eq!(
        names(bob.list_all(list("shared_with_me = false")).await),
        vec![bobs.name.clone()]
    );
    assert_eq!(
        names(bob.list_all(list(r#"owner = "users/me""#)).await),
        vec![bobs.name.clone()]
    );
    assert_eq!(
        names(bob.list_all(list(r#"owner = "users/olga""#)).await),
        vec![olgas.name.clone()]
    );
    assert_eq!(
        names(bob.list_all(list(r#"NOT owner = "users/olga""#)).await),
        vec![bobs.name.clone()]
    );
}

/// `is_public` of a dashboard as ListDashboards and BatchGetDashboards report it.
async fn public_flags(caller: &mut Caller, name: &str) -> (bool, bool) {
    let listed = caller
        .list_all(pb::ListDashboardsRequest::default())
        .await
        .into_iter()
        .find(|d| d.name == name)
        .expect("listed");
    let request = caller.req(pb::BatchGetDashboardsRequest {
        names: vec![name.into()],
        view: 0,
    });
    let batch = caller
        .dashboards
        .batch_get_dashboards(request)
        .await
        .expect("batch get")
        .into_inner()
        .dashboards;
    (listed.is_public, batch[0].is_public)
}
