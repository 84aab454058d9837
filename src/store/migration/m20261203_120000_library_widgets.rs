//! Library widgets (DESIGN §6): `library_widgets` holds the content of a widget kept once
//! (the same columns and encodings as `widgets`, without a place on a grid);
//! `library_widget_grants` its shares, shaped like `folder_grants`; `widgets.library_widget_id`
//! the link of a dashboard widget, whose content columns then hold a copy of the library
//! widget's (written in the same transaction as every library widget change). The link
//! index serves ListLibraryWidgetConnections and the fan-out of an update.

use sea_orm_migration::prelude::*;

use super::{micros, micros_null, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LibraryWidgets {
    Table,
    Id,
    OrgId,
    WidgetType,
    Title,
    Subtitle,
    Description,
    Config,
    DataSources,
    CreatorId,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum LibraryWidgetGrants {
    Table,
    Id,
    OrgId,
    LibraryWidgetId,
    GranteeKind,
    GranteeId,
    Role,
    ExpireTime,
    CreatorId,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Widgets {
    Table,
    OrgId,
    LibraryWidgetId,
    DashboardId,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LibraryWidgets::Table)
                    .col(text(LibraryWidgets::Id).primary_key())
                    .col(text(LibraryWidgets::OrgId))
                    .col(text(LibraryWidgets::WidgetType))
                    .col(text(LibraryWidgets::Title))
                    .col(text(LibraryWidgets::Subtitle))
                    .col(text(LibraryWidgets::Description))
                    .col(ColumnDef::new(LibraryWidgets::Config).binary().not_null())
                    .col(
                        ColumnDef::new(LibraryWidgets::DataSources)
                            .text()
                            .not_null(),
                    )
                    .col(text(LibraryWidgets::CreatorId))
                    .col(micros(LibraryWidgets::Revision))
                    .col(micros(LibraryWidgets::CreateTime))
                    .col(micros(LibraryWidgets::UpdateTime))
                    .to_owned(),
            )
            .await?;
        // An ADMIN's listing: the org's library widgets in id (creation) order.
        manager
            .create_index(
                Index::create()
                    .name("library_widgets_org")
                    .table(LibraryWidgets::Table)
                    .col(LibraryWidgets::OrgId)
                    .col(LibraryWidgets::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LibraryWidgetGrants::Table)
                    .col(text(LibraryWidgetGrants::Id).primary_key())
                    .col(text(LibraryWidgetGrants::OrgId))
                    .col(text(LibraryWidgetGrants::LibraryWidgetId))
                    .col(text(LibraryWidgetGrants::GranteeKind))
                    .col(text(LibraryWidgetGrants::GranteeId))
                    .col(text(LibraryWidgetGrants::Role))
                    .col(micros_null(LibraryWidgetGrants::ExpireTime))
                    .col(text(LibraryWidgetGrants::CreatorId))
                    .col(micros(LibraryWidgetGrants::CreateTime))
                    .col(micros(LibraryWidgetGrants::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("library_widget_grants_target_grantee")
                    .table(LibraryWidgetGrants::Table)
                    .col(LibraryWidgetGrants::LibraryWidgetId)
                    .col(LibraryWidgetGrants::GranteeKind)
                    .col(LibraryWidgetGrants::GranteeId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A subject's shares on library widgets (a member's listing).
        manager
            .create_index(
                Index::create()
                    .name("library_widget_grants_grantee")
                    .table(LibraryWidgetGrants::Table)
                    .col(LibraryWidgetGrants::OrgId)
                    .col(LibraryWidgetGrants::GranteeKind)
                    .col(LibraryWidgetGrants::GranteeId)
                    .col(LibraryWidgetGrants::LibraryWidgetId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Widgets::Table)
                    .add_column(text_null(Widgets::LibraryWidgetId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("widgets_library_widget")
                    .table(Widgets::Table)
                    .col(Widgets::OrgId)
                    .col(Widgets::LibraryWidgetId)
                    .col(Widgets::DashboardId)
                    .col(Widgets::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("widgets_library_widget")
                    .table(Widgets::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Widgets::Table)
                    .drop_column(Widgets::LibraryWidgetId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(LibraryWidgetGrants::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LibraryWidgets::Table).to_owned())
            .await
    }
}
