//! Helpers of tests/library_widgets.rs: a caller with a LibraryWidgetService client, the
//! requests the tests repeat.

use crate::common::{self, Caller, server, unique_org, with_token};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::library_widget_service_client::LibraryWidgetServiceClient;
use tonic::Status;
use tonic::transport::Channel;

/// A caller with a LibraryWidgetService client beside its other clients.
pub struct User {
    pub caller: Caller,
    pub library: LibraryWidgetServiceClient<Channel>,
}

impl User {
    pub async fn new(org: &str, sub: &str, role: PlatformRole) -> User {
        User::of(server(), org, sub, role).await
    }

    pub async fn of(server: &common::TestServer, org: &str, sub: &str, role: PlatformRole) -> User {
        let caller = server.user(org, sub, role).await;
        let library = LibraryWidgetServiceClient::new(server.channel().await);
        User { caller, library }
    }

    pub async fn of_tenant(org: &str, sub: &str, tenant: &str, role: PlatformRole) -> User {
        let caller = server().tenant_user(org, sub, tenant, role).await;
        let library = LibraryWidgetServiceClient::new(server().channel().await);
        User { caller, library }
    }

    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        with_token(message, &self.caller.token)
    }

    pub async fn create_library(&mut self, title: &str) -> Result<pb::LibraryWidget, Status> {
        let request = self.req(pb::CreateLibraryWidgetRequest {
            library_widget: Some(content(title)),
        });
        self.library
            .create_library_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn get_library(&mut self, name: &str) -> Result<pb::LibraryWidget, Status> {
        let request = self.req(pb::GetLibraryWidgetRequest { name: name.into() });
        self.library
            .get_library_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn retitle_library(
        &mut self,
        name: &str,
        title: &str,
    ) -> Result<tonic::Response<pb::LibraryWidget>, Status> {
        let request = self.req(pb::UpdateLibraryWidgetRequest {
            library_widget: Some(pb::LibraryWidget {
                name: name.into(),
                title: title.into(),
                ..Default::default()
            }),
            update_mask: Some(mask(&["title"])),
        });
        self.library.update_library_widget(request).await
    }

    pub async fn delete_library(&mut self, name: &str, force: bool) -> Result<(), Status> {
        let request = self.req(pb::DeleteLibraryWidgetRequest {
            name: name.into(),
            etag: String::new(),
            force,
        });
        self.library
            .delete_library_widget(request)
            .await
            .map(|_| ())
    }

    pub async fn connections(
        &mut self,
        name: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListLibraryWidgetConnectionsResponse, Status> {
        let request = self.req(pb::ListLibraryWidgetConnectionsRequest {
            name: name.into(),
            page_size,
            page_token: page_token.into(),
        });
        self.library
            .list_library_widget_connections(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn list_library(
        &mut self,
        page_size: i32,
        page_token: &str,
    ) -> pb::ListLibraryWidgetsResponse {
        let request = self.req(pb::ListLibraryWidgetsRequest {
            page_size,
            page_token: page_token.into(),
        });
        self.library
            .list_library_widgets(request)
            .await
            .expect("ListLibraryWidgets")
            .into_inner()
    }

    /// Shares `name` (a dashboard or a library widget) with `with`.
    pub async fn share(
        &mut self,
        name: &str,
        with: &User,
        role: &str,
    ) -> Result<pb::Share, Status> {
        let request = self.req(pb::ShareDashboardRequest {
            name: name.into(),
            grantee: Some(pb::Grantee {
                kind: Some(pb::grantee::Kind::User(with.caller.name())),
            }),
            role: role.into(),
            expire_time: None,
        });
        self.caller
            .sharing
            .share_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn list_shares(&mut self, parent: &str) -> Result<pb::ListSharesResponse, Status> {
        let request = self.req(pb::ListSharesRequest {
            parent: parent.into(),
        });
        self.caller
            .sharing
            .list_shares(request)
            .await
            .map(|r| r.into_inner())
    }

    /// A widget on `dashboard` linking `library` (at `x`, row 0).
    pub async fn link(
        &mut self,
        dashboard: &str,
        library: &str,
        x: i32,
    ) -> Result<pb::Widget, Status> {
        let request = self.req(pb::CreateWidgetRequest {
            parent: dashboard.into(),
            widget: Some(pb::Widget {
                library_widget: library.into(),
                layout: Some(pb::WidgetLayout {
                    x: Some(x),
                    y: Some(0),
                    w: Some(6),
                    h: Some(4),
                }),
                ..Default::default()
            }),
            source_widget: String::new(),
            version_message: String::new(),
        });
        self.caller
            .widgets
            .create_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn get_widget(&mut self, name: &str) -> Result<pb::Widget, Status> {
        let request = self.req(pb::GetWidgetRequest { name: name.into() });
        self.caller
            .widgets
            .get_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn update_widget(
        &mut self,
        widget: pb::Widget,
        paths: &[&str],
    ) -> Result<pb::Widget, Status> {
        let request = self.req(pb::UpdateWidgetRequest {
            widget: Some(widget),
            update_mask: Some(mask(paths)),
            version_message: String::new(),
        });
        self.caller
            .widgets
            .update_widget(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn full(&mut self, dashboard: &str) -> Result<pb::Dashboard, Status> {
        let request = self.req(pb::GetDashboardRequest {
            name: dashboard.into(),
            view: pb::DashboardView::Full as i32,
        });
        self.caller
            .dashboards
            .get_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn list_widgets(&mut self, dashboard: &str) -> Vec<pb::Widget> {
        let request = self.req(pb::ListWidgetsRequest {
            parent: dashboard.into(),
            ..Default::default()
        });
        self.caller
            .widgets
            .list_widgets(request)
            .await
            .expect("ListWidgets")
            .into_inner()
            .widgets
    }

    /// The events of the org whose resource is `resource`, oldest first (an ADMIN sees all).
    pub async fn events_of(&mut self, filter: &str) -> Vec<pb::Event> {
        let request = self.req(pb::ListEventsRequest {
            page_size: 1000,
            filter: filter.into(),
            ..Default::default()
        });
        let mut events = self
            .caller
            .audit
            .list_events(request)
            .await
            .expect("ListEvents")
            .into_inner()
            .events;
        events.reverse();
        events
    }
}

pub fn mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    }
}

pub fn content(title: &str) -> pb::LibraryWidget {
    pb::LibraryWidget {
        r#type: pb::WidgetType::Stat as i32,
        title: title.into(),
        subtitle: "shared".into(),
        description: "kept once".into(),
        data_sources: vec![pb::DataSource {
            device_id: "dev-1".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The org, an ADMIN and an AUTHOR of it.
pub async fn org() -> (String, User, User) {
    let org = unique_org();
    let admin = User::new(&org, "admin", PlatformRole::Admin).await;
    let author = User::new(&org, "author", PlatformRole::Author).await;
    (org, admin, author)
}

/// A config of about `bytes` bytes encoded.
pub fn config_of(bytes: usize) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "blob".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue("x".repeat(bytes))),
            },
        )]
        .into(),
    }
}
