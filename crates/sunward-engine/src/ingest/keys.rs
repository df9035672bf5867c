//! The unique-key check, in bounded memory.
//!
//! Rows claim their key in file order; a later good row whose key is already
//! claimed is a duplicate, and its rule names the row that claimed it. While
//! the claims are few they are kept exactly: a hash table of key hashes (96
//! of their 128 bits) and row numbers, 16 bytes a claim, cut into partitions
//! that are probed on several cores. Past [`KeyMemory::exact_claims`] the
//! check changes method, so that its memory stops growing with the table:
//!
//! - every claim is appended to a **claim log** (the same 16 bytes, written
//!   to a temporary file in the staging folder), and its hash is set in a
//!   **split-block Bloom filter** (parquet's `Sbbf`, about 2 bytes a claim,
//!   at most [`KeyMemory::filter_bytes`]);
//! - a row whose key the filter has certainly not seen claims it at once;
//! - a row whose key the filter may have seen is **held**: a true duplicate,
//!   or a false positive (about 1 row in 1,700 while the filter is within
//!   its size). Held rows are decided together when the table ends (or
//!   earlier, when `on_bad_rows: fail` must know which bad row came first),
//!   by one pass over the log ([`UniqueKeys::settle`]): a held row whose key
//!   no earlier row claimed is kept, the others are duplicates.
//!
//! A held row cannot be a duplicate of a later row: once a key's bit pattern
//! is in the filter, every later row with that key is held too, so the log
//! holds at most one claim per key and every claim in it comes before every
//! held row with its key. The answer is therefore exactly the one the hash
//! table would give; only the held rows that are kept move to the end of the
//! table (row order in a table carries no meaning for its queries).

use super::key_hash::{PassThrough, SeenHash};
use datafusion::parquet::bloom_filter::Sbbf;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use sunward_core::{Diagnostic, Result};

/// How much memory the unique-key check of one table may use.
#[derive(Debug, Clone, Copy)]
pub struct KeyMemory<'a> {
    /// Claims kept exactly (about 32 bytes each with the hash table's spare
    /// room) before the filter and claim log take over; `0` starts with them.
    pub exact_claims: usize,
    /// The largest Bloom filter, in bytes (parquet caps it at 128 MiB).
    pub filter_bytes: usize,
    /// Claims kept in memory before the claim log is written out.
    pub log_buffer: usize,
    /// Where the claim log is written (default: the system's temporary folder).
    pub spill_dir: Option<&'a Path>,
}

impl Default for KeyMemory<'_> {
    fn default() -> Self {
        KeyMemory::with_claims(KeyMemory::MOST_EXACT_CLAIMS, None)
    }
}

impl<'a> KeyMemory<'a> {
    /// The most claims kept exactly (about 32 MiB); a run's memory budget
    /// ([`crate::budget::MemoryBudget`]) may give fewer.
    pub const MOST_EXACT_CLAIMS: usize = 1 << 20;

    /// The check keeping `exact_claims` claims exactly, spilling to `spill_dir`.
    pub fn with_claims(exact_claims: usize, spill_dir: Option<&'a Path>) -> Self {
        KeyMemory { exact_claims, filter_bytes: 128 << 20, log_buffer: 1 << 16, spill_dir }
    }
}

/// What became of a row's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claim {
    /// The key was free; the row holds it now.
    Fresh,
    /// The key was claimed first by the row numbered so (see [`super::key_hash::stored_place`]).
    Taken(u32),
    /// The filter may have seen the key: decided later by [`UniqueKeys::settle`].
    Held,
}

/// How many parts the exact table is cut into, by hash, to be probed on several cores.
const PARTITIONS: usize = 16;

/// Key hashes already claimed, each with the number of the row that claimed it.
type SeenKeys = HashMap<SeenHash, u32, std::hash::BuildHasherDefault<PassThrough>>;

/// The partition of a key hash (its high bits; the tables use the low ones).
fn partition(h: SeenHash) -> usize {
    (h.1 as usize) % PARTITIONS
}

/// The positions of `rows` in each partition, in file order.
fn by_partition(rows: &[(u128, u32)]) -> Vec<Vec<usize>> {
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); PARTITIONS];
    for (i, (h, _)) in rows.iter().enumerate() {
        if let Some(b) = buckets.get_mut(partition(SeenHash::from(*h))) {
            b.push(i);
        }
    }
    buckets
}

