//! The store conformance suite, written against the `Store` trait so that every backend
//! runs the same checks. A backend's test file calls each function with a fresh store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    reason = "test suite"
)]

use std::collections::HashSet;

use agritrace::trust::TrustChange;
use agritrace::*;

use super::*;

/// Appends records one by one and reads them back every way.
pub fn append_and_read<S: Store>(store: &S) {
    let k = keys();
    let set = lineage_set(&k);
    assert!(store.is_empty().unwrap());
    for (i, r) in set.iter().enumerate() {
        assert_eq!(store.append(r).unwrap(), u64::try_from(i).unwrap());
    }
    assert_eq!(store.len().unwrap(), u64::try_from(set.len()).unwrap());
    assert_eq!(store.chain(&pig()).unwrap(), set[..20].to_vec());
    assert_eq!(store.chain(&cut()).unwrap(), set[20..22].to_vec());
    assert!(store.chain(&other_pig()).unwrap().is_empty());
    let tip = store.tip(&pig()).unwrap().unwrap();
    assert_eq!((tip.seq, tip.id, tip.ended), (19, set[19].id(), true));
    assert_eq!(store.tip(&other_pig()).unwrap(), None);
    for (i, r) in set.iter().enumerate() {
        assert_eq!(
            store.get(&r.id()).unwrap(),
            Some((u64::try_from(i).unwrap(), r.clone()))
        );
    }
    assert_eq!(store.get(&RecordId::from_bytes([7; 32])).unwrap(), None);
    let log: Vec<SignedRecord> = store
        .read_log(0, 1000)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(log, set);
    let page = store.read_log(5, 3).unwrap();
    assert_eq!(
        page.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        vec![5, 6, 7]
    );
    let streamed: Vec<SignedRecord> = store.stream(7).collect::<Result<_, _>>().unwrap();
    assert_eq!(streamed, set);
    assert_eq!(store.subjects().unwrap(), {
        let mut v = vec![pig(), cut(), pack()];
        v.sort_by_key(ToString::to_string);
        v
    });
    // The stored ledger verifies, streamed straight from the store.
    let trust = trust(&k);
    let policy = Policy::livestock();
    let ledger = LedgerVerifier::new(&trust, &policy)
        .verify_stream(|| Ok::<_, StoreError>(store.stream(4)))
        .unwrap();
    assert_eq!(ledger.records(), 24);
}

/// Lineage edges, both ways.
pub fn lineage_edges<S: Store>(store: &S) {
    let k = keys();
    let set = lineage_set(&k);
    store.append_batch(&set).unwrap();
    let down = store.children(&pig()).unwrap();
    assert_eq!(
        down,
        vec![LineageEdge {
            child: cut(),
            child_record: set[20].id(),
            parent: pig(),
            parent_record: set[18].id()
        }]
    );
    assert_eq!(store.parents(&cut()).unwrap(), down);
    let up = store.parents(&pack()).unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!(
        (up[0].parent.clone(), up[0].parent_record),
        (cut(), set[21].id())
    );
    assert!(store.children(&pack()).unwrap().is_empty());
}

