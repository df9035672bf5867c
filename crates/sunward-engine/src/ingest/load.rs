//! Loading one source: its layout worked out, the rules of its rows put
//! together, then its records read on a thread of their own, typed column
//! by column a window of blocks at a time, and swept in file order.

use super::columns;
use super::keys::{KeyMemory, UniqueKeys};
use super::layout::{Column, Layout, layout};
use super::outcome::{Ingested, KeyClaims, KeySet};
use super::parse::days;
use super::rows::Rules;
use super::sweep::{InPlace, Sweep};
use chrono::NaiveDate;
use datafusion::arrow::record_batch::RecordBatch;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use sunward_core::contract::Contract;
use sunward_core::model::{OnBadRows, SourceOptions};
use sunward_core::{Diagnostic, RawBatch, Result, RowReader, RunContext};

/// How often (in rows read) `progress` is called.
const PROGRESS_EVERY: u64 = 65_536;

/// How many raw batches are typed side by side before their rows are swept in order.
fn window() -> usize {
    2 * rayon::current_num_threads().max(1)
}

/// Read every row of `reader` into a canonical table: map and type each cell,
/// check every rule of the contract (when `options.contract` is set), keep the
/// good rows in batches of at most [`BATCH_ROWS`](super::BATCH_ROWS) and record every broken rule.
///
/// Records come from the reader in blocks ([`RowReader::next_batch`]). Each
/// block is typed and checked column by column, several blocks at once on
/// rayon's threads (module `columns`); then its rows are swept in file order, where
/// unique keys are checked and every row a column-wise rule flagged is judged
/// again cell by cell, which gives each broken rule its exact place, column
/// and original text. A bad row costs that second look; a good one does not.
///
/// `source` is the source's name in the pipeline and `file` the file as the
/// user named it, for messages; `ctx.as_of` bounds dates; `references` maps a
/// contract table (`schools`) to the key values of the source holding it (a
/// table not in it is not checked); `progress` is called with the rows read so
/// far every 65,536 rows or so and at the end. With `on_bad_rows: fail` the
/// first bad row is an error.
pub fn ingest(
    source: &str,
    file: &str,
    options: &SourceOptions,
    reader: &mut dyn RowReader,
    ctx: &RunContext,
    references: &HashMap<String, &KeySet>,
    progress: &dyn Fn(u64),
) -> Result<Ingested> {
    let mut batches = Vec::new();
    let load = SourceToLoad {
        name: source,
        file,
        options,
        keys: KeyMemory::default(),
        reopen: None,
        defer_keys: false,
        skip: None,
    };
    let mut ingested = ingest_into(&load, reader, ctx, references, progress, &mut |b| {
        batches.push(b);
        Ok(())
    })?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(ingested.schema.clone()));
    }
    ingested.batches = batches;
    Ok(ingested)
}

/// A source to load: its name in the pipeline, its file as the user named
/// it (for messages), its options, and how it may be loaded.
#[derive(Clone, Copy)]
pub struct SourceToLoad<'a> {
    /// The source's name in the pipeline.
    pub name: &'a str,
    /// The file as the user named it.
    pub file: &'a str,
    /// Its contract, mappings and bad-row policy.
    pub options: &'a SourceOptions,
    /// Memory for its unique-key check.
    pub keys: KeyMemory<'a>,
    /// Opens the source again from its start. Given, a file the reader
    /// hands out as stored ([`RowReader::as_stored`]) is first checked
    /// without handing out its rows: if every row and value passes as
    /// stored, the file is the table ([`Ingested::in_place`]); at the first
    /// that does not, the rows passed so far are read again and handed out,
    /// and loading goes on as usual.
    pub reopen: Option<&'a dyn Fn() -> Result<Box<dyn RowReader>>>,
    /// Leave the unique-key check to the caller: every good row's claim is
    /// returned ([`Ingested::claims`]) and no row is a duplicate here (what a
    /// part of a table loaded beside other parts does).
    pub defer_keys: bool,
    /// Rows left out of the table (their place numbers): good rows that the
    /// caller found to be duplicates. They are still counted as loaded.
    pub skip: Option<&'a HashSet<u64>>,
}

