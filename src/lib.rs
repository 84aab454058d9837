//! dashboard-service: a gRPC service that stores dashboards and who may see and change them.
//!
//! Layers, each importing only those below it (DESIGN §3; `tests/layering.rs` enforces it):
//! `server` (binary assembly: config, auth and other tower layers, health, metrics, drain)
//! -> `api` (thin tonic handlers, proto conversion, the one error -> status mapping)
//! -> `app` (use cases; every write through one transaction that appends the change log)
//! -> `store` (sea-orm entities, migrations, repositories)
//! -> `core` (plain types, validation, filters, and the access policy).

pub mod api;
pub mod app;
pub mod core;
pub mod server;
pub mod store;

/// Generated protobuf types, clients and servers of `dashboards.v1`.
pub mod pb {
    tonic::include_proto!("dashboards.v1");
}

/// The descriptor set for Envoy's grpc_json_transcoder (`proto_descriptor`, REST+JSON from the
/// `google.api.http` annotations): the `dashboards.v1` files with their imports, plus
/// `google.rpc.Status` and the error details, so that errors arrive as JSON with their
/// ErrorInfo. `buf build -o dashboards.binpb` at the repository root writes an equivalent one.
pub const TRANSCODER_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("dashboards_v1_transcoder_descriptor");
