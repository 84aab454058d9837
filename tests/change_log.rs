//! The change log (DESIGN §7): every mutating RPC appends its events at the org revision it
//! committed at (one above the previous), revisions are gap-free and in commit order under
//! concurrent writers, and ListEvents shows each caller what the visibility rules allow.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::{Caller, assert_error, revision_of, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::audit_service_client::AuditServiceClient;
use dashboard_service::pb::library_widget_service_client::LibraryWidgetServiceClient;
use dashboard_service::pb::widget_service_client::WidgetServiceClient;
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Response};

/// Methods that change nothing: every other method of a dashboards.v1 service must be
/// driven below, so a new RPC without an event fails this test.
fn is_read_only(method: &str) -> bool {
    [
        "Get",
        "List",
        "BatchGet",
        "Check",
        "BatchCheck",
        "Watch",
        "Diff",
    ]
    .iter()
    .any(|prefix| method.starts_with(prefix))
}

/// Every mutating method of the served dashboards.v1 services, as `Service/Method`.
fn mutating_methods() -> BTreeSet<String> {
    let set =
        prost_types::FileDescriptorSet::decode(dashboard_service::server::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
    let mut methods = BTreeSet::new();
    for file in set.file {
        if file.package() != "dashboards.v1" {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                if !is_read_only(method.name()) {
                    methods.insert(format!("{}/{}", service.name(), method.name()));
                }
            }
        }
    }
    methods
}

async fn audit() -> AuditServiceClient<Channel> {
    AuditServiceClient::new(server().channel().await)
}

