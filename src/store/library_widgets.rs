//! The library widgets repository: the only writer of `library_widgets` and
//! `library_widget_grants`. Writes run in the caller's write transaction after
//! [`LibraryWidgetRepo::lock`]; sharing rules are decided under that lock by the command
//! (`core::authz::sharing`), as for dashboards and folders.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{library_widget, library_widget_grant};
use crate::core::authz::{Grant, GranteeKind, PermissionSet, ShareTarget, ShareUpsert};
use crate::core::library_widget::LibraryWidget;
use crate::core::widget::{DataSource, WidgetType};
use crate::core::{Error, Micros, Principal, Result, new_id};

/// Stateless: every method runs on the connection or transaction it is given.
#[derive(Clone)]
pub struct LibraryWidgetRepo;

impl LibraryWidgetRepo {
    /// The library widget, if it exists in the org.
    pub async fn get(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        id: &str,
    ) -> Result<Option<LibraryWidget>> {
        library_widget::Entity::find_by_id(id.to_string())
            .filter(library_widget::Column::OrgId.eq(org_id))
            .one(conn)
            .await?
            .map(into_domain)
            .transpose()
    }

    /// Locks the library widget row until the transaction ends (`SELECT ... FOR UPDATE` on
    /// PostgreSQL; on SQLite the write already holds the writer lock). Every change of a
    /// library widget, of its shares and of the links to it takes this lock first.
    pub async fn lock(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        id: &str,
    ) -> Result<Option<LibraryWidget>> {
        library_widget::Entity::find_by_id(id.to_string())
            .filter(library_widget::Column::OrgId.eq(org_id))
            .lock_exclusive()
            .one(txn)
            .await?
            .map(into_domain)
            .transpose()
    }

    /// The library widgets of the org among `ids` (all of the org's when `None`), in id
    /// (creation) order after `after`, at most `limit`.
    pub async fn page(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        ids: Option<&[String]>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<LibraryWidget>> {
        let mut select =
            library_widget::Entity::find().filter(library_widget::Column::OrgId.eq(org_id));
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            select = select.filter(library_widget::Column::Id.is_in(ids.iter().cloned()));
        }
        if let Some(after) = after {
            select = select.filter(library_widget::Column::Id.gt(after));
        }
        select
            .order_by(library_widget::Column::Id, Order::Asc)
            .limit(limit)
            .all(conn)
            .await?
            .into_iter()
            .map(into_domain)
            .collect()
    }