/// The claims of one table's unique key.
pub(super) struct UniqueKeys<'a> {
    memory: KeyMemory<'a>,
    method: Method<'a>,
    /// The hashes of the rows held and not yet settled: a filter rebuilt
    /// from the log must still see them, or a later row with one of their
    /// keys would claim it before them.
    held: Vec<SeenHash>,
}

enum Method<'a> {
    Exact(Vec<SeenKeys>),
    /// One filter per partition, each probed on its own core.
    Filtered {
        filters: Vec<Sbbf>,
        capacity: usize,
        claims: usize,
        log: ClaimLog<'a>,
    },
}

impl<'a> UniqueKeys<'a> {
    pub fn new(memory: KeyMemory<'a>) -> Self {
        let mut keys = UniqueKeys {
            memory,
            method: Method::Exact((0..PARTITIONS).map(|_| SeenKeys::default()).collect()),
            held: Vec::new(),
        };
        if memory.exact_claims == 0 {
            keys.method = keys.filtered(Vec::new());
        }
        keys
    }

    /// Filters and a log holding `claims`.
    fn filtered(&self, claims: Vec<(SeenHash, u32)>) -> Method<'a> {
        let capacity = (claims.len() * 4).max(1 << 16);
        let mut filters = filters_for(capacity, self.memory.filter_bytes);
        for (h, _) in &claims {
            insert(&mut filters, *h);
        }
        let count = claims.len();
        let log = ClaimLog { buffer: claims, file: None, written: 0, memory: self.memory };
        Method::Filtered { filters, capacity, claims: count, log }
    }

    /// Claim the keys of a block's good rows, in file order: `(hash, row number)`.
    pub fn claim(&mut self, rows: &[(u128, u32)]) -> Result<Vec<Claim>> {
        let mut claims = vec![Claim::Fresh; rows.len()];
        match &mut self.method {
            Method::Exact(seen) => {
                // Each partition on its own core; within one, rows in file order.
                let buckets = by_partition(rows);
                let taken: Vec<Vec<(usize, u32)>> = seen
                    .par_iter_mut()
                    .zip(buckets.par_iter())
                    .map(|(map, bucket)| {
                        let mut taken = Vec::new();
                        for &i in bucket {
                            let Some(&(h, n)) = rows.get(i) else { continue };
                            match map.entry(SeenHash::from(h)) {
                                std::collections::hash_map::Entry::Occupied(e) => taken.push((i, *e.get())),
                                std::collections::hash_map::Entry::Vacant(e) => {
                                    e.insert(n);
                                }
                            }
                        }
                        taken
                    })
                    .collect();
                for (i, first) in taken.into_iter().flatten() {
                    if let Some(c) = claims.get_mut(i) {
                        *c = Claim::Taken(first);
                    }
                }
                if seen.iter().map(HashMap::len).sum::<usize>() > self.memory.exact_claims {
                    let all: Vec<(SeenHash, u32)> = seen.iter_mut().flat_map(|m| m.drain()).collect();
                    self.method = self.filtered(all);
                }
            }
            Method::Filtered { filters, capacity, claims: count, log } => {
                // Each partition's filter on its own core; within one, rows in file order.
                let buckets = by_partition(rows);
                let held: Vec<Vec<usize>> = filters
                    .par_iter_mut()
                    .zip(buckets.par_iter())
                    .map(|(filter, bucket)| {
                        let mut held = Vec::new();
                        for &i in bucket {
                            let Some(&(h, _)) = rows.get(i) else { continue };
                            let h = SeenHash::from(h).0;
                            if filter.check(&h) {
                                held.push(i);
                            } else {
                                filter.insert(&h);
                            }
                        }
                        held
                    })
                    .collect();
                for i in held.into_iter().flatten() {
                    if let (Some(c), Some((h, _))) = (claims.get_mut(i), rows.get(i)) {
                        *c = Claim::Held;
                        self.held.push(SeenHash::from(*h));
                    }
                }
                for ((h, n), claim) in rows.iter().zip(&claims) {
                    if *claim == Claim::Fresh {
                        log.push(SeenHash::from(*h), *n)?;
                        *count += 1;
                    }
                }
                if *count > *capacity && capacity.saturating_mul(2) < self.memory.filter_bytes {
                    // Four times the room, rebuilt from the log (and the held rows):
                    // the filters stay at about 2 bytes a claim.
                    *capacity = capacity.saturating_mul(4);
                    let mut bigger = filters_for(*capacity, self.memory.filter_bytes);
                    log.each(|h, _| insert(&mut bigger, h))?;
                    for h in &self.held {
                        insert(&mut bigger, *h);
                    }
                    *filters = bigger;
                }
            }
        }
        Ok(claims)
    }

    /// Decide the held rows, `(hash, row number)` in file order: for each,
    /// `None` if its key was free (it is claimed now) or the number of the
    /// row that claimed it first.
    pub fn settle(&mut self, held: &[(u128, u32)]) -> Result<Vec<Option<u32>>> {
        let Method::Filtered { log, claims, .. } = &mut self.method else {
            return Ok(vec![None; held.len()]);
        };
        self.held.clear();
        let mut first: HashMap<SeenHash, Option<u32>> = held.iter().map(|(h, _)| (SeenHash::from(*h), None)).collect();
        log.each(|h, n| {
            if let Some(f) = first.get_mut(&h) {
                f.get_or_insert(n);
            }
        })?;
        let mut settled = Vec::with_capacity(held.len());
        for (h, n) in held {
            let h = SeenHash::from(*h);
            match first.get_mut(&h) {
                Some(Some(f)) => settled.push(Some(*f)),
                Some(slot) => {
                    *slot = Some(*n);
                    log.push(h, *n)?;
                    *claims += 1;
                    settled.push(None);
                }
                None => settled.push(None),
            }
        }
        Ok(settled)
    }
}

