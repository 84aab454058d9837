//! Domain <-> wire mapping.

use prost::Message;

use crate::core::dashboard::Dashboard;
use crate::core::widget::{DataSource, Layout, LayoutPatch, Widget, WidgetType};
use crate::core::{Error, Micros, Result, Violation, names};
use crate::pb;

pub fn timestamp(micros: Micros) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

pub fn duration_nanos(field: &str, duration: &prost_types::Duration) -> Result<i64> {
    let nanos = i128::from(duration.seconds) * 1_000_000_000 + i128::from(duration.nanos);
    if duration.nanos.abs() >= 1_000_000_000
        || (duration.seconds > 0 && duration.nanos < 0)
        || (duration.seconds < 0 && duration.nanos > 0)
    {
        return Err(Error::invalid(field, "not a valid duration"));
    }
    i64::try_from(nanos).map_err(|_| Error::invalid(field, "duration out of range"))
}

pub fn duration(nanos: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: nanos.div_euclid(1_000_000_000),
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

pub fn encode_struct(value: &prost_types::Struct) -> Vec<u8> {
    value.encode_to_vec()
}

pub fn decode_struct(bytes: &[u8]) -> Option<prost_types::Struct> {
    if bytes.is_empty() {
        return None;
    }
    match prost_types::Struct::decode(bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::error!(error = %err, "stored metadata or config does not decode");
            None
        }
    }
}

pub fn dashboard(d: &Dashboard) -> pb::Dashboard {
    pb::Dashboard {
        name: d.name(),
        title: d.title.clone(),
        description: d.description.clone(),
        metadata: decode_struct(&d.metadata),
        refresh_period: d.refresh_period_nanos.map(duration),
        creator: names::user_name(&d.creator_id),
        create_time: Some(timestamp(d.create_time)),
        update_time: Some(timestamp(d.update_time)),
        delete_time: d.delete_time.map(timestamp),
        expire_time: d.expire_time.map(timestamp),
        etag: d.etag(),
        is_public: d.is_public.unwrap_or(false),
        starred: d.starred.unwrap_or(false),
        labels: d.labels.clone().unwrap_or_default(),
        folder: d
            .folder_id
            .as_deref()
            .map(crate::core::folder::folder_name)
            .unwrap_or_default(),
        inherit_access: Some(d.inherit_access),
        widgets: Vec::new(),
    }
}

pub fn folder(f: &crate::core::folder::Folder, depth: usize) -> pb::Folder {
    pb::Folder {
        name: f.name(),
        title: f.title.clone(),
        description: f.description.clone(),
        parent: f
            .parent_id
            .as_deref()
            .map(crate::core::folder::folder_name)
            .unwrap_or_default(),
        inherit_access: Some(f.inherit_access),
        creator: names::user_name(&f.creator_id),
        create_time: Some(timestamp(f.create_time)),
        update_time: Some(timestamp(f.update_time)),
        delete_time: f.delete_time.map(timestamp),
        etag: f.etag(),
        depth: i32::try_from(depth).unwrap_or(i32::MAX),
    }
}

pub fn access_change(c: &crate::core::authz::AccessChange) -> pb::AccessChange {
    pb::AccessChange {
        principal: c.principal.clone(),
        gained: c.gained.iter().map(|p| permission(*p) as i32).collect(),
        lost: c.lost.iter().map(|p| permission(*p) as i32).collect(),
    }
}

pub fn micros_of(field: &str, t: &prost_types::Timestamp) -> Result<Micros> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(Error::invalid(field, "not a valid timestamp"));
    }
    t.seconds
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(i64::from(t.nanos / 1_000)))
        .ok_or_else(|| Error::invalid(field, "timestamp out of range"))
}

pub fn permission(p: crate::core::authz::Permission) -> pb::Permission {
    use crate::core::authz::Permission as P;
    match p {
        P::Read => pb::Permission::Read,
        P::Write => pb::Permission::Write,
        P::ManageWidgets => pb::Permission::ManageWidgets,
        P::UpdateLabels => pb::Permission::UpdateLabels,
        P::Share => pb::Permission::Share,
        P::Delete => pb::Permission::Delete,
    }
}

