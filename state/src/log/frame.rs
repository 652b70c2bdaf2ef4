//! One frame: the unit that `append` writes and the unit of checksumming.
//!
//! Layout (little-endian):
//!
//! ```text
//! offset size field
//!  0     4    magic  b"HGLF"
//!  4     2    format version (1)
//!  6     2    flags (0; reserved)
//!  8     4    record count (>= 1)
//! 12     4    uncompressed payload length
//! 16     4    compressed payload length
//! 20     8    index of the frame's first record in the whole log
//! 28     8    block of the first record
//! 36     8    block of the last record
//! 44     4    crc32 of bytes 0..44 (header checksum)
//! 48     n    zstd-compressed payload (records, see `codec`)
//! 48+n   4    crc32 of bytes 0..48+n (frame checksum)
//! ```
//!
//! The header checksum lets `open` trust the lengths and block ranges of
//! every frame after reading only its 48 header bytes; the frame checksum
//! covers everything and is checked whenever the payload is read.

use crate::block::BlockNum;
use crate::log::codec::{encode_record, RecordDecoder};
use crate::log::spares::Spares;
use crate::log::LogRecord;

/// Magic bytes that start every frame.
pub(super) const MAGIC: [u8; 4] = *b"HGLF";
/// The only frame format this build reads and writes.
pub(super) const VERSION: u16 = 1;
/// Bytes before the payload.
pub(super) const HEADER_LEN: usize = 48;
/// Bytes after the payload.
pub(super) const TRAILER_LEN: usize = 4;
/// Header bytes covered by the header checksum.
const HEADER_FIELDS_LEN: usize = 44;

/// The decoded header of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    /// Records in the frame.
    pub(super) count: u32,
    /// Length of the payload once decompressed.
    pub(super) raw_len: u32,
    /// Length of the compressed payload on disk.
    pub(super) payload_len: u32,
    /// Index of the first record in the log.
    pub(super) first_record: u64,
    /// Block of the first record.
    pub(super) first_block: BlockNum,
    /// Block of the last record.
    pub(super) last_block: BlockNum,
}

impl FrameHeader {
    /// Bytes the whole frame takes on disk.
    pub(super) fn frame_len(&self) -> u64 {
        (HEADER_LEN + TRAILER_LEN) as u64 + u64::from(self.payload_len)
    }

    /// Index one past the frame's last record.
    pub(super) fn end_record(&self) -> u64 {
        self.first_record + u64::from(self.count)
    }

    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&VERSION.to_le_bytes());
        b[6..8].copy_from_slice(&0u16.to_le_bytes());
        b[8..12].copy_from_slice(&self.count.to_le_bytes());
        b[12..16].copy_from_slice(&self.raw_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.payload_len.to_le_bytes());
        b[20..28].copy_from_slice(&self.first_record.to_le_bytes());
        b[28..36].copy_from_slice(&self.first_block.to_le_bytes());
        b[36..44].copy_from_slice(&self.last_block.to_le_bytes());
        let crc = crc32fast::hash(&b[..HEADER_FIELDS_LEN]);
        b[44..48].copy_from_slice(&crc.to_le_bytes());
        b
    }
}

/// Why 48 bytes are not a usable frame header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HeaderError {
    /// Not a frame at all (wrong magic or header checksum): garbage or a torn write.
    Invalid(String),
    /// A well-formed header this build cannot read: never cut as a torn tail.
    Unsupported(String),
}

/// Parses and checks a header.
pub(super) fn parse_header(b: &[u8; HEADER_LEN]) -> Result<FrameHeader, HeaderError> {
    if b[0..4] != MAGIC {
        return Err(HeaderError::Invalid("no frame magic".into()));
    }
    let stored = u32_at(b, 44);
    let computed = crc32fast::hash(&b[..HEADER_FIELDS_LEN]);
    if stored != computed {
        return Err(HeaderError::Invalid(format!(
            "header checksum mismatch (stored {stored:08x}, computed {computed:08x})"
        )));
    }
    let version = u16::from_le_bytes([b[4], b[5]]);
    let flags = u16::from_le_bytes([b[6], b[7]]);
    if version != VERSION || flags != 0 {
        return Err(HeaderError::Unsupported(format!(
            "frame format version {version} flags {flags:#x}; this build reads version {VERSION} \
             flags 0 (was the log written by a newer honeygraph?)"
        )));
    }
    let header = FrameHeader {
        count: u32_at(b, 8),
        raw_len: u32_at(b, 12),
        payload_len: u32_at(b, 16),
        first_record: u64_at(b, 20),
        first_block: u64_at(b, 28),
        last_block: u64_at(b, 36),
    };
    if header.count == 0 || header.first_block > header.last_block {
        // The checksum matched, so this was written like this: a bug, not a torn write.
        return Err(HeaderError::Unsupported(format!(
            "frame header is inconsistent: {} records, blocks {}..={}",
            header.count, header.first_block, header.last_block
        )));
    }
    if header
        .first_record
        .checked_add(u64::from(header.count))
        .is_none()
    {
        return Err(HeaderError::Unsupported(format!(
            "frame header record index {} overflows",
            header.first_record
        )));
    }
    Ok(header)
}

