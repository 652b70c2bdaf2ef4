//! Key-value pairs kept in one buffer until they are written, in key order
//! or in the order they came.

/// Pairs in one byte buffer; a pair costs no allocation of its own.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    bytes: Vec<u8>,
    /// (start in `bytes`, key length, value length)
    entries: Vec<(usize, usize, usize)>,
}

/// How many pairs, and bytes of keys and values, a [`Deferred`] holds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Room {
    pairs: usize,
    bytes: usize,
}

impl Deferred {
    /// Empty, with room for `room` reserved up front.
    pub(crate) fn with_room(room: Room) -> Self {
        Deferred {
            bytes: Vec::with_capacity(room.bytes),
            entries: Vec::with_capacity(room.pairs),
        }
    }

    /// What it holds.
    pub(crate) fn room(&self) -> Room {
        Room {
            pairs: self.entries.len(),
            bytes: self.bytes.len(),
        }
    }

    /// Keeps a copy of `key` and `value`.
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        self.entries
            .push((self.bytes.len(), key.len(), value.len()));
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value);
    }

    /// Whether no pair was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The pairs in key order; a later pair for the same key comes after an earlier one.
    pub(crate) fn sorted(&mut self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.sort();
        self.pairs()
    }

    /// Puts the pairs in key order (see [`Deferred::sorted`]).
    pub(crate) fn sort(&mut self) {
        let bytes = &self.bytes;
        let key = |&(start, key_len, _): &(usize, usize, usize)| &bytes[start..start + key_len];
        // Ties go by position in the buffer, which keeps the order of writes
        // to the same key (the last one wins) without a slower stable sort.
        self.entries
            .sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.0.cmp(&b.0)));
    }

    /// The pairs in their current order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let bytes = &self.bytes;
        self.entries
            .iter()
            .map(move |&(start, key_len, value_len)| {
                let key_end = start + key_len;
                (&bytes[start..key_end], &bytes[key_end..key_end + value_len])
            })
    }
}