pub fn permission_from(value: i32) -> Option<crate::core::authz::Permission> {
    use crate::core::authz::Permission as P;
    match pb::Permission::try_from(value).ok()? {
        pb::Permission::Unspecified => None,
        pb::Permission::Read => Some(P::Read),
        pb::Permission::Write => Some(P::Write),
        pb::Permission::ManageWidgets => Some(P::ManageWidgets),
        pb::Permission::UpdateLabels => Some(P::UpdateLabels),
        pb::Permission::Share => Some(P::Share),
        pb::Permission::Delete => Some(P::Delete),
    }
}

pub fn permissions(set: crate::core::authz::PermissionSet) -> Vec<i32> {
    set.iter().map(|p| permission(p) as i32).collect()
}

pub fn platform_role(role: crate::core::PlatformRole) -> pb::PlatformRole {
    use crate::core::PlatformRole as R;
    match role {
        R::Viewer => pb::PlatformRole::Viewer,
        R::PowerUser => pb::PlatformRole::PowerUser,
        R::Author => pb::PlatformRole::Author,
        R::Admin => pb::PlatformRole::Admin,
    }
}

pub fn platform_role_from(value: i32) -> Option<crate::core::PlatformRole> {
    use crate::core::PlatformRole as R;
    match pb::PlatformRole::try_from(value).ok()? {
        pb::PlatformRole::Unspecified => None,
        pb::PlatformRole::Viewer => Some(R::Viewer),
        pb::PlatformRole::PowerUser => Some(R::PowerUser),
        pb::PlatformRole::Author => Some(R::Author),
        pb::PlatformRole::Admin => Some(R::Admin),
    }
}

pub fn user(u: &crate::core::directory::User) -> pb::User {
    pb::User {
        name: names::user_name(&u.id),
        email: u.email.clone().unwrap_or_default(),
        display_name: u.display_name.clone(),
        role: platform_role(u.role) as i32,
        tenant: u.tenant_id.clone().unwrap_or_default(),
        create_time: Some(timestamp(u.create_time)),
        update_time: Some(timestamp(u.update_time)),
        email_withheld: u.withheld_email.is_some(),
        role_set_by_admin: u.role_set_by_admin,
    }
}

pub fn group(g: &crate::core::directory::Group, members: Vec<String>) -> pb::Group {
    use crate::core::directory::GroupKind;
    pb::Group {
        name: g.name(),
        display_name: g.display_name.clone(),
        description: g.description.clone(),
        kind: match g.kind {
            GroupKind::Org => pb::GroupKind::Org,
            GroupKind::Tenant => pb::GroupKind::Tenant,
        } as i32,
        tenant: g.tenant_id.clone().unwrap_or_default(),
        members: members.iter().map(|m| names::user_name(m)).collect(),
        member_count: i32::try_from(g.member_count).unwrap_or(i32::MAX),
        create_time: Some(timestamp(g.create_time)),
        update_time: Some(timestamp(g.update_time)),
        etag: g.etag(),
        creator: g
            .creator_id
            .as_deref()
            .map(names::user_name)
            .unwrap_or_default(),
    }
}

pub fn builtin_role(r: crate::core::authz::BuiltinRole) -> pb::Role {
    pb::Role {
        name: r.name().to_string(),
        display_name: r.display_name().to_string(),
        description: String::new(),
        permissions: permissions(r.permissions()),
        built_in: true,
        create_time: None,
        update_time: None,
        etag: String::new(),
    }
}

pub fn custom_role(r: &crate::core::directory::CustomRole) -> pb::Role {
    pb::Role {
        name: r.name.clone(),
        display_name: r.display_name.clone(),
        description: r.description.clone(),
        permissions: permissions(r.permissions),
        built_in: false,
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
        etag: crate::core::dashboard::etag_of(&r.id, r.revision),
    }
}

pub fn grantee(kind: crate::core::authz::GranteeKind, id: &str) -> pb::Grantee {
    use crate::core::authz::GranteeKind as K;
    use pb::grantee::Kind;
    let kind = match kind {
        K::User => Kind::User(names::user_name(id)),
        K::Group => Kind::Group(names::group_name(id)),
        K::Tenant => Kind::Tenant(id.to_string()),
        K::AllTenants => Kind::AllTenants(true),
        K::OrgMembers => Kind::OrgMembers(true),
        K::Everyone => Kind::Everyone(true),
    };
    pb::Grantee { kind: Some(kind) }
}

