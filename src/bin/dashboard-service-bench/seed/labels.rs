//! The seeded labels: every dashboard carries one environment label (`prod` on 60%, as in
//! most orgs, `staging` 25%, `dev` 15%) and a third of them one of 20 team labels.

use dashboard_service::server::BoxError;
use dashboard_service::store::entities::{dashboard_label, label};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::{dashboard_id, insert_all, user_id};

/// Three environments (`prod` first), then 20 teams.
const LABELS: [&str; 23] = [
    "prod", "staging", "dev", "team-0", "team-1", "team-2", "team-3", "team-4", "team-5", "team-6",
    "team-7", "team-8", "team-9", "team-10", "team-11", "team-12", "team-13", "team-14", "team-15",
    "team-16", "team-17", "team-18", "team-19",
];

/// The label the labelled-listing scenario filters on.
pub const LISTING_LABEL: &str = "prod";

fn label_id(name: &str) -> String {
    format!("l-{name}")
}

/// Inserts the labels of `org` and attaches them to its `dashboards` (created at
/// `created_at(d)`).
pub async fn seed(
    db: &sea_orm::DatabaseConnection,
    org: &str,
    dashboards: usize,
    rng: &mut StdRng,
    now: i64,
    created_at: impl Fn(usize) -> i64,
) -> Result<(), BoxError> {
    let label_rows: Vec<label::ActiveModel> = LABELS
        .iter()
        .map(|name| label::ActiveModel {
            org_id: Set(org.to_string()),
            id: Set(label_id(name)),
            display_name: Set(name.to_string()),
            color: Set("#336699".into()),
            description: Set(String::new()),
            creator_id: Set(user_id(0)),
            create_time: Set(now),
            update_time: Set(now),
            revision: Set(1),
        })
        .collect();
    insert_all(db, "labels", label_rows, label::Entity::insert_many).await?;
    let mut attached = Vec::with_capacity(dashboards * 4 / 3);
    for d in 0..dashboards {
        let roll = rng.random_range(0..100);
        let env = if roll < 60 {
            "prod"
        } else if roll < 85 {
            "staging"
        } else {
            "dev"
        };
        let mut names = vec![env];
        if rng.random_range(0..3) == 0 {
            names.push(LABELS[3 + rng.random_range(0..LABELS.len() - 3)]);
        }
        for name in names {
            attached.push(dashboard_label::ActiveModel {
                org_id: Set(org.to_string()),
                dashboard_id: Set(dashboard_id(d)),
                label_id: Set(label_id(name)),
                create_time: Set(created_at(d)),
            });
        }
    }
    insert_all(
        db,
        "dashboard labels",
        attached,
        dashboard_label::Entity::insert_many,
    )
    .await
}