/// One filter per partition, together about 2 bytes for each of `capacity`
/// claims, within `most` bytes.
fn filters_for(capacity: usize, most: usize) -> Vec<Sbbf> {
    let bytes = capacity.saturating_mul(2).min(most) / PARTITIONS;
    (0..PARTITIONS).map(|_| Sbbf::new_with_num_of_bytes(bytes)).collect()
}

/// Set a claim's hash in its partition's filter.
fn insert(filters: &mut [Sbbf], h: SeenHash) {
    if let Some(f) = filters.get_mut(partition(h)) {
        f.insert(&h.0);
    }
}

/// Every claim made since the filter took over (and the exact ones before
/// it): 16 bytes each, in memory up to [`KeyMemory::log_buffer`], then in
/// an unnamed temporary file.
struct ClaimLog<'a> {
    buffer: Vec<(SeenHash, u32)>,
    file: Option<BufWriter<File>>,
    /// Claims in the file.
    written: u64,
    memory: KeyMemory<'a>,
}

/// Bytes of one claim in the log.
const CLAIM_BYTES: usize = 16;

fn log_failed(e: std::io::Error) -> Diagnostic {
    Diagnostic::runtime("cannot write the unique-key check's claim log")
        .hint("it goes to the staging folder (--stage DIR, else the output folder): check that it has room")
        .caused_by(e)
}

