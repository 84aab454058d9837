//! Issue 11, listing holes: expired owner shares in `owner =` (7), the cost of long filters
//! (8), NUL bytes in text (11), page tokens (12), Unicode `:` and filter nesting (16).

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
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

fn in_one_second() -> prost_types::Timestamp {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(1);
    prost_types::Timestamp {
        seconds: now.as_secs() as i64,
        nanos: now.subsec_nanos() as i32,
    }
}

/// Asserts INVALID_ARGUMENT with a violation on `field`, returning the violation texts.
#[track_caller]
fn assert_invalid(status: &tonic::Status, field: &str) -> Vec<String> {
    let details = assert_error(status, Code::InvalidArgument, "INVALID_ARGUMENT");
    assert_eq!(
        violated_fields(&details),
        vec![field.to_string()],
        "{status:?}"
    );
    details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| v.description.clone())
                .collect()
        })
        .unwrap_or_default()
}

// ---- 7. `owner = ...` ignores expired owner shares, as ListOwners does ----

#[tokio::test]
async fn owner_filter_ignores_expired_owner_shares() {
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Author).await;
    let bob = server().user(&org, "bob", PlatformRole::Author).await;
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let dashboard = alice.create("Payroll").await;
    let request = alice.req(pb::ShareDashboardRequest {
        name: dashboard.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(pb::grantee::Kind::User(bob.name())),
        }),
        role: "owner".into(),
        expire_time: Some(in_one_second()),
    });
    alice.sharing.share_dashboard(request).await.expect("share");
    let filter = format!("owner = \"{}\"", bob.name());
    let before = admin.list(list(50, &filter, "")).await.unwrap();
    assert_eq!(titles(&before.dashboards), vec!["Payroll"]);

    // Wait for the share to expire (no timing is asserted: only what expiry means).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let request = admin.req(pb::ListOwnersRequest {
        name: dashboard.name.clone(),
    });
    let owners = admin
        .sharing
        .list_owners(request)
        .await
        .unwrap()
        .into_inner();
    assert!(
        !format!("{owners:?}").contains("users/bob"),
        "ListOwners omits the expired owner: {owners:?}"
    );
    let after = admin.list(list(50, &filter, "")).await.unwrap();
    assert!(
        after.dashboards.is_empty(),
        "an expired owner share does not make bob an owner: {:?}",
        titles(&after.dashboards)
    );
    let negated = admin
        .list(list(50, &format!("NOT {filter}"), ""))
        .await
        .unwrap();
    assert_eq!(titles(&negated.dashboards), vec!["Payroll"]);
}

// ---- 12. page tokens are opaque and authenticated ----

const SECRET_TITLE: &str = "Quarterly-Secret-Title";

/// Three dashboards ordered by title; the first page's token comes after the secret title.
async fn first_page_token(caller: &mut Caller, filter: &str) -> String {
    let page = caller.list(list(1, filter, "title")).await.unwrap();
    assert_eq!(page.dashboards.len(), 1);
    assert!(!page.next_page_token.is_empty());
    page.next_page_token
}

async fn seeded_titles() -> Caller {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    for title in [SECRET_TITLE, "Zeta 1", "Zeta 2"] {
        alice.create(title).await;
    }
    alice
}

/// Every way a token could be read: as is, and through each base64 alphabet.
fn decodings(token: &str) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut out = vec![token.as_bytes().to_vec()];
    for engine in [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD] {
        if let Ok(bytes) = engine.decode(token) {
            out.push(bytes);
        }
    }
    out
}

#[tokio::test]
async fn page_tokens_reveal_nothing_about_rows() {
    let mut alice = seeded_titles().await;
    let token = first_page_token(&mut alice, "").await;
    for bytes in decodings(&token) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(SECRET_TITLE) && !text.contains("Quarterly"),
            "the token exposes the last row's title: {text}"
        );
    }
    // Two tokens for the same position differ (random nonce): nothing to correlate.
    let again = first_page_token(&mut alice, "").await;
    assert_ne!(token, again);
    // And they still work.
    let mut request = list(1, "", "title");
    request.page_token = token;
    let page = alice.list(request).await.unwrap();
    assert_eq!(titles(&page.dashboards), vec!["Zeta 1"]);
}

