//! A sharing write's view of what it shares (a dashboard or a folder), read under that
//! row's lock: the row, every share of it, the custom roles they name and the caller's
//! access from those shares and the shares of the folders above it (as far as inheritance
//! reaches). The command decides on this with `core::authz::sharing` and applies its change
//! through [`Locked::apply`], which records the events.

use crate::app::authorizer::folder_inheritance;
use crate::app::{App, Write};
use crate::core::authz::{
    Access, Grant, Inheritance, Permission, PermissionSet, RoleBook, ShareTarget, ShareUpsert,
    Subject, authorize, check_keeps_owner, check_role_change, check_share_limit, effective_access,
    inheritance, subjects_of,
};
use crate::core::event::{Change, EventType};
use crate::core::folder::Folder;
use crate::core::library_widget::{LibraryWidget, library_widget_name};
use crate::core::{Error, Principal, Result, names};
use crate::store::library_widgets::LibraryWidgetRepo;
use crate::store::shares::LockedDashboard;

/// Whether the command may act on a dashboard or folder in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trash {
    Refuse,
    Allow,
}

/// The locked row the shares sit on.
pub(super) enum Root {
    Dashboard(LockedDashboard),
    Folder(Folder),
    LibraryWidget(LibraryWidget),
}

pub(super) struct Locked {
    /// What the shares sit on.
    pub target: ShareTarget,
    pub root: Root,
    /// Every share of it (not of the folders above), oldest first, as of the lock.
    pub shares: Vec<Grant>,
    /// The permissions of every role the shares (its own and those above) name.
    pub roles: RoleBook,
    /// The caller's access, from those shares.
    pub access: Access,
}

/// The subjects the caller answers to (its groups read before the write: membership is not
/// an input the sharing rules protect). An ADMIN's access needs none.
async fn subjects(app: &App, caller: &Principal) -> Result<Vec<Subject>> {
    if caller.is_admin() {
        return Ok(subjects_of(caller, &[]));
    }
    app.authorizer.subjects(caller).await
}

/// The grants among `grants` that are for one of `subjects`.
fn matching(grants: &[Grant], above: &[Grant], subjects: &[Subject]) -> Vec<Grant> {
    grants
        .iter()
        .chain(above)
        .filter(|g| {
            subjects
                .iter()
                .any(|s| s.kind == g.kind && s.id == g.grantee_id)
        })
        .cloned()
        .collect()
}

impl Locked {
    /// The start of every sharing write: reads the caller's subjects, begins the write on
    /// the caller's behalf and locks `target` in it ([`Locked::acquire`]), the caller
    /// needing SHARE. The command then decides on the returned view and commits the write.
    pub async fn begin(
        app: &App,
        caller: &Principal,
        target: &ShareTarget,
        trash: Trash,
    ) -> Result<(Write, Self)> {
        let subjects = subjects(app, caller).await?;
        let write = app
            .write(&caller.org_id, names::user_name(&caller.user_id))
            .await?;
        let locked = match target {
            ShareTarget::Dashboard(id) => {
                Self::acquire(app, &write, caller, &subjects, id, trash).await?
            }
            ShareTarget::Folder(id) => {
                Self::acquire_folder(app, &write, caller, &subjects, id, trash).await?
            }
            ShareTarget::LibraryWidget(id) => {
                Self::acquire_library_widget(&write, caller, &subjects, id).await?
            }
        };
        Ok((write, locked))
    }

