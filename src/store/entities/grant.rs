use sea_orm::entity::prelude::*;

/// A role on a dashboard given to a grantee (`grantee_kind`, `grantee_id`); org-wide kinds
/// have an empty `grantee_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub dashboard_id: String,
    pub grantee_kind: String,
    pub grantee_id: String,
    pub role: String,
    pub expire_time: Option<i64>,
    pub creator_id: String,
    pub create_time: i64,
    pub update_time: i64,
    /// Copies of the dashboard's sort keys and trash state, kept in step by the
    /// repositories, so that listing can walk a subject's grants in page order.
    pub dashboard_title: String,
    pub dashboard_create_time: i64,
    pub dashboard_update_time: i64,
    pub dashboard_delete_time: Option<i64>,
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
