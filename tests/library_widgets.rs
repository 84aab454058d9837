//! Library widgets (DESIGN §6, issue 16 item 4): LibraryWidgetService CRUD, sharing through
//! SharingService with the dashboard rules, dashboard widgets linking one (content shown on
//! every linked dashboard, readers of the dashboard see it without a share on the library
//! widget), unlinking, delete with and without `force`, connections, limits and events.

mod common;

use common::{Caller, assert_error, server, unique_org, violated_fields, with_token};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::library_widget_service_client::LibraryWidgetServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// A caller with a LibraryWidgetService client beside its other clients.
struct User {
    caller: Caller,
    library: LibraryWidgetServiceClient<Channel>,
}

impl User {
    async fn new(org: &str, sub: &str, role: PlatformRole) -> User {
        User::of(server(), org, sub, role).await
    }

    async fn of(server: &common::TestServer, org: &str, sub: &str, role: PlatformRole) -> User {
        let caller = server.user(org, sub, role).await;
        let library = LibraryWidgetServiceClient::new(server.channel().await);
        User { caller, library }
    }

    fn req<T>(&self, message: T) -> tonic::Request<T> {
        with_token(message, &self.caller.token)
    }

    async fn create_library(&mut self, title: &str) -> Result<pb::LibraryWidget, Status> {
        let request = self.req(pb::CreateLibraryWidgetRequest {
            library_widget: Some(content(title)),
        });
        self.library
            .create_library_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn get_library(&mut self, name: &str) -> Result<pb::LibraryWidget, Status> {
        let request = self.req(pb::GetLibraryWidgetRequest { name: name.into() });
        self.library
            .get_library_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn retitle_library(
        &mut self,
        name: &str,
        title: &str,
    ) -> Result<tonic::Response<pb::LibraryWidget>, Status> {
        let request = self.req(pb::UpdateLibraryWidgetRequest {
            library_widget: Some(pb::LibraryWidget {
                name: name.into(),
                title: title.into(),
                ..Default::default()
            }),
            update_mask: Some(mask(&["title"])),
        });
        self.library.update_library_widget(request).await
    }

    async fn delete_library(&mut self, name: &str, force: bool) -> Result<(), Status> {
        let request = self.req(pb::DeleteLibraryWidgetRequest {
            name: name.into(),
            etag: String::new(),
            force,
        });
        self.library
            .delete_library_widget(request)
            .await
            .map(|_| ())
    }

    async fn connections(
        &mut self,
        name: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListLibraryWidgetConnectionsResponse, Status> {
        let request = self.req(pb::ListLibraryWidgetConnectionsRequest {
            name: name.into(),
            page_size,
            page_token: page_token.into(),
        });
        self.library
            .list_library_widget_connections(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn list_library(
        &mut self,
        page_size: i32,
        page_token: &str,
    ) -> pb::ListLibraryWidgetsResponse {
        let request = self.req(pb::ListLibraryWidgetsRequest {
            page_size,
            page_token: page_token.into(),
        });
        self.library
            .list_library_widgets(request)
            .await
            .expect("ListLibraryWidgets")
            .into_inner()
    }

    /// Shares `name` (a dashboard or a library widget) with `with`.
    async fn share(&mut self, name: &str, with: &User, role: &str) -> Result<pb::Share, Status> {
        let request = self.req(pb::ShareDashboardRequest {
            name: name.into(),
            grantee: Some(pb::Grantee {
                kind: Some(pb::grantee::Kind::User(with.caller.name())),
            }),
            role: role.into(),
            expire_time: None,
        });
        self.caller
            .sharing
            .share_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn list_shares(&mut self, parent: &str) -> Result<pb::ListSharesResponse, Status> {
        let request = self.req(pb::ListSharesRequest {
            parent: parent.into(),
        });
        self.caller
            .sharing
            .list_shares(request)
            .await
            .map(|r| r.into_inner())
    }

    /// A widget on `dashboard` linking `library` (at `x`, row 0).
    async fn link(&mut self, dashboard: &str, library: &str, x: i32) -> Result<pb::Widget, Status> {
        let request = self.req(pb::CreateWidgetRequest {
            parent: dashboard.into(),
            widget: Some(pb::Widget {
                library_widget: library.into(),
                layout: Some(pb::WidgetLayout {
                    x: Some(x),
                    y: Some(0),
                    w: Some(6),
                    h: Some(4),
                }),
                ..Default::default()
            }),
            source_widget: String::new(),
            version_message: String::new(),
        });
        self.caller
            .widgets
            .create_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn get_widget(&mut self, name: &str) -> Result<pb::Widget, Status> {
        let request = self.req(pb::GetWidgetRequest { name: name.into() });
        self.caller
            .widgets
            .get_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn update_widget(
        &mut self,
        widget: pb::Widget,
        paths: &[&str],
    ) -> Result<pb::Widget, Status> {
        let request = self.req(pb::UpdateWidgetRequest {
            widget: Some(widget),
            update_mask: Some(mask(paths)),
            version_message: String::new(),
        });
        self.caller
            .widgets
            .update_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn full(&mut self, dashboard: &str) -> Result<pb::Dashboard, Status> {
        let request = self.req(pb::GetDashboardRequest {
            name: dashboard.into(),
            view: pb::DashboardView::Full as i32,
        });
        self.caller
            .dashboards
            .get_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn list_widgets(&mut self, dashboard: &str) -> Vec<pb::Widget> {
        let request = self.req(pb::ListWidgetsRequest {
            parent: dashboard.into(),
            ..Default::default()
        });
        self.caller
            .widgets
            .list_widgets(request)
            .await
            .expect("ListWidgets")
            .into_inner()
            .widgets
    }

    /// The events of the org whose resource is `resource`, oldest first (an ADMIN sees all).
    async fn events_of(&mut self, filter: &str) -> Vec<pb::Event> {
        let request = self.req(pb::ListEventsRequest {
            page_size: 1000,
            filter: filter.into(),
            ..Default::default()
        });
        let mut events = self
            .caller
            .audit
            .list_events(request)
            .await
            .expect("ListEvents")
            .into_inner()
            .events;
        events.reverse();
        events
    }
}

fn mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    }
}

fn content(title: &str) -> pb::LibraryWidget {
    pb::LibraryWidget {
        r#type: pb::WidgetType::Stat as i32,
        title: title.into(),
        subtitle: "shared".into(),
        description: "kept once".into(),
        data_sources: vec![pb::DataSource {
            device_id: "dev-1".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The org, an ADMIN and an AUTHOR of it.
async fn org() -> (String, User, User) {
    let org = unique_org();
    let admin = User::new(&org, "admin", PlatformRole::Admin).await;
    let author = User::new(&org, "author", PlatformRole::Author).await;
    (org, admin, author)
}

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
async fn edits_show_on_every_linked_dashboard_and_readers_need_no_library_share() {
    let (org, mut admin, mut author) = org().await;
    let mut reader = User::new(&org, "reader", PlatformRole::Viewer).await;
    let library = author.create_library("Temperature").await.expect("create");
    let first = author.caller.create("First").await;
    let second = author.caller.create("Second").await;
    let w1 = author
        .link(&first.name, &library.name, 0)
        .await
        .expect("link 1");
    let w2 = author
        .link(&second.name, &library.name, 6)
        .await
        .expect("link 2");
    for w in [&w1, &w2] {
        assert_eq!(w.library_widget, library.name);
        assert_eq!(w.title, "Temperature");
        assert_eq!(w.r#type, pb::WidgetType::Stat as i32);
        assert_eq!(w.data_sources.len(), 1);
    }
    author
        .share(&first.name, &reader, "roles/viewer")
        .await
        .expect("share the dashboard");

    let response = author
        .retitle_library(&library.name, "Temperature (°C)")
        .await
        .expect("update");
    let revision: i64 = response
        .metadata()
        .get(common::REVISION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("revision");
    // The next read of every linked widget shows it, whichever way it is read.
    for (dashboard, widget) in [(&first.name, &w1), (&second.name, &w2)] {
        let got = author.get_widget(&widget.name).await.expect("GetWidget");
        assert_eq!(got.title, "Temperature (°C)");
        assert_ne!(got.etag, widget.etag, "the widget changed");
        let listed = author.list_widgets(dashboard).await;
        assert_eq!(listed[0].title, "Temperature (°C)");
        let full = author.full(dashboard).await.expect("FULL");
        assert_eq!(full.widgets[0].title, "Temperature (°C)");
    }
    // A reader of the dashboard sees the content, not the library widget itself.
    let full = reader.full(&first.name).await.expect("reader FULL");
    assert_eq!(full.widgets[0].title, "Temperature (°C)");
    assert_eq!(full.widgets[0].library_widget, library.name);
    let got = reader.get_widget(&w1.name).await.expect("reader GetWidget");
    assert_eq!(got.subtitle, "shared");
    let err = reader.get_library(&library.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");
    let err = reader.get_widget(&w2.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    // One write: the library widget's event and a WIDGET_UPDATED on each linked dashboard.
    let events = admin
        .events_of("type = WIDGET_UPDATED OR type = LIBRARY_WIDGET_UPDATED")
        .await;
    let at: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.revision == revision)
        .map(|e| (e.r#type.as_str(), e.resource.as_str()))
        .collect();
    assert_eq!(at.len(), 3, "{at:?}");
    assert!(at.contains(&("LIBRARY_WIDGET_UPDATED", library.name.as_str())));
    assert!(at.contains(&("WIDGET_UPDATED", w1.name.as_str())));
    assert!(at.contains(&("WIDGET_UPDATED", w2.name.as_str())));
}

#[tokio::test]
async fn linked_content_is_the_library_widgets_until_unlinked() {
    let (_, _, mut author) = org().await;
    let library = author.create_library("Load").await.expect("create");
    let board = author.caller.create("Board").await;
    let widget = author
        .link(&board.name, &library.name, 0)
        .await
        .expect("link");

    // Content of a linked widget cannot be changed through it.
    let err = author
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                title: "mine".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "WIDGET_LINKED");
    // Its layout can, and a read-modify-write of the whole widget keeps the link.
    let mut moved = widget.clone();
    moved.layout = Some(pb::WidgetLayout {
        x: Some(12),
        ..Default::default()
    });
    let moved = author.update_widget(moved, &[]).await.expect("move");
    assert_eq!(moved.layout.and_then(|l| l.x), Some(12));
    assert_eq!(moved.library_widget, library.name);

    // Giving content beside a new link is refused too.
    let request = author.req(pb::CreateWidgetRequest {
        parent: board.name.clone(),
        widget: Some(pb::Widget {
            library_widget: library.name.clone(),
            title: "other".into(),
            ..Default::default()
        }),
        source_widget: String::new(),
        version_message: String::new(),
    });
    let err = author
        .caller
        .widgets
        .create_widget(request)
        .await
        .unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "WIDGET_LINKED");

    // Unlinking keeps the content as the widget's own.
    let unlinked = author
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                ..Default::default()
            },
            &["library_widget"],
        )
        .await
        .expect("unlink");
    assert_eq!(unlinked.library_widget, "");
    assert_eq!(unlinked.title, "Load");
    author
        .retitle_library(&library.name, "Load average")
        .await
        .expect("update");
    let kept = author.get_widget(&widget.name).await.expect("get");
    assert_eq!(kept.title, "Load", "an unlinked widget no longer follows");
    let retitled = author
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                title: "mine".into(),
                ..Default::default()
            },
            &["title"],
        )
        .await
        .expect("own content");
    assert_eq!(retitled.title, "mine");

    // Linking an existing widget takes the library widget's current content.
    let relinked = author
        .update_widget(
            pb::Widget {
                name: widget.name.clone(),
                library_widget: library.name.clone(),
                ..Default::default()
            },
            &["library_widget"],
        )
        .await
        .expect("relink");
    assert_eq!(relinked.title, "Load average");
    assert_eq!(relinked.library_widget, library.name);
}

#[tokio::test]
async fn deleting_a_library_widget_in_use_needs_force_and_leaves_copies() {
    let (_, mut admin, mut author) = org().await;
    let library = author.create_library("Disk").await.expect("create");
    let board = author.caller.create("Board").await;
    let widget = author
        .link(&board.name, &library.name, 0)
        .await
        .expect("link");

    let err = author
        .delete_library(&library.name, false)
        .await
        .unwrap_err();
    assert_error(&err, Code::FailedPrecondition, "LIBRARY_WIDGET_IN_USE");
    author
        .get_library(&library.name)
        .await
        .expect("still there");

    author
        .delete_library(&library.name, true)
        .await
        .expect("force");
    let kept = author.get_widget(&widget.name).await.expect("widget kept");
    assert_eq!(kept.title, "Disk");
    assert_eq!(kept.library_widget, "");
    assert_eq!(kept.data_sources.len(), 1);
    let err = author.get_library(&library.name).await.unwrap_err();
    assert_error(&err, Code::NotFound, "NOT_FOUND");

    let events = admin
        .events_of(&format!("dashboard = \"{}\"", board.name))
        .await;
    let last = events.last().expect("events");
    assert_eq!(last.r#type, "WIDGET_UPDATED");
    assert_eq!(last.resource, widget.name);
    assert_eq!(last.changed_fields, ["library_widget"]);
    let deleted = admin
        .events_of(&format!("resource = \"{}\"", library.name))
        .await;
    let deleted = deleted.last().expect("delete event");
    assert_eq!(deleted.r#type, "LIBRARY_WIDGET_DELETED");
    assert_eq!(deleted.revision, last.revision, "one write");
}

#[tokio::test]
async fn connections_list_the_readable_dashboards_and_count_the_rest() {
    let (org, _, mut author) = org().await;
    let mut other = User::new(&org, "other", PlatformRole::Author).await;
    let library = author.create_library("Net").await.expect("create");
    author
        .share(&library.name, &other, "roles/viewer")
        .await
        .expect("share the library widget");
    let first = author.caller.create("First").await;
    let second = author.caller.create("Second").await;
    let w1 = author
        .link(&first.name, &library.name, 0)
        .await
        .expect("link");
    let w2 = author
        .link(&second.name, &library.name, 0)
        .await
        .expect("link");
    let w3 = author
        .link(&second.name, &library.name, 6)
        .await
        .expect("link");
    author
        .share(&first.name, &other, "roles/viewer")
        .await
        .expect("share first");

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = author
            .connections(&library.name, 2, &token)
            .await
            .expect("page");
        assert!(page.connections.len() <= 2);
        assert_eq!(page.hidden_count, 0);
        seen.extend(
            page.connections
                .into_iter()
                .map(|c| (c.dashboard, c.widget)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut expected = vec![
        (first.name.clone(), w1.name.clone()),
        (second.name.clone(), w2.name.clone()),
        (second.name.clone(), w3.name.clone()),
    ];
    expected.sort();
    assert_eq!(seen, expected);

    let page = other
        .connections(&library.name, 0, "")
        .await
        .expect("other");
    assert_eq!(page.connections.len(), 1);
    assert_eq!(page.connections[0].widget, w1.name);
    assert_eq!(page.hidden_count, 2);
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

/// A config of about `bytes` bytes encoded.
fn config_of(bytes: usize) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "blob".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue("x".repeat(bytes))),
            },
        )]
        .into(),
    }
}

/// A library widget edit that would take a linked dashboard past its content limit is
/// refused as a whole (DASHBOARD_TOO_LARGE naming the field), and changes nothing.
#[tokio::test]
async fn an_edit_that_overfills_a_linked_dashboard_is_refused() {
    let small = common::start(|c| c.max_message_bytes = 512 * 1024);
    let mut author = User::of(&small, &unique_org(), "author", PlatformRole::Author).await;
    let library = author.create_library("Small").await.expect("create");
    let board = author.caller.create("Nearly full").await;
    let linked = author
        .link(&board.name, &library.name, 0)
        .await
        .expect("link");
    let mut filled = 0;
    loop {
        let request = author.req(pb::CreateWidgetRequest {
            parent: board.name.clone(),
            widget: Some(pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                config: Some(config_of(60_000)),
                ..Default::default()
            }),
            source_widget: String::new(),
            version_message: String::new(),
        });
        match author.caller.widgets.create_widget(request).await {
            Ok(_) => filled += 1,
            Err(status) => {
                assert_error(&status, Code::InvalidArgument, "DASHBOARD_TOO_LARGE");
                break;
            }
        }
        assert!(filled < 20, "no content limit");
    }
    let request = author.req(pb::UpdateLibraryWidgetRequest {
        library_widget: Some(pb::LibraryWidget {
            name: library.name.clone(),
            config: Some(config_of(60_000)),
            ..Default::default()
        }),
        update_mask: Some(mask(&["config"])),
    });
    let err = author
        .library
        .update_library_widget(request)
        .await
        .unwrap_err();
    let details = assert_error(&err, Code::InvalidArgument, "DASHBOARD_TOO_LARGE");
    assert_eq!(violated_fields(&details), ["library_widget.config"]);
    let unchanged = author.get_library(&library.name).await.expect("get");
    assert_eq!(unchanged.etag, library.etag);
    let widget = author.get_widget(&linked.name).await.expect("widget");
    assert_eq!(widget.etag, linked.etag);
}

/// Every library widget edit makes a version of each linked dashboard; restoring an older
/// version gives a linked widget that version's content as its own (versions keep content,
/// not links), while a widget whose content the restore leaves alone stays linked.
#[tokio::test]
async fn restoring_a_version_unlinks_widgets_whose_content_it_changes() {
    let (_, _, mut author) = org().await;
    let library = author.create_library("v1 title").await.expect("create");
    let board = author.caller.create("Versioned").await;
    let widget = author
        .link(&board.name, &library.name, 0)
        .await
        .expect("link");
    let versions = |author: &User| {
        author.req(pb::ListDashboardVersionsRequest {
            parent: board.name.clone(),
            ..Default::default()
        })
    };
    let request = versions(&author);
    let linked_at = author
        .caller
        .versions
        .list_dashboard_versions(request)
        .await
        .expect("versions")
        .into_inner()
        .versions[0]
        .name
        .clone();
    author
        .retitle_library(&library.name, "v2 title")
        .await
        .expect("update");
    let request = versions(&author);
    let after_edit = author
        .caller
        .versions
        .list_dashboard_versions(request)
        .await
        .expect("versions")
        .into_inner()
        .versions[0]
        .name
        .clone();
    assert_ne!(after_edit, linked_at, "the library edit made a version");

    let restore = author.req(pb::RestoreDashboardVersionRequest {
        name: linked_at,
        ..Default::default()
    });
    author
        .caller
        .versions
        .restore_dashboard_version(restore)
        .await
        .expect("restore");
    let restored = author.get_widget(&widget.name).await.expect("widget");
    assert_eq!(restored.title, "v1 title");
    assert_eq!(restored.library_widget, "");
    author
        .retitle_library(&library.name, "v3 title")
        .await
        .expect("update");
    let kept = author.get_widget(&widget.name).await.expect("widget");
    assert_eq!(kept.title, "v1 title");
}