/// Every event the caller may see whose filter matches, newest first, all pages.
async fn events(caller: &Caller, filter: &str) -> Vec<pb::Event> {
    let mut client = audit().await;
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_events(caller.req(pb::ListEventsRequest {
                page_size: 100,
                page_token: page_token.clone(),
                filter: filter.into(),
            }))
            .await
            .expect("ListEvents")
            .into_inner();
        all.extend(page.events);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// The org's latest revision, as ListEvents reports it.
async fn latest_revision(admin: &Caller) -> i64 {
    audit()
        .await
        .list_events(admin.req(pb::ListEventsRequest {
            page_size: 1,
            ..Default::default()
        }))
        .await
        .expect("ListEvents")
        .into_inner()
        .revision
}

/// Follows the writes of one org: each must commit at the revision after the last one and
/// have appended exactly the expected events.
struct Ledger {
    admin: Caller,
    last: i64,
    covered: BTreeSet<String>,
}

impl Ledger {
    async fn check<T>(
        &mut self,
        method: &str,
        response: &Response<T>,
        actor: &Caller,
        expected: &[(&str, String)],
    ) {
        let revision = revision_of(response);
        assert_eq!(
            revision,
            self.last + 1,
            "{method} committed at {revision}, not one above {}",
            self.last
        );
        self.last = revision;
        let mut got: Vec<pb::Event> = events(&self.admin, "")
            .await
            .into_iter()
            .filter(|e| e.revision == revision)
            .collect();
        got.sort_by_key(|e| e.index);
        let got_pairs: Vec<(String, String)> = got
            .iter()
            .map(|e| (e.r#type.clone(), e.resource.clone()))
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(t, r)| (t.to_string(), r.clone()))
            .collect();
        assert_eq!(got_pairs, want, "{method}: events at revision {revision}");
        for event in &got {
            assert_eq!(
                event.actor,
                format!("users/{}", actor.sub),
                "{method}: actor"
            );
            assert_eq!(event.name, format!("events/{revision}"));
        }
        self.covered.insert(method.to_string());
    }

    /// A write that is not audited (stars, DESIGN §7): it takes no revision and appends
    /// no event.
    async fn check_unaudited<T>(&mut self, method: &str, response: &Response<T>) {
        assert_eq!(
            common::revision_in(response),
            None,
            "{method} took a revision"
        );
        assert_eq!(
            latest_revision(&self.admin).await,
            self.last,
            "{method} appended an event"
        );
        self.covered.insert(method.to_string());
    }
}

fn widget_layout(x: i32) -> pb::WidgetLayout {
    pb::WidgetLayout {
        x: Some(x),
        y: Some(0),
        w: Some(2),
        h: Some(2),
    }
}

#[tokio::test]
async fn every_mutating_rpc_appends_its_events_at_the_next_revision() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Author).await;
    let eve = server().user(&org, "eve", PlatformRole::Author).await;
    let mut widgets = WidgetServiceClient::new(server().channel().await);
    let ledger_admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut ledger = Ledger {
        last: latest_revision(&admin).await,
        admin: ledger_admin,
        covered: BTreeSet::new(),
    };

    // DashboardService.
    let response = alice
        .dashboards
        .create_dashboard(alice.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "Ops".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create");
    let board = response.get_ref().clone();
    let d = board.name.clone();
    ledger
        .check(
            "DashboardService/CreateDashboard",
            &response,
            &alice,
            &[("DASHBOARD_CREATED", d.clone())],
        )
        .await;
    let response = alice
        .dashboards
        .update_dashboard(alice.req(pb::UpdateDashboardRequest {
            version_message: String::new(),
            dashboard: Some(pb::Dashboard {
                name: d.clone(),
                title: "Ops 2".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        }))
        .await
        .expect("update");
    ledger
        .check(
            "DashboardService/UpdateDashboard",
            &response,
            &alice,
            &[("DASHBOARD_UPDATED", d.clone())],
        )
        .await;
    let fields = events(
        &admin,
        &format!("resource = \"{d}\" AND type = DASHBOARD_UPDATED"),
    )
    .await;
    assert_eq!(fields[0].changed_fields, vec!["title".to_string()]);
    assert_eq!(fields[0].dashboard, d);

    // WidgetService.
    let response = widgets
        .create_widget(alice.req(pb::CreateWidgetRequest {
            parent: d.clone(),
            widget: Some(pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                title: "cpu".into(),
                layout: Some(widget_layout(0)),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create widget");
    let w = response.get_ref().name.clone();
    ledger
        .check(
            "WidgetService/CreateWidget",
            &response,
            &alice,
            &[("WIDGET_CREATED", w.clone())],
        )
        .await;
    let response = widgets
        .update_widget(alice.req(pb::UpdateWidgetRequest {
            version_message: String::new(),
            widget: Some(pb::Widget {
                name: w.clone(),
                title: "cpu %".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        }))
        .await
        .expect("update widget");
    ledger
        .check(
            "WidgetService/UpdateWidget",
            &response,
            &alice,
            &[("WIDGET_UPDATED", w.clone())],
        )
        .await;
    let response = widgets
        .batch_update_widget_layouts(alice.req(pb::BatchUpdateWidgetLayoutsRequest {
            parent: d.clone(),
            layouts: vec![pb::WidgetLayoutUpdate {
                widget: w.clone(),
                layout: Some(widget_layout(4)),
            }],
            ..Default::default()
        }))
        .await
        .expect("relayout");
    ledger
        .check(
            "WidgetService/BatchUpdateWidgetLayouts",
            &response,
            &alice,
            &[("LAYOUT_CHANGED", w.clone())],
        )
        .await;
    // A copy: the dashboard and its widget, at one revision.
    let response = alice
        .dashboards
        .duplicate_dashboard(alice.req(pb::DuplicateDashboardRequest {
            name: d.clone(),
            ..Default::default()
        }))
        .await
        .expect("duplicate");
    let copy = response.get_ref().name.clone();
    let copied_widget = alice
        .dashboards
        .get_dashboard(alice.req(pb::GetDashboardRequest {
            name: copy.clone(),
            view: pb::DashboardView::Full as i32,
        }))
        .await
        .expect("get the copy")
        .into_inner()
        .widgets[0]
        .name
        .clone();
    ledger
        .check(
            "DashboardService/DuplicateDashboard",
            &response,
            &alice,
            &[
                ("DASHBOARD_CREATED", copy.clone()),
                ("WIDGET_CREATED", copied_widget),
            ],
        )
        .await;
    let response = widgets
        .delete_widget(alice.req(pb::DeleteWidgetRequest {
            name: w.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete widget");
    ledger
        .check(
            "WidgetService/DeleteWidget",
            &response,
            &alice,
            &[("WIDGET_DELETED", w.clone())],
        )
        .await;
    // Restoring the version before the deletion brings the widget back (same name).
    let before_delete = alice
        .versions
        .clone()
        .list_dashboard_versions(alice.req(pb::ListDashboardVersionsRequest {
            parent: d.clone(),
            page_size: 2,
            ..Default::default()
        }))
        .await
        .expect("list versions")
        .into_inner()
        .versions[1]
        .name
        .clone();
    let response = alice
        .versions
        .clone()
        .restore_dashboard_version(alice.req(pb::RestoreDashboardVersionRequest {
            name: before_delete,
            ..Default::default()
        }))
        .await
        .expect("restore version");
    ledger
        .check(
            "VersionService/RestoreDashboardVersion",
            &response,
            &alice,
            &[
                ("WIDGET_CREATED", w.clone()),
                ("DASHBOARD_RESTORED", d.clone()),
            ],
        )
        .await;

    // SharingService.
    let response = alice
        .sharing
        .share_dashboard(alice.req(pb::ShareDashboardRequest {
            name: d.clone(),
            grantee: Some(pb::Grantee {
                kind: Some(pb::grantee::Kind::User(bob.name())),
            }),
            role: "roles/viewer".into(),
            ..Default::default()
        }))
        .await
        .expect("share");
    let share = response.get_ref().name.clone();
    ledger
        .check(
            "SharingService/ShareDashboard",
            &response,
            &alice,
            &[("SHARE_GRANTED", share.clone())],
        )
        .await;
    let granted = events(&admin, &format!("resource = \"{share}\"")).await;
    assert_eq!(granted[0].grantee, bob.name());
    assert_eq!(granted[0].role, "roles/viewer");
    let response = alice
        .sharing
        .revoke_share(alice.req(pb::RevokeShareRequest {
            name: share.clone(),
        }))
        .await
        .expect("revoke");
    ledger
        .check(
            "SharingService/RevokeShare",
            &response,
            &alice,
            &[("SHARE_REVOKED", share.clone())],
        )
        .await;
    let response = alice
        .sharing
        .invite_to_dashboard(alice.req(pb::InviteToDashboardRequest {
            name: d.clone(),
            users: vec![pb::invite_to_dashboard_request::UserInvite {
                email: format!("bob@{org}.test"),
                role: "roles/editor".into(),
            }],
            ..Default::default()
        }))
        .await
        .expect("invite");
    let invited: Vec<(String, String)> = events(&admin, &format!("dashboard = \"{d}\""))
        .await
        .into_iter()
        .filter(|e| e.revision == revision_of(&response))
        .map(|e| (e.r#type, e.resource))
        .collect();
    assert_eq!(invited.len(), 1, "one invitation, one event: {invited:?}");
    assert!(matches!(
        invited[0].0.as_str(),
        "SHARE_GRANTED" | "SHARE_CHANGED"
    ));
    ledger
        .check(
            "SharingService/InviteToDashboard",
            &response,
            &alice,
            &[(invited[0].0.as_str(), invited[0].1.clone())],
        )
        .await;
    let response = alice
        .sharing
        .transfer_ownership(alice.req(pb::TransferOwnershipRequest {
            name: d.clone(),
            new_owner: bob.name(),
            previous_owner_role: "roles/viewer".into(),
        }))
        .await
        .expect("transfer");
    let transfer: Vec<(String, String)> = events(&admin, &format!("dashboard = \"{d}\""))
        .await
        .into_iter()
        .filter(|e| e.revision == revision_of(&response))
        .map(|e| (e.r#type, e.resource))
        .collect();
    assert!(
        transfer
            .iter()
            .all(|(t, _)| t == "SHARE_CHANGED" || t == "SHARE_GRANTED"),
        "{transfer:?}"
    );
    assert_eq!(
        transfer.len(),
        2,
        "bob becomes owner, alice viewer: {transfer:?}"
    );
    let mut transfer_sorted = transfer.clone();
    transfer_sorted.reverse();
    let expected: Vec<(&str, String)> = transfer_sorted
        .iter()
        .map(|(t, r)| (t.as_str(), r.clone()))
        .collect();
    ledger
        .check(
            "SharingService/TransferOwnership",
            &response,
            &alice,
            &expected,
        )
        .await;
    let response = admin
        .sharing
        .create_public_link(admin.req(pb::CreatePublicLinkRequest {
            name: d.clone(),
            ..Default::default()
        }))
        .await
        .expect("public link");
    let link = response.get_ref().name.clone();
    ledger
        .check(
            "SharingService/CreatePublicLink",
            &response,
            &admin,
            &[("PUBLIC_LINK_CREATED", link.clone())],
        )
        .await;
    let response = admin
        .sharing
        .revoke_public_link(admin.req(pb::RevokePublicLinkRequest { name: link.clone() }))
        .await
        .expect("revoke link");
    ledger
        .check(
            "SharingService/RevokePublicLink",
            &response,
            &admin,
            &[("PUBLIC_LINK_REVOKED", link.clone())],
        )
        .await;

    // Stars: not audited.
    let response = alice
        .dashboards
        .star_dashboard(alice.req(pb::StarDashboardRequest { name: d.clone() }))
        .await
        .expect("star");
    ledger
        .check_unaudited("DashboardService/StarDashboard", &response)
        .await;
    let response = alice
        .dashboards
        .unstar_dashboard(alice.req(pb::UnstarDashboardRequest { name: d.clone() }))
        .await
        .expect("unstar");
    ledger
        .check_unaudited("DashboardService/UnstarDashboard", &response)
        .await;

    // The trash.
    let response = admin
        .dashboards
        .delete_dashboard(admin.req(pb::DeleteDashboardRequest {
            name: d.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete");
    ledger
        .check(
            "DashboardService/DeleteDashboard",
            &response,
            &admin,
            &[("DASHBOARD_DELETED", d.clone())],
        )
        .await;
    let response = admin
        .dashboards
        .undelete_dashboard(admin.req(pb::UndeleteDashboardRequest { name: d.clone() }))
        .await
        .expect("undelete");
    ledger
        .check(
            "DashboardService/UndeleteDashboard",
            &response,
            &admin,
            &[("DASHBOARD_UNDELETED", d.clone())],
        )
        .await;

    // DirectoryService.
    let response = admin
        .directory
        .upsert_user(admin.req(pb::UpsertUserRequest {
            user: Some(pb::User {
                name: "users/carol".into(),
                display_name: "Carol".into(),
                role: pb::PlatformRole::Viewer as i32,
                ..Default::default()
            }),
        }))
        .await
        .expect("upsert user");
    ledger
        .check(
            "DirectoryService/UpsertUser",
            &response,
            &admin,
            &[("USER_UPSERTED", "users/carol".into())],
        )
        .await;
    let response = admin
        .directory
        .create_group(admin.req(pb::CreateGroupRequest {
            group: Some(pb::Group {
                display_name: "SRE".into(),
                kind: pb::GroupKind::Org as i32,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create group");
    let g = response.get_ref().name.clone();
    ledger
        .check(
            "DirectoryService/CreateGroup",
            &response,
            &admin,
            &[("GROUP_CREATED", g.clone())],
        )
        .await;
    let response = admin
        .directory
        .update_group(admin.req(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                name: g.clone(),
                display_name: "SRE team".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
        }))
        .await
        .expect("update group");
    ledger
        .check(
            "DirectoryService/UpdateGroup",
            &response,
            &admin,
            &[("GROUP_UPDATED", g.clone())],
        )
        .await;
    let response = admin
        .directory
        .add_group_member(admin.req(pb::AddGroupMemberRequest {
            group: g.clone(),
            user: bob.name(),
        }))
        .await
        .expect("add member");
    ledger
        .check(
            "DirectoryService/AddGroupMember",
            &response,
            &admin,
            &[("GROUP_MEMBER_ADDED", g.clone())],
        )
        .await;
    let response = admin
        .directory
        .remove_group_member(admin.req(pb::RemoveGroupMemberRequest {
            group: g.clone(),
            user: bob.name(),
        }))
        .await
        .expect("remove member");
    ledger
        .check(
            "DirectoryService/RemoveGroupMember",
            &response,
            &admin,
            &[("GROUP_MEMBER_REMOVED", g.clone())],
        )
        .await;
    let response = admin
        .directory
        .delete_group(admin.req(pb::DeleteGroupRequest {
            name: g.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete group");
    ledger
        .check(
            "DirectoryService/DeleteGroup",
            &response,
            &admin,
            &[("GROUP_DELETED", g.clone())],
        )
        .await;
    let response = admin
        .directory
        .create_role(admin.req(pb::CreateRoleRequest {
            role: Some(pb::Role {
                name: "roles/labeler".into(),
                display_name: "Labeler".into(),
                permissions: vec![pb::Permission::Read as i32],
                ..Default::default()
            }),
        }))
        .await
        .expect("create role");
    let role = response.get_ref().name.clone();
    ledger
        .check(
            "DirectoryService/CreateRole",
            &response,
            &admin,
            &[("ROLE_CREATED", role.clone())],
        )
        .await;
    let response = admin
        .directory
        .update_role(admin.req(pb::UpdateRoleRequest {
            role: Some(pb::Role {
                name: role.clone(),
                display_name: "Labelers".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
        }))
        .await
        .expect("update role");
    ledger
        .check(
            "DirectoryService/UpdateRole",
            &response,
            &admin,
            &[("ROLE_UPDATED", role.clone())],
        )
        .await;
    let response = admin
        .directory
        .delete_role(admin.req(pb::DeleteRoleRequest {
            name: role.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete role");
    ledger
        .check(
            "DirectoryService/DeleteRole",
            &response,
            &admin,
            &[("ROLE_DELETED", role.clone())],
        )
        .await;

    // Labels: their CRUD, and attaching one to a dashboard (not content: no version).
    let response = admin
        .labels
        .create_label(admin.req(pb::CreateLabelRequest {
            label: Some(pb::Label {
                display_name: "prod".into(),
                ..Default::default()
            }),
        }))
        .await
        .expect("create label");
    let label = response.get_ref().clone();
    ledger
        .check(
            "LabelService/CreateLabel",
            &response,
            &admin,
            &[("LABEL_CREATED", label.name.clone())],
        )
        .await;
    let response = admin
        .labels
        .update_label(admin.req(pb::UpdateLabelRequest {
            label: Some(pb::Label {
                color: "#00ff00".into(),
                ..label.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["color".into()],
            }),
        }))
        .await
        .expect("update label");
    ledger
        .check(
            "LabelService/UpdateLabel",
            &response,
            &admin,
            &[("LABEL_UPDATED", label.name.clone())],
        )
        .await;
    let response = admin
        .dashboards
        .create_dashboard(admin.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "Labeled".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create");
    let labeled = response.get_ref().name.clone();
    ledger
        .check(
            "DashboardService/CreateDashboard",
            &response,
            &admin,
            &[("DASHBOARD_CREATED", labeled.clone())],
        )
        .await;
    let response = admin
        .dashboards
        .add_dashboard_label(admin.req(pb::AddDashboardLabelRequest {
            name: labeled.clone(),
            label: label.name.clone(),
        }))
        .await
        .expect("add label");
    ledger
        .check(
            "DashboardService/AddDashboardLabel",
            &response,
            &admin,
            &[("LABEL_ADDED", label.name.clone())],
        )
        .await;
    let response = admin
        .dashboards
        .remove_dashboard_label(admin.req(pb::RemoveDashboardLabelRequest {
            name: labeled.clone(),
            label: label.name.clone(),
        }))
        .await
        .expect("remove label");
    ledger
        .check(
            "DashboardService/RemoveDashboardLabel",
            &response,
            &admin,
            &[("LABEL_REMOVED", label.name.clone())],
        )
        .await;
    let response = admin
        .labels
        .delete_label(admin.req(pb::DeleteLabelRequest {
            name: label.name.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete label");
    ledger
        .check(
            "LabelService/DeleteLabel",
            &response,
            &admin,
            &[("LABEL_DELETED", label.name.clone())],
        )
        .await;

    // Folders: their CRUD, trash, moves, and dashboards moved between them (a folder's
    // trash and moves also record the dashboards they carry).
    let mut folder_ids = Vec::new();
    for title in ["Ops", "Platform"] {
        let response = admin
            .folders
            .create_folder(admin.req(pb::CreateFolderRequest {
                folder: Some(pb::Folder {
                    title: title.into(),
                    ..Default::default()
                }),
            }))
            .await
            .expect("create folder");
        let name = response.get_ref().name.clone();
        ledger
            .check(
                "FolderService/CreateFolder",
                &response,
                &admin,
                &[("FOLDER_CREATED", name.clone())],
            )
            .await;
        folder_ids.push(name);
    }
    let (ops, platform) = (folder_ids[0].clone(), folder_ids[1].clone());
    let response = admin
        .folders
        .update_folder(admin.req(pb::UpdateFolderRequest {
            folder: Some(pb::Folder {
                name: ops.clone(),
                description: "runbooks".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        }))
        .await
        .expect("update folder");
    ledger
        .check(
            "FolderService/UpdateFolder",
            &response,
            &admin,
            &[("FOLDER_UPDATED", ops.clone())],
        )
        .await;
    let response = admin
        .dashboards
        .create_dashboard(admin.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "In a folder".into(),
                folder: platform.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create in folder");
    let filed = response.get_ref().name.clone();
    ledger
        .check(
            "DashboardService/CreateDashboard",
            &response,
            &admin,
            &[("DASHBOARD_CREATED", filed.clone())],
        )
        .await;
    let response = admin
        .dashboards
        .move_dashboard(admin.req(pb::MoveDashboardRequest {
            name: filed.clone(),
            folder: ops.clone(),
            validate_only: false,
        }))
        .await
        .expect("move dashboard");
    ledger
        .check(
            "DashboardService/MoveDashboard",
            &response,
            &admin,
            &[("DASHBOARD_MOVED", filed.clone())],
        )
        .await;
    let response = admin
        .folders
        .move_folder(admin.req(pb::MoveFolderRequest {
            name: ops.clone(),
            parent: platform.clone(),
            validate_only: false,
        }))
        .await
        .expect("move folder");
    ledger
        .check(
            "FolderService/MoveFolder",
            &response,
            &admin,
            &[
                ("FOLDER_MOVED", ops.clone()),
                ("DASHBOARD_MOVED", filed.clone()),
            ],
        )
        .await;
    let response = admin
        .folders
        .delete_folder(admin.req(pb::DeleteFolderRequest {
            name: platform.clone(),
            etag: String::new(),
        }))
        .await
        .expect("delete folder");
    ledger
        .check(
            "FolderService/DeleteFolder",
            &response,
            &admin,
            &[
                ("FOLDER_DELETED", platform.clone()),
                ("DASHBOARD_DELETED", filed.clone()),
            ],
        )
        .await;
    let response = admin
        .folders
        .undelete_folder(admin.req(pb::UndeleteFolderRequest {
            name: platform.clone(),
        }))
        .await
        .expect("undelete folder");
    ledger
        .check(
            "FolderService/UndeleteFolder",
            &response,
            &admin,
            &[
                ("FOLDER_UNDELETED", platform.clone()),
                ("DASHBOARD_UNDELETED", filed.clone()),
            ],
        )
        .await;

    // Shares on a folder: the same methods, events on `folders/F/shares/S` that belong to
    // no dashboard.
    let response = admin
        .sharing
        .share_dashboard(admin.req(pb::ShareDashboardRequest {
            name: ops.clone(),
            grantee: Some(pb::Grantee {
                kind: Some(pb::grantee::Kind::User(bob.name())),
            }),
            role: "roles/viewer".into(),
            ..Default::default()
        }))
        .await
        .expect("share a folder");
    let folder_share = response.get_ref().name.clone();
    assert!(folder_share.starts_with(&format!("{ops}/shares/")));
    ledger
        .check(
            "SharingService/ShareDashboard",
            &response,
            &admin,
            &[("SHARE_GRANTED", folder_share.clone())],
        )
        .await;
    let granted = events(&admin, &format!("resource = \"{folder_share}\"")).await;
    assert_eq!(granted[0].grantee, bob.name());
    assert_eq!(granted[0].dashboard, "");
    let response = admin
        .sharing
        .revoke_share(admin.req(pb::RevokeShareRequest {
            name: folder_share.clone(),
        }))
        .await
        .expect("revoke a folder share");
    ledger
        .check(
            "SharingService/RevokeShare",
            &response,
            &admin,
            &[("SHARE_REVOKED", folder_share.clone())],
        )
        .await;

    // CommentService: a comment with a mention, resolved, deleted (not content: no version).
    let response = admin
        .dashboards
        .create_dashboard(admin.req(pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "Discussed".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create a dashboard to comment on");
    let discussed = response.get_ref().name.clone();
    ledger
        .check(
            "DashboardService/CreateDashboard",
            &response,
            &admin,
            &[("DASHBOARD_CREATED", discussed.clone())],
        )
        .await;
    let response = widgets
        .create_widget(admin.req(pb::CreateWidgetRequest {
            parent: discussed.clone(),
            widget: Some(pb::Widget {
                r#type: pb::WidgetType::Chart as i32,
                title: "tile".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("create a widget to comment on");
    let tile = response.get_ref().name.clone();
    ledger
        .check(
            "WidgetService/CreateWidget",
            &response,
            &admin,
            &[("WIDGET_CREATED", tile.clone())],
        )
        .await;
    let mut comments =
        pb::comment_service_client::CommentServiceClient::new(server().channel().await);
    let response = comments
        .create_comment(admin.req(pb::CreateCommentRequest {
            parent: tile.clone(),
            comment: Some(pb::Comment {
                text: "is this right?".into(),
                // Mentioned users must READ the dashboard: the ADMIN mentions itself.
                mentions: vec![admin.name()],
                ..Default::default()
            }),
        }))
        .await
        .expect("create comment");
    let comment = response.get_ref().name.clone();
    ledger
        .check(
            "CommentService/CreateComment",
            &response,
            &admin,
            &[
                ("COMMENT_CREATED", comment.clone()),
                ("COMMENT_MENTIONED", comment.clone()),
            ],
        )
        .await;
    let mentioned = events(&admin, "type = COMMENT_MENTIONED").await;
    assert_eq!(mentioned[0].grantee, admin.name());
    assert_eq!(mentioned[0].dashboard, discussed);
    let response = comments
        .resolve_comment(admin.req(pb::ResolveCommentRequest {
            name: comment.clone(),
            ..Default::default()
        }))
        .await
        .expect("resolve comment");
    ledger
        .check(
            "CommentService/ResolveComment",
            &response,
            &admin,
            &[("COMMENT_RESOLVED", comment.clone())],
        )
        .await;
    let response = comments
        .delete_comment(admin.req(pb::DeleteCommentRequest {
            name: comment.clone(),
            etag: String::new(),
        }))
        .await
        .expect("delete comment");
    ledger
        .check(
            "CommentService/DeleteComment",
            &response,
            &admin,
            &[("COMMENT_DELETED", comment.clone())],
        )
        .await;

    // Library widgets: their CRUD (shares on them are SharingService's, driven above).
    let mut library_widgets = LibraryWidgetServiceClient::new(server().channel().await);
    let response = library_widgets
        .create_library_widget(admin.req(pb::CreateLibraryWidgetRequest {
            library_widget: Some(pb::LibraryWidget {
                r#type: pb::WidgetType::Stat as i32,
                title: "Shared".into(),
                ..Default::default()
            }),
        }))
        .await
        .expect("create library widget");
    let library = response.get_ref().name.clone();
    ledger
        .check(
            "LibraryWidgetService/CreateLibraryWidget",
            &response,
            &admin,
            &[("LIBRARY_WIDGET_CREATED", library.clone())],
        )
        .await;
    let response = library_widgets
        .update_library_widget(admin.req(pb::UpdateLibraryWidgetRequest {
            library_widget: Some(pb::LibraryWidget {
                name: library.clone(),
                title: "Shared 2".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        }))
        .await
        .expect("update library widget");
    ledger
        .check(
            "LibraryWidgetService/UpdateLibraryWidget",
            &response,
            &admin,
            &[("LIBRARY_WIDGET_UPDATED", library.clone())],
        )
        .await;
    let response = library_widgets
        .delete_library_widget(admin.req(pb::DeleteLibraryWidgetRequest {
            name: library.clone(),
            ..Default::default()
        }))
        .await
        .expect("delete library widget");
    ledger
        .check(
            "LibraryWidgetService/DeleteLibraryWidget",
            &response,
            &admin,
            &[("LIBRARY_WIDGET_DELETED", library.clone())],
        )
        .await;

    let missing: Vec<String> = mutating_methods()
        .difference(&ledger.covered)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "mutating RPCs this test does not drive (each needs its events checked here): {missing:?}"
    );
    // A refused write appends nothing.
    let before = latest_revision(&admin).await;
    let status = eve
        .sharing
        .clone()
        .share_dashboard(eve.req(pb::ShareDashboardRequest {
            name: d.clone(),
            grantee: Some(pb::Grantee {
                kind: Some(pb::grantee::Kind::Everyone(true)),
            }),
            role: "roles/owner".into(),
            ..Default::default()
        }))
        .await
        .expect_err("eve has no access");
    assert_error(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(latest_revision(&admin).await, before);
}

/// Concurrent writers of one org take revisions 1, 2, 3, ... without gaps, and a revision
/// is never visible before every lower one is (commit order): a reader polling the log
/// always sees a prefix of the revisions.
#[tokio::test]
async fn concurrent_writers_get_gap_free_revisions_in_commit_order() {
    let org = unique_org();
    let admin = server().user(&org, "root", PlatformRole::Admin).await;
    const WRITERS: usize = 6;
    const WRITES: usize = 8;
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let mut caller = server()
            .user(&org, &format!("writer{i}"), PlatformRole::Author)
            .await;
        writers.push(tokio::spawn(async move {
            let mut revisions = Vec::new();
            let board = caller.create(&format!("board {i}")).await;
            for n in 0..WRITES {
                let response = caller
                    .dashboards
                    .update_dashboard(caller.req(pb::UpdateDashboardRequest {
                        version_message: String::new(),
                        dashboard: Some(pb::Dashboard {
                            name: board.name.clone(),
                            title: format!("board {i}.{n}"),
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["title".into()],
                        }),
                    }))
                    .await
                    .expect("update");
                revisions.push(revision_of(&response));
            }
            revisions
        }));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let admin = server().user(&org, "root", PlatformRole::Admin).await;
        tokio::spawn(async move {
            let mut polls = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let seen: BTreeSet<i64> = events(&admin, "")
                    .await
                    .iter()
                    .map(|e| e.revision)
                    .collect();
                if let Some(max) = seen.last() {
                    let prefix: BTreeSet<i64> = (1..=*max).collect();
                    assert_eq!(seen, prefix, "a revision became visible before a lower one");
                }
                polls += 1;
            }
            polls
        })
    };
    let mut all = Vec::new();
    for writer in writers {
        let revisions = writer.await.expect("writer");
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]),
            "one writer's revisions grow: {revisions:?}"
        );
        all.extend(revisions);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let polls = reader.await.expect("reader");
    assert!(polls > 0);
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "no two writes share a revision");
    let logged: BTreeSet<i64> = events(&admin, "")
        .await
        .iter()
        .map(|e| e.revision)
        .collect();
    let max = *logged.last().expect("events");
    assert_eq!(logged, (1..=max).collect::<BTreeSet<i64>>(), "gap-free");
    assert!(all.iter().all(|r| logged.contains(r)));
}

#[tokio::test]
async fn list_events_shows_each_caller_what_it_may_see() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let viewer = server().user(&org, "vic", PlatformRole::Author).await;
    let sharer = server().user(&org, "sam", PlatformRole::Author).await;
    let stranger = server().user(&org, "stan", PlatformRole::Author).await;
    let outsider = server()
        .user(&unique_org(), "root", PlatformRole::Admin)
        .await;
    let board = alice.create("audited").await;
    let d = board.name.clone();
    alice.share_with(&d, &viewer, "roles/viewer").await;
    alice.share_with(&d, &sharer, "roles/contributor").await;
    let hidden = alice.create("private").await;
    admin
        .directory
        .create_group(admin.req(pb::CreateGroupRequest {
            group: Some(pb::Group {
                display_name: "Ops".into(),
                kind: pb::GroupKind::Org as i32,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .expect("group");

    let types = |events: &[pb::Event], dashboard: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.dashboard == dashboard)
            .map(|e| e.r#type.clone())
            .collect()
    };
    // ADMIN: everything of the org, directory events included.
    let all = events(&admin, "").await;
    assert!(all.iter().any(|e| e.r#type == "GROUP_CREATED"));
    assert!(types(&all, &d).contains(&"SHARE_GRANTED".to_string()));
    assert!(types(&all, &hidden.name).contains(&"DASHBOARD_CREATED".to_string()));
    // Newest first.
    assert!(
        all.windows(2)
            .all(|w| (w[0].revision, w[0].index) > (w[1].revision, w[1].index))
    );
    // A viewer: the dashboard's events, not its sharing, nothing else.
    let seen = events(&viewer, "").await;
    assert_eq!(types(&seen, &d), vec!["DASHBOARD_CREATED".to_string()]);
    assert!(seen.iter().all(|e| e.dashboard == d), "{seen:?}");
    // SHARE on the dashboard: its share events too.
    let seen = events(&sharer, "").await;
    assert_eq!(
        types(&seen, &d),
        vec!["SHARE_GRANTED", "SHARE_GRANTED", "DASHBOARD_CREATED"]
    );
    // No access: nothing; another org: nothing of this one.
    assert!(events(&stranger, "").await.is_empty());
    assert!(events(&outsider, "").await.iter().all(|e| e.dashboard != d));
    // Filters.
    let created = events(
        &admin,
        "type = DASHBOARD_CREATED AND actor = \"users/alice\"",
    )
    .await;
    assert_eq!(created.len(), 2);
    let mine = events(&alice, "actor = \"users/me\"").await;
    assert!(!mine.is_empty() && mine.iter().all(|e| e.actor == "users/alice"));
    assert!(
        events(&admin, "time > \"2999-01-01T00:00:00Z\"")
            .await
            .is_empty()
    );
    assert_eq!(
        events(&admin, &format!("dashboard = \"{}\"", hidden.name))
            .await
            .len(),
        1
    );
    // Pages of one, and a tampered token.
    let mut client = audit().await;
    let first = client
        .list_events(admin.req(pb::ListEventsRequest {
            page_size: 1,
            ..Default::default()
        }))
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first.events.len(), 1);
    assert!(!first.next_page_token.is_empty());
    let mut token = first.next_page_token.clone();
    token.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    let status = client
        .list_events(admin.req(pb::ListEventsRequest {
            page_size: 1,
            page_token: token,
            ..Default::default()
        }))
        .await
        .expect_err("tampered");
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["page_token".to_string()]);
    for bad in ["type = NOPE", "title = \"x\"", "time > yesterday"] {
        let status = client
            .list_events(admin.req(pb::ListEventsRequest {
                filter: bad.into(),
                ..Default::default()
            }))
            .await
            .expect_err(bad);
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(
            violated_fields(&details),
            vec!["filter".to_string()],
            "{bad}"
        );
    }
}
