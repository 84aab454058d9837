//! The change log (DESIGN §7): a per-org revision counter that every committed write bumps by
//! one inside its own transaction, and the events each write appends at that revision.
//! History, audit, watch and cache invalidation all read `events`.

use sea_orm_migration::prelude::*;

use super::{micros, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrgRevisions {
    Table,
    OrgId,
    Revision,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    OrgId,
    Revision,
    Seq,
    Time,
    Actor,
    Type,
    Resource,
    DashboardId,
    ChangedFields,
    Grantee,
    Role,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgRevisions::Table)
                    .col(text(OrgRevisions::OrgId).primary_key())
                    .col(
                        ColumnDef::new(OrgRevisions::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(text(Events::OrgId))
                    .col(ColumnDef::new(Events::Revision).big_integer().not_null())
                    .col(ColumnDef::new(Events::Seq).integer().not_null())
                    .col(micros(Events::Time))
                    .col(text(Events::Actor))
                    .col(text(Events::Type))
                    .col(text(Events::Resource))
                    .col(text_null(Events::DashboardId))
                    .col(text(Events::ChangedFields))
                    .col(text_null(Events::Grantee))
                    .col(text_null(Events::Role))
                    .primary_key(
                        Index::create()
                            .col(Events::OrgId)
                            .col(Events::Revision)
                            .col(Events::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        // A dashboard's history (audit of one dashboard, versions), newest first.
        manager
            .create_index(
                Index::create()
                    .name("events_by_dashboard")
                    .table(Events::Table)
                    .col(Events::OrgId)
                    .col(Events::DashboardId)
                    .col(Events::Revision)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OrgRevisions::Table).to_owned())
            .await
    }
}
