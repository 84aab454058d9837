//! Move previews (DESIGN §5): who gains or loses which permission when a dashboard or a
//! folder moves. Before and after are the one policy ([`effective_access`] over the
//! [`Inheritance`] of each place), so a preview says what CheckAccess will say after the
//! move.

use std::collections::BTreeMap;

use super::inheritance::Inheritance;
use super::policy::{Grant, GranteeKind, RoleBook, Subject, effective_access};
use super::{Permission, PermissionSet};
use crate::core::{Micros, Principal};

/// Someone a preview speaks about.
#[derive(Debug, Clone)]
pub enum Audience {
    /// A user, judged as CheckAccess judges it: its subjects (itself, its groups, its
    /// tenant, the org-wide audiences) and its role's ceiling.
    User {
        principal: Principal,
        subjects: Vec<Subject>,
    },
    /// A group, a tenant or an org-wide audience: what its own shares give.
    Grantee(Subject),
}

impl Audience {
    /// `users/u`, `groups/g`, `tenants/t`, `all_tenants`, `org_members`, `everyone`.
    pub fn name(&self) -> String {
        match self {
            Self::User { principal, .. } => GranteeKind::User.resource_name(&principal.user_id),
            Self::Grantee(s) => s.kind.resource_name(&s.id),
        }
    }
}

/// One principal's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessChange {
    pub principal: String,
    pub gained: Vec<Permission>,
    pub lost: Vec<Permission>,
}

/// The facts a preview is computed from: every share that counts before or after (on the
/// resource itself and on both chains), the roles they name, and the resource's org.
pub struct MoveFacts<'a> {
    pub org_id: &'a str,
    pub grants: &'a [Grant],
    pub roles: &'a RoleBook,
    pub now: Micros,
}

/// The changes of every audience whose permissions differ between `before` and `after`,
/// ordered by principal name.
pub fn access_changes(
    facts: &MoveFacts<'_>,
    audiences: &[Audience],
    before: &Inheritance,
    after: &Inheritance,
) -> Vec<AccessChange> {
    let mut changes = BTreeMap::new();
    for audience in audiences {
        let was = permissions_of(facts, audience, before);
        let is = permissions_of(facts, audience, after);
        if was == is {
            continue;
        }
        changes.insert(
            audience.name(),
            AccessChange {
                principal: audience.name(),
                gained: is.iter().filter(|p| !was.contains(*p)).collect(),
                lost: was.iter().filter(|p| !is.contains(*p)).collect(),
            },
        );
    }
    changes.into_values().collect()
}

/// The subjects of the shares in `grants` that are not users: the groups, tenants and
/// org-wide audiences a preview speaks about, each once.
pub fn grantee_audiences(grants: &[Grant]) -> Vec<Audience> {
    let mut seen: Vec<Subject> = Vec::new();
    for g in grants.iter().filter(|g| g.kind != GranteeKind::User) {
        let subject = Subject {
            kind: g.kind,
            id: g.grantee_id.clone(),
        };
        if !seen.contains(&subject) {
            seen.push(subject);
        }
    }
    seen.into_iter().map(Audience::Grantee).collect()
}

