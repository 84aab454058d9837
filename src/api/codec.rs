//! The gRPC codec of every generated service and client: prost's, plus one check every
//! decoded request passes before any handler sees it.
//!
//! **No NUL in text.** PostgreSQL cannot store U+0000 in `text` (it answered INTERNAL for
//! titles, request ids, names, emails, filter values...), SQLite would store it and C clients
//! would truncate it. Rather than test each of the string fields of every request, the
//! decoder refuses any message with a NUL character in any string field, at any depth (maps,
//! lists, `google.protobuf.Struct` values included): INVALID_ARGUMENT with a BadRequest
//! violation naming the field path, the same answer on both databases.
//!
//! Cost: a NUL character in a string field is a zero byte on the wire, so messages without
//! any zero byte (the usual case) pass after one `memchr`-like scan. Only messages that
//! contain one are walked, with the message's descriptor from the descriptor set that
//! reflection serves.

use std::marker::PhantomData;
use std::sync::LazyLock;

use prost::bytes::Buf;
use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DynamicMessage, MapKey, Value};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::core::Error;

static POOL: LazyLock<Option<DescriptorPool>> = LazyLock::new(|| {
    let set: &[u8] = tonic::include_file_descriptor_set!("dashboards_v1_descriptor");
    match DescriptorPool::decode(set) {
        Ok(pool) => Some(pool),
        Err(err) => {
            tracing::error!(error = %err, "the descriptor set does not load: NUL checks are off");
            None
        }
    }
});

/// [`ProstCodec`] with [`CheckedDecoder`]; named in build.rs (`codec_path`).
#[derive(Debug, Clone)]
pub struct CheckedCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for CheckedCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for CheckedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Name + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder {
            inner: ProstCodec::<T, U>::raw_decoder(BufferSettings::default()),
        }
    }
}

#[derive(Debug)]
pub struct CheckedDecoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: Message + Default + Name> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // Requests only (every request message is named `*Request`): the generated clients
        // share this codec, and what they decode is a response, whatever it holds.
        if !U::NAME.ends_with("Request") {
            return self.inner.decode(buf);
        }
        // The message is one contiguous buffer in tonic; were it not, the copy keeps the
        // check exact.
        let suspect = if buf.chunk().len() == buf.remaining() {
            buf.chunk().contains(&0).then(|| buf.chunk().to_vec())
        } else {
            let bytes = buf.copy_to_bytes(buf.remaining());
            let suspect = bytes.contains(&0).then(|| bytes.to_vec());
            let item = U::decode(bytes).map_err(|e| Status::internal(e.to_string()))?;
            if let Some(raw) = suspect {
                reject_nul(&U::full_name(), &raw)?;
            }
            return Ok(Some(item));
        };
        let item = self.inner.decode(buf)?;
        if let Some(raw) = suspect {
            reject_nul(&U::full_name(), &raw)?;
        }
        Ok(item)
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// INVALID_ARGUMENT naming the first string field of `raw` (a `message_name`) that holds a
/// NUL character.
fn reject_nul(message_name: &str, raw: &[u8]) -> Result<(), Status> {
    let Some(descriptor) = POOL
        .as_ref()
        .and_then(|pool| pool.get_message_by_name(message_name))
    else {
        return Ok(());
    };
    // It decoded as `U` already; a failure here would be prost-reflect's and is not ours
    // to report.
    let Ok(message) = DynamicMessage::decode(descriptor, raw) else {
        return Ok(());
    };
    match nul_field(&message) {
        Some(path) => {
            Err(Error::invalid(path, "must not contain the NUL character (U+0000)").into())
        }
        None => Ok(()),
    }
}

/// The path (`dashboard.title`, `members[2]`, `dashboard.metadata.fields["k"]`) of the first
/// string holding a NUL.
fn nul_field(message: &DynamicMessage) -> Option<String> {
    for (field, value) in message.fields() {
        if let Some(rest) = nul_in_value(value) {
            return Some(format!("{}{rest}", field.name()));
        }
    }
    None
}

fn nul_in_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Message(m) => nul_field(m).map(|path| format!(".{path}")),
        Value::List(values) => values
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in_value(v).map(|rest| format!("[{i}]{rest}"))),
        Value::Map(map) => map.iter().find_map(|(key, v)| {
            let key_text = match key {
                MapKey::String(k) => {
                    if k.contains('\0') {
                        return Some(String::new());
                    }
                    // A key is caller input: quoted, and at most 32 characters of it.
                    let mut short: String = k.chars().take(32).collect();
                    if short.len() < k.len() {
                        short.push('…');
                    }
                    format!("{short:?}")
                }
                other => format!("{other:?}"),
            };
            nul_in_value(v).map(|rest| format!("[{key_text}]{rest}"))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    #[test]
    fn the_descriptor_set_loads_with_its_imports() {
        let pool = POOL.as_ref().expect("pool");
        assert!(
            pool.get_message_by_name(&pb::CreateDashboardRequest::full_name())
                .is_some()
        );
        assert!(pool.get_message_by_name("google.protobuf.Struct").is_some());
    }

    #[test]
    fn finds_nul_at_any_depth() {
        let request = pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "ok".into(),
                description: "a\0b".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        let raw = request.encode_to_vec();
        let status =
            reject_nul(&pb::CreateDashboardRequest::full_name(), &raw).expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().contains("dashboard.description"),
            "{status:?}"
        );

        let clean = pb::CreateDashboardRequest {
            dashboard: Some(pb::Dashboard {
                title: "ok".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        assert!(
            reject_nul(
                &pb::CreateDashboardRequest::full_name(),
                &clean.encode_to_vec()
            )
            .is_ok()
        );
    }
}
