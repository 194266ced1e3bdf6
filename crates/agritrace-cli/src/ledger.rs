//! Ledger files in and out, verification, traces and the demo.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{
    FrameError, LEDGER_MAGIC, LedgerReader, LedgerVerifier, Policy, SignedRecord, Store as _,
    StoreError, StreamError, SubjectId, TraceError, VerifyError, lineage_closure, thousands,
};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use crate::output::{
    AnyStore, create_store, history, interactive, note, open_store, parse_id, store_exists,
};
use crate::progress::{self, BytesRead, Counted, Counter};
use crate::{Failure, Global, Outcome};

/// Records appended per transaction when importing.
const IMPORT_BATCH: usize = 1_000;
/// Records read per page when streaming the store.
const PAGE: usize = 4_096;

#[derive(Args)]
pub struct ImportArgs {
    /// The ledger file.
    file: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Only this subject, with every record its trace needs (ancestors and products).
    #[arg(long, value_parser = parse_id, value_name = "ID")]
    subject: Option<SubjectId>,
    /// The ledger file to write.
    file: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// A ledger file to verify (streaming), under the store's trust; without it, the
    /// whole store and its bookkeeping.
    file: Option<PathBuf>,
    /// Verifier threads [default: all cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// The verdict as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TraceArgs {
    /// An ear tag (15 digits or eartag:…), iso11784:…, or a lot (lot:GTIN14/LOT).
    #[arg(value_parser = parse_id)]
    id: SubjectId,
    /// The trace as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the weight and steps chart (SVG) to FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Pigs (about 370 records each with their cuts and packs).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pigs: u32,
    /// The demo's seed (its keys derive from it).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self {
            pigs: 300,
            seed: 2026,
        }
    }
}

pub fn import(g: &Global, a: &ImportArgs) -> Result<Outcome, Failure> {
    let store = open_store(&g.store)?;
    let open = || {
        LedgerReader::open(&a.file)
            .map_err(|e| Failure::error(format!("{}: {e}", a.file.display())))
    };
    // First pass: the whole file reads as frames, so a truncated or damaged file changes
    // nothing.
    let mut total = 0u64;
    for r in open()? {
        r.map_err(|e| {
            Failure::refused(format!("{}: {e}", a.file.display())).with("nothing was imported")
        })?;
        total += 1;
    }
    let (mut imported, mut skipped) = (0u64, 0u64);
    let mut batch: Vec<SignedRecord> = Vec::with_capacity(IMPORT_BATCH);
    let mut index = 0u64;
    let mut flush = |batch: &mut Vec<SignedRecord>, first_index: u64| -> Result<(), Failure> {
        if batch.is_empty() {
            return Ok(());
        }
        match store.append_batch(batch) {
            Ok(_) => {
                imported += batch.len() as u64;
                batch.clear();
                Ok(())
            }
            Err(StoreError::Refused {
                index, conflict, ..
            }) => Err(Failure::refused(format!(
                "{}: record {} refused: {conflict}",
                a.file.display(),
                first_index + index as u64
            ))
            .with(format!(
                "{imported} records before it were imported (in batches of {IMPORT_BATCH})"
            ))),
            Err(e) => Err(e.into()),
        }
    };
    let mut first_index = 0u64;
    for r in open()? {
        let r = r.map_err(|e| Failure::error(format!("{}: {e}", a.file.display())))?;
        index += 1;
        // Already stored (an import run again): skip it, so importing is idempotent.
        if store.get(&r.id())?.is_some() {
            skipped += 1;
            continue;
        }
        if batch.is_empty() {
            first_index = index - 1;
        }
        batch.push(r);
        if batch.len() == IMPORT_BATCH {
            flush(&mut batch, first_index)?;
        }
    }
    flush(&mut batch, first_index)?;
    println!(
        "imported {imported} of {total} records from {}{}",
        a.file.display(),
        if skipped > 0 {
            format!(" ({skipped} already stored)")
        } else {
            String::new()
        }
    );
    Ok(Outcome::Done)
}

