use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub tenant_id: Option<String>,
    pub title: String,
    pub description: String,
    /// protobuf-encoded google.protobuf.Struct
    pub metadata: Vec<u8>,
    pub refresh_period_nanos: Option<i64>,
    pub creator_id: String,
    /// Idempotency key of the create call, unique per (org, creator).
    pub request_id: Option<String>,
    pub revision: i64,
    pub create_time: i64,
    pub update_time: i64,
    pub delete_time: Option<i64>,
    pub expire_time: Option<i64>,
    /// The folder it sits in; `None` at the root.
    pub folder_id: Option<String>,
    /// Its folder's `seq` (denormalized: the listing tests it against a member's reach
    /// inside the sort-key index).
    pub folder_seq: Option<i32>,
    /// False stops its folders' shares from reaching it.
    pub inherit_access: bool,
    /// The folder whose deletion trashed it.
    pub trashed_with: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::grant::Entity")]
    Grant,
}

impl Related<super::grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Grant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
