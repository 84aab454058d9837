//! The `filter` of ListEvents: the ListDashboards language (core::filter) over the event's
//! fields `resource`, `dashboard`, `actor`, `type` and `time`.

use super::error::echo;
use super::event::EventType;
use super::filter::{self, Filter, Ordering, bad, equality, time_comparison};
use super::{Micros, Result, names};

#[derive(Debug, Clone, PartialEq)]
pub enum EventComparison {
    /// `resource = "dashboards/D/shares/S"` (`true`) or `!=` (`false`).
    Resource(String, bool),
    /// `dashboard = "dashboards/D"`: every event that belongs to D (its id here).
    Dashboard(String, bool),
    /// `actor = "users/u"` or `"system"`; `users/me` is resolved to the caller by the caller.
    Actor(String, bool),
    Type(EventType, bool),
    Time(Ordering, Micros),
}

pub type EventFilter = Filter<EventComparison>;

pub fn parse(input: &str) -> Result<Option<EventFilter>> {
    filter::parse_with(input, comparison)
}

fn comparison(field: &str, comparator: &str, value: String) -> Result<EventComparison> {
    match field {
        "resource" => Ok(EventComparison::Resource(
            value,
            equality(field, comparator)?,
        )),
        "dashboard" => {
            let id = names::parse_dashboard_name("filter", &value)?;
            Ok(EventComparison::Dashboard(id, equality(field, comparator)?))
        }
        "actor" => {
            let actor = if value == super::event::SYSTEM_ACTOR {
                value
            } else {
                names::user_name(&names::parse_user_name("filter", &value)?)
            };
            Ok(EventComparison::Actor(actor, equality(field, comparator)?))
        }
        "type" => {
            let Some(r#type) = EventType::parse(&value) else {
                return Err(bad(format!(
                    "unknown event type {}: types are UPPER_SNAKE names like DASHBOARD_CREATED \
                     or SHARE_GRANTED",
                    echo(&value)
                )));
            };
            Ok(EventComparison::Type(r#type, equality(field, comparator)?))
        }
        "time" => {
            let (ordering, time) = time_comparison(field, comparator, &value)?;
            Ok(EventComparison::Time(ordering, time))
        }
        _ => Err(bad(format!(
            "unknown field {}: filterable fields are resource, dashboard, actor, type, time",
            echo(field)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Error;

    #[test]
    fn parses_every_field() {
        let f = parse(
            "resource = \"dashboards/d1\" AND dashboard = \"dashboards/d1\" AND \
             actor = \"users/me\" AND type = SHARE_GRANTED AND time >= \"2026-01-01T00:00:00Z\"",
        )
        .expect("parses")
        .expect("a filter");
        assert_eq!(f.comparisons(), 5);
        assert!(parse("type != WIDGET_DELETED OR actor = system").is_ok());
    }

    #[test]
    fn refuses_unknown_fields_types_and_comparators() {
        for bad in [
            "title = \"x\"",
            "type = NOPE",
            "type < SHARE_GRANTED",
            "time >= yesterday",
            "dashboard = \"widgets/x\"",
        ] {
            assert!(
                matches!(parse(bad), Err(Error::InvalidArgument { .. })),
                "{bad}"
            );
        }
    }
}
