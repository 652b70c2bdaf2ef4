//! The binary layout of records inside a frame's (uncompressed) payload.
//!
//! Hand-written rather than derived so that the on-disk format cannot change
//! behind our back: the encoder destructures every struct exhaustively, so a
//! new field in [`TokenOp`] or [`BlockRef`] breaks the build here and forces a
//! conscious format-version bump instead of silently unreadable logs. The
//! decoder, which fills records given back for reuse, names every field the
//! same way, so that such a field cannot keep a reused record's value.
//!
//! Layout (integers are unsigned LEB128 varints, strings are a varint byte
//! length followed by UTF-8 bytes, lists are a varint count then items):
//!
//! ```text
//! record   := 0x00 op | 0x01 blockend
//! op       := block trx_index op_index trx_id timestamp name
//!             list(required_auths) list(required_posting_auths) json
//! blockend := num id timestamp
//! ```

use crate::block::BlockRef;
use crate::log::spares::Spares;
use crate::log::LogRecord;
use crate::op::TokenOp;

const TAG_OP: u8 = 0;
const TAG_BLOCK_END: u8 = 1;

/// Appends the encoding of `record` to `out`.
pub(super) fn encode_record(record: &LogRecord, out: &mut Vec<u8>) {
    match record {
        LogRecord::Op(op) => {
            let TokenOp {
                block,
                trx_index,
                op_index,
                trx_id,
                timestamp,
                name,
                required_auths,
                required_posting_auths,
                json,
            } = op;
            out.push(TAG_OP);
            put_varint(out, *block);
            put_varint(out, u64::from(*trx_index));
            put_varint(out, u64::from(*op_index));
            put_str(out, trx_id);
            put_str(out, timestamp);
            put_str(out, name);
            put_list(out, required_auths);
            put_list(out, required_posting_auths);
            put_str(out, json);
        }
        LogRecord::BlockEnd(block_ref) => {
            let BlockRef { num, id, timestamp } = block_ref;
            out.push(TAG_BLOCK_END);
            put_varint(out, *num);
            put_str(out, id);
            put_str(out, timestamp);
        }
    }
}

/// Why a payload could not be decoded; the caller adds file and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DecodeError(pub(super) String);

/// Reads records one at a time from an encoded payload.
pub(super) struct RecordDecoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// A run of the payload known to be UTF-8, and the byte it starts at
    /// (see [`RecordDecoder::str`]).
    checked: (usize, &'a str),
}

