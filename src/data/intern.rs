//! Numbering ids as they are read, without allocating for ids already seen.
//!
//! Reading a long file is dominated by looking up the examinee and item of
//! every row. Two things keep that cheap: the previous id is remembered
//! (logs are usually grouped by model, so the examinee rarely changes), and
//! lookups use [`FastHash`] rather than SipHash, which took a third of the
//! reading time. The keys come from a file being read, not from a network
//! peer, so SipHash's protection against chosen collisions buys nothing here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::{Error, Result};

use super::read::id_text;

/// Multiply-rotate hashing, one 64-bit word at a time (the scheme of
/// rustc's FxHash): `h = (rotl(h, 5) ^ word) * K`, with a final fold of the
/// high bits into the low ones.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

/// A `HashMap` hasher builder for [`FastHasher`].
pub(crate) type FastHash = BuildHasherDefault<FastHasher>;

impl FastHasher {
    // An odd constant with well-mixed bits (from FxHash).
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits depending only on the low bits of
        // the input, and hashbrown picks buckets with the low bits: ids like
        // "70", "71", .. would pile up by their first character. Folding the
        // well-mixed high half down spreads them.
        let h = self.hash;
        (h ^ (h >> 32)).wrapping_mul(Self::K) ^ (h >> 29)
    }
}

/// Numbers ids in order of first appearance, looking them up by raw bytes.
#[derive(Default)]
pub(crate) struct Interner {
    index: HashMap<Box<[u8]>, u32, FastHash>,
    /// The ids, by number.
    pub(crate) ids: Vec<String>,
    /// The bytes and number of the id looked up last.
    last: Option<(Vec<u8>, u32)>,
}

impl Interner {
    /// The number of the id in `field` (trimmed), adding it if new. `what`
    /// and `line` name it in errors (an empty or non-UTF-8 id).
    pub(crate) fn intern(&mut self, field: &[u8], what: &str, line: u64) -> Result<u32> {
        let key = field.trim_ascii();
        if let Some((bytes, k)) = &self.last {
            if bytes.as_slice() == key {
                return Ok(*k);
            }
        }
        let k = match self.index.get(key) {
            Some(&k) => k,
            None => {
                let text = id_text(key, what, line)?;
                let k = u32::try_from(self.ids.len()).map_err(|_| {
                    Error::value(format!("more than {} {what}s", u32::MAX)).at_line(line)
                })?;
                self.ids.push(text.to_owned());
                self.index.insert(key.into(), k);
                k
            }
        };
        let (bytes, last) = self.last.get_or_insert_with(|| (Vec::new(), 0));
        bytes.clear();
        bytes.extend_from_slice(key);
        *last = k;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn interner_numbers_in_order_of_first_appearance() {
        let mut ids = Interner::default();
        assert_eq!(ids.intern(b"b", "item", 2).unwrap(), 0);
        assert_eq!(ids.intern(b"b", "item", 3).unwrap(), 0);
        assert_eq!(ids.intern(b" a", "item", 4).unwrap(), 1);
        assert_eq!(ids.intern(b"b ", "item", 5).unwrap(), 0);
        assert_eq!(ids.intern(b"a", "item", 6).unwrap(), 1);
        assert_eq!(ids.ids, ["b", "a"]);
        let e = ids.intern(b"  ", "item", 7).unwrap_err();
        assert_eq!(e.line(), Some(7));
        let e = ids.intern(b"\xff", "item", 8).unwrap_err();
        assert_eq!(e.line(), Some(8));
    }

    #[test]
    fn fast_hash_spreads_numeric_ids_over_buckets() {
        // Ids "0".."4095" into 4096 buckets by the low 12 bits, as hashbrown
        // does: a good hash fills about 1 - 1/e = 63% of them.
        let h = FastHash::default();
        let buckets: std::collections::HashSet<u64> = (0..4096)
            .map(|i| h.hash_one(i.to_string().as_bytes()) & 4095)
            .collect();
        assert!(buckets.len() > 2300, "{} buckets used", buckets.len());
    }

    #[test]
    fn fast_hash_separates_ids_that_share_a_prefix() {
        let h = FastHash::default();
        let ids = [
            "",
            "q",
            "q1",
            "q10",
            "q1\0",
            "model-a",
            "model-b",
            "0123456789abcdef0",
        ];
        let hashes: std::collections::HashSet<u64> =
            ids.iter().map(|s| h.hash_one(s.as_bytes())).collect();
        assert_eq!(hashes.len(), ids.len());
    }
}
