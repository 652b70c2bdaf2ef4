//! Byte layouts of the projection's keys and values.
//!
//! Keys sort the way they are scanned (big-endian numbers); values are small
//! fixed or length-prefixed records (little-endian numbers, strings as u32 LE
//! length then UTF-8 bytes, or varints where noted). Nothing here allocates
//! except decoded strings.

use crate::block::BlockNum;
use crate::contract::{Outcome, PowerDown};
use crate::projection::AccountState;

/// Why stored bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) &'static str);

/// The error for `what`, stored in the environment at `path`, that failed to decode.
pub(crate) fn corrupt(
    path: &std::path::Path,
    what: &str,
    e: DecodeError,
) -> crate::error::StateError {
    crate::error::StateError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("{what}: {}", e.0),
    }
}

/// Key of a transfer: block, transaction index, operation index (16 bytes).
pub(crate) const TRANSFER_KEY_LEN: usize = 16;

pub(crate) fn transfer_key(
    block: BlockNum,
    trx_index: u32,
    op_index: u32,
) -> [u8; TRANSFER_KEY_LEN] {
    let mut key = [0u8; TRANSFER_KEY_LEN];
    key[..8].copy_from_slice(&block.to_be_bytes());
    key[8..12].copy_from_slice(&trx_index.to_be_bytes());
    key[12..].copy_from_slice(&op_index.to_be_bytes());
    key
}

pub(crate) fn decode_transfer_key(key: &[u8]) -> Result<(BlockNum, u32, u32), DecodeError> {
    let key: &[u8; TRANSFER_KEY_LEN] = key
        .try_into()
        .map_err(|_| DecodeError("transfer key length"))?;
    Ok(transfer_key_parts(key))
}

/// The block, transaction index and operation index of a transfer key.
pub(crate) fn transfer_key_parts(key: &[u8; TRANSFER_KEY_LEN]) -> (BlockNum, u32, u32) {
    let [b0, b1, b2, b3, b4, b5, b6, b7, t0, t1, t2, t3, o0, o1, o2, o3] = *key;
    (
        BlockNum::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        u32::from_be_bytes([t0, t1, t2, t3]),
        u32::from_be_bytes([o0, o1, o2, o3]),
    )
}

/// `account \0 transfer-key`: the key of a chunk of the per-account
/// transfer index, by its first entry (see `transfer_chunks`).
pub(crate) fn account_transfer_key(out: &mut Vec<u8>, account: &str, transfer_key: &[u8]) {
    out.clear();
    out.extend_from_slice(account.as_bytes());
    out.push(0);
    out.extend_from_slice(transfer_key);
}

/// Direction of an entry of the per-account transfer index: the account sent it.
pub(crate) const SENT: u8 = 1;
/// The account received it; see [`SENT`].
pub(crate) const RECEIVED: u8 = 2;

/// The account of an account-transfer index key, and the block of its
/// chunk's first entry.
pub(crate) fn decode_account_transfer_key(key: &[u8]) -> Result<(&str, BlockNum), DecodeError> {
    let split = key
        .len()
        .checked_sub(TRANSFER_KEY_LEN + 1)
        .ok_or(DecodeError("account transfer key length"))?;
    let (name, rest) = key.split_at(split);
    if rest[0] != 0 {
        return Err(DecodeError("account transfer key separator"));
    }
    let (block, _, _) = decode_transfer_key(&rest[1..])?;
    let name =
        std::str::from_utf8(name).map_err(|_| DecodeError("account transfer key is not UTF-8"))?;
    Ok((name, block))
}

/// `from \0 to`: a grant.
pub(crate) fn grant_key(out: &mut Vec<u8>, from: &str, to: &str) {
    out.clear();
    out.extend_from_slice(from.as_bytes());
    out.push(0);
    out.extend_from_slice(to.as_bytes());
}