impl ClaimLog<'_> {
    fn push(&mut self, h: SeenHash, n: u32) -> Result<()> {
        self.buffer.push((h, n));
        if self.buffer.len() >= self.memory.log_buffer.max(1) {
            self.write_out()?;
        }
        Ok(())
    }

    /// Move the buffered claims to the file.
    fn write_out(&mut self) -> Result<()> {
        if self.file.is_none() {
            let file = match self.memory.spill_dir {
                Some(dir) => tempfile::tempfile_in(dir),
                None => tempfile::tempfile(),
            }
            .map_err(log_failed)?;
            self.file = Some(BufWriter::with_capacity(1 << 20, file));
        }
        let Some(out) = self.file.as_mut() else { return Ok(()) };
        for (h, n) in self.buffer.drain(..) {
            let mut claim = [0u8; CLAIM_BYTES];
            claim[..8].copy_from_slice(&h.0.to_le_bytes());
            claim[8..12].copy_from_slice(&h.1.to_le_bytes());
            claim[12..].copy_from_slice(&n.to_le_bytes());
            out.write_all(&claim).map_err(log_failed)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Every claim, the file's first, then the buffer's.
    fn each(&mut self, mut f: impl FnMut(SeenHash, u32)) -> Result<()> {
        if let Some(out) = self.file.as_mut() {
            out.flush().map_err(log_failed)?;
            let file = out.get_mut();
            file.seek(SeekFrom::Start(0)).map_err(log_failed)?;
            let mut reader = BufReader::with_capacity(1 << 20, &*file).take(self.written * CLAIM_BYTES as u64);
            let mut claim = [0u8; CLAIM_BYTES];
            for _ in 0..self.written {
                reader.read_exact(&mut claim).map_err(log_failed)?;
                let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, c0, c1, c2, c3] = claim;
                f(
                    SeenHash(
                        u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
                        u32::from_le_bytes([b0, b1, b2, b3]),
                    ),
                    u32::from_le_bytes([c0, c1, c2, c3]),
                );
            }
            file.seek(SeekFrom::End(0)).map_err(log_failed)?;
        }
        for (h, n) in &self.buffer {
            f(*h, *n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(k: u64) -> u128 {
        // Spread like a real key hash: the partition and filter use different bits.
        let x = u128::from(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        (x << 64) | u128::from(k.rotate_left(17) ^ 0xA5A5)
    }

    /// The claims of `keys` (row number = position + 2) under `memory`,
    /// block by block, with held rows settled at the end, against a plain
    /// first-seen map.
    fn check(keys: &[u64], memory: KeyMemory<'_>, block: usize) {
        let mut unique = UniqueKeys::new(memory);
        let mut got: Vec<Option<Option<u32>>> = vec![None; keys.len()];
        let mut held: Vec<(usize, u128, u32)> = Vec::new();
        for (b, chunk) in keys.chunks(block).enumerate() {
            let rows: Vec<(u128, u32)> =
                chunk.iter().enumerate().map(|(i, k)| (hash(*k), (b * block + i + 2) as u32)).collect();
            for (i, c) in unique.claim(&rows).unwrap().into_iter().enumerate() {
                let at = b * block + i;
                match c {
                    Claim::Fresh => got[at] = Some(None),
                    Claim::Taken(f) => got[at] = Some(Some(f)),
                    Claim::Held => held.push((at, rows[i].0, rows[i].1)),
                }
            }
        }
        let pairs: Vec<(u128, u32)> = held.iter().map(|(_, h, n)| (*h, *n)).collect();
        for ((at, _, _), s) in held.iter().zip(unique.settle(&pairs).unwrap()) {
            got[*at] = Some(s);
        }
        let mut first: HashMap<u64, u32> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            let expected = match first.get(k) {
                Some(f) => Some(*f),
                None => {
                    first.insert(*k, (i + 2) as u32);
                    None
                }
            };
            assert_eq!(got[i], Some(expected), "row {i}, key {k}");
        }
    }

    fn keys(n: u64, every: u64) -> Vec<u64> {
        // Every `every`-th row repeats a key from about a third of the way back.
        (0..n).map(|i| if i % every == every - 1 { (i * 2) / 3 } else { i }).collect()
    }

    #[test]
    fn exact_filtered_and_saturated_checks_agree_with_a_plain_map() {
        let rows = keys(50_000, 7);
        let exact = KeyMemory { exact_claims: usize::MAX, ..KeyMemory::default() };
        let switching = KeyMemory { exact_claims: 1_000, log_buffer: 4_096, ..KeyMemory::default() };
        let filtered = KeyMemory { exact_claims: 0, log_buffer: 100, ..KeyMemory::default() };
        // A 32-byte filter is full at once: almost every row is held and settled from the log.
        let saturated = KeyMemory { exact_claims: 0, filter_bytes: 32, log_buffer: 1_000, ..KeyMemory::default() };
        for memory in [exact, switching, filtered, saturated] {
            // One row a block: the first 5,000 rows only (a block at a time is slow in a debug build).
            check(&rows[..5_000], memory, 1);
            for block in [97, 8_192] {
                check(&rows, memory, block);
            }
        }
    }

    #[test]
    fn a_key_repeated_among_held_rows_is_claimed_by_the_first_of_them() {
        let memory = KeyMemory { exact_claims: 0, filter_bytes: 32, log_buffer: 3, ..KeyMemory::default() };
        check(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 9, 11, 9, 12, 1, 13, 13, 13], memory, 4);
    }

    #[test]
    fn the_filter_grows_and_the_log_goes_to_the_given_folder() {
        let dir = tempfile::tempdir().unwrap();
        let memory =
            KeyMemory { exact_claims: 10, filter_bytes: 1 << 20, log_buffer: 1_000, spill_dir: Some(dir.path()) };
        check(&keys(300_000, 11), memory, 8_192);
    }
}
