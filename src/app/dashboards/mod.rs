//! Dashboard commands and queries.

mod create;

pub use create::{NewDashboardFields, create};
