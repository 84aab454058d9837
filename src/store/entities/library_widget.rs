use sea_orm::entity::prelude::*;

/// A library widget: the content of a widget kept once (see the library widgets migration).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "library_widgets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// `CHART`, `STAT`, ... (core::widget::WidgetType::as_str).
    pub widget_type: String,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    /// protobuf-encoded google.protobuf.Struct
    pub config: Vec<u8>,
    /// JSON array of core::widget::DataSource, as in `widgets`.
    pub data_sources: String,
    pub creator_id: String,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