/// `block BE || account`: an installment due.
pub(crate) fn due_key(out: &mut Vec<u8>, block: BlockNum, account: &str) {
    out.clear();
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(account.as_bytes());
}

pub(crate) fn decode_due_key(key: &[u8]) -> Result<(BlockNum, String), DecodeError> {
    let mut reader = Reader::new(key);
    let block = reader.u64_be()?;
    let account =
        std::str::from_utf8(reader.rest()).map_err(|_| DecodeError("due account is not UTF-8"))?;
    Ok((block, account.to_string()))
}

/// `(u128::MAX - (balance + power)) BE || account`: richest first, ties by name.
pub(crate) fn rich_key(out: &mut Vec<u8>, holding: u128, account: &str) {
    out.clear();
    out.extend_from_slice(&(u128::MAX - holding).to_be_bytes());
    out.extend_from_slice(account.as_bytes());
}

pub(crate) fn decode_rich_key(key: &[u8]) -> Result<&str, DecodeError> {
    let name = key.get(16..).ok_or(DecodeError("rich-list key length"))?;
    std::str::from_utf8(name).map_err(|_| DecodeError("rich-list account is not UTF-8"))
}

/// Key of a transaction in the transaction index: 40-hex ids (all of
/// Hive's) are stored as their 20 bytes; any other id as tag, length and
/// bytes, hashed when too long for an LMDB key.
pub(crate) fn trx_key(out: &mut Vec<u8>, trx_id: &str) {
    trx_key_of(out, StoredTrxId::of(trx_id));
}

/// [`trx_key`] of an id already sorted into its stored form.
pub(crate) fn trx_key_of(out: &mut Vec<u8>, trx_id: StoredTrxId<'_>) {
    out.clear();
    match trx_id {
        StoredTrxId::Hex(raw) => {
            out.push(0);
            out.extend_from_slice(&raw);
        }
        StoredTrxId::Text(text) if text.len() <= 255 => {
            out.push(1);
            out.push(text.len() as u8);
            out.extend_from_slice(text.as_bytes());
        }
        StoredTrxId::Text(text) => {
            out.push(2);
            out.extend_from_slice(blake3::hash(text.as_bytes()).as_bytes());
        }
    }
}

/// A transaction id in the form it is stored in: its 20 bytes when it is
/// 40 lowercase hex characters (all of Hive's ids), else its text. An
/// operation's index key, transfer and outcome all store it: working the
/// form out once saves two decodings per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredTrxId<'a> {
    /// The id's bytes.
    Hex([u8; 20]),
    /// Any other id, as it is.
    Text(&'a str),
}

impl<'a> StoredTrxId<'a> {
    pub(crate) fn of(trx_id: &'a str) -> Self {
        let mut raw = [0u8; 20];
        if hex_trx_id(trx_id, &mut raw) {
            StoredTrxId::Hex(raw)
        } else {
            StoredTrxId::Text(trx_id)
        }
    }
}

/// Each byte's value as a lowercase hex digit, or `NOT_HEX`.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        let digit = if i < 10 { b'0' + i } else { b'a' + i - 10 };
        table[digit as usize] = i;
        i += 1;
    }
    table
};

/// A byte that is not a lowercase hex digit: the only value in
/// [`HEX_DIGITS`] with its high bit set.
const NOT_HEX: u8 = 0xFF;

/// True when `trx_id` is 40 lowercase hex characters, whose bytes are then
/// in `raw` (which holds nothing useful otherwise).
fn hex_trx_id(trx_id: &str, raw: &mut [u8; 20]) -> bool {
    if trx_id.len() != 40 {
        return false;
    }
    // Called for nearly every operation on random-looking digits: a table and no
    // branch per digit, which the processor could not predict (a branch
    // per digit took about a tenth of the contract's thread in a replay).
    let mut seen = 0u8;
    for (out, pair) in raw.iter_mut().zip(trx_id.as_bytes().chunks_exact(2)) {
        let (high, low) = (
            HEX_DIGITS[usize::from(pair[0])],
            HEX_DIGITS[usize::from(pair[1])],
        );
        seen |= high | low;
        *out = (high << 4) | low;
    }
    seen & 0x80 == 0
}

