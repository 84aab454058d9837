//! Library widgets (DESIGN §6, issue 16 item 4): LibraryWidgetService CRUD, sharing through
//! SharingService with the dashboard rules, dashboard widgets linking one (content shown on
//! every linked dashboard, readers of the dashboard see it without a share on the library
//! widget), unlinking, delete with and without `force`, connections, limits and events.
//! This file: CRUD, listing, the permission matrix, limits, group shares; links.rs: linking.

mod common;
#[path = "library_widgets/helpers.rs"]
mod helpers;
#[path = "library_widgets/links.rs"]
mod links;

use common::{assert_error, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use helpers::*;
use tonic::Code;

#[tokio::test]
async fn crud_with_an_owner_share_and_an_event_per_write() {
    let (_, mut admin, mut author) = org().await;
    let created = author.create_library("CPU").await.expect("create");
    assert!(
        created.name.starts_with("library-widgets/"),
        "{}",
        created.name
    );
    assert_eq!(created.title, "CPU");
    assert_eq!(created.r#type, pb::WidgetType::Stat as i32);
    assert_eq!(created.creator, "users/author");
    assert_eq!(created.data_sources.len(), 1);
    assert!(!created.etag.is_empty());
    // The creator owns it.
    let shares = author.list_shares(&created.name).await.expect("ListShares");
    assert_eq!(shares.users.len(), 1);
    assert_eq!(shares.users[0].role, "roles/owner");
    assert!(
        shares.users[0]
            .name
            .starts_with(&format!("{}/shares/", created.name))
    );

    let got = author.get_library(&created.name).await.expect("get");
    assert_eq!(got, created);
    let updated = author
        .retitle_library(&created.name, "CPU %")
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.title, "CPU %");
    assert_eq!(
        updated.subtitle, "shared",
        "fields outside the mask are kept"
    );
    assert_ne!(updated.etag, created.etag);
    // A stale etag is ABORTED.
    let stale = author.req(pb::UpdateLibraryWidgetRequest {
        library_widget: Some(pb::LibraryWidget {
            name: created.name.clone(),
            title: "x".into(),
            etag: created.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(mask(&["title"])),
    });
    let err = author
        .library
        .update_library_widget(stale)
        .await
        .unwrap_err();
    assert_error(&err, Code::Aborted, "ETAG_MISMATCH");

    author
        .delete_library(&created.name, false)
        .await
        .expect("delete");
    let err = author.get_library(&created.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    let events = admin
        .events_of(&format!("resource = \"{}\"", created.name))
        .await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types,
        [
            "LIBRARY_WIDGET_CREATED",
            "LIBRARY_WIDGET_UPDATED",
            "LIBRARY_WIDGET_DELETED"
        ]
    );
    assert_eq!(events[1].changed_fields, ["title"]);
    assert!(events.iter().all(|e| e.actor == "users/author"));
}

#[tokio::test]
async fn listing_shows_only_readable_library_widgets_in_pages() {
    let (org, mut admin, mut author) = org().await;
    let mut member = User::new(&org, "member", PlatformRole::Author).await;
    let mut names = Vec::new();
    for i in 0..3 {
        names.push(
            author
                .create_library(&format!("L{i}"))
                .await
                .expect("create")
                .name,
        );
    }
    member.create_library("Mine").await.expect("create own");
    author
        .share(&names[1], &member, "roles/viewer")
        .await
        .expect("share");

    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = author.list_library(2, &token).await;
        assert!(page.library_widgets.len() <= 2);
        listed.extend(page.library_widgets.into_iter().map(|l| l.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(listed, names);
    let mine: Vec<String> = member
        .list_library(0, "")
        .await
        .library_widgets
        .into_iter()
        .map(|l| l.title)
        .collect();
    assert_eq!(mine, ["L1", "Mine"]);
    assert_eq!(admin.list_library(0, "").await.library_widgets.len(), 4);
    // A token of this listing only.
    let request = author.req(pb::ListLibraryWidgetsRequest {
        page_size: 1,
        page_token: "bogus".into(),
    });
    let err = author
        .library
        .list_library_widgets(request)
        .await
        .unwrap_err();
    assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
}

/// Every new RPC: NOT_FOUND when the caller cannot READ the library widget,
/// PERMISSION_DENIED when it can READ but lacks the permission; roles are capped by the
/// platform role's ceiling; ADMINs hold everything; other orgs see nothing.
#[tokio::test]
async fn permission_matrix() {
    let (org, mut admin, mut owner) = org().await;
    let mut stranger = User::new(&org, "stranger", PlatformRole::Author).await;
    let mut reader = User::new(&org, "reader", PlatformRole::Author).await;
    let mut editor = User::new(&org, "editor", PlatformRole::Author).await;
    let mut sharer = User::new(&org, "sharer", PlatformRole::Author).await;
    let mut capped = User::new(&org, "capped", PlatformRole::Viewer).await;
    let mut outsider = User::new(&unique_org(), "outsider", PlatformRole::Admin).await;
    let library = owner.create_library("Matrix").await.expect("create");
    let name = library.name.clone();
    for (who, role) in [
        (&reader, "roles/viewer"),
        (&editor, "roles/editor"),
        (&sharer, "roles/contributor"),
        (&capped, "roles/owner"),
    ] {
        owner.share(&name, who, role).await.expect("share");
    }

    // Create: a VIEWER cannot.
    let err = capped.create_library("no").await.unwrap_err();
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_CREATE");

    // Get and ListLibraryWidgetConnections: READ.
    for who in [&mut stranger, &mut outsider] {
        assert_error(
            &who.get_library(&name).await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_error(
            &who.connections(&name, 0, "").await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_error(
            &who.retitle_library(&name, "x").await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_error(
            &who.delete_library(&name, true).await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
        assert_error(
            &who.list_shares(&name).await.unwrap_err(),
            Code::NotFound,
            "NOT_FOUND",
        );
        assert!(who.list_library(0, "").await.library_widgets.is_empty());
    }
    for who in [&mut reader, &mut capped, &mut admin] {
        who.get_library(&name).await.expect("READ");
        who.connections(&name, 0, "").await.expect("READ");
    }

    // CheckAccess and ListOwners explain it as for a dashboard.
    assert_eq!(
        reader.caller.permissions(&name).await.expect("CheckAccess"),
        [pb::Permission::Read]
    );
    assert_eq!(
        capped.caller.permissions(&name).await.expect("CheckAccess"),
        [pb::Permission::Read],
        "the VIEWER ceiling caps an owner share"
    );
    let editor_may = editor.caller.permissions(&name).await.expect("CheckAccess");
    assert!(editor_may.contains(&pb::Permission::Write));
    assert!(!editor_may.contains(&pb::Permission::Share));
    assert_error(
        &stranger.caller.permissions(&name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    let request = reader.req(pb::ListOwnersRequest { name: name.clone() });
    let owners: Vec<String> = reader
        .caller
        .sharing
        .list_owners(request)
        .await
        .expect("ListOwners")
        .into_inner()
        .owners
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(owners, ["users/author", "users/capped"]);

    // Update: WRITE (a VIEWER's owner share is capped at READ).
    for who in [&mut reader, &mut capped] {
        assert_error(
            &who.retitle_library(&name, "x").await.unwrap_err(),
            Code::PermissionDenied,
            "MISSING_PERMISSION",
        );
    }
    editor
        .retitle_library(&name, "by editor")
        .await
        .expect("WRITE");
    admin
        .retitle_library(&name, "by admin")
        .await
        .expect("ADMIN");

    // Sharing: SHARE, and only roles within the granter's permissions.
    let with = User::new(&org, "grantee", PlatformRole::Author).await;
    for who in [&mut reader, &mut editor] {
        assert_error(
            &who.share(&name, &with, "roles/viewer").await.unwrap_err(),
            Code::PermissionDenied,
            "MISSING_PERMISSION",
        );
        assert_error(
            &who.list_shares(&name).await.unwrap_err(),
            Code::PermissionDenied,
            "MISSING_PERMISSION",
        );
    }
    assert_error(
        &stranger
            .share(&name, &with, "roles/viewer")
            .await
            .unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    let share = sharer
        .share(&name, &with, "roles/viewer")
        .await
        .expect("SHARE");
    assert!(share.name.starts_with(&format!("{name}/shares/")));
    assert_error(
        &sharer.share(&name, &with, "roles/owner").await.unwrap_err(),
        Code::PermissionDenied,
        "ROLE_EXCEEDS_GRANTER",
    );
    // Revoking: the last owner stays.
    let shares = owner.list_shares(&name).await.expect("ListShares");
    let owner_share = shares
        .users
        .iter()
        .find(|s| {
            s.grantee.as_ref().and_then(|g| g.kind.clone())
                == Some(pb::grantee::Kind::User("users/author".into()))
        })
        .expect("owner share")
        .name
        .clone();
    let revoke = owner.req(pb::RevokeShareRequest {
        name: owner_share.clone(),
    });
    // `capped` holds roles/owner too, so the author may step down; revoke capped first.
    let capped_share = shares
        .users
        .iter()
        .find(|s| {
            s.grantee.as_ref().and_then(|g| g.kind.clone())
                == Some(pb::grantee::Kind::User("users/capped".into()))
        })
        .expect("capped share")
        .name
        .clone();
    let first = owner.req(pb::RevokeShareRequest { name: capped_share });
    owner
        .caller
        .sharing
        .revoke_share(first)
        .await
        .expect("revoke capped");
    let err = owner.caller.sharing.revoke_share(revoke).await.unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "LAST_OWNER");
    let revoke_with = sharer.req(pb::RevokeShareRequest { name: share.name });
    sharer
        .caller
        .sharing
        .revoke_share(revoke_with)
        .await
        .expect("revoke within the granter's permissions");

    // Linking needs READ on the library widget (and MANAGE_WIDGETS on the dashboard).
    let board = stranger.caller.create("Stranger's").await;
    assert_error(
        &stranger.link(&board.name, &name, 0).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    let readers_board = reader.caller.create("Reader's").await;
    reader
        .link(&readers_board.name, &name, 0)
        .await
        .expect("READ is enough to link");

    // Delete: DELETE.
    for who in [&mut reader, &mut editor, &mut sharer] {
        assert_error(
            &who.delete_library(&name, true).await.unwrap_err(),
            Code::PermissionDenied,
            "MISSING_PERMISSION",
        );
    }
    owner.delete_library(&name, true).await.expect("DELETE");
}

#[tokio::test]
async fn limits_and_invalid_input_name_the_field() {
    let (_, _, mut author) = org().await;
    let mut long = content("x");
    long.title = "t".repeat(201);
    let request = author.req(pb::CreateLibraryWidgetRequest {
        library_widget: Some(long),
    });
    let err = author
        .library
        .create_library_widget(request)
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["library_widget.title"]);

    let mut untyped = content("x");
    untyped.r#type = 0;
    let request = author.req(pb::CreateLibraryWidgetRequest {
        library_widget: Some(untyped),
    });
    let err = author
        .library
        .create_library_widget(request)
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["library_widget.type"]);

    let mut many = content("x");
    many.data_sources = vec![
        pb::DataSource {
            device_id: "d".into(),
            ..Default::default()
        };
        51
    ];
    let request = author.req(pb::CreateLibraryWidgetRequest {
        library_widget: Some(many),
    });
    let err = author
        .library
        .create_library_widget(request)
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["library_widget.data_sources"]);

    let library = author.create_library("ok").await.expect("create");
    for (paths, field) in [
        (vec!["etag"], "update_mask"),
        (vec!["layout"], "update_mask"),
    ] {
        let request = author.req(pb::UpdateLibraryWidgetRequest {
            library_widget: Some(pb::LibraryWidget {
                name: library.name.clone(),
                ..Default::default()
            }),
            update_mask: Some(mask(&paths)),
        });
        let err = author
            .library
            .update_library_widget(request)
            .await
            .unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), [field]);
    }
    for bad in [
        "",
        "library-widgets/",
        "dashboards/x",
        "library-widgets/a/b",
    ] {
        let err = author.get_library(bad).await.unwrap_err();
        let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), ["name"]);
    }
    // A link to a malformed name names the field.
    let board = author.caller.create("Board").await;
    let err = author.link(&board.name, "labels/x", 0).await.unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["widget.library_widget"]);
}

/// A group holding a share on a library widget: a group manager who lacks that access may
/// not join it (nor add anyone), and deleting the group revokes the share with its event.
#[tokio::test]
async fn group_shares_on_library_widgets_follow_the_group_rules() {
    let (org, mut admin, mut owner) = org().await;
    let mut manager = User::new(&org, "manager", PlatformRole::Author).await;
    let library = owner.create_library("Grouped").await.expect("create");
    let group = manager.caller.group("managed", &[]).await;
    let request = owner.req(pb::ShareDashboardRequest {
        name: library.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(pb::grantee::Kind::Group(group.name.clone())),
        }),
        role: "roles/owner".into(),
        expire_time: None,
    });
    let share = owner
        .caller
        .sharing
        .share_dashboard(request)
        .await
        .expect("share with the group")
        .into_inner();

    let join = manager.req(pb::AddGroupMemberRequest {
        group: group.name.clone(),
        user: manager.caller.name(),
    });
    let err = manager
        .caller
        .directory
        .add_group_member(join)
        .await
        .unwrap_err();
    assert_error(&err, Code::PermissionDenied, "GROUP_GRANTS_EXCEED_CALLER");
    assert_error(
        &manager.get_library(&library.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );

    let delete = admin.req(pb::DeleteGroupRequest {
        name: group.name.clone(),
        etag: String::new(),
    });
    admin
        .caller
        .directory
        .delete_group(delete)
        .await
        .expect("delete the group");
    let shares = owner.list_shares(&library.name).await.expect("ListShares");
    assert!(shares.groups.is_empty(), "{shares:?}");
    let revoked = admin
        .events_of(&format!("resource = \"{}\"", share.name))
        .await;
    let types: Vec<&str> = revoked.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, ["SHARE_GRANTED", "SHARE_REVOKED"]);
    assert_eq!(revoked[1].grantee, group.name);
}

/// Tenant users share library widgets within their tenant and org-wide scopes only, as they
/// do dashboards; org users see nothing of a tenant user's library widget unshared.
#[tokio::test]
async fn tenant_users_share_within_their_tenant() {
    let (org, _, mut author) = org().await;
    let mut tenant_user = User::of_tenant(&org, "tina", "t1", PlatformRole::PowerUser).await;
    let mate = User::of_tenant(&org, "tom", "t1", PlatformRole::PowerUser).await;
    let library = tenant_user
        .create_library("Tenant's")
        .await
        .expect("create");
    assert_error(
        &author.get_library(&library.name).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_error(
        &tenant_user
            .share(&library.name, &author, "roles/viewer")
            .await
            .unwrap_err(),
        Code::PermissionDenied,
        "OUTSIDE_TENANT",
    );
    tenant_user
        .share(&library.name, &mate, "roles/viewer")
        .await
        .expect("share within the tenant");
}
