//! One sea-orm entity per table.

pub mod comment;
pub mod dashboard;
pub mod dashboard_label;
pub mod dashboard_version;
pub mod event;
pub mod folder;
pub mod folder_grant;
pub mod folder_path;
pub mod grant;
pub mod group;
pub mod group_member;
pub mod label;
pub mod library_widget;
pub mod library_widget_grant;
pub mod org_revision;
pub mod public_link;
pub mod role;
pub mod star;
pub mod user;
pub mod version_content;
pub mod widget;
pub mod widget_state;