    pub async fn insert(&self, txn: &DatabaseTransaction, w: &LibraryWidget) -> Result<()> {
        library_widget::Entity::insert(library_widget::ActiveModel {
            id: Set(w.id.clone()),
            org_id: Set(w.org_id.clone()),
            widget_type: Set(w.widget_type.as_str().to_string()),
            title: Set(w.title.clone()),
            subtitle: Set(w.subtitle.clone()),
            description: Set(w.description.clone()),
            config: Set(w.config.clone()),
            data_sources: Set(encode_sources(&w.data_sources)?),
            creator_id: Set(w.creator_id.clone()),
            revision: Set(w.revision),
            create_time: Set(w.create_time),
            update_time: Set(w.update_time),
        })
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    /// Stores the content, revision and update time of `w`.
    pub async fn save(&self, txn: &DatabaseTransaction, w: &LibraryWidget) -> Result<()> {
        library_widget::Entity::update_many()
            .col_expr(
                library_widget::Column::WidgetType,
                Expr::val(w.widget_type.as_str()),
            )
            .col_expr(library_widget::Column::Title, Expr::val(w.title.clone()))
            .col_expr(
                library_widget::Column::Subtitle,
                Expr::val(w.subtitle.clone()),
            )
            .col_expr(
                library_widget::Column::Description,
                Expr::val(w.description.clone()),
            )
            .col_expr(library_widget::Column::Config, Expr::val(w.config.clone()))
            .col_expr(
                library_widget::Column::DataSources,
                Expr::val(encode_sources(&w.data_sources)?),
            )
            .col_expr(library_widget::Column::Revision, Expr::val(w.revision))
            .col_expr(library_widget::Column::UpdateTime, Expr::val(w.update_time))
            .filter(library_widget::Column::Id.eq(&w.id))
            .filter(library_widget::Column::OrgId.eq(&w.org_id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Deletes the library widget and its shares.
    pub async fn delete(&self, txn: &DatabaseTransaction, org_id: &str, id: &str) -> Result<()> {
        library_widget_grant::Entity::delete_many()
            .filter(library_widget_grant::Column::OrgId.eq(org_id))
            .filter(library_widget_grant::Column::LibraryWidgetId.eq(id))
            .exec(txn)
            .await?;
        library_widget::Entity::delete_many()
            .filter(library_widget::Column::OrgId.eq(org_id))
            .filter(library_widget::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Every share of a library widget, oldest first.
    pub async fn shares(&self, conn: &impl ConnectionTrait, id: &str) -> Result<Vec<Grant>> {
        let rows = library_widget_grant::Entity::find()
            .filter(library_widget_grant::Column::LibraryWidgetId.eq(id))
            .order_by(library_widget_grant::Column::CreateTime, Order::Asc)
            .order_by(library_widget_grant::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// The shares that apply to `principal` (its groups included) on the given library
    /// widgets, or on every library widget of its org when `ids` is `None`.
    pub async fn grants_for(
        &self,
        conn: &impl ConnectionTrait,
        principal: &Principal,
        ids: Option<&[String]>,
    ) -> Result<Vec<Grant>> {
        let mut condition = Condition::all()
            .add(library_widget_grant::Column::OrgId.eq(&principal.org_id))
            .add(super::dashboards::applies_to(
                principal,
                library_widget_grant::Entity,
            ));
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            condition =
                condition.add(library_widget_grant::Column::LibraryWidgetId.is_in(ids.to_vec()));
        }
        let rows = library_widget_grant::Entity::find()
            .filter(condition)
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// The shares given to group `group_id`.
    pub async fn grants_to_group(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        group_id: &str,
    ) -> Result<Vec<Grant>> {
        let rows = library_widget_grant::Entity::find()
            .filter(library_widget_grant::Column::OrgId.eq(org_id))
            .filter(library_widget_grant::Column::GranteeKind.eq(GranteeKind::Group.as_str()))
            .filter(library_widget_grant::Column::GranteeId.eq(group_id))
            .all(conn)
            .await?;
        Ok(rows.into_iter().filter_map(grant_into_domain).collect())
    }

    /// Deletes every share given to group `group_id` (the group is being deleted).
    pub async fn revoke_group(
        &self,
        txn: &DatabaseTransaction,
        org_id: &str,
        group_id: &str,
    ) -> Result<()> {
        library_widget_grant::Entity::delete_many()
            .filter(library_widget_grant::Column::OrgId.eq(org_id))
            .filter(library_widget_grant::Column::GranteeKind.eq(GranteeKind::Group.as_str()))
            .filter(library_widget_grant::Column::GranteeId.eq(group_id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Revokes `revoke` (share ids) and creates/replaces `upserts` on the locked library
    /// widget. Returns the upserted shares in the order asked.
    pub async fn change_shares(
        &self,
        txn: &DatabaseTransaction,
        on: &LibraryWidget,
        creator_id: &str,
        upserts: &[ShareUpsert],
        revoke: &[String],
        now: Micros,
    ) -> Result<Vec<Grant>> {
        use library_widget_grant::{ActiveModel, Column, Entity};
        if !revoke.is_empty() {
            Entity::delete_many()
                .filter(Column::LibraryWidgetId.eq(&on.id))
                .filter(Column::Id.is_in(revoke.iter().cloned()))
                .exec(txn)
                .await?;
        }
        let mut ids = Vec::with_capacity(upserts.len());
        for upsert in upserts {
            let existing = Entity::find()
                .filter(Column::LibraryWidgetId.eq(&on.id))
                .filter(Column::GranteeKind.eq(upsert.kind.as_str()))
                .filter(Column::GranteeId.eq(&upsert.grantee_id))
                .one(txn)
                .await?;
            match existing {
                Some(row) => {
                    Entity::update_many()
                        .col_expr(Column::Role, Expr::val(upsert.role.clone()))
                        .col_expr(Column::ExpireTime, Expr::val(upsert.expire_time))
                        .col_expr(Column::CreatorId, Expr::val(creator_id.to_string()))
                        .col_expr(Column::UpdateTime, Expr::val(now))
                        .filter(Column::Id.eq(&row.id))
                        .exec(txn)
                        .await?;
                    ids.push(row.id);
                }
                None => {
                    let id = new_id();
                    Entity::insert(ActiveModel {
                        id: Set(id.clone()),
                        org_id: Set(on.org_id.clone()),
                        library_widget_id: Set(on.id.clone()),
                        grantee_kind: Set(upsert.kind.as_str().to_string()),
                        grantee_id: Set(upsert.grantee_id.clone()),
                        role: Set(upsert.role.clone()),
                        expire_time: Set(upsert.expire_time),
                        creator_id: Set(creator_id.to_string()),
                        create_time: Set(now),
                        update_time: Set(now),
                    })
                    .exec_without_returning(txn)
                    .await?;
                    ids.push(id);
                }
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(Column::Id.is_in(ids.clone()))
            .all(txn)
            .await?;
        let mut grants: Vec<Grant> = rows.into_iter().filter_map(grant_into_domain).collect();
        grants.sort_by_key(|g| ids.iter().position(|id| *id == g.id));
        Ok(grants)
    }

    /// The permissions of the custom roles the given shares name, read on `conn`.
    pub async fn custom_roles_of(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        grants: &[Grant],
    ) -> Result<HashMap<String, PermissionSet>> {
        super::folder_shares::FolderShareRepo
            .custom_roles_of(conn, org_id, grants)
            .await
    }
}

fn encode_sources(sources: &[DataSource]) -> Result<String> {
    serde_json::to_string(sources).map_err(Error::internal)
}

fn into_domain(m: library_widget::Model) -> Result<LibraryWidget> {
    let widget_type = WidgetType::parse(&m.widget_type).ok_or_else(|| {
        Error::internal(format!(
            "library widget {} has an unknown stored type {:?}",
            m.id, m.widget_type
        ))
    })?;
    let data_sources: Vec<DataSource> = if m.data_sources.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&m.data_sources).map_err(|e| {
            Error::internal(format!(
                "library widget {} has unreadable data sources: {e}",
                m.id
            ))
        })?
    };
    Ok(LibraryWidget {
        id: m.id,
        org_id: m.org_id,
        widget_type,
        title: m.title,
        subtitle: m.subtitle,
        description: m.description,
        config: m.config,
        data_sources,
        creator_id: m.creator_id,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
    })
}

fn grant_into_domain(m: library_widget_grant::Model) -> Option<Grant> {
    let Some(kind) = GranteeKind::parse(&m.grantee_kind) else {
        tracing::warn!(grant = %m.id, kind = %m.grantee_kind, "skipping grant of unknown kind");
        return None;
    };
    Some(Grant {
        id: m.id,
        on: ShareTarget::LibraryWidget(m.library_widget_id),
        kind,
        grantee_id: m.grantee_id,
        role: m.role,
        expire_time: m.expire_time,
        creator_id: m.creator_id,
        create_time: m.create_time,
        update_time: m.update_time,
    })
}
