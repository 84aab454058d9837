//! Folders (DESIGN §5, issue 15): FolderService CRUD, limits, trash, tenant walls, and
//! dashboards placed in folders. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.

mod common;

use common::folders::share_folder;
use common::{assert_error, server, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

#[tokio::test]
async fn create_and_get_a_nested_folder() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    let ops = author.folder("Ops", "").await;
    assert_eq!(ops.parent, "");
    assert_eq!(ops.depth, 1);
    assert_eq!(ops.inherit_access, Some(true));
    assert_eq!(ops.creator, "users/author");
    let db = author.folder("Databases", &ops.name).await;
    assert_eq!(db.parent, ops.name);
    assert_eq!(db.depth, 2);
    let got = author.get_folder(&db.name).await.expect("get");
    assert_eq!(got, db);

    // Another member of the org does not see it (no share): NOT_FOUND.
    let mut other = server().user(&org, "other", PlatformRole::Author).await;
    let err = other.get_folder(&db.name).await.expect_err("hidden");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // Nor does another org, even its ADMIN.
    let mut stranger = server()
        .user(&unique_org(), "admin", PlatformRole::Admin)
        .await;
    let err = stranger.get_folder(&db.name).await.expect_err("walled");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // The org's ADMIN does.
    let mut admin = server().user(&org, "admin", PlatformRole::Admin).await;
    admin.get_folder(&db.name).await.expect("admin reads");
}

