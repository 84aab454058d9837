//! dashboard-service: a gRPC service that stores dashboards and who may see and change them.
//!
//! Layers, outermost first: `server` (assembly, health, reflection, shutdown) -> `auth`
//! (JWT tower layer) -> `api` (thin handlers) -> `authz` (the policy) -> `store` (sea-orm).
//! `domain` holds the plain types and the error enum every layer shares.

pub mod api;
pub mod auth;
pub mod authz;
pub mod config;
pub mod domain;
pub mod layers;
pub mod server;
pub mod store;

/// Generated protobuf types, clients and servers of `dashboards.v1`.
pub mod pb {
    tonic::include_proto!("dashboards.v1");
}
