//! The in-memory index of frames, kept sparse so memory stays small.
//!
//! An entry covers a run of consecutive frames inside one segment, at most
//! `span` bytes long (a frame is never split, so an entry may exceed it by
//! one frame). Lookups binary-search the entries, then walk the few frame
//! headers inside one entry on disk. With the default span of 256 KiB a
//! 64 MiB segment costs about 256 entries, however small its frames are.

use crate::block::BlockNum;
use crate::log::frame::FrameHeader;

/// A run of frames in one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IndexEntry {
    /// Position of the segment in the log's segment list.
    pub(super) segment: usize,
    /// Byte offset of the run's first frame in the segment.
    pub(super) offset: u64,
    /// Bytes the run covers.
    pub(super) len: u64,
    /// Index of the run's first record.
    pub(super) first_record: u64,
    /// Records in the run.
    pub(super) records: u64,
    /// Block of the run's last record.
    pub(super) last_block: BlockNum,
}

impl IndexEntry {
    /// Index one past the run's last record.
    pub(super) fn end_record(&self) -> u64 {
        self.first_record + self.records
    }
}

/// Sparse frame index.
#[derive(Debug, Clone)]
pub(super) struct FrameIndex {
    entries: Vec<IndexEntry>,
    span: u64,
}

impl FrameIndex {
    /// An empty index whose entries cover up to `span` bytes each.
    pub(super) fn new(span: u64) -> Self {
        FrameIndex {
            entries: Vec::new(),
            span,
        }
    }

    /// Adds the frame at `offset` of segment `segment` (frames must be added in log order).
    pub(super) fn push(&mut self, segment: usize, offset: u64, header: &FrameHeader) {
        let frame_len = header.frame_len();
        if let Some(last) = self.entries.last_mut() {
            if last.segment == segment && last.len < self.span && last.offset + last.len == offset {
                last.len += frame_len;
                last.records += u64::from(header.count);
                last.last_block = header.last_block;
                return;
            }
        }
        self.entries.push(IndexEntry {
            segment,
            offset,
            len: frame_len,
            first_record: header.first_record,
            records: u64::from(header.count),
            last_block: header.last_block,
        });
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry at position `i`.
    pub(super) fn get(&self, i: usize) -> Option<&IndexEntry> {
        self.entries.get(i)
    }

    /// Position of the entry holding record `record`, if any.
    pub(super) fn find_record(&self, record: u64) -> Option<usize> {
        let i = self.entries.partition_point(|e| e.end_record() <= record);
        (i < self.entries.len()).then_some(i)
    }

    /// Position of the first entry whose last block is `>= block`, if any:
    /// every record before it is at a lower block.
    pub(super) fn find_block_at_least(&self, block: BlockNum) -> Option<usize> {
        let i = self.entries.partition_point(|e| e.last_block < block);
        (i < self.entries.len()).then_some(i)
    }

    /// Position of the first entry whose last block is `> block`, if any.
    pub(super) fn find_block_above(&self, block: BlockNum) -> Option<usize> {
        let i = self.entries.partition_point(|e| e.last_block <= block);
        (i < self.entries.len()).then_some(i)
    }

    /// Drops entry `i` and every later one.
    pub(super) fn truncate(&mut self, i: usize) {
        self.entries.truncate(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first_record: u64, count: u32, first_block: u64, last_block: u64) -> FrameHeader {
        FrameHeader {
            count,
            raw_len: 10,
            payload_len: 48,
            first_record,
            first_block,
            last_block,
        }
    }

    #[test]
    fn runs_merge_up_to_the_span_and_never_across_segments() {
        let mut index = FrameIndex::new(200);
        // Each frame is 100 bytes on disk.
        index.push(0, 0, &header(0, 2, 1, 2));
        index.push(0, 100, &header(2, 2, 2, 3));
        index.push(0, 200, &header(4, 1, 5, 5));
        index.push(1, 0, &header(5, 3, 6, 8));
        assert_eq!(index.len(), 3);
        assert_eq!(
            index.get(0).map(|e| (e.records, e.len, e.last_block)),
            Some((4, 200, 3))
        );
        assert_eq!(index.find_record(3), Some(0));
        assert_eq!(index.find_record(4), Some(1));
        assert_eq!(index.find_record(7), Some(2));
        assert_eq!(index.find_record(8), None);
        assert_eq!(index.find_block_at_least(3), Some(0));
        assert_eq!(index.find_block_above(3), Some(1));
        assert_eq!(index.find_block_above(8), None);
    }

    #[test]
    fn span_zero_keeps_one_entry_per_frame() {
        let mut index = FrameIndex::new(0);
        index.push(0, 0, &header(0, 1, 1, 1));
        index.push(0, 100, &header(1, 1, 1, 1));
        assert_eq!(index.len(), 2);
    }
}
