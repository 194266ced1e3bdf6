//! The fast engine (in memory and streaming) returns exactly the reference verifier's
//! verdict — the same rejected records with the same reasons — for random mixes of valid
//! and corrupted records, whatever the thread count, chunk size and block size.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    reason = "tests fail by panicking; short names keep mutation code readable"
)]

mod common;

use std::sync::OnceLock;

use agritrace::*;
use common::*;
use proptest::prelude::*;

struct Pool {
    keys: Keys,
    /// A valid ledger: the lineage set plus more pigs, interleaved.
    ledger: Vec<SignedRecord>,
    /// Validly signed records from other histories, for splicing in.
    foreign: Vec<SignedRecord>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let keys = keys();
        // The lineage set and four more pigs, interleaved round-robin (each chain keeps its
        // order; ledger order mixes subjects as a real log does).
        let mut queues: Vec<std::collections::VecDeque<SignedRecord>> =
            vec![lineage_set(&keys).into()];
        for serial in 100..104 {
            let pig = SubjectId::EarTag(EarTag::new(Species::Pig, 610_830, serial).unwrap());
            queues.push(build(&pig, 0, life(&keys)[..12].to_vec()).into());
        }
        let mut ledger = Vec::new();
        while queues.iter().any(|q| !q.is_empty()) {
            for q in &mut queues {
                ledger.extend(q.pop_front());
            }
        }
        let mut events = life(&keys);
        events[8] = (&keys.gateway, Event::Weighing { grams: 44_000 });
        let foreign = build(&pig(), 0, events)[8..].to_vec();
        Pool {
            keys,
            ledger,
            foreign,
        }
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(usize, usize),
    Drop(usize),
    Swap(usize, usize),
    Duplicate(usize, usize),
    Foreign(usize, usize),
    Signature(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        any::<usize>().prop_map(Mutation::Drop),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Duplicate(i, j)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Foreign(i, j)),
        any::<usize>().prop_map(Mutation::Signature),
    ]
}

fn apply(records: &mut Vec<SignedRecord>, m: &Mutation, foreign: &[SignedRecord]) {
    let n = records.len();
    if n == 0 {
        return;
    }
    match *m {
        Mutation::FlipBit(i, bit) => {
            let r = &records[i % n];
            let mut body = r.body().to_vec();
            let b = bit % (body.len() * 8);
            body[b / 8] ^= 1 << (b % 8);
            records[i % n] = SignedRecord::from_parts(body, *r.signature());
        }
        Mutation::Drop(i) => {
            records.remove(i % n);
        }
        Mutation::Swap(i, j) => records.swap(i % n, j % n),
        Mutation::Duplicate(i, j) => {
            let r = records[i % n].clone();
            records.insert(j % (n + 1), r);
        }
        Mutation::Foreign(i, j) => records.insert(j % (n + 1), foreign[i % foreign.len()].clone()),
        Mutation::Signature(i) => {
            let r = &records[i % n];
            let mut sig = *r.signature();
            sig[i % 64] ^= 0x20;
            records[i % n] = SignedRecord::from_parts(r.body().to_vec(), sig);
        }
    }
}

fn stream(v: LedgerVerifier<'_>, records: &[SignedRecord]) -> Result<VerifiedLedger, StreamError> {
    let mut file = Vec::new();
    write_ledger(&mut file, records).unwrap();
    v.verify_stream(|| LedgerReader::new(file.as_slice()))
}

fn check_same(
    trust: &TrustStore,
    records: &[SignedRecord],
    threads: usize,
    chunk: usize,
    block: usize,
) -> Result<(), TestCaseError> {
    let policy = Policy::livestock();
    let reference = Verifier::new(trust, &policy).verify_set(records);
    let engine = LedgerVerifier::new(trust, &policy)
        .threads(threads)
        .chunk_size(chunk)
        .block_size(block);
    let fast = engine.verify_set(records);
    prop_assert_eq!(
        &fast,
        &reference,
        "in-memory engine, {} threads, chunks of {}",
        threads,
        chunk
    );
    match (engine.verify(records), &reference) {
        (Ok(ledger), Ok(set)) => {
            prop_assert_eq!(ledger.records(), u64::try_from(set.record_count()).unwrap());
            prop_assert_eq!(ledger.tips().len(), set.len());
            for chain in set.chains() {
                let tip = chain.records().last().map(|r| (r.body().seq(), r.id()));
                prop_assert_eq!(
                    ledger.tips().get(chain.subject()),
                    tip,
                    "summary engine tip"
                );
            }
        }
        (Err(errors), Err(expected)) => prop_assert_eq!(&errors, expected, "summary engine"),
        (got, want) => prop_assert!(
            false,
            "summary gave {:?}, reference {:?}",
            got,
            want.as_ref().err()
        ),
    }
    match (stream(engine, records), &reference) {
        (Ok(ledger), Ok(set)) => {
            prop_assert_eq!(ledger.records(), u64::try_from(set.record_count()).unwrap());
            prop_assert_eq!(ledger.tips().len(), set.len());
            for chain in set.chains() {
                let tip = chain.records().last().map(|r| (r.body().seq(), r.id()));
                prop_assert_eq!(ledger.tips().get(chain.subject()), tip);
            }
        }
        (Err(StreamError::Rejected { errors, total }), Err(expected)) => {
            prop_assert_eq!(total, expected.errors.len());
            prop_assert_eq!(&errors, expected, "streaming, blocks of {}", block);
        }
        (got, want) => prop_assert!(
            false,
            "stream gave {:?}, reference {:?}",
            got,
            want.as_ref().err()
        ),
    }
    Ok(())
}

