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

/// The most bytes [`room_for`] reserves for one buffer: a batch far
/// larger than usual does not make the next ones reserve as much.
const MOST_RESERVED_BYTES: usize = 64 << 20;

/// What to reserve for a buffer the last batch filled to `used`: an eighth
/// more (a slightly larger batch then does not grow it), at most `most`.
pub(crate) fn room_after(used: usize, most: usize) -> usize {
    used.saturating_add(used / 8).min(most)
}

/// [`room_after`] for a buffer of `T`s, at most [`MOST_RESERVED_BYTES`] bytes of them.
pub(crate) fn room_for<T>(used: usize) -> usize {
    room_after(used, MOST_RESERVED_BYTES / std::mem::size_of::<T>().max(1))
}

/// A key's first eight bytes (zero-padded) as a number that orders as the
/// key does, as far as those bytes go: sorts compare it before the key.
pub(crate) fn key_prefix(key: &[u8]) -> u64 {
    let mut prefix = [0u8; 8];
    let head = &key[..key.len().min(8)];
    prefix[..head.len()].copy_from_slice(head);
    u64::from_be_bytes(prefix)
}

impl Deferred {
    /// Empty, with [`room_for`] `room` reserved up front.
    pub(crate) fn with_room(room: Room) -> Self {
        Deferred {
            bytes: Vec::with_capacity(room_for::<u8>(room.bytes)),
            entries: Vec::with_capacity(room_for::<(usize, usize, usize)>(room.pairs)),
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

    /// Bytes it takes: keys, values and their entries.
    pub(crate) fn held_bytes(&self) -> usize {
        self.bytes.len() + self.entries.len() * std::mem::size_of::<(usize, usize, usize)>()
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

    /// Like [`Deferred::sort`], faster for many pairs with random keys: it
    /// sorts copies of the keys' first eight bytes next to the entries, so
    /// most comparisons never read the buffer. The pairs are then copied
    /// into a new buffer in key order: read in order from the old one,
    /// each would be a cache miss, and the loop writing them to LMDB is
    /// too long for the processor to overlap those misses, where this copy
    /// loop is short enough to.
    pub(crate) fn sort_by_key_prefix(&mut self) {
        let bytes = &self.bytes;
        let key = |start: usize, key_len: usize| &bytes[start..start + key_len];
        let mut prefixed: Vec<(u64, (usize, usize, usize))> = self
            .entries
            .iter()
            .map(|&(start, key_len, value_len)| {
                (key_prefix(key(start, key_len)), (start, key_len, value_len))
            })
            .collect();
        prefixed.sort_unstable_by(|(pa, a), (pb, b)| {
            pa.cmp(pb)
                .then_with(|| key(a.0, a.1).cmp(key(b.0, b.1)))
                .then(a.0.cmp(&b.0))
        });
        let mut laid_out = Vec::with_capacity(self.bytes.len());
        for (entry, (_, (start, key_len, value_len))) in self.entries.iter_mut().zip(prefixed) {
            *entry = (laid_out.len(), key_len, value_len);
            laid_out.extend_from_slice(&self.bytes[start..start + key_len + value_len]);
        }
        self.bytes = laid_out;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_room_is_an_eighth_more_than_asked_and_bounded() {
        let mut used = Deferred::default();
        for i in 0u32..1000 {
            used.push(&i.to_be_bytes(), b"value");
        }
        let next = Deferred::with_room(used.room());
        assert!(next.bytes.capacity() >= 9000 + 9000 / 8);
        assert!(next.entries.capacity() >= 1000 + 1000 / 8);

        let huge = Deferred::with_room(Room {
            pairs: usize::MAX,
            bytes: usize::MAX,
        });
        assert!(huge.bytes.capacity() <= MOST_RESERVED_BYTES);
        assert!(huge.entries.capacity() * 3 * std::mem::size_of::<usize>() <= MOST_RESERVED_BYTES);
    }

    #[test]
    fn pairs_come_out_in_key_order_with_later_writes_of_a_key_last() {
        let mut rows = Deferred::default();
        rows.push(b"b", b"1");
        rows.push(b"a", b"2");
        rows.push(b"b", b"3");
        let sorted: Vec<(Vec<u8>, Vec<u8>)> = rows
            .sorted()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(
            sorted,
            [
                (b"a".to_vec(), b"2".to_vec()),
                (b"b".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"3".to_vec()),
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn the_prefix_sort_orders_as_the_plain_sort_does(
            pairs in proptest::collection::vec(
                (proptest::collection::vec(0u8..4, 0..12), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3)),
                0..64,
            )
        ) {
            let (mut plain, mut prefixed) = (Deferred::default(), Deferred::default());
            for (key, value) in &pairs {
                plain.push(key, value);
                prefixed.push(key, value);
            }
            plain.sort();
            prefixed.sort_by_key_prefix();
            let order = |rows: &Deferred| rows.pairs().map(|(k, v)| (k.to_vec(), v.to_vec())).collect::<Vec<_>>();
            proptest::prop_assert_eq!(order(&plain), order(&prefixed));
        }
    }
}
