//! A custom_json operation's body: `{"required_auths":[...],
//! "required_posting_auths":[...],"id":"...","json":"..."}`.
//!
//! Its id is read first, and the rest only once the id matched. The
//! scanner walks the body and finds its parts; the `json` string is
//! unescaped into a string of its own size ([`unescape`]) and the auths
//! are read as lists of plain names. Whatever the scanner cannot walk or
//! read that way (escapes in a key, the id or a name; a field given twice
//! or missing; a value of the wrong type; an escape serde must judge) is
//! read by serde, which says what is wrong. As for a skipped transaction,
//! fields that are not used are only checked for their extent.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::scan::{once, Scanner};
use super::text::Text;
use super::unescape::unescape;
use super::DecodeError;

/// The body as serde reads it; the auths are only parsed once the id matched.
#[derive(Deserialize)]
pub(crate) struct RawCustomJson<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    json: Text<'a>,
    #[serde(borrow)]
    required_auths: &'a RawValue,
    #[serde(borrow)]
    required_posting_auths: &'a RawValue,
}

/// Where the scanner found the body's parts.
pub(crate) struct ScannedBody<'r> {
    id: &'r str,
    /// The `json` string's text between its quotes, still escaped.
    json: &'r [u8],
    required_auths: &'r [u8],
    required_posting_auths: &'r [u8],
    /// The whole body, for serde when a part cannot be read here.
    text: &'r [u8],
}

/// A custom_json body with its id read.
pub(crate) enum Body<'r> {
    /// Walked by the scanner.
    Scanned(ScannedBody<'r>),
    /// Read by serde.
    Read(RawCustomJson<'r>),
}

/// What a matching operation keeps of its body besides the id.
pub(crate) struct BodyFields {
    /// The `json` string, unescaped.
    pub(crate) json: String,
    /// `required_auths`.
    pub(crate) required_auths: Vec<String>,
    /// `required_posting_auths`.
    pub(crate) required_posting_auths: Vec<String>,
}

impl Body<'_> {
    /// The custom_json id.
    pub(crate) fn id(&self) -> &str {
        match self {
            Body::Scanned(body) => body.id,
            Body::Read(body) => body.id.as_str(),
        }
    }

    /// The json and the auths of the operation in block `num`.
    pub(crate) fn fields(self, num: u64) -> Result<BodyFields, DecodeError> {
        match self {
            Body::Scanned(body) => match scanned_fields(&body) {
                Some(fields) => Ok(fields),
                None => read_fields(read_raw(body.text)?, num),
            },
            Body::Read(body) => read_fields(body, num),
        }
    }
}

/// The body through the scanner, or serde where the scanner cannot say.
pub(crate) fn body(text: &[u8]) -> Result<Body<'_>, DecodeError> {
    match scan_body(text) {
        Some(body) => Ok(Body::Scanned(body)),
        None => read_body(text),
    }
}

/// The body through serde alone.
pub(crate) fn read_body(text: &[u8]) -> Result<Body<'_>, DecodeError> {
    Ok(Body::Read(read_raw(text)?))
}

fn read_raw(text: &[u8]) -> Result<RawCustomJson<'_>, DecodeError> {
    serde_json::from_slice(text).map_err(|e| DecodeError::json("custom_json operation", e))
}

/// The parts of the body, each field once, `json` a string; `None` where
/// serde might answer differently.
fn scan_body(text: &[u8]) -> Option<ScannedBody<'_>> {
    let mut s = Scanner::new(text);
    let (mut id, mut json, mut auths, mut posting) = (None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.plain_string()?),
        "json" => {
            // Not a string (no quotes to strip): serde says so.
            let quoted = s.skip_value()?;
            once(&mut json, quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?)
        }
        "required_auths" => once(&mut auths, s.skip_value()?),
        "required_posting_auths" => once(&mut posting, s.skip_value()?),
        _ => s.skip_value().map(drop),
    })?;
    s.at_end().then_some(())?;
    Some(ScannedBody {
        id: id?,
        json: json?,
        required_auths: auths?,
        required_posting_auths: posting?,
        text,
    })
}

fn scanned_fields(body: &ScannedBody<'_>) -> Option<BodyFields> {
    Some(BodyFields {
        json: unescape(body.json)?,
        required_auths: plain_names(body.required_auths)?,
        required_posting_auths: plain_names(body.required_posting_auths)?,
    })
}

/// A list of names without escapes; `None` for anything else.
fn plain_names(text: &[u8]) -> Option<Vec<String>> {
    let mut s = Scanner::new(text);
    let mut names = Vec::new();
    s.list_into(&mut names, |s| s.plain_string().map(str::to_owned))?;
    s.at_end().then_some(names)
}

fn read_fields(body: RawCustomJson<'_>, num: u64) -> Result<BodyFields, DecodeError> {
    Ok(BodyFields {
        required_auths: auths(num, "required_auths", body.required_auths)?,
        required_posting_auths: auths(num, "required_posting_auths", body.required_posting_auths)?,
        json: body.json.0.into_owned(),
    })
}

fn auths(num: u64, field: &'static str, raw: &RawValue) -> Result<Vec<String>, DecodeError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        DecodeError::Malformed(format!(
            "block {num}: custom_json {field} is not a list of names: {e}"
        ))
    })
}
