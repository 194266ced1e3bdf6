//! Fork evidence: two histories of one subject, two roots for one log size, and a log that
//! rewrote its past; the store refuses forking appends and an imported ledger's forks are
//! reported.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use agritrace::*;
use common::*;

/// The fixture chain with record 5 replaced by another, validly signed one.
fn forked(k: &Keys) -> (Vec<SignedRecord>, SignedRecord) {
    let records = pig_chain(k);
    let time = RecordBody::decode(records[5].body()).unwrap().time();
    let other = resume(k, &records[..5])
        .append(&k.farm, time, Event::Weighing { grams: 31_000 })
        .unwrap();
    (records, other)
}

fn resume(k: &Keys, records: &[SignedRecord]) -> Chain {
    let policy = Policy::livestock();
    let trust = trust(k);
    Chain::resume(
        &Verifier::new(&trust, &policy)
            .verify_chain(&pig(), records)
            .unwrap(),
    )
}

#[test]
fn record_fork_evidence_round_trips_and_checks() {
    let k = keys();
    let (records, other) = forked(&k);
    let e = ForkEvidence::from_records(records[5].clone(), other.clone()).unwrap();
    e.check(None).unwrap();
    let bytes = e.to_bytes().unwrap();
    assert!(bytes.starts_with(FORK_MAGIC));
    let back = ForkEvidence::from_bytes(&bytes).unwrap();
    assert_eq!(back, e);
    back.check(None).unwrap();
    assert!(e.to_string().contains("seq 5"), "{e}");

    // Not forks: the same record twice, different seqs, different subjects.
    for (a, b) in [
        (records[5].clone(), records[5].clone()),
        (records[5].clone(), records[6].clone()),
    ] {
        assert!(matches!(
            ForkEvidence::from_records(a, b),
            Err(ForkError::NotAFork(_))
        ));
    }
    // A forged signature proves nothing.
    let mut sig = *other.signature();
    sig[3] ^= 1;
    let forged = SignedRecord::from_parts(other.body().to_vec(), sig);
    assert!(matches!(
        ForkEvidence::from_records(records[5].clone(), forged),
        Err(ForkError::BadSignature { which: "second" })
    ));
    // Every bit flip of the serialized evidence is refused or stops proving a fork.
    for i in FORK_MAGIC.len()..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            if let Ok(e2) = ForkEvidence::from_bytes(&b) {
                assert!(
                    e2.check(None).is_err(),
                    "flip at byte {i} bit {bit} still a fork"
                );
            }
        }
    }
    assert!(ForkEvidence::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(ForkEvidence::from_bytes(b"garbage").is_err());
}

#[test]
fn the_store_refuses_a_forking_append_and_the_refusal_gives_evidence() {
    let k = keys();
    let (records, other) = forked(&k);
    let store = memory_store(&k);
    store.append_batch(&records).unwrap();
    let err = store.append(&other).unwrap_err();
    let Some(Conflict::Refused(Reason::Fork { existing, seq: 5 })) = err.conflict().cloned() else {
        panic!("{err}")
    };
    let (_, stored) = store.get(&existing).unwrap().unwrap();
    ForkEvidence::from_records(stored, other.clone())
        .unwrap()
        .check(None)
        .unwrap();
    // A record that builds on the refused branch is refused too (its prev is not the tip).
    let mut branch = resume(&k, &[records[..5].to_vec(), vec![other]].concat());
    let next = branch
        .append(&k.farm, at(30), Event::Weighing { grams: 33_000 })
        .unwrap();
    let mut tail = records.clone();
    tail.truncate(6);
    let branch_store = memory_store(&k);
    branch_store.append_batch(&tail).unwrap();
    assert!(matches!(
        branch_store.append(&next).unwrap_err().conflict(),
        Some(Conflict::Refused(Reason::PrevMismatch { .. }))
    ));
    assert_eq!(store.len().unwrap(), records.len() as u64);
}