/// Appends the verifier would reject are refused with the verifier's reason, and nothing
/// of them is written.
pub fn refused_appends<S: Store>(store: &S) {
    let k = keys();
    let chain = pig_chain(&k);
    for r in &chain[..10] {
        store.append(r).unwrap();
    }
    let conflict = |r: &SignedRecord| match store.append(r) {
        Err(e) => e
            .conflict()
            .cloned()
            .unwrap_or_else(|| panic!("expected a refusal, got {e}")),
        Ok(p) => panic!("expected a refusal, got position {p}"),
    };
    assert_eq!(conflict(&chain[4]), Conflict::AlreadyStored { position: 4 });
    // A second history: seq 8 differs from the stored one.
    let mut events = life(&k);
    events[8] = (&k.gateway, Event::Weighing { grams: 44_000 });
    let fork = build(&pig(), 0, events);
    assert_eq!(
        conflict(&fork[8]),
        Conflict::Refused(Reason::Fork {
            seq: 8,
            existing: chain[8].id(),
        })
    );
    // Next in seq but built on the other history.
    assert_eq!(
        conflict(&fork[10]),
        Conflict::Refused(Reason::PrevMismatch {
            expected: chain[9].id(),
            found: fork[9].id()
        })
    );
    assert_eq!(
        conflict(&chain[12]),
        Conflict::Refused(Reason::UnexpectedSeq {
            expected: 10,
            found: 12
        })
    );
    assert_eq!(
        conflict(&build(&other_pig(), 0, life(&k))[3]),
        Conflict::Refused(Reason::UnexpectedSeq {
            expected: 0,
            found: 3
        })
    );
    // A child whose lineage parent is not stored.
    let set = lineage_set(&k);
    assert_eq!(
        conflict(&set[20]),
        Conflict::Refused(Reason::MissingParent {
            subject: pig(),
            parent: set[18].id()
        })
    );
    // Nothing after the end of the chain.
    for r in &chain[10..] {
        store.append(r).unwrap();
    }
    let mut c = Chain::resume(
        &Verifier::new(&trust(&k), &Policy::livestock())
            .verify_chain(&pig(), &chain[..19])
            .unwrap(),
    );
    let _ = c
        .append(
            &k.slaughterhouse,
            at(19),
            Event::Slaughter { carcass_grams: 1 },
        )
        .unwrap();
    let after = c
        .append(&k.slaughterhouse, at(20), Event::Weighing { grams: 1 })
        .unwrap();
    assert_eq!(conflict(&after), Conflict::Refused(Reason::AfterEndOfChain));
    // Undecodable bytes are refused before anything is written.
    let junk = SignedRecord::from_parts(vec![1, 0, 9], [0; 64]);
    assert!(matches!(
        conflict(&junk),
        Conflict::Refused(Reason::Decode(_))
    ));
    assert_eq!(store.len().unwrap(), 20);
    assert_eq!(store.chain(&pig()).unwrap(), chain);
}