#[tokio::test]
async fn tampered_page_tokens_are_invalid_argument() {
    let mut alice = seeded_titles().await;
    let token = first_page_token(&mut alice, "").await;
    let mut tampered = Vec::new();
    // One changed character at the start, the middle and the end; truncated; extended.
    for at in [0, token.len() / 2, token.len() - 1] {
        let mut chars: Vec<char> = token.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        tampered.push(chars.into_iter().collect::<String>());
    }
    tampered.push(token[..token.len() - 4].to_string());
    tampered.push(format!("{token}AAAA"));
    tampered.push("not a token!".to_string());
    for bad in tampered {
        let mut request = list(1, "", "title");
        request.page_token = bad.clone();
        let status = alice.list(request).await.unwrap_err();
        assert_invalid(&status, "page_token");
    }
}

#[tokio::test]
async fn a_token_from_another_query_is_invalid_argument() {
    let mut alice = seeded_titles().await;
    let token = first_page_token(&mut alice, "").await;
    for (filter, order_by) in [("title:Zeta", "title"), ("", "title desc"), ("", "")] {
        let mut request = list(1, filter, order_by);
        request.page_token = token.clone();
        let status = alice.list(request).await.unwrap_err();
        let texts = assert_invalid(&status, "page_token");
        assert!(texts[0].contains("start again"), "{texts:?}");
    }
}

/// A cursor the server did not write is refused, whatever it holds: a text sort value for a
/// time ordering (which PostgreSQL answered with INTERNAL), a made-up id, the same token
/// edited as JSON.
#[tokio::test]
async fn forged_and_type_confused_cursors_are_invalid_argument() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut alice = seeded_titles().await;
    let real = alice.list(list(1, "", "create_time")).await.unwrap();
    let token = real.next_page_token;
    // Read the token the way a forger would, if it can be read at all.
    let fingerprint = URL_SAFE_NO_PAD
        .decode(&token)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("q").and_then(|q| q.as_str()).map(str::to_string))
        .unwrap_or_else(|| "AAAAAAAAAAAAAAAA".to_string());
    let forged = [
        serde_json::json!({"q": fingerprint, "v": {"Text": "zzz"}, "id": "x"}),
        serde_json::json!({"q": fingerprint, "v": {"Int": 0}, "id": "x"}),
        serde_json::json!({"q": fingerprint, "v": {"Int": i64::MAX}, "id": ""}),
        serde_json::json!({"q": fingerprint, "v": [1, 2], "id": 5}),
    ];
    for value in forged {
        let mut request = list(1, "", "create_time");
        request.page_token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap());
        let status = alice.list(request).await.unwrap_err();
        assert_invalid(&status, "page_token");
    }
}

/// Every listing goes through the same sealed tokens: the directory's ListUsers too.
#[tokio::test]
async fn directory_listings_refuse_tampered_tokens() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    for sub in ["u1", "u2", "u3"] {
        server().user(&org, sub, PlatformRole::Viewer).await;
    }
    let request = admin.req(pb::ListUsersRequest {
        page_size: 1,
        ..Default::default()
    });
    let page = admin
        .directory
        .list_users(request)
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    for bytes in decodings(&page.next_page_token) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("\"id\""), "readable token: {text}");
    }
    let mut chars: Vec<char> = page.next_page_token.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    let request = admin.req(pb::ListUsersRequest {
        page_size: 1,
        page_token: chars.into_iter().collect(),
        ..Default::default()
    });
    let status = admin.directory.list_users(request).await.unwrap_err();
    assert_invalid(&status, "page_token");
}

// ---- 16. `:` folds Unicode on both databases; 32 levels of parentheses ----

#[tokio::test]
async fn substring_match_folds_unicode_letters() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    for title in ["Äpfel und Birnen", "ÖLPREISE", "Straße", "apfel"] {
        alice.create(title).await;
    }
    for (filter, expected) in [
        ("title:\"Äpfel\"", vec!["Äpfel und Birnen"]),
        ("title:\"äpfel\"", vec!["Äpfel und Birnen"]),
        ("title:\"ÄPFEL\"", vec!["Äpfel und Birnen"]),
        ("title:\"ölpreise\"", vec!["ÖLPREISE"]),
        ("title:\"STRASSE\"", vec![]),
        ("title:\"straße\"", vec!["Straße"]),
        ("title:apfel", vec!["apfel"]),
    ] {
        let page = alice.list(list(50, filter, "title")).await.unwrap();
        assert_eq!(titles(&page.dashboards), expected, "{filter}");
    }
}

