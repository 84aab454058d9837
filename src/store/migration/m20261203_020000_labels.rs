//! Labels (DESIGN §6): org-scoped tags, and their attachment to dashboards. The unique
//! (org, display_name) index makes a label's name its key for people (and serves the
//! filter `label = "prod"`); the label index of `dashboard_labels` serves deleting a label,
//! which detaches it from every dashboard.

use sea_orm_migration::prelude::*;

use super::{micros, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Labels {
    Table,
    OrgId,
    Id,
    DisplayName,
    Color,
    Description,
    CreatorId,
    CreateTime,
    UpdateTime,
    Revision,
}

#[derive(DeriveIden)]
enum DashboardLabels {
    Table,
    OrgId,
    DashboardId,
    LabelId,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Labels::Table)
                    .col(text(Labels::OrgId))
                    .col(text(Labels::Id).primary_key())
                    .col(text(Labels::DisplayName))
                    .col(text(Labels::Color))
                    .col(text(Labels::Description))
                    .col(text(Labels::CreatorId))
                    .col(micros(Labels::CreateTime))
                    .col(micros(Labels::UpdateTime))
                    .col(micros(Labels::Revision))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("labels_by_display_name")
                    .table(Labels::Table)
                    .col(Labels::OrgId)
                    .col(Labels::DisplayName)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DashboardLabels::Table)
                    .col(text(DashboardLabels::OrgId))
                    .col(text(DashboardLabels::DashboardId))
                    .col(text(DashboardLabels::LabelId))
                    .col(micros(DashboardLabels::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(DashboardLabels::OrgId)
                            .col(DashboardLabels::DashboardId)
                            .col(DashboardLabels::LabelId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("dashboard_labels_by_label")
                    .table(DashboardLabels::Table)
                    .col(DashboardLabels::LabelId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DashboardLabels::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Labels::Table).to_owned())
            .await
    }
}
