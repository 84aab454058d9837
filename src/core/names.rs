//! Resource names (`dashboards/{id}`, `users/{id}`) and their parsing.

use super::authz::ShareTarget;
use super::error::echo;
use super::{Error, Result};

/// Parses `dashboards/{id}` and returns the id. `field` is the request field, for the
/// violation.
pub fn parse_dashboard_name(field: &str, name: &str) -> Result<String> {
    parse_single(field, name, "dashboards")
}

pub fn dashboard_name(id: &str) -> String {
    format!("dashboards/{id}")
}

/// Parses `dashboards/{dashboard}/widgets/{widget}` and returns both ids.
pub fn parse_widget_name(field: &str, name: &str) -> Result<(String, String)> {
    if name.is_empty() {
        return Err(Error::invalid(
            field,
            "required: expected dashboards/{id}/widgets/{id}",
        ));
    }
    parse_child_name(field, name, "widgets")
}

pub fn widget_name(dashboard_id: &str, widget_id: &str) -> String {
    format!("dashboards/{dashboard_id}/widgets/{widget_id}")
}

/// `dashboards/{d}/versions/{n}`.
pub fn version_name(dashboard_id: &str, version: i64) -> String {
    format!("dashboards/{dashboard_id}/versions/{version}")
}

/// Parses `dashboards/{d}/versions/{n}` into `(d, n)`; `n` is a positive number.
pub fn parse_version_name(field: &str, name: &str) -> Result<(String, i64)> {
    let (dashboard_id, version) = parse_child_name(field, name, "versions")?;
    match version.parse::<i64>() {
        Ok(n) if n > 0 => Ok((dashboard_id, n)),
        _ => Err(Error::invalid(
            field,
            format!(
                "{} is not a valid version name: expected dashboards/{{id}}/versions/{{number}}",
                echo(name)
            ),
        )),
    }
}

pub fn user_name(id: &str) -> String {
    format!("users/{id}")
}

/// Parses `users/{id}`.
pub fn parse_user_name(field: &str, name: &str) -> Result<String> {
    parse_single(field, name, "users")
}

pub fn parse_group_name(field: &str, name: &str) -> Result<String> {
    parse_single(field, name, "groups")
}

pub fn group_name(id: &str) -> String {
    format!("groups/{id}")
}

/// Parses `dashboards/{d}/{collection}/{id}` into `(d, id)`.
pub fn parse_child_name(field: &str, name: &str, collection: &str) -> Result<(String, String)> {
    let bad = || {
        Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected dashboards/{{id}}/{collection}/{{id}}",
                echo(name)
            ),
        )
    };
    let mut parts = name.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("dashboards"), Some(d), Some(c), Some(id), None)
            if c == collection && is_valid_id(d) && is_valid_id(id) =>
        {
            Ok((d.to_string(), id.to_string()))
        }
        _ => Err(bad()),
    }
}

pub fn share_name(dashboard_id: &str, id: &str) -> String {
    format!("dashboards/{dashboard_id}/shares/{id}")
}

/// Parses what a share may sit on: `dashboards/{id}`, `folders/{id}` or
/// `library-widgets/{id}`.
pub fn parse_share_target(field: &str, name: &str) -> Result<ShareTarget> {
    if name.starts_with("folders/") {
        return Ok(ShareTarget::Folder(parse_single(field, name, "folders")?));
    }
    if name.starts_with("library-widgets/") {
        return Ok(ShareTarget::LibraryWidget(parse_single(
            field,
            name,
            "library-widgets",
        )?));
    }
    match parse_single(field, name, "dashboards") {
        Ok(id) => Ok(ShareTarget::Dashboard(id)),
        Err(_) if !name.is_empty() => Err(Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected dashboards/{{id}} or folders/{{id}}",
                echo(name)
            ),
        )),
        Err(e) => Err(e),
    }
}

/// Parses `dashboards/{d}/shares/{s}` or `folders/{f}/shares/{s}`: what the share sits on
/// and its id.
pub fn parse_share_name(field: &str, name: &str) -> Result<(ShareTarget, String)> {
    let mut parts = name.split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (
            Some(kind @ ("dashboards" | "folders" | "library-widgets")),
            Some(on),
            Some("shares"),
            Some(id),
            None,
        ) if is_valid_id(on) && is_valid_id(id) => {
            let target = match kind {
                "folders" => ShareTarget::Folder(on.to_string()),
                "library-widgets" => ShareTarget::LibraryWidget(on.to_string()),
                _ => ShareTarget::Dashboard(on.to_string()),
            };
            Ok((target, id.to_string()))
        }
        _ => Err(Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected dashboards/{{id}}/shares/{{id}} or \
                 folders/{{id}}/shares/{{id}}",
                echo(name)
            ),
        )),
    }
}

/// Parses `{collection}/{id}` and returns the id.
pub fn parse_collection_name(field: &str, name: &str, collection: &str) -> Result<String> {
    parse_single(field, name, collection)
}

fn parse_single(field: &str, name: &str, collection: &str) -> Result<String> {
    if name.is_empty() {
        return Err(Error::invalid(
            field,
            format!("required: expected {collection}/{{id}}"),
        ));
    }
    match name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(id) if is_valid_id(id) => Ok(id.to_string()),
        _ => Err(Error::invalid(
            field,
            format!(
                "{} is not a valid resource name: expected {collection}/{{id}}",
                echo(name)
            ),
        )),
    }
}

/// Ids are 1..128 characters of letters, digits, `-`, `_`, `.`, `@`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_share_targets_and_share_names() {
        assert_eq!(
            parse_share_target("name", "folders/f1").unwrap(),
            ShareTarget::Folder("f1".into())
        );
        assert_eq!(
            parse_share_target("name", "dashboards/d1").unwrap(),
            ShareTarget::Dashboard("d1".into())
        );
        for bad in ["", "folders/", "labels/x", "folders/a/b"] {
            assert!(parse_share_target("name", bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_share_name("name", "folders/f/shares/s").unwrap(),
            (ShareTarget::Folder("f".into()), "s".to_string())
        );
        assert_eq!(
            parse_share_name("name", "dashboards/d/shares/s").unwrap(),
            (ShareTarget::Dashboard("d".into()), "s".to_string())
        );
        for bad in [
            "folders/f/shares",
            "folders/f/widgets/s",
            "labels/l/shares/s",
        ] {
            assert!(parse_share_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_widget_names() {
        assert_eq!(
            parse_widget_name("name", "dashboards/d-1/widgets/w_2").unwrap(),
            ("d-1".to_string(), "w_2".to_string())
        );
        for bad in [
            "",
            "dashboards/d",
            "dashboards/d/widgets",
            "dashboards/d/widgets/",
            "dashboards//widgets/w",
            "dashboards/d/shares/w",
            "dashboards/d/widgets/w/x",
            "widgets/w",
        ] {
            assert!(parse_widget_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_dashboard_names() {
        assert_eq!(
            parse_dashboard_name("name", "dashboards/abc-1").unwrap(),
            "abc-1"
        );
        for bad in [
            "",
            "dashboards/",
            "dashboards",
            "widgets/x",
            "dashboards/a/b",
            "dashboards/a b",
        ] {
            let err = parse_dashboard_name("name", bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument { .. }),
                "{bad:?} -> {err:?}"
            );
        }
    }
}