impl<'a> RecordDecoder<'a> {
    /// A decoder over `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        RecordDecoder {
            bytes,
            pos: 0,
            checked: (0, ""),
        }
    }

    /// True when every byte was consumed.
    pub(super) fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Decodes the next record.
    #[cfg(test)]
    pub(super) fn next_record(&mut self) -> Result<LogRecord, DecodeError> {
        let mut record = LogRecord::Op(TokenOp::default());
        self.decode_into(&mut record, &mut Spares::default())?;
        Ok(record)
    }

    /// Decodes the next record into `slot`, reusing its strings, so that a
    /// long read (a replay's) allocates mostly when a string outgrows the
    /// one it replaces. A slot of the other kind is swapped for one
    /// `spares` holds (or a new one), and goes there. After an error the
    /// slot holds parts of the record.
    pub(super) fn decode_into(
        &mut self,
        slot: &mut LogRecord,
        spares: &mut Spares,
    ) -> Result<(), DecodeError> {
        let at = self.pos;
        match (self.byte()?, slot) {
            (TAG_OP, LogRecord::Op(op)) => self.op_into(op),
            (TAG_BLOCK_END, LogRecord::BlockEnd(end)) => self.end_into(end),
            (TAG_OP, slot) => {
                let mut op = spares.op();
                self.op_into(&mut op)?;
                spares.keep_one(std::mem::replace(slot, LogRecord::Op(op)));
                Ok(())
            }
            (TAG_BLOCK_END, slot) => {
                let mut end = spares.end();
                self.end_into(&mut end)?;
                spares.keep_one(std::mem::replace(slot, LogRecord::BlockEnd(end)));
                Ok(())
            }
            (tag, _) => Err(DecodeError(format!(
                "unknown record tag {tag} at payload byte {at}"
            ))),
        }
    }

    /// An operation's fields, after its tag.
    fn op_into(&mut self, op: &mut TokenOp) -> Result<(), DecodeError> {
        // Every field named: see the module's doc.
        let TokenOp {
            block,
            trx_index,
            op_index,
            trx_id,
            timestamp,
            name,
            required_auths,
            required_posting_auths,
            json,
        } = op;
        *block = self.varint()?;
        *trx_index = self.varint_u32("trx_index")?;
        *op_index = self.varint_u32("op_index")?;
        self.string_into(trx_id)?;
        self.string_into(timestamp)?;
        self.string_into(name)?;
        self.list_into(required_auths)?;
        self.list_into(required_posting_auths)?;
        self.string_into(json)
    }

    /// A block end's fields, after its tag.
    fn end_into(&mut self, end: &mut BlockRef) -> Result<(), DecodeError> {
        let BlockRef { num, id, timestamp } = end;
        *num = self.varint()?;
        self.string_into(id)?;
        self.string_into(timestamp)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.short("a byte"))?;
        self.pos += 1;
        Ok(b)
    }

    /// Lengths, indexes and counts are nearly always under 128: one byte,
    /// read where the varint is asked for (varints were a tenth of the log
    /// reader's samples in a replay, mostly the call and its loop).
    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        if let Some(&b) = self.bytes.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.long_varint()
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            // The 10th byte may only carry the top bit of a u64.
            if shift == 63 && bits > 1 {
                return Err(DecodeError(format!(
                    "varint at payload byte {start} overflows 64 bits"
                )));
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError(format!(
                    "varint at payload byte {start} is longer than 10 bytes"
                )));
            }
        }
    }

    fn varint_u32(&mut self, field: &str) -> Result<u32, DecodeError> {
        let at = self.pos;
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| {
            DecodeError(format!(
                "{field} {v} at payload byte {at} does not fit 32 bits"
            ))
        })
    }

    fn length(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let len = self.varint()?;
        // Every item takes at least one byte, so a length beyond what is
        // left is corrupt: checking here keeps a bad length from allocating.
        let left = (self.bytes.len() - self.pos) as u64;
        if len > left {
            return Err(DecodeError(format!(
                "length {len} at payload byte {at} exceeds the {left} bytes left"
            )));
        }
        usize::try_from(len).map_err(|_| DecodeError(format!("length {len} too large")))
    }

    /// The next string. A record's strings lie close together, between
    /// length bytes that are mostly ASCII, so one UTF-8 check of the
    /// payload from a string on usually covers the strings after it too:
    /// one check a record instead of one a string (the checks were about
    /// a fifth of the log reader's samples in a replay). `str::get` takes
    /// a string from the checked run only where it starts and ends on
    /// character boundaries, which is exactly when it is UTF-8 on its own.
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.length()?;
        let at = self.pos;
        self.pos += len;
        if let Some(text) = self.within_checked_run(at, len) {
            return Ok(text);
        }
        let rest = &self.bytes[at..];
        let valid = match std::str::from_utf8(rest) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        self.checked = (at, valid);
        self.within_checked_run(at, len)
            .ok_or_else(|| DecodeError(format!("string at payload byte {at} is not UTF-8")))
    }

    fn within_checked_run(&self, at: usize, len: usize) -> Option<&'a str> {
        let (start, run) = self.checked;
        let from = at.checked_sub(start)?;
        run.get(from..from + len)
    }

    fn string_into(&mut self, out: &mut String) -> Result<(), DecodeError> {
        refill(out, self.str()?);
        Ok(())
    }

    fn list_into(&mut self, out: &mut Vec<String>) -> Result<(), DecodeError> {
        let count = self.length()?;
        out.truncate(count);
        for item in out.iter_mut() {
            self.string_into(item)?;
        }
        out.reserve(count - out.len());
        while out.len() < count {
            out.push(self.str()?.to_owned());
        }
        Ok(())
    }

    fn short(&self, what: &str) -> DecodeError {
        DecodeError(format!(
            "payload ends at byte {} where {what} was expected",
            self.pos
        ))
    }
}

