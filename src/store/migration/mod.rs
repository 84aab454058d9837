//! Timestamped schema migrations, shared by SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_widgets;
mod m20261122_000003_sharing;
mod m20261122_000004_listing_index;
mod m20261122_000005_grant_listing_keys;
mod m20261201_220000_identity_sources;
mod m20261202_120000_change_log;
mod m20261202_200000_versions;
mod m20261203_010000_stars;
mod m20261203_020000_labels;
mod m20261203_100000_folders;
mod m20261203_120000_library_widgets;
mod m20261203_200000_comments;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_widgets::Migration),
            Box::new(m20261122_000003_sharing::Migration),
            Box::new(m20261122_000004_listing_index::Migration),
            Box::new(m20261122_000005_grant_listing_keys::Migration),
            Box::new(m20261201_220000_identity_sources::Migration),
            Box::new(m20261202_120000_change_log::Migration),
            Box::new(m20261202_200000_versions::Migration),
            Box::new(m20261203_010000_stars::Migration),
            Box::new(m20261203_020000_labels::Migration),
            Box::new(m20261203_100000_folders::Migration),
            Box::new(m20261203_120000_library_widgets::Migration),
            Box::new(m20261203_200000_comments::Migration),
        ]
    }
}

/// Column helpers shared by the migrations: ids and text are strings, times are
/// microseconds since the epoch in a BIGINT.
pub(crate) fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

pub(crate) fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}

pub(crate) fn micros(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

pub(crate) fn micros_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}