/// The frame checksum of a header and its payload.
pub(super) fn frame_crc(header: &[u8; HEADER_LEN], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header);
    h.update(payload);
    h.finalize()
}

/// Why records cannot be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EncodeError {
    /// The batch does not fit the frame's 32-bit length fields.
    TooLarge(String),
    /// zstd failed.
    Compress(String),
}

/// Encodes `records` (non-empty, in chain order) as one complete frame.
pub(super) fn encode_frame(
    records: &[LogRecord],
    first_record: u64,
    zstd_level: i32,
) -> Result<(FrameHeader, Vec<u8>), EncodeError> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Err(EncodeError::TooLarge("an empty batch has no frame".into()));
    };
    let count = u32::try_from(records.len())
        .map_err(|_| EncodeError::TooLarge(format!("{} records in one batch", records.len())))?;
    let mut raw = Vec::new();
    for r in records {
        encode_record(r, &mut raw);
    }
    let raw_len = u32::try_from(raw.len())
        .map_err(|_| EncodeError::TooLarge(format!("{} bytes of records", raw.len())))?;
    let payload =
        zstd::bulk::compress(&raw, zstd_level).map_err(|e| EncodeError::Compress(e.to_string()))?;
    let payload_len = u32::try_from(payload.len())
        .map_err(|_| EncodeError::TooLarge(format!("{} compressed bytes", payload.len())))?;
    let header = FrameHeader {
        count,
        raw_len,
        payload_len,
        first_record,
        first_block: first.block(),
        last_block: last.block(),
    };
    let header_bytes = header.to_bytes();
    let crc = frame_crc(&header_bytes, &payload);
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len() + TRAILER_LEN);
    frame.extend_from_slice(&header_bytes);
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(&crc.to_le_bytes());
    Ok((header, frame))
}

/// Checks the frame checksum and decodes every record of a frame whose
/// header was already parsed. `header_bytes`, `payload` and `trailer` are
/// the frame's three parts as read from disk. Records are decoded into
/// those `spares` holds while it has any. Errors are worded for an
/// operator; the caller adds file and offset. (Readers do these steps
/// apart, keeping buffers from frame to frame.)
#[cfg(test)]
pub(super) fn decode_frame(
    header: &FrameHeader,
    header_bytes: &[u8; HEADER_LEN],
    payload: &[u8],
    trailer: [u8; TRAILER_LEN],
    spares: &mut Spares,
) -> Result<Vec<LogRecord>, String> {
    let mut raw = Vec::new();
    let mut unzip = Unzip::new()?;
    open_frame(header, header_bytes, payload, trailer, &mut unzip, &mut raw)?;
    decode_records(header, &raw, spares)
}

/// Decodes every record of `raw`, the opened payload of the frame `header`
/// heads (see [`open_frame`]), into records taken from `spares`.
pub(super) fn decode_records(
    header: &FrameHeader,
    raw: &[u8],
    spares: &mut Spares,
) -> Result<Vec<LogRecord>, String> {
    let mut frame = FrameRecords::new(header, raw);
    let mut records = Vec::with_capacity(header.count as usize);
    while !frame.is_done() {
        let mut record = spares.any();
        frame.decode_into(&mut record, spares)?;
        records.push(record);
    }
    Ok(records)
}

/// A zstd decompression context, kept for the frames of a read.
pub(super) struct Unzip(zstd::bulk::Decompressor<'static>);

impl Unzip {
    /// A new context.
    pub(super) fn new() -> Result<Self, String> {
        zstd::bulk::Decompressor::new()
            .map(Unzip)
            .map_err(|e| format!("no zstd decompression context: {e}"))
    }
}

/// Checks the frame checksum of a frame whose header was already parsed
/// (its three parts as read from disk) and decompresses its payload into
/// `raw`, replacing what `raw` held.
pub(super) fn open_frame(
    header: &FrameHeader,
    header_bytes: &[u8; HEADER_LEN],
    payload: &[u8],
    trailer: [u8; TRAILER_LEN],
    unzip: &mut Unzip,
    raw: &mut Vec<u8>,
) -> Result<(), String> {
    let stored = u32::from_le_bytes(trailer);
    let computed = frame_crc(header_bytes, payload);
    if stored != computed {
        return Err(format!(
            "frame checksum mismatch (stored {stored:08x}, computed {computed:08x})"
        ));
    }
    raw.clear();
    raw.reserve(header.raw_len as usize);
    unzip
        .0
        .decompress_to_buffer(payload, raw)
        .map_err(|e| format!("frame payload does not decompress: {e}"))?;
    if raw.len() != header.raw_len as usize {
        return Err(format!(
            "frame payload decompresses to {} bytes, header says {}",
            raw.len(),
            header.raw_len
        ));
    }
    Ok(())
}

/// The records of an opened frame, decoded one at a time, each checked as
/// it comes: blocks in order and inside the header's range, the first and
/// last at the header's blocks, no bytes after the last.
pub(super) struct FrameRecords<'a> {
    header: &'a FrameHeader,
    decoder: RecordDecoder<'a>,
    decoded: u32,
    previous_block: BlockNum,
}