    /// Locks dashboard `id` in the write's transaction, then reads its shares and decides
    /// the caller's access to it in that transaction: the caller needs SHARE (NOT_FOUND
    /// without READ, as everywhere).
    async fn acquire(
        app: &App,
        write: &Write,
        caller: &Principal,
        subjects: &[Subject],
        id: &str,
        trash: Trash,
    ) -> Result<Self> {
        let repo = app.store.shares();
        let resource = names::dashboard_name(id);
        let board = repo
            .lock_dashboard(write.txn(), &caller.org_id, id)
            .await?
            .ok_or_else(|| Error::not_found(&resource))?;
        let shares = repo.list(write.txn(), id).await?;
        // The shares of the folders above, read in the same transaction.
        let folders: Vec<String> = board.folder_id.iter().cloned().collect();
        let chains = app.store.folders().chains(write.txn(), &folders).await?;
        let above = app
            .store
            .folders()
            .all_grants_above(write.txn(), &caller.org_id, &folders)
            .await?;
        let mut custom = repo
            .custom_roles_of(write.txn(), &caller.org_id, id)
            .await?;
        custom.extend(
            app.authorizer
                .role_book(&caller.org_id, &above)
                .await?
                .into_custom(),
        );
        let roles = RoleBook::new(custom);
        let inheritance = inheritance(
            ShareTarget::Dashboard(board.id.clone()),
            board.inherit_access,
            board
                .folder_id
                .as_ref()
                .and_then(|f| chains.get(f))
                .map(Vec::as_slice)
                .unwrap_or_default(),
        );
        let mine = matching(&shares, &above, subjects);
        let access = effective_access(
            caller,
            &board.org_id,
            mine,
            inheritance,
            &roles,
            write.now(),
        );
        authorize(&access, Permission::Share, &resource)?;
        if trash == Trash::Refuse && board.delete_time.is_some() {
            return Err(Error::dashboard_deleted(resource));
        }
        Ok(Self {
            target: ShareTarget::Dashboard(board.id.clone()),
            root: Root::Dashboard(board),
            shares,
            roles,
            access,
        })
    }

    /// Locks folder `id` in the write's transaction, then reads its shares and those of the
    /// folders above it and decides the caller's access to it in that transaction, by the
    /// rule of [`crate::app::authorizer::Authorizer::folder_access`]: the caller needs SHARE
    /// (NOT_FOUND without READ).
    async fn acquire_folder(
        app: &App,
        write: &Write,
        caller: &Principal,
        subjects: &[Subject],
        id: &str,
        trash: Trash,
    ) -> Result<Self> {
        let repo = app.store.folder_shares();
        let resource = crate::core::folder::folder_name(id);
        let folder = repo
            .lock_folder(write.txn(), &caller.org_id, id)
            .await?
            .ok_or_else(|| Error::not_found(&resource))?;
        let ids = [folder.id.clone()];
        let chains = app.store.folders().chains(write.txn(), &ids).await?;
        // Its own shares and those above it (the chain includes the folder itself).
        let (shares, above): (Vec<Grant>, Vec<Grant>) = app
            .store
            .folders()
            .all_grants_above(write.txn(), &caller.org_id, &ids)
            .await?
            .into_iter()
            .partition(|g| g.on.folder_id() == Some(folder.id.as_str()));
        let all: Vec<Grant> = shares.iter().chain(&above).cloned().collect();
        let roles = RoleBook::new(
            repo.custom_roles_of(write.txn(), &caller.org_id, &all)
                .await?,
        );
        let inheritance = folder_inheritance(&folder, &chains);
        let mine = matching(&shares, &above, subjects);
        let access = effective_access(
            caller,
            &folder.org_id,
            mine,
            inheritance,
            &roles,
            write.now(),
        );
        authorize(&access, Permission::Share, &resource)?;
        if trash == Trash::Refuse && folder.delete_time.is_some() {
            return Err(crate::core::folder::folder_deleted(&folder.id));
        }
        Ok(Self {
            target: ShareTarget::Folder(folder.id.clone()),
            root: Root::Folder(folder),
            shares,
            roles,
            access,
        })
    }

    /// Locks library widget `id` in the write's transaction, then reads its shares and
    /// decides the caller's access to it there (no folders above it): SHARE needed
    /// (NOT_FOUND without READ).
    async fn acquire_library_widget(
        write: &Write,
        caller: &Principal,
        subjects: &[Subject],
        id: &str,
    ) -> Result<Self> {
        let repo = LibraryWidgetRepo;
        let resource = library_widget_name(id);
        let library = repo
            .lock(write.txn(), &caller.org_id, id)
            .await?
            .ok_or_else(|| Error::not_found(&resource))?;
        let shares = repo.shares(write.txn(), id).await?;
        let roles = RoleBook::new(
            repo.custom_roles_of(write.txn(), &caller.org_id, &shares)
                .await?,
        );
        let target = ShareTarget::LibraryWidget(library.id.clone());
        let mine = matching(&shares, &[], subjects);
        let access = effective_access(
            caller,
            &library.org_id,
            mine,
            Inheritance::none(target.clone()),
            &roles,
            write.now(),
        );
        authorize(&access, Permission::Share, &resource)?;
        Ok(Self {
            target,
            root: Root::LibraryWidget(library),
            shares,
            roles,
            access,
        })
    }

