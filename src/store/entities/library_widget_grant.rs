use sea_orm::entity::prelude::*;

/// A role on a library widget given to a grantee.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "library_widget_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub library_widget_id: String,
    pub grantee_kind: String,
    pub grantee_id: String,
    pub role: String,
    pub expire_time: Option<i64>,
    pub creator_id: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
