//! Widgets: one row per widget, its grid position in plain integer columns.
//!
//! `config` is a protobuf-encoded `google.protobuf.Struct`, like dashboard metadata: it is
//! only ever read back whole. `data_sources` is a JSON array of
//! `{device_id, device_name, project_id, project_name, query}` objects (empty keys left out)
//! rather than protobuf bytes: the proto has no message for a list of data sources (and a
//! storage-only one would leak into the public package), JSON is readable with `sqlite3`
//! and `psql`, and PostgreSQL can index it later (`data_sources::jsonb`) should finding the
//! dashboards that use a device need to be fast.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Widgets {
    Table,
    Id,
    OrgId,
    DashboardId,
    WidgetType,
    Title,
    Subtitle,
    Description,
    X,
    Y,
    W,
    H,
    Config,
    DataSources,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Dashboards {
    Table,
    Id,
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Widgets::Table)
                    .col(text(Widgets::Id).primary_key())
                    .col(text(Widgets::OrgId))
                    .col(text(Widgets::DashboardId))
                    .col(text(Widgets::WidgetType))
                    .col(text(Widgets::Title))
                    .col(text(Widgets::Subtitle))
                    .col(text(Widgets::Description))
                    .col(int(Widgets::X))
                    .col(int(Widgets::Y))
                    .col(int(Widgets::W))
                    .col(int(Widgets::H))
                    .col(ColumnDef::new(Widgets::Config).binary().not_null())
                    .col(ColumnDef::new(Widgets::DataSources).text().not_null())
                    .col(big(Widgets::Revision))
                    .col(big(Widgets::CreateTime))
                    .col(big(Widgets::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .name("widgets_dashboard")
                            .from(Widgets::Table, Widgets::DashboardId)
                            .to(Dashboards::Table, Dashboards::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Layout order within a dashboard (ListWidgets, the FULL view) and the FK lookups.
        manager
            .create_index(
                Index::create()
                    .name("widgets_dashboard_position")
                    .table(Widgets::Table)
                    .col(Widgets::DashboardId)
                    .col(Widgets::Y)
                    .col(Widgets::X)
                    .col(Widgets::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Widgets::Table).to_owned())
            .await
    }
}