    /// The share `share_id` of the dashboard or folder, or NOT_FOUND.
    pub fn share(&self, share_id: &str) -> Result<&Grant> {
        self.shares
            .iter()
            .find(|g| g.id == share_id)
            .ok_or_else(|| Error::not_found(self.target.share_name(share_id)))
    }

    /// Gives each grantee of `upserts` its role (paired with the role's permissions), as
    /// ShareDashboard and InviteToDashboard do: the caller must hold every permission of
    /// the new role and of the role it replaces (ROLE_EXCEEDS_GRANTER), and the dashboard
    /// stays within `max_shares`, both decided on the shares read under the lock. Returns
    /// the share of each upsert, in order.
    pub async fn grant(
        &self,
        app: &App,
        write: &mut Write,
        caller: &Principal,
        max_shares: usize,
        upserts: &[(ShareUpsert, PermissionSet)],
    ) -> Result<Vec<Grant>> {
        for (upsert, permissions) in upserts {
            let previous = upsert.previous(&self.shares);
            check_role_change(
                self.access.permissions,
                Some((&upsert.role, *permissions)),
                previous.map(|g| (g.role.as_str(), self.roles.permissions(&g.role))),
            )?;
        }
        let upserts: Vec<ShareUpsert> = upserts.iter().map(|(u, _)| u.clone()).collect();
        check_share_limit(&self.shares, &upserts, max_shares, &self.target)?;
        self.apply(app, write, caller, &upserts, &[]).await
    }

    /// Revokes `revoke` and applies `upserts` (after the owner rule), recording
    /// SHARE_REVOKED, SHARE_GRANTED or SHARE_CHANGED for each; an upsert that changes
    /// nothing is neither written nor recorded. Returns the share of each upsert, in order.
    pub async fn apply(
        &self,
        app: &App,
        write: &mut Write,
        caller: &Principal,
        upserts: &[ShareUpsert],
        revoke: &[&Grant],
    ) -> Result<Vec<Grant>> {
        let revoked: Vec<String> = revoke.iter().map(|g| g.id.clone()).collect();
        check_keeps_owner(&self.shares, upserts, &revoked, write.now(), &self.target)?;
        let changed: Vec<(ShareUpsert, EventType)> = upserts
            .iter()
            .filter_map(|u| Some((u.clone(), u.event(u.previous(&self.shares))?)))
            .collect();
        let to_write: Vec<ShareUpsert> = changed.iter().map(|(u, _)| u.clone()).collect();
        let written = if to_write.is_empty() && revoked.is_empty() {
            Vec::new()
        } else {
            match &self.root {
                Root::Dashboard(board) => {
                    app.store
                        .shares()
                        .change(
                            write.txn(),
                            board,
                            &caller.user_id,
                            &to_write,
                            &revoked,
                            write.now(),
                        )
                        .await?
                }
                Root::Folder(folder) => {
                    app.store
                        .folder_shares()
                        .change(
                            write.txn(),
                            folder,
                            &caller.user_id,
                            &to_write,
                            &revoked,
                            write.now(),
                        )
                        .await?
                }
                Root::LibraryWidget(library) => {
                    LibraryWidgetRepo
                        .change_shares(
                            write.txn(),
                            library,
                            &caller.user_id,
                            &to_write,
                            &revoked,
                            write.now(),
                        )
                        .await?
                }
            }
        };
        for g in revoke {
            write.record(share_change(EventType::ShareRevoked, g));
        }
        for ((_, event), g) in changed.iter().zip(&written) {
            write.record(share_change(*event, g));
        }
        upserts
            .iter()
            .map(|u| {
                written
                    .iter()
                    .chain(&self.shares)
                    .find(|g| g.kind == u.kind && g.grantee_id == u.grantee_id)
                    .cloned()
                    .ok_or_else(|| Error::internal("share not returned"))
            })
            .collect()
    }
}

/// SHARE_GRANTED / CHANGED / REVOKED on the share's name; a share on a folder belongs to no
/// dashboard.
fn share_change(event: EventType, g: &Grant) -> Change {
    Change::new(event, g.name())
        .on_dashboard_of(&g.on)
        .grant(g.kind.resource_name(&g.grantee_id), &g.role)
}
