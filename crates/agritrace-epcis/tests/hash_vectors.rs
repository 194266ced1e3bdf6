//! Every shared CBV event hash vector (MIT, RalphTro/epcis-event-hash-generator at its
//! PR #123; `tests/data/LICENSES`), under CBV 2.0 and 2.1: the pre-hash string and the
//! hash of each event, in `eventList` order.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::fs;
use std::path::Path;

use agritrace_epcis::{CbvVersion, Document, hash};

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

#[test]
fn every_vector_matches_under_both_versions() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in fs::read_dir(data().join("hash-vectors/documents")).expect("vector documents") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let doc = Document::from_slice(&fs::read(&path).expect("read")).expect("document");
        for (version, dir) in [(CbvVersion::V2_0, "CBV2.0"), (CbvVersion::V2_1, "CBV2.1")] {
            let want_hashes =
                fs::read_to_string(data().join(format!("hash-vectors/{dir}/{name}.hashes")))
                    .expect("hashes");
            let want_pre =
                fs::read_to_string(data().join(format!("hash-vectors/{dir}/{name}.prehashes")))
                    .expect("prehashes");
            let want_hashes: Vec<&str> = want_hashes.lines().collect();
            let want_pre: Vec<&str> = want_pre.lines().collect();
            assert_eq!(want_hashes.len(), doc.events().len(), "{name}");
            for (i, event) in doc.events().iter().enumerate() {
                let pre = hash::prehash(event, doc.namespaces(), version, "e").expect("prehash");
                if pre != want_pre[i] {
                    failures.push(format!(
                        "{dir}/{name}[{i}]\n got  {pre}\n want {}",
                        want_pre[i]
                    ));
                }
                let h = hash::hash_of_prehash(&pre, version);
                if h != want_hashes[i] && pre == want_pre[i] {
                    failures.push(format!("{dir}/{name}[{i}] hash {h} != {}", want_hashes[i]));
                }
                checked += 1;
            }
            assert_eq!(
                doc.hashes(version).expect("hashes").len(),
                doc.events().len()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 48, "the shared set has 48 vectors");
}
