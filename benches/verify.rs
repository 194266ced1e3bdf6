//! Criterion benchmarks of verification, in records/s, each beside its baselines in the same
//! run: (a) the naive sequential loop a user would write, (b) the raw zebra batch bound,
//! (c) the library on one thread, (d) on all cores, (e) a ledger where every record has its
//! own key; and checkpoint-trusted verification beside the full engine. `cargo bench --bench
//! verify`; `examples/bench_verify.rs` prints the ratios.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[allow(dead_code, reason = "the bench does not report RSS")]
mod support;

use agritrace::demo::DemoConfig;
use agritrace::{DEFAULT_CHUNK_SIZE, LedgerVerifier, Policy};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use support::{
    as_read, checkpoint_for, checkpoint_verify, distinct_key_ledger, naive, raw_bound, triples,
};

fn verify(c: &mut Criterion) {
    let mut farm = DemoConfig::bench(2026, 300, 100).generate();
    let (dtrust, drecords) = distinct_key_ledger(10_000);
    let (Ok(records), Ok(drecords)) = (as_read(&farm.records), as_read(&drecords)) else {
        return;
    };
    farm.records = records;
    let policy = Policy::livestock();
    let tr = triples(&farm.records);
    let n = farm.records.len() as u64;

    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    let sample = &farm.records[..2_000];
    g.throughput(Throughput::Elements(sample.len() as u64));
    g.bench_function("a_naive_sequential_dalek", |b| {
        b.iter(|| black_box(naive(sample)));
    });
    g.throughput(Throughput::Elements(n));
    g.bench_function("b_raw_zebra_batches_all_cores", |b| {
        b.iter(|| black_box(raw_bound(&tr, DEFAULT_CHUNK_SIZE)));
    });
    let one = LedgerVerifier::new(&farm.trust, &policy).threads(1);
    g.bench_function("c_library_1_thread", |b| {
        b.iter(|| black_box(one.verify(&farm.records).is_ok()));
    });
    let all = LedgerVerifier::new(&farm.trust, &policy);
    g.bench_function("d_library_all_cores", |b| {
        b.iter(|| black_box(all.verify(&farm.records).is_ok()));
    });
    g.throughput(Throughput::Elements(drecords.len() as u64));
    let dv = LedgerVerifier::new(&dtrust, &policy);
    g.bench_function("e_library_distinct_keys", |b| {
        b.iter(|| black_box(dv.verify(&drecords).is_ok()));
    });
    g.finish();
}

/// Checkpoint-trusted verification beside the full engine, on the same ledger.
fn checkpoint(c: &mut Criterion) {
    let mut farm = DemoConfig::bench(2026, 300, 100).generate();
    let (Ok(records), Ok((log, note))) = (as_read(&farm.records), checkpoint_for(&farm.records))
    else {
        return;
    };
    farm.records = records;
    let policy = Policy::livestock();
    let mut g = c.benchmark_group("checkpoint");
    g.sample_size(10);
    g.throughput(Throughput::Elements(farm.records.len() as u64));
    let all = LedgerVerifier::new(&farm.trust, &policy);
    g.bench_function("full_engine_all_cores", |b| {
        b.iter(|| black_box(all.verify(&farm.records).is_ok()));
    });
    g.bench_function("checkpoint_all_cores", |b| {
        b.iter(|| black_box(checkpoint_verify(&log, &note, &farm.records, None)));
    });
    g.bench_function("checkpoint_1_thread", |b| {
        b.iter(|| black_box(checkpoint_verify(&log, &note, &farm.records, Some(1))));
    });
    g.finish();
}

criterion_group!(benches, verify, checkpoint);
criterion_main!(benches);
