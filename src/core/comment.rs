//! Comments on widgets (DESIGN §6, Lightdash tile comments):
//! `dashboards/{d}/widgets/{w}/comments/{c}`. Plain types, names, limits and the checks of
//! what a caller sends; who may do what is `authz::comments`.

use super::dashboard::etag_of;
use super::error::echo;
use super::{Error, Micros, Result, Violation, names};

/// A comment is a note, not a document.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// Mentions notify people: a handful per comment, not the whole org.
pub const MAX_MENTIONS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: String,
    pub org_id: String,
    pub dashboard_id: String,
    pub widget_id: String,
    /// The top-level comment this one answers.
    pub reply_to: Option<String>,
    pub author_id: String,
    pub text: String,
    /// User ids, in the order given, each once.
    pub mentions: Vec<String>,
    /// Whether the comment's thread is resolved.
    pub resolved: bool,
    pub resolver_id: Option<String>,
    pub resolve_time: Option<Micros>,
    pub revision: i64,
    pub create_time: Micros,
    pub update_time: Micros,
}

impl Comment {
    pub fn name(&self) -> String {
        comment_name(&self.dashboard_id, &self.widget_id, &self.id)
    }

    pub fn etag(&self) -> String {
        etag_of(&self.id, self.revision)
    }

    pub fn is_reply(&self) -> bool {
        self.reply_to.is_some()
    }
}

/// Where a comment sits: its dashboard, widget and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentKey {
    pub dashboard_id: String,
    pub widget_id: String,
    pub id: String,
}

impl CommentKey {
    pub fn name(&self) -> String {
        comment_name(&self.dashboard_id, &self.widget_id, &self.id)
    }
}

pub fn comment_name(dashboard_id: &str, widget_id: &str, id: &str) -> String {
    format!("dashboards/{dashboard_id}/widgets/{widget_id}/comments/{id}")
}

/// Parses `dashboards/{d}/widgets/{w}/comments/{c}`.
pub fn parse_comment_name(field: &str, name: &str) -> Result<CommentKey> {
    if name.is_empty() {
        return Err(Error::invalid(
            field,
            "required: expected dashboards/{id}/widgets/{id}/comments/{id}",
        ));
    }
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["dashboards", d, "widgets", w, "comments", c]
            if names::is_valid_id(d) && names::is_valid_id(w) && names::is_valid_id(c) =>
        {
            Ok(CommentKey {
                dashboard_id: d.to_string(),
                widget_id: w.to_string(),
                id: c.to_string(),
            })
        }
        _ => Err(Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected \
                 dashboards/{{id}}/widgets/{{id}}/comments/{{id}}",
                echo(name)
            ),
        )),
    }
}

/// What CreateComment asks for, as sent.
#[derive(Debug, Clone, Default)]
pub struct NewComment {
    pub text: String,
    pub reply_to: String,
    pub mentions: Vec<String>,
}

/// A CreateComment's request checked: the text, the comment answered (its key, when any)
/// and the mentioned user ids (in order, each once).
#[derive(Debug, Clone)]
pub struct CheckedComment {
    pub text: String,
    pub reply_to: Option<CommentKey>,
    pub mentions: Vec<String>,
}

/// Checks the fields of a new comment on widget `(dashboard_id, widget_id)`: every
/// malformed field at once (INVALID_ARGUMENT); a text over the limit and too many mentions
/// each with their own reason.
pub fn check_new(dashboard_id: &str, widget_id: &str, new: NewComment) -> Result<CheckedComment> {
    let chars = new.text.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(Error::invalid_with_reason(
            "COMMENT_TEXT_TOO_LONG",
            "comment.text",
            format!("must be at most {MAX_COMMENT_CHARS} characters (got {chars})"),
        ));
    }
    if new.mentions.len() > MAX_MENTIONS {
        return Err(Error::invalid_with_reason(
            "TOO_MANY_MENTIONS",
            "comment.mentions",
            format!(
                "at most {MAX_MENTIONS} users per comment (got {})",
                new.mentions.len()
            ),
        ));
    }
    let mut violations = Vec::new();
    if new.text.trim().is_empty() {
        violations.push(Violation::new(
            "comment.text",
            "required: must not be empty",
        ));
    }
    let reply_to = if new.reply_to.is_empty() {
        None
    } else {
        match parse_comment_name("comment.reply_to", &new.reply_to) {
            Ok(key) if key.dashboard_id == dashboard_id && key.widget_id == widget_id => Some(key),
            Ok(_) => {
                violations.push(Violation::new(
                    "comment.reply_to",
                    "must be a comment of the same widget",
                ));
                None
            }
            Err(Error::InvalidArgument { violations: v, .. }) => {
                violations.extend(v);
                None
            }
            Err(other) => return Err(other),
        }
    };
    let mut mentions: Vec<String> = Vec::with_capacity(new.mentions.len());
    for (i, name) in new.mentions.iter().enumerate() {
        match names::parse_user_name(&format!("comment.mentions[{i}]"), name) {
            Ok(id) if id == "me" => violations.push(Violation::new(
                format!("comment.mentions[{i}]"),
                "name the user by id, not users/me",
            )),
            Ok(id) => {
                if !mentions.contains(&id) {
                    mentions.push(id);
                }
            }
            Err(Error::InvalidArgument { violations: v, .. }) => violations.extend(v),
            Err(other) => return Err(other),
        }
    }
    if !violations.is_empty() {
        return Err(Error::invalid_fields(violations));
    }
    Ok(CheckedComment {
        text: new.text,
        reply_to,
        mentions,
    })
}

