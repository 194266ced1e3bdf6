//! Verification throughput, one command: naive baseline, raw crypto bound, the library on
//! one thread and on all cores, and a ledger where every record has its own key.
//!
//! ```text
//! cargo run --release --example bench_verify            # readable table
//! cargo run --release --example bench_verify -- --json  # one JSON object
//! cargo run --release --example bench_verify -- --quick # small ledger (CI)
//! ```
//!
//! Every figure is a median of several runs in this process, so ratios compare like with
//! like on a noisy machine.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    reason = "a benchmark prints its report; rates are approximate by nature"
)]

use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{
    Chain, EarTag, Event, KeyGrant, LedgerVerifier, Policy, RecordBody, Role, SignedRecord, Signer,
    Species, SubjectId, Text, Timestamp, TrustStore,
};
use rayon::prelude::*;

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

/// Median records/s of `runs` timings of `f` over `n` records.
fn rate(runs: usize, n: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    n as f64 / times[times.len() / 2]
}

/// (a) What a user would write: decode, hash, then ed25519-dalek `verify_strict`, one by one.
fn naive(records: &[SignedRecord]) -> usize {
    let mut ok = 0;
    for r in records {
        let Ok(body) = RecordBody::decode(r.body()) else {
            continue;
        };
        let id = r.id();
        let mut msg = b"agritrace/v1/signature\0".to_vec();
        msg.extend_from_slice(id.as_bytes());
        let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(body.signer().as_bytes()) else {
            continue;
        };
        let sig = ed25519_dalek::Signature::from_bytes(r.signature());
        if vk.verify_strict(&msg, &sig).is_ok() {
            ok += 1;
        }
    }
    ok
}

/// (b) Raw crypto bound: zebra batches over precomputed (key, signature, message) triples,
/// in the library's chunk size, on all cores; no decode, hashing or chain logic.
fn raw_bound(triples: &[([u8; 32], [u8; 64], [u8; 55])], chunk: usize) -> bool {
    triples.par_chunks(chunk).all(|c| {
        let mut v = ed25519_zebra::batch::Verifier::new();
        for (k, s, m) in c {
            v.queue((
                ed25519_zebra::VerificationKeyBytes::from(*k),
                ed25519_zebra::Signature::from_bytes(s),
                &m[..],
            ));
        }
        v.verify(rand::rng()).is_ok()
    })
}

fn triples(records: &[SignedRecord]) -> Vec<([u8; 32], [u8; 64], [u8; 55])> {
    records
        .iter()
        .filter_map(|r| {
            let body = RecordBody::decode(r.body()).ok()?;
            let mut m = [0u8; 55];
            m[..23].copy_from_slice(b"agritrace/v1/signature\0");
            m[23..].copy_from_slice(r.id().as_bytes());
            Some((*body.signer().as_bytes(), *r.signature(), m))
        })
        .collect()
}

/// (e) A ledger where every record has its own device key.
fn distinct_key_ledger(n: u32) -> (TrustStore, Vec<SignedRecord>) {
    let per_pig = 50;
    let pigs = n.div_ceil(per_pig);
    let chains: Vec<(Vec<Signer>, Vec<SignedRecord>)> = (0..pigs)
        .into_par_iter()
        .map(|p| {
            let Ok(tag) = EarTag::new(Species::Pig, 610_830, 5_000_000 + p) else {
                return (vec![], vec![]);
            };
            let mut chain = Chain::new(SubjectId::EarTag(tag));
            let mut keys = Vec::new();
            let mut recs = Vec::new();
            for k in 0..per_pig {
                let mut seed = [0u8; 32];
                seed[..4].copy_from_slice(&p.to_le_bytes());
                seed[4..8].copy_from_slice(&k.to_le_bytes());
                seed[8] = 0xe5;
                let s = Signer::from_seed(seed);
                let t = Timestamp::from_millis(1_750_000_000_000 + i64::from(k) * 86_400_000);
                if let Ok(r) = chain.append(
                    &s,
                    t,
                    Event::Weighing {
                        grams: 30_000 + k * 500,
                    },
                ) {
                    recs.push(r);
                }
                keys.push(s);
            }
            (keys, recs)
        })
        .collect();
    let mut trust = TrustStore::new();
    let mut records = Vec::new();
    let Ok(party) = Text::new("scale fleet") else {
        return (trust, records);
    };
    for (keys, recs) in chains {
        for k in keys {
            let _ = trust.add(
                k.public_key(),
                KeyGrant::new(party.clone(), Role::Device, Timestamp::from_millis(0)),
            );
        }
        records.extend(recs);
    }
    (trust, records)
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let policy = Policy::livestock();
    let t0 = Instant::now();
    let farm = DemoConfig::bench(2026, a.pigs, a.per_pig).generate();
    let n = farm.records.len();
    let (dtrust, drecords) = distinct_key_ledger(a.distinct);
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

    let naive_rate = rate(a.runs.min(3), sample.len(), || {
        std::hint::black_box(naive(sample));
    });
    let raw = rate(a.runs, n, || {
        std::hint::black_box(raw_bound(&tr, chunk));
    });
    let one = LedgerVerifier::new(&farm.trust, &policy).threads(1);
    let lib_1t = rate(a.runs, n, || {
        std::hint::black_box(one.verify(&farm.records).is_ok());
    });
    let all = LedgerVerifier::new(&farm.trust, &policy);
    let lib_all = rate(a.runs, n, || {
        std::hint::black_box(all.verify(&farm.records).is_ok());
    });
    let dv = LedgerVerifier::new(&dtrust, &policy);
    let distinct = rate(a.runs, drecords.len(), || {
        std::hint::black_box(dv.verify(&drecords).is_ok());
    });
    let rss = peak_rss_bytes();

    if a.json {
        println!(
            "{{\"naive\":{naive_rate:.0},\"raw_bound\":{raw:.0},\"lib_1t\":{lib_1t:.0},\"lib_all\":{lib_all:.0},\"distinct_keys\":{distinct:.0},\"peak_rss_bytes\":{rss},\"records\":{n},\"threads\":{},\"chunk\":{chunk}}}",
            rayon::current_num_threads()
        );
        return Ok(());
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
    println!("peak RSS: {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
    Ok(())
}