/// Every [`Reason`] the verifier can give a record appended to a stored chain: a record
/// that has it is refused on append with exactly that reason, and the store is unchanged.
/// (`EmptyChain` and `WrongSubject` concern a chain handed to the verifier as a whole, and
/// `ParentNotVerified` a parent that failed in the same set; none can arise on append, as
/// a store finds the chain by the record's own subject and holds only admitted parents.
/// `Duplicate` is [`Conflict::AlreadyStored`]: appending is idempotent.)
#[allow(
    clippy::too_many_lines,
    reason = "one case per reason, listed together"
)]
pub fn every_reason_refused<S: Store>(store: &S, operator: &LogSigner) {
    let k = keys();
    let set = lineage_set(&k);
    store.append_batch(&set[..19]).unwrap();
    let tip = store.tip(&pig()).unwrap().unwrap();
    let stranger = Signer::from_seed([0x99; 32]);
    let late = Signer::from_seed([0x9A; 32]);
    let brief = Signer::from_seed([0x9B; 32]);
    let revoked = Signer::from_seed([0x9C; 32]);
    let grant = |party: &str, from: i32, until: Option<i32>| KeyGrant {
        valid_until: until.map(at),
        ..KeyGrant::new(text(party), Role::Farm, at(from))
    };
    store
        .update_trust(
            operator,
            at(0),
            vec![
                TrustChange::Grant {
                    key: late.public_key(),
                    grant: grant("late", 100, None),
                },
                TrustChange::Grant {
                    key: brief.public_key(),
                    grant: grant("brief", 0, Some(1)),
                },
                TrustChange::Grant {
                    key: revoked.public_key(),
                    grant: grant("revoked", 0, None),
                },
                TrustChange::Revoke {
                    key: revoked.public_key(),
                    at: at(2),
                },
            ],
        )
        .unwrap();
    let next = |signer: &Signer, t: Timestamp, event: Event| {
        Chain::continue_from(pig(), Some(tip))
            .append(signer, t, event)
            .unwrap()
    };
    let weigh = Event::Weighing { grams: 50_000 };
    // A tip dated at the epoch lets the chain builder make a record older than the real tip.
    let backdated = Chain::continue_from(
        pig(),
        Some(ChainTip::new(
            tip.seq,
            tip.id,
            Timestamp::from_millis(0),
            false,
        )),
    )
    .append(&k.gateway, at(0), weigh.clone())
    .unwrap();
    let good = next(&k.gateway, at(30), weigh.clone());
    let lead = Chain::new(other_pig())
        .append(&k.gateway, at(30), weigh.clone())
        .unwrap();
    let mut bad_sig = *good.signature();
    bad_sig[0] ^= 1;
    let cases: Vec<(SignedRecord, Reason)> = vec![
        (
            SignedRecord::from_parts(vec![0xff; 7], [0; 64]),
            Reason::Decode(RecordBody::decode(&[0xff; 7]).unwrap_err()),
        ),
        (
            Chain::continue_from(
                pig(),
                Some(ChainTip::new(
                    tip.seq + 1,
                    RecordId::from_bytes([3; 32]),
                    tip.time,
                    false,
                )),
            )
            .append(&k.gateway, at(30), weigh.clone())
            .unwrap(),
            Reason::UnexpectedSeq {
                expected: tip.seq + 1,
                found: tip.seq + 2,
            },
        ),
        (
            {
                let mut events = life(&k);
                events[5] = (&k.gateway, Event::Weighing { grams: 44_000 });
                build(&pig(), 0, events)[5].clone()
            },
            Reason::Fork {
                seq: 5,
                existing: set[5].id(),
            },
        ),
        (
            backdated,
            Reason::TimeWentBackwards {
                previous: tip.time,
                found: at(0),
            },
        ),
        (
            next(&stranger, at(30), weigh.clone()),
            Reason::UntrustedKey(stranger.public_key().key_id()),
        ),
        (
            next(&revoked, at(30), weigh.clone()),
            Reason::RevokedKey {
                key: revoked.public_key().key_id(),
                revoked_at: at(2),
            },
        ),
        (
            next(&late, at(30), weigh.clone()),
            Reason::KeyNotYetValid {
                key: late.public_key().key_id(),
                valid_from: at(100),
            },
        ),
        (
            next(&brief, at(30), weigh.clone()),
            Reason::KeyExpired {
                key: brief.public_key().key_id(),
                valid_until: at(1),
            },
        ),
        (
            next(
                &k.farm,
                at(30),
                Event::Treatment {
                    kind: TreatmentKind::Vaccination,
                    product: text("vaccine"),
                    withdrawal_days: 1,
                },
            ),
            Reason::RoleNotAllowed {
                key: k.farm.public_key().key_id(),
                role: Role::Farm,
                event: EventKind::Treatment,
            },
        ),
        (
            SignedRecord::from_parts(good.body().to_vec(), bad_sig),
            Reason::BadSignature,
        ),
    ];
    let mut cases = cases;
    // A cut naming a pig record as belonging to another pig, and one dated before its parent.
    let parent = LineageRef {
        subject: pig(),
        record: set[18].id(),
    };
    let cut_of = |l: LineageRef, t: Timestamp| {
        Chain::new(cut())
            .append(
                &k.slaughterhouse,
                t,
                Event::Transformation {
                    parents: vec![l],
                    product: text("loin"),
                    grams: 9_000,
                },
            )
            .unwrap()
    };
    cases.push((
        cut_of(
            LineageRef {
                subject: other_pig(),
                record: set[18].id(),
            },
            at(40),
        ),
        Reason::ParentSubjectMismatch {
            claimed: other_pig(),
            actual: pig(),
            parent: set[18].id(),
        },
    ));
    cases.push((
        cut_of(parent.clone(), at(0)),
        Reason::ParentAfterChild {
            parent: set[18].id(),
        },
    ));
    cases.push((
        cut_of(
            LineageRef {
                subject: pig(),
                record: RecordId::from_bytes([5; 32]),
            },
            at(40),
        ),
        Reason::MissingParent {
            subject: pig(),
            parent: RecordId::from_bytes([5; 32]),
        },
    ));
    let before = (store.len().unwrap(), store.read_log(0, usize::MAX).unwrap());
    for (record, reason) in cases {
        let got = store.append(&record).unwrap_err();
        assert_eq!(
            got.conflict(),
            Some(&Conflict::Refused(reason.clone())),
            "{got}"
        );
        // In a batch after a good record, it is refused with the same reason, named by its
        // index, and the good record is not written either.
        match store.append_batch(&[lead.clone(), record.clone()]) {
            Err(StoreError::Refused {
                index: 1,
                conflict: Conflict::Refused(r),
                ..
            }) => assert_eq!(r, reason),
            other => panic!("batch with {reason}: {other:?}"),
        }
        assert_eq!(
            (store.len().unwrap(), store.read_log(0, usize::MAX).unwrap()),
            before,
            "store changed by {reason}"
        );
    }
    store.append(&good).unwrap();
    store.check_integrity().unwrap();
}

