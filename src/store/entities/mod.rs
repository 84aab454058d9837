//! One sea-orm entity per table.

pub mod dashboard;
pub mod grant;
pub mod user;
pub mod widget;
