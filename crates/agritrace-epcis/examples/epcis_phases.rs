//! Times reading, validating and hashing an EPCIS document, phase by phase, on one thread:
//! `cargo run --release -p agritrace-epcis --example epcis_phases -- FILE`.

#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::cast_precision_loss,
    reason = "a measuring tool"
)]

use std::time::Instant;

use agritrace_epcis::{CbvVersion, Document, validate};

fn main() {
    let path = std::env::args().nth(1).expect("usage: epcis_phases FILE");
    let t = Instant::now();
    let bytes = std::fs::read(&path).expect("read");
    let read = t.elapsed();
    let t = Instant::now();
    let doc = Document::from_slice(&bytes).expect("document");
    let parse = t.elapsed();
    let n = doc.events().len();
    let t = Instant::now();
    let hashes = doc.hashes(CbvVersion::V2_0).expect("hashes");
    let hash = t.elapsed();
    let t = Instant::now();
    let problems = validate::problems(&doc);
    let check = t.elapsed();
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!(
        "{n} events, {} bytes: read {read:.2?}, parse {parse:.2?} ({:.0} MiB/s), hash {hash:.2?} ({:.0} events/s), validate {check:.2?} ({:.0} events/s), {} problems, {} hashes",
        bytes.len(),
        bytes.len() as f64 / parse.as_secs_f64() / 1_048_576.0,
        rate(hash),
        rate(check),
        problems.len(),
        hashes.len()
    );
}
