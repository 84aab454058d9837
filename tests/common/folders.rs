//! Folder helpers for the black-box tests.

use dashboard_service::pb;
use tonic::Status;

use super::Caller;

impl Caller {
    /// CreateFolder under `parent` (`""`: the root).
    pub async fn try_folder(
        &mut self,
        title: &str,
        parent: &str,
        inherit_access: Option<bool>,
    ) -> Result<pb::Folder, Status> {
        let request = self.req(pb::CreateFolderRequest {
            folder: Some(pb::Folder {
                title: title.into(),
                parent: parent.into(),
                inherit_access,
                ..Default::default()
            }),
        });
        self.folders
            .create_folder(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn folder(&mut self, title: &str, parent: &str) -> pb::Folder {
        self.try_folder(title, parent, None)
            .await
            .expect("create folder")
    }

    pub async fn get_folder(&mut self, name: &str) -> Result<pb::Folder, Status> {
        let request = self.req(pb::GetFolderRequest { name: name.into() });
        self.folders
            .get_folder(request)
            .await
            .map(|r| r.into_inner())
    }

    /// CreateDashboard in `folder` (`""`: the root).
    pub async fn try_create_in(
        &mut self,
        title: &str,
        folder: &str,
    ) -> Result<pb::Dashboard, Status> {
        let request = self.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: title.into(),
                folder: folder.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        });
        self.dashboards
            .create_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn create_in(&mut self, title: &str, folder: &str) -> pb::Dashboard {
        self.try_create_in(title, folder)
            .await
            .expect("create dashboard in folder")
    }

    /// MoveDashboard.
    pub async fn move_dashboard(
        &mut self,
        name: &str,
        folder: &str,
        validate_only: bool,
    ) -> Result<pb::MoveDashboardResponse, Status> {
        let request = self.req(pb::MoveDashboardRequest {
            name: name.into(),
            folder: folder.into(),
            validate_only,
        });
        self.dashboards
            .move_dashboard(request)
            .await
            .map(|r| r.into_inner())
    }

    /// MoveFolder.
    pub async fn move_folder(
        &mut self,
        name: &str,
        parent: &str,
        validate_only: bool,
    ) -> Result<pb::MoveFolderResponse, Status> {
        let request = self.req(pb::MoveFolderRequest {
            name: name.into(),
            parent: parent.into(),
            validate_only,
        });
        self.folders
            .move_folder(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn delete_folder(&mut self, name: &str) -> Result<pb::Folder, Status> {
        let request = self.req(pb::DeleteFolderRequest {
            name: name.into(),
            etag: String::new(),
        });
        self.folders
            .delete_folder(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn undelete_folder(&mut self, name: &str) -> Result<pb::Folder, Status> {
        let request = self.req(pb::UndeleteFolderRequest { name: name.into() });
        self.folders
            .undelete_folder(request)
            .await
            .map(|r| r.into_inner())
    }
}
