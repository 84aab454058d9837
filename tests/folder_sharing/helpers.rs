//! Helpers of the folder sharing tests (tests/folder_sharing.rs, tests/folder_share_rules.rs).

#![allow(dead_code)]

use std::time::Duration;

use super::common::{Caller, TestServer, assert_error, server};
use dashboard_service::pb;
use dashboard_service::pb::folder_service_client::FolderServiceClient;
use dashboard_service::pb::watch_dashboards_response::Type;
use tonic::Code;
use tonic::transport::Channel;

const EVENT_WAIT: Duration = Duration::from_secs(20);

pub async fn folders() -> FolderServiceClient<Channel> {
    folders_on(server()).await
}

pub async fn folders_on(server: &TestServer) -> FolderServiceClient<Channel> {
    FolderServiceClient::new(server.channel().await)
}

pub async fn create_folder(
    caller: &Caller,
    title: &str,
    parent: &str,
    inherit: bool,
) -> pb::Folder {
    folders()
        .await
        .create_folder(caller.req(pb::CreateFolderRequest {
            folder: Some(pb::Folder {
                title: title.into(),
                parent: parent.into(),
                inherit_access: Some(inherit),
                ..Default::default()
            }),
        }))
        .await
        .expect("create folder")
        .into_inner()
}

pub async fn set_inherit(caller: &Caller, folder: &str, inherit: bool) {
    folders()
        .await
        .update_folder(caller.req(pb::UpdateFolderRequest {
            folder: Some(pb::Folder {
                name: folder.into(),
                inherit_access: Some(inherit),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["inherit_access".into()],
            }),
        }))
        .await
        .expect("update inherit_access");
}

pub async fn create_in(caller: &mut Caller, title: &str, folder: &str) -> String {
    let request = caller.req(pb::CreateDashboardRequest {
        dashboard: Some(pb::Dashboard {
            title: title.into(),
            folder: folder.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    caller
        .dashboards
        .create_dashboard(request)
        .await
        .expect("create in folder")
        .into_inner()
        .name
}

pub async fn check(
    caller: &mut Caller,
    name: &str,
    principal: &str,
) -> Result<pb::CheckAccessResponse, tonic::Status> {
    let request = caller.req(pb::CheckAccessRequest {
        name: name.into(),
        permission: 0,
        principal: principal.into(),
    });
    caller
        .sharing
        .check_access(request)
        .await
        .map(|r| r.into_inner())
}

pub async fn readable(caller: &mut Caller, name: &str) -> bool {
    match caller.get(name).await {
        Ok(_) => true,
        Err(status) => {
            assert_error(&status, Code::NotFound, "NOT_FOUND");
            false
        }
    }
}

/// The names of every dashboard the caller lists.
pub async fn listed(caller: &mut Caller) -> Vec<String> {
    caller
        .list_all(pb::ListDashboardsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|d| d.name)
        .collect()
}

/// (source, path) of each grant an explanation names, sorted.
pub fn sources(response: &pb::CheckAccessResponse) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = response
        .grants
        .iter()
        .map(|g| (g.source.clone(), g.path.clone()))
        .collect();
    out.sort();
    out
}

pub async fn list_shares(
    caller: &mut Caller,
    parent: &str,
) -> Result<pb::ListSharesResponse, tonic::Status> {
    let request = caller.req(pb::ListSharesRequest {
        parent: parent.into(),
    });
    caller
        .sharing
        .list_shares(request)
        .await
        .map(|r| r.into_inner())
}

pub async fn revoke(caller: &mut Caller, share: &str) -> Result<(), tonic::Status> {
    let request = caller.req(pb::RevokeShareRequest { name: share.into() });
    caller.sharing.revoke_share(request).await.map(|_| ())
}

/// The next event that is not a BOOKMARK, as (type, dashboard name).
pub async fn next(
    stream: &mut tonic::codec::Streaming<pb::WatchDashboardsResponse>,
) -> (Type, String) {
    loop {
        let event = tokio::time::timeout(EVENT_WAIT, stream.message())
            .await
            .expect("an event within the wait")
            .expect("the stream goes on")
            .expect("the stream is open");
        if event.r#type() == Type::Bookmark {
            continue;
        }
        return (
            event.r#type(),
            event.dashboard.map(|d| d.name).unwrap_or_default(),
        );
    }
}