#[tokio::test]
async fn dashboards_go_into_folders_the_caller_may_write() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    let ops = author.folder("Ops", "").await;
    let d = author.create_in("in ops", &ops.name).await;
    assert_eq!(d.folder, ops.name);
    assert_eq!(d.inherit_access, Some(true));

    // No READ on the folder: NOT_FOUND.
    let mut other = server().user(&org, "other", PlatformRole::Author).await;
    let err = other
        .try_create_in("sneaky", &ops.name)
        .await
        .expect_err("no write");
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // Moved to the root and back.
    let moved = author
        .move_dashboard(&d.name, "", false)
        .await
        .expect("move to root");
    assert_eq!(moved.dashboard.expect("dashboard").folder, "");
    let dbs = author.folder("Databases", &ops.name).await;
    let moved = author
        .move_dashboard(&d.name, &dbs.name, false)
        .await
        .expect("move into dbs");
    assert_eq!(moved.dashboard.expect("dashboard").folder, dbs.name);
    assert_eq!(author.get(&d.name).await.expect("get").folder, dbs.name);
    // The other member may not move it anywhere (cannot read it).
    let err = other
        .move_dashboard(&d.name, "", false)
        .await
        .expect_err("hidden");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn update_with_mask_etag_and_unique_titles() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    let ops = author.folder("Ops", "").await;
    author.folder("Sales", "").await;
    // A title taken among the live siblings: ALREADY_EXISTS, on create and on update.
    let err = author.try_folder("Ops", "", None).await.expect_err("clash");
    assert_error(&err, Code::AlreadyExists, "FOLDER_TITLE_TAKEN");
    let mut renamed = ops.clone();
    renamed.title = "Sales".into();
    let err = author
        .update_folder(renamed, &["title"])
        .await
        .expect_err("clash");
    assert_error(&err, Code::AlreadyExists, "FOLDER_TITLE_TAKEN");
    // The same title under another parent is fine.
    author.folder("Ops", &ops.name).await;

    let mut change = ops.clone();
    change.title = "Operations".into();
    change.description = "runbooks".into();
    let updated = author
        .update_folder(change.clone(), &["title"])
        .await
        .expect("update title");
    assert_eq!(updated.title, "Operations");
    assert_eq!(updated.description, "", "only the mask's fields change");
    assert_ne!(updated.etag, ops.etag);
    // The old etag is stale now: ABORTED.
    let err = author
        .update_folder(change.clone(), &["description"])
        .await
        .expect_err("stale etag");
    assert_eq!(err.code(), Code::Aborted);
    change.etag = updated.etag.clone();
    let updated = author
        .update_folder(change.clone(), &["description"])
        .await
        .expect("fresh etag");
    assert_eq!(updated.description, "runbooks");
    // `parent` moves with MoveFolder only; unknown paths are refused.
    for path in ["parent", "color"] {
        let err = author
            .update_folder(updated.clone(), &[path])
            .await
            .expect_err("not updatable");
        assert_eq!(err.code(), Code::InvalidArgument, "{path}");
    }
    // An editor (WRITE, no SHARE) sends the folder back as read with an empty mask: its
    // unchanged `inherit_access` needs no SHARE.
    share_folder(&org, &ops.name, "user", "editor", "roles/editor").await;
    let mut editor = server().user(&org, "editor", PlatformRole::Author).await;
    let mut as_read = editor.get_folder(&ops.name).await.expect("editor reads");
    as_read.title = "Ops again".into();
    let edited = editor
        .update_folder(as_read.clone(), &[])
        .await
        .expect("empty mask");
    assert_eq!(edited.title, "Ops again");
    as_read.etag = edited.etag.clone();
    as_read.inherit_access = Some(false);
    let err = editor
        .update_folder(as_read, &[])
        .await
        .expect_err("a cut needs SHARE");
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    let updated = edited;
    let mut empty = updated.clone();
    empty.title = "  ".into();
    let err = author
        .update_folder(empty, &["title"])
        .await
        .expect_err("empty title");
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn depth_limit_and_cycles_answer_with_their_reasons() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    // Eight levels are allowed (MAX_FOLDER_DEPTH's default), the ninth is not.
    let mut chain = Vec::new();
    let mut parent = String::new();
    for level in 1..=8 {
        let f = author.folder(&format!("L{level}"), &parent).await;
        assert_eq!(f.depth, level);
        parent = f.name.clone();
        chain.push(f);
    }
    let err = author
        .try_folder("L9", &parent, None)
        .await
        .expect_err("too deep");
    let details = assert_error(&err, Code::InvalidArgument, "FOLDER_TOO_DEEP");
    assert!(details.error_info().is_some());

    // Into itself or below itself: a cycle.
    for into in [&chain[0].name, &chain[3].name] {
        let err = author
            .move_folder(&chain[0].name, into, false)
            .await
            .expect_err("cycle");
        let details = assert_error(&err, Code::FailedPrecondition, "FOLDER_CYCLE");
        assert!(details.error_info().is_some());
    }
    // A two-level subtree under level 7 would reach 9.
    let top = author.folder("Top", "").await;
    author.folder("Child", &top.name).await;
    let err = author
        .move_folder(&top.name, &chain[6].name, false)
        .await
        .expect_err("too deep");
    assert_error(&err, Code::InvalidArgument, "FOLDER_TOO_DEEP");
    // Under level 6 it fits (7 and 8); depths follow the move.
    let moved = author
        .move_folder(&top.name, &chain[5].name, false)
        .await
        .expect("fits")
        .folder
        .expect("folder");
    assert_eq!(moved.depth, 7);
    assert_eq!(moved.parent, chain[5].name);
    let list = author
        .list_folders(pb::ListFoldersRequest {
            parent: top.name.clone(),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(list.folders.len(), 1);
    assert_eq!(list.folders[0].depth, 8);
}

#[tokio::test]
async fn list_children_pages_filter_and_tree_walk() {
    let org = unique_org();
    let mut author = server().user(&org, "author", PlatformRole::Author).await;
    let b = author.folder("Beta", "").await;
    let a = author.folder("Alpha", "").await;
    let a1 = author.folder("Alpha one", &a.name).await;
    let a11 = author.folder("Deep", &a1.name).await;
    let a2 = author.folder("Alpha two", &a.name).await;
    // Another member sees none of them, until one is shared with it.
    let mut member = server().user(&org, "member", PlatformRole::Author).await;

    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = author
            .list_folders(pb::ListFoldersRequest {
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("page");
        names.extend(page.folders.into_iter().map(|f| f.title));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names, vec!["Alpha", "Beta"]);
    // A token belongs to its listing.
    let first = author
        .list_folders(pb::ListFoldersRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("page");
    let err = author
        .list_folders(pb::ListFoldersRequest {
            page_size: 1,
            page_token: first.next_page_token,
            filter: "title : \"a\"".into(),
            ..Default::default()
        })
        .await
        .expect_err("foreign token");
    assert_eq!(err.code(), Code::InvalidArgument);

    let filtered = author
        .list_folders(pb::ListFoldersRequest {
            parent: a.name.clone(),
            filter: "title : \"TWO\"".into(),
            ..Default::default()
        })
        .await
        .expect("filter");
    assert_eq!(
        filtered.folders.iter().map(|f| &f.name).collect::<Vec<_>>(),
        vec![&a2.name]
    );
    let err = author
        .list_folders(pb::ListFoldersRequest {
            filter: "owner = \"me\"".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad filter");
    assert_eq!(err.code(), Code::InvalidArgument);

    // The tree walk: depth first, siblings by title, with depths.
    let tree = author
        .list_folders(pb::ListFoldersRequest {
            recursive: true,
            ..Default::default()
        })
        .await
        .expect("tree");
    let walk: Vec<(String, i32)> = tree
        .folders
        .iter()
        .map(|f| (f.name.clone(), f.depth))
        .collect();
    assert_eq!(
        walk,
        vec![
            (a.name.clone(), 1),
            (a1.name.clone(), 2),
            (a11.name.clone(), 3),
            (a2.name.clone(), 2),
            (b.name.clone(), 1),
        ]
    );
    // Paged the same.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = author
            .list_folders(pb::ListFoldersRequest {
                recursive: true,
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("tree page");
        paged.extend(page.folders.into_iter().map(|f| (f.name, f.depth)));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, walk);

    // The member: nothing, then the subtree of the folder shared with it.
    let none = member
        .list_folders(pb::ListFoldersRequest {
            recursive: true,
            ..Default::default()
        })
        .await
        .expect("member tree");
    assert!(none.folders.is_empty());
    share_folder(&org, &a1.name, "user", "member", "roles/viewer").await;
    let tree = member
        .list_folders(pb::ListFoldersRequest {
            recursive: true,
            ..Default::default()
        })
        .await
        .expect("member tree");
    let walk: Vec<&str> = tree.folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(walk, vec![a1.name.as_str(), a11.name.as_str()]);
    // Listing under a folder it cannot read: NOT_FOUND.
    let err = member
        .list_folders(pb::ListFoldersRequest {
            parent: a.name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("hidden parent");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn placing_dashboards_needs_write_on_a_live_folder() {
    let org = unique_org();
    let mut owner = server().user(&org, "owner", PlatformRole::Author).await;
    let mut reader = server().user(&org, "reader", PlatformRole::Author).await;
    let mut writer = server().user(&org, "writer", PlatformRole::Author).await;
    let f = owner.folder("Shared", "").await;
    share_folder(&org, &f.name, "user", "reader", "roles/viewer").await;
    share_folder(&org, &f.name, "user", "writer", "roles/editor").await;
    let err = reader
        .try_create_in("no", &f.name)
        .await
        .expect_err("read only");
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    let d = writer.create_in("yes", &f.name).await;
    assert_eq!(d.folder, f.name);
    // Its own dashboard, the writer may move into the folder (WRITE) but the reader may not.
    let mine = reader.create("mine").await;
    let err = reader
        .move_dashboard(&mine.name, &f.name, false)
        .await
        .expect_err("read only");
    assert_error(&err, Code::PermissionDenied, "MISSING_PERMISSION");
    // Duplicated into the folder: WRITE too.
    let copy = writer
        .dashboards
        .duplicate_dashboard(writer.req(pb::DuplicateDashboardRequest {
            name: d.name.clone(),
            folder: f.name.clone(),
            ..Default::default()
        }))
        .await
        .expect("duplicate into folder")
        .into_inner();
    assert_eq!(copy.folder, f.name);
    // A folder in the trash takes nothing.
    owner.delete_folder(&f.name).await.expect("trash");
    let err = owner
        .try_create_in("late", &f.name)
        .await
        .expect_err("trashed");
    assert_error(&err, Code::FailedPrecondition, "FOLDER_DELETED");
    let sub = owner
        .try_folder("Sub", &f.name, None)
        .await
        .expect_err("trashed");
    assert_error(&sub, Code::FailedPrecondition, "FOLDER_DELETED");
}

#[tokio::test]
async fn delete_and_undelete_restore_the_subtree_and_its_access() {
    let org = unique_org();
    let mut owner = server().user(&org, "owner", PlatformRole::Author).await;
    let mut direct = server().user(&org, "direct", PlatformRole::Author).await;
    let inherited = server().user(&org, "inherited", PlatformRole::Author).await;
    let f = owner.folder("F", "").await;
    let g = owner.folder("G", &f.name).await;
    let d1 = owner.create_in("d1", &f.name).await;
    let d2 = owner.create_in("d2", &g.name).await;
    let d3 = owner.create_in("d3", &g.name).await;
    owner.share_with(&d1.name, &direct, "roles/editor").await;
    share_folder(&org, &f.name, "user", "inherited", "roles/viewer").await;
    // d3 goes to the trash on its own first: it stays there.
    owner
        .dashboards
        .delete_dashboard(owner.req(pb::DeleteDashboardRequest {
            name: d3.name.clone(),
            etag: String::new(),
        }))
        .await
        .expect("trash d3");
    let before_direct = owner.access_of(&d1.name, &direct.name()).await;
    let before_inherited = owner.access_of(&d2.name, &inherited.name()).await;
    assert!(before_inherited.contains(&pb::Permission::Read));

    let deleted = owner.delete_folder(&f.name).await.expect("delete");
    assert!(deleted.delete_time.is_some());
    assert!(
        owner
            .get_folder(&g.name)
            .await
            .expect("g")
            .delete_time
            .is_some()
    );
    for d in [&d1, &d2] {
        assert!(
            owner
                .get(&d.name)
                .await
                .expect("trashed")
                .delete_time
                .is_some()
        );
    }
    // Gone from the listings.
    let roots = owner
        .list_folders(pb::ListFoldersRequest::default())
        .await
        .expect("list");
    assert!(roots.folders.is_empty());
    let err = owner.delete_folder(&f.name).await.expect_err("twice");
    assert_error(&err, Code::FailedPrecondition, "ALREADY_DELETED");
    // d2 went with G: it comes back with it, not alone.
    let err = owner
        .dashboards
        .undelete_dashboard(owner.req(pb::UndeleteDashboardRequest {
            name: d2.name.clone(),
        }))
        .await
        .expect_err("folder trashed");
    assert_error(&err, Code::FailedPrecondition, "FOLDER_DELETED");
    // G went with F: it comes back with F, not alone.
    let err = owner
        .undelete_folder(&g.name)
        .await
        .expect_err("parent trashed");
    assert_error(&err, Code::FailedPrecondition, "PARENT_DELETED");
    // A live sibling took F's title: ALREADY_EXISTS until it moves away.
    let usurper = owner.folder("F", "").await;
    let err = owner
        .undelete_folder(&f.name)
        .await
        .expect_err("title taken");
    assert_error(&err, Code::AlreadyExists, "FOLDER_TITLE_TAKEN");
    let mut renamed = usurper.clone();
    renamed.title = "F2".into();
    owner
        .update_folder(renamed, &["title"])
        .await
        .expect("rename");

    let restored = owner.undelete_folder(&f.name).await.expect("undelete");
    assert!(restored.delete_time.is_none());
    assert!(
        owner
            .get_folder(&g.name)
            .await
            .expect("g")
            .delete_time
            .is_none()
    );
    for d in [&d1, &d2] {
        assert!(
            owner
                .get(&d.name)
                .await
                .expect("live")
                .delete_time
                .is_none()
        );
    }
    assert!(
        owner.get(&d3.name).await.expect("d3").delete_time.is_some(),
        "trashed on its own, it stays in the trash"
    );
    // Access as it was, for a member shared on the dashboard and one shared on the folder.
    assert_eq!(
        owner.access_of(&d1.name, &direct.name()).await,
        before_direct
    );
    assert_eq!(
        owner.access_of(&d2.name, &inherited.name()).await,
        before_inherited
    );
    direct.get(&d1.name).await.expect("direct reads d1");
}

#[tokio::test]
async fn a_cut_makes_a_private_subfolder_and_lifting_it_restores_access() {
    let org = unique_org();
    let mut owner = server().user(&org, "owner", PlatformRole::Author).await;
    let mut member = server().user(&org, "member", PlatformRole::Author).await;
    let shared = owner.folder("Everyone", "").await;
    share_folder(&org, &shared.name, "org_members", "", "roles/viewer").await;
    let private = owner
        .try_folder("Private", &shared.name, Some(false))
        .await
        .expect("private");
    assert_eq!(private.inherit_access, Some(false));
    let open = owner.create_in("open", &shared.name).await;
    let hidden = owner.create_in("hidden", &private.name).await;
    member.get(&open.name).await.expect("inherits");
    let err = member.get(&hidden.name).await.expect_err("cut");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = member.get_folder(&private.name).await.expect_err("cut");
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // Lifting the cut (SHARE on the folder: the owner has it) brings access back.
    let mut lift = private.clone();
    lift.inherit_access = Some(true);
    owner
        .update_folder(lift, &["inherit_access"])
        .await
        .expect("lift");
    member.get(&hidden.name).await.expect("inherits again");
    member.get_folder(&private.name).await.expect("visible");
    // A dashboard may cut too; that is access, not content: no new version.
    let versions = |caller: &mut common::Caller, name: String| {
        let request = caller.req(pb::ListDashboardVersionsRequest {
            parent: name,
            ..Default::default()
        });
        let mut client = caller.versions.clone();
        async move {
            client
                .list_dashboard_versions(request)
                .await
                .expect("versions")
                .into_inner()
                .versions
                .len()
        }
    };
    let before = versions(&mut owner, hidden.name.clone()).await;
    let cut = owner
        .dashboards
        .update_dashboard(owner.req(pb::UpdateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                name: hidden.name.clone(),
                inherit_access: Some(false),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["inherit_access".into()],
            }),
            ..Default::default()
        }))
        .await
        .expect("cut the dashboard")
        .into_inner();
    assert_eq!(cut.inherit_access, Some(false));
    assert_eq!(versions(&mut owner, hidden.name.clone()).await, before);
    let err = member.get(&hidden.name).await.expect_err("cut");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn tenant_walls_hold_for_folders() {
    let org = unique_org();
    let mut t1 = server()
        .tenant_user(&org, "t1user", "t1", PlatformRole::PowerUser)
        .await;
    let mut t2 = server()
        .tenant_user(&org, "t2user", "t2", PlatformRole::PowerUser)
        .await;
    let mut viewer = server()
        .tenant_user(&org, "t1viewer", "t1", PlatformRole::Viewer)
        .await;
    let mine = t1.folder("Tenant one", "").await;
    t1.create_in("tenant dashboard", &mine.name).await;
    let err = t2.get_folder(&mine.name).await.expect_err("other tenant");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let listed = t2
        .list_folders(pb::ListFoldersRequest {
            recursive: true,
            ..Default::default()
        })
        .await
        .expect("list");
    assert!(listed.folders.is_empty());
    // Same title in another tenant's view: titles are unique per parent in the org, so the
    // second tenant picks another.
    t2.folder("Tenant two", "").await;
    // A tenant VIEWER may not create, even at the root.
    let err = viewer
        .try_folder("nope", "", None)
        .await
        .expect_err("viewer");
    assert_error(&err, Code::PermissionDenied, "ROLE_CANNOT_CREATE");
    // A share to the tenant lets its users read it, not the other tenant's.
    share_folder(&org, &mine.name, "tenant", "t1", "roles/viewer").await;
    viewer.get_folder(&mine.name).await.expect("tenant share");
    let err = t2.get_folder(&mine.name).await.expect_err("still walled");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    // Another org: NOT_FOUND, even for its ADMIN.
    let mut stranger = server()
        .user(&unique_org(), "root", PlatformRole::Admin)
        .await;
    let err = stranger.get_folder(&mine.name).await.expect_err("org wall");
    assert_error(&err, Code::NotFound, "NOT_FOUND");
}

/// The folder permission matrix: for each platform role of the actor and each role it was
/// given on a folder, what it may do there (view = READ; create inside = WRITE; change
/// `inherit_access` = SHARE; trash and move away = DELETE).
#[tokio::test]
async fn folder_permission_matrix() {
    const YES: Result<(), Code> = Ok(());
    const DENIED: Result<(), Code> = Err(Code::PermissionDenied);
    const HIDDEN: Result<(), Code> = Err(Code::NotFound);
    fn outcome<T>(result: Result<T, tonic::Status>) -> Result<(), Code> {
        result.map(|_| ()).map_err(|s| s.code())
    }
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    // (sub, tenant, role, may create at the root)
    let actors = [
        ("tv", Some("t1"), PlatformRole::Viewer, false),
        ("tp", Some("t1"), PlatformRole::PowerUser, true),
        ("oa", None, PlatformRole::Author, true),
        ("od", None, PlatformRole::Admin, true),
    ];
    let admin = (YES, YES, YES, YES);
    let viewer_ceiling = (YES, DENIED, DENIED, DENIED);
    type Row = [(
        Result<(), Code>,
        Result<(), Code>,
        Result<(), Code>,
        Result<(), Code>,
    ); 4];
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
            "roles/viewer",
            [viewer_ceiling, viewer_ceiling, viewer_ceiling, admin],
        ),
        (
            "roles/editor",
            [
                viewer_ceiling,
                (YES, YES, DENIED, DENIED),
                (YES, YES, DENIED, DENIED),
                admin,
            ],
        ),
        (
            "roles/contributor",
            [
                viewer_ceiling,
                (YES, YES, YES, DENIED),
                (YES, YES, YES, DENIED),
                admin,
            ],
        ),
        ("roles/owner", [viewer_ceiling, admin, admin, admin]),
    ];
    for (a, (sub, tenant, role, may_create)) in actors.iter().enumerate() {
        let mut caller = server().caller(&org, sub, *tenant, *role).await;
        for (given, row) in &table {
            let (view, write, share, delete) = row[a];
            let f = olga.folder(&format!("{sub} {given}"), "").await;
            if !given.is_empty() {
                share_folder(&org, &f.name, "user", sub, given).await;
            }
            let ctx = format!("{sub} with {given:?}");
            assert_eq!(
                outcome(caller.get_folder(&f.name).await),
                view,
                "{ctx}: view"
            );
            let sub_folder = caller.try_folder("inside", &f.name, None).await;
            assert_eq!(outcome(sub_folder), write, "{ctx}: create folder inside");
            let mut cut = f.clone();
            cut.inherit_access = Some(false);
            let cut = caller.update_folder(cut, &["inherit_access"]).await;
            assert_eq!(outcome(cut), share, "{ctx}: inherit_access");
            let moved = caller.move_folder(&f.name, "", true).await;
            let may_move = match delete {
                YES if !may_create => DENIED,
                other => other,
            };
            assert_eq!(outcome(moved), may_move, "{ctx}: move");
            let deleted = caller.delete_folder(&f.name).await;
            assert_eq!(outcome(deleted), delete, "{ctx}: delete");
        }
    }
}
