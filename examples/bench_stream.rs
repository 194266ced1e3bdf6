//! Streaming verification of a large ledger file in bounded memory.
//!
//! ```text
//! # build a 10,000,000-record ledger once (cached on disk), then verify it:
//! cargo run --release --example bench_stream -- build target/ledger-10m.bin 10000000
//! /usr/bin/time -v target/release/examples/bench_stream verify target/ledger-10m.bin
//! ```
//!
//! `verify` prints records, chains, seconds, records/s and the process's peak RSS.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark prints its report; rates are approximate by nature"
)]

#[path = "../benches/support/mod.rs"]
#[allow(dead_code, reason = "this example uses only the RSS probe")]
mod support;

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{LedgerReader, LedgerVerifier, Policy};

/// About 150 records per pig: pigs up to ~130 days old with daily steps, weekly weights
/// and feed (one chain per pig; no pig has reached slaughter yet).
const RECORDS_PER_PIG: u32 = 150;
const SEED: u64 = 10_000_000;

/// A ledger of at least `records` records: the pig count is calibrated on a sample.
fn config(records: u64) -> DemoConfig {
    let probe = DemoConfig::bench(SEED, 64, RECORDS_PER_PIG);
    let keys = probe.keys();
    let sample: usize = (0..64).map(|i| probe.pig_records(&keys, i).len()).sum();
    let per_pig = (sample / 64).max(1) as u64;
    // 1% more pigs than the sample suggests, so the ledger is never short of `records`.
    let pigs = u32::try_from(records.div_ceil(per_pig) * 101 / 100).unwrap_or(u32::MAX);
    DemoConfig::bench(SEED, pigs, RECORDS_PER_PIG)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["build", path, n] => {
            let n: u64 = n.parse().map_err(|_| "record count must be a number")?;
            let t = Instant::now();
            let out = BufWriter::with_capacity(1 << 20, File::create(path)?);
            let written = config(n).write_ledger(out)?;
            println!(
                "wrote {written} records to {path} in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        ["verify", path] => {
            // The trust store is the demo's: the same seed gives the same keys.
            let trust = DemoConfig::bench(SEED, 1, RECORDS_PER_PIG).trust();
            let policy = Policy::livestock();
            let t = Instant::now();
            let ledger =
                LedgerVerifier::new(&trust, &policy).verify_stream(|| LedgerReader::open(path))?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "verified {} records in {} chains in {secs:.1} s: {:.0} records/s (both passes), peak RSS {:.1} MiB",
                ledger.records(),
                ledger.tips().len(),
                ledger.records() as f64 / secs,
                support::peak_rss_bytes() as f64 / (1024.0 * 1024.0)
            );
        }
        _ => {
            return Err("usage: bench_stream build PATH RECORDS | bench_stream verify PATH".into());
        }
    }
    Ok(())
}
