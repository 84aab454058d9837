use sea_orm::entity::prelude::*;

/// The closure of the folder tree: `ancestor_id` is above `descendant_id` by `depth` (0 for
/// a folder and itself); `inherits` when the ancestor's shares reach the descendant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "folder_paths")]
pub struct Model {
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ancestor_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub descendant_id: String,
    pub depth: i32,
    pub inherits: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
