//! Store throughput and trace latency on the embedded SQLite store.
//!
//! ```text
//! cargo run --release --example bench_store             # full run (builds a 1M-record store once)
//! cargo run --release --example bench_store -- --quick  # small (CI)
//! cargo run --release --example bench_store -- --appends-only  # the two batched figures, as JSON
//! ```
//!
//! Prints: appends/s with signing, in batches of 1,000 (signing on all cores, one
//! transaction per batch); appends/s of records signed beforehand, in batches of 1,000
//! (the store's own cost, admission included); durable single-record appends/s (one transaction and one WAL
//! sync each); and the latency to trace one pig — lineage lookup, reads, verification of
//! its chain, cuts and packs — in a store of about 1,000,000 records (p50 and p95).

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark prints its report; rates are approximate by nature"
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{Chain, Event, Policy, SignedRecord, SqliteStore, Store, Timestamp, trace};
use rayon::prelude::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/agritrace-bench")
}

fn fresh(name: &str, cfg: &DemoConfig) -> Result<SqliteStore, Box<dyn std::error::Error>> {
    let path = dir().join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(cfg.create_store(Some(&path))?)
}

/// Appends/s: sign (all cores) and append in batches of 1,000, end to end. Signing runs
/// in a producer thread while the store commits the previous batch.
fn batched(pigs: u32) -> Result<f64, Box<dyn std::error::Error>> {
    let cfg = DemoConfig {
        pigs,
        produce: false,
        ..DemoConfig::new(7)
    };
    let store = fresh("batched.sqlite", &cfg)?;
    let keys = cfg.keys();
    let t = Instant::now();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SignedRecord>>(16);
    let mut n = 0usize;
    std::thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
        let (cfg, keys) = (&cfg, &keys);
        scope.spawn(move || {
            let mut pending: Vec<SignedRecord> = Vec::with_capacity(2_000);
            for first in (0..pigs).step_by(32) {
                let group: Vec<_> = (first..(first + 32).min(pigs))
                    .into_par_iter()
                    .map(|i| cfg.pig_records(keys, i))
                    .collect();
                pending.extend(group.into_iter().flatten());
                while pending.len() >= 1_000 {
                    let rest = pending.split_off(1_000);
                    if tx.send(std::mem::replace(&mut pending, rest)).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(pending);
        });
        for batch in rx {
            store.append_batch(&batch)?;
            n += batch.len();
        }
        Ok(())
    })?;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Appends/s of records signed beforehand (as a store receives them from gateways and
/// farm back-ends that sign), in batches of 1,000: the store's own cost, admission
/// included.
fn presigned(pigs: u32) -> Result<f64, Box<dyn std::error::Error>> {
    let cfg = DemoConfig {
        pigs,
        produce: false,
        ..DemoConfig::new(7)
    };
    let store = fresh("presigned.sqlite", &cfg)?;
    let keys = cfg.keys();
    let records = cfg.pigs_records(&keys, 0..pigs);
    let t = Instant::now();
    for batch in records.chunks(1_000) {
        store.append_batch(batch)?;
    }
    Ok(records.len() as f64 / t.elapsed().as_secs_f64())
}

/// Durable single-record appends/s (records signed beforehand).
fn single(count: u32) -> Result<f64, Box<dyn std::error::Error>> {
    let cfg = DemoConfig::new(7);
    let store = fresh("single.sqlite", &cfg)?;
    let keys = cfg.keys();
    let pig = cfg.pig(0).ok_or("no pig")?;
    let mut chain = Chain::new(pig);
    let records: Vec<_> = (0..count)
        .map(|i| {
            chain.append(
                &keys.scales[0],
                // From 2026-01-01, inside the demo keys' validity window.
                Timestamp::from_millis(1_767_225_600_000 + i64::from(i)),
                Event::Weighing { grams: 1_000 + i },
            )
        })
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    for r in &records {
        store.append(r)?;
    }
    Ok(f64::from(count) / t.elapsed().as_secs_f64())
}

/// Builds (once) a demo store of about `records` records; returns it and its config.
fn big_store(
    records: u64,
    path: &Path,
) -> Result<(SqliteStore, DemoConfig), Box<dyn std::error::Error>> {
    // About 370 records per pig in the default demo, cuts, packs and produce included.
    let pigs = u32::try_from(records / 370).unwrap_or(u32::MAX).max(10);
    let cfg = DemoConfig {
        pigs,
        ..DemoConfig::new(2026)
    };
    let store = if path.exists() {
        SqliteStore::open(path)?
    } else {
        cfg.create_store(Some(path))?
    };
    if store.len()? == 0 {
        let t = Instant::now();
        let farm = cfg.generate();
        for batch in farm.records.chunks(1_000) {
            store.append_batch(batch)?;
        }
        println!(
            "built {} with {} records in {:.0} s",
            path.display(),
            farm.records.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok((store, cfg))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let json = std::env::args().any(|a| a == "--json");
    std::fs::create_dir_all(dir())?;
    let (pigs, singles, size, traces) = if quick {
        (20, 200, 20_000, 10)
    } else {
        (400, 2_000, 1_000_000, 101)
    };
    let batch_rate = batched(pigs)?;
    let presigned_rate = presigned(pigs)?;
    if std::env::args().any(|a| a == "--appends-only") {
        println!(
            "{{\"batched_appends_per_s\":{batch_rate:.0},\"presigned_appends_per_s\":{presigned_rate:.0}}}"
        );
        return Ok(());
    }
    let single_rate = single(singles)?;
    let path = dir().join(format!("demo-{size}.sqlite"));
    let (store, cfg) = big_store(size, &path)?;
    let trust = cfg.trust();
    let policy = Policy::livestock();
    let pigs_with_products: Vec<_> = (0..cfg.pigs)
        .filter_map(|i| cfg.pig(i))
        .filter(|p| store.children(p).is_ok_and(|c| !c.is_empty()))
        .take(traces)
        .collect();
    let mut ms: Vec<f64> = Vec::new();
    let mut records = 0;
    for pig in &pigs_with_products {
        let t = Instant::now();
        let tr = trace(&store, &trust, &policy, pig)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        records += tr.verification.records;
    }
    ms.sort_by(f64::total_cmp);
    let pct = |percent: usize| {
        ms.get(ms.len().saturating_sub(1) * percent / 100)
            .copied()
            .unwrap_or(0.0)
    };
    let store_len = store.len()?;
    let per_trace = records / pigs_with_products.len().max(1);
    if json {
        println!(
            "{{\"batched_appends_per_s\":{batch_rate:.0},\"presigned_appends_per_s\":{presigned_rate:.0},\"single_appends_per_s\":{single_rate:.0},\"store_records\":{store_len},\"trace_p50_ms\":{:.2},\"trace_p95_ms\":{:.2},\"records_per_trace\":{per_trace}}}",
            pct(50),
            pct(95)
        );
    } else {
        println!("appends/s, signing + append in batches of 1,000:  {batch_rate:>9.0}");
        println!("appends/s of presigned records, batches of 1,000: {presigned_rate:>9.0}");
        println!("durable single-record appends/s:                  {single_rate:>9.0}");
        println!(
            "trace one pig in a {store_len}-record store: p50 {:.2} ms, p95 {:.2} ms ({} traces, {per_trace} records each)",
            pct(50),
            pct(95),
            ms.len()
        );
    }
    Ok(())
}
