//! Folders (DESIGN §5): a tree per org, shares on folders, and a dashboard's place in it.
//!
//! - `folders`: the tree by `parent_id` ('' at the root, so that the unique index of live
//!   titles among siblings works the same on both databases, which treat NULLs as
//!   distinct); `trashed_with` is the folder whose deletion trashed a folder or dashboard,
//!   so that undelete restores exactly that subtree and not what was trashed on its own.
//! - `folder_paths`: the closure table, one row per (ancestor, descendant) pair (a folder is
//!   its own ancestor at depth 0). `inherits` says whether the ancestor's shares reach the
//!   descendant: true when no folder on the way down, the ancestor excluded, stops
//!   inheritance. A dashboard's chain and a member's reach are then one indexed join each,
//!   whatever the depth.
//! - `folder_grants`: shares on folders, with the grantee index a member's reach starts
//!   from.
//! - `dashboards.folder_id`, `inherit_access`, `trashed_with`.

use sea_orm_migration::prelude::*;

use super::{micros, micros_null, text, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Folders {
    Table,
    Id,
    OrgId,
    ParentId,
    Title,
    Description,
    InheritAccess,
    CreatorId,
    Revision,
    CreateTime,
    UpdateTime,
    DeleteTime,
    TrashedWith,
    Seq,
}

#[derive(DeriveIden)]
enum FolderPaths {
    Table,
    OrgId,
    AncestorId,
    DescendantId,
    Depth,
    Inherits,
}

#[derive(DeriveIden)]
enum FolderGrants {
    Table,
    Id,
    OrgId,
    FolderId,
    GranteeKind,
    GranteeId,
    Role,
    ExpireTime,
    CreatorId,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Dashboards {
    Table,
    OrgId,
    FolderId,
    FolderSeq,
    InheritAccess,
    TrashedWith,
    DeleteTime,
    CreateTime,
    UpdateTime,
    Title,
    Id,
}

/// `(old index name, new index name, sort key)` of the org's sort-key walks: the new ones
/// also cover what a member's walk through folders tests on each entry (trash, inheritance,
/// folder), so the walk never visits the table.
const WALK_INDEXES: [(&str, &str, Dashboards); 3] = [
    (
        "dashboards_org_create_time",
        "dashboards_walk_create_time",
        Dashboards::CreateTime,
    ),
    (
        "dashboards_org_update_time",
        "dashboards_walk_update_time",
        Dashboards::UpdateTime,
    ),
    (
        "dashboards_org_title",
        "dashboards_walk_title",
        Dashboards::Title,
    ),
];

/// `(index name, sort key)` of a folder's dashboards.
const FOLDER_LISTING_INDEXES: [(&str, Dashboards); 3] = [
    ("dashboards_folder_create_time", Dashboards::CreateTime),
    ("dashboards_folder_update_time", Dashboards::UpdateTime),
    ("dashboards_folder_title", Dashboards::Title),
];

fn flag(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .boolean()
        .not_null()
        .default(true)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Folders::Table)
                    .col(text(Folders::Id).primary_key())
                    .col(text(Folders::OrgId))
                    .col(text(Folders::ParentId))
                    .col(text(Folders::Title))
                    .col(text(Folders::Description))
                    .col(flag(Folders::InheritAccess))
                    .col(text(Folders::CreatorId))
                    .col(micros(Folders::Revision))
                    .col(micros(Folders::CreateTime))
                    .col(micros(Folders::UpdateTime))
                    .col(micros_null(Folders::DeleteTime))
                    .col(text_null(Folders::TrashedWith))
                    .col(ColumnDef::new(Folders::Seq).integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("folders_by_parent")
                    .table(Folders::Table)
                    .col(Folders::OrgId)
                    .col(Folders::ParentId)
                    .col(Folders::Title)
                    .col(Folders::Id)
                    .to_owned(),
            )
            .await?;
        // The folder's number in its org (1, 2, ...: never reused), the position of its bit
        // in a member's reach (see store/dashboards/reach.rs).
        manager
            .create_index(
                Index::create()
                    .name("folders_seq")
                    .table(Folders::Table)
                    .col(Folders::OrgId)
                    .col(Folders::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("folders_trashed_with")
                    .table(Folders::Table)
                    .col(Folders::TrashedWith)
                    .to_owned(),
            )
            .await?;
        // Titles are unique among the live children of one parent (a partial index: the
        // same SQL on both databases).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX folders_live_title ON folders (org_id, parent_id, title) \
                 WHERE delete_time IS NULL",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FolderPaths::Table)
                    .col(text(FolderPaths::OrgId))
                    .col(text(FolderPaths::AncestorId))
                    .col(text(FolderPaths::DescendantId))
                    .col(ColumnDef::new(FolderPaths::Depth).integer().not_null())
                    .col(flag(FolderPaths::Inherits))
                    .primary_key(
                        Index::create()
                            .col(FolderPaths::AncestorId)
                            .col(FolderPaths::DescendantId),
                    )
                    .to_owned(),
            )
            .await?;
        // A folder's chain, nearest first.
        manager
            .create_index(
                Index::create()
                    .name("folder_paths_chain")
                    .table(FolderPaths::Table)
                    .col(FolderPaths::DescendantId)
                    .col(FolderPaths::Depth)
                    .col(FolderPaths::AncestorId)
                    .col(FolderPaths::Inherits)
                    .to_owned(),
            )
            .await?;
        // What a share on a folder reaches (covering).
        manager
            .create_index(
                Index::create()
                    .name("folder_paths_reach")
                    .table(FolderPaths::Table)
                    .col(FolderPaths::AncestorId)
                    .col(FolderPaths::Inherits)
                    .col(FolderPaths::DescendantId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FolderGrants::Table)
                    .col(text(FolderGrants::Id).primary_key())
                    .col(text(FolderGrants::OrgId))
                    .col(text(FolderGrants::FolderId))
                    .col(text(FolderGrants::GranteeKind))
                    .col(text(FolderGrants::GranteeId))
                    .col(text(FolderGrants::Role))
                    .col(micros_null(FolderGrants::ExpireTime))
                    .col(text(FolderGrants::CreatorId))
                    .col(micros(FolderGrants::CreateTime))
                    .col(micros(FolderGrants::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("folder_grants_folder_grantee")
                    .table(FolderGrants::Table)
                    .col(FolderGrants::FolderId)
                    .col(FolderGrants::GranteeKind)
                    .col(FolderGrants::GranteeId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A subject's shares on folders (covering: role and expiry are checked in the index).
        manager
            .create_index(
                Index::create()
                    .name("folder_grants_grantee")
                    .table(FolderGrants::Table)
                    .col(FolderGrants::OrgId)
                    .col(FolderGrants::GranteeKind)
                    .col(FolderGrants::GranteeId)
                    .col(FolderGrants::FolderId)
                    .col(FolderGrants::Role)
                    .col(FolderGrants::ExpireTime)
                    .to_owned(),
            )
            .await?;

        // SQLite adds one column per ALTER TABLE.
        for column in [
            text_null(Dashboards::FolderId),
            ColumnDef::new(Dashboards::FolderSeq)
                .integer()
                .null()
                .to_owned(),
            flag(Dashboards::InheritAccess),
            text_null(Dashboards::TrashedWith),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Dashboards::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // A folder's dashboards in page order, one index per sort key: a member who reaches
        // few folders lists them as one ordered arm each (and `folder =`, trash and moves
        // find a folder's dashboards).
        for (name, key) in FOLDER_LISTING_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Dashboards::Table)
                        .col(Dashboards::OrgId)
                        .col(Dashboards::FolderId)
                        .col(key)
                        .col(Dashboards::Id)
                        .to_owned(),
                )
                .await?;
        }
        for (old, new, key) in WALK_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(new)
                        .table(Dashboards::Table)
                        .col(Dashboards::OrgId)
                        .col(key)
                        .col(Dashboards::Id)
                        .col(Dashboards::DeleteTime)
                        .col(Dashboards::InheritAccess)
                        .col(Dashboards::FolderId)
                        .col(Dashboards::FolderSeq)
                        .to_owned(),
                )
                .await?;
            // The new index starts with the old one's columns.
            manager
                .drop_index(Index::drop().name(old).table(Dashboards::Table).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("dashboards_trashed_with")
                    .table(Dashboards::Table)
                    .col(Dashboards::TrashedWith)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (old, new, key) in WALK_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(old)
                        .table(Dashboards::Table)
                        .col(Dashboards::OrgId)
                        .col(key)
                        .col(Dashboards::Id)
                        .to_owned(),
                )
                .await?;
            manager
                .drop_index(Index::drop().name(new).table(Dashboards::Table).to_owned())
                .await?;
        }
        let names = FOLDER_LISTING_INDEXES
            .map(|(name, _)| name)
            .into_iter()
            .chain(["dashboards_trashed_with"]);
        for name in names {
            manager
                .drop_index(Index::drop().name(name).table(Dashboards::Table).to_owned())
                .await?;
        }
        for column in [
            Dashboards::FolderId,
            Dashboards::FolderSeq,
            Dashboards::InheritAccess,
            Dashboards::TrashedWith,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Dashboards::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            FolderGrants::Table.into_iden(),
            FolderPaths::Table.into_iden(),
            Folders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
