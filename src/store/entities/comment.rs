use sea_orm::entity::prelude::*;

/// A comment on a widget (see the comments migration).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub dashboard_id: String,
    pub widget_id: String,
    pub reply_to: Option<String>,
    pub author_id: String,
    pub body: String,
    /// JSON array of user ids.
    pub mentions: String,
    pub resolved: bool,
    pub resolver_id: Option<String>,
    pub resolve_time: Option<i64>,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