fn permissions_of(
    facts: &MoveFacts<'_>,
    audience: &Audience,
    inheritance: &Inheritance,
) -> PermissionSet {
    match audience {
        Audience::User {
            principal,
            subjects,
        } => {
            let mine = facts
                .grants
                .iter()
                .filter(|g| {
                    subjects
                        .iter()
                        .any(|s| s.kind == g.kind && s.id == g.grantee_id)
                })
                .cloned()
                .collect();
            effective_access(
                principal,
                facts.org_id,
                mine,
                inheritance.clone(),
                facts.roles,
                facts.now,
            )
            .permissions
        }
        Audience::Grantee(subject) => facts
            .grants
            .iter()
            .filter(|g| g.kind == subject.kind && g.grantee_id == subject.id)
            .filter(|g| g.is_active(facts.now) && inheritance.reaches(&g.on))
            .fold(PermissionSet::EMPTY, |acc, g| {
                acc.union(facts.roles.permissions(&g.role))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::PlatformRole;
    use crate::core::authz::{BuiltinRole, ChainLink, ShareTarget, inheritance, subjects_of};

    fn user(id: &str, role: PlatformRole, groups: &[&str]) -> Audience {
        let principal = Principal {
            user_id: id.into(),
            org_id: "acme".into(),
            tenant_id: None,
            role,
            email: None,
            name: None,
        };
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let subjects = subjects_of(&principal, &groups);
        Audience::User {
            principal,
            subjects,
        }
    }

    fn grant(on: ShareTarget, kind: GranteeKind, who: &str, role: BuiltinRole) -> Grant {
        Grant {
            id: format!("{who}-{}", on.name()),
            on,
            kind,
            grantee_id: who.into(),
            role: role.name().into(),
            expire_time: None,
            creator_id: "c".into(),
            create_time: 0,
            update_time: 0,
        }
    }

    fn link(id: &str, inherit: bool) -> ChainLink {
        ChainLink {
            folder_id: id.into(),
            inherit_access: inherit,
        }
    }

    fn dashboard() -> ShareTarget {
        ShareTarget::Dashboard("d".into())
    }

    fn folder(id: &str) -> ShareTarget {
        ShareTarget::Folder(id.into())
    }

    /// From folder a (u: editor, g1: viewer) to folder b (private: b stops inheritance from
    /// c above it, where everyone reads; v owns b).
    #[test]
    fn a_move_reports_what_each_audience_gains_and_loses() {
        let grants = vec![
            grant(dashboard(), GranteeKind::User, "o", BuiltinRole::Owner),
            grant(folder("a"), GranteeKind::User, "u", BuiltinRole::Editor),
            grant(folder("a"), GranteeKind::Group, "g1", BuiltinRole::Viewer),
            grant(folder("b"), GranteeKind::User, "v", BuiltinRole::Owner),
            grant(folder("c"), GranteeKind::Everyone, "", BuiltinRole::Viewer),
        ];
        let roles = RoleBook::default();
        let facts = MoveFacts {
            org_id: "acme",
            grants: &grants,
            roles: &roles,
            now: 1,
        };
        let before = inheritance(dashboard(), true, &[link("a", true)]);
        let after = inheritance(dashboard(), true, &[link("b", false), link("c", true)]);
        let mut audiences = vec![
            user("o", PlatformRole::Author, &["g1"]),
            user("u", PlatformRole::Author, &["g1"]),
            user("v", PlatformRole::Viewer, &[]),
        ];
        audiences.extend(grantee_audiences(&grants));
        let changes = access_changes(&facts, &audiences, &before, &after);
        let names: Vec<&str> = changes.iter().map(|c| c.principal.as_str()).collect();
        // The owner keeps everything; everyone gains nothing (c is above the cut).
        assert_eq!(names, vec!["groups/g1", "users/u", "users/v"]);
        // u (in g1 too) reads nothing under b.
        let u = &changes[1];
        assert!(u.gained.is_empty());
        assert!(u.lost.contains(&Permission::Read) && u.lost.contains(&Permission::Write));
        // v owns b, but a VIEWER's ceiling is READ.
        assert_eq!(changes[2].gained, vec![Permission::Read]);
        assert!(changes[2].lost.is_empty());
        assert_eq!(changes[0].lost, vec![Permission::Read]);
    }

    #[test]
    fn a_move_that_keeps_the_chain_changes_nothing() {
        let grants = vec![grant(
            folder("a"),
            GranteeKind::OrgMembers,
            "",
            BuiltinRole::Viewer,
        )];
        let roles = RoleBook::default();
        let facts = MoveFacts {
            org_id: "acme",
            grants: &grants,
            roles: &roles,
            now: 1,
        };
        // The dashboard stops inheritance: neither place reaches it.
        let before = inheritance(dashboard(), false, &[link("a", true)]);
        let after = inheritance(dashboard(), false, &[link("b", true)]);
        let mut audiences = grantee_audiences(&grants);
        audiences.push(user("u", PlatformRole::Author, &[]));
        assert!(access_changes(&facts, &audiences, &before, &after).is_empty());
        // Inheriting, the org members lose their READ.
        let before = inheritance(dashboard(), true, &[link("a", true)]);
        let after = inheritance(dashboard(), true, &[link("b", true)]);
        let changes = access_changes(&facts, &audiences, &before, &after);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].principal, "org_members");
        assert_eq!(changes[1].principal, "users/u");
        assert_eq!(changes[1].lost, vec![Permission::Read]);
    }
}
