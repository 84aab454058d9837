//! Update masks (AIP-134), one reading for every resource.

use super::error::echo;
use super::{Error, Result, Violation};

/// The fields of a resource a mask may name, and those the server sets.
pub struct MaskFields {
    pub updatable: &'static [&'static str],
    pub output_only: &'static [&'static str],
}

impl MaskFields {
    /// The fields `paths` selects: each path (trimmed) that is updatable, and for `*` the
    /// `star` fields. An output-only or unknown path is an INVALID_ARGUMENT violation of
    /// `update_mask`, all of them reported at once. An empty mask selects `populated` (the
    /// fields the request sets), as AIP-134 says.
    pub fn select(
        &self,
        paths: &[String],
        star: &[&'static str],
        populated: &[&'static str],
    ) -> Result<Vec<&'static str>> {
        if paths.is_empty() {
            return Ok(populated.to_vec());
        }
        let mut selected = Vec::new();
        let mut violations = Vec::new();
        for path in paths {
            let path = path.trim();
            if path == "*" {
                selected.extend_from_slice(star);
            } else if let Some(field) = self.updatable.iter().find(|f| **f == path) {
                selected.push(*field);
            } else if self.output_only.contains(&path) {
                violations.push(Violation::new(
                    "update_mask",
                    format!("{} is output only", echo(path)),
                ));
            } else {
                violations.push(Violation::new(
                    "update_mask",
                    format!(
                        "unknown field {}: updatable fields are {}",
                        echo(path),
                        self.updatable.join(", ")
                    ),
                ));
            }
        }
        if violations.is_empty() {
            Ok(selected)
        } else {
            Err(Error::invalid_fields(violations))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: MaskFields = MaskFields {
        updatable: &["title", "description"],
        output_only: &["name", "etag"],
    };

    #[test]
    fn selects_named_star_and_populated_fields() {
        let select = |paths: &[&str]| {
            let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
            FIELDS.select(&paths, &["title", "description"], &["title"])
        };
        assert_eq!(select(&[" title "]).expect("ok"), vec!["title"]);
        assert_eq!(select(&["*"]).expect("ok"), vec!["title", "description"]);
        assert_eq!(select(&[]).expect("ok"), vec!["title"]);
        match select(&["name", "nope", "title"]) {
            Err(Error::InvalidArgument { violations, .. }) => {
                assert_eq!(violations.len(), 2);
                assert!(violations.iter().all(|v| v.field == "update_mask"));
            }
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }
}