/// Value of the transaction index: where the transaction's operations start
/// (block BE, trx index BE), the prefix of their outcome keys.
pub(crate) fn trx_position(block: BlockNum, trx_index: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&block.to_be_bytes());
    out[8..].copy_from_slice(&trx_index.to_be_bytes());
    out
}

/// A transaction id in a value: tag 0 and 20 bytes for a 40-hex id, else
/// tag 1 and the string.
fn put_trx_id(out: &mut Vec<u8>, trx_id: StoredTrxId<'_>) {
    match trx_id {
        StoredTrxId::Hex(raw) => {
            out.push(0);
            out.extend_from_slice(&raw);
        }
        StoredTrxId::Text(text) => {
            out.push(1);
            put_str(out, text);
        }
    }
}

pub(crate) const ACCOUNT_LEN: usize = 32;

pub(crate) fn encode_account(state: &AccountState) -> [u8; ACCOUNT_LEN] {
    let mut out = [0u8; ACCOUNT_LEN];
    for (chunk, figure) in out.chunks_exact_mut(8).zip([
        state.balance,
        state.power,
        state.granted_in,
        state.granted_out,
    ]) {
        chunk.copy_from_slice(&figure.to_le_bytes());
    }
    out
}

pub(crate) fn decode_account(bytes: &[u8]) -> Result<AccountState, DecodeError> {
    if bytes.len() != ACCOUNT_LEN {
        return Err(DecodeError("account record length"));
    }
    let mut reader = Reader::new(bytes);
    Ok(AccountState {
        balance: reader.u64_le()?,
        power: reader.u64_le()?,
        granted_in: reader.u64_le()?,
        granted_out: reader.u64_le()?,
    })
}

pub(crate) fn encode_power_down(s: &PowerDown) -> [u8; 25] {
    let mut out = [0u8; 25];
    out[..8].copy_from_slice(&s.start.to_le_bytes());
    out[8..16].copy_from_slice(&s.interval.to_le_bytes());
    out[16..24].copy_from_slice(&s.amount.to_le_bytes());
    out[24] = s.paid;
    out
}

pub(crate) fn decode_power_down(bytes: &[u8]) -> Result<PowerDown, DecodeError> {
    let mut reader = Reader::new(bytes);
    let schedule = PowerDown {
        start: reader.u64_le()?,
        interval: reader.u64_le()?,
        amount: reader.u64_le()?,
        paid: reader.u8()?,
    };
    if schedule.paid >= crate::contract::power_down::INSTALLMENTS || schedule.interval == 0 {
        return Err(DecodeError("power-down record out of range"));
    }
    Ok(schedule)
}

/// Transfer value: trx_id, timestamp, from, to, amount, memo (the position is the key).
pub(crate) fn encode_transfer(
    out: &mut Vec<u8>,
    trx_id: StoredTrxId<'_>,
    timestamp: &str,
    from: &str,
    to: &str,
    amount: u64,
    memo: &str,
) {
    out.clear();
    put_trx_id(out, trx_id);
    put_str(out, timestamp);
    put_str(out, from);
    put_str(out, to);
    out.extend_from_slice(&amount.to_le_bytes());
    put_str(out, memo);
}

/// The fields of a stored transfer value.
pub(crate) struct TransferValue<'a> {
    pub(crate) trx_id: String,
    pub(crate) timestamp: &'a str,
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    pub(crate) amount: u64,
    pub(crate) memo: &'a str,
}

pub(crate) fn decode_transfer(bytes: &[u8]) -> Result<TransferValue<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    Ok(TransferValue {
        trx_id: r.trx_id()?,
        timestamp: r.str()?,
        from: r.str()?,
        to: r.str()?,
        amount: r.u64_le()?,
        memo: r.str()?,
    })
}