/// The comment a reply answers must start a thread: REPLY_TO_REPLY otherwise.
pub fn check_reply_target(target: &Comment) -> Result<()> {
    if target.is_reply() {
        return Err(Error::failed_precondition(
            "REPLY_TO_REPLY",
            target.name(),
            "the comment is itself a reply: reply to the top-level comment of its thread",
        ));
    }
    Ok(())
}

/// Only a top-level comment resolves or reopens its thread: COMMENT_IS_REPLY otherwise.
pub fn check_resolvable(comment: &Comment) -> Result<()> {
    if comment.is_reply() {
        return Err(Error::failed_precondition(
            "COMMENT_IS_REPLY",
            comment.name(),
            "a reply is resolved with its thread: resolve the top-level comment",
        ));
    }
    Ok(())
}

/// A mentioned user the caller cannot see in the org's directory (not a user of the org, or
/// of another tenant).
pub fn mentioned_user_not_found(user_id: &str) -> Error {
    Error::failed_precondition(
        "MENTIONED_USER_NOT_FOUND",
        names::user_name(user_id),
        format!(
            "{} is not a user of the organization",
            echo(&names::user_name(user_id))
        ),
    )
}

/// A mentioned user who cannot READ the dashboard (a mention would notify them of something
/// they cannot open).
pub fn mentioned_user_cannot_read(user_id: &str, dashboard_id: &str) -> Error {
    Error::failed_precondition(
        "MENTIONED_USER_CANNOT_READ",
        names::user_name(user_id),
        format!(
            "{} cannot read {}: share the dashboard with them first",
            echo(&names::user_name(user_id)),
            names::dashboard_name(dashboard_id)
        ),
    )
}

/// The `filter` of ListComments: empty, `resolved = true` or `resolved = false`.
pub fn parse_filter(filter: &str) -> Result<Option<bool>> {
    let compact: String = filter.chars().filter(|c| !c.is_whitespace()).collect();
    match compact.as_str() {
        "" => Ok(None),
        "resolved=true" => Ok(Some(true)),
        "resolved=false" => Ok(Some(false)),
        _ => Err(Error::invalid(
            "filter",
            format!(
                "cannot filter by {}: use `resolved = true` or `resolved = false`",
                echo(filter)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let key = parse_comment_name("name", "dashboards/d/widgets/w/comments/c").unwrap();
        assert_eq!(key.name(), "dashboards/d/widgets/w/comments/c");
        for bad in [
            "",
            "dashboards/d/widgets/w",
            "dashboards/d/widgets/w/comments/",
            "dashboards/d/widgets/w/replies/c",
            "dashboards/d/widgets/w/comments/c/x",
        ] {
            assert!(parse_comment_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_comments_are_checked() {
        let ok = check_new(
            "d",
            "w",
            NewComment {
                text: "hi".into(),
                reply_to: "dashboards/d/widgets/w/comments/c".into(),
                mentions: vec!["users/a".into(), "users/b".into(), "users/a".into()],
            },
        )
        .unwrap();
        assert_eq!(ok.mentions, ["a", "b"]);
        assert_eq!(ok.reply_to.unwrap().id, "c");
        let other_widget = check_new(
            "d",
            "w",
            NewComment {
                text: "hi".into(),
                reply_to: "dashboards/d/widgets/x/comments/c".into(),
                ..Default::default()
            },
        );
        assert!(matches!(other_widget, Err(Error::InvalidArgument { .. })));
        let long = check_new(
            "d",
            "w",
            NewComment {
                text: "x".repeat(MAX_COMMENT_CHARS + 1),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(long.reason(), "COMMENT_TEXT_TOO_LONG");
        let blank = check_new(
            "d",
            "w",
            NewComment {
                text: "  ".into(),
                ..Default::default()
            },
        );
        assert!(blank.is_err());
    }

    #[test]
    fn filters() {
        assert_eq!(parse_filter("").unwrap(), None);
        assert_eq!(parse_filter(" resolved = false ").unwrap(), Some(false));
        assert_eq!(parse_filter("resolved=true").unwrap(), Some(true));
        assert!(parse_filter("resolved = maybe").is_err());
        assert!(parse_filter("author = \"users/a\"").is_err());
    }
}
