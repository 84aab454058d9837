//! Timestamped schema migrations, shared by SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_widgets;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_widgets::Migration),
        ]
    }
}
