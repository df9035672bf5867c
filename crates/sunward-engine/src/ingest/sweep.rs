//! The in-order part of loading: after a block has been typed and checked
//! column by column (module `columns`), its rows are swept in file order.
//! Here each good row claims its unique key (module `keys`), each row a
//! column-wise rule flagged is judged again cell by cell for its exact
//! rejects, the good rows are handed out in batches, and a Parquet file that
//! passes as stored is checked without handing any out ([`InPlace`]).

use super::columns::TypedBatch;
use super::key_hash::{KeyPart, key_hash, stored_place};
use super::keys::{Claim, UniqueKeys};
use super::layout::Column;
use super::outcome::{BATCH_ROWS, KeyClaim, KeyClaims, KeySet, Reject};
use super::rows::{Rules, cell_text, duplicate, place_number, slot_row};
use super::values::{Builder, Typed};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::{filter, interleave};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::PathBuf;
use sunward_core::{Diagnostic, ErrorKind, RawBatch, RawRow, Result, RowPlace, RowReader};

/// A row judged cell by cell: the row, its values and the rules it breaks (unique keys aside).
struct Judged {
    row: RawRow,
    values: Vec<Typed>,
    broken: Vec<Reject>,
}

/// A good row the key check holds until the table ends ([`keys`](super::keys)): where it
/// is, its key, and where its values wait.
pub(super) struct HeldRow {
    /// Its number among the rows read (1 = the first), to put a late reject in order.
    seq: u64,
    place: RowPlace,
    hash: u128,
    /// Its place number as claims keep it.
    stored: u32,
    /// The key's columns joined by `+`, and their original text.
    names: String,
    shown: String,
    /// Its values: row `row` of `Sweep::held[batch]`.
    batch: usize,
    row: usize,
}

/// The in-order part of ingest: unique keys, bad rows explained, good rows kept.
pub(super) struct Sweep<'a> {
    pub(super) rules: &'a Rules<'a>,
    pub(super) schema: SchemaRef,
    pub(super) file: &'a str,
    pub(super) context: &'a str,
    pub(super) fail_on_bad_rows: bool,
    /// The claims of the table's unique key (when it has one).
    pub(super) unique_keys: Option<UniqueKeys<'a>>,
    /// The values of rows the key check holds, a small batch per block, and each held row.
    pub(super) held: Vec<RecordBatch>,
    pub(super) held_rows: Vec<HeldRow>,
    pub(super) kept_keys: Vec<(usize, &'static str)>,
    pub(super) keys: KeySet,
    pub(super) out: &'a mut dyn FnMut(RecordBatch) -> Result<()>,
    pub(super) rejects: Vec<Reject>,
    /// For each reject, the number of its row among the rows read (see [`HeldRow::seq`]).
    pub(super) reject_rows: Vec<u64>,
    pub(super) read: u64,
    pub(super) loaded: u64,
    pub(super) rejected: u64,
    /// While every row so far has passed as the file stores it: the file.
    pub(super) in_place: Option<InPlace<'a>>,
    /// The good rows' key claims, when the check is left to the caller.
    pub(super) deferred: Option<KeyClaims>,
    /// Good rows left out of the table, by place number.
    pub(super) skip: Option<&'a HashSet<u64>>,
    /// The rows left out: each one's place number and key as written.
    pub(super) skipped: Vec<(u64, String)>,
}

/// A file checked without handing out its rows, while they all pass as stored.
pub(super) struct InPlace<'a> {
    pub(super) path: PathBuf,
    /// Rows checked so far (the first `rows` records of the file).
    pub(super) rows: u64,
    pub(super) reopen: &'a dyn Fn() -> Result<Box<dyn RowReader>>,
}

