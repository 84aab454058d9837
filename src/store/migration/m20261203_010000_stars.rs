//! Stars (DESIGN §6): a user's bookmark of a dashboard, one row per (org, user, dashboard).
//! The primary key serves "has the caller starred these" and the `starred` filter; the
//! dashboard index serves the purge, which deletes a purged dashboard's stars.

use sea_orm_migration::prelude::*;

use super::{micros, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Stars {
    Table,
    OrgId,
    UserId,
    DashboardId,
    CreateTime,
}

#[derive(DeriveIden)]
enum Dashboards {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Stars::Table)
                    .col(text(Stars::OrgId))
                    .col(text(Stars::UserId))
                    .col(text(Stars::DashboardId))
                    .col(micros(Stars::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(Stars::OrgId)
                            .col(Stars::UserId)
                            .col(Stars::DashboardId),
                    )
                    // A star never outlives its dashboard (the purge also deletes them
                    // explicitly, as it does widgets and grants).
                    .foreign_key(
                        ForeignKey::create()
                            .name("stars_dashboard")
                            .from(Stars::Table, Stars::DashboardId)
                            .to(Dashboards::Table, Dashboards::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("stars_by_dashboard")
                    .table(Stars::Table)
                    .col(Stars::DashboardId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Stars::Table).to_owned())
            .await
    }
}
