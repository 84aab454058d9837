//! Comments on widgets (DESIGN §6, issue 16). A comment never outlives its widget (foreign
//! key with cascade: deleting a widget, or purging its dashboard, deletes its comments), and
//! a reply never outlives the comment it answers. `resolved` is kept on every comment of a
//! thread (the top-level one and its replies), so the `resolved = false` filter reads one
//! column. Indexes: the widget's comments in creation order (ListComments), a thread's
//! replies (resolve, delete), and the dashboard's comments (the purge).

use sea_orm_migration::prelude::*;

use super::{micros, micros_null, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Comments {
    Table,
    OrgId,
    Id,
    DashboardId,
    WidgetId,
    ReplyTo,
    AuthorId,
    Body,
    Mentions,
    Resolved,
    ResolverId,
    ResolveTime,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Widgets {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(text(Comments::OrgId))
                    .col(text(Comments::Id).primary_key())
                    .col(text(Comments::DashboardId))
                    .col(text(Comments::WidgetId))
                    .col(text_null(Comments::ReplyTo))
                    .col(text(Comments::AuthorId))
                    .col(ColumnDef::new(Comments::Body).text().not_null())
                    // A JSON array of user ids.
                    .col(ColumnDef::new(Comments::Mentions).text().not_null())
                    .col(ColumnDef::new(Comments::Resolved).boolean().not_null())
                    .col(text_null(Comments::ResolverId))
                    .col(micros_null(Comments::ResolveTime))
                    .col(micros(Comments::Revision))
                    .col(micros(Comments::CreateTime))
                    .col(micros(Comments::UpdateTime))
                    .foreign_key(
                        ForeignKey::create()
                            .name("comments_widget")
                            .from(Comments::Table, Comments::WidgetId)
                            .to(Widgets::Table, Widgets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("comments_reply_to")
                            .from(Comments::Table, Comments::ReplyTo)
                            .to(Comments::Table, Comments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("comments_by_widget")
                    .table(Comments::Table)
                    .col(Comments::WidgetId)
                    .col(Comments::CreateTime)
                    .col(Comments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("comments_by_thread")
                    .table(Comments::Table)
                    .col(Comments::ReplyTo)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("comments_by_dashboard")
                    .table(Comments::Table)
                    .col(Comments::DashboardId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Comments::Table).to_owned())
            .await
    }
}
