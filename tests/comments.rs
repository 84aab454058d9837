//! Comments on widgets (CommentService, issue 16 item 5): threads, mentions, resolving,
//! deleting, the permission matrix (NOT_FOUND vs PERMISSION_DENIED), limits with their
//! ErrorInfo reasons, an event per write, the trash and the cascade from widgets and purges.
//! Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.

mod common;

use common::{Caller, TestServer, assert_error, revision_in, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::comment_service_client::CommentServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

type Comments = CommentServiceClient<Channel>;

async fn comments_on(server: &TestServer) -> Comments {
    CommentServiceClient::new(server.channel().await)
}

/// A dashboard of `owner` with one widget: (dashboard name, widget name).
async fn board(owner: &mut Caller, title: &str) -> (String, String) {
    let dashboard = owner.create(title).await.name;
    let widget = widget_on(owner, &dashboard).await;
    (dashboard, widget)
}

async fn widget_on(owner: &mut Caller, dashboard: &str) -> String {
    let request = owner.req(pb::CreateWidgetRequest {
        parent: dashboard.into(),
        widget: Some(pb::Widget {
            r#type: pb::WidgetType::Chart as i32,
            title: "w".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    owner
        .widgets
        .create_widget(request)
        .await
        .expect("create widget")
        .into_inner()
        .name
}

fn new_comment(text: &str, reply_to: &str, mentions: &[String]) -> pb::Comment {
    pb::Comment {
        text: text.into(),
        reply_to: reply_to.into(),
        mentions: mentions.to_vec(),
        ..Default::default()
    }
}

async fn create_raw(
    client: &mut Comments,
    caller: &Caller,
    parent: &str,
    comment: pb::Comment,
) -> Result<Response<pb::Comment>, Status> {
    client
        .create_comment(caller.req(pb::CreateCommentRequest {
            parent: parent.into(),
            comment: Some(comment),
        }))
        .await
}

async fn create(
    client: &mut Comments,
    caller: &Caller,
    parent: &str,
    text: &str,
) -> Result<pb::Comment, Status> {
    create_raw(client, caller, parent, new_comment(text, "", &[]))
        .await
        .map(Response::into_inner)
}

async fn get(client: &mut Comments, caller: &Caller, name: &str) -> Result<pb::Comment, Status> {
    client
        .get_comment(caller.req(pb::GetCommentRequest { name: name.into() }))
        .await
        .map(Response::into_inner)
}

async fn list_page(
    client: &mut Comments,
    caller: &Caller,
    request: pb::ListCommentsRequest,
) -> Result<pb::ListCommentsResponse, Status> {
    client
        .list_comments(caller.req(request))
        .await
        .map(Response::into_inner)
}

/// Every comment of `parent` whose thread matches `filter`, all pages of 2.
async fn list(
    client: &mut Comments,
    caller: &Caller,
    parent: &str,
    filter: &str,
) -> Result<Vec<pb::Comment>, Status> {
    let mut all = Vec::new();
    let mut request = pb::ListCommentsRequest {
        parent: parent.into(),
        page_size: 2,
        filter: filter.into(),
        ..Default::default()
    };
    loop {
        let page = list_page(client, caller, request.clone()).await?;
        assert!(page.comments.len() <= 2);
        all.extend(page.comments);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

async fn resolve_raw(
    client: &mut Comments,
    caller: &Caller,
    name: &str,
    resolved: Option<bool>,
    etag: &str,
) -> Result<Response<pb::Comment>, Status> {
    client
        .resolve_comment(caller.req(pb::ResolveCommentRequest {
            name: name.into(),
            resolved,
            etag: etag.into(),
        }))
        .await
}

async fn resolve(
    client: &mut Comments,
    caller: &Caller,
    name: &str,
    resolved: Option<bool>,
) -> Result<pb::Comment, Status> {
    resolve_raw(client, caller, name, resolved, "")
        .await
        .map(Response::into_inner)
}

async fn delete_raw(
    client: &mut Comments,
    caller: &Caller,
    name: &str,
    etag: &str,
) -> Result<Response<pb::DeleteCommentResponse>, Status> {
    client
        .delete_comment(caller.req(pb::DeleteCommentRequest {
            name: name.into(),
            etag: etag.into(),
        }))
        .await
}

async fn delete(client: &mut Comments, caller: &Caller, name: &str) -> Result<(), Status> {
    delete_raw(client, caller, name, "").await.map(|_| ())
}

/// The events the caller may see whose filter matches, oldest first.
async fn events(caller: &mut Caller, filter: &str) -> Vec<pb::Event> {
    let request = caller.req(pb::ListEventsRequest {
        page_size: 1000,
        filter: filter.into(),
        ..Default::default()
    });
    let mut all = caller
        .audit
        .list_events(request)
        .await
        .expect("ListEvents")
        .into_inner()
        .events;
    all.reverse();
    all
}

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

fn names(comments: &[pb::Comment]) -> Vec<String> {
    comments.iter().map(|c| c.name.clone()).collect()
}

#[tokio::test]
async fn threads_are_created_listed_resolved_and_deleted() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut cs = comments_on(server()).await;
    let (dashboard, widget) = board(&mut olga, "Pumps").await;
    olga.share_with(&dashboard, &bob, "roles/viewer").await;

    // A reader comments, mentioning the owner; the owner replies.
    let response = create_raw(
        &mut cs,
        &bob,
        &widget,
        new_comment(
            "why the dip at 3am?",
            "",
            &[olga.name(), olga.name(), bob.name()],
        ),
    )
    .await
    .expect("a reader comments");
    assert!(
        revision_in(&response).is_some(),
        "a write reports its revision"
    );
    let top = response.into_inner();
    assert!(
        top.name.starts_with(&format!("{widget}/comments/")),
        "{top:?}"
    );
    assert_eq!(top.author, "users/bob");
    assert_eq!(top.text, "why the dip at 3am?");
    assert_eq!(top.reply_to, "");
    assert_eq!(top.mentions, [olga.name(), bob.name()], "each mention once");
    assert!(!top.resolved);
    assert!(top.create_time.is_some() && top.update_time.is_some());
    assert!(!top.etag.is_empty());
    let reply = create_raw(
        &mut cs,
        &olga,
        &widget,
        new_comment("maintenance window", &top.name, &[]),
    )
    .await
    .expect("the owner replies")
    .into_inner();
    assert_eq!(reply.reply_to, top.name);
    let other = create(&mut cs, &olga, &widget, "second thread")
        .await
        .unwrap();
    assert_eq!(get(&mut cs, &bob, &top.name).await.unwrap(), top);
    assert_eq!(
        names(&list(&mut cs, &bob, &widget, "").await.unwrap()),
        [top.name.clone(), reply.name.clone(), other.name.clone()],
        "oldest first, a reply after what it answers"
    );

    // The owner (WRITE) resolves the reader's thread: its reply goes with it.
    let resolved = resolve(&mut cs, &olga, &top.name, None).await.unwrap();
    assert!(resolved.resolved);
    assert_eq!(resolved.resolver, "users/olga");
    assert!(resolved.resolve_time.is_some());
    assert_ne!(resolved.etag, top.etag);
    assert!(get(&mut cs, &bob, &reply.name).await.unwrap().resolved);
    assert_eq!(
        names(
            &list(&mut cs, &bob, &widget, "resolved = false")
                .await
                .unwrap()
        ),
        [other.name.as_str()]
    );
    assert_eq!(
        names(
            &list(&mut cs, &bob, &widget, "resolved = true")
                .await
                .unwrap()
        ),
        [top.name.clone(), reply.name.clone()]
    );
    // A reply to a resolved thread joins it resolved.
    let late = create_raw(
        &mut cs,
        &bob,
        &widget,
        new_comment("thanks", &top.name, &[]),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(late.resolved);
    // Resolving again changes nothing and takes no revision.
    let again = resolve_raw(&mut cs, &olga, &top.name, Some(true), "")
        .await
        .unwrap();
    assert_eq!(revision_in(&again), None);
    assert_eq!(again.into_inner(), resolved);
    // The author reopens it.
    let reopened = resolve(&mut cs, &bob, &top.name, Some(false))
        .await
        .unwrap();
    assert!(!reopened.resolved);
    assert_eq!(reopened.resolver, "");
    assert_eq!(reopened.resolve_time, None);
    assert_eq!(
        list(&mut cs, &bob, &widget, "resolved=false")
            .await
            .unwrap()
            .len(),
        4
    );

    // Its author deletes the thread: the replies go with it.
    delete(&mut cs, &bob, &top.name).await.unwrap();
    for gone in [&top.name, &reply.name, &late.name] {
        let status = get(&mut cs, &olga, gone).await.unwrap_err();
        assert_error(&status, Code::NotFound, "NOT_FOUND");
    }
    assert_eq!(
        names(&list(&mut cs, &olga, &widget, "").await.unwrap()),
        [other.name.as_str()]
    );
}

/// Outcome of an attempt: Ok, or the status code it failed with (PERMISSION_DENIED always
/// with MISSING_PERMISSION, NOT_FOUND with NOT_FOUND).
fn outcome<T>(result: &Result<T, Status>) -> Result<(), Code> {
    match result {
        Ok(_) => Ok(()),
        Err(status) => {
            let reason = match status.code() {
                Code::PermissionDenied => "MISSING_PERMISSION",
                Code::NotFound => "NOT_FOUND",
                _ => panic!("unexpected status {status:?}"),
            };
            assert_error(status, status.code(), reason);
            Err(status.code())
        }
    }
}

const YES: Result<(), Code> = Ok(());
const DENIED: Result<(), Code> = Err(Code::PermissionDenied);
const HIDDEN: Result<(), Code> = Err(Code::NotFound);

/// Every CommentService RPC for each kind of access to the dashboard: none, a VIEWER,
/// EDITOR, CONTRIBUTOR (SHARE) or OWNER share (on the dashboard, or on its folder), an org
/// ADMIN without any share, and a tenant VIEWER whose ceiling is READ whatever its share.
#[tokio::test]
async fn permission_matrix() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut cs = comments_on(server()).await;
    struct Row {
        sub: &'static str,
        tenant: Option<&'static str>,
        role: PlatformRole,
        /// The share the actor gets: on the dashboard, or (`folders`) on its folder.
        share: &'static str,
        on_folder: bool,
        /// Reading (create, get, list, and the actor's own resolve and delete), resolving
        /// olga's thread, deleting olga's comment.
        expect: [Result<(), Code>; 3],
    }
    let rows = [
        Row {
            sub: "none",
            tenant: None,
            role: PlatformRole::Author,
            share: "",
            on_folder: false,
            expect: [HIDDEN, HIDDEN, HIDDEN],
        },
        Row {
            sub: "viewer",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/viewer",
            on_folder: false,
            expect: [YES, DENIED, DENIED],
        },
        Row {
            sub: "editor",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/editor",
            on_folder: false,
            expect: [YES, YES, DENIED],
        },
        Row {
            sub: "sharer",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/contributor",
            on_folder: false,
            expect: [YES, YES, YES],
        },
        Row {
            sub: "owner",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/owner",
            on_folder: false,
            expect: [YES, YES, YES],
        },
        Row {
            sub: "admin",
            tenant: None,
            role: PlatformRole::Admin,
            share: "",
            on_folder: false,
            expect: [YES, YES, YES],
        },
        Row {
            sub: "capped",
            tenant: Some("t1"),
            role: PlatformRole::Viewer,
            share: "roles/owner",
            on_folder: false,
            expect: [YES, DENIED, DENIED],
        },
        Row {
            sub: "fviewer",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/viewer",
            on_folder: true,
            expect: [YES, DENIED, DENIED],
        },
        Row {
            sub: "feditor",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/editor",
            on_folder: true,
            expect: [YES, YES, DENIED],
        },
        Row {
            sub: "fowner",
            tenant: None,
            role: PlatformRole::Author,
            share: "roles/owner",
            on_folder: true,
            expect: [YES, YES, YES],
        },
    ];
    for row in &rows {
        let ctx = format!(
            "{} with {:?} (folder: {})",
            row.sub, row.share, row.on_folder
        );
        let actor = server().caller(&org, row.sub, row.tenant, row.role).await;
        let (dashboard, widget) = if row.on_folder {
            let folder = olga.folder(row.sub, "").await.name;
            let dashboard = olga.create_in("inside", &folder).await.name;
            olga.share_with(&folder, &actor, row.share).await;
            let widget = widget_on(&mut olga, &dashboard).await;
            (dashboard, widget)
        } else {
            let (dashboard, widget) = board(&mut olga, row.sub).await;
            if !row.share.is_empty() {
                olga.share_with(&dashboard, &actor, row.share).await;
            }
            (dashboard, widget)
        };
        let _ = dashboard;
        let [read, resolve_other, delete_other] = row.expect;
        let theirs = create(&mut cs, &olga, &widget, "olga's").await.unwrap();

        let mine = create(&mut cs, &actor, &widget, "mine").await;
        assert_eq!(outcome(&mine), read, "{ctx}: create");
        assert_eq!(
            outcome(&get(&mut cs, &actor, &theirs.name).await),
            read,
            "{ctx}: get"
        );
        assert_eq!(
            outcome(&list(&mut cs, &actor, &widget, "resolved = false").await),
            read,
            "{ctx}: list"
        );
        assert_eq!(
            outcome(&resolve(&mut cs, &actor, &theirs.name, None).await),
            resolve_other,
            "{ctx}: resolve olga's thread"
        );
        assert_eq!(
            outcome(&delete(&mut cs, &actor, &theirs.name).await),
            delete_other,
            "{ctx}: delete olga's comment"
        );
        if let Ok(mine) = mine {
            assert_eq!(
                outcome(&resolve(&mut cs, &actor, &mine.name, None).await),
                YES,
                "{ctx}: resolve its own thread"
            );
            assert_eq!(
                outcome(&delete(&mut cs, &actor, &mine.name).await),
                YES,
                "{ctx}: delete its own comment"
            );
        }
    }
}

#[tokio::test]
async fn limits_and_refusals_carry_their_reasons() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let reader = server().user(&org, "reader", PlatformRole::Viewer).await;
    let outsider = server().user(&org, "outsider", PlatformRole::Author).await;
    let tenant_a = server()
        .tenant_user(&org, "ta", "a", PlatformRole::Viewer)
        .await;
    let tenant_b = server()
        .tenant_user(&org, "tb", "b", PlatformRole::Viewer)
        .await;
    let stranger = server()
        .user(&unique_org(), "stranger", PlatformRole::Author)
        .await;
    let mut cs = comments_on(server()).await;
    let (dashboard, widget) = board(&mut olga, "Limits").await;
    let second_widget = widget_on(&mut olga, &dashboard).await;
    olga.share_with(&dashboard, &reader, "roles/viewer").await;
    olga.share_with(&dashboard, &tenant_a, "roles/viewer").await;
    olga.share_with(&dashboard, &tenant_b, "roles/viewer").await;
    let top = create(&mut cs, &olga, &widget, "top").await.unwrap();
    let reply = create_raw(&mut cs, &olga, &widget, new_comment("re", &top.name, &[]))
        .await
        .unwrap()
        .into_inner();
    let before = latest_revision(&mut admin).await;

    let attempt =
        |text: &str, reply_to: &str, mentions: Vec<String>| new_comment(text, reply_to, &mentions);
    let status = create_raw(
        &mut cs,
        &olga,
        &widget,
        attempt(&"x".repeat(10_001), "", vec![]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "COMMENT_TEXT_TOO_LONG");
    assert_eq!(violated_fields(&details), ["comment.text"]);
    assert!(status.message().len() < 300, "no echo of the text");
    create_raw(
        &mut cs,
        &olga,
        &widget,
        attempt(&"é".repeat(10_000), "", vec![]),
    )
    .await
    .expect("10,000 characters fit");
    let status = create_raw(&mut cs, &olga, &widget, attempt(" \n ", "", vec![]))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["comment.text"]);
    let many: Vec<String> = (0..21).map(|i| format!("users/u{i}")).collect();
    let status = create_raw(&mut cs, &olga, &widget, attempt("hi", "", many))
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "TOO_MANY_MENTIONS");
    assert_eq!(violated_fields(&details), ["comment.mentions"]);
    let status = create_raw(
        &mut cs,
        &olga,
        &widget,
        attempt("hi", "", vec!["bob".into()]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["comment.mentions[0]"]);
    let status = create_raw(&mut cs, &olga, &widget, pb::Comment::default())
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let status = cs
        .create_comment(olga.req(pb::CreateCommentRequest {
            parent: widget.clone(),
            comment: None,
        }))
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");

    // Threads are one level deep, within one widget.
    let status = create_raw(
        &mut cs,
        &olga,
        &widget,
        attempt("re re", &reply.name, vec![]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::FailedPrecondition, "REPLY_TO_REPLY");
    assert_eq!(
        details.precondition_failure().unwrap().violations[0].subject,
        reply.name
    );
    let status = create_raw(
        &mut cs,
        &olga,
        &second_widget,
        attempt("x", &top.name, vec![]),
    )
    .await
    .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["comment.reply_to"]);
    let missing = format!("{widget}/comments/nope");
    let status = create_raw(&mut cs, &olga, &widget, attempt("x", &missing, vec![]))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");

    // Mentions: users of the org the caller can see, who can read the dashboard.
    for (who, reason) in [
        ("users/ghost".to_string(), "MENTIONED_USER_NOT_FOUND"),
        (stranger.name(), "MENTIONED_USER_NOT_FOUND"),
        (outsider.name(), "MENTIONED_USER_CANNOT_READ"),
    ] {
        let status = create_raw(
            &mut cs,
            &olga,
            &widget,
            attempt("hey", "", vec![who.clone()]),
        )
        .await
        .unwrap_err();
        let details = assert_error(&status, Code::FailedPrecondition, reason);
        assert_eq!(
            details.precondition_failure().unwrap().violations[0].subject,
            who
        );
    }
    // Another tenant's user does not exist for a tenant user, even one who can read.
    let status = create_raw(
        &mut cs,
        &tenant_a,
        &widget,
        attempt("hey", "", vec![tenant_b.name()]),
    )
    .await
    .unwrap_err();
    assert_error(
        &status,
        Code::FailedPrecondition,
        "MENTIONED_USER_NOT_FOUND",
    );
    // Refused writes append nothing.
    assert_eq!(
        latest_revision(&mut admin).await,
        before + 1,
        "only the 10,000"
    );
    // Readers, tenant users of the org, ADMINs (who read everything) may be mentioned.
    let ok = create_raw(
        &mut cs,
        &tenant_a,
        &widget,
        attempt("hey", "", vec![reader.name(), olga.name(), admin.name()]),
    )
    .await
    .expect("mentions of readers");
    assert_eq!(ok.into_inner().mentions.len(), 3);

    // Missing parents, names that do not add up, bad filters and tokens, stale etags.
    let nowhere = format!("{dashboard}/widgets/nope");
    let status = create(&mut cs, &olga, &nowhere, "x").await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = list(&mut cs, &olga, &nowhere, "").await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let elsewhere = top.name.replace(&widget, &second_widget);
    let status = get(&mut cs, &olga, &elsewhere).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    let status = get(&mut cs, &olga, "dashboards/x/comments/y")
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["name"]);
    let status = list(&mut cs, &olga, &widget, "resolved = maybe")
        .await
        .unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["filter"]);
    let first = list_page(
        &mut cs,
        &olga,
        pb::ListCommentsRequest {
            parent: widget.clone(),
            page_size: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let status = list_page(
        &mut cs,
        &olga,
        pb::ListCommentsRequest {
            parent: widget.clone(),
            page_size: 1,
            page_token: first.next_page_token.clone(),
            filter: "resolved = true".into(),
        },
    )
    .await
    .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let status = resolve(&mut cs, &olga, &reply.name, None)
        .await
        .unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "COMMENT_IS_REPLY");
    let status = resolve_raw(&mut cs, &olga, &top.name, None, "stale")
        .await
        .unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = delete_raw(&mut cs, &olga, &top.name, "stale")
        .await
        .unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    delete_raw(&mut cs, &olga, &top.name, &top.etag)
        .await
        .expect("delete with the current etag");
}

#[tokio::test]
async fn every_write_appends_its_events() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let carol = server().user(&org, "carol", PlatformRole::Author).await;
    let mut cs = comments_on(server()).await;
    let (dashboard, widget) = board(&mut olga, "Events").await;
    olga.share_with(&dashboard, &bob, "roles/viewer").await;
    olga.share_with(&dashboard, &carol, "roles/editor").await;
    let versions = |caller: &Caller| {
        caller.req(pb::ListDashboardVersionsRequest {
            parent: dashboard.clone(),
            ..Default::default()
        })
    };
    let version_count = |r: pb::ListDashboardVersionsResponse| r.versions.len();
    let board_before = olga.get(&dashboard).await.unwrap();
    let versions_before = version_count(
        olga.versions
            .list_dashboard_versions(versions(&olga))
            .await
            .unwrap()
            .into_inner(),
    );

    let response = create_raw(
        &mut cs,
        &bob,
        &widget,
        new_comment("look", "", &[olga.name(), carol.name()]),
    )
    .await
    .unwrap();
    let created_at = revision_in(&response).expect("a revision");
    let top = response.into_inner();
    let response = create_raw(&mut cs, &olga, &widget, new_comment("ok", &top.name, &[]))
        .await
        .unwrap();
    let replied_at = revision_in(&response).unwrap();
    let reply = response.into_inner();
    let response = resolve_raw(&mut cs, &carol, &top.name, None, "")
        .await
        .unwrap();
    let resolved_at = revision_in(&response).unwrap();
    let response = resolve_raw(&mut cs, &bob, &top.name, Some(false), "")
        .await
        .unwrap();
    let reopened_at = revision_in(&response).unwrap();
    let response = delete_raw(&mut cs, &olga, &top.name, "").await.unwrap();
    let deleted_at = revision_in(&response).unwrap();
    assert_eq!(
        [replied_at, resolved_at, reopened_at, deleted_at],
        [1, 2, 3, 4].map(|i| created_at + i),
        "each write at the next revision"
    );

    let got: Vec<(i64, String, String, String, String, String)> =
        events(&mut admin, &format!("dashboard = \"{dashboard}\""))
            .await
            .into_iter()
            .filter(|e| e.r#type.starts_with("COMMENT_"))
            .map(|e| {
                assert_eq!(e.dashboard, dashboard);
                (e.revision, e.r#type, e.resource, e.actor, e.grantee, e.role)
            })
            .collect();
    let ev = |rev: i64, t: &str, resource: &str, actor: &str, grantee: &str| {
        (
            rev,
            t.to_string(),
            resource.to_string(),
            actor.to_string(),
            grantee.to_string(),
            String::new(),
        )
    };
    assert_eq!(
        got,
        [
            ev(created_at, "COMMENT_CREATED", &top.name, "users/bob", ""),
            ev(
                created_at,
                "COMMENT_MENTIONED",
                &top.name,
                "users/bob",
                "users/olga"
            ),
            ev(
                created_at,
                "COMMENT_MENTIONED",
                &top.name,
                "users/bob",
                "users/carol"
            ),
            ev(replied_at, "COMMENT_CREATED", &reply.name, "users/olga", ""),
            ev(
                resolved_at,
                "COMMENT_RESOLVED",
                &top.name,
                "users/carol",
                ""
            ),
            ev(reopened_at, "COMMENT_REOPENED", &top.name, "users/bob", ""),
            ev(deleted_at, "COMMENT_DELETED", &top.name, "users/olga", ""),
            ev(deleted_at, "COMMENT_DELETED", &reply.name, "users/olga", ""),
        ]
    );
    // A notifier finds the mentions by type; a reader of the dashboard sees them too.
    let mentions = events(&mut bob, "type = COMMENT_MENTIONED").await;
    let mentioned: Vec<String> = mentions.into_iter().map(|e| e.grantee).collect();
    assert_eq!(mentioned, [olga.name(), carol.name()]);
    let dashboard_field = events(&mut bob, &format!("resource = \"{}\"", top.name)).await;
    assert_eq!(dashboard_field.len(), 6);
    // Comments are not content: no version.
    let versions_after = version_count(
        olga.versions
            .list_dashboard_versions(versions(&olga))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(versions_after, versions_before);
    let board_after = olga.get(&dashboard).await.unwrap();
    assert_eq!(
        board_after.etag, board_before.etag,
        "the dashboard's etag stays"
    );
    assert_eq!(board_after.update_time, board_before.update_time);
}

#[tokio::test]
async fn pages_follow_creation_order() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut cs = comments_on(server()).await;
    let (_, widget) = board(&mut olga, "Paging").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            create(&mut cs, &olga, &widget, &format!("c{i}"))
                .await
                .unwrap()
                .name,
        );
    }
    assert_eq!(
        names(&list(&mut cs, &olga, &widget, "").await.unwrap()),
        created
    );
    let status = list_page(
        &mut cs,
        &olga,
        pb::ListCommentsRequest {
            parent: widget.clone(),
            page_size: -1,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn the_trash_freezes_comments_and_widget_deletes_take_them() {
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut cs = comments_on(server()).await;
    let (dashboard, widget) = board(&mut olga, "Trash").await;
    let top = create(&mut cs, &olga, &widget, "before").await.unwrap();
    let trash = |caller: &Caller| {
        caller.req(pb::DeleteDashboardRequest {
            name: dashboard.clone(),
            etag: String::new(),
        })
    };
    olga.dashboards
        .delete_dashboard(trash(&olga))
        .await
        .unwrap();
    assert_eq!(get(&mut cs, &olga, &top.name).await.unwrap(), top);
    assert_eq!(list(&mut cs, &olga, &widget, "").await.unwrap().len(), 1);
    let status = create(&mut cs, &olga, &widget, "during").await.unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    let status = resolve(&mut cs, &olga, &top.name, None).await.unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    let status = delete(&mut cs, &olga, &top.name).await.unwrap_err();
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
    olga.dashboards
        .undelete_dashboard(olga.req(pb::UndeleteDashboardRequest {
            name: dashboard.clone(),
        }))
        .await
        .unwrap();
    let reply = create_raw(
        &mut cs,
        &olga,
        &widget,
        new_comment("after", &top.name, &[]),
    )
    .await
    .unwrap()
    .into_inner();

    olga.widgets
        .delete_widget(olga.req(pb::DeleteWidgetRequest {
            name: widget.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    for gone in [&top.name, &reply.name] {
        let status = get(&mut cs, &olga, gone).await.unwrap_err();
        assert_error(&status, Code::NotFound, "NOT_FOUND");
    }
    let status = list(&mut cs, &olga, &widget, "").await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn purge_takes_the_comments_along() {
    let purging = common::start(|config| {
        config.trash_retention = std::time::Duration::from_millis(200);
        config.purge_interval = std::time::Duration::from_millis(100);
    });
    let mut alice = purging
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut cs = comments_on(&purging).await;
    let (doomed, widget) = board(&mut alice, "Doomed").await;
    let top = create(&mut cs, &alice, &widget, "bye").await.unwrap();
    create_raw(&mut cs, &alice, &widget, new_comment("re", &top.name, &[]))
        .await
        .unwrap();
    alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: doomed.clone(),
            etag: String::new(),
        }))
        .await
        .unwrap();
    let mut purged = false;
    for _ in 0..100 {
        if alice
            .get(&doomed)
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
        {
            purged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(purged, "a trashed dashboard with comments was never purged");
    let status = get(&mut cs, &alice, &top.name).await.unwrap_err();
    assert_error(&status, Code::NotFound, "NOT_FOUND");
}

#[tokio::test]
async fn comment_service_is_served_and_reflected() {
    let mut health = tonic_health::pb::health_client::HealthClient::new(server().channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "dashboards.v1.CommentService".into(),
        })
        .await
        .expect("health of CommentService")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    // Without credentials: UNAUTHENTICATED, like every other service.
    let status = comments_on(server())
        .await
        .get_comment(pb::GetCommentRequest {
            name: "dashboards/d/widgets/w/comments/c".into(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::Unauthenticated, "MISSING_CREDENTIALS");
}

/// A notifier following WatchDashboards hears of every comment write as a MODIFIED of the
/// comment's dashboard, at the write's revision; ListEvents at that revision says what it was.
#[tokio::test]
async fn a_watcher_hears_of_comment_writes() {
    use dashboard_service::pb::watch_dashboards_response::Type;
    let org = unique_org();
    let mut olga = server().user(&org, "olga", PlatformRole::Author).await;
    let mut bob = server().user(&org, "bob", PlatformRole::Viewer).await;
    let mut cs = comments_on(server()).await;
    let (dashboard, widget) = board(&mut olga, "Watched").await;
    olga.share_with(&dashboard, &bob, "roles/viewer").await;
    let listed = bob
        .list(pb::ListDashboardsRequest::default())
        .await
        .expect("list");
    let mut stream = bob.watch(listed.revision, "").await.expect("watch");
    let mut next = async || loop {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
            .await
            .expect("an event within the wait")
            .expect("the stream goes on")
            .expect("the stream is open");
        if event.r#type() != Type::Bookmark {
            let r#type = event.r#type();
            let name = event.dashboard.map(|d| d.name).unwrap_or_default();
            return (r#type, event.revision, name);
        }
    };
    let response = create_raw(
        &mut cs,
        &olga,
        &widget,
        new_comment("@bob look", "", &[bob.name()]),
    )
    .await
    .unwrap();
    let created_at = revision_in(&response).unwrap();
    let top = response.into_inner();
    assert_eq!(
        next().await,
        (Type::Modified, created_at, dashboard.clone())
    );
    let resolved_at = revision_in(
        &resolve_raw(&mut cs, &olga, &top.name, None, "")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        next().await,
        (Type::Modified, resolved_at, dashboard.clone())
    );
    let mentions: Vec<(i64, String)> = events(&mut bob, "type = COMMENT_MENTIONED")
        .await
        .into_iter()
        .map(|e| (e.revision, e.grantee))
        .collect();
    assert_eq!(mentions, [(created_at, bob.name())]);
}
