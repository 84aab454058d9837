//! The dashboard as the service sees it, its limits and its validation.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::widget::WidgetLimits;
use super::{Micros, Violation, names};

/// Configurable size limits (DESIGN.md §6). Violations are INVALID_ARGUMENT naming the field.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_title_chars: usize,
    pub max_description_chars: usize,
    pub max_metadata_bytes: usize,
    pub default_page_size: usize,
    pub max_page_size: usize,
    pub max_batch_get: usize,
    pub max_shares_per_dashboard: usize,
    /// The most a list page may encode to; pages that would be larger come back with fewer
    /// items than `page_size` (and a next page token).
    pub max_response_bytes: usize,
    /// Widget count, config and data-source limits; widget titles and descriptions use the
    /// limits above.
    pub widgets: WidgetLimits,
    /// How deep folders nest (`MAX_FOLDER_DEPTH`): 1 is directly under the root.
    pub max_folder_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_title_chars: 200,
            max_description_chars: 4_000,
            max_metadata_bytes: 64 * 1024,
            default_page_size: 50,
            max_page_size: 1_000,
            max_batch_get: 1_000,
            max_shares_per_dashboard: 1_000,
            max_response_bytes: 4 * 1024 * 1024 - 64 * 1024,
            widgets: WidgetLimits::default(),
            max_folder_depth: super::folder::DEFAULT_MAX_FOLDER_DEPTH,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub id: String,
    pub org_id: String,
    /// Tenant of the creator, if a tenant user created it.
    pub tenant_id: Option<String>,
    pub title: String,
    pub description: String,
    /// `google.protobuf.Struct`, protobuf-encoded; empty when unset.
    pub metadata: Vec<u8>,
    pub refresh_period_nanos: Option<i64>,
    pub creator_id: String,
    /// Bumped by every change; the etag is derived from it.
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
    pub delete_time: Option<Micros>,
    pub expire_time: Option<Micros>,
    /// The folder holding it (`None` at the root).
    pub folder_id: Option<String>,
    /// False stops the shares of its folders from reaching it.
    pub inherit_access: bool,
    /// Whether an active public link exists, when the read that produced this value
    /// looked (`None`: not looked up).
    pub is_public: Option<bool>,
    /// Whether the caller of the read that produced this value starred it, when that read
    /// looked (`None`: not looked up).
    pub starred: Option<bool>,
    /// The labels it carries (`labels/{id}`, oldest attachment first), when the read that
    /// produced this value looked (`None`: not looked up).
    pub labels: Option<Vec<String>>,
}

impl Dashboard {
    pub fn name(&self) -> String {
        names::dashboard_name(&self.id)
    }

    pub fn etag(&self) -> String {
        etag_of(&self.id, self.revision)
    }

    pub fn is_deleted(&self) -> bool {
        self.delete_time.is_some()
    }
}

/// An opaque tag of one version of a resource.
pub fn etag_of(id: &str, revision: i64) -> String {
    let digest = Sha256::digest(format!("{id}:{revision}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// The caller-writable fields of a dashboard; `None` leaves a field unchanged on update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashboardFields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Vec<u8>>,
    /// `Some(None)` clears the refresh period.
    pub refresh_period_nanos: Option<Option<i64>>,
}

impl DashboardFields {
    /// The names of the fields set, as a mask names them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.title.is_some() {
            names.push("title");
        }
        if self.description.is_some() {
            names.push("description");
        }
        if self.metadata.is_some() {
            names.push("metadata");
        }
        if self.refresh_period_nanos.is_some() {
            names.push("refresh_period");
        }
        names
    }

    /// Checks every set field against the limits; `prefix` is the request path of the
    /// dashboard message (e.g. `dashboard`; empty: the fields are the request's own).
    pub fn validate(&self, prefix: &str, limits: &Limits) -> Vec<Violation> {
        let mut violations = Vec::new();
        if let Some(title) = &self.title {
            let chars = title.chars().count();
            if title.trim().is_empty() {
                violations.push(Violation::new(
                    path(prefix, "title"),
                    "required: must not be empty",
                ));
            } else if chars > limits.max_title_chars {
                violations.push(Violation::new(
                    path(prefix, "title"),
                    format!(
                        "must be at most {} characters (got {chars})",
                        limits.max_title_chars
                    ),
                ));
            }
        }
        if let Some(description) = &self.description {
            let chars = description.chars().count();
            if chars > limits.max_description_chars {
                violations.push(Violation::new(
                    path(prefix, "description"),
                    format!(
                        "must be at most {} characters (got {chars})",
                        limits.max_description_chars
                    ),
                ));
            }
        }
        if let Some(metadata) = &self.metadata
            && metadata.len() > limits.max_metadata_bytes
        {
            violations.push(Violation::new(
                path(prefix, "metadata"),
                format!(
                    "must be at most {} bytes (got {})",
                    limits.max_metadata_bytes,
                    metadata.len()
                ),
            ));
        }
        if let Some(Some(nanos)) = self.refresh_period_nanos
            && nanos < 0
        {
            violations.push(Violation::new(
                path(prefix, "refresh_period"),
                "must not be negative",
            ));
        }
        violations
    }
}

/// The request path of `field` under `prefix`.
fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// The default title of a copy: `<title> (Copy)`, the source's title cut so that the whole
/// stays within `max_chars` characters (the suffix is what tells the copy apart).
pub fn copy_title(title: &str, max_chars: usize) -> String {
    const SUFFIX: &str = " (Copy)";
    let room = max_chars.saturating_sub(SUFFIX.chars().count());
    if room == 0 {
        // A limit too small for the suffix: the title alone, cut.
        return title.chars().take(max_chars).collect();
    }
    let mut copy: String = title.chars().take(room).collect();
    copy.push_str(SUFFIX);
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_titles_keep_their_suffix_within_the_limit() {
        assert_eq!(copy_title("Ops", 200), "Ops (Copy)");
        let long = copy_title(&"é".repeat(200), 200);
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with("é (Copy)"));
        assert_eq!(copy_title("Ops", 4), "Ops");
    }

    #[test]
    fn title_limits_count_characters_not_bytes() {
        let limits = Limits::default();
        let ok = DashboardFields {
            title: Some("é".repeat(200)),
            ..Default::default()
        };
        assert!(ok.validate("dashboard", &limits).is_empty());
        let long = DashboardFields {
            title: Some("é".repeat(201)),
            ..Default::default()
        };
        let v = long.validate("dashboard", &limits);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "dashboard.title");
        let empty = DashboardFields {
            title: Some("  ".into()),
            ..Default::default()
        };
        assert_eq!(
            empty.validate("dashboard", &limits)[0].field,
            "dashboard.title"
        );
    }

    #[test]
    fn etags_differ_per_revision_and_id() {
        assert_ne!(etag_of("a", 1), etag_of("a", 2));
        assert_ne!(etag_of("a", 1), etag_of("b", 1));
        assert_eq!(etag_of("a", 1), etag_of("a", 1));
    }
}

/// What ListDashboards orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    CreateTime,
    UpdateTime,
    Title,
}

/// A ListDashboards call, parsed: what it filters on, its order, where the page starts.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub filter: Option<super::filter::Filter>,
    pub sort: SortKey,
    pub descending: bool,
    /// The last row of the previous page: its sort value and id.
    pub after: Option<(super::page_token::CursorValue, String)>,
    pub show_deleted: bool,
    /// Rows to read: the page size plus one, to know whether more follow.
    pub limit: u64,
}
