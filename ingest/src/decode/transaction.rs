//! The custom_json operations of one transaction that a prefix occurs in.
//!
//! The transaction and its operations are walked by the [`Scanner`], which
//! only finds where their parts are; each custom_json body is read by the
//! `body` module, its id first. Whatever the scanner cannot walk (escapes
//! in a key or an operation's name, a field given twice, a value of the
//! wrong type) is read by serde instead, which says what is wrong. As for
//! a skipped transaction, the parts that are not used (signatures, other
//! operations' bodies) are only checked for their extent.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::block::CustomJson;
use super::body::{self, Body};
use super::scan::{once, Scanner};
use super::text::Text;
use super::{DecodeError, OpFilter};

/// The fields of a transaction that decoding reads, as serde reads them.
#[derive(Deserialize)]
struct RawTransaction<'a> {
    #[serde(borrow, default)]
    operations: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    transaction_id: Option<Text<'a>>,
}

/// Appbase: `{"type":"custom_json_operation","value":{...}}`.
#[derive(Deserialize)]
struct AppbaseOp<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// Where a transaction, or one of its operations, is in block `num`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'r> {
    /// Block number.
    pub(crate) num: u64,
    /// Index of the transaction in the block.
    pub(crate) trx_index: u32,
    /// The block's `transaction_ids` entry for it, if the block lists them.
    pub(crate) listed_id: Option<&'r str>,
}

/// An operation's name and its body's text, from the operation's text.
type NameAndBody<'r> = Result<(Text<'r>, &'r [u8]), DecodeError>;

/// How an operation's parts are read: the scanner with serde behind it,
/// or (in tests) serde alone.
#[derive(Clone, Copy)]
struct Readers {
    /// An operation's name and its body's text, from the operation's text.
    operation: for<'r> fn(&'r [u8]) -> NameAndBody<'r>,
    /// A custom_json body, from its text.
    body: for<'r> fn(&'r [u8]) -> Result<Body<'r>, DecodeError>,
}

/// The scanner, with serde where it cannot say.
const SCANNER: Readers = Readers {
    operation,
    body: body::body,
};

fn malformed(message: String) -> DecodeError {
    DecodeError::Malformed(message)
}

/// Appends to `out` the custom_json operations of transaction `raw` whose
/// id `filter` matches, in order. `operations` is room for the
/// transaction's operation list, kept from one transaction to the next.
pub(crate) fn decode_transaction<'r>(
    place: Place<'_>,
    raw: &'r [u8],
    filter: &OpFilter,
    operations: &mut Vec<&'r [u8]>,
    out: &mut Vec<CustomJson>,
) -> Result<(), DecodeError> {
    let own_id = match scan_transaction(raw, operations) {
        Some(own_id) => own_id.map(|id| Text(id.into())),
        None => read_transaction(raw, operations)?,
    };
    decode_operations(place, operations, own_id.as_ref(), SCANNER, filter, out)
}

/// The custom_json operations among `operations` (each an operation's
/// text, read by `readers`) whose id `filter` matches.
fn decode_operations(
    place: Place<'_>,
    operations: &[&[u8]],
    own_id: Option<&Text<'_>>,
    readers: Readers,
    filter: &OpFilter,
    out: &mut Vec<CustomJson>,
) -> Result<(), DecodeError> {
    let num = place.num;
    let mut trx_id: Option<String> = None;
    for (op_index, raw_op) in operations.iter().enumerate() {
        let (kind, value) = (readers.operation)(raw_op)?;
        if !matches!(kind.as_str(), "custom_json_operation" | "custom_json") {
            continue;
        }
        let op = (readers.body)(value)?;
        if !filter.matches(op.id()) {
            continue;
        }
        let op_index = u32::try_from(op_index)
            .map_err(|_| malformed(format!("block {num}: too many operations")))?;
        let trx_id = match &trx_id {
            Some(id) => id.clone(),
            None => {
                let id = transaction_id(place, own_id)?;
                trx_id = Some(id.clone());
                id
            }
        };
        let id = op.id().to_owned();
        let fields = op.fields(num)?;
        out.push(CustomJson {
            trx_index: place.trx_index,
            op_index,
            trx_id,
            id,
            required_auths: fields.required_auths,
            required_posting_auths: fields.required_posting_auths,
            json: fields.json,
        });
    }
    Ok(())
}

