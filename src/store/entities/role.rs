use sea_orm::entity::prelude::*;

/// A custom dashboard role of an org.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// `roles/{id}`.
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// Bit set of `authz::Permission`.
    pub permissions: i32,
    pub can_read: bool,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
