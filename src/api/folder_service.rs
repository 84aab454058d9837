//! FolderService: parse -> one `app::folders` call -> convert.

use std::time::Duration;

use tonic::{Request, Response, Status};

use super::{convert, split, written};
use crate::app::App;
use crate::app::folders::{self, NewFolder, Placed};
use crate::core::Error;
use crate::core::Result;
use crate::core::dashboard::Limits;
use crate::core::folder::parse_folder_name;
use crate::pb;
use crate::pb::folder_service_server::FolderService;

pub struct FolderApi {
    app: App,
    limits: Limits,
    trash_retention: Duration,
}

impl FolderApi {
    pub fn new(app: App, limits: Limits, trash_retention: Duration) -> Self {
        Self {
            app,
            limits,
            trash_retention,
        }
    }
}

#[tonic::async_trait]
impl FolderService for FolderApi {
    async fn create_folder(
        &self,
        request: Request<pb::CreateFolderRequest>,
    ) -> Result<Response<pb::Folder>, Status> {
        let (caller, request) = split(request)?;
        let folder = request
            .folder
            .ok_or_else(|| Error::invalid("folder", "required"))?;
        let new = NewFolder {
            parent_id: parent_of("folder.parent", &folder.parent)?,
            title: folder.title,
            description: folder.description,
            inherit_access: folder.inherit_access.unwrap_or(true),
        };
        let created = folders::create(&self.app, &caller, &self.limits, new).await?;
        Ok(written(created.map(|p| render(&p))))
    }

    async fn get_folder(
        &self,
        request: Request<pb::GetFolderRequest>,
    ) -> Result<Response<pb::Folder>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_folder_name("name", &request.name)?;
        let found = folders::get(&self.app, &caller, &id).await?;
        Ok(Response::new(render(&found)))
    }

    async fn delete_folder(
        &self,
        request: Request<pb::DeleteFolderRequest>,
    ) -> Result<Response<pb::Folder>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_folder_name("name", &request.name)?;
        let deleted =
            folders::delete(&self.app, &caller, &id, &request.etag, self.trash_retention).await?;
        Ok(written(deleted.map(|p| render(&p))))
    }

    async fn undelete_folder(
        &self,
        request: Request<pb::UndeleteFolderRequest>,
    ) -> Result<Response<pb::Folder>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_folder_name("name", &request.name)?;
        let restored = folders::undelete(&self.app, &caller, &id).await?;
        Ok(written(restored.map(|p| render(&p))))
    }
}

/// `folders/{id}` as an id; empty: the root.
pub(super) fn parent_of(field: &str, name: &str) -> Result<Option<String>> {
    if name.is_empty() {
        return Ok(None);
    }
    parse_folder_name(field, name).map(Some)
}

fn render(p: &Placed) -> pb::Folder {
    convert::folder(&p.folder, p.depth)
}