/// The transaction through serde: its operations' text into `operations`,
/// and its own id.
fn read_transaction<'r>(
    raw: &'r [u8],
    operations: &mut Vec<&'r [u8]>,
) -> Result<Option<Text<'r>>, DecodeError> {
    let trx: RawTransaction<'r> =
        serde_json::from_slice(raw).map_err(|e| DecodeError::json("transaction", e))?;
    operations.clear();
    operations.extend(trx.operations.iter().map(|op| op.get().as_bytes()));
    Ok(trx.transaction_id)
}

/// The fields [`RawTransaction`] reads, through the scanner: each
/// operation's text into `operations`, and the transaction's own id.
/// `None` where serde might answer differently.
fn scan_transaction<'r>(raw: &'r [u8], operations: &mut Vec<&'r [u8]>) -> Option<Option<&'r str>> {
    let mut s = Scanner::new(raw);
    let (mut has_operations, mut own_id) = (false, None);
    s.object(|s, key| match key {
        "operations" if !has_operations => {
            has_operations = true;
            s.list_into(operations, Scanner::skip_value)
        }
        "transaction_id" => once(&mut own_id, s.plain_string()?),
        "operations" => None,
        _ => s.skip_value().map(drop),
    })?;
    s.at_end().then_some(own_id)
}

/// An operation's name and body in either form, through the scanner;
/// `None` where serde might answer differently.
fn scan_operation(raw: &[u8]) -> Option<(&str, &[u8])> {
    let mut s = Scanner::new(raw);
    let (kind, value) = match s.peek()? {
        b'{' => {
            let (mut kind, mut value) = (None, None);
            s.object(|s, key| match key {
                "type" => once(&mut kind, s.plain_string()?),
                "value" => once(&mut value, s.skip_value()?),
                _ => s.skip_value().map(drop),
            })?;
            (kind?, value?)
        }
        b'[' => {
            let (mut kind, mut value) = (None, None);
            s.array(|s| {
                if kind.is_none() {
                    kind = Some(s.plain_string()?);
                } else if value.is_none() {
                    value = Some(s.skip_value()?);
                } else {
                    // A third element: serde's pair refuses it.
                    return None;
                }
                Some(())
            })?;
            (kind?, value?)
        }
        _ => return None,
    };
    s.at_end().then_some((kind, value))
}

/// An operation's name and body in either form: through the scanner, or
/// serde where the scanner cannot say.
fn operation(raw: &[u8]) -> Result<(Text<'_>, &[u8]), DecodeError> {
    match scan_operation(raw) {
        Some((kind, value)) => Ok((Text(kind.into()), value)),
        None => read_operation(raw),
    }
}