#[test]
fn forks_in_an_imported_ledger_are_reported() {
    let k = keys();
    let (records, other) = forked(&k);
    let mut imported = lineage_set(&k);
    imported.insert(6, other.clone());
    let forks = find_forks(&imported);
    assert_eq!(forks.len(), 1);
    forks[0].check(None).unwrap();
    let ForkEvidence::Records { first, second } = &forks[0] else {
        panic!()
    };
    assert_eq!((first, second), (&records[5], &other));
    // The verifiers name the fork too.
    let errs = LedgerVerifier::new(&trust(&k), &Policy::livestock())
        .verify(&imported)
        .unwrap_err();
    assert!(
        errs.errors
            .iter()
            .any(|e| matches!(e.reason, Reason::Fork { seq: 5, .. })),
        "{errs}"
    );
    // Wherever the second branch sits in the file: at the very end, after the chain ended.
    let mut late = lineage_set(&k);
    late.push(other.clone());
    assert_eq!(find_forks(&late).len(), 1);
    // A badly signed record in the slot first does not hide the fork behind it, and is
    // never part of the evidence.
    let mut sig = *other.signature();
    sig[0] ^= 1;
    let forged = SignedRecord::from_parts(other.body().to_vec(), sig);
    let mut noisy = vec![forged];
    noisy.extend(late.iter().cloned());
    let forks = find_forks(&noisy);
    assert_eq!(forks.len(), 1);
    forks[0].check(None).unwrap();
    // A clean ledger has none.
    assert!(find_forks(&lineage_set(&k)).is_empty());
}

#[test]
fn a_log_that_rewrote_its_past_is_caught_by_inclusion_evidence() {
    let log = LogSigner::new("log.example.org/a", Signer::from_seed([60; 32])).unwrap();
    let mut honest = MerkleTree::new();
    let mut rewritten = MerkleTree::new();
    for i in 0..30u32 {
        honest.push(TreeHash::leaf(&i.to_le_bytes()));
        let leaf = if i == 11 {
            b"rewritten".to_vec()
        } else {
            i.to_le_bytes().to_vec()
        };
        rewritten.push(TreeHash::leaf(&leaf));
    }
    for i in 30..50u32 {
        rewritten.push(TreeHash::leaf(&i.to_le_bytes()));
    }
    let older = log.sign(30, honest.root(30).unwrap()).unwrap();
    let newer = log.sign(50, rewritten.root(50).unwrap()).unwrap();
    let e = ForkEvidence::Inconsistent {
        older: older.clone(),
        newer: newer.clone(),
        index: 11,
        older_leaf: honest.leaf(11).unwrap(),
        older_proof: honest.inclusion_proof(11, 30).unwrap(),
        newer_leaf: rewritten.leaf(11).unwrap(),
        newer_proof: rewritten.inclusion_proof(11, 50).unwrap(),
    };
    e.check(Some(log.verifier())).unwrap();
    let back = ForkEvidence::from_bytes(&e.to_bytes().unwrap()).unwrap();
    back.check(Some(log.verifier())).unwrap();
    // Without the log key, or with another log's key, it proves nothing.
    assert!(e.check(None).is_err());
    let stranger = LogSigner::new("log.example.org/a", Signer::from_seed([61; 32])).unwrap();
    assert!(e.check(Some(stranger.verifier())).is_err());
    // Two roots for one size.
    let twin = log.sign(30, rewritten.root(30).unwrap()).unwrap();
    let e2 = ForkEvidence::Checkpoints {
        first: older.clone(),
        second: twin,
    };
    e2.check(Some(log.verifier())).unwrap();
    // An honest pair is not a fork.
    let honest_pair = ForkEvidence::Checkpoints {
        first: older.clone(),
        second: older,
    };
    assert!(matches!(
        honest_pair.check(Some(log.verifier())),
        Err(ForkError::NotAFork(_))
    ));
}