pub fn export(g: &Global, a: &ExportArgs) -> Result<Outcome, Failure> {
    let store = open_store(&g.store)?;
    let fail =
        |e: std::io::Error| Failure::error(format!("cannot write {}: {e}", a.file.display()));
    let mut out = BufWriter::new(File::create(&a.file).map_err(fail)?);
    out.write_all(LEDGER_MAGIC).map_err(fail)?;
    let mut frame = Vec::with_capacity(4096);
    let mut n = 0u64;
    let mut write = |r: &SignedRecord| -> Result<(), Failure> {
        frame.clear();
        r.write_frame(&mut frame);
        n += 1;
        out.write_all(&frame).map_err(fail)
    };
    match &a.subject {
        None => {
            for r in store.stream(PAGE) {
                write(&r?)?;
            }
        }
        Some(id) => {
            for r in &subject_records(&store, id, &g.store)? {
                write(r)?;
            }
        }
    }
    out.flush().map_err(fail)?;
    println!("exported {n} records to {}", a.file.display());
    Ok(Outcome::Done)
}

/// The records of `id` and its lineage (what a trace of it reads), in log order, so a file
/// of them verifies and imports as it stands.
pub fn subject_records(
    store: &AnyStore,
    id: &SubjectId,
    path: &std::path::Path,
) -> Result<Vec<SignedRecord>, Failure> {
    let subjects = lineage_closure(store, id).map_err(Failure::error)?;
    if subjects.is_empty() || store.tip(id)?.is_none() {
        return Err(Failure::error(format!(
            "no records for {id} in {}",
            path.display()
        )));
    }
    let mut records: Vec<(u64, SignedRecord)> = Vec::new();
    for s in &subjects {
        for r in store.chain(s)? {
            let pos = store.get(&r.id())?.map_or(u64::MAX, |(p, _)| p);
            records.push((pos, r));
        }
    }
    records.sort_by_key(|(p, _)| *p);
    Ok(records.into_iter().map(|(_, r)| r).collect())
}

/// A verdict as `--json` prints it.
#[derive(Serialize)]
struct Verdict<'a> {
    verified: bool,
    source: String,
    records: u64,
    chains: usize,
    seconds: f64,
    records_per_second: f64,
    rejected: usize,
    failures: Vec<Failed<'a>>,
    damage: Option<String>,
}

#[derive(Serialize)]
struct Failed<'a> {
    position: usize,
    subject: Option<&'a SubjectId>,
    record: Option<String>,
    reason: String,
}

