//! Use cases: one function per command or query. Every mutation runs in
//! [`write::transact`]; the access decision comes from `core::authz`.

mod authorizer;

pub use authorizer::Authorizer;