/// [`ingest`], handing each batch of good rows to `out` as soon as it is
/// made instead of keeping them (`Ingested::batches` is left empty): what a
/// run does, so that a table larger than memory can go straight to disk.
/// Batches come in file order, each non-empty, with the schema of
/// `Ingested::schema`.
pub fn ingest_into(
    load: &SourceToLoad<'_>,
    reader: &mut dyn RowReader,
    ctx: &RunContext,
    references: &HashMap<String, &KeySet>,
    progress: &dyn Fn(u64),
    out: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<Ingested> {
    let SourceToLoad { name: source, file, options, .. } = *load;
    let context = format!("sources.{source}");
    let within = |d: Diagnostic| if d.context.is_none() { d.in_context(&context) } else { d };
    let header_count = reader.headers().len();
    let layout = layout(options, Some(reader.headers()), Some(file)).map_err(within)?;
    let schema = layout.schema();
    let warnings: Vec<Diagnostic> = layout.warnings.iter().cloned().map(within).collect();
    let empty_keys = HashSet::new();
    let rules = row_rules(&layout, header_count, options, ctx.as_of, references, &empty_keys);
    let kept_keys = kept_keys(&layout, options);
    let in_place = in_place(load, reader, &layout.columns);
    let mut sweep = Sweep {
        rules: &rules,
        schema: schema.clone(),
        file,
        context: &context,
        fail_on_bad_rows: options.on_bad_rows == OnBadRows::Fail,
        unique_keys: rules.unique.as_ref().filter(|_| !load.defer_keys).map(|_| UniqueKeys::new(load.keys)),
        deferred: (load.defer_keys && rules.unique.is_some()).then(KeyClaims::default),
        skip: load.skip,
        skipped: Vec::new(),
        held: Vec::new(),
        held_rows: Vec::new(),
        keys: kept_keys.iter().map(|(_, name)| (name.to_string(), HashSet::new())).collect(),
        kept_keys,
        out,
        rejects: Vec::new(),
        reject_rows: Vec::new(),
        read: 0,
        loaded: 0,
        rejected: 0,
        in_place,
    };
    read_and_sweep(reader, &rules, &mut sweep, &within, progress)?;
    sweep.finish_held()?;
    progress(sweep.read);
    Ok(Ingested {
        schema,
        batches: Vec::new(),
        rows_read: sweep.read,
        rows_loaded: sweep.loaded,
        rows_rejected: sweep.rejected,
        rejects: sweep.rejects,
        keys: sweep.keys,
        warnings,
        in_place: sweep.in_place.map(|p| p.path),
        claims: sweep.deferred,
        skipped: sweep.skipped,
    })
}

/// Put together the rules a row of `layout` must satisfy: its contract's
/// date window, ordered dates, one-of groups and unique key, and for each
/// column referring to another table, the key values held there
/// (`empty_keys` when that table has none of the column).
fn row_rules<'a>(
    layout: &'a Layout,
    header_count: usize,
    options: &SourceOptions,
    as_of: NaiveDate,
    references: &'a HashMap<String, &'a KeySet>,
    empty_keys: &'a HashSet<String>,
) -> Rules<'a> {
    let spec = layout.spec;
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).map(days).unwrap_or(i32::MIN);
    let latest = days(as_of.checked_add_months(chrono::Months::new(12)).unwrap_or(as_of));
    Rules {
        columns: &layout.columns,
        layout,
        header_count,
        short_rows: options.short_rows,
        contract_dates: spec.map(|_| (earliest, latest)),
        as_of,
        ordered: spec
            .map(|s| {
                s.ordered_dates.iter().filter_map(|(a, b)| Some((layout.position(a)?, layout.position(b)?))).collect()
            })
            .unwrap_or_default(),
        one_of: spec
            .map(|s| s.one_of.iter().map(|g| g.iter().map(|c| (*c, layout.position(c))).collect()).collect())
            .unwrap_or_default(),
        held: layout
            .columns
            .iter()
            .map(|c| {
                let (table, key) = c.references?;
                let held = references.get(table)?;
                Some(held.get(key).unwrap_or(empty_keys))
            })
            .collect(),
        unique: spec.and_then(|s| s.unique.first()).map(|key| key.iter().filter_map(|k| layout.position(k)).collect()),
    }
}

/// The single-column unique keys of a table that others reference, by
/// position and name: their values are kept exactly (an empty table still
/// has an, empty, entry).
fn kept_keys(layout: &Layout, options: &SourceOptions) -> Vec<(usize, &'static str)> {
    layout
        .spec
        .filter(|s| options.within.unwrap_or_else(Contract::builtin).is_referenced(s.name))
        .map(|s| {
            s.unique
                .iter()
                .filter_map(|k| match k {
                    [one] => layout.position(one).map(|i| (i, *one)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A file to check in place: one the reader hands out as stored, that can
/// be opened again, and whose columns are the table's, by name (it may be
/// the table itself).
fn in_place<'a>(load: &SourceToLoad<'a>, reader: &dyn RowReader, columns: &[Column]) -> Option<InPlace<'a>> {
    match (load.reopen, reader.as_stored()) {
        (Some(reopen), Some((path, stored)))
            if columns.iter().all(|c| c.source.and_then(|i| stored.get(i)).is_some_and(|n| *n == c.name)) =>
        {
            Some(InPlace { path: path.to_path_buf(), rows: 0, reopen })
        }
        _ => None,
    }
}

/// Read every block of `reader` and sweep it: the reader runs on its own
/// thread, a window of blocks ahead; each window is typed in parallel, then
/// swept in order, `progress` told every [`PROGRESS_EVERY`] rows or so. A
/// reader's error is put `within` the source.
fn read_and_sweep(
    reader: &mut dyn RowReader,
    rules: &Rules<'_>,
    sweep: &mut Sweep<'_>,
    within: &dyn Fn(Diagnostic) -> Diagnostic,
    progress: &dyn Fn(u64),
) -> Result<()> {
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<RawBatch>>(window());
        scope.spawn(move || {
            while let Some(raw) = reader.next_batch() {
                let failed = raw.is_err();
                // A closed channel: the sweep stopped (a bad row with `on_bad_rows: fail`).
                if send.send(raw).is_err() || failed {
                    break;
                }
            }
        });
        let mut reported = 0u64;
        loop {
            let raws = receive.iter().take(window()).collect::<Result<Vec<RawBatch>>>().map_err(within)?;
            if raws.is_empty() {
                return Ok(());
            }
            let typed: Vec<Result<columns::TypedBatch>> =
                raws.par_iter().map(|raw| columns::type_batch(rules, raw)).collect();
            for (raw, typed) in raws.iter().zip(typed) {
                sweep.sweep(raw, typed?)?;
                if sweep.read / PROGRESS_EVERY > reported / PROGRESS_EVERY {
                    reported = sweep.read;
                    progress(sweep.read);
                }
            }
        }
    })
}
