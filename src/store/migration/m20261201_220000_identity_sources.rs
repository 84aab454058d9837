//! Where identity facts come from (issue 11): whether an ADMIN set a user's role and tenant
//! (just-in-time recording then leaves them alone and the role caps the token's), the email
//! a token claimed but another user of the org holds (recorded without it), and who created
//! a group (its creator and the org's ADMINs manage its membership).
//!
//! Rows that exist before this migration count as recorded from tokens (not ADMIN-set) and
//! their groups as having no creator (only ADMINs manage them): the flags cannot be
//! reconstructed, and guessing "ADMIN-set" would pin every user to its last token's role.

use sea_orm_migration::prelude::*;

use super::text_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    RoleSetByAdmin,
    WithheldEmail,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    CreatorId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::RoleSetByAdmin)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(text_null(Users::WithheldEmail))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .add_column(text_null(Groups::CreatorId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Groups::Table)
                    .drop_column(Groups::CreatorId)
                    .to_owned(),
            )
            .await?;
        for column in [Users::WithheldEmail, Users::RoleSetByAdmin] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
