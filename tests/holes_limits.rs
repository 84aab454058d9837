//! Issue 11, the limits and codes: a dashboard's FULL view always fits one message and list
//! pages shrink to fit (item 9); errors never echo more than ~100 characters of input and
//! stay far below a C-core client's 8 KiB trailer limit (item 10); statuses produced below
//! the handlers carry the right code and an ErrorInfo (item 13); updates without an etag
//! apply, and widget writes leave the dashboard's etag alone (item 14).

mod common;

use common::{Caller, TestServer, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::widget_service_client::WidgetServiceClient;
use prost_types::value::Kind;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use tonic::transport::Channel;
use tonic::{Code, Status};

fn text(value: String) -> prost_types::Value {
    prost_types::Value {
        kind: Some(Kind::StringValue(value)),
    }
}

/// A Struct of about `bytes` bytes.
fn blob(bytes: usize) -> prost_types::Struct {
    prost_types::Struct {
        fields: [("blob".to_string(), text("x".repeat(bytes)))].into(),
    }
}

async fn widgets_of(server: &TestServer) -> WidgetServiceClient<Channel> {
    WidgetServiceClient::new(server.channel().await)
}

async fn create_widget(
    caller: &Caller,
    widgets: &mut WidgetServiceClient<Channel>,
    dashboard: &str,
    config_bytes: usize,
) -> Result<pb::Widget, Status> {
    let request = caller.req(pb::CreateWidgetRequest {
        parent: dashboard.into(),
        widget: Some(pb::Widget {
            r#type: pb::WidgetType::Chart as i32,
            title: "w".into(),
            layout: Some(pb::WidgetLayout {
                x: None,
                y: None,
                w: Some(1),
                h: Some(1),
            }),
            config: Some(blob(config_bytes)),
            ..Default::default()
        }),
        ..Default::default()
    });
    widgets.create_widget(request).await.map(|r| r.into_inner())
}

/// The bytes a status puts into HTTP/2 trailers: its message and its encoded details.
fn trailer_bytes(status: &Status) -> usize {
    status.message().len() + status.details().len()
}

fn longest_run_of(c: char, s: &str) -> usize {
    s.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

// ---- item 9: content that is accepted can always be read back ----

const SMALL_MESSAGES: usize = 512 * 1024;

#[tokio::test]
async fn widget_content_is_limited_so_the_full_view_always_fits() {
    let small = common::start(|c| c.max_message_bytes = SMALL_MESSAGES);
    let mut alice = small
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut widgets = widgets_of(&small).await;
    let board = alice.create("big").await;
    let mut created = Vec::new();
    let refused = loop {
        match create_widget(&alice, &mut widgets, &board.name, 60_000).await {
            Ok(widget) => created.push(widget),
            Err(status) => break status,
        }
        assert!(
            created.len() < 20,
            "no limit on a dashboard's widget content"
        );
    };
    let details = assert_error(&refused, Code::InvalidArgument, "DASHBOARD_TOO_LARGE");
    assert_eq!(violated_fields(&details), ["widget.config"]);
    assert!(!created.is_empty());

    // Shrinking is always allowed, and frees room for another widget...
    let set_config = |name: &str, bytes: usize| {
        alice.req(pb::UpdateWidgetRequest {
            version_message: String::new(),
            widget: Some(pb::Widget {
                name: name.to_string(),
                config: Some(blob(bytes)),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["config".into()],
            }),
        })
    };
    let first = created[0].name.clone();
    widgets
        .update_widget(set_config(&first, 10))
        .await
        .expect("shrink");
    created.push(
        create_widget(&alice, &mut widgets, &board.name, 60_000)
            .await
            .expect("room again after shrinking"),
    );
    // ...and growing a widget past what is left is refused like a new widget.
    let status = widgets
        .update_widget(set_config(&first, 64_000))
        .await
        .expect_err("too large");
    let details = assert_error(&status, Code::InvalidArgument, "DASHBOARD_TOO_LARGE");
    assert_eq!(violated_fields(&details), ["widget.config"]);

    // Everything accepted reads back: FULL view, the widget list, a shared link.
    let full = alice
        .dashboards
        .get_dashboard(alice.req(pb::GetDashboardRequest {
            name: board.name.clone(),
            view: pb::DashboardView::Full as i32,
        }))
        .await
        .expect("FULL view fits")
        .into_inner();
    assert_eq!(full.widgets.len(), created.len());
    let listed = widgets
        .list_widgets(alice.req(pb::ListWidgetsRequest {
            parent: board.name.clone(),
            page_size: 1_000,
            ..Default::default()
        }))
        .await
        .expect("widget page fits")
        .into_inner();
    assert_eq!(listed.widgets.len(), created.len());
}

#[tokio::test]
async fn list_pages_shrink_to_fit_the_message_limit() {
    let small = common::start(|c| c.max_message_bytes = SMALL_MESSAGES);
    let mut alice = small
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut names = Vec::new();
    for i in 0..10 {
        let request = alice.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: format!("heavy {i}"),
                metadata: Some(blob(60_000)),
                ..Default::default()
            }),
            request_id: String::new(),
        });
        let created = alice
            .dashboards
            .create_dashboard(request)
            .await
            .expect("create")
            .into_inner();
        names.push(created.name);
    }
    // 10 x 60 KB does not fit 512 KiB: the first page is shorter than asked, with a token.
    let first = alice
        .list(pb::ListDashboardsRequest {
            page_size: 10,
            ..Default::default()
        })
        .await
        .expect("a page that fits");
    assert!(first.dashboards.len() < 10, "{}", first.dashboards.len());
    assert!(!first.dashboards.is_empty());
    assert!(!first.next_page_token.is_empty());
    let mut seen: Vec<String> = Vec::new();
    let mut request = pb::ListDashboardsRequest {
        page_size: 10,
        ..Default::default()
    };
    loop {
        let page = alice.list(request.clone()).await.expect("page");
        seen.extend(page.dashboards.into_iter().map(|d| d.name));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    seen.sort();
    names.sort();
    assert_eq!(
        seen, names,
        "walking the pages returns every dashboard once"
    );

    // All-or-nothing BatchGet says it would not fit instead of failing to encode.
    let status = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest {
            names: names.clone(),
            view: pb::DashboardView::Basic as i32,
        }))
        .await
        .expect_err("too large for one response");
    assert_error(&status, Code::ResourceExhausted, "RESPONSE_TOO_LARGE");
}

