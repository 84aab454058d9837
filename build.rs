//! Compiles the protos with protox (pure Rust: no system `protoc`), generates the tonic
//! clients/servers, and writes the descriptor set that the reflection service serves, and
//! the one Envoy's grpc_json_transcoder loads (`dashboard_service::TRANSCODER_DESCRIPTOR_SET`).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/dashboards/v1/audit_service.proto",
        "proto/dashboards/v1/dashboard_service.proto",
        "proto/dashboards/v1/directory_service.proto",
        "proto/dashboards/v1/folder_service.proto",
        "proto/dashboards/v1/label_service.proto",
        "proto/dashboards/v1/library_widget_service.proto",
        "proto/dashboards/v1/sharing_service.proto",
        "proto/dashboards/v1/version_service.proto",
        "proto/dashboards/v1/widget_service.proto",
        "proto/dashboards/v1/comment_service.proto",
    ];
    println!("cargo:rerun-if-changed=proto");

    // `encode_file_descriptor_set` keeps the extension options (`google.api.http`, field
    // behaviors, resources) that the `prost_types` form of the set drops: reflection and
    // Envoy's transcoder need them.
    let compile = |files: &[&str]| -> Result<protox::Compiler, protox::Error> {
        let mut compiler = protox::Compiler::new(["proto"])?;
        compiler
            .include_imports(true)
            .include_source_info(true)
            .open_files(files)?;
        Ok(compiler)
    };
    let compiler = compile(&protos)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("dashboards_v1_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    // For Envoy's grpc_json_transcoder: the same files plus google.rpc.Status and the error
    // details, which it needs to print an error's `grpc-status-details-bin` as JSON
    // (`convert_grpc_status`). Not generated into Rust: tonic-types has those types.
    let mut with_status = protos.to_vec();
    with_status.extend(["google/rpc/status.proto", "google/rpc/error_details.proto"]);
    std::fs::write(
        out_dir.join("dashboards_v1_transcoder_descriptor.bin"),
        compile(&with_status)?.encode_file_descriptor_set(),
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
        .compile_fds_with_config(compiler.file_descriptor_set(), config)?;
    Ok(())
}