/// Outcome value: outcome code, trx id, name, sender flag and sender (the
/// position is the key, as for transfers).
pub(crate) fn encode_outcome(
    out: &mut Vec<u8>,
    outcome: Outcome,
    trx_id: StoredTrxId<'_>,
    name: &str,
    sender: Option<&str>,
) {
    out.clear();
    out.extend_from_slice(&outcome.code());
    put_trx_id(out, trx_id);
    put_str(out, name);
    match sender {
        Some(sender) => {
            out.push(1);
            put_str(out, sender);
        }
        None => out.push(0),
    }
}

/// The outcome of the applied `send` a transfer row records (applied
/// sends have no outcome row of their own): its sender is the sender of
/// the transfer.
pub(crate) fn outcome_of_transfer(
    key: &[u8],
    bytes: &[u8],
) -> Result<crate::projection::OpOutcome, DecodeError> {
    let (block, trx_index, op_index) = decode_transfer_key(key)?;
    let transfer = decode_transfer(bytes)?;
    Ok(crate::projection::OpOutcome {
        block,
        trx_id: transfer.trx_id,
        trx_index,
        op_index,
        name: crate::contract::rules::SEND.to_string(),
        sender: Some(transfer.from.to_string()),
        outcome: Outcome::Applied,
    })
}

