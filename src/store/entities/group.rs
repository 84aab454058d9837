use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    pub description: String,
    /// `org` or `tenant`.
    pub kind: String,
    pub tenant_id: Option<String>,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
    /// The user who created the group (NULL for groups older than this column).
    pub creator_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