impl Sweep<'_> {
    /// Sweep one block, in file order: claims, bad rows explained, good rows handed out.
    pub(super) fn sweep(&mut self, raw: &RawBatch, typed: TypedBatch) -> Result<()> {
        let judged = self.judge_flagged(raw, &typed);
        let claims = self.claim_keys(raw, &typed, &judged)?;
        self.defer_claims(raw, &typed, &judged);
        let Sorted { slow, kept, held } = self.sort_rows(raw, &typed, &judged, &claims)?;
        if !held.is_empty() {
            // Copied out, so the block's arrays are not kept alive for a few rows.
            let batch = self.assemble(&typed.arrays, &slow, &held, true)?;
            self.held.push(batch);
        }
        if self.still_in_place(raw, &typed, kept.len() + held.len())? {
            return Ok(());
        }
        let batch = self.assemble(&typed.arrays, &slow, &kept, false)?;
        if batch.num_rows() > 0 {
            (self.out)(batch)?;
        }
        Ok(())
    }

    /// The rows a column-wise rule flagged, judged cell by cell (on every
    /// core); `None` for the others.
    fn judge_flagged(&self, raw: &RawBatch, typed: &TypedBatch) -> Vec<Option<Judged>> {
        (0..raw.len)
            .into_par_iter()
            .map(|i| {
                typed.flagged.get(i).copied().unwrap_or(true).then(|| {
                    let row = slot_row(raw, i);
                    let (values, broken) = self.rules.check_row(&row);
                    Judged { row, values, broken }
                })
            })
            .collect()
    }

    /// The rows' claims on the unique key, made for the block at once; a
    /// row bad for another reason claims nothing. A row the key check holds
    /// is noted in [`Sweep::held_rows`].
    fn claim_keys(
        &mut self,
        raw: &RawBatch,
        typed: &TypedBatch,
        judged: &[Option<Judged>],
    ) -> Result<Vec<Option<Claim>>> {
        let len = raw.len;
        let mut claims: Vec<Option<Claim>> = vec![None; len];
        let (Some(cols), Some(unique)) = (&self.rules.unique, self.unique_keys.as_mut()) else { return Ok(claims) };
        let clean: Vec<usize> =
            (0..len).filter(|i| judged_at(judged, *i).is_none_or(|j| j.broken.is_empty())).collect();
        let rows: Vec<(u128, u32)> = clean
            .iter()
            .map(|i| (row_key_hash(cols, judged, typed, *i), stored_place(place_number(&place_of(judged, raw, *i)))))
            .collect();
        let mut held_here = 0;
        for ((i, claim), (hash, stored)) in clean.iter().zip(unique.claim(&rows)?).zip(&rows) {
            if let Some(c) = claims.get_mut(*i) {
                *c = Some(claim);
            }
            if claim == Claim::Held {
                let row = row_of(judged_at(judged, *i), raw, *i);
                let (names, shown) = key_text(self.rules.columns, cols, &row);
                self.held_rows.push(HeldRow {
                    seq: self.read + *i as u64 + 1,
                    place: row.place,
                    hash: *hash,
                    stored: *stored,
                    names,
                    shown,
                    batch: self.held.len(),
                    row: held_here,
                });
                held_here += 1;
            }
        }
        Ok(claims)
    }

    /// When the key check is left to the caller: each good row's claim, in file order.
    fn defer_claims(&mut self, raw: &RawBatch, typed: &TypedBatch, judged: &[Option<Judged>]) {
        let (Some(cols), Some(deferred)) = (&self.rules.unique, self.deferred.as_mut()) else { return };
        let columns = self.rules.columns;
        let names: Vec<&str> = cols.iter().filter_map(|c| columns.get(*c)).map(|c| c.name.as_str()).collect();
        for i in 0..raw.len {
            if judged_at(judged, i).is_some_and(|j| !j.broken.is_empty()) {
                continue;
            }
            let hash = row_key_hash(cols, judged, typed, i);
            let place = place_of(judged, raw, i);
            if deferred.like.is_none() {
                deferred.names = names.join("+");
                deferred.like = Some(place.clone());
            }
            deferred.claims.push(KeyClaim { hash, place: place_number(&place) });
        }
    }

    /// Go through the block's rows in order: a bad row's rejects are
    /// recorded (or, with `on_bad_rows: fail`, the first is the error), a
    /// row the key check holds or a good one is noted for its batch, a row
    /// to skip is left out.
    fn sort_rows(
        &mut self,
        raw: &RawBatch,
        typed: &TypedBatch,
        judged: &[Option<Judged>],
        claims: &[Option<Claim>],
    ) -> Result<Sorted> {
        // Rows judged cell by cell and kept: their values, built column by column.
        let mut slow: Vec<Builder> = self.rules.columns.iter().map(|c| Builder::new(c.ty)).collect();
        let mut slow_rows = 0usize;
        // For each kept (and each held) row: (0, slot) from the column-wise arrays, or (1, n) the n-th of `slow`.
        let mut kept: Vec<(usize, usize)> = Vec::with_capacity(raw.len);
        let mut held: Vec<(usize, usize)> = Vec::new();
        for (i, judged) in judged.iter().enumerate() {
            self.read += 1;
            let claim = claims.get(i).copied().flatten();
            let broken = self.row_rejects(raw, i, judged.as_ref(), claim);
            if !broken.is_empty() {
                self.reject_row(broken)?;
                continue;
            }
            let slot = match judged {
                Some(j) => {
                    for (b, v) in slow.iter_mut().zip(&j.values) {
                        b.push(v);
                    }
                    slow_rows += 1;
                    (1, slow_rows - 1)
                }
                None => (0, i),
            };
            if claim == Some(Claim::Held) {
                held.push(slot);
                continue;
            }
            if self.skipped(raw, i, judged.as_ref()) {
                continue;
            }
            self.keep_key_values(typed, i, judged.as_ref());
            kept.push(slot);
            self.loaded += 1;
        }
        let slow = slow.iter_mut().map(Builder::finish).collect();
        Ok(Sorted { slow, kept, held })
    }

    /// Every rule row `i` breaks: those found judging it cell by cell, and a
    /// duplicate key when an earlier row claimed it.
    #[inline]
    fn row_rejects(&self, raw: &RawBatch, i: usize, judged: Option<&Judged>, claim: Option<Claim>) -> Vec<Reject> {
        let mut broken = judged.map(|j| j.broken.clone()).unwrap_or_default();
        if let (Some(Claim::Taken(first)), Some(cols)) = (claim, &self.rules.unique) {
            let row = row_of(judged, raw, i);
            let (names, shown) = key_text(self.rules.columns, cols, &row);
            broken.push(duplicate(&row.place, names, shown, first));
        }
        broken
    }

    /// Set a bad row aside with its rejects, or, with `on_bad_rows: fail`,
    /// fail on the first bad row (which may be one the key check held before it).
    fn reject_row(&mut self, broken: Vec<Reject>) -> Result<()> {
        if self.fail_on_bad_rows
            && let Some(first) = broken.first()
        {
            // A row the key check held before this one may be the first bad row.
            let late = duplicates(self.settle_held()?);
            let first = match late.first() {
                Some((seq, duplicate)) if *seq < self.read => duplicate,
                _ => first,
            };
            return Err(self.bad_row(first));
        }
        self.rejected += 1;
        self.reject_rows.extend(std::iter::repeat_n(self.read, broken.len()));
        self.rejects.extend(broken);
        Ok(())
    }

    /// Whether good row `i` is one the caller found to be a duplicate
    /// across parts: then it is left out (but counted as loaded), noted
    /// with its key as written.
    #[inline]
    fn skipped(&mut self, raw: &RawBatch, i: usize, judged: Option<&Judged>) -> bool {
        let Some(skip) = self.skip else { return false };
        let place = match judged {
            Some(j) => j.row.place.clone(),
            None => raw.place(i),
        };
        if !skip.contains(&place_number(&place)) {
            return false;
        }
        // A duplicate found across parts: its key as written, for its reject.
        let shown = match &self.rules.unique {
            Some(cols) => key_text(self.rules.columns, cols, &row_of(judged, raw, i)).1,
            None => String::new(),
        };
        self.skipped.push((place_number(&place), shown));
        self.loaded += 1;
        true
    }

    /// Note the values of kept row `i` in the key columns others reference.
    #[inline]
    fn keep_key_values(&mut self, typed: &TypedBatch, i: usize, judged: Option<&Judged>) {
        for (col, name) in &self.kept_keys {
            let value = match judged {
                Some(j) => j.values.get(*col).map(Typed::part),
                None => Some(typed.part(*col, i)),
            };
            if let (Some(KeyPart::Str(s)), Some(set)) = (value, self.keys.get_mut(*name))
                && !set.contains(s)
            {
                set.insert(s.to_string());
            }
        }
    }

    /// While the file is checked in place: whether this block, with
    /// `passed` of its rows kept or held, passes as the file stores it
    /// (then it is counted, and nothing is handed out). At the first block
    /// that does not, the rows checked so far are handed out and loading
    /// goes on as usual (`false`).
    fn still_in_place(&mut self, raw: &RawBatch, typed: &TypedBatch, passed: usize) -> Result<bool> {
        let Some(in_place) = self.in_place.as_mut() else { return Ok(false) };
        let len = raw.len;
        let as_stored = passed == len
            && typed.flagged.iter().all(|f| !f)
            && self.rules.columns.iter().zip(&typed.arrays).all(|(c, typed)| {
                c.source.and_then(|i| raw.columns.get(i)).is_some_and(|stored| {
                    let (stored, typed) = (stored.to_data(), typed.to_data());
                    // The same buffers (a column taken as stored), or the same values.
                    stored.data_type() == typed.data_type() && (stored.ptr_eq(&typed) || stored == typed)
                })
            });
        if as_stored {
            in_place.rows += len as u64;
            return Ok(true);
        }
        let held_rows: HashSet<u64> = self.held_rows.iter().map(|h| h.seq - 1).collect();
        self.leave_in_place(&held_rows)?;
        Ok(false)
    }

    /// The error for the first bad row when `on_bad_rows: fail`.
    fn bad_row(&self, first: &Reject) -> Diagnostic {
        Diagnostic::new(
            ErrorKind::Runtime,
            format!(
                "bad row in {}, {}, column \"{}\": {} (value \"{}\")",
                self.file, first.place, first.column, first.rule, first.value
            ),
        )
        .in_context(self.context)
        .hint("fix the export, or set `on_bad_rows: reject` to set bad rows aside in rejects/")
    }

    /// Decide the rows the key check holds, when the table has ended: the
    /// duplicates among them join the rejects in file order (or, with
    /// `on_bad_rows: fail`, the first is the error), the rest are kept, after
    /// the rows handed out so far.
    pub(super) fn finish_held(&mut self) -> Result<()> {
        let decided = self.settle_held()?;
        let held_rows: HashSet<u64> = decided.iter().map(|(h, _)| h.seq - 1).collect();
        let mut keep: Vec<(usize, usize)> = Vec::new();
        let mut late: Vec<(u64, Reject)> = Vec::new();
        for (h, first) in decided {
            match first {
                Some(first) => late.push((h.seq, duplicate(&h.place, h.names, h.shown, first))),
                None => keep.push((h.batch, h.row)),
            }
        }
        if self.fail_on_bad_rows
            && let Some((_, first)) = late.first()
        {
            return Err(self.bad_row(first));
        }
        if self.in_place.is_some() {
            if late.is_empty() {
                // Every held row is kept, and the file holds it already.
                self.loaded += keep.len() as u64;
                self.held.clear();
                return Ok(());
            }
            self.leave_in_place(&held_rows)?;
        }
        if !late.is_empty() {
            self.rejected += late.len() as u64;
            let rejects = std::mem::take(&mut self.rejects);
            let rows = std::mem::take(&mut self.reject_rows);
            let mut earlier = rows.into_iter().zip(rejects).peekable();
            for (seq, reject) in late {
                while let Some((s, r)) = earlier.next_if(|(s, _)| *s < seq) {
                    self.reject_rows.push(s);
                    self.rejects.push(r);
                }
                self.reject_rows.push(seq);
                self.rejects.push(reject);
            }
            for (s, r) in earlier {
                self.reject_rows.push(s);
                self.rejects.push(r);
            }
        }
        self.hand_out_held(&keep)
    }

    /// Decide the rows the key check holds: each with `None` (its key was
    /// free: it is kept) or the number of the row that claimed the key first.
    fn settle_held(&mut self) -> Result<Vec<(HeldRow, Option<u32>)>> {
        let Some(unique) = self.unique_keys.as_mut() else { return Ok(Vec::new()) };
        if self.held_rows.is_empty() {
            return Ok(Vec::new());
        }
        let held_rows = std::mem::take(&mut self.held_rows);
        let pairs: Vec<(u128, u32)> = held_rows.iter().map(|h| (h.hash, h.stored)).collect();
        let settled = unique.settle(&pairs)?;
        Ok(held_rows.into_iter().zip(settled).collect())
    }

    /// Hand out the held rows `keep` (`(batch, row)` of [`Sweep::held`]).
    fn hand_out_held(&mut self, keep: &[(usize, usize)]) -> Result<()> {
        let held = std::mem::take(&mut self.held);
        for part in keep.chunks(BATCH_ROWS) {
            let columns: Vec<ArrayRef> = (0..self.schema.fields().len())
                .map(|c| {
                    let arrays: Vec<&dyn Array> =
                        held.iter().filter_map(|b| b.columns().get(c)).map(|a| a.as_ref()).collect();
                    interleave(&arrays, part)
                })
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.table_failed(e))?;
            let batch = RecordBatch::try_new_with_options(
                self.schema.clone(),
                columns,
                &RecordBatchOptions::new().with_row_count(Some(part.len())),
            )
            .map_err(|e| self.table_failed(e))?;
            for (col, name) in &self.kept_keys {
                if let (Some(values), Some(set)) = (batch.column(*col).as_string_opt::<i32>(), self.keys.get_mut(*name))
                {
                    set.extend(values.iter().flatten().map(str::to_string));
                }
            }
            self.loaded += part.len() as u64;
            (self.out)(batch)?;
        }
        Ok(())
    }

    /// Stop checking the file in place: read again the rows checked so far
    /// (but the rows in `held`, by number from 0, which the key check holds)
    /// and hand them out, as the file stores them.
    fn leave_in_place(&mut self, held: &HashSet<u64>) -> Result<()> {
        let Some(in_place) = self.in_place.take() else { return Ok(()) };
        let changed = || {
            Diagnostic::runtime(format!("{} changed while it was being read", self.file))
                .hint("run again once the file is no longer being written")
        };
        let mut reader = (in_place.reopen)()?;
        let mut at = 0u64;
        while at < in_place.rows {
            let raw = reader.next_batch().ok_or_else(changed)??;
            let take = raw.len.min(usize::try_from(in_place.rows - at).unwrap_or(usize::MAX));
            let arrays = self
                .rules
                .columns
                .iter()
                .map(|c| c.source.and_then(|i| raw.columns.get(i)).map(|a| a.slice(0, take)))
                .collect::<Option<Vec<ArrayRef>>>()
                .ok_or_else(changed)?;
            let mut batch = RecordBatch::try_new_with_options(
                self.schema.clone(),
                arrays,
                &RecordBatchOptions::new().with_row_count(Some(take)),
            )
            .map_err(|_| changed())?;
            if (at..at + take as u64).any(|n| held.contains(&n)) {
                let keep: BooleanArray = (at..at + take as u64).map(|n| Some(!held.contains(&n))).collect();
                batch =
                    datafusion::arrow::compute::filter_record_batch(&batch, &keep).map_err(|e| self.table_failed(e))?;
            }
            at += take as u64;
            if batch.num_rows() > 0 {
                (self.out)(batch)?;
            }
        }
        Ok(())
    }

    fn table_failed(&self, e: datafusion::arrow::error::ArrowError) -> Diagnostic {
        Diagnostic::runtime(format!("cannot build a table from {}", self.file)).caused_by(e)
    }

    /// The rows `rows` (see `kept` in [`Sweep::sweep`]) of a block, in that
    /// order, from its column-wise arrays and the rows judged one by one;
    /// `copy` copies them even when they could be shared.
    fn assemble(
        &self,
        fast: &[ArrayRef],
        slow: &[ArrayRef],
        rows: &[(usize, usize)],
        copy: bool,
    ) -> Result<RecordBatch> {
        let len = fast.first().map_or(0, |a| a.len());
        let all_fast = rows.iter().all(|(part, _)| *part == 0);
        let arrays: Vec<ArrayRef> = if all_fast && rows.len() == len && !copy {
            fast.to_vec()
        } else if all_fast && !copy {
            let mask = {
                let mut keep = vec![false; len];
                for (_, i) in rows {
                    if let Some(k) = keep.get_mut(*i) {
                        *k = true;
                    }
                }
                BooleanArray::from(keep)
            };
            fast.iter()
                .map(|a| filter(a.as_ref(), &mask))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.table_failed(e))?
        } else {
            fast.iter()
                .zip(slow)
                .map(|(f, s)| interleave(&[f.as_ref(), s.as_ref()], rows))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| self.table_failed(e))?
        };
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )
        .map_err(|e| self.table_failed(e))
    }
}