// ---- item 10: errors quote at most ~100 characters and stay small ----

#[tokio::test]
async fn errors_do_not_echo_unbounded_input() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    for len in [3_000, 1024 * 1024] {
        let name = format!("dashboards/{}", "x".repeat(len));
        let status = alice.get(&name).await.expect_err("malformed name");
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), ["name"]);
        let description =
            &details.bad_request().expect("bad request").field_violations[0].description;
        assert!(longest_run_of('x', description) <= 100, "{description}");
        assert!(longest_run_of('x', status.message()) <= 100);
        assert!(description.contains("more characters"), "{description}");
        assert!(
            trailer_bytes(&status) < 2_048,
            "{} bytes",
            trailer_bytes(&status)
        );
    }

    // 1,000 bad names: the violations listed are capped and the message says how many.
    let names: Vec<String> = (0..1_000).map(|i| format!("nope/{i}")).collect();
    let status = alice
        .dashboards
        .batch_get_dashboards(alice.req(pb::BatchGetDashboardsRequest { names, view: 0 }))
        .await
        .expect_err("bad names");
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details).len(), 20);
    assert!(
        status.message().contains("1000 violations"),
        "{}",
        status.message()
    );
    assert!(
        trailer_bytes(&status) < 8 * 1024,
        "{} bytes",
        trailer_bytes(&status)
    );

    // A filter's unknown field is quoted, bounded (a filter may be 2,000 characters).
    let status = alice
        .list(pb::ListDashboardsRequest {
            filter: format!("{}:x", "z".repeat(1_900)),
            ..Default::default()
        })
        .await
        .expect_err("unknown field");
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), ["filter"]);
    assert!(
        longest_run_of('z', status.message()) <= 100,
        "{}",
        status.message()
    );

    // An unknown update-mask path is quoted, bounded.
    let board = alice.create("masks").await;
    let request = alice.req(pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: board.name.clone(),
            title: "t".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["y".repeat(50_000)],
        }),
    });
    let status = alice
        .dashboards
        .update_dashboard(request)
        .await
        .expect_err("unknown path");
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert!(longest_run_of('y', status.message()) <= 100);
    assert!(trailer_bytes(&status) < 2_048);
}

