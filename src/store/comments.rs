//! The comments repository: the only writer of the comments table. Every statement runs on
//! the connection or transaction it is handed; writes run in the caller's `app::Write`,
//! after it locked the comment's dashboard row.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::comment;
use crate::core::comment::{Comment, CommentKey};
use crate::core::{Error, Micros, Result};

/// One page of a widget's comments, oldest first.
#[derive(Debug, Clone)]
pub struct CommentListQuery {
    pub org_id: String,
    pub dashboard_id: String,
    pub widget_id: String,
    /// Only comments whose thread is (or is not) resolved.
    pub resolved: Option<bool>,
    /// After this `(create_time, id)`.
    pub after: Option<(Micros, String)>,
    pub limit: u64,
}

/// A thread resolved (`Some(resolver, time)`) or reopened (`None`).
#[derive(Debug, Clone)]
pub struct Resolution {
    pub resolver_id: String,
    pub time: Micros,
}

#[derive(Clone, Copy, Default)]
pub struct CommentRepo;

impl CommentRepo {
    pub async fn insert(&self, txn: &DatabaseTransaction, c: &Comment) -> Result<()> {
        let mentions = serde_json::to_string(&c.mentions).map_err(Error::internal)?;
        comment::Entity::insert(comment::ActiveModel {
            org_id: Set(c.org_id.clone()),
            id: Set(c.id.clone()),
            dashboard_id: Set(c.dashboard_id.clone()),
            widget_id: Set(c.widget_id.clone()),
            reply_to: Set(c.reply_to.clone()),
            author_id: Set(c.author_id.clone()),
            body: Set(c.text.clone()),
            mentions: Set(mentions),
            resolved: Set(c.resolved),
            resolver_id: Set(c.resolver_id.clone()),
            resolve_time: Set(c.resolve_time),
            revision: Set(c.revision),
            create_time: Set(c.create_time),
            update_time: Set(c.update_time),
        })
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    /// The comment `key` of `org_id`: `None` unless it is a comment of that widget of that
    /// dashboard.
    pub async fn get(
        &self,
        conn: &impl ConnectionTrait,
        org_id: &str,
        key: &CommentKey,
    ) -> Result<Option<Comment>> {
        let row = comment::Entity::find_by_id(key.id.clone())
            .one(conn)
            .await?;
        row.filter(|r| {
            r.org_id == org_id && r.dashboard_id == key.dashboard_id && r.widget_id == key.widget_id
        })
        .map(into_domain)
        .transpose()
    }

    /// One page of a widget's comments by `(create_time, id)`.
    pub async fn list(
        &self,
        conn: &impl ConnectionTrait,
        query: &CommentListQuery,
    ) -> Result<Vec<Comment>> {
        let mut condition = Condition::all()
            .add(comment::Column::WidgetId.eq(&query.widget_id))
            .add(comment::Column::OrgId.eq(&query.org_id))
            .add(comment::Column::DashboardId.eq(&query.dashboard_id));
        if let Some(resolved) = query.resolved {
            condition = condition.add(comment::Column::Resolved.eq(resolved));
        }
        if let Some((time, id)) = &query.after {
            let col = |c: comment::Column| Expr::col((comment::Entity, c));
            condition = condition.add(
                Condition::any()
                    .add(col(comment::Column::CreateTime).gt(*time))
                    .add(
                        Condition::all()
                            .add(col(comment::Column::CreateTime).eq(*time))
                            .add(col(comment::Column::Id).gt(id.clone())),
                    ),
            );
        }
        let rows = comment::Entity::find()
            .filter(condition)
            .order_by(comment::Column::CreateTime, Order::Asc)
            .order_by(comment::Column::Id, Order::Asc)
            .limit(query.limit)
            .all(conn)
            .await?;
        rows.into_iter().map(into_domain).collect()
    }

    /// The ids of the replies to comment `id`, oldest first.
    pub async fn replies_of(&self, conn: &impl ConnectionTrait, id: &str) -> Result<Vec<String>> {
        Ok(comment::Entity::find()
            .select_only()
            .column(comment::Column::Id)
            .filter(comment::Column::ReplyTo.eq(id))
            .order_by(comment::Column::CreateTime, Order::Asc)
            .order_by(comment::Column::Id, Order::Asc)
            .into_tuple()
            .all(conn)
            .await?)
    }

    /// Resolves (`Some`) or reopens (`None`) the thread comment `id` starts: the comment and
    /// its replies, each at its next revision.
    pub async fn set_resolved(
        &self,
        txn: &DatabaseTransaction,
        id: &str,
        resolution: Option<&Resolution>,
        now: Micros,
    ) -> Result<()> {
        comment::Entity::update_many()
            .col_expr(comment::Column::Resolved, Expr::val(resolution.is_some()))
            .col_expr(
                comment::Column::ResolverId,
                Expr::val(resolution.map(|r| r.resolver_id.clone())),
            )
            .col_expr(
                comment::Column::ResolveTime,
                Expr::val(resolution.map(|r| r.time)),
            )
            .col_expr(
                comment::Column::Revision,
                Expr::col(comment::Column::Revision).add(1),
            )
            .col_expr(comment::Column::UpdateTime, Expr::val(now))
            .filter(
                Condition::any()
                    .add(comment::Column::Id.eq(id))
                    .add(comment::Column::ReplyTo.eq(id)),
            )
            .exec(txn)
            .await?;
        Ok(())
    }

    /// Deletes comment `id` and its replies.
    pub async fn delete(&self, txn: &DatabaseTransaction, id: &str) -> Result<()> {
        comment::Entity::delete_many()
            .filter(comment::Column::ReplyTo.eq(id))
            .exec(txn)
            .await?;
        comment::Entity::delete_many()
            .filter(comment::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(())
    }
}

/// Deletes every comment of the dashboards (a purge; explicitly, not only by the foreign
/// key's cascade): replies first, so no statement depends on the cascade.
pub(super) async fn delete_all(conn: &impl ConnectionTrait, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    comment::Entity::delete_many()
        .filter(comment::Column::DashboardId.is_in(ids.iter().cloned()))
        .filter(comment::Column::ReplyTo.is_not_null())
        .exec(conn)
        .await?;
    comment::Entity::delete_many()
        .filter(comment::Column::DashboardId.is_in(ids.iter().cloned()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the comments of widget `key` (the widget is deleted), replies first.
pub(super) async fn delete_of_widget(
    conn: &impl ConnectionTrait,
    org_id: &str,
    dashboard_id: &str,
    widget_id: &str,
) -> Result<()> {
    for replies_only in [true, false] {
        let mut delete = comment::Entity::delete_many()
            .filter(comment::Column::WidgetId.eq(widget_id))
            .filter(comment::Column::OrgId.eq(org_id))
            .filter(comment::Column::DashboardId.eq(dashboard_id));
        if replies_only {
            delete = delete.filter(comment::Column::ReplyTo.is_not_null());
        }
        delete.exec(conn).await?;
    }
    Ok(())
}

fn into_domain(m: comment::Model) -> Result<Comment> {
    let mentions: Vec<String> = serde_json::from_str(&m.mentions).map_err(Error::internal)?;
    Ok(Comment {
        id: m.id,
        org_id: m.org_id,
        dashboard_id: m.dashboard_id,
        widget_id: m.widget_id,
        reply_to: m.reply_to,
        author_id: m.author_id,
        text: m.body,
        mentions,
        resolved: m.resolved,
        resolver_id: m.resolver_id,
        resolve_time: m.resolve_time,
        revision: m.revision,
        create_time: m.create_time,
        update_time: m.update_time,
    })
}