pub fn verify(g: &Global, a: &VerifyArgs) -> Result<Outcome, Failure> {
    let store = open_store(&g.store)?;
    let trust = history(&store, &g.store)?.trust().clone();
    let policy = Policy::livestock();
    let mut verifier = LedgerVerifier::new(&trust, &policy);
    if let Some(n) = a.threads {
        verifier = verifier.threads(usize::from(n));
    }
    let shown = interactive(g.quiet);
    let started = Instant::now();
    let (source, result) = if let Some(path) = &a.file {
        {
            let len = std::fs::metadata(path)
                .map_err(|e| Failure::error(format!("cannot read {}: {e}", path.display())))?
                .len();
            // Two passes over the file: the bar runs over twice its length.
            let counter = Counter::new(progress::bar(shown, len.saturating_mul(2)), false);
            let result = verifier.verify_stream(|| {
                let file = File::open(path)?;
                let reader = LedgerReader::new(BufReader::with_capacity(
                    1 << 20,
                    BytesRead {
                        inner: file,
                        bar: counter.bar().clone(),
                    },
                ))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
                Ok::<_, std::io::Error>(Counted {
                    inner: reader,
                    counter: &counter,
                })
            });
            end_bar(counter, &result);
            (path.display().to_string(), result)
        }
    } else {
        {
            let len = store.len()?;
            let counter = Counter::new(progress::bar(shown, len.saturating_mul(2)), true);
            // The log as it was when verification started: both passes read the same
            // records even while others append.
            let upto = usize::try_from(len).unwrap_or(usize::MAX);
            let result = verifier.verify_stream(|| {
                Ok::<_, StoreError>(Counted {
                    inner: store.stream(PAGE).take(upto),
                    counter: &counter,
                })
            });
            end_bar(counter, &result);
            (g.store.display().to_string(), result)
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    // The store's own bookkeeping (tips, lineage counts, SQLite's check) when verifying it.
    let damage = match (&a.file, &result) {
        (None, Ok(_)) => store.check_integrity().err().map(|e| {
            format!("the records verify, but the store's bookkeeping does not match them: {e}")
        }),
        _ => None,
    };
    let (records, chains, errors, rejected) = match &result {
        Ok(l) => (l.records(), l.tips().len(), Vec::new(), 0),
        Err(StreamError::Rejected { errors, total }) => (0, 0, errors.errors.clone(), *total),
        Err(StreamError::Source(e)) => {
            // A file that is not a whole ledger (truncated, damaged framing) does not
            // verify; failing to read it at all is an I/O error.
            return match e.downcast_ref::<FrameError>() {
                Some(FrameError::Io { .. }) | None => Err(Failure::error(format!("{source}: {e}"))),
                Some(frame) => {
                    let v = Verdict {
                        verified: false,
                        source,
                        records: 0,
                        chains: 0,
                        seconds,
                        records_per_second: 0.0,
                        rejected: 0,
                        failures: Vec::new(),
                        damage: Some(format!("not a whole ledger file: {frame}")),
                    };
                    report(&v, a.json)?;
                    Ok(Outcome::Failed)
                }
            };
        }
        Err(e) => return Err(Failure::error(format!("{source}: {e}"))),
    };
    #[allow(clippy::cast_precision_loss, reason = "a displayed rate")]
    let rate = records as f64 / seconds.max(1e-9);
    let v = Verdict {
        verified: errors.is_empty() && damage.is_none(),
        source,
        records,
        chains,
        seconds,
        records_per_second: rate,
        rejected,
        failures: errors.iter().map(failed).collect(),
        damage,
    };
    report(&v, a.json)?;
    Ok(if v.verified {
        Outcome::Done
    } else {
        Outcome::Failed
    })
}

/// Prints a verdict: as JSON, or one line and each failed record on its own line.
fn report(v: &Verdict<'_>, json: bool) -> Result<(), Failure> {
    let source = &v.source;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(v).map_err(Failure::error)?
        );
    } else if v.verified {
        println!(
            "VERIFIED {source}: {} records in {} chains, {:.1} s ({} records/s)",
            thousands(v.records),
            thousands(v.chains as u64),
            v.seconds,
            thousands(rounded(v.records_per_second))
        );
    } else if let Some(d) = &v.damage {
        println!("VERIFICATION FAILED {source}: {d}");
    } else {
        println!(
            "VERIFICATION FAILED {source}: {} record(s) rejected",
            v.rejected
        );
        for f in &v.failures {
            println!(
                "  position {} {} record {}: {}",
                f.position,
                f.subject
                    .map_or_else(|| "(undecodable)".to_owned(), ToString::to_string),
                f.record.as_deref().unwrap_or("-"),
                f.reason
            );
        }
        if v.rejected > v.failures.len() {
            println!("  … and {} more", v.rejected - v.failures.len());
        }
    }
    Ok(())
}

/// A non-negative rate, rounded, for display.
fn rounded(x: f64) -> u64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to the u64 range first"
    )]
    let n = x.round().clamp(0.0, 1.8e19) as u64;
    n
}

fn failed(e: &VerifyError) -> Failed<'_> {
    Failed {
        position: e.index,
        subject: e.subject.as_ref(),
        record: e.record.map(|r| r.to_string()),
        reason: e.reason.to_string(),
    }
}