/// The duplicates among decided held rows, with their [`HeldRow::seq`], in file order.
fn duplicates(decided: Vec<(HeldRow, Option<u32>)>) -> Vec<(u64, Reject)> {
    decided.into_iter().filter_map(|(h, first)| Some((h.seq, duplicate(&h.place, h.names, h.shown, first?)))).collect()
}

/// A key's column names joined by `+`, and the row's original text of them.
fn key_text(columns: &[Column], cols: &[usize], row: &RawRow) -> (String, String) {
    let names: Vec<&str> = cols.iter().filter_map(|c| columns.get(*c)).map(|c| c.name.as_str()).collect();
    let shown: Vec<String> = cols.iter().filter_map(|c| columns.get(*c)).map(|c| cell_text(row, c.source)).collect();
    (names.join("+"), shown.join("+"))
}

/// The rows of a block that stay, after [`Sweep::sort_rows`].
struct Sorted {
    /// The values of the rows judged cell by cell and kept (or held), column by column.
    slow: Vec<ArrayRef>,
    /// Each kept row: `(0, slot)` from the column-wise arrays, or `(1, n)` the n-th of `slow`.
    kept: Vec<(usize, usize)>,
    /// Each held row, the same way.
    held: Vec<(usize, usize)>,
}

/// Row `i` as judged cell by cell, when it was.
#[inline]
fn judged_at(judged: &[Option<Judged>], i: usize) -> Option<&Judged> {
    judged.get(i).and_then(Option::as_ref)
}

/// The place of row `i` of a block.
#[inline]
fn place_of(judged: &[Option<Judged>], raw: &RawBatch, i: usize) -> RowPlace {
    match judged_at(judged, i) {
        Some(j) => j.row.place.clone(),
        None => raw.place(i),
    }
}

/// Row `i` of a block, cell by cell (as judged, when it was).
fn row_of(judged: Option<&Judged>, raw: &RawBatch, i: usize) -> RawRow {
    match judged {
        Some(j) => j.row.clone(),
        None => slot_row(raw, i),
    }
}

/// The hash of row `i`'s unique key (columns `cols`): from its values judged
/// cell by cell, or as the column-wise pass hashed it.
#[inline]
fn row_key_hash(cols: &[usize], judged: &[Option<Judged>], typed: &TypedBatch, i: usize) -> u128 {
    match judged_at(judged, i) {
        Some(j) => key_hash(cols.iter().map(|c| j.values.get(*c).map(Typed::part).unwrap_or(KeyPart::Null))),
        None => typed.key_hashes.get(i).copied().unwrap_or_default(),
    }
}
