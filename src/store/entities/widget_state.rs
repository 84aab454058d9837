use sea_orm::entity::prelude::*;

/// A widget's content and layout over the versions `[valid_from, valid_to)`; `valid_to` is
/// NULL while it is the widget's current state.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "widget_states")]
pub struct Model {
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub dashboard_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub widget_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub content_hash: Vec<u8>,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