/// Capacity a reused string keeps whatever it holds next; above it, a
/// string more than twice as large as its new text is replaced. Most
/// fields are far shorter; this keeps a rare long `json` from leaving
/// every reused record holding that much.
const KEEP_CAPACITY: usize = 256;

/// Puts `text` in `out`, reusing `out`'s allocation when it is not much
/// larger than needed.
fn refill(out: &mut String, text: &str) {
    if out.capacity() > KEEP_CAPACITY && out.capacity() > 2 * text.len() {
        *out = text.to_owned();
    } else {
        out.clear();
        out.push_str(text);
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Puts a string: its byte length, then its bytes. Any bytes go (a test
/// puts strings that are not UTF-8, which the decoder must reject).
fn put_str(out: &mut Vec<u8>, s: impl AsRef<[u8]>) {
    let bytes = s.as_ref();
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    put_varint(out, items.len() as u64);
    for item in items {
        put_str(out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<LogRecord>, DecodeError> {
        let mut d = RecordDecoder::new(bytes);
        let mut out = Vec::new();
        while !d.is_empty() {
            out.push(d.next_record()?);
        }
        Ok(out)
    }

    pub(crate) fn arb_record() -> impl Strategy<Value = LogRecord> {
        let op = (
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            ".{0,8}",
            ".{0,4}",
            ".{0,6}",
            prop::collection::vec(".{0,5}", 0..3),
            prop::collection::vec(".{0,5}", 0..3),
            ".{0,20}",
        )
            .prop_map(|(block, t, o, trx_id, ts, name, ra, rpa, json)| {
                LogRecord::Op(TokenOp {
                    block,
                    trx_index: t,
                    op_index: o,
                    trx_id,
                    timestamp: ts,
                    name,
                    required_auths: ra,
                    required_posting_auths: rpa,
                    json,
                })
            });
        let end = (any::<u64>(), ".{0,8}", ".{0,4}")
            .prop_map(|(num, id, timestamp)| LogRecord::BlockEnd(BlockRef { num, id, timestamp }));
        prop_oneof![op, end]
    }

    proptest! {
        #[test]
        fn records_round_trip(records in prop::collection::vec(arb_record(), 0..20)) {
            let mut bytes = Vec::new();
            for r in &records {
                encode_record(r, &mut bytes);
            }
            prop_assert_eq!(decode_all(&bytes), Ok(records));
        }

        #[test]
        fn records_decode_the_same_into_used_records_of_either_kind(
            records in prop::collection::vec(arb_record(), 0..20),
            slots in prop::collection::vec(arb_record(), 0..20),
            mut spares in prop::collection::vec(arb_record(), 0..20),
        ) {
            let mut bytes = Vec::new();
            for r in &records {
                encode_record(r, &mut bytes);
            }
            let mut kept = Spares::default();
            kept.keep(std::mem::take(&mut spares));
            let mut slots = slots.into_iter();
            let mut d = RecordDecoder::new(&bytes);
            let mut decoded = Vec::new();
            while !d.is_empty() {
                let mut slot = slots.next().unwrap_or_else(|| kept.any());
                d.decode_into(&mut slot, &mut kept).map_err(|e| TestCaseError::fail(e.0))?;
                decoded.push(slot);
            }
            prop_assert_eq!(decoded, records);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&bytes);
        }

        #[test]
        fn every_strict_prefix_fails_to_decode(record in arb_record()) {
            let mut bytes = Vec::new();
            encode_record(&record, &mut bytes);
            for cut in 0..bytes.len() {
                let mut d = RecordDecoder::new(&bytes[..cut]);
                prop_assert!(d.next_record().is_err());
            }
        }
    }

    /// A string's bytes for [`strings_decode_exactly_when_each_is_utf8`]:
    /// whole characters of one to four bytes, now and then a run long
    /// enough for a two-byte length, and now and then a broken character
    /// (a lead byte alone, a continuation byte alone, or a byte that is
    /// never UTF-8), so that a string may end inside a character that the
    /// bytes after it complete.
    fn arb_string_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            12 => prop::sample::select(vec!["a", "é", "€", "😀", "0"]).prop_map(|c| c.as_bytes().to_vec()),
            1 => Just(vec![b'x'; 130]),
            1 => prop::sample::select(vec![0xC3u8, 0xE2, 0xF0, 0x85, 0xA9, 0x82, 0xFF]).prop_map(|b| vec![b]),
        ];
        prop::collection::vec(piece, 0..4).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// An operation and a block end whose strings are arbitrary bytes
        /// decode exactly when every string is UTF-8 on its own, and then
        /// to those strings, however the bytes around a string would
        /// read together.
        #[test]
        fn strings_decode_exactly_when_each_is_utf8(
            block in any::<u64>(),
            strings in prop::collection::vec(arb_string_bytes(), 7),
        ) {
            let mut bytes = vec![TAG_OP];
            for number in [block, 200, 3] {
                put_varint(&mut bytes, number);
            }
            // trx_id, timestamp, name, one required auth, no posting auth, json.
            put_str(&mut bytes, &strings[0]);
            put_str(&mut bytes, &strings[1]);
            put_str(&mut bytes, &strings[2]);
            put_varint(&mut bytes, 1);
            put_str(&mut bytes, &strings[3]);
            put_varint(&mut bytes, 0);
            put_str(&mut bytes, &strings[4]);
            bytes.push(TAG_BLOCK_END);
            put_varint(&mut bytes, block);
            put_str(&mut bytes, &strings[5]);
            put_str(&mut bytes, &strings[6]);
            let text = |i: usize| String::from_utf8(strings[i].clone()).ok();
            let decoded = decode_all(&bytes);
            let wanted: Option<Vec<String>> = [0, 1, 2, 3, 4, 5, 6].into_iter().map(text).collect();
            match wanted {
                Some(t) => prop_assert_eq!(decoded, Ok(vec![
                    LogRecord::Op(TokenOp {
                        block,
                        trx_index: 200,
                        op_index: 3,
                        trx_id: t[0].clone(),
                        timestamp: t[1].clone(),
                        name: t[2].clone(),
                        required_auths: vec![t[3].clone()],
                        required_posting_auths: vec![],
                        json: t[4].clone(),
                    }),
                    LogRecord::BlockEnd(BlockRef { num: block, id: t[5].clone(), timestamp: t[6].clone() }),
                ])),
                None => prop_assert!(decoded.is_err(), "decoded {:?}", decoded),
            }
        }
    }

    #[test]
    fn varint_extremes_round_trip() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(RecordDecoder::new(&out).varint(), Ok(v));
        }
        // 10 bytes whose last carries more than the top bit overflows.
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        assert!(RecordDecoder::new(&overflow).varint().is_err());
        // The top bit alone in the 10th byte is u64::MAX's; a 10th byte
        // that asks for an 11th is too long, even if the value would fit.
        let mut top = vec![0xff; 9];
        top.push(0x01);
        assert_eq!(RecordDecoder::new(&top).varint(), Ok(u64::MAX));
        let mut too_long = vec![0x80; 10];
        too_long.push(0x00);
        let err = RecordDecoder::new(&too_long)
            .varint()
            .expect_err("11 bytes");
        assert!(err.0.contains("longer than 10 bytes"), "{err:?}");
        assert!(RecordDecoder::new(&[0x80, 0x80]).varint().is_err());
    }

    proptest! {
        /// Any u64 decodes to itself and leaves the decoder on the byte
        /// right after it, whatever follows.
        #[test]
        fn varints_decode_to_their_value_and_stop_after_themselves(
            value in prop_oneof![0u64..128, 128u64..1 << 21, any::<u64>()],
            next in any::<u8>(),
        ) {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, value);
            let len = bytes.len();
            bytes.push(next);
            let mut d = RecordDecoder::new(&bytes);
            prop_assert_eq!(d.varint(), Ok(value));
            prop_assert_eq!(d.pos, len);
        }
    }
}
