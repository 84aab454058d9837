//! GetWidget and ListWidgets.

use super::key;
use crate::app::App;
use crate::core::authz::Permission;
use crate::core::error::echo;
use crate::core::page_token as pagination;
use crate::core::widget::Widget;
use crate::core::{Error, Principal, Result};
use crate::store::widgets::{WidgetCursor, WidgetListQuery, WidgetOrder};

/// Widget `id` of `dashboard_id`, if the caller may read the dashboard.
pub async fn get(app: &App, caller: &Principal, dashboard_id: &str, id: &str) -> Result<Widget> {
    app.authorizer
        .dashboard(caller, dashboard_id, Permission::Read)
        .await?;
    let key = key(caller, dashboard_id, id);
    app.store
        .widgets()
        .get(app.store.db(), &key)
        .await?
        .ok_or_else(|| Error::not_found(key.name()))
}

/// One ListWidgets request, its page size already resolved.
pub struct WidgetPageRequest<'a> {
    /// The parent as the caller gave it (part of the page token's fingerprint).
    pub parent: &'a str,
    pub dashboard_id: String,
    pub page_size: usize,
    pub page_token: &'a str,
    pub order_by: &'a str,
}

/// A page of widgets; the caller may keep fewer (to fit a response) and asks for the token
/// that continues after what it kept.
pub struct WidgetPage {
    pub widgets: Vec<Widget>,
    more: bool,
    fingerprint: String,
    order: WidgetOrder,
}

impl WidgetPage {
    /// The token of the page after the first `kept` widgets (empty at the end).
    pub fn next_page_token(&self, kept: usize) -> String {
        let more = self.more || kept < self.widgets.len();
        match kept.checked_sub(1).and_then(|i| self.widgets.get(i)) {
            Some(last) if more => {
                pagination::encode(&self.fingerprint, self.order.cursor_of(last), &last.id)
            }
            _ => String::new(),
        }
    }
}

pub async fn list(
    app: &App,
    caller: &Principal,
    request: WidgetPageRequest<'_>,
) -> Result<WidgetPage> {
    let order = parse_order_by(request.order_by)?;
    let fingerprint = pagination::fingerprint(&[request.parent, &format!("{order:?}")]);
    let after: Option<(WidgetCursor, String)> =
        pagination::decode(request.page_token, &fingerprint)?;
    let matches_order = matches!(
        (&after, order),
        (None, _)
            | (
                Some((WidgetCursor::Position { .. }, _)),
                WidgetOrder::Layout
            )
            | (
                Some((WidgetCursor::CreateTime(_), _)),
                WidgetOrder::CreateTime { .. }
            )
    );
    if !matches_order {
        return Err(Error::invalid(
            "page_token",
            "not a page token returned by this method",
        ));
    }
    app.authorizer
        .dashboard(caller, &request.dashboard_id, Permission::Read)
        .await?;
    let query = WidgetListQuery {
        org_id: caller.org_id.clone(),
        dashboard_id: request.dashboard_id,
        order,
        after,
        limit: request.page_size as u64 + 1,
    };
    let mut widgets = app.store.widgets().list(&query).await?;
    let more = widgets.len() > request.page_size;
    widgets.truncate(request.page_size);
    Ok(WidgetPage {
        widgets,
        more,
        fingerprint,
        order,
    })
}

/// `layout` (the default) or `create_time [asc|desc]`.
fn parse_order_by(order_by: &str) -> Result<WidgetOrder> {
    let words: Vec<&str> = order_by.split_whitespace().collect();
    match words.as_slice() {
        [] | ["layout"] | ["layout", "asc"] => Ok(WidgetOrder::Layout),
        ["create_time"] | ["create_time", "asc"] => {
            Ok(WidgetOrder::CreateTime { descending: false })
        }
        ["create_time", "desc"] => Ok(WidgetOrder::CreateTime { descending: true }),
        _ => Err(Error::invalid(
            "order_by",
            format!(
                "cannot order by {}: use `layout` or `create_time` (optionally \
                 followed by asc or desc)",
                echo(order_by)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by() {
        assert_eq!(parse_order_by("").unwrap(), WidgetOrder::Layout);
        assert_eq!(
            parse_order_by(" create_time desc ").unwrap(),
            WidgetOrder::CreateTime { descending: true }
        );
        for bad in [
            "layout desc",
            "title",
            "create_time up",
            "create_time asc x",
        ] {
            assert!(parse_order_by(bad).is_err(), "{bad}");
        }
    }
}
