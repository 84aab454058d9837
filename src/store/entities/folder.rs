use sea_orm::entity::prelude::*;

/// A folder of an org's tree; `parent_id` is '' at the root.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "folders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub parent_id: String,
    pub title: String,
    pub description: String,
    pub inherit_access: bool,
    pub creator_id: String,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
    pub delete_time: Option<i64>,
    /// The folder whose deletion trashed this one (itself for the folder deleted).
    pub trashed_with: Option<String>,
    /// The folder's number in its org (1, 2, ...; never reused).
    pub seq: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
