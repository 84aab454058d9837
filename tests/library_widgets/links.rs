//! Dashboard widgets linking library widgets: content shown on every linked dashboard,
//! readers without a share on the library widget, unlinking, delete with `force`,
//! connections, the content limit across a fan-out, versions.

use crate::common::{self, assert_error, unique_org, violated_fields};
use crate::helpers::*;
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

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

/// Links made while the library widget is being edited never miss an edit: whatever the
/// interleaving, once the writers are done every linked widget shows the library widget's
/// current content, and no write failed (the library widget is locked before any dashboard,
/// by every write that takes both).
#[tokio::test]
async fn concurrent_links_and_edits_end_consistent() {
    let (org, _, mut author) = org().await;
    let library = author.create_library("t-start").await.expect("create");
    let mut boards = Vec::new();
    for i in 0..3 {
        boards.push(author.caller.create(&format!("Board {i}")).await.name);
    }
    let mut tasks = Vec::new();
    for board in boards.clone() {
        let mut linker = User::new(&org, "author", PlatformRole::Author).await;
        let library = library.name.clone();
        tasks.push(tokio::spawn(async move {
            for x in [0, 6, 12] {
                linker.link(&board, &library, x).await.expect("link");
            }
        }));
    }
    let mut editor = User::new(&org, "author", PlatformRole::Author).await;
    let name = library.name.clone();
    tasks.push(tokio::spawn(async move {
        for i in 0..6 {
            editor
                .retitle_library(&name, &format!("t{i}"))
                .await
                .expect("edit");
        }
    }));
    for task in tasks {
        task.await.expect("task");
    }
    let current = author.get_library(&library.name).await.expect("get");
    assert_eq!(current.title, "t5");
    let page = author
        .connections(&library.name, 100, "")
        .await
        .expect("connections");
    assert_eq!(page.connections.len(), 9);
    for board in &boards {
        for widget in author.list_widgets(board).await {
            assert_eq!(widget.library_widget, library.name);
            assert_eq!(widget.title, current.title, "{}", widget.name);
        }
    }
}
