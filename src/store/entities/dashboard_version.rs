use sea_orm::entity::prelude::*;

/// One version of a dashboard (see the versions migration).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboard_versions")]
pub struct Model {
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub dashboard_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i64,
    pub revision: i64,
    pub actor: String,
    pub create_time: i64,
    pub message: Option<String>,
    pub restored_from: Option<i64>,
    pub fields_hash: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
