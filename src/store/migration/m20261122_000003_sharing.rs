//! Groups and their members, custom roles, public links.

use sea_orm_migration::prelude::*;

use super::{micros, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    OrgId,
    DisplayName,
    Description,
    Kind,
    TenantId,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum GroupMembers {
    Table,
    GroupId,
    OrgId,
    UserId,
    CreateTime,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Id,
    OrgId,
    Name,
    DisplayName,
    Description,
    Permissions,
    CanRead,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum PublicLinks {
    Table,
    Id,
    OrgId,
    DashboardId,
    TokenHash,
    ExpireTime,
    CreatorId,
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
                    .table(Groups::Table)
                    .col(text(Groups::Id).primary_key())
                    .col(text(Groups::OrgId))
                    .col(text(Groups::DisplayName))
                    .col(text(Groups::Description))
                    .col(text(Groups::Kind))
                    .col(ColumnDef::new(Groups::TenantId).string().null())
                    .col(micros(Groups::Revision))
                    .col(micros(Groups::CreateTime))
                    .col(micros(Groups::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("groups_org_name")
                    .table(Groups::Table)
                    .col(Groups::OrgId)
                    .col(Groups::DisplayName)
                    .col(Groups::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupMembers::Table)
                    .col(text(GroupMembers::GroupId))
                    .col(text(GroupMembers::OrgId))
                    .col(text(GroupMembers::UserId))
                    .col(micros(GroupMembers::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(GroupMembers::GroupId)
                            .col(GroupMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("group_members_group")
                            .from(GroupMembers::Table, GroupMembers::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Which groups is this user in?" on every authorization.
        manager
            .create_index(
                Index::create()
                    .name("group_members_user")
                    .table(GroupMembers::Table)
                    .col(GroupMembers::OrgId)
                    .col(GroupMembers::UserId)
                    .col(GroupMembers::GroupId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(text(Roles::Id).primary_key())
                    .col(text(Roles::OrgId))
                    // `roles/{id}`, as grants store it.
                    .col(text(Roles::Name))
                    .col(text(Roles::DisplayName))
                    .col(text(Roles::Description))
                    .col(ColumnDef::new(Roles::Permissions).integer().not_null())
                    // Denormalized from `permissions` for the listing query.
                    .col(ColumnDef::new(Roles::CanRead).boolean().not_null())
                    .col(micros(Roles::Revision))
                    .col(micros(Roles::CreateTime))
                    .col(micros(Roles::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("roles_org_name")
                    .table(Roles::Table)
                    .col(Roles::OrgId)
                    .col(Roles::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PublicLinks::Table)
                    .col(text(PublicLinks::Id).primary_key())
                    .col(text(PublicLinks::OrgId))
                    .col(text(PublicLinks::DashboardId))
                    // SHA-256 of the token: a leaked database does not leak working links.
                    .col(text(PublicLinks::TokenHash))
                    .col(ColumnDef::new(PublicLinks::ExpireTime).big_integer().null())
                    .col(text(PublicLinks::CreatorId))
                    .col(micros(PublicLinks::CreateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .name("public_links_dashboard")
                            .from(PublicLinks::Table, PublicLinks::DashboardId)
                            .to(Dashboards::Table, Dashboards::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("public_links_token")
                    .table(PublicLinks::Table)
                    .col(PublicLinks::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("public_links_dashboard")
                    .table(PublicLinks::Table)
                    .col(PublicLinks::DashboardId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PublicLinks::Table.into_iden(),
            Roles::Table.into_iden(),
            GroupMembers::Table.into_iden(),
            Groups::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
