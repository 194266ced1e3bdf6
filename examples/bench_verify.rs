//! Verification throughput, one command: naive baseline, raw crypto bound, the library on
//! one thread and on all cores, a ledger where every record has its own key, and
//! checkpoint-trusted verification (transparency log) of the same ledger.
//!
//! ```text
//! cargo run --release --example bench_verify            # readable table
//! cargo run --release --example bench_verify -- --json  # one JSON object
//! cargo run --release --example bench_verify -- --quick # small ledger (CI)
//! ```
//!
//! Every figure is a median over rounds in this process (each round runs every contender
//! once, in turn), so ratios compare like with
//! like on a noisy machine.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    reason = "a benchmark prints its report; rates are approximate by nature"
)]

use std::time::Instant;

#[path = "../benches/support/mod.rs"]
mod support;

use agritrace::demo::DemoConfig;
use agritrace::{LedgerVerifier, Policy};
use support::{
    as_read, checkpoint_for, checkpoint_verify, distinct_key_ledger, naive, peak_rss_bytes,
    raw_bound, triples,
};

struct Args {
    json: bool,
    pigs: u32,
    per_pig: u32,
    distinct: u32,
    naive_sample: usize,
    runs: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        json: false,
        pigs: 1_000,
        per_pig: 100,
        distinct: 20_000,
        naive_sample: 10_000,
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<u32, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} takes a number"))
        };
        match flag.as_str() {
            "--json" => a.json = true,
            "--quick" => {
                (a.pigs, a.per_pig, a.distinct, a.naive_sample, a.runs) = (60, 50, 1_000, 500, 3);
            }
            "--pigs" => a.pigs = num("--pigs")?,
            "--records-per-pig" => a.per_pig = num("--records-per-pig")?,
            "--distinct" => a.distinct = num("--distinct")?,
            "--runs" => a.runs = num("--runs")?.max(1) as usize,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; try --json, --quick, --pigs N, --records-per-pig N, --distinct N, --runs N"
                ));
            }
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let policy = Policy::livestock();
    let t0 = Instant::now();
    let mut farm = DemoConfig::bench(2026, a.pigs, a.per_pig).generate();
    farm.records = as_read(&farm.records)?;
    let n = farm.records.len();
    let (dtrust, drecords) = distinct_key_ledger(a.distinct);
    let drecords = as_read(&drecords)?;
    if !a.json {
        eprintln!(
            "ledger: {n} records of {} pigs, {} signing keys; distinct-key ledger: {} records ({:.1} s to build)",
            a.pigs,
            farm.trust.len(),
            drecords.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    // Everything must verify before it is timed.
    let _ = LedgerVerifier::new(&farm.trust, &policy).verify(&farm.records)?;
    let _ = LedgerVerifier::new(&dtrust, &policy).verify(&drecords)?;
    let sample = &farm.records[..a.naive_sample.min(n)];
    if naive(sample) != sample.len() {
        return Err("naive baseline rejected a valid record".into());
    }
    let tr = triples(&farm.records);
    let chunk = agritrace::DEFAULT_CHUNK_SIZE;
    if !raw_bound(&tr, chunk) {
        return Err("raw bound rejected a valid batch".into());
    }
    let (log, note) = checkpoint_for(&farm.records)?;
    if !checkpoint_verify(&log, &note, &farm.records, Some(1)) {
        return Err("checkpoint mode rejected the ledger".into());
    }

    // Rounds: each round times every contender once, in turn, so a slow spell of the
    // machine hits all of them alike; each figure is the median over rounds. Single-thread
    // contenders run first, then the all-cores ones, the raw bound right before the
    // library, so the pairs that make the ratios run back to back.
    let one = LedgerVerifier::new(&farm.trust, &policy).threads(1);
    let all = LedgerVerifier::new(&farm.trust, &policy);
    let dv = LedgerVerifier::new(&dtrust, &policy);
    let mut times: [Vec<f64>; 7] = Default::default();
    for _ in 0..a.runs {
        // (slot in the report, records, run)
        let round: [(usize, usize, &dyn Fn()); 7] = [
            (0, sample.len(), &|| {
                std::hint::black_box(naive(sample));
            }),
            (2, n, &|| {
                std::hint::black_box(one.verify(&farm.records).is_ok());
            }),
            (5, n, &|| {
                std::hint::black_box(checkpoint_verify(&log, &note, &farm.records, Some(1)));
            }),
            (1, n, &|| {
                std::hint::black_box(raw_bound(&tr, chunk));
            }),
            (3, n, &|| {
                std::hint::black_box(all.verify(&farm.records).is_ok());
            }),
            (4, drecords.len(), &|| {
                std::hint::black_box(dv.verify(&drecords).is_ok());
            }),
            (6, n, &|| {
                std::hint::black_box(checkpoint_verify(&log, &note, &farm.records, None));
            }),
        ];
        for (slot, count, f) in round {
            let t = Instant::now();
            f();
            times[slot].push(count as f64 / t.elapsed().as_secs_f64());
        }
    }
    let rates = times.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    });
    report(&a, rates, n, chunk);
    Ok(())
}

/// Prints the median records/s of (a)–(g), in that order.
fn report(a: &Args, rates: [f64; 7], n: usize, chunk: usize) {
    let [naive_rate, raw, lib_1t, lib_all, distinct, cp_1t, cp_all] = rates;
    let rss = peak_rss_bytes();

    if a.json {
        println!(
            "{{\"naive\":{naive_rate:.0},\"raw_bound\":{raw:.0},\"lib_1t\":{lib_1t:.0},\"lib_all\":{lib_all:.0},\"distinct_keys\":{distinct:.0},\"checkpoint_1t\":{cp_1t:.0},\"checkpoint_all\":{cp_all:.0},\"peak_rss_bytes\":{rss},\"records\":{n},\"threads\":{},\"chunk\":{chunk}}}",
            rayon::current_num_threads()
        );
        return;
    }
    println!(
        "records/s, median of {} runs, {} threads, batches of {chunk}",
        a.runs,
        rayon::current_num_threads()
    );
    println!("  (a) naive: decode + hash + dalek verify_strict, sequential  {naive_rate:>10.0}");
    println!("  (b) raw bound: zebra batches on all cores, no chain logic   {raw:>10.0}");
    println!("  (c) library, 1 thread                                       {lib_1t:>10.0}");
    println!("  (d) library, all cores                                      {lib_all:>10.0}");
    println!("  (e) library, all cores, every record its own key            {distinct:>10.0}");
    println!(
        "ratios: d/a {:.2}  d/b {:.2}  d/c {:.2}  e/a {:.2}",
        lib_all / naive_rate,
        lib_all / raw,
        lib_all / lib_1t,
        distinct / naive_rate
    );
    println!("  (f) checkpoint-trusted (re-hash + Merkle root), 1 thread    {cp_1t:>10.0}");
    println!("  (g) checkpoint-trusted, all cores                           {cp_all:>10.0}");
    println!(
        "checkpoint mode: g/d {:.1}  f/c {:.1}",
        cp_all / lib_all,
        cp_1t / lib_1t
    );
    println!("peak RSS: {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
}