/// A batch is all or nothing, and its positions follow on without gaps.
pub fn batch_atomicity<S: Store>(store: &S) {
    let k = keys();
    let set = lineage_set(&k);
    assert_eq!(store.append_batch(&set[..10]).unwrap(), 0);
    // A batch whose 6th record conflicts (a duplicate of one already stored).
    let mut bad = set[10..15].to_vec();
    bad.push(set[3].clone());
    bad.extend_from_slice(&set[15..18]);
    match store.append_batch(&bad) {
        Err(StoreError::Refused {
            index: 5,
            conflict: Conflict::AlreadyStored { position: 3 },
            ..
        }) => {}
        other => panic!("expected the 6th record refused, got {other:?}"),
    }
    assert_eq!(
        store.len().unwrap(),
        10,
        "nothing of a refused batch is written"
    );
    assert_eq!(store.tip(&pig()).unwrap().unwrap().seq, 9);
    // A duplicate inside one batch is refused too.
    let dup = vec![set[10].clone(), set[10].clone()];
    assert!(matches!(
        store.append_batch(&dup),
        Err(StoreError::Refused { index: 1, .. })
    ));
    assert_eq!(store.append_batch(&set[10..]).unwrap(), 10);
    assert_eq!(store.len().unwrap(), 24);
    let positions: Vec<u64> = store
        .read_log(0, 100)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(positions, (0..24).collect::<Vec<u64>>());
    assert_eq!(store.append_batch(&[]).unwrap(), 24);
}

