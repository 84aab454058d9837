use super::*;

fn cmp(c: Comparison) -> Filter {
    Filter::Compare(c)
}

#[test]
fn parses_label_by_name_or_resource_name() {
    assert_eq!(
        parse("label = prod").unwrap(),
        Some(cmp(Comparison::Label(
            LabelRef::DisplayName("prod".into()),
            true
        )))
    );
    assert_eq!(
        parse("label != labels/abc").unwrap(),
        Some(cmp(Comparison::Label(LabelRef::Id("abc".into()), false)))
    );
    assert!(parse("label > prod").is_err());
    assert!(parse("label = ''").is_err());
}

#[test]
fn parses_folder_and_ancestor() {
    assert_eq!(
        parse(r#"folder = "folders/f1""#).unwrap(),
        Some(cmp(Comparison::Folder(
            FolderScope::Direct,
            "f1".into(),
            true
        )))
    );
    assert_eq!(
        parse("ancestor != folders/f2").unwrap(),
        Some(cmp(Comparison::Folder(
            FolderScope::Subtree,
            "f2".into(),
            false
        )))
    );
    assert!(parse("folder = f1").is_err());
    assert!(parse("ancestor < folders/f1").is_err());
    assert!(parse("folder = ''").is_err());
}

#[test]
fn parses_substring_and_keeps_wildcards_literal() {
    assert_eq!(
        parse(r#"title:"50% _off_ \"x\"""#).unwrap(),
        Some(cmp(Comparison::TextContains(
            TextField::Title,
            r#"50% _off_ "x""#.into()
        )))
    );
}

#[test]
fn or_binds_tighter_than_and() {
    let f = parse(r#"title:a AND title:b OR title:c"#).unwrap().unwrap();
    let a = cmp(Comparison::TextContains(TextField::Title, "a".into()));
    let b = cmp(Comparison::TextContains(TextField::Title, "b".into()));
    let c = cmp(Comparison::TextContains(TextField::Title, "c".into()));
    assert_eq!(
        f,
        Filter::And(Box::new(a), Box::new(Filter::Or(Box::new(b), Box::new(c))))
    );
}

#[test]
fn not_and_minus_negate() {
    let f1 = parse(r#"NOT creator = "users/bob""#).unwrap();
    let f2 = parse(r#"-creator="users/bob""#).unwrap();
    assert_eq!(f1, f2);
    assert!(matches!(f1, Some(Filter::Not(_))));
}

#[test]
fn parses_times() {
    let f = parse(r#"create_time >= "2026-01-02T03:04:05Z""#)
        .unwrap()
        .unwrap();
    assert_eq!(
        f,
        cmp(Comparison::Time(
            TimeField::CreateTime,
            Ordering::Ge,
            1_767_323_045_000_000
        ))
    );
}

#[test]
fn rejects_what_it_does_not_know() {
    for bad in [
        "owner = x",
        "shared_with_me = maybe",
        "starred = yes",
        "starred > true",
        "visibility = secret",
        "title",
        "title >= \"a\"",
        "create_time > yesterday",
        "(title:a",
        "title:a)",
        "creator = bob",
        "title:\"open",
        "AND",
        "title ! a",
    ] {
        let err = parse(bad).unwrap_err();
        match err {
            Error::InvalidArgument { violations, .. } => {
                assert_eq!(violations[0].field, "filter", "{bad}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let deep = format!("{}title:a{}", "(".repeat(40), ")".repeat(40));
    assert!(parse(&deep).is_err());
}

#[test]
fn nests_exactly_max_depth_levels() {
    let nested = |n: usize| format!("{}title:a{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    assert!(parse(&nested(MAX_DEPTH + 1)).is_err());
    // Siblings do not add up: depth is nesting, not the number of groups.
    let siblings = vec![nested(MAX_DEPTH); 3].join(" AND ");
    assert!(parse(&siblings).is_ok());
}

#[test]
fn parses_sharing_fields() {
    assert_eq!(
        parse("shared_with_me = true").unwrap(),
        Some(cmp(Comparison::Flag(Flag::SharedWithMe, true)))
    );
    assert_eq!(
        parse("starred != true").unwrap(),
        Some(cmp(Comparison::Flag(Flag::Starred, false)))
    );
    assert_eq!(
        parse("visibility != public").unwrap(),
        Some(cmp(Comparison::Flag(Flag::Public, false)))
    );
    assert_eq!(
        parse(r#"owner = "users/me""#).unwrap(),
        Some(cmp(Comparison::OwnerEquals("me".into(), true)))
    );
}

#[test]
fn cost_is_comparisons_times_subjects() {
    let f = parse("title:a OR title:b AND NOT visibility = public")
        .unwrap()
        .unwrap();
    assert_eq!(f.comparisons(), 3);
    assert!(check_cost(&f, MAX_FILTER_COST / 3).is_ok());
    assert!(check_cost(&f, MAX_FILTER_COST / 3 + 1).is_err());
    assert!(check_cost(&f, 0).is_ok());
}

#[test]
fn blank_is_no_filter() {
    assert_eq!(parse("  ").unwrap(), None);
}
