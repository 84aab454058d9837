//! Compression (issue 13, interop): gzip and zstd requests are accepted (they were
//! UNIMPLEMENTED), and responses come compressed when the caller accepts it.

mod common;

use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use tonic::codec::CompressionEncoding;

#[tokio::test]
async fn gzip_and_zstd_both_ways() {
    let server = common::server();
    let org = common::unique_org();
    let mut admin = server
        .user(&org, "compress-admin", PlatformRole::Admin)
        .await;
    let created = admin.create("compressed").await;
    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        let mut client = DashboardServiceClient::new(server.channel().await)
            .send_compressed(encoding)
            .accept_compressed(encoding);
        let response = client
            .get_dashboard(admin.req(pb::GetDashboardRequest {
                name: created.name.clone(),
                view: 0,
            }))
            .await
            .unwrap_or_else(|status| panic!("{name} request: {status:?}"));
        assert_eq!(
            response
                .metadata()
                .get("grpc-encoding")
                .and_then(|v| v.to_str().ok()),
            Some(name),
            "the response is compressed with {name}"
        );
        assert_eq!(response.into_inner().title, "compressed");
    }

    // A caller that asks for nothing gets an uncompressed response.
    let response = admin
        .dashboards
        .get_dashboard(admin.req(pb::GetDashboardRequest {
            name: created.name.clone(),
            view: 0,
        }))
        .await
        .expect("plain request");
    assert!(response.metadata().get("grpc-encoding").is_none());
}
