//! Compiles the protos with protox (pure Rust: no system `protoc`), generates the tonic
//! clients/servers, and writes the descriptor set that the reflection service serves.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/dashboards/v1/audit_service.proto",
        "proto/dashboards/v1/dashboard_service.proto",
        "proto/dashboards/v1/directory_service.proto",
        "proto/dashboards/v1/sharing_service.proto",
        "proto/dashboards/v1/widget_service.proto",
    ];
    println!("cargo:rerun-if-changed=proto");

    let fds = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("dashboards_v1_descriptor.bin"),
        fds.encode_to_vec(),
    )?;

    // Every message knows its full name (`prost::Name`): the codec looks its descriptor up
    // to check the text fields of a decoded request (src/api/codec.rs).
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // RPCs that are declared but not built yet answer UNIMPLEMENTED.
        .generate_default_stubs(true)
        .codec_path("crate::api::codec::CheckedCodec")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
