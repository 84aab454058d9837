//! Keeps a response under `MAX_MESSAGE_BYTES`: a list page that would encode larger comes
//! back with fewer items than asked (and a next page token), rather than failing with
//! "encoded message length too large" on every retry.

use prost::Message;

use crate::core::{Error, Result};

/// Bytes a repeated message field adds per item besides the item: tag and length prefix.
const ITEM_FRAMING_BYTES: usize = 16;

/// Truncates `items` to the longest prefix encoding to at most `budget` bytes, keeping at
/// least one (a single item always fits: writes are refused before one could not). Returns
/// whether any were cut.
pub fn fit<M: Message>(items: &mut Vec<M>, budget: usize) -> bool {
    let mut total = 0usize;
    for (i, item) in items.iter().enumerate() {
        total = total.saturating_add(item.encoded_len() + ITEM_FRAMING_BYTES);
        if total > budget && i > 0 {
            items.truncate(i);
            return true;
        }
    }
    false
}

/// For all-or-nothing responses (BatchGet): RESOURCE_EXHAUSTED when `items` would not fit.
pub fn check_fits<M: Message>(items: &[M], budget: usize) -> Result<()> {
    let total: usize = items
        .iter()
        .map(|item| item.encoded_len() + ITEM_FRAMING_BYTES)
        .fold(0, usize::saturating_add);
    if total > budget {
        return Err(Error::ResourceExhausted {
            reason: "RESPONSE_TOO_LARGE",
            message: format!(
                "the response would be {total} bytes, more than the {budget} one response may \
                 carry; ask for fewer names at a time (or the BASIC view)"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_cut_to_the_budget_but_never_empty() {
        let item = |n: usize| prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue("x".repeat(n))),
        };
        let mut items = vec![item(100), item(100), item(100)];
        assert!(!fit(&mut items, 10_000));
        assert_eq!(items.len(), 3);
        assert!(fit(&mut items, 250));
        assert_eq!(items.len(), 2);
        let mut huge = vec![item(1_000), item(1)];
        assert!(fit(&mut huge, 10));
        assert_eq!(huge.len(), 1, "the first item is always kept");
        assert!(check_fits(&[item(100)], 1_000).is_ok());
        let err = check_fits(&[item(100), item(100)], 150).unwrap_err();
        assert_eq!(err.reason(), "RESPONSE_TOO_LARGE");
    }
}
