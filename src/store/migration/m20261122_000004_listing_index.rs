//! Listing reads `(dashboard, role, expiry)` for each of the caller's subjects: make the
//! grantee index covering so that no grant row is visited.

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
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("grants_grantee_dashboard")
                    .table(Grants::Table)
                    .to_owned(),
            )
            .await?;
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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("grants_grantee_covering")
                    .table(Grants::Table)
                    .to_owned(),
            )
            .await?;
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
            .await
    }
}
