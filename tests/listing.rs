//! ListDashboards: keyset pagination, filters, ordering.

mod common;

use std::collections::HashSet;

use common::{Caller, assert_error, server, unique_org, violated_fields};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use tonic::Code;

fn list(page_size: i32, filter: &str, order_by: &str) -> pb::ListDashboardsRequest {
    pb::ListDashboardsRequest {
        page_size,
        filter: filter.into(),
        order_by: order_by.into(),
        ..Default::default()
    }
}

fn titles(dashboards: &[pb::Dashboard]) -> Vec<String> {
    dashboards.iter().map(|d| d.title.clone()).collect()
}

async fn seeded(titles: &[&str]) -> Caller {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    for title in titles {
        alice.create(title).await;
    }
    alice
}

#[tokio::test]
async fn pagination_walks_250_dashboards_without_gaps_or_repeats() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    let mut created = HashSet::new();
    for i in 0..250 {
        // Titles repeat so that ties on the sort key are broken by id.
        created.insert(alice.create(&format!("Dash {:02}", i % 20)).await.name);
    }
    // Someone else's dashboards never show up in alice's walk.
    let mut bob = server().user(&alice.org, "bob", PlatformRole::Author).await;
    for i in 0..5 {
        bob.create(&format!("Dash {i:02}")).await;
    }
    for order_by in [
        "",
        "create_time",
        "create_time desc",
        "update_time desc",
        "title",
        "title desc",
    ] {
        for page_size in [1, 7, 50, 100, 249, 250, 1000] {
            if page_size == 1 && order_by != "title" {
                continue; // one slow walk is enough
            }
            let mut request = list(page_size, "", order_by);
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let page = alice.list(request.clone()).await.unwrap();
                pages += 1;
                assert!(page.dashboards.len() <= page_size as usize);
                seen.extend(page.dashboards);
                if page.next_page_token.is_empty() {
                    break;
                }
                request.page_token = page.next_page_token;
            }
            let names: HashSet<_> = seen.iter().map(|d| d.name.clone()).collect();
            assert_eq!(
                seen.len(),
                250,
                "order {order_by:?} size {page_size}: repeats or gaps"
            );
            assert_eq!(names, created, "order {order_by:?} size {page_size}");
            assert_eq!(
                pages,
                250usize.div_ceil(page_size as usize).max(1),
                "no empty trailing page"
            );
            // The concatenated pages are in the requested order.
            let key = |d: &pb::Dashboard| -> (String, i64, i32) {
                let t = match order_by.split_whitespace().next().unwrap_or("create_time") {
                    "update_time" => d.update_time.unwrap(),
                    "title" => Default::default(),
                    _ => d.create_time.unwrap(),
                };
                (
                    if order_by.starts_with("title") {
                        d.title.clone()
                    } else {
                        String::new()
                    },
                    t.seconds,
                    t.nanos,
                )
            };
            let descending = order_by.ends_with("desc") || order_by.is_empty();
            for pair in seen.windows(2) {
                let (a, b) = (key(&pair[0]), key(&pair[1]));
                if descending {
                    assert!(a >= b, "order {order_by:?}: {a:?} before {b:?}");
                } else {
                    assert!(a <= b, "order {order_by:?}: {a:?} before {b:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn default_and_maximum_page_sizes() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    for i in 0..55 {
        alice.create(&format!("D{i}")).await;
    }
    let page = alice.list(list(0, "", "")).await.unwrap();
    assert_eq!(page.dashboards.len(), 50, "default page size is 50");
    assert!(!page.next_page_token.is_empty());
    let page = alice.list(list(5000, "", "")).await.unwrap();
    assert_eq!(
        page.dashboards.len(),
        55,
        "sizes above the maximum are coerced to it"
    );
    assert!(page.next_page_token.is_empty());

    let status = alice.list(list(-1, "", "")).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["page_size"]);
}

#[tokio::test]
async fn page_tokens_are_bound_to_their_query() {
    let mut alice = seeded(&["a1", "a2", "a3", "b1"]).await;
    let first = alice.list(list(1, "title:a", "title")).await.unwrap();
    assert_eq!(titles(&first.dashboards), vec!["a1"]);
    let token = first.next_page_token.clone();

    let mut changed_filter = list(1, "title:b", "title");
    changed_filter.page_token = token.clone();
    let status = alice.list(changed_filter).await.unwrap_err();
    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(violated_fields(&details), vec!["page_token"]);

    let mut changed_order = list(1, "title:a", "title desc");
    changed_order.page_token = token.clone();
    assert_error(
        &alice.list(changed_order).await.unwrap_err(),
        Code::InvalidArgument,
        "INVALID_ARGUMENT",
    );

    let mut changed_deleted = list(1, "title:a", "title");
    changed_deleted.page_token = token.clone();
    changed_deleted.show_deleted = true;
    assert_error(
        &alice.list(changed_deleted).await.unwrap_err(),
        Code::InvalidArgument,
        "INVALID_ARGUMENT",
    );

    let mut garbage = list(1, "title:a", "title");
    garbage.page_token = "not-a-token".into();
    assert_error(
        &alice.list(garbage).await.unwrap_err(),
        Code::InvalidArgument,
        "INVALID_ARGUMENT",
    );

    // The page size may change between pages.
    let mut next = list(10, "title:a", "title");
    next.page_token = token;
    assert_eq!(
        titles(&alice.list(next).await.unwrap().dashboards),
        vec!["a2", "a3"]
    );
}

#[tokio::test]
async fn filters_on_text_creator_and_time() {
    let mut alice = seeded(&[
        "Ops Overview",
        "ops latency",
        "Sales",
        "50% off",
        "50 percent",
        "snake_case",
        "snakeXcase",
    ])
    .await;
    let mut bob = server().user(&alice.org, "bob", PlatformRole::Admin).await;
    bob.create("Bob's ops").await;

    let all = |filter: &str| list(100, filter, "title");
    // Case-insensitive substring.
    assert_eq!(
        titles(&alice.list_all(all(r#"title:"OPS""#)).await),
        vec!["Ops Overview", "ops latency"]
    );
    // `%`, `_` and quotes are literal.
    assert_eq!(
        titles(&alice.list_all(all(r#"title:"50%""#)).await),
        vec!["50% off"]
    );
    assert_eq!(
        titles(&alice.list_all(all(r#"title:"e_c""#)).await),
        vec!["snake_case"]
    );
    assert!(
        alice
            .list_all(all(r#"title:"x' OR '1'='1""#))
            .await
            .is_empty()
    );
    // Exact match and negation.
    assert_eq!(
        titles(&alice.list_all(all(r#"title = "Sales""#)).await),
        vec!["Sales"]
    );
    assert_eq!(
        titles(
            &alice
                .list_all(all(
                    r#"NOT title:ops AND -title:snake AND title != "Sales""#
                ))
                .await
        ),
        vec!["50 percent", "50% off"]
    );
    // OR and parentheses.
    assert_eq!(
        titles(
            &alice
                .list_all(all(
                    r#"(title:sales OR title:latency) AND creator = "users/alice""#
                ))
                .await
        ),
        vec!["Sales", "ops latency"]
    );
    // creator, seen by an admin who can read everything.
    assert_eq!(
        titles(&bob.list_all(all(r#"creator = "users/bob""#)).await),
        vec!["Bob's ops"]
    );
    assert_eq!(
        bob.list_all(all(r#"creator != "users/bob""#)).await.len(),
        7
    );

    // Time comparisons split the set at a known dashboard's create_time.
    let everything = alice.list_all(list(100, "", "create_time")).await;
    let pivot = everything[3].create_time.unwrap();
    let pivot = chrono::DateTime::from_timestamp(pivot.seconds, pivot.nanos as u32)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let before = alice
        .list_all(list(
            100,
            &format!(r#"create_time < "{pivot}""#),
            "create_time",
        ))
        .await;
    let from = alice
        .list_all(list(
            100,
            &format!(r#"create_time >= "{pivot}""#),
            "create_time",
        ))
        .await;
    assert_eq!(titles(&before), titles(&everything[..3]));
    assert_eq!(titles(&from), titles(&everything[3..]));
    let future = alice
        .list_all(list(100, r#"update_time > "2999-01-01T00:00:00Z""#, ""))
        .await;
    assert!(future.is_empty());
}

#[tokio::test]
async fn bad_filters_and_orders_are_invalid_argument() {
    let mut alice = seeded(&["x"]).await;
    for filter in [
        "favourite = true",
        "starred = maybe",
        "title",
        "title > 3",
        "create_time > soon",
        "(title:a",
        "creator = bob",
        "title:\"open",
    ] {
        let status = alice.list(list(10, filter, "")).await.unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), vec!["filter"], "{filter}");
    }
    for order_by in [
        "name",
        "title sideways",
        "title asc, create_time",
        "creator desc",
    ] {
        let status = alice.list(list(10, "", order_by)).await.unwrap_err();
        let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert_eq!(violated_fields(&details), vec!["order_by"], "{order_by}");
    }
}