#[test]
fn the_untouched_ledger_verifies_on_every_path() {
    let p = pool();
    let trust = trust(&p.keys);
    for (threads, chunk, block) in [(1, 512, 16_384), (2, 1, 7), (3, 5, 1), (2, 64, 64)] {
        check_same(&trust, &p.ledger, threads, chunk, block).unwrap();
    }
    let policy = Policy::livestock();
    let ledger = LedgerVerifier::new(&trust, &policy)
        .verify(&p.ledger)
        .unwrap();
    assert_eq!(ledger.tips().len(), 7);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_reference(
        muts in proptest::collection::vec(mutation(), 0..6),
        threads in 1usize..4,
        chunk in prop_oneof![Just(1usize), Just(3), Just(16), Just(512)],
        block in prop_oneof![Just(1usize), Just(5), Just(64), Just(16_384)],
        revoke in proptest::option::of(0i32..25),
    ) {
        let p = pool();
        let mut trust = trust(&p.keys);
        if let Some(day) = revoke {
            trust.revoke(&p.keys.gateway.public_key(), at(day)).unwrap();
        }
        let mut records = p.ledger.clone();
        for m in &muts {
            apply(&mut records, m, &p.foreign);
        }
        check_same(&trust, &records, threads, chunk, block)?;
    }
}

#[test]
fn many_bad_signatures_in_one_batch_are_each_named() {
    let p = pool();
    let trust = trust(&p.keys);
    let policy = Policy::livestock();
    let mut records = p.ledger.clone();
    // Corrupt the signature of the first record of every chain: every chain fails at seq 0.
    let mut seen = std::collections::HashSet::new();
    for r in &mut records {
        let subject = RecordBody::decode(r.body()).unwrap().subject().clone();
        if seen.insert(subject) {
            let mut sig = *r.signature();
            sig[63] ^= 0x10;
            *r = SignedRecord::from_parts(r.body().to_vec(), sig);
        }
    }
    let errs = LedgerVerifier::new(&trust, &policy)
        .chunk_size(4096)
        .verify(&records)
        .unwrap_err();
    assert_eq!(errs.errors.len(), 7);
    assert!(errs.errors.iter().all(|e| e.reason == Reason::BadSignature));
    assert_eq!(
        Err(errs),
        Verifier::new(&trust, &policy).verify_set(&records)
    );
}

#[test]
fn a_failing_source_is_reported_wherever_it_fails() {
    let p = pool();
    let trust = trust(&p.keys);
    let policy = Policy::livestock();
    let n = p.ledger.len();
    let io = |at: usize| std::io::Error::other(format!("disk gone at record {at}"));
    for (threads, block) in [(1, 7), (2, 5), (3, 64)] {
        let v = LedgerVerifier::new(&trust, &policy)
            .threads(threads)
            .block_size(block);
        // The iterator fails part-way, in either pass: first, inside or at the end of a block.
        for fail_at in [0, 1, block - 1, block, block + 1, n / 2, n] {
            for failing_pass in [0, 1] {
                let mut pass = 0;
                let got = v.verify_stream(|| {
                    let fails = pass == failing_pass;
                    pass += 1;
                    let records = p.ledger.iter().cloned().map(Ok::<_, std::io::Error>);
                    let tail = fails.then(|| Err(io(fail_at)));
                    Ok::<_, std::io::Error>(records.take(fail_at).chain(tail))
                });
                match got {
                    Err(StreamError::Source(e)) => {
                        assert_eq!(e.to_string(), format!("disk gone at record {fail_at}"));
                    }
                    other => panic!("failing at {fail_at} in pass {failing_pass}: {other:?}"),
                }
            }
        }
        // The source cannot be opened.
        let got = v.verify_stream(|| {
            Err::<std::iter::Empty<Result<SignedRecord, std::io::Error>>, _>(io(0))
        });
        assert!(matches!(got, Err(StreamError::Source(_))), "{got:?}");
        // The second pass yields fewer records than the first.
        let mut pass = 0;
        let got = v.verify_stream(|| {
            pass += 1;
            let keep = if pass == 1 { n } else { n - 1 };
            let records = p.ledger.iter().take(keep).cloned();
            Ok::<_, std::io::Error>(records.map(Ok::<_, std::io::Error>))
        });
        match got {
            Err(StreamError::Source(e)) => assert!(e.to_string().contains("different number")),
            other => panic!("shorter second pass: {other:?}"),
        }
    }
}
