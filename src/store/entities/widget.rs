use sea_orm::entity::prelude::*;

/// A widget of a dashboard. `x`, `y`, `w`, `h` are its place on the 24-column grid.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "widgets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub dashboard_id: String,
    /// `CHART`, `STAT`, ... (domain::widget::WidgetType::as_str).
    pub widget_type: String,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    /// protobuf-encoded google.protobuf.Struct
    pub config: Vec<u8>,
    /// JSON array of domain::widget::DataSource (see the widgets migration).
    pub data_sources: String,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
    /// The library widget it links (its content columns then hold a copy of that one's).
    pub library_widget_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::dashboard::Entity",
        from = "Column::DashboardId",
        to = "super::dashboard::Column::Id",
        on_delete = "Cascade"
    )]
    Dashboard,
}

impl Related<super::dashboard::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Dashboard.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
