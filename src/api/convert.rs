//! Domain <-> wire mapping.

use prost::Message;

use crate::domain::dashboard::Dashboard;
use crate::domain::{Error, Micros, Result, names};
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

fn decode_struct(bytes: &[u8]) -> Option<prost_types::Struct> {
    if bytes.is_empty() {
        return None;
    }
    match prost_types::Struct::decode(bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::error!(error = %err, "stored metadata does not decode");
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
        is_public: false,
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
