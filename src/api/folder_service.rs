//! FolderService: parse -> one `app::folders` call -> convert.

use std::time::Duration;

use tonic::{Request, Response, Status};

use super::{convert, page_size, split, written};
use crate::app::folders::{self, FolderUpdate, ListFolders, NewFolder, Placed};
use crate::app::{App, Written};
use crate::core::Error;
use crate::core::Result;
use crate::core::dashboard::Limits;
use crate::core::folder::parse_folder_name;
use crate::core::mask::MaskFields;
use crate::pb;
use crate::pb::folder_service_server::FolderService;

/// The fields an update mask may name, and those the server sets (`parent` changes only
/// with MoveFolder).
const MASK: MaskFields = MaskFields {
    updatable: &["title", "description", "inherit_access"],
    output_only: &[
        "name",
        "parent",
        "creator",
        "create_time",
        "update_time",
        "delete_time",
        "etag",
        "depth",
    ],
};

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

    async fn list_folders(
        &self,
        request: Request<pb::ListFoldersRequest>,
    ) -> Result<Response<pb::ListFoldersResponse>, Status> {
        let (caller, request) = split(request)?;
        let list = ListFolders {
            parent_id: parent_of("parent", &request.parent)?,
            filter: request.filter,
            page_size: page_size(request.page_size, &self.limits)?,
            page_token: request.page_token,
            show_deleted: request.show_deleted,
            recursive: request.recursive,
        };
        let page = folders::list(&self.app, &caller, list).await?;
        Ok(Response::new(pb::ListFoldersResponse {
            folders: page.folders.iter().map(render).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_folder(
        &self,
        request: Request<pb::UpdateFolderRequest>,
    ) -> Result<Response<pb::Folder>, Status> {
        let (caller, request) = split(request)?;
        let folder = request
            .folder
            .ok_or_else(|| Error::invalid("folder", "required"))?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let update = update_of(folder, &paths)?;
        let updated = folders::update(&self.app, &caller, &self.limits, update).await?;
        Ok(written(updated.map(|p| render(&p))))
    }

    async fn move_folder(
        &self,
        request: Request<pb::MoveFolderRequest>,
    ) -> Result<Response<pb::MoveFolderResponse>, Status> {
        let (caller, request) = split(request)?;
        let id = parse_folder_name("name", &request.name)?;
        let parent = parent_of("parent", &request.parent)?;
        let Written { value, revision } = folders::move_folder(
            &self.app,
            &caller,
            &self.limits,
            &id,
            parent,
            request.validate_only,
        )
        .await?;
        Ok(written(Written {
            value: pb::MoveFolderResponse {
                folder: Some(render(&value.folder)),
                access_changes: value
                    .access_changes
                    .iter()
                    .map(convert::access_change)
                    .collect(),
            },
            revision,
        }))
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

/// The update `paths` select from `folder` (an empty mask: the fields it sets).
fn update_of(folder: pb::Folder, paths: &[String]) -> Result<FolderUpdate> {
    let id = parse_folder_name("folder.name", &folder.name)?;
    let populated: Vec<&'static str> = [
        ("title", !folder.title.is_empty()),
        ("description", !folder.description.is_empty()),
        ("inherit_access", folder.inherit_access.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    let selected = MASK.select(paths, MASK.updatable, &populated)?;
    let mut update = FolderUpdate {
        id,
        title: None,
        description: None,
        inherit_access: None,
        etag: folder.etag,
    };
    for path in selected {
        match path {
            "title" => update.title = Some(folder.title.clone()),
            "description" => update.description = Some(folder.description.clone()),
            // Named in the mask but unset: the default, true.
            "inherit_access" => update.inherit_access = Some(folder.inherit_access != Some(false)),
            _ => {}
        }
    }
    Ok(update)
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