pub fn share(g: &crate::core::authz::Grant) -> pb::Share {
    pb::Share {
        name: g.name(),
        grantee: Some(grantee(g.kind, &g.grantee_id)),
        role: g.role.clone(),
        expire_time: g.expire_time.map(timestamp),
        creator: names::user_name(&g.creator_id),
        create_time: Some(timestamp(g.create_time)),
        update_time: Some(timestamp(g.update_time)),
    }
}

pub fn public_link(l: &crate::core::directory::PublicLink, token: String) -> pb::PublicLink {
    pb::PublicLink {
        name: l.name(),
        token,
        expire_time: l.expire_time.map(timestamp),
        creator: names::user_name(&l.creator_id),
        create_time: Some(timestamp(l.create_time)),
    }
}

/// The FULL view: the dashboard with its widgets (given in layout order).
pub fn widget(w: &Widget) -> pb::Widget {
    pb::Widget {
        name: w.name(),
        r#type: widget_type(w.widget_type) as i32,
        title: w.title.clone(),
        subtitle: w.subtitle.clone(),
        description: w.description.clone(),
        layout: Some(layout(w.layout)),
        config: decode_struct(&w.config),
        data_sources: w.data_sources.iter().map(data_source).collect(),
        create_time: Some(timestamp(w.create_time)),
        update_time: Some(timestamp(w.update_time)),
        etag: w.etag(),
        library_widget: w
            .library_widget_id
            .as_deref()
            .map(crate::core::library_widget::library_widget_name)
            .unwrap_or_default(),
    }
}

pub fn layout(l: Layout) -> pb::WidgetLayout {
    pb::WidgetLayout {
        x: Some(l.x),
        y: Some(l.y),
        w: Some(l.w),
        h: Some(l.h),
    }
}

pub fn layout_patch(l: &pb::WidgetLayout) -> LayoutPatch {
    LayoutPatch {
        x: l.x,
        y: l.y,
        w: l.w,
        h: l.h,
    }
}

pub fn data_source(d: &DataSource) -> pb::DataSource {
    pb::DataSource {
        device_id: d.device_id.clone(),
        device_name: d.device_name.clone(),
        project_id: d.project_id.clone(),
        project_name: d.project_name.clone(),
        query: d.query.clone(),
    }
}

pub fn data_source_in(d: &pb::DataSource) -> DataSource {
    DataSource {
        device_id: d.device_id.clone(),
        device_name: d.device_name.clone(),
        project_id: d.project_id.clone(),
        project_name: d.project_name.clone(),
        query: d.query.clone(),
    }
}

pub fn widget_type(t: WidgetType) -> pb::WidgetType {
    match t {
        WidgetType::Chart => pb::WidgetType::Chart,
        WidgetType::Stat => pb::WidgetType::Stat,
        WidgetType::Gauge => pb::WidgetType::Gauge,
        WidgetType::Table => pb::WidgetType::Table,
        WidgetType::Text => pb::WidgetType::Text,
        WidgetType::Map => pb::WidgetType::Map,
    }
}

/// The type a request gives: `Ok(None)` for UNSPECIFIED (the caller decides whether that is
/// allowed), a violation on `field` for a number this server does not know.
pub fn widget_type_in(
    field: &str,
    value: i32,
) -> std::result::Result<Option<WidgetType>, Violation> {
    match pb::WidgetType::try_from(value) {
        Ok(pb::WidgetType::Unspecified) => Ok(None),
        Ok(pb::WidgetType::Chart) => Ok(Some(WidgetType::Chart)),
        Ok(pb::WidgetType::Stat) => Ok(Some(WidgetType::Stat)),
        Ok(pb::WidgetType::Gauge) => Ok(Some(WidgetType::Gauge)),
        Ok(pb::WidgetType::Table) => Ok(Some(WidgetType::Table)),
        Ok(pb::WidgetType::Text) => Ok(Some(WidgetType::Text)),
        Ok(pb::WidgetType::Map) => Ok(Some(WidgetType::Map)),
        Err(_) => Err(Violation::new(
            field,
            format!("unknown widget type {value}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_times_round_down() {
        let t = timestamp(-1);
        assert_eq!((t.seconds, t.nanos), (-1, 999_999_000));
        let d = duration(1_500_000_000);
        assert_eq!((d.seconds, d.nanos), (1, 500_000_000));
        assert_eq!(duration_nanos("f", &d).unwrap(), 1_500_000_000);
        assert!(
            duration_nanos(
                "f",
                &prost_types::Duration {
                    seconds: 1,
                    nanos: -1
                }
            )
            .is_err()
        );
    }
}
