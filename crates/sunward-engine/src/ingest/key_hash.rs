//! Hashing a row's unique key: the typed values it is hashed from
//! ([`KeyPart`]), the 128-bit hash, and the part of it the seen-key tables
//! keep ([`SeenHash`], hashed no further by [`PassThrough`]).

use std::hash::{Hash, Hasher};

/// A typed value borrowed from a [`Typed`](super::values::Typed) or from an Arrow array: what a unique key is hashed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum KeyPart<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Date(i32),
    Bool(bool),
    Time(i64),
}

impl KeyPart<'_> {
    pub(super) fn hash_into(&self, h: &mut impl Hasher) {
        match self {
            KeyPart::Null => 0u8.hash(h),
            KeyPart::Str(s) => (1u8, s).hash(h),
            KeyPart::Int(i) => (2u8, i).hash(h),
            KeyPart::Float(x) => (3u8, x.to_bits()).hash(h),
            KeyPart::Date(d) => (4u8, d).hash(h),
            KeyPart::Bool(b) => (5u8, b).hash(h),
            KeyPart::Time(t) => (6u8, t).hash(h),
        }
    }
}

/// A 128-bit hash of a key's values (two SipHash passes with different salts).
pub(super) fn key_hash<'a>(parts: impl Iterator<Item = KeyPart<'a>> + Clone) -> u128 {
    let pass = |salt: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        for p in parts.clone() {
            p.hash_into(&mut h);
        }
        h.finish()
    };
    (u128::from(pass(0x5EED_0001)) << 64) | u128::from(pass(0x5EED_0002))
}

/// The kept part of a 128-bit key hash: 96 of its bits (two different keys
/// among 100 million collide with a chance of about one in 10^13). The
/// hashes are spread uniformly already, so the tables that hold them hash
/// them no further: they take the low 64 bits ([`PassThrough`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SeenHash(pub(super) u64, pub(super) u32);

impl From<u128> for SeenHash {
    fn from(h: u128) -> Self {
        SeenHash(h as u64, (h >> 96) as u32)
    }
}

impl Hash for SeenHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// A row number as the seen-key table keeps it; beyond 32 bits, "unknown".
pub(super) fn stored_place(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A hasher for keys that are hashes: the last 64 bits written are the hash.
#[derive(Default)]
pub(super) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}
