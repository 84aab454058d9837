//! SharingService's commands and queries: shares (on dashboards and on folders),
//! invitations, ownership, members, access explanations, public links.
//!
//! Every write runs in one [`crate::app::Write`]: it locks the dashboard or folder row first
//! ([`locked::Locked::begin`]), reads the caller's access (its shares and those of the
//! folders above it) and the existing shares in that transaction, decides with
//! `core::authz::sharing`, writes and records its events. Checks made before the write (the
//! same authorization, the directory lookups) only fail fast.

mod access;
mod invite;
mod locked;
mod members;
mod public_links;
mod resolve;
mod revoke;
mod share;
mod transfer;

pub use access::{
    AccessExplanation, BatchExplanation, PrincipalContext, batch_check_access, check_access,
    principal_context,
};
pub use invite::{InviteEntry, InviteRequest, InviteTarget, MAX_INVITES, invite};
pub use members::{Member, MemberSource, list_members, list_owners, list_shares};
pub use public_links::{
    create_public_link, list_public_links, revoke_public_link, shared_dashboard,
};
pub use resolve::GranteeRef;
pub use revoke::revoke;
pub use share::{ShareRequest, share};
pub use transfer::{TransferRequest, transfer_ownership};
