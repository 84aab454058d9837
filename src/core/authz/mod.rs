//! THE access rules, in one place, apart from the handlers and the store.
//!
//! Effective permissions of principal P on dashboard D =
//! (union of the role permissions of every unexpired grant matching P on D) ∩ ceiling(P.role);
//! an ADMIN of D's org has all of them. Organizations are walls: nothing crosses them.
//! Cannot READ -> NOT_FOUND (D does not exist for P); can READ but lacks the permission ->
//! PERMISSION_DENIED.

mod comments;
mod inheritance;
mod moves;
mod permission;
mod policy;
mod role;
mod sharing;

pub use comments::{CommentChange, authorize_comment_change};
pub use inheritance::{ChainLink, Inheritance, inheritance};
pub use moves::{AccessChange, Audience, MoveFacts, access_changes, grantee_audiences};
pub use permission::{Permission, PermissionSet};
pub use policy::{
    Access, Grant, GranteeKind, RoleBook, ShareTarget, Subject, authorize, effective_access,
    readable_roles, subjects_of,
};
pub use role::{
    BuiltinRole, ceiling, may_create_dashboards, may_manage_directory, may_manage_groups,
};
pub use sharing::{
    ShareUpsert, check_grantee_scope, check_keeps_owner, check_role_change, check_share_limit,
};
