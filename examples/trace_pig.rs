//! Trace a pig (or a pack, or a lot) by its ID on the embedded store.
//!
//! ```text
//! cargo run --release --example trace_pig                          # a default pig
//! cargo run --release --example trace_pig -- 161083000001001       # that pig (ear tag)
//! cargo run --release --example trace_pig -- lot:06901234561111/QJ1001-B-P1   # a pack: trace back
//! cargo run --release --example trace_pig -- --json 161083000001001
//! ```
//!
//! With no store yet, it first builds the demo cooperative (300 pigs, seed 2026; `--pigs N`
//! scales it to millions of records) in `target/agritrace-demo/ledger.sqlite` (or
//! `--store PATH`). It writes an SVG chart of the
//! pig's weight and daily steps next to the store and prints its path.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    reason = "an example prints its report"
)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{Policy, SqliteStore, Store, StoreError, SubjectId, TraceError, trace};
use rayon::prelude::*;

const SEED: u64 = 2026;
const EXAMPLE_ID: &str = "eartag:161083000001001";

struct Args {
    id: Option<String>,
    json: bool,
    store: PathBuf,
    /// Build the demo when the store does not exist yet (the default store, or `--build-demo`).
    build: bool,
    pigs: u32,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        id: None,
        json: false,
        store: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/agritrace-demo/ledger.sqlite"),
        build: true,
        pigs: DemoConfig::new(SEED).pigs,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => a.json = true,
            "--store" => {
                a.store = it.next().ok_or("--store takes a path")?.into();
                a.build = false;
            }
            "--build-demo" => a.build = true,
            "--pigs" => {
                a.pigs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--pigs takes a positive number")?;
            }
            "-h" | "--help" => return Err(usage()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{}", usage())),
            s => a.id = Some(s.to_owned()),
        }
    }
    Ok(a)
}

fn usage() -> String {
    format!(
        "usage: trace_pig [--json] [--store PATH] [--build-demo] [--pigs N] [ID]\n  ID: an ear tag (15 digits, or {EXAMPLE_ID}), iso11784:…, or lot:GTIN14/LOT\n  --build-demo: build the demo cooperative at PATH when no store is there (the default
            store is built on first use without it)
  --pigs N: demo size when PATH holds no store yet (default 300 pigs, ~110,000 records;\n            10,000 pigs is ~3.7 million records)"
    )
}

/// Reads an ID as a person types it, echoing at most 40 characters of it in the error.
fn parse_id(s: &str) -> Result<SubjectId, String> {
    SubjectId::parse_typed(s).map_err(|e| {
        let shown: String = s.trim().chars().take(40).collect();
        let more = if shown.len() < s.trim().len() { "…" } else { "" };
        format!(
            "{shown:?}{more} is not a valid ID: {e}\n  for example: {EXAMPLE_ID} (or just 161083000001001)"
        )
    })
}

/// Opens the store at `path`; builds the demo there only when asked to (`build`) and no
/// store exists yet, so a mistyped or emptied store is reported, never filled with demo data.
fn open_or_build(
    path: &PathBuf,
    build: bool,
    pigs: u32,
) -> Result<SqliteStore, Box<dyn std::error::Error>> {
    if !build || path.exists() {
        let store = SqliteStore::open(path).map_err(|e| {
            format!("{e}\n  (give --build-demo to build the demo cooperative there)")
        })?;
        if store.is_empty()? {
            return Err(format!("the store {} holds no records", path.display()).into());
        }
        return Ok(store);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let cfg = DemoConfig {
        pigs,
        ..DemoConfig::new(SEED)
    };
    let store = cfg.create_store(Some(path))?;
    {
        let t = Instant::now();
        eprintln!("building the demo cooperative in {} …", path.display());
        let keys = cfg.keys();
        let mut n = 0;
        // Groups of pigs signed on all cores, each pig followed by its cuts and packs (a
        // valid log order), so a store of millions of records builds in bounded memory.
        for first in (0..pigs).step_by(500) {
            let last = (first + 500).min(pigs);
            let group: Vec<Vec<_>> = (first..last)
                .into_par_iter()
                .map(|i| cfg.pig_records(&keys, i))
                .collect();
            let mut records: Vec<_> = group.into_iter().flatten().collect();
            if last == pigs {
                records.extend(cfg.produce_records(&keys));
            }
            for batch in records.chunks(1000) {
                store.append_batch(batch)?;
            }
            n += records.len();
        }
        eprintln!("  {n} records in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok(store)
}

/// The first demo pig that went to slaughter (so the trace shows cuts and packs).
fn default_pig(store: &SqliteStore) -> Result<SubjectId, Box<dyn std::error::Error>> {
    let cfg = DemoConfig::new(SEED);
    for i in 0..cfg.pigs {
        let Some(pig) = cfg.pig(i) else { break };
        if !store.children(&pig)?.is_empty() {
            return Ok(pig);
        }
    }
    Ok(cfg.pig(0).ok_or("demo has no pigs")?)
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let id = a.id.as_deref().map(parse_id).transpose()?;
    let store = open_or_build(&a.store, a.build, a.pigs)?;
    let id = match id {
        Some(id) => id,
        None => default_pig(&store)?,
    };
    // The trust the store holds (signed statements by its operator); a store made before
    // trust was kept as data has none, and is read with the demo's keys.
    let trust = match store.trust_history() {
        Ok(h) => h.trust().clone(),
        Err(StoreError::NoOperator) => {
            eprintln!("note: this store keeps no trust history; using the demo's keys");
            DemoConfig::new(SEED).trust()
        }
        Err(e) => return Err(e.into()),
    };
    let t = match trace(&store, &trust, &Policy::livestock(), &id) {
        Ok(t) => t,
        Err(TraceError::NotFound(id)) => {
            return Err(format!(
                "no records for {id} in {}\n  for example: {EXAMPLE_ID}",
                a.store.display()
            )
            .into());
        }
        Err(TraceError::Verify(errors)) => {
            let mut msg = format!(
                "VERIFICATION FAILED for {id}: {} chain(s) rejected",
                errors.len()
            );
            for e in &errors {
                let _ = write!(msg, "\n  {e}");
            }
            return Err(msg.into());
        }
        Err(e) => return Err(e.into()),
    };
    let svg_path = t.svg().map(|svg| {
        let path = a
            .store
            .with_file_name(format!("{}.svg", id.to_string().replace([':', '/'], "_")));
        std::fs::write(&path, svg).map(|()| path)
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&t)?);
    } else {
        print!("{t}");
    }
    match svg_path {
        Some(Ok(p)) => eprintln!("chart: {}", p.display()),
        Some(Err(e)) => eprintln!("chart not written: {e}"),
        None => {}
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
