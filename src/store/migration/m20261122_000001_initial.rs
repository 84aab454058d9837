//! Dashboards, grants (the creator's owner grant lives here from the start) and users.

use sea_orm_migration::prelude::*;

use super::{micros, micros_null, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Dashboards {
    Table,
    Id,
    OrgId,
    TenantId,
    Title,
    Description,
    Metadata,
    RefreshPeriodNanos,
    CreatorId,
    RequestId,
    Revision,
    CreateTime,
    UpdateTime,
    DeleteTime,
    ExpireTime,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    OrgId,
    DashboardId,
    GranteeKind,
    GranteeId,
    Role,
    ExpireTime,
    CreatorId,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    OrgId,
    Id,
    TenantId,
    Email,
    DisplayName,
    Role,
    CreateTime,
    UpdateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Dashboards::Table)
                    .col(text(Dashboards::Id).primary_key())
                    .col(text(Dashboards::OrgId))
                    .col(text_null(Dashboards::TenantId))
                    .col(text(Dashboards::Title))
                    .col(text(Dashboards::Description))
                    .col(ColumnDef::new(Dashboards::Metadata).binary().not_null())
                    .col(micros_null(Dashboards::RefreshPeriodNanos))
                    .col(text(Dashboards::CreatorId))
                    .col(text_null(Dashboards::RequestId))
                    .col(micros(Dashboards::Revision))
                    .col(micros(Dashboards::CreateTime))
                    .col(micros(Dashboards::UpdateTime))
                    .col(micros_null(Dashboards::DeleteTime))
                    .col(micros_null(Dashboards::ExpireTime))
                    .to_owned(),
            )
            .await?;
        // Keyset pagination: one index per sort key, with the id as tie-breaker.
        for (name, col) in [
            ("dashboards_org_create_time", Dashboards::CreateTime),
            ("dashboards_org_update_time", Dashboards::UpdateTime),
            ("dashboards_org_title", Dashboards::Title),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Dashboards::Table)
                        .col(Dashboards::OrgId)
                        .col(col)
                        .col(Dashboards::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("dashboards_request_id")
                    .table(Dashboards::Table)
                    .col(Dashboards::OrgId)
                    .col(Dashboards::CreatorId)
                    .col(Dashboards::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("dashboards_expire_time")
                    .table(Dashboards::Table)
                    .col(Dashboards::ExpireTime)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Grants::Table)
                    .col(text(Grants::Id).primary_key())
                    .col(text(Grants::OrgId))
                    .col(text(Grants::DashboardId))
                    .col(text(Grants::GranteeKind))
                    .col(text(Grants::GranteeId))
                    .col(text(Grants::Role))
                    .col(micros_null(Grants::ExpireTime))
                    .col(text(Grants::CreatorId))
                    .col(micros(Grants::CreateTime))
                    .col(micros(Grants::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .name("grants_dashboard")
                            .from(Grants::Table, Grants::DashboardId)
                            .to(Dashboards::Table, Dashboards::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One grant per grantee per dashboard: re-sharing replaces the role.
        manager
            .create_index(
                Index::create()
                    .name("grants_dashboard_grantee")
                    .table(Grants::Table)
                    .col(Grants::DashboardId)
                    .col(Grants::GranteeKind)
                    .col(Grants::GranteeId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Listing: from the caller's subjects to the dashboards they reach.
        manager
            .create_index(
                Index::create()
                    .name("grants_grantee_dashboard")
                    .table(Grants::Table)
                    .col(Grants::OrgId)
                    .col(Grants::GranteeKind)
                    .col(Grants::GranteeId)
                    .col(Grants::DashboardId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(text(Users::OrgId))
                    .col(text(Users::Id))
                    .col(text_null(Users::TenantId))
                    .col(text_null(Users::Email))
                    .col(text(Users::DisplayName))
                    .col(text(Users::Role))
                    .col(micros(Users::CreateTime))
                    .col(micros(Users::UpdateTime))
                    .primary_key(Index::create().col(Users::OrgId).col(Users::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_org_email")
                    .table(Users::Table)
                    .col(Users::OrgId)
                    .col(Users::Email)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Grants::Table.into_iden(),
            Dashboards::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
