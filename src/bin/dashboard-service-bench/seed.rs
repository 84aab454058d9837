//! Bulk seeding through the sea-orm entities, in large multi-row inserts.

use std::collections::HashSet;
use std::time::Instant;

use clap::Args;
use dashboard_service::core::authz::{BuiltinRole, GranteeKind};
use dashboard_service::core::folder::{TreeNode, paths_of};
use dashboard_service::core::widget::{DataSource, WidgetType};
use dashboard_service::server::BoxError;
use dashboard_service::store::entities::{
    dashboard, folder, folder_grant, folder_path, grant, group, group_member, user, widget,
};
use dashboard_service::store::{DbOptions, Store};

mod labels;
pub use labels::LISTING_LABEL;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait};

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://bench.db?mode=rwc"
    )]
    pub database_url: String,
    #[arg(long, default_value = "bench")]
    pub org: String,
    #[arg(long, default_value_t = 5)]
    pub tenants: usize,
    #[arg(long, default_value_t = 100_000)]
    pub dashboards: usize,
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    #[arg(long, default_value_t = 1_000)]
    pub groups: usize,
    /// Groups each user belongs to.
    #[arg(long, default_value_t = 10)]
    pub groups_per_user: usize,
    /// Total grants, the creators' owner grants included.
    #[arg(long, default_value_t = 1_000_000)]
    pub grants: usize,
    /// Folders, in one tree per org (0: none).
    #[arg(long, default_value_t = 10_000)]
    pub folders: usize,
    /// The deepest a folder sits (1: directly under the root).
    #[arg(long, default_value_t = 8)]
    pub folder_depth: usize,
    /// Percent of the grants (beyond the owners') given on folders instead of dashboards.
    #[arg(long, default_value_t = 20)]
    pub folder_grant_percent: usize,
    /// Random seed: the same seed gives the same dataset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

const BATCH: usize = 1_000;

/// Well-known ids the `run` command relies on.
pub const ADMIN: &str = "u00000";
pub const MEMBER: &str = "u00001";

pub fn user_id(i: usize) -> String {
    format!("u{i:05}")
}

fn group_id(i: usize) -> String {
    format!("g{i:05}")
}

pub fn folder_id(i: usize) -> String {
    format!("f{i:06}")
}

fn dashboard_title(i: usize) -> String {
    format!("Dashboard {i}")
}

pub fn dashboard_id(i: usize) -> String {
    // Fixed-width, so ids sort like their numbers.
    format!("d{i:08}")
}

/// Every hundredth dashboard (1%) carries [`WIDGETS_PER_BOARD`] widgets.
pub fn has_widgets(i: usize) -> bool {
    i % 100 == 0
}

const WIDGETS_PER_BOARD: usize = 10;

/// The index of a seeded dashboard from its resource name (`dashboards/d00000042` -> 42).
pub fn dashboard_index(name: &str) -> Option<usize> {
    name.strip_prefix("dashboards/d")?.parse().ok()
}

/// Ten widgets in two columns of 12x8 cells, each with a small view config and one device.
fn widgets_of(d: usize, org: &str, now: i64) -> Result<Vec<widget::ActiveModel>, BoxError> {
    use prost::Message;
    use prost_types::value::Kind;
    let types = [
        WidgetType::Chart,
        WidgetType::Stat,
        WidgetType::Gauge,
        WidgetType::Table,
    ];
    (0..WIDGETS_PER_BOARD)
        .map(|k| {
            let text = |s: &str| prost_types::Value {
                kind: Some(Kind::StringValue(s.to_string())),
            };
            let config = prost_types::Struct {
                fields: [
                    ("unit".to_string(), text("percent")),
                    ("query".to_string(), text(&format!("cpu{{host=\"h{k}\"}}"))),
                ]
                .into(),
            };
            let sources = [DataSource {
                device_id: format!("dev{}", (d + k) % 500),
                device_name: format!("Device {}", (d + k) % 500),
                project_id: format!("p{}", d % 20),
                project_name: format!("Project {}", d % 20),
                query: String::new(),
            }];
            Ok(widget::ActiveModel {
                id: Set(format!("w{d:08}{k:02}")),
                org_id: Set(org.to_string()),
                dashboard_id: Set(dashboard_id(d)),
                widget_type: Set(types[k % types.len()].as_str().to_string()),
                title: Set(format!("Widget {k}")),
                subtitle: Set(String::new()),
                description: Set(String::new()),
                x: Set(((k % 2) * 12) as i32),
                y: Set(((k / 2) * 8) as i32),
                w: Set(12),
                h: Set(8),
                config: Set(config.encode_to_vec()),
                data_sources: Set(serde_json::to_string(&sources)?),
                revision: Set(1),
                create_time: Set(now),
                update_time: Set(now),
                library_widget_id: Set(None),
            })
        })
        .collect()
}