// ---- item 13: statuses produced below the handlers ----

/// A codec that sends raw bytes and decodes nothing: for requests no generated client
/// would send.
#[derive(Clone, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = ();
    type Error = Status;
    fn decode(&mut self, _: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<()>, Status> {
        Ok(Some(()))
    }
}

async fn raw_call(caller: &Caller, path: &'static str, body: Vec<u8>) -> Status {
    let mut grpc = tonic::client::Grpc::new(server().channel().await);
    grpc.ready().await.expect("ready");
    grpc.unary(
        caller.req(body),
        http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .expect_err("the call fails")
}

#[tokio::test]
async fn undecodable_and_unknown_requests_carry_error_info() {
    let alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    // Field 1 (name) as a length-delimited field claiming more bytes than follow.
    let status = raw_call(
        &alice,
        "/dashboards.v1.DashboardService/GetDashboard",
        vec![0x0a, 0x7f, b'x'],
    )
    .await;
    assert_error(&status, Code::InvalidArgument, "UNDECODABLE_REQUEST");

    let status = raw_call(
        &alice,
        "/dashboards.v1.DashboardService/NoSuchMethod",
        vec![],
    )
    .await;
    assert_error(&status, Code::Unimplemented, "UNIMPLEMENTED");
    assert!(
        status.message().contains("no such service or method"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn deeply_nested_metadata_is_invalid_argument() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut value = text("leaf".into());
    for _ in 0..40 {
        value = prost_types::Value {
            kind: Some(Kind::StructValue(prost_types::Struct {
                fields: [("n".to_string(), value)].into(),
            })),
        };
    }
    let Some(Kind::StructValue(metadata)) = value.kind else {
        unreachable!("built as a struct")
    };
    let request = alice.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: "deep".into(),
            metadata: Some(metadata),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    let status = alice
        .dashboards
        .create_dashboard(request)
        .await
        .expect_err("too deep");
    assert_error(&status, Code::InvalidArgument, "UNDECODABLE_REQUEST");
}

#[tokio::test]
async fn oversized_requests_are_resource_exhausted() {
    let alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut client =
        pb::dashboard_service_client::DashboardServiceClient::new(server().channel().await)
            .max_encoding_message_size(64 * 1024 * 1024);
    let request = alice.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: "huge".into(),
            description: "d".repeat(5 * 1024 * 1024),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    let status = client
        .create_dashboard(request)
        .await
        .expect_err("over MAX_MESSAGE_BYTES");
    assert_error(&status, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
}

/// A connection of the test's own to the server's database, holding a write lock on one
/// dashboard (PostgreSQL: its row; SQLite: the database's write lock) until dropped.
async fn hold_write_lock(url: &str, dashboard_id: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_string());
    options.max_connections(1).min_connections(1);
    let db = Database::connect(options).await.expect("test connection");
    if url.starts_with("sqlite:") {
        db.execute_unprepared("BEGIN IMMEDIATE")
            .await
            .expect("lock");
    } else {
        db.execute_unprepared("BEGIN").await.expect("begin");
        db.execute_unprepared(&format!(
            "SELECT id FROM dashboards WHERE id = '{dashboard_id}' FOR UPDATE"
        ))
        .await
        .expect("lock the row");
    }
    db
}

#[tokio::test]
async fn expired_deadlines_are_deadline_exceeded() {
    // The server's own deadline (REQUEST_TIMEOUT): a client's grpc-timeout is enforced by
    // tonic's client as well, which would answer first.
    let own = common::start(|c| c.request_timeout = std::time::Duration::from_millis(300));
    let mut alice = own.user(&unique_org(), "alice", PlatformRole::Author).await;
    let board = alice.create("locked").await;
    let id = board.name.trim_start_matches("dashboards/").to_string();
    let lock = hold_write_lock(&own.config.database_url, &id).await;
    let request = alice.req(pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: board.name.clone(),
            title: "waits".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
    });
    let status = alice
        .dashboards
        .update_dashboard(request)
        .await
        .expect_err("the write waits past the deadline");
    lock.execute_unprepared("ROLLBACK").await.expect("unlock");
    drop(lock);
    assert_error(&status, Code::DeadlineExceeded, "DEADLINE_EXCEEDED");
    // The server goes on serving once the lock is gone.
    let read = alice.get(&board.name).await.expect("readable again");
    assert_eq!(read.title, "locked");
}

// ---- item 14: etags ----

fn retitle(name: &str, title: &str, etag: &str) -> pb::UpdateDashboardRequest {
    pb::UpdateDashboardRequest {
        version_message: String::new(),
        dashboard: Some(pb::Dashboard {
            name: name.into(),
            title: title.into(),
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
    }
}

#[tokio::test]
async fn widget_writes_leave_the_dashboard_etag_alone() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut widgets = widgets_of(server()).await;
    let board = alice.create("etags").await;
    let widget = create_widget(&alice, &mut widgets, &board.name, 10)
        .await
        .expect("widget");
    let update = alice.req(pb::UpdateWidgetRequest {
        version_message: String::new(),
        widget: Some(pb::Widget {
            name: widget.name.clone(),
            title: "renamed".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".into()],
        }),
    });
    widgets.update_widget(update).await.expect("widget edit");
    let after = alice.get(&board.name).await.expect("get");
    assert_eq!(
        after.etag, board.etag,
        "a widget edit changed the dashboard's etag"
    );
    // So an etag-guarded edit of the dashboard read before the widget edit still applies...
    let request = alice.req(retitle(&board.name, "renamed too", &board.etag));
    let updated = alice
        .dashboards
        .update_dashboard(request)
        .await
        .expect("the dashboard's etag still matches")
        .into_inner();
    // ...and a stale etag of the dashboard's own fields is still refused.
    let request = alice.req(retitle(&board.name, "stale", &board.etag));
    let status = alice
        .dashboards
        .update_dashboard(request)
        .await
        .expect_err("stale etag");
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_ne!(updated.etag, board.etag);
}

#[tokio::test]
async fn updates_without_an_etag_always_apply() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let board = alice.create("contended").await;
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let caller = server().user(&org, "alice", PlatformRole::Author).await;
        let name = board.name.clone();
        tasks.push(tokio::spawn(async move {
            let mut caller = caller;
            for i in 0..15 {
                let request = caller.req(retitle(&name, &format!("w{writer} #{i}"), ""));
                caller
                    .dashboards
                    .update_dashboard(request)
                    .await
                    .map_err(|s| format!("writer {writer}, update {i}: {s:?}"))?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .expect("no update without an etag fails");
    }
    // Deleting and undeleting without an etag apply as well, after all that traffic.
    let deleted = alice
        .dashboards
        .delete_dashboard(alice.req(pb::DeleteDashboardRequest {
            name: board.name.clone(),
            etag: String::new(),
        }))
        .await
        .expect("delete")
        .into_inner();
    assert!(deleted.delete_time.is_some());
    let status = alice
        .dashboards
        .update_dashboard(alice.req(retitle(&board.name, "in the trash", "")))
        .await
        .expect_err("trashed");
    assert_error(&status, Code::FailedPrecondition, "DASHBOARD_DELETED");
}
