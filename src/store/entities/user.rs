use sea_orm::entity::prelude::*;

/// A user of an org, created just-in-time from token claims (and later by UpsertUser).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: Option<String>,
    pub email: Option<String>,
    pub display_name: String,
    pub role: String,
    pub create_time: i64,
    pub update_time: i64,
    /// An ADMIN set this user (UpsertUser): tokens no longer rewrite it, and its role caps
    /// the role of the user's tokens.
    pub role_set_by_admin: bool,
    /// The email the user's token claims while another user of the org holds it.
    pub withheld_email: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
