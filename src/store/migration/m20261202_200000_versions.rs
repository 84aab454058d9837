//! Dashboard versions (DESIGN §7): one row per version, each content (a dashboard's fields,
//! a widget's content) stored once per org under its SHA-256, and each widget's state as a
//! row valid over a range of versions `[valid_from, valid_to)` (`valid_to` NULL while it is
//! the widget's current state). See `core::version`.

use sea_orm_migration::prelude::*;

use super::{micros, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DashboardVersions {
    Table,
    OrgId,
    DashboardId,
    Version,
    Revision,
    Actor,
    CreateTime,
    Message,
    RestoredFrom,
    FieldsHash,
}

#[derive(DeriveIden)]
enum VersionContents {
    Table,
    OrgId,
    Hash,
    Content,
}

#[derive(DeriveIden)]
enum WidgetStates {
    Table,
    OrgId,
    DashboardId,
    WidgetId,
    ValidFrom,
    ValidTo,
    ContentHash,
    X,
    Y,
    W,
    H,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DashboardVersions::Table)
                    .col(text(DashboardVersions::OrgId))
                    .col(text(DashboardVersions::DashboardId))
                    .col(
                        ColumnDef::new(DashboardVersions::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DashboardVersions::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(DashboardVersions::Actor))
                    .col(micros(DashboardVersions::CreateTime))
                    .col(text_null(DashboardVersions::Message))
                    .col(
                        ColumnDef::new(DashboardVersions::RestoredFrom)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(DashboardVersions::FieldsHash)
                            .binary()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DashboardVersions::DashboardId)
                            .col(DashboardVersions::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VersionContents::Table)
                    .col(text(VersionContents::OrgId))
                    .col(ColumnDef::new(VersionContents::Hash).binary().not_null())
                    .col(ColumnDef::new(VersionContents::Content).binary().not_null())
                    .primary_key(
                        Index::create()
                            .col(VersionContents::OrgId)
                            .col(VersionContents::Hash),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WidgetStates::Table)
                    .col(text(WidgetStates::OrgId))
                    .col(text(WidgetStates::DashboardId))
                    .col(text(WidgetStates::WidgetId))
                    .col(
                        ColumnDef::new(WidgetStates::ValidFrom)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WidgetStates::ValidTo).big_integer().null())
                    .col(
                        ColumnDef::new(WidgetStates::ContentHash)
                            .binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WidgetStates::X).integer().not_null())
                    .col(ColumnDef::new(WidgetStates::Y).integer().not_null())
                    .col(ColumnDef::new(WidgetStates::W).integer().not_null())
                    .col(ColumnDef::new(WidgetStates::H).integer().not_null())
                    // A widget's newest state is the last of its prefix.
                    .primary_key(
                        Index::create()
                            .col(WidgetStates::DashboardId)
                            .col(WidgetStates::WidgetId)
                            .col(WidgetStates::ValidFrom),
                    )
                    .to_owned(),
            )
            .await?;
        // The states of one version: valid_from <= v < valid_to.
        manager
            .create_index(
                Index::create()
                    .name("widget_states_by_version")
                    .table(WidgetStates::Table)
                    .col(WidgetStates::DashboardId)
                    .col(WidgetStates::ValidFrom)
                    .to_owned(),
            )
            .await?;
        // Pruning: is a content still referred to?
        manager
            .create_index(
                Index::create()
                    .name("widget_states_by_content")
                    .table(WidgetStates::Table)
                    .col(WidgetStates::OrgId)
                    .col(WidgetStates::ContentHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("dashboard_versions_by_fields")
                    .table(DashboardVersions::Table)
                    .col(DashboardVersions::OrgId)
                    .col(DashboardVersions::FieldsHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DashboardVersions::Table.into_iden(),
            VersionContents::Table.into_iden(),
            WidgetStates::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
