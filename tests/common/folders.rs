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

    /// What CheckAccess says `principal` (`users/u`) may do on `dashboard` (the caller needs
    /// SHARE on it, or ADMIN).
    pub async fn access_of(&mut self, dashboard: &str, principal: &str) -> Vec<pb::Permission> {
        let request = self.req(pb::CheckAccessRequest {
            name: dashboard.into(),
            permission: 0,
            principal: principal.into(),
        });
        let response = self
            .sharing
            .check_access(request)
            .await
            .expect("CheckAccess")
            .into_inner();
        response.permissions().collect()
    }

    pub async fn update_folder(
        &mut self,
        folder: pb::Folder,
        paths: &[&str],
    ) -> Result<pb::Folder, Status> {
        let request = self.req(pb::UpdateFolderRequest {
            folder: Some(folder),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
        });
        self.folders
            .update_folder(request)
            .await
            .map(|r| r.into_inner())
    }

    pub async fn list_folders(
        &mut self,
        request: pb::ListFoldersRequest,
    ) -> Result<pb::ListFoldersResponse, Status> {
        let request = self.req(request);
        self.folders
            .list_folders(request)
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

/// Shares `folder` (`folders/{id}`) of `org` with a grantee (`kind`: `user`, `group`,
/// `tenant`, `all_tenants`, `org_members`, `everyone`; empty id for the org-wide kinds) by
/// writing the share's row: SharingService takes folders on another branch. Nothing is
/// cached from folder shares, so the next call sees it.
pub async fn share_folder(org: &str, folder: &str, kind: &str, grantee_id: &str, role: &str) {
    use dashboard_service::store::entities::folder_grant;
    use sea_orm::{ActiveValue::Set, Database, EntityTrait};
    let db = Database::connect(super::server().config.database_url.as_str())
        .await
        .expect("connect to the test database");
    let now = dashboard_service::core::now_micros();
    let row = folder_grant::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        org_id: Set(org.to_string()),
        folder_id: Set(folder.trim_start_matches("folders/").to_string()),
        grantee_kind: Set(kind.to_string()),
        grantee_id: Set(grantee_id.to_string()),
        role: Set(role.to_string()),
        expire_time: Set(None),
        creator_id: Set("test".to_string()),
        create_time: Set(now),
        update_time: Set(now),
    };
    folder_grant::Entity::insert(row)
        .exec_without_returning(&db)
        .await
        .expect("insert folder share");
    db.close().await.expect("close");
}
