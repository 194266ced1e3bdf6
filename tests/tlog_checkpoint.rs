//! Checkpoint-trusted verification on a ledger larger than one parallel work unit: roots,
//! tips and verdicts equal the single-threaded and the full engine's, whatever the thread
//! count, and a chain broken across a unit boundary is named at the same record.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use agritrace::demo::DemoConfig;
use agritrace::tlog::*;
use agritrace::*;

const ORIGIN: &str = "log.example.org/big";

fn checkpoint(records: &[SignedRecord]) -> VerifiedCheckpoint {
    let mut tree = MerkleTree::new();
    for r in records {
        tree.push(TreeHash::of_signed(r));
    }
    let log = LogSigner::new(ORIGIN, Signer::from_seed([0xD0; 32])).unwrap();
    let note = log
        .sign(tree.len(), tree.root(tree.len()).unwrap())
        .unwrap();
    LogPolicy::new(ORIGIN, log.verifier().clone())
        .verify(&note)
        .unwrap()
}

fn subject_of(r: &SignedRecord) -> SubjectId {
    RecordBody::decode(r.body()).unwrap().subject().clone()
}

#[test]
fn more_than_one_unit_gives_one_verdict() {
    // 40,000 records: three 16,384-leaf units, the last one partial.
    let farm = DemoConfig::bench(11, 400, 100).generate();
    let records = farm.records;
    assert!(records.len() > 2 * 16_384, "{}", records.len());
    let cp = checkpoint(&records);
    let full = LedgerVerifier::new(&farm.trust, &Policy::livestock())
        .verify(&records)
        .unwrap();
    let mut results = Vec::new();
    for threads in [1, 2, 4] {
        let l = CheckpointVerifier::new(&cp)
            .threads(threads)
            .verify(&records)
            .unwrap();
        assert_eq!(l.records(), full.records());
        assert_eq!(l.tips(), full.tips());
        for i in 0..400 {
            let pig = DemoConfig::bench(11, 400, 100).pig(i).unwrap();
            assert_eq!(l.tips().get(&pig), full.tips().get(&pig));
        }
        results.push(l);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));

    // Swap a chain's two records that sit on either side of the first unit boundary; the
    // log signs the broken order; every thread count names the same first broken record.
    let boundary = 16_384;
    let late = (boundary..records.len())
        .find(|&j| {
            (0..boundary)
                .rev()
                .take(2_000)
                .any(|i| subject_of(&records[i]) == subject_of(&records[j]))
        })
        .unwrap();
    let early = (0..boundary)
        .rev()
        .find(|&i| subject_of(&records[i]) == subject_of(&records[late]))
        .unwrap();
    let mut broken = records.clone();
    broken.swap(early, late);
    let bad_cp = checkpoint(&broken);
    let verdicts: Vec<LoggedError> = [1, 2, 4]
        .iter()
        .map(|&t| {
            CheckpointVerifier::new(&bad_cp)
                .threads(t)
                .verify(&broken)
                .unwrap_err()
        })
        .collect();
    assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "{verdicts:?}");
    assert!(
        matches!(verdicts[0], LoggedError::BrokenChain { index, .. } if index == early as u64),
        "{} (swapped {early} and {late})",
        verdicts[0]
    );
    // The honest checkpoint does not match the swapped ledger at all.
    assert!(matches!(
        CheckpointVerifier::new(&cp).verify(&broken),
        Err(LoggedError::RootMismatch { .. })
    ));
}
