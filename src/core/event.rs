//! The change log's event (DESIGN §7): what one committed write did, at the org revision it
//! committed at. Every event of one transaction shares its revision; `index` orders them.

use super::Micros;

/// What happened. The wire and the store carry the UPPER_SNAKE name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    DashboardCreated,
    DashboardUpdated,
    DashboardDeleted,
    DashboardUndeleted,
    DashboardPurged,
    DashboardRestored,
    WidgetCreated,
    WidgetUpdated,
    WidgetDeleted,
    LayoutChanged,
    ShareGranted,
    ShareChanged,
    ShareRevoked,
    PublicLinkCreated,
    PublicLinkRevoked,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    UserUpserted,
    LabelCreated,
    LabelUpdated,
    LabelDeleted,
    LabelAdded,
    LabelRemoved,
    FolderCreated,
    FolderUpdated,
    FolderDeleted,
    FolderUndeleted,
    FolderMoved,
    DashboardMoved,
    CommentCreated,
    CommentMentioned,
    CommentResolved,
    CommentReopened,
    CommentDeleted,
    LibraryWidgetCreated,
    LibraryWidgetUpdated,
    LibraryWidgetDeleted,
}

impl EventType {
    pub const ALL: [EventType; 43] = [
        Self::DashboardCreated,
        Self::DashboardUpdated,
        Self::DashboardDeleted,
        Self::DashboardUndeleted,
        Self::DashboardPurged,
        Self::DashboardRestored,
        Self::WidgetCreated,
        Self::WidgetUpdated,
        Self::WidgetDeleted,
        Self::LayoutChanged,
        Self::ShareGranted,
        Self::ShareChanged,
        Self::ShareRevoked,
        Self::PublicLinkCreated,
        Self::PublicLinkRevoked,
        Self::GroupCreated,
        Self::GroupUpdated,
        Self::GroupDeleted,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::RoleCreated,
        Self::RoleUpdated,
        Self::RoleDeleted,
        Self::UserUpserted,
        Self::LabelCreated,
        Self::LabelUpdated,
        Self::LabelDeleted,
        Self::LabelAdded,
        Self::LabelRemoved,
        Self::FolderCreated,
        Self::FolderUpdated,
        Self::FolderDeleted,
        Self::FolderUndeleted,
        Self::FolderMoved,
        Self::DashboardMoved,
        Self::CommentCreated,
        Self::CommentMentioned,
        Self::CommentResolved,
        Self::CommentReopened,
        Self::CommentDeleted,
        Self::LibraryWidgetCreated,
        Self::LibraryWidgetUpdated,
        Self::LibraryWidgetDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DashboardCreated => "DASHBOARD_CREATED",
            Self::DashboardUpdated => "DASHBOARD_UPDATED",
            Self::DashboardDeleted => "DASHBOARD_DELETED",
            Self::DashboardUndeleted => "DASHBOARD_UNDELETED",
            Self::DashboardPurged => "DASHBOARD_PURGED",
            Self::DashboardRestored => "DASHBOARD_RESTORED",
            Self::WidgetCreated => "WIDGET_CREATED",
            Self::WidgetUpdated => "WIDGET_UPDATED",
            Self::WidgetDeleted => "WIDGET_DELETED",
            Self::LayoutChanged => "LAYOUT_CHANGED",
            Self::ShareGranted => "SHARE_GRANTED",
            Self::ShareChanged => "SHARE_CHANGED",
            Self::ShareRevoked => "SHARE_REVOKED",
            Self::PublicLinkCreated => "PUBLIC_LINK_CREATED",
            Self::PublicLinkRevoked => "PUBLIC_LINK_REVOKED",
            Self::GroupCreated => "GROUP_CREATED",
            Self::GroupUpdated => "GROUP_UPDATED",
            Self::GroupDeleted => "GROUP_DELETED",
            Self::GroupMemberAdded => "GROUP_MEMBER_ADDED",
            Self::GroupMemberRemoved => "GROUP_MEMBER_REMOVED",
            Self::RoleCreated => "ROLE_CREATED",
            Self::RoleUpdated => "ROLE_UPDATED",
            Self::RoleDeleted => "ROLE_DELETED",
            Self::UserUpserted => "USER_UPSERTED",
            Self::LabelCreated => "LABEL_CREATED",
            Self::LabelUpdated => "LABEL_UPDATED",
            Self::LabelDeleted => "LABEL_DELETED",
            Self::LabelAdded => "LABEL_ADDED",
            Self::LabelRemoved => "LABEL_REMOVED",
            Self::FolderCreated => "FOLDER_CREATED",
            Self::FolderUpdated => "FOLDER_UPDATED",
            Self::FolderDeleted => "FOLDER_DELETED",
            Self::FolderUndeleted => "FOLDER_UNDELETED",
            Self::FolderMoved => "FOLDER_MOVED",
            Self::DashboardMoved => "DASHBOARD_MOVED",
            Self::CommentCreated => "COMMENT_CREATED",
            Self::CommentMentioned => "COMMENT_MENTIONED",
            Self::CommentResolved => "COMMENT_RESOLVED",
            Self::CommentReopened => "COMMENT_REOPENED",
            Self::CommentDeleted => "COMMENT_DELETED",
            Self::LibraryWidgetCreated => "LIBRARY_WIDGET_CREATED",
            Self::LibraryWidgetUpdated => "LIBRARY_WIDGET_UPDATED",
            Self::LibraryWidgetDeleted => "LIBRARY_WIDGET_DELETED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Share and public-link events: audited only for callers holding SHARE.
    pub fn is_sharing(self) -> bool {
        matches!(
            self,
            Self::ShareGranted
                | Self::ShareChanged
                | Self::ShareRevoked
                | Self::PublicLinkCreated
                | Self::PublicLinkRevoked
        )
    }
}

/// What a command records; the write path adds org, revision, index, time and actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub r#type: EventType,
    /// The resource name, e.g. `dashboards/D/shares/S`.
    pub resource: String,
    /// The dashboard it belongs to (id), when it belongs to one.
    pub dashboard_id: Option<String>,
    pub changed_fields: Vec<String>,
    /// Shares: the grantee (`users/u`, `groups/g`, `tenants/t`, `all_tenants`, ...);
    /// COMMENT_MENTIONED: the user mentioned (`users/u`).
    pub grantee: Option<String>,
    /// Shares: the role (`roles/viewer`).
    pub role: Option<String>,
}