fn end_bar(counter: Counter, result: &Result<agritrace::VerifiedLedger, StreamError>) {
    match result {
        Ok(l) => counter.finish("verified", l.records()),
        Err(StreamError::Rejected { total, .. }) => {
            counter.abandon(&format!("FAILED: {total} record(s) rejected"));
        }
        Err(_) => counter.abandon("stopped"),
    }
}

pub fn trace(g: &Global, a: &TraceArgs) -> Result<Outcome, Failure> {
    let store = open_store(&g.store)?;
    let trust = history(&store, &g.store)?.trust().clone();
    let t = match agritrace::trace(&store, &trust, &Policy::livestock(), &a.id) {
        Ok(t) => t,
        Err(TraceError::NotFound(id)) => {
            return Err(Failure::error(format!(
                "no records for {id} in {}",
                g.store.display()
            )));
        }
        Err(TraceError::Verify(failures)) => {
            println!(
                "VERIFICATION FAILED for {}: {} chain(s) rejected",
                a.id,
                failures.len()
            );
            for f in &failures {
                println!("  {f}");
            }
            return Ok(Outcome::Failed);
        }
        Err(e @ TraceError::Damaged { .. }) => {
            println!("DAMAGED: {e}");
            return Ok(Outcome::Failed);
        }
        Err(e) => return Err(Failure::error(e)),
    };
    if let Some(path) = &a.svg {
        let svg = t
            .svg()
            .ok_or_else(|| Failure::error(format!("{} has no weight or steps to chart", a.id)))?;
        std::fs::write(path, svg)
            .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))?;
        note(g.quiet, format!("chart: {}", path.display()));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&t).map_err(Failure::error)?
        );
    } else {
        print!("{t}");
    }
    Ok(Outcome::Done)
}

pub fn demo(g: &Global, a: &DemoArgs) -> Result<Outcome, Failure> {
    let cfg = DemoConfig {
        pigs: a.pigs,
        ..DemoConfig::new(a.seed)
    };
    let key_path = g.operator_key_path();
    if store_exists(&g.store) {
        return Err(Failure::error(format!(
            "{} exists; the demo builds only into a new store",
            g.store.display()
        )));
    }
    let operator = cfg.operator().map_err(|e| Failure::error(e.to_string()))?;
    let store = create_store(&g.store, operator.verifier())?;
    cfg.grant_demo_keys(&store)?;
    crate::keyfile::write(
        &key_path,
        agritrace::demo::DEMO_ORIGIN,
        &agritrace::Signer::from_seed(agritrace::demo::DEMO_OPERATOR_SEED),
    )?;
    let estimate = u64::from(a.pigs) * 370;
    let counter = Counter::new(progress::bar(interactive(g.quiet), estimate), true);
    let keys = cfg.keys();
    let mut n = 0u64;
    // Groups of pigs signed on all cores, each pig followed by its cuts and packs.
    for first in (0..a.pigs).step_by(256) {
        let last = (first + 256).min(a.pigs);
        let group: Vec<Vec<SignedRecord>> = (first..last)
            .into_par_iter()
            .map(|i| cfg.pig_records(&keys, i))
            .collect();
        let mut records: Vec<SignedRecord> = group.into_iter().flatten().collect();
        if last == a.pigs && cfg.produce {
            records.extend(cfg.produce_records(&keys));
        }
        for batch in records.chunks(IMPORT_BATCH) {
            store.append_batch(batch)?;
            for _ in batch {
                counter.tick();
            }
        }
        n += records.len() as u64;
    }
    counter.bar().set_length(n);
    counter.finish("built", n);
    println!(
        "demo cooperative: {} pigs, {} records in {}; operator key {}",
        a.pigs,
        thousands(n),
        g.store.display(),
        key_path.display()
    );
    Ok(Outcome::Done)
}