pub(crate) fn decode_outcome(
    key: &[u8],
    bytes: &[u8],
) -> Result<crate::projection::OpOutcome, DecodeError> {
    let (block, trx_index, op_index) = decode_transfer_key(key)?;
    let mut r = Reader::new(bytes);
    let code = [r.u8()?, r.u8()?];
    let outcome = Outcome::from_code(code).ok_or(DecodeError("unknown outcome code"))?;
    let trx_id = r.trx_id()?;
    let name = r.str()?.to_string();
    let sender = match r.u8()? {
        0 => None,
        _ => Some(r.str()?.to_string()),
    };
    Ok(crate::projection::OpOutcome {
        block,
        trx_id,
        trx_index,
        op_index,
        name,
        sender,
        outcome,
    })
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Every string we store is far below 4 GiB (custom_json is at most 8 KiB).
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Reads fields in order, failing on short or malformed input.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(DecodeError("record too short"))?;
        self.bytes = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    fn u32_le(&mut self) -> Result<u32, DecodeError> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64_le(&mut self) -> Result<u64, DecodeError> {
        self.take().map(u64::from_le_bytes)
    }

    fn u64_be(&mut self) -> Result<u64, DecodeError> {
        self.take().map(u64::from_be_bytes)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.u32_le()? as usize;
        if self.bytes.len() < len {
            return Err(DecodeError("string runs past the record"));
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|_| DecodeError("string is not UTF-8"))
    }

    fn trx_id(&mut self) -> Result<String, DecodeError> {
        match self.u8()? {
            0 => Ok(hex::encode(self.take::<20>()?)),
            _ => Ok(self.str()?.to_string()),
        }
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Reject;

    #[test]
    fn transfer_keys_sort_by_chain_position() {
        let a = transfer_key(5, 1, 9);
        let b = transfer_key(5, 2, 0);
        let c = transfer_key(256, 0, 0);
        assert!(a < b && b < c);
        assert_eq!(decode_transfer_key(&c), Ok((256, 0, 0)));
        assert!(decode_transfer_key(&c[..15]).is_err());
    }

    #[test]
    fn rich_keys_sort_richest_first_then_by_name() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        rich_key(&mut a, 1000, "zed");
        rich_key(&mut b, 10, "abe");
        rich_key(&mut c, 10, "bob");
        assert!(a < b && b < c);
        assert_eq!(decode_rich_key(&c), Ok("bob"));
    }

    #[test]
    fn values_round_trip() {
        let state = AccountState {
            balance: 1,
            power: u64::MAX,
            granted_in: 3,
            granted_out: 4,
        };
        assert_eq!(decode_account(&encode_account(&state)), Ok(state));
        let schedule = PowerDown::new(7, 3, 99).expect("fits");
        assert_eq!(
            decode_power_down(&encode_power_down(&schedule)),
            Ok(schedule)
        );

        let mut buf = Vec::new();
        let hex_id = "0123456789abcdef0123456789abcdef01234567";
        for trx_id in ["ab", hex_id] {
            encode_transfer(
                &mut buf,
                StoredTrxId::of(trx_id),
                "2025-01-01T00:00:00",
                "alice",
                "bob",
                42,
                "héllo",
            );
            let t = decode_transfer(&buf).expect("decodes");
            assert_eq!(
                (t.trx_id.as_str(), t.from, t.to, t.amount, t.memo),
                (trx_id, "alice", "bob", 42, "héllo")
            );
            assert!(decode_transfer(&buf[..buf.len() - 1]).is_err());
        }

        let outcome = Outcome::Rejected(Reject::InsufficientPower);
        for (trx_id, sender) in [("ff", Some("carol")), (hex_id, None)] {
            encode_outcome(
                &mut buf,
                outcome,
                StoredTrxId::of(trx_id),
                "power_down",
                sender,
            );
            let o = decode_outcome(&transfer_key(9, 1, 2), &buf).expect("decodes");
            assert_eq!(
                (o.block, o.trx_index, o.op_index, o.outcome),
                (9, 1, 2, outcome)
            );
            assert_eq!(
                (o.trx_id.as_str(), o.name.as_str(), o.sender.as_deref()),
                (trx_id, "power_down", sender)
            );
        }
        assert!(decode_outcome(&[0; 15], &buf).is_err());
    }

    #[test]
    fn trx_keys_of_hex_and_other_ids_never_collide() {
        let hex_id = "ab".repeat(20);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        trx_key(&mut a, &hex_id);
        assert_eq!(a.len(), 21);
        trx_key(&mut b, &hex_id.to_uppercase());
        assert_ne!(a, b);
        trx_key(&mut b, &"x".repeat(600));
        assert_eq!(b.len(), 33);
    }

    #[test]
    fn the_hex_table_knows_exactly_the_lowercase_digits() {
        for byte in 0..=u8::MAX {
            let expected = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                _ => NOT_HEX,
            };
            assert_eq!(HEX_DIGITS[usize::from(byte)], expected, "byte {byte}");
        }
    }

    proptest::proptest! {
        /// Only 40 lowercase hex digits are stored as 20 bytes, and those
        /// bytes are the id's value.
        #[test]
        fn hex_trx_ids_decode_exactly_the_lowercase_40_digit_ones(id in "[0-9a-fA-Fg]{38,42}") {
            let mut raw = [0u8; 20];
            let lower = id.len() == 40 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            proptest::prop_assert_eq!(hex_trx_id(&id, &mut raw), lower);
            if lower {
                proptest::prop_assert_eq!(raw.to_vec(), hex::decode(&id).expect("hex"));
            }
        }

        /// Any other ASCII character anywhere makes the id text.
        #[test]
        fn an_id_with_any_non_hex_character_is_not_hex(
            digits in "[0-9a-f]{40}",
            at in 0usize..40,
            other in 0u8..128,
        ) {
            let mut id = digits.into_bytes();
            id[at] = other;
            let id = String::from_utf8(id).expect("ASCII");
            let hex = other.is_ascii_digit() || (b'a'..=b'f').contains(&other);
            let mut raw = [0u8; 20];
            proptest::prop_assert_eq!(hex_trx_id(&id, &mut raw), hex);
            if hex {
                proptest::prop_assert_eq!(raw.to_vec(), hex::decode(&id).expect("hex"));
            }
        }
    }
}
