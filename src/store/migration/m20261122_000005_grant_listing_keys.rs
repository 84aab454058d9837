//! Listing for non-admins walks the grants, not the dashboards: each grant carries a copy of
//! its dashboard's sort keys (create time, update time, title) and trash state, and one
//! index per sort key orders a subject's grants the way a page is ordered. A page is then,
//! per subject of the caller, an index range scan that stops after `page_size` entries
//! (see `store::dashboards::list`), whatever the total number of grants.
//!
//! The copies are kept by the repositories in the same transaction as the dashboard write
//! (`store::dashboards::copy_listing_keys`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Grants {
    Table,
    OrgId,
    GranteeKind,
    GranteeId,
    DashboardId,
    Role,
    ExpireTime,
    DashboardTitle,
    DashboardCreateTime,
    DashboardUpdateTime,
    DashboardDeleteTime,
}

/// `(index name, sort key)`: the keyset order of a page.
const LISTING_INDEXES: [(&str, Grants); 3] = [
    ("grants_listing_create_time", Grants::DashboardCreateTime),
    ("grants_listing_update_time", Grants::DashboardUpdateTime),
    ("grants_listing_title", Grants::DashboardTitle),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Grants::DashboardTitle)
                .string()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(Grants::DashboardCreateTime)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Grants::DashboardUpdateTime)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Grants::DashboardDeleteTime)
                .big_integer()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Grants::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE grants SET \
                   dashboard_title = (SELECT d.title FROM dashboards d WHERE d.id = grants.dashboard_id), \
                   dashboard_create_time = (SELECT d.create_time FROM dashboards d WHERE d.id = grants.dashboard_id), \
                   dashboard_update_time = (SELECT d.update_time FROM dashboards d WHERE d.id = grants.dashboard_id), \
                   dashboard_delete_time = (SELECT d.delete_time FROM dashboards d WHERE d.id = grants.dashboard_id)",
            )
            .await?;
        // The new indexes start with the old covering index's `(org, kind, grantee)` prefix,
        // so lookups of one grantee's grants keep an index.
        manager
            .drop_index(
                Index::drop()
                    .name("grants_grantee_covering")
                    .table(Grants::Table)
                    .to_owned(),
            )
            .await?;
        for (name, key) in LISTING_INDEXES {
            // Covering: role, expiry and trash state are checked without visiting the row.
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Grants::Table)
                        .col(Grants::OrgId)
                        .col(Grants::GranteeKind)
                        .col(Grants::GranteeId)
                        .col(key)
                        .col(Grants::DashboardId)
                        .col(Grants::Role)
                        .col(Grants::ExpireTime)
                        .col(Grants::DashboardDeleteTime)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in LISTING_INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Grants::Table).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("grants_grantee_covering")
                    .table(Grants::Table)
                    .col(Grants::OrgId)
                    .col(Grants::GranteeKind)
                    .col(Grants::GranteeId)
                    .col(Grants::DashboardId)
                    .col(Grants::Role)
                    .col(Grants::ExpireTime)
                    .to_owned(),
            )
            .await?;
        for column in [
            Grants::DashboardTitle,
            Grants::DashboardCreateTime,
            Grants::DashboardUpdateTime,
            Grants::DashboardDeleteTime,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Grants::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