/// An operation's name and body in either form, through serde.
fn read_operation(raw: &[u8]) -> Result<(Text<'_>, &[u8]), DecodeError> {
    // The text starts at the value: serde's raw values and the scanner's
    // extents both begin after the whitespace.
    let (kind, value) = match raw.first() {
        Some(b'{') => {
            let op: AppbaseOp<'_> =
                serde_json::from_slice(raw).map_err(|e| DecodeError::json("operation", e))?;
            (op.kind, op.value)
        }
        Some(b'[') => {
            let op: (Text<'_>, &RawValue) =
                serde_json::from_slice(raw).map_err(|e| DecodeError::json("operation", e))?;
            op
        }
        _ => {
            return Err(malformed(
                "an operation is neither an object nor a [name, body] pair".into(),
            ))
        }
    };
    Ok((kind, value.get().as_bytes()))
}

fn transaction_id(place: Place<'_>, own: Option<&Text<'_>>) -> Result<String, DecodeError> {
    let Place { num, trx_index, .. } = place;
    let id = place.listed_id.or(own.map(Text::as_str)).ok_or_else(|| {
        malformed(format!(
            "block {num}: transaction {trx_index} has no id (no transaction_ids[{trx_index}] nor transaction_id)"
        ))
    })?;
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(format!(
            "block {num}: transaction {trx_index} id `{id}` is not 40 hex characters"
        )));
    }
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::{
        decode_operations, decode_transaction, operation, read_operation, read_transaction, Place,
        Readers,
    };
    use crate::decode::body::read_body;
    use crate::decode::{CustomJson, DecodeError, OpFilter};

    /// The transaction through serde alone, as it was read before the scanner walked it.
    fn serde_only(
        place: Place<'_>,
        raw: &[u8],
        filter: &OpFilter,
    ) -> Result<Vec<CustomJson>, DecodeError> {
        let mut operations = Vec::new();
        let own_id = read_transaction(raw, &mut operations)?;
        let mut out = Vec::new();
        let serde = Readers {
            operation: read_operation,
            body: read_body,
        };
        decode_operations(place, &operations, own_id.as_ref(), serde, filter, &mut out)?;
        Ok(out)
    }

    fn scanned(
        place: Place<'_>,
        raw: &[u8],
        filter: &OpFilter,
    ) -> Result<Vec<CustomJson>, DecodeError> {
        let mut out = Vec::new();
        decode_transaction(place, raw, filter, &mut Vec::new(), &mut out)?;
        Ok(out)
    }

    /// A value of the wrong type now and then, in place of a field's value.
    fn or_wrong(right: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        prop_oneof![
            8 => right,
            1 => prop_oneof![Just(Value::Null), Just(json!(7)), Just(json!("text")), Just(json!([])), Just(json!({}))],
        ]
    }

    fn arb_names() -> impl Strategy<Value = Value> {
        prop::collection::vec("[a-z]{1,5}", 0..3).prop_map(|names| json!(names))
    }

    fn arb_body() -> impl Strategy<Value = Value> {
        (
            or_wrong(prop::sample::select(vec!["abc_send", "abc_", "xyz", "ab"]).prop_map(Value::from)),
            // serde writes control characters other than \n as `\u00XX`.
            or_wrong("[a-z{}\":,\\\\é\u{1}\n]{0,12}".prop_map(Value::from)),
            or_wrong(arb_names()),
            or_wrong(arb_names()),
            any::<bool>(),
        )
            .prop_map(|(id, json, auths, posting, extra)| {
                let mut body = json!({"id": id, "json": json, "required_auths": auths, "required_posting_auths": posting});
                if extra {
                    body["memo"] = json!([1, {"type": "custom_json"}]);
                }
                body
            })
    }

    fn arb_operation() -> impl Strategy<Value = Value> {
        let kind = prop::sample::select(vec![
            "custom_json_operation",
            "custom_json",
            "vote_operation",
            "vote",
        ]);
        (kind, or_wrong(arb_body()), 0u8..6).prop_map(|(kind, body, form)| match form {
            0 | 1 => json!({"type": kind, "value": body}),
            2 => json!([kind, body]),
            3 => json!([kind]),
            4 => json!([kind, body, 1]),
            _ => json!({"value": body, "type": kind, "extra": [kind]}),
        })
    }

    fn arb_transaction() -> impl Strategy<Value = Value> {
        (
            or_wrong(prop::collection::vec(arb_operation(), 0..4).prop_map(Value::from)),
            prop::option::of(or_wrong(
                prop::sample::select(vec!["0123456789abcdef0123456789abcdef01234567", "not hex"])
                    .prop_map(Value::from),
            )),
            any::<bool>(),
        )
            .prop_map(|(operations, id, signatures)| {
                let mut trx = json!({"ref_block_num": 1, "operations": operations});
                if let Some(id) = id {
                    trx["transaction_id"] = id;
                }
                if signatures {
                    trx["signatures"] = json!(["1f\"x\\"]);
                }
                trx
            })
    }

    /// Keys written with an escape (`"typ\u0065"`), which serde reads as the plain key.
    fn escape_key(text: &str, key: &str) -> String {
        let (head, last) = key.split_at(key.len() - 1);
        let escaped = format!("\"{head}\\u{:04x}\"", last.as_bytes()[0]);
        text.replacen(&format!("\"{key}\""), &escaped, 1)
    }

    /// The first member `key` given a second time, before the first
    /// (`"type":"custom_json","type":...`), as serde_json never writes it.
    fn duplicate_key(text: &str, key: &str) -> String {
        let value = match key {
            "type" => "\"custom_json\"",
            "value" => "{}",
            "operations" => "[]",
            _ => "\"0123456789abcdef0123456789abcdef01234567\"",
        };
        let member = format!("\"{key}\":");
        text.replacen(&member, &format!("{member}{value},{member}"), 1)
    }

    const KEYS: [&str; 7] = [
        "type",
        "value",
        "operations",
        "transaction_id",
        "id",
        "json",
        "required_posting_auths",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn the_scanner_walk_reads_what_serde_reads(
            trx in arb_transaction(),
            pretty in any::<bool>(),
            escaped in prop::option::of(prop::sample::select(KEYS.to_vec())),
            duplicated in prop::option::of(prop::sample::select(KEYS.to_vec())),
            listed in any::<bool>(),
        ) {
            let text = if pretty { serde_json::to_string_pretty(&trx) } else { serde_json::to_string(&trx) }
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let text = match duplicated {
                Some(key) => duplicate_key(&text, key),
                None => text,
            };
            let text = match escaped {
                Some(key) => escape_key(&text, key),
                None => text,
            };
            let place = Place {
                num: 9,
                trx_index: 2,
                listed_id: listed.then_some("fedcba9876543210fedcba9876543210fedcba98"),
            };
            for filter in [OpFilter::any(), OpFilter::new(["abc_"])] {
                let expected = format!("{:?}", serde_only(place, text.as_bytes(), &filter));
                prop_assert_eq!(format!("{:?}", scanned(place, text.as_bytes(), &filter)), expected);
            }
        }
    }

    #[test]
    fn operations_of_both_forms_are_found() {
        let text = r#"{"operations":[["vote",{"voter":"a"}],{"type":"custom_json_operation","value":{"id":"abc_send","json":"{\"x\":1}","required_auths":[],"required_posting_auths":["bob"]}},["custom_json",{"id":"abc_buy","json":"[]","required_auths":["al"],"required_posting_auths":[]}]],"transaction_id":"0123456789abcdef0123456789abcdef01234567"}"#;
        let place = Place {
            num: 5,
            trx_index: 1,
            listed_id: None,
        };
        let ops = scanned(place, text.as_bytes(), &OpFilter::new(["abc_"])).expect("decodes");
        let read: Vec<_> = ops
            .iter()
            .map(|op| (op.op_index, op.id.as_str(), op.json.as_str()))
            .collect();
        assert_eq!(read, [(1, "abc_send", "{\"x\":1}"), (2, "abc_buy", "[]")]);
        assert_eq!(ops[0].required_posting_auths, ["bob"]);
        assert_eq!(ops[1].required_auths, ["al"]);
        assert!(ops
            .iter()
            .all(|op| op.trx_id == "0123456789abcdef0123456789abcdef01234567"));
    }

    #[test]
    fn text_after_the_transaction_or_an_operation_is_refused_as_serde_does() {
        let place = Place {
            num: 5,
            trx_index: 1,
            listed_id: None,
        };
        let op = r#"{"type":"vote","value":{}}"#;
        for text in [
            r#"{"operations":[]} x"#.to_string(),
            format!(r#"{{"operations":[{op} 1]}}"#),
        ] {
            let expected = format!("{:?}", serde_only(place, text.as_bytes(), &OpFilter::any()));
            assert!(expected.starts_with("Err"), "{expected}");
            assert_eq!(
                format!("{:?}", scanned(place, text.as_bytes(), &OpFilter::any())),
                expected
            );
        }
        for op in [format!("{op} x"), r#"["vote",{}] x"#.to_string()] {
            assert!(read_operation(op.as_bytes()).is_err());
            assert_eq!(
                operation(op.as_bytes()).map(drop),
                read_operation(op.as_bytes()).map(drop)
            );
        }
    }
}
