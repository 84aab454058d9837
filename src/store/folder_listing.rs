//! ListFolders' reads: a parent's children by title (keyset pages), and a subtree for the
//! depth-first walk. A member sees the folders its shares on folders reach
//! (`dashboards::readable_folders`, the listing's rule); an ADMIN sees them all.

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::{folder, folder_path};
use super::folders::folder_into_domain;
use crate::core::authz::Subject;
use crate::core::folder::{Folder, TitleMatch};
use crate::core::{Micros, Result};

/// Which folders a listing may show, and how it matches titles.
pub struct FolderScope<'a> {
    pub org_id: &'a str,
    /// `None`: every folder of the org (an ADMIN); otherwise the caller's subjects.
    pub subjects: Option<&'a [Subject]>,
    pub show_deleted: bool,
    pub now: Micros,
}

impl FolderScope<'_> {
    fn condition(&self) -> Condition {
        let mut c = Condition::all().add(folder::Column::OrgId.eq(self.org_id));
        if !self.show_deleted {
            c = c.add(folder::Column::DeleteTime.is_null());
        }
        if let Some(subjects) = self.subjects {
            c = c.add(
                folder::Column::Id.in_subquery(super::dashboards::readable_folders(
                    self.org_id,
                    subjects,
                    self.now,
                )),
            );
        }
        c
    }
}

fn title_condition(title: &TitleMatch) -> Condition {
    match title {
        TitleMatch::Any => Condition::all(),
        TitleMatch::Equals(t) => Condition::all().add(folder::Column::Title.eq(t.clone())),
        TitleMatch::Contains(t) => {
            let pattern = format!(
                "%{}%",
                t.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            Condition::all().add(
                Expr::expr(Func::lower(Expr::col(folder::Column::Title)))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
            )
        }
    }
}

impl super::folders::FolderRepo {
    /// The children of `parent_id` (None: the root) in `scope`, by (title, id), after
    /// `after`, at most `limit`.
    pub async fn folder_children(
        &self,
        conn: &impl ConnectionTrait,
        scope: &FolderScope<'_>,
        parent_id: Option<&str>,
        title: &TitleMatch,
        after: Option<(String, String)>,
        limit: u64,
    ) -> Result<Vec<Folder>> {
        let mut query = folder::Entity::find()
            .filter(scope.condition())
            .filter(folder::Column::ParentId.eq(parent_id.unwrap_or_default()))
            .filter(title_condition(title));
        if let Some((t, id)) = after {
            query = query.filter(
                Condition::any()
                    .add(folder::Column::Title.gt(t.clone()))
                    .add(
                        Condition::all()
                            .add(folder::Column::Title.eq(t))
                            .add(folder::Column::Id.gt(id)),
                    ),
            );
        }
        let rows = query
            .order_by(folder::Column::Title, Order::Asc)
            .order_by(folder::Column::Id, Order::Asc)
            .limit(limit)
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(folder_into_domain).collect())
    }

    /// Every folder below `parent_id` (None: the whole org), trashed or not, as the walk's
    /// structure; and, separately, the ids among them `scope` and `title` let it show.
    pub async fn folder_subtree(
        &self,
        conn: &impl ConnectionTrait,
        scope: &FolderScope<'_>,
        parent_id: Option<&str>,
        title: &TitleMatch,
    ) -> Result<(Vec<Folder>, Vec<String>)> {
        let below = |q: sea_orm::Select<folder::Entity>| match parent_id {
            Some(p) => q.filter(
                folder::Column::Id.in_subquery(
                    Query::select()
                        .column(folder_path::Column::DescendantId)
                        .from(folder_path::Entity)
                        .and_where(folder_path::Column::AncestorId.eq(p))
                        .and_where(folder_path::Column::Depth.gt(0))
                        .take(),
                ),
            ),
            None => q,
        };
        let all = below(folder::Entity::find().filter(folder::Column::OrgId.eq(scope.org_id)))
            .order_by(folder::Column::Title, Order::Asc)
            .order_by(folder::Column::Id, Order::Asc)
            .all(conn)
            .await?;
        let shown = below(folder::Entity::find())
            .filter(scope.condition())
            .filter(title_condition(title))
            .select_only()
            .column(folder::Column::Id)
            .into_tuple::<String>()
            .all(conn)
            .await?;
        Ok((all.into_iter().map(folder_into_domain).collect(), shown))
    }
}