impl Change {
    pub fn new(r#type: EventType, resource: impl Into<String>) -> Self {
        Self {
            r#type,
            resource: resource.into(),
            dashboard_id: None,
            changed_fields: Vec::new(),
            grantee: None,
            role: None,
        }
    }

    pub fn on_dashboard(mut self, dashboard_id: impl Into<String>) -> Self {
        self.dashboard_id = Some(dashboard_id.into());
        self
    }

    /// Belongs to the dashboard a share sits on; a share on a folder belongs to none.
    pub fn on_dashboard_of(mut self, target: &crate::core::authz::ShareTarget) -> Self {
        self.dashboard_id = target.dashboard_id().map(str::to_string);
        self
    }

    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.changed_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn grant(mut self, grantee: impl Into<String>, role: impl Into<String>) -> Self {
        self.grantee = Some(grantee.into());
        self.role = Some(role.into());
        self
    }
}

/// A committed event, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub org_id: String,
    pub revision: i64,
    pub index: i32,
    pub time: Micros,
    /// `users/{id}`, or `system` for the server's own jobs.
    pub actor: String,
    pub change: Change,
}

/// The actor of the server's own jobs (trash purging).
pub const SYSTEM_ACTOR: &str = "system";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert!(seen.insert(t.as_str()));
        }
        assert_eq!(EventType::parse("dashboard_created"), None);
    }
}
