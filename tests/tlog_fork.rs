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

use agritrace::tlog::*;
use agritrace::*;
use common::*;

/// The fixture chain, and another record 5 signed by the key that signed record 5 (the
/// pen's gateway).
fn forked(k: &Keys) -> (Vec<SignedRecord>, SignedRecord) {
    let records = pig_chain(k);
    let time = RecordBody::decode(records[5].body()).unwrap().time();
    let other = resume(k, &records[..5])
        .append(&k.gateway, time, Event::Weighing { grams: 31_000 })
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
    let (trust, policy) = (trust(&k), Policy::livestock());
    let e = ForkEvidence::from_records(records[5].clone(), other.clone(), &trust, &policy).unwrap();
    e.check(&trust, &policy, None).unwrap();
    let bytes = e.to_bytes().unwrap();
    assert!(bytes.starts_with(FORK_MAGIC));
    let back = ForkEvidence::from_bytes(&bytes).unwrap();
    assert_eq!(back, e);
    back.check(&trust, &policy, None).unwrap();
    assert!(e.to_string().contains("seq 5"), "{e}");

    // Not forks: the same record twice, different seqs, different subjects.
    for (a, b) in [
        (records[5].clone(), records[5].clone()),
        (records[5].clone(), records[6].clone()),
    ] {
        assert!(matches!(
            ForkEvidence::from_records(a, b, &trust, &policy),
            Err(ForkError::NotAFork(_))
        ));
    }
    // A forged signature proves nothing.
    let mut sig = *other.signature();
    sig[3] ^= 1;
    let forged = SignedRecord::from_parts(other.body().to_vec(), sig);
    assert!(matches!(
        ForkEvidence::from_records(records[5].clone(), forged, &trust, &policy),
        Err(ForkError::BadSignature { which: "second" })
    ));
    // Every bit flip of the serialized evidence is refused or stops proving a fork.
    for i in FORK_MAGIC.len()..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            if let Ok(e2) = ForkEvidence::from_bytes(&b) {
                assert!(
                    e2.check(&trust, &policy, None).is_err(),
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
    let (trust, policy) = (trust(&k), Policy::livestock());
    ForkEvidence::from_records(stored, other.clone(), &trust, &policy)
        .unwrap()
        .check(&trust, &policy, None)
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
    let (trust, policy) = (trust(&k), Policy::livestock());
    let forks = find_forks(&imported, &trust, &policy);
    assert_eq!(forks.len(), 1);
    forks[0].check(&trust, &policy, None).unwrap();
    let ForkEvidence::Records { first, second } = &forks[0] else {
        panic!()
    };
    assert_eq!((first, second), (&records[5], &other));
    // The verifiers name the fork too.
    let errs = LedgerVerifier::new(&trust, &policy)
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
    assert_eq!(find_forks(&late, &trust, &policy).len(), 1);
    // A badly signed record in the slot first does not hide the fork behind it, and is
    // never part of the evidence.
    let mut sig = *other.signature();
    sig[0] ^= 1;
    let forged = SignedRecord::from_parts(other.body().to_vec(), sig);
    let mut noisy = vec![forged];
    noisy.extend(late.iter().cloned());
    let forks = find_forks(&noisy, &trust, &policy);
    assert_eq!(forks.len(), 1);
    forks[0].check(&trust, &policy, None).unwrap();
    // A clean ledger has none.
    assert!(find_forks(&lineage_set(&k), &trust, &policy).is_empty());
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
    let (trust, policy) = (TrustStore::new(), Policy::livestock());
    let check = |e: &ForkEvidence, log: Option<&VerifierKey>| e.check(&trust, &policy, log);
    check(&e, Some(log.verifier())).unwrap();
    let back = ForkEvidence::from_bytes(&e.to_bytes().unwrap()).unwrap();
    check(&back, Some(log.verifier())).unwrap();
    // Without the log key, or with another log's key, it proves nothing.
    assert!(check(&e, None).is_err());
    let stranger = LogSigner::new("log.example.org/a", Signer::from_seed([61; 32])).unwrap();
    assert!(check(&e, Some(stranger.verifier())).is_err());
    // Two roots for one size.
    let twin = log.sign(30, rewritten.root(30).unwrap()).unwrap();
    let e2 = ForkEvidence::Checkpoints {
        first: older.clone(),
        second: twin,
    };
    check(&e2, Some(log.verifier())).unwrap();
    // An honest pair is not a fork.
    let honest_pair = ForkEvidence::Checkpoints {
        first: older.clone(),
        second: older,
    };
    assert!(matches!(
        check(&honest_pair, Some(log.verifier())),
        Err(ForkError::NotAFork(_))
    ));
}

/// `record` with its signer key replaced by `key` (the body's only copy of the key) and
/// `signature` attached.
fn resigned(record: &SignedRecord, key: &PublicKey, signature: [u8; 64]) -> SignedRecord {
    let body = RecordBody::decode(record.body()).unwrap();
    let old = body.signer().as_bytes();
    let mut bytes = record.body().to_vec();
    let at: Vec<usize> = (0..=bytes.len() - 32)
        .filter(|&i| &bytes[i..i + 32] == old)
        .collect();
    assert_eq!(at.len(), 1, "the signer key appears once in the body");
    bytes[at[0]..at[0] + 32].copy_from_slice(key.as_bytes());
    let forged = SignedRecord::from_parts(bytes, signature);
    assert_eq!(
        RecordBody::decode(forged.body()).unwrap().signer(),
        key,
        "still decodes"
    );
    forged
}

#[test]
fn evidence_under_the_identity_key_proves_nothing() {
    // ZIP-215 accepts (R = identity, s = 0) under the identity key for every message, so
    // anyone could "prove" that any pig's history forked.
    let k = keys();
    let (records, other) = forked(&k);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let identity = PublicKey::from_bytes(identity);
    let mut trivial = [0u8; 64];
    trivial[0] = 1;
    let a = resigned(&records[5], &identity, trivial);
    let b = resigned(&other, &identity, trivial);
    assert!(
        verify_signature(identity.as_bytes(), &trivial, &agritrace_signed_message(&a)),
        "premise: the trivial signature verifies"
    );
    let (trust, policy) = (trust(&k), Policy::livestock());
    assert!(matches!(
        ForkEvidence::from_records(a.clone(), b.clone(), &trust, &policy),
        Err(ForkError::WeakKey {
            which: "first",
            weakness: KeyWeakness::SmallOrder,
            ..
        })
    ));
    // Even read from bytes, and even by a checker with an empty trust.
    let e = ForkEvidence::Records {
        first: a.clone(),
        second: b.clone(),
    };
    let e = ForkEvidence::from_bytes(&e.to_bytes().unwrap()).unwrap();
    assert!(matches!(
        e.check(&TrustStore::new(), &policy, None),
        Err(ForkError::WeakKey { .. })
    ));
    // The scan finds no fork of the honest pig.
    let mut ledger = records.clone();
    ledger.extend([a, b]);
    assert!(find_forks(&ledger, &trust, &policy).is_empty());
    // Nor can the identity key be trusted or pinned as a log key.
    let grant = KeyGrant::new(text("nobody"), Role::Farm, at(0));
    assert!(matches!(
        TrustStore::new().add(identity, grant),
        Err(TrustError::SmallOrderKey(_))
    ));
    assert!(matches!(
        VerifierKey::new("log.example.org/a", KeyKind::Ed25519, identity),
        Err(NoteError::WeakKey {
            weakness: KeyWeakness::SmallOrder,
            ..
        })
    ));
}

/// The message a record's signature covers, as the verifier builds it.
fn agritrace_signed_message(r: &SignedRecord) -> Vec<u8> {
    let mut m = b"agritrace/v1/signature\0".to_vec();
    m.extend_from_slice(r.id().as_bytes());
    m
}

#[test]
fn evidence_from_a_key_the_checker_does_not_trust_proves_nothing() {
    let k = keys();
    let records = pig_chain(&k);
    let time = RecordBody::decode(records[5].body()).unwrap().time();
    let stranger = Signer::from_seed([0x99; 32]);
    let mut one = resume(&k, &records[..5]);
    let mut two = one.clone();
    let a = one
        .append(&stranger, time, Event::Weighing { grams: 1 })
        .unwrap();
    let b = two
        .append(&stranger, time, Event::Weighing { grams: 2 })
        .unwrap();
    let (trust, policy) = (trust(&k), Policy::livestock());
    assert!(matches!(
        ForkEvidence::from_records(a.clone(), b.clone(), &trust, &policy),
        Err(ForkError::NotTrusted {
            which: "first",
            reason: Reason::UntrustedKey(_)
        })
    ));
    let mut ledger = records.clone();
    ledger.extend([a.clone(), b.clone()]);
    assert!(find_forks(&ledger, &trust, &policy).is_empty());
    // A checker that trusts the stranger sees the fork; one whose policy denies the role
    // does not.
    let mut theirs = trust.clone();
    theirs
        .add(
            stranger.public_key(),
            KeyGrant::new(text("stranger farm"), Role::Farm, at(0)),
        )
        .unwrap();
    assert_eq!(find_forks(&ledger, &theirs, &policy).len(), 1);
    let denied = Policy::livestock().deny(EventKind::Weighing, Role::Farm);
    assert!(matches!(
        ForkEvidence::from_records(a, b, &theirs, &denied),
        Err(ForkError::NotTrusted {
            reason: Reason::RoleNotAllowed { .. },
            ..
        })
    ));
}

#[test]
fn a_valid_record_first_in_a_slot_does_not_hide_a_same_key_fork() {
    let k = keys();
    let (records, other) = forked(&k);
    let time = RecordBody::decode(records[5].body()).unwrap().time();
    // A second trusted farm key signs seq 5 too: a race between two keys, not evidence.
    let second_farm = Signer::from_seed([0x98; 32]);
    let mut trust = trust(&k);
    trust
        .add(
            second_farm.public_key(),
            KeyGrant::new(text("second farm key"), Role::Farm, at(0)),
        )
        .unwrap();
    let policy = Policy::livestock();
    let racer = resume(&k, &records[..5])
        .append(&second_farm, time, Event::Weighing { grams: 7 })
        .unwrap();
    let third = resume(&k, &records[..5])
        .append(&k.gateway, time, Event::Weighing { grams: 8 })
        .unwrap();
    assert!(matches!(
        ForkEvidence::from_records(racer.clone(), other.clone(), &trust, &policy),
        Err(ForkError::NotAFork(_))
    ));
    let mut ledger = vec![racer.clone()];
    ledger.extend(records.iter().cloned());
    ledger.push(other.clone());
    let forks = find_forks(&ledger, &trust, &policy);
    assert_eq!(forks.len(), 1);
    let ForkEvidence::Records { first, second } = &forks[0] else {
        panic!()
    };
    assert_eq!((first, second), (&records[5], &other));
    forks[0].check(&trust, &policy, None).unwrap();
    // Three records by one key: two pieces of evidence naming all three, each checkable;
    // a duplicate adds nothing.
    ledger.push(third.clone());
    ledger.push(third.clone());
    let forks = find_forks(&ledger, &trust, &policy);
    assert_eq!(forks.len(), 2);
    let mut named = std::collections::HashSet::new();
    for f in &forks {
        f.check(&trust, &policy, None).unwrap();
        let ForkEvidence::Records { first, second } = f else {
            panic!()
        };
        named.extend([first.id(), second.id()]);
    }
    assert_eq!(
        named,
        [records[5].id(), other.id(), third.id()]
            .into_iter()
            .collect()
    );
}