impl<'a> FrameRecords<'a> {
    /// The records of `raw`, the payload of the frame `header` heads.
    pub(super) fn new(header: &'a FrameHeader, raw: &'a [u8]) -> Self {
        FrameRecords {
            header,
            decoder: RecordDecoder::new(raw),
            decoded: 0,
            previous_block: header.first_block,
        }
    }

    /// Whether every record was decoded.
    pub(super) fn is_done(&self) -> bool {
        self.decoded >= self.header.count
    }

    /// Records decoded so far.
    pub(super) fn decoded(&self) -> u32 {
        self.decoded
    }

    /// Decodes the next record into `slot` (see
    /// [`RecordDecoder::decode_into`]). The last one's error may be about
    /// the frame as a whole.
    pub(super) fn decode_into(
        &mut self,
        slot: &mut LogRecord,
        spares: &mut Spares,
    ) -> Result<(), String> {
        let i = self.decoded;
        let header = self.header;
        self.decoder
            .decode_into(slot, spares)
            .map_err(|e| format!("record {i} of the frame does not decode: {}", e.0))?;
        self.decoded += 1;
        let block = slot.block();
        if block < self.previous_block || block > header.last_block {
            return Err(format!(
                "record {i} of the frame is at block {block}, outside the frame's order \
                 (previous {}, frame ends at {})",
                self.previous_block, header.last_block
            ));
        }
        let not_spanned = || {
            format!(
                "frame records do not span the header's blocks {}..={}",
                header.first_block, header.last_block
            )
        };
        if i == 0 && block != header.first_block {
            return Err(not_spanned());
        }
        self.previous_block = block;
        if self.is_done() {
            if !self.decoder.is_empty() {
                return Err(format!(
                    "frame payload has bytes after its {} records",
                    header.count
                ));
            }
            if block != header.last_block {
                return Err(not_spanned());
            }
        }
        Ok(())
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockRef;

    fn end(num: u64) -> LogRecord {
        LogRecord::BlockEnd(BlockRef {
            num,
            id: format!("{num:08x}{}", "0".repeat(32)),
            timestamp: "2025-07-08T23:09:27".into(),
        })
    }

    fn split(frame: &[u8]) -> ([u8; HEADER_LEN], &[u8], [u8; TRAILER_LEN]) {
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&frame[..HEADER_LEN]);
        let mut t = [0u8; TRAILER_LEN];
        t.copy_from_slice(&frame[frame.len() - TRAILER_LEN..]);
        (h, &frame[HEADER_LEN..frame.len() - TRAILER_LEN], t)
    }

    #[test]
    fn frame_round_trips() {
        let records = vec![end(5), end(5), end(9)];
        let (header, bytes) = encode_frame(&records, 7, 3).expect("encodes");
        assert_eq!(bytes.len() as u64, header.frame_len());
        let (h, payload, t) = split(&bytes);
        assert_eq!(parse_header(&h), Ok(header));
        assert_eq!(header.first_record, 7);
        assert_eq!(header.end_record(), 10);
        assert_eq!((header.first_block, header.last_block), (5, 9));
        assert_eq!(
            decode_frame(&header, &h, payload, t, &mut Spares::default()),
            Ok(records)
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let (header, bytes) = encode_frame(&[end(1), end(2)], 0, 3).expect("encodes");
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                let (h, payload, t) = split(&bad);
                let ok = match parse_header(&h) {
                    Ok(parsed) => {
                        parsed == header
                            && decode_frame(&parsed, &h, payload, t, &mut Spares::default()).is_ok()
                    }
                    Err(_) => false,
                };
                assert!(!ok, "flip of bit {bit} in byte {i} went unnoticed");
            }
        }
    }

    #[test]
    fn a_newer_version_is_unsupported_not_garbage() {
        let (_, bytes) = encode_frame(&[end(1)], 0, 3).expect("encodes");
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&bytes[..HEADER_LEN]);
        h[4] = 2;
        let crc = crc32fast::hash(&h[..HEADER_FIELDS_LEN]);
        h[44..48].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(parse_header(&h), Err(HeaderError::Unsupported(_))));
    }
}
