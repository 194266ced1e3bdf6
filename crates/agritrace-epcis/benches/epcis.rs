//! EPCIS throughput on one core: export (records → JSON-LD events, each with its signed
//! frame), the CBV event hash of parsed events, validation, and reading a document.
//!
//! `cargo bench -p agritrace-epcis` (events per second in the `thrpt` column).

#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::hint::black_box;

use agritrace::Timestamp;
use agritrace::demo::DemoConfig;
use agritrace_epcis::{CbvVersion, Document, Exporter, Profile, validate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn document(records: &[agritrace::SignedRecord]) -> Vec<u8> {
    let profile = Profile::new("https://trace.qingjian-coop.example", "+08:00").expect("profile");
    let mut ex = Exporter::new(Vec::new(), profile, Timestamp::from_millis(0)).expect("header");
    for r in records {
        ex.write(r).expect("event");
    }
    ex.finish().expect("document")
}

fn bench(c: &mut Criterion) {
    // The demo cooperative: pigs with their daily lives, cuts, packs and produce lots.
    let records = DemoConfig {
        pigs: 12,
        ..DemoConfig::new(2026)
    }
    .generate()
    .records;
    let n = records.len() as u64;
    let bytes = document(&records);
    let doc = Document::from_slice(&bytes).expect("parse");
    let mut g = c.benchmark_group("epcis");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    let profile = Profile::new("https://trace.qingjian-coop.example", "+08:00").expect("profile");
    g.bench_function("export", |b| {
        b.iter(|| {
            let mut ex = Exporter::new(std::io::sink(), profile.clone(), Timestamp::from_millis(0))
                .expect("header");
            for r in &records {
                ex.write(r).expect("event");
            }
            black_box(ex.finish().expect("done"));
        });
    });
    g.bench_function("hash_cbv2.0", |b| {
        b.iter(|| black_box(doc.hashes(CbvVersion::V2_0).expect("hashes")));
    });
    g.bench_function("validate", |b| {
        b.iter(|| black_box(validate::problems(&doc)));
    });
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("read_document", |b| {
        b.iter(|| black_box(Document::from_slice(&bytes).expect("parse")));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