/// Writers in several threads, racing on shared subjects with compare-and-append and
/// retrying on conflict: no fork, no gap, no lost append.
pub fn concurrent_threads<S: Store + Sync>(store: &S) {
    let k = keys();
    let subjects: Vec<SubjectId> = (0..3)
        .map(|s| SubjectId::EarTag(EarTag::new(Species::Pig, 610_830, 900 + s).unwrap()))
        .collect();
    let acked: Vec<Vec<RecordId>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u32)
            .map(|w| {
                let subjects = &subjects;
                let k = &k;
                scope.spawn(move || writer(store, &k.gateway, subjects, w, 25))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    check_no_loss(store, &subjects, acked.into_iter().flatten());
}

/// One writer: `n` appends spread over `subjects`, each built on the tip it reads, retried
/// when another writer got there first. Returns the IDs of acknowledged appends.
pub fn writer<S: Store>(
    store: &S,
    signer: &Signer,
    subjects: &[SubjectId],
    w: u32,
    n: u32,
) -> Vec<RecordId> {
    let mut acked = Vec::new();
    for i in 0..n {
        let subject =
            &subjects[usize::try_from((w + i) % u32::try_from(subjects.len()).unwrap()).unwrap()];
        loop {
            let tip = store.tip(subject).unwrap();
            let mut chain = Chain::continue_from(subject.clone(), tip);
            let t = tip.map_or(Timestamp::from_millis(1_000), |t| {
                t.time.saturating_add_millis(1)
            });
            let r = chain
                .append(
                    signer,
                    t,
                    Event::Weighing {
                        grams: 10_000 * w + i,
                    },
                )
                .unwrap();
            match store.append(&r) {
                Ok(_) => {
                    acked.push(r.id());
                    break;
                }
                Err(StoreError::Refused {
                    conflict:
                        Conflict::Refused(
                            Reason::Fork { .. }
                            | Reason::PrevMismatch { .. }
                            | Reason::UnexpectedSeq { .. },
                        ),
                    ..
                }) => {}
                Err(e) => panic!("writer {w}: {e}"),
            }
        }
    }
    acked
}

/// Every acknowledged append is present, each chain is gap-free and fork-free, and the log
/// positions are 0..n.
pub fn check_no_loss<S: Store>(
    store: &S,
    subjects: &[SubjectId],
    acked: impl IntoIterator<Item = RecordId>,
) {
    let mut stored = HashSet::new();
    for s in subjects {
        let chain = store.chain(s).unwrap();
        for (seq, r) in chain.iter().enumerate() {
            let body = RecordBody::decode(r.body()).unwrap();
            assert_eq!(body.seq(), u64::try_from(seq).unwrap(), "{s}: gap or fork");
            if seq > 0 {
                assert_eq!(
                    body.prev(),
                    Some(&chain[seq - 1].id()),
                    "{s}: broken link at {seq}"
                );
            }
            stored.insert(r.id());
        }
    }
    for id in acked {
        assert!(stored.contains(&id), "acknowledged record {id} is missing");
    }
    let n = store.len().unwrap();
    let positions: Vec<u64> = store
        .read_log(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        positions,
        (0..n).collect::<Vec<u64>>(),
        "log positions have a gap"
    );
}

/// A batch spanning many of the chunks admission judges ahead of placing (and records of
/// many subjects interleaved): a bad record deep inside is refused with its own index and
/// nothing is written; the good batch is stored whole, with every tip and lineage count
/// right.
pub fn large_batches<S: Store>(store: &S) {
    let k = keys();
    let pigs: Vec<SubjectId> = (0..60)
        .map(|i| format!("eartag:161083000{:06}", 100 + i).parse().unwrap())
        .collect();
    let chains: Vec<Vec<SignedRecord>> = pigs.iter().map(|p| build(p, 0, life(&k))).collect();
    // Round-robin across pigs, so each chunk holds records of many subjects.
    let longest = chains.iter().map(Vec::len).max().unwrap();
    let mut batch: Vec<SignedRecord> = (0..longest)
        .flat_map(|i| chains.iter().filter_map(move |c| c.get(i).cloned()))
        .collect();
    batch.extend(lineage_set(&k));
    assert!(batch.len() > 1_000, "{} records", batch.len());
    store.append_batch(&batch[..3]).unwrap();
    for bad_at in [700, batch.len() - 1] {
        let mut bad = batch[3..].to_vec();
        let i = bad_at - 3;
        let mut sig = *bad[i].signature();
        sig[9] ^= 1;
        bad[i] = SignedRecord::from_parts(bad[i].body().to_vec(), sig);
        match store.append_batch(&bad) {
            Err(StoreError::Refused {
                index,
                conflict: Conflict::Refused(Reason::BadSignature),
                ..
            }) if index == i => {}
            other => panic!("expected record {i} refused for its signature, got {other:?}"),
        }
        assert_eq!(
            store.len().unwrap(),
            3,
            "nothing of a refused batch is written"
        );
        assert_eq!(store.tip(&pigs[0]).unwrap().unwrap().seq, 0);
        assert!(store.tip(&pigs[59]).unwrap().is_none());
        store.check_integrity().unwrap();
    }
    assert_eq!(store.append_batch(&batch[3..]).unwrap(), 3);
    assert_eq!(store.len().unwrap(), batch.len() as u64);
    for (p, c) in pigs.iter().zip(&chains) {
        let tip = store.tip(p).unwrap().unwrap();
        assert_eq!(
            (tip.seq, tip.id),
            (c.len() as u64 - 1, c.last().unwrap().id())
        );
    }
    assert_eq!(store.children_count(&pig()).unwrap(), 1);
    assert_eq!(store.children_count(&cut()).unwrap(), 1);
    store.check_integrity().unwrap();
}