/// Tenant of user `i`: every fifth user belongs to a tenant; the first two are org users.
fn tenant_of(i: usize, tenants: usize) -> Option<String> {
    (tenants > 0 && maybe_tenant_user(i)).then(|| format!("t{}", (i / 5) % tenants))
}

/// Whether user `i` is a tenant user when the seed made tenants; the others are org users.
pub fn maybe_tenant_user(i: usize) -> bool {
    i >= 2 && i % 5 == 0
}

pub async fn seed(args: SeedArgs) -> Result<(), BoxError> {
    let started = Instant::now();
    let store = Store::connect(&DbOptions {
        url: args.database_url.clone(),
        max_connections: 4,
        acquire_timeout: std::time::Duration::from_secs(30),
        sqlite_busy_timeout: std::time::Duration::from_secs(30),
        // A bulk load that is simply run again if the machine goes down.
        sqlite_synchronous: dashboard_service::store::SqliteSynchronous::Normal,
        statement_timeout: None,
        health_check_interval: std::time::Duration::from_secs(1),
        health_check_timeout: std::time::Duration::from_millis(500),
    })
    .await
    .map_err(|e| format!("connect: {e}"))?;
    store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
    let db = store.db();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let now = chrono::Utc::now().timestamp_micros();
    let org = args.org.clone();

    // Users: u00000 is an ADMIN, u00001 an AUTHOR with ~groups_per_user groups.
    let users: Vec<user::ActiveModel> = (0..args.users)
        .map(|i| {
            let tenant = tenant_of(i, args.tenants);
            let role = match (i, &tenant) {
                (0, _) => "ADMIN",
                (_, Some(_)) if i % 2 == 0 => "POWER_USER",
                (_, Some(_)) => "VIEWER",
                _ => "AUTHOR",
            };
            user::ActiveModel {
                org_id: Set(org.clone()),
                id: Set(user_id(i)),
                tenant_id: Set(tenant),
                email: Set(Some(format!("{}@{org}.bench", user_id(i)))),
                display_name: Set(format!("User {i}")),
                role: Set(role.to_string()),
                create_time: Set(now),
                update_time: Set(now),
                // As if recorded from the users' tokens.
                role_set_by_admin: Set(false),
                withheld_email: Set(None),
            }
        })
        .collect();
    insert_all(db, "users", users, user::Entity::insert_many).await?;

    let groups: Vec<group::ActiveModel> = (0..args.groups)
        .map(|i| group::ActiveModel {
            id: Set(group_id(i)),
            org_id: Set(org.clone()),
            display_name: Set(format!("Group {i}")),
            description: Set(String::new()),
            kind: Set("org".to_string()),
            tenant_id: Set(None),
            revision: Set(1),
            create_time: Set(now),
            update_time: Set(now),
            creator_id: Set(Some(user_id(0))),
        })
        .collect();
    insert_all(db, "groups", groups, group::Entity::insert_many).await?;

    let mut members = Vec::new();
    if args.groups > 0 {
        for u in 0..args.users {
            let mut mine = HashSet::new();
            while mine.len() < args.groups_per_user.min(args.groups) {
                mine.insert(rng.random_range(0..args.groups));
            }
            for g in mine {
                members.push(group_member::ActiveModel {
                    group_id: Set(group_id(g)),
                    user_id: Set(user_id(u)),
                    org_id: Set(org.clone()),
                    create_time: Set(now),
                });
            }
        }
    }
    insert_all(
        db,
        "group memberships",
        members,
        group_member::Entity::insert_many,
    )
    .await?;

    // Folders: a random tree (each folder under a random earlier one that is not at the
    // depth limit, a few at the root); 5% stop inheritance (cut points).
    let mut depth_of: Vec<usize> = Vec::with_capacity(args.folders);
    let mut nodes: Vec<TreeNode> = Vec::with_capacity(args.folders);
    let mut folder_rows = Vec::with_capacity(args.folders);
    let roots = (args.folders / 1_000).max(1);
    for i in 0..args.folders {
        let parent = if i < roots {
            None
        } else {
            let mut pick = rng.random_range(0..i);
            // Re-draw a parent at the depth limit (terminates: the roots are at depth 1).
            while depth_of[pick] >= args.folder_depth {
                pick = rng.random_range(0..i);
            }
            Some(pick)
        };
        depth_of.push(parent.map_or(1, |p| depth_of[p] + 1));
        let inherit_access = i < roots || rng.random_range(0..100) >= 5;
        nodes.push(TreeNode {
            id: folder_id(i),
            parent_id: parent.map(folder_id),
            inherit_access,
        });
        folder_rows.push(folder::ActiveModel {
            id: Set(folder_id(i)),
            org_id: Set(org.clone()),
            parent_id: Set(parent.map(folder_id).unwrap_or_default()),
            title: Set(format!("Folder {i}")),
            description: Set(String::new()),
            inherit_access: Set(inherit_access),
            creator_id: Set(user_id(0)),
            revision: Set(1),
            create_time: Set(now),
            update_time: Set(now),
            delete_time: Set(None),
            trashed_with: Set(None),
            seq: Set(i as i32 + 1),
        });
    }
    insert_all(db, "folders", folder_rows, folder::Entity::insert_many).await?;
    let all: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    let paths: Vec<folder_path::ActiveModel> = paths_of(&nodes, &all)
        .into_iter()
        .map(|row| folder_path::ActiveModel {
            org_id: Set(org.clone()),
            ancestor_id: Set(row.ancestor),
            descendant_id: Set(row.descendant),
            depth: Set(row.depth),
            inherits: Set(row.inherits),
        })
        .collect();
    insert_all(db, "folder paths", paths, folder_path::Entity::insert_many).await?;

    // Dashboards, created over the last year by org users, each with its owner grant;
    // with folders, 90% sit in a random folder (1% of those stop inheritance).
    let org_users: Vec<usize> = (0..args.users)
        .filter(|i| tenant_of(*i, args.tenants).is_none())
        .collect();
    let mut creators = Vec::with_capacity(args.dashboards);
    let created_at = |i: usize| now - (args.dashboards - i) as i64 * 1_000_000;
    let dashboards: Vec<dashboard::ActiveModel> = (0..args.dashboards)
        .map(|i| {
            let creator = org_users[rng.random_range(0..org_users.len().max(1))];
            creators.push(creator);
            let t = created_at(i);
            let folder_index = (args.folders > 0 && rng.random_range(0..10) > 0)
                .then(|| rng.random_range(0..args.folders));
            let folder = folder_index.map(folder_id);
            let inherit_access = folder.is_none() || rng.random_range(0..100) > 0;
            dashboard::ActiveModel {
                id: Set(dashboard_id(i)),
                org_id: Set(org.clone()),
                tenant_id: Set(None),
                title: Set(dashboard_title(i)),
                description: Set(String::new()),
                metadata: Set(Vec::new()),
                refresh_period_nanos: Set(None),
                creator_id: Set(user_id(creator)),
                request_id: Set(None),
                revision: Set(1),
                create_time: Set(t),
                update_time: Set(t),
                delete_time: Set(None),
                expire_time: Set(None),
                folder_id: Set(folder),
                folder_seq: Set(folder_index.map(|i| i as i32 + 1)),
                inherit_access: Set(inherit_access),
                trashed_with: Set(None),
            }
        })
        .collect();
    insert_all(db, "dashboards", dashboards, dashboard::Entity::insert_many).await?;
    let mut widgets = Vec::new();
    for d in (0..args.dashboards).filter(|d| has_widgets(*d)) {
        widgets.extend(widgets_of(d, &org, created_at(d))?);
    }
    insert_all(db, "widgets", widgets, widget::Entity::insert_many).await?;

    labels::seed(db, &org, args.dashboards, &mut rng, now, created_at).await?;

    // Grants: the owners, then user and group grants, then a few of the org-wide kinds.
    let mut seen: HashSet<(usize, u8, usize)> = HashSet::new();
    let mut grants = Vec::with_capacity(args.grants);
    // A target below `args.dashboards` is that dashboard; above, folder `d - dashboards`.
    let mut folder_grants: Vec<folder_grant::ActiveModel> = Vec::new();
    let dashboards_count = args.dashboards;
    let mut add = |d: usize,
                   kind: GranteeKind,
                   grantee: String,
                   key: usize,
                   role: BuiltinRole,
                   grants: &mut Vec<grant::ActiveModel>,
                   folder_grants: &mut Vec<folder_grant::ActiveModel>| {
        if !seen.insert((d, kind as u8, key)) {
            return;
        }
        if d >= dashboards_count {
            folder_grants.push(folder_grant::ActiveModel {
                id: Set(format!("fs{:08}", folder_grants.len())),
                org_id: Set(org.clone()),
                folder_id: Set(folder_id(d - dashboards_count)),
                grantee_kind: Set(kind.as_str().to_string()),
                grantee_id: Set(grantee),
                role: Set(role.name().to_string()),
                expire_time: Set(None),
                creator_id: Set(user_id(0)),
                create_time: Set(now),
                update_time: Set(now),
            });
            return;
        }
        grants.push(grant::ActiveModel {
            id: Set(format!("s{:08}", grants.len())),
            org_id: Set(org.clone()),
            dashboard_id: Set(dashboard_id(d)),
            grantee_kind: Set(kind.as_str().to_string()),
            grantee_id: Set(grantee),
            role: Set(role.name().to_string()),
            expire_time: Set(None),
            creator_id: Set(user_id(0)),
            create_time: Set(now),
            update_time: Set(now),
            dashboard_title: Set(dashboard_title(d)),
            dashboard_create_time: Set(created_at(d)),
            dashboard_update_time: Set(created_at(d)),
            dashboard_delete_time: Set(None),
        });
    };
    for (d, creator) in creators.iter().enumerate() {
        add(
            d,
            GranteeKind::User,
            user_id(*creator),
            *creator,
            BuiltinRole::Owner,
            &mut grants,
            &mut folder_grants,
        );
    }
    let roles = [
        BuiltinRole::Viewer,
        BuiltinRole::Editor,
        BuiltinRole::Contributor,
    ];
    let mut attempts = 0usize;
    while grants.len() + folder_grants.len() < args.grants
        && args.dashboards > 0
        && attempts < args.grants * 3
    {
        attempts += 1;
        let d = if args.folders > 0 && rng.random_range(0..100) < args.folder_grant_percent {
            args.dashboards + rng.random_range(0..args.folders)
        } else {
            rng.random_range(0..args.dashboards)
        };
        let role = roles[rng.random_range(0..roles.len())];
        match rng.random_range(0..1000) {
            // 0.1% each for the org-wide audiences and 1% for tenants: rare but present.
            0 => add(
                d,
                GranteeKind::Everyone,
                String::new(),
                0,
                BuiltinRole::Viewer,
                &mut grants,
                &mut folder_grants,
            ),
            1 => add(
                d,
                GranteeKind::OrgMembers,
                String::new(),
                0,
                BuiltinRole::Viewer,
                &mut grants,
                &mut folder_grants,
            ),
            2 => add(
                d,
                GranteeKind::AllTenants,
                String::new(),
                0,
                BuiltinRole::Viewer,
                &mut grants,
                &mut folder_grants,
            ),
            3..=12 if args.tenants > 0 => {
                let t = rng.random_range(0..args.tenants);
                add(
                    d,
                    GranteeKind::Tenant,
                    format!("t{t}"),
                    t,
                    BuiltinRole::Viewer,
                    &mut grants,
                    &mut folder_grants,
                )
            }
            13..=399 if args.groups > 0 => {
                let g = rng.random_range(0..args.groups);
                add(
                    d,
                    GranteeKind::Group,
                    group_id(g),
                    g,
                    role,
                    &mut grants,
                    &mut folder_grants,
                )
            }
            _ if args.users > 0 => {
                let u = rng.random_range(0..args.users);
                add(
                    d,
                    GranteeKind::User,
                    user_id(u),
                    u,
                    role,
                    &mut grants,
                    &mut folder_grants,
                )
            }
            _ => {}
        }
    }
    insert_all(db, "grants", grants, grant::Entity::insert_many).await?;
    insert_all(
        db,
        "folder grants",
        folder_grants,
        folder_grant::Entity::insert_many,
    )
    .await?;
    // Fresh statistics: without them both planners pick poor plans on a bulk-loaded
    // database (PostgreSQL estimated 169 rows for a 100k-row org and sorted instead of
    // walking the index).
    // On PostgreSQL, VACUUM also sets the visibility map, without which the covering
    // listing indexes still visit the heap for every entry (autovacuum would, later).
    let maintenance = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.execute_unprepared(maintenance).await?;
    println!("{maintenance}: done");
    println!("seeded in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Inserts `rows` in batches, one transaction per batch, printing progress.
async fn insert_all<A, F, I>(
    db: &sea_orm::DatabaseConnection,
    what: &str,
    rows: Vec<A>,
    insert: F,
) -> Result<(), BoxError>
where
    A: sea_orm::ActiveModelTrait + Send,
    F: Fn(Vec<A>) -> I,
    I: InsertExec,
{
    let total = rows.len();
    let started = Instant::now();
    let mut done = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(BATCH).collect();
        let n = batch.len();
        let txn = db.begin().await?;
        insert(batch).run(&txn).await?;
        txn.commit().await?;
        done += n;
        if done % (BATCH * 100) == 0 || done == total {
            println!(
                "{what}: {done}/{total} ({:.1}s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// A multi-row insert that can run on a transaction.
pub trait InsertExec {
    fn run(
        self,
        txn: &sea_orm::DatabaseTransaction,
    ) -> impl std::future::Future<Output = Result<(), sea_orm::DbErr>>;
}

impl<A: sea_orm::ActiveModelTrait + Send> InsertExec for sea_orm::InsertMany<A> {
    async fn run(self, txn: &sea_orm::DatabaseTransaction) -> Result<(), sea_orm::DbErr> {
        self.exec_without_returning(txn).await.map(|_| ())
    }
}
