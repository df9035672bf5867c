//! One memory limit, split once.
//!
//! `--memory-limit` bounds a whole run, and four parts of the run need a share
//! of it: the query engine's spill pool, the tables held in memory before the
//! next one to grow is staged to Parquet, the unique-key check's exact
//! claims before its Bloom filter and claim log take over, and whether a step
//! may be left as a view. [`MemoryBudget::split`] decides all four from the
//! limit in one place; the run passes the budget to each part, the engine's
//! workers split the same limit the same way, and the manifest records it.

use crate::ingest::KeyMemory;
use crate::stage::DEFAULT_THRESHOLD;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The most key claims checked exactly in memory (about 32 MiB).
const MOST_EXACT_CLAIMS: usize = KeyMemory::MOST_EXACT_CLAIMS;

/// How a run shares its memory limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryBudget {
    /// The whole limit (`--memory-limit`), in bytes; `None`: no limit.
    pub limit: Option<usize>,
    /// Bytes the query engine may use for a step; beyond them its operators
    /// spill to disk. The whole limit: steps run one at a time.
    pub query_pool: Option<usize>,
    /// Bytes all tables held in memory may take together before the next
    /// one to grow moves to the staging folder: an eighth of the limit (at
    /// least 1 MiB), or 256 MiB without one.
    pub stage_threshold: usize,
    /// Key claims the unique-key check keeps exactly (about 32 bytes each)
    /// before its Bloom filter and claim log take over: a thousandth of the
    /// limit's bytes, at most 2^20.
    pub exact_key_claims: usize,
    /// Whether a step read by exactly one later step may be left as a view.
    /// Not under a limit: a view merges several steps' operators into one
    /// query, and too many operators sharing a small pool leave each too
    /// little to start.
    pub views: bool,
}

impl MemoryBudget {
    /// The budget of a run limited to `limit` bytes (or not limited).
    pub fn split(limit: Option<usize>) -> Self {
        match limit {
            None => MemoryBudget {
                limit,
                query_pool: None,
                stage_threshold: DEFAULT_THRESHOLD,
                exact_key_claims: MOST_EXACT_CLAIMS,
                views: true,
            },
            Some(bytes) => MemoryBudget {
                limit,
                query_pool: Some(bytes),
                stage_threshold: (bytes / 8).max(1 << 20),
                exact_key_claims: (bytes / 1024).min(MOST_EXACT_CLAIMS),
                views: false,
            },
        }
    }

    /// The unique-key check's share, its claim log written in `spill_dir`.
    pub fn key_memory<'a>(&self, spill_dir: Option<&'a Path>) -> KeyMemory<'a> {
        KeyMemory::with_claims(self.exact_key_claims, spill_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_limit_nothing_is_held_back() {
        let b = MemoryBudget::split(None);
        assert_eq!(b.query_pool, None);
        assert_eq!(b.stage_threshold, 256 * 1024 * 1024);
        assert_eq!(b.exact_key_claims, 1 << 20);
        assert!(b.views);
    }

    #[test]
    fn a_limit_is_shared_by_the_written_rules() {
        // 512 MiB: the pool is the whole, an eighth stages, a thousandth's
        // bytes of claims (524,288 < 2^20), no views.
        let b = MemoryBudget::split(Some(512 << 20));
        assert_eq!(b.query_pool, Some(536_870_912));
        assert_eq!(b.stage_threshold, 67_108_864);
        assert_eq!(b.exact_key_claims, 524_288);
        assert!(!b.views);
        // 4 GiB: claims capped at 2^20.
        assert_eq!(MemoryBudget::split(Some(4 << 30)).exact_key_claims, 1_048_576);
        // 2 MiB: staging at its 1 MiB floor; 2,048 claims.
        let small = MemoryBudget::split(Some(2 << 20));
        assert_eq!(small.stage_threshold, 1_048_576);
        assert_eq!(small.exact_key_claims, 2_048);
    }

    #[test]
    fn the_key_check_gets_the_budgets_claims() {
        let b = MemoryBudget::split(Some(100 << 20));
        let k = b.key_memory(None);
        assert_eq!(k.exact_claims, 102_400);
        assert_eq!(
            (k.filter_bytes, k.log_buffer),
            (KeyMemory::default().filter_bytes, KeyMemory::default().log_buffer)
        );
    }
}