#[tokio::test]
async fn filters_nest_32_levels_and_not_33() {
    let mut alice = server()
        .user(&unique_org(), "alice", PlatformRole::Author)
        .await;
    alice.create("Deep").await;
    let nested = |n: usize| format!("{}title:deep{}", "(".repeat(n), ")".repeat(n));
    let page = alice.list(list(50, &nested(32), "")).await.unwrap();
    assert_eq!(titles(&page.dashboards), vec!["Deep"]);
    let status = alice.list(list(50, &nested(33), "")).await.unwrap_err();
    let texts = assert_invalid(&status, "filter");
    assert!(texts[0].contains("32"), "{texts:?}");
}

// ---- 11. NUL in any text field is INVALID_ARGUMENT, on both databases ----

/// One call per path the issue found answering INTERNAL on PostgreSQL: every field is
/// refused by name before anything is stored or looked up.
#[tokio::test]
async fn nul_in_any_text_field_is_invalid_argument() {
    use dashboard_service::pb::widget_service_client::WidgetServiceClient;
    let org = unique_org();
    let mut alice = server().user(&org, "alice", PlatformRole::Admin).await;
    let dashboard = alice.create("Target").await;
    let mut widgets = WidgetServiceClient::new(server().channel().await);

    let create = |title: &str, request_id: &str, metadata: Option<prost_types::Struct>| {
        pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: title.into(),
                metadata,
                ..Default::default()
            }),
            request_id: request_id.into(),
        }
    };
    let struct_with = |key: &str, value: &str| prost_types::Struct {
        fields: [(
            key.to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(value.into())),
            },
        )]
        .into(),
    };
    let mut cases: Vec<(&str, Result<(), tonic::Status>)> = Vec::new();

    let r = alice.req(create("a\0b", "", None));
    cases.push((
        "dashboard.title",
        alice.dashboards.create_dashboard(r).await.map(drop),
    ));
    let r = alice.req(create("ok", "req-\0", None));
    cases.push((
        "request_id",
        alice.dashboards.create_dashboard(r).await.map(drop),
    ));
    let r = alice.req(create("ok", "", Some(struct_with("team", "s\0re"))));
    cases.push((
        "dashboard.metadata.fields[\"team\"].string_value",
        alice.dashboards.create_dashboard(r).await.map(drop),
    ));
    let r = alice.req(pb::GetDashboardRequest {
        name: format!("{}\0", dashboard.name),
        view: 0,
    });
    cases.push(("name", alice.dashboards.get_dashboard(r).await.map(drop)));
    let r = alice.req(list(10, "title:\"x\0\"", ""));
    cases.push((
        "filter",
        alice.dashboards.list_dashboards(r).await.map(drop),
    ));
    let r = alice.req(pb::ShareDashboardRequest {
        name: dashboard.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(pb::grantee::Kind::Email("bob\0@example.com".into())),
        }),
        role: "viewer".into(),
        expire_time: None,
    });
    cases.push((
        "grantee.email",
        alice.sharing.share_dashboard(r).await.map(drop),
    ));
    let r = alice.req(pb::ShareDashboardRequest {
        name: dashboard.name.clone(),
        grantee: Some(pb::Grantee {
            kind: Some(pb::grantee::Kind::User("users/b\0b".into())),
        }),
        role: "viewer".into(),
        expire_time: None,
    });
    cases.push((
        "grantee.user",
        alice.sharing.share_dashboard(r).await.map(drop),
    ));
    let r = alice.req(pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: "S\0RE".into(),
            kind: pb::GroupKind::Org as i32,
            ..Default::default()
        }),
        members: vec![],
    });
    cases.push((
        "group.display_name",
        alice.directory.create_group(r).await.map(drop),
    ));
    let r = alice.req(pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: "SRE".into(),
            kind: pb::GroupKind::Org as i32,
            ..Default::default()
        }),
        members: vec!["users/alice".into(), "users/\0".into()],
    });
    cases.push((
        "members[1]",
        alice.directory.create_group(r).await.map(drop),
    ));
    let r = alice.req(pb::UpsertUserRequest {
        user: Some(pb::User {
            name: "users/carol".into(),
            email: "carol\0@example.com".into(),
            role: pb::PlatformRole::Viewer as i32,
            ..Default::default()
        }),
    });
    cases.push(("user.email", alice.directory.upsert_user(r).await.map(drop)));
    let r = alice.req(pb::CreateWidgetRequest {
        version_message: String::new(),
        parent: dashboard.name.clone(),
        widget: Some(pb::Widget {
            r#type: pb::WidgetType::Chart as i32,
            title: "CPU".into(),
            data_sources: vec![pb::DataSource {
                device_id: "d\0".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        source_widget: String::new(),
    });
    cases.push((
        "widget.data_sources[0].device_id",
        widgets.create_widget(r).await.map(drop),
    ));

    for (field, result) in cases {
        let status = result.expect_err(field);
        assert_invalid(&status, field);
        assert!(
            !status.message().contains('\0'),
            "echoes the NUL: {status:?}"
        );
    }
    // Nothing was stored on the way.
    let page = alice.list(list(50, "", "")).await.unwrap();
    assert_eq!(titles(&page.dashboards), vec!["Target"]);
}

// ---- 8. long filters are bounded: the cost limit, and the filter tested once ----

/// A member of 60 groups, with a few dashboards shared with some of the groups.
async fn member_of_60_groups() -> (Caller, Caller, Vec<pb::Group>) {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let member = server().user(&org, "m", PlatformRole::Author).await;
    let mut groups = Vec::new();
    for i in 0..60 {
        groups.push(admin.group(&format!("g{i:02}"), &[&member]).await);
    }
    (admin, member, groups)
}

#[tokio::test]
async fn a_filter_costing_more_than_the_limit_is_refused_with_its_reason() {
    let (mut admin, mut member, groups) = member_of_60_groups().await;
    for (i, group) in groups.iter().take(3).enumerate() {
        let d = admin.create(&format!("Shared {i}")).await;
        admin
            .share(
                &d.name,
                pb::grantee::Kind::Group(group.name.clone()),
                "viewer",
            )
            .await
            .expect("share");
    }
    // 110 comparisons, 1,979 characters: within the length limit.
    let long = vec!["visibility=public"; 110].join(" ");
    assert_eq!(long.chars().count(), 1_979);
    let status = member.list(list(50, &long, "")).await.unwrap_err();
    let texts = assert_invalid(&status, "filter");
    assert!(
        texts[0].contains("110 comparisons") && texts[0].contains("limit"),
        "the violation explains the limit: {texts:?}"
    );
    // A filter within the limit is answered, with the right answer.
    let short = vec!["visibility=private"; 20].join(" ");
    let page = member.list(list(50, &short, "title")).await.unwrap();
    assert_eq!(
        titles(&page.dashboards),
        vec!["Shared 0", "Shared 1", "Shared 2"]
    );
}

/// The filter is tested once, on the merged arms: a dashboard reached through several
/// groups comes once, pages are full until the end, and the walk is exact.
#[tokio::test]
async fn filtered_member_pages_are_exact_across_arms() {
    let org = unique_org();
    let mut admin = server().user(&org, "root", PlatformRole::Admin).await;
    let mut member = server().user(&org, "m", PlatformRole::Author).await;
    let g1 = admin.group("g1", &[&member]).await;
    let g2 = admin.group("g2", &[&member]).await;
    let mut expected = Vec::new();
    for i in 0..24 {
        let title = format!("{} {i:02}", if i % 3 == 0 { "keep" } else { "drop" });
        let d = admin.create(&title).await;
        // Through one group, the other, both, or directly.
        let via: Vec<pb::grantee::Kind> = match i % 4 {
            0 => vec![pb::grantee::Kind::Group(g1.name.clone())],
            1 => vec![pb::grantee::Kind::Group(g2.name.clone())],
            2 => vec![
                pb::grantee::Kind::Group(g1.name.clone()),
                pb::grantee::Kind::Group(g2.name.clone()),
            ],
            _ => vec![pb::grantee::Kind::User(member.name())],
        };
        for kind in via {
            admin.share(&d.name, kind, "viewer").await.expect("share");
        }
        if i % 3 == 0 {
            expected.push(title);
        }
    }
    // Member's own dashboard, kept by the filter too.
    member.create("keep mine").await;
    expected.push("keep mine".to_string());
    expected.sort();
    for page_size in [1, 2, 3, 50] {
        let mut request = list(page_size, "title:keep", "title");
        let mut seen = Vec::new();
        loop {
            let page = member.list(request.clone()).await.unwrap();
            if !page.next_page_token.is_empty() {
                assert_eq!(page.dashboards.len(), page_size as usize, "a full page");
            }
            seen.extend(titles(&page.dashboards));
            if page.next_page_token.is_empty() {
                break;
            }
            request.page_token = page.next_page_token;
        }
        assert_eq!(seen, expected, "page size {page_size}");
    }
    let mut request = list(3, "title:keep", "title desc");
    request.page_size = 100;
    let page = member.list(request).await.unwrap();
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(titles(&page.dashboards), reversed);
}
