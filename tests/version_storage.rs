//! Version storage grows with what changed, not with the dashboard's size (issue 14): 1,000
//! edits of one widget's title on a dashboard of 200 widgets with 4 KiB configs must grow the
//! database by less than 20 MiB (full snapshots would take ~800 MiB). A binary of its own: it
//! measures the database. Prints the figure.

mod common;

use common::unique_org;
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

const WIDGETS: usize = 200;
const EDITS: usize = 1_000;
const LIMIT_BYTES: i64 = 20 * 1024 * 1024;

/// On PostgreSQL the tables that history grows (the widget rows and the log too); on SQLite
/// the whole database file.
async fn size(db: &DatabaseConnection) -> i64 {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "SELECT CAST(SUM(pg_total_relation_size(CAST(t AS regclass))) AS BIGINT) FROM \
             unnest(ARRAY['dashboard_versions','version_contents','widget_states','widgets',\
             'events']) AS t"
        }
        _ => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("size query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("size")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_title_edits_of_one_widget_stay_small() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("storage.db").display()
    );
    let url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => sqlite.clone(),
    };
    let own = common::start({
        let url = url.clone();
        move |c| c.database_url = url
    });
    let org = unique_org();
    let mut owner = own.user(&org, "storage", PlatformRole::Author).await;
    let dashboard = owner.create("big").await.name;
    // Incompressible (PostgreSQL compresses large values): 4 KiB of pseudo-random letters,
    // different for every widget.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut config = move || {
        let blob: String = (0..4096)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'a' + (seed >> 59) as u8 % 26)
            })
            .collect();
        prost_types::Struct {
            fields: [(
                "blob".to_string(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue(blob)),
                },
            )]
            .into(),
        }
    };
    let mut first = String::new();
    for i in 0..WIDGETS {
        let widget = owner
            .widgets
            .create_widget(owner.req(pb::CreateWidgetRequest {
                parent: dashboard.clone(),
                widget: Some(pb::Widget {
                    r#type: pb::WidgetType::Chart as i32,
                    title: format!("w{i}"),
                    config: Some(config()),
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .await
            .expect("create widget")
            .into_inner();
        if i == 0 {
            first = widget.name;
        }
    }
    let db = Database::connect(&url).await.expect("connect");
    let before = size(&db).await;
    for n in 0..EDITS {
        owner
            .widgets
            .update_widget(owner.req(pb::UpdateWidgetRequest {
                widget: Some(pb::Widget {
                    name: first.clone(),
                    title: format!("edit {n}"),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".into()],
                }),
                version_message: String::new(),
            }))
            .await
            .expect("edit");
    }
    let after = size(&db).await;
    let grown = after - before;
    println!(
        "version storage: {EDITS} title edits of one of {WIDGETS} widgets (4 KiB configs) grew \
         the database by {:.2} MiB ({}; limit 20 MiB)",
        grown as f64 / (1024.0 * 1024.0),
        if url.starts_with("postgres") {
            "PostgreSQL: versions, contents, widget states, widgets, events"
        } else {
            "SQLite: the whole file"
        },
    );
    assert!(grown < LIMIT_BYTES, "grew by {grown} bytes");
    // And the history is there: 1 + 200 + 1,000 versions.
    let versions = owner
        .versions
        .clone()
        .list_dashboard_versions(owner.req(pb::ListDashboardVersionsRequest {
            parent: dashboard.clone(),
            page_size: 1,
            ..Default::default()
        }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(versions.versions[0].version, (1 + WIDGETS + EDITS) as i64);
}
