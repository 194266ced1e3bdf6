//! Tamper tests on a 20-record chain: every bit flip, every truncation, drops, swaps,
//! duplicates, splices, foreign records and bad keys are each caught and blamed correctly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    reason = "tests fail by panicking; short names keep mutation code readable"
)]

mod common;

use agritrace::*;
use common::*;
use rayon::prelude::*;

fn verify(trust: &TrustStore, records: &[SignedRecord]) -> Result<VerifiedChain, VerifyError> {
    Verifier::new(trust, &Policy::livestock()).verify_chain(&pig(), records)
}

#[test]
fn the_untouched_chain_verifies() {
    let k = keys();
    let chain = pig_chain(&k);
    let v = verify(&trust(&k), &chain).unwrap();
    assert_eq!(v.len(), 20);
    assert_eq!(v.tip(), Some(chain[19].id()));
}

#[test]
fn every_bit_flip_of_every_record_is_blamed_on_that_record() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    let cases: Vec<(usize, usize)> = chain
        .iter()
        .enumerate()
        .flat_map(|(i, r)| (0..(r.body().len() + SIGNATURE_LEN) * 8).map(move |bit| (i, bit)))
        .collect();
    let checked = cases
        .par_iter()
        .map(|&(i, bit)| {
            let mut tampered = chain.clone();
            let r = &chain[i];
            let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
            let mut body = r.body().to_vec();
            let mut sig = *r.signature();
            let in_body = byte < body.len();
            if in_body {
                body[byte] ^= mask;
            } else {
                sig[byte - body.len()] ^= mask;
            }
            tampered[i] = SignedRecord::from_parts(body, sig);
            let err = verify(&trust, &tampered).expect_err("a flipped bit must not verify");
            assert_eq!(
                err.index, i,
                "flip of bit {bit} of record {i} blamed on record {}: {err}",
                err.index
            );
            assert_eq!(err.record, Some(tampered[i].id()));
            if !in_body {
                assert_eq!(
                    err.reason,
                    Reason::BadSignature,
                    "signature bit {bit} of record {i}"
                );
            }
        })
        .count();
    assert_eq!(checked, cases.len());
    assert!(checked > 20 * 64 * 8, "flipped {checked} bits");
}

#[test]
fn every_truncation_of_a_serialized_chain_is_handled() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    let mut file = Vec::new();
    write_ledger(&mut file, &chain).unwrap();
    let mut boundaries = vec![LEDGER_MAGIC.len()];
    for r in &chain {
        boundaries.push(boundaries.last().unwrap() + r.frame_len());
    }
    assert_eq!(*boundaries.last().unwrap(), file.len());
    for len in 0..=file.len() {
        let prefix = &file[..len];
        let reader = match LedgerReader::new(prefix) {
            Ok(r) => r,
            Err(e) => {
                assert!(len < LEDGER_MAGIC.len(), "magic refused at {len}: {e}");
                continue;
            }
        };
        let items: Vec<Result<SignedRecord, FrameError>> = reader.collect();
        let ok: Vec<SignedRecord> = items
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        if let Some(pos) = boundaries.iter().position(|&b| b == len) {
            assert!(
                items.iter().all(Result::is_ok),
                "clean cut at {len} reported an error"
            );
            assert_eq!(ok.len(), pos);
            if pos > 0 {
                // A chain cut at a record boundary is a valid, shorter chain; completeness is
                // the transparency log's job.
                assert_eq!(verify(&trust, &ok).unwrap().len(), pos);
            }
        } else {
            let last = items.last().expect("a cut inside a frame yields an error");
            assert!(
                matches!(last, Err(FrameError::Truncated { .. })),
                "cut at {len}: {last:?}"
            );
            assert_eq!(items.len(), ok.len() + 1);
        }
    }
}

#[test]
fn dropped_records_are_caught_where_the_gap_is() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    for d in 0..chain.len() - 1 {
        let mut t = chain.clone();
        t.remove(d);
        let err = verify(&trust, &t).unwrap_err();
        assert_eq!(err.index, d);
        let expected = u64::try_from(d).unwrap();
        assert_eq!(
            err.reason,
            Reason::UnexpectedSeq {
                expected,
                found: expected + 1
            },
            "drop {d}"
        );
    }
}

#[test]
fn swapped_records_are_caught() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    for a in 0..chain.len() - 1 {
        let mut t = chain.clone();
        t.swap(a, a + 1);
        let err = verify(&trust, &t).unwrap_err();
        assert_eq!(err.index, a);
        let expected = u64::try_from(a).unwrap();
        assert_eq!(
            err.reason,
            Reason::UnexpectedSeq {
                expected,
                found: expected + 1
            }
        );
    }
}

#[test]
fn duplicated_records_are_caught() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    for d in 0..chain.len() {
        let mut t = chain.clone();
        t.insert(d + 1, chain[d].clone());
        let err = verify(&trust, &t).unwrap_err();
        assert_eq!(err.index, d + 1);
        assert_eq!(
            err.reason,
            Reason::Duplicate {
                seq: u64::try_from(d).unwrap()
            }
        );
    }
}

/// A second, validly signed history of the same pig from record 10 on.
fn forked_history(k: &Keys) -> Vec<SignedRecord> {
    let mut events = life(k);
    events[10] = (&k.gateway, Event::Weighing { grams: 45_000 });
    events[11] = (
        &k.gateway,
        Event::Feeding {
            feed: text("kitchen waste"),
            grams: 3_000,
        },
    );
    build(&pig(), 0, events)
}

#[test]
fn spliced_records_from_another_history_are_caught() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    let fork = forked_history(&k);
    assert_eq!(chain[9].id(), fork[9].id());
    assert_ne!(chain[10].id(), fork[10].id());
    assert!(
        verify(&trust, &fork).is_ok(),
        "the other history is itself valid"
    );

    // Inserted beside the real record: two records claim seq 10.
    let mut t = chain.clone();
    t.insert(11, fork[10].clone());
    let err = verify(&trust, &t).unwrap_err();
    assert_eq!(
        (err.index, err.reason),
        (
            11,
            Reason::Fork {
                seq: 10,
                existing: chain[10].id()
            }
        )
    );

    // Replacing the real record: the next record's link gives it away.
    let mut t = chain.clone();
    t[10] = fork[10].clone();
    let err = verify(&trust, &t).unwrap_err();
    assert_eq!(err.index, 11);
    assert_eq!(
        err.reason,
        Reason::PrevMismatch {
            expected: fork[10].id(),
            found: chain[10].id()
        }
    );

    // Splicing the tail of one history onto the head of the other.
    let mut t = chain[..12].to_vec();
    t.extend_from_slice(&fork[12..]);
    let err = verify(&trust, &t).unwrap_err();
    assert_eq!(err.index, 12);
    assert!(matches!(err.reason, Reason::PrevMismatch { .. }));
}

#[test]
fn a_record_of_another_subject_is_caught() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    let other = build(&other_pig(), 0, life(&k));
    let mut t = chain.clone();
    t[5] = other[5].clone();
    let err = verify(&trust, &t).unwrap_err();
    assert_eq!(err.index, 5);
    assert_eq!(
        err.reason,
        Reason::WrongSubject {
            expected: pig(),
            found: other_pig()
        }
    );
    assert_eq!(err.subject, Some(other_pig()));
}

#[test]
fn the_builder_refuses_time_going_backwards_and_appends_after_the_end() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    let mut c = Chain::resume(&verify(&trust, &chain[..5]).unwrap());
    assert!(matches!(
        c.append(&k.gateway, at(1), Event::Weighing { grams: 1 }),
        Err(AppendError::TimeBeforeTip { .. })
    ));
    let mut c = Chain::resume(&verify(&trust, &chain).unwrap());
    assert!(c.has_ended());
    assert!(matches!(
        c.append(&k.farm, at(30), Event::Weighing { grams: 1 }),
        Err(AppendError::Ended(_))
    ));
}

#[test]
fn nothing_verifies_after_end_of_chain() {
    let k = keys();
    let trust = trust(&k);
    let chain = pig_chain(&k);
    // A signer that ignores the end marker: from seq 19 it writes another record, then seq 20.
    let mut c = Chain::resume(&verify(&trust, &chain[..19]).unwrap());
    let _other_19 = c
        .append(
            &k.slaughterhouse,
            at(19),
            Event::Slaughter { carcass_grams: 1 },
        )
        .unwrap();
    let after_end = c
        .append(&k.slaughterhouse, at(20), Event::Weighing { grams: 1 })
        .unwrap();
    let mut t = chain.clone();
    t.push(after_end);
    let err = verify(&trust, &t).unwrap_err();
    assert_eq!((err.index, err.reason), (20, Reason::AfterEndOfChain));
}

/// The fixture's trust store, but with `gateway` under `grant`.
fn trust_with_gateway(k: &Keys, grant: KeyGrant) -> TrustStore {
    let full = trust(k);
    let mut ts = TrustStore::new();
    for s in [
        &k.farm,
        &k.vet,
        &k.transporter,
        &k.slaughterhouse,
        &k.processor,
        &k.retailer,
    ] {
        ts.add(s.public_key(), full.grant(&s.public_key()).unwrap().clone())
            .unwrap();
    }
    ts.add(k.gateway.public_key(), grant).unwrap();
    ts
}

#[test]
fn bad_keys_are_each_rejected_with_their_reason() {
    let k = keys();
    let chain = pig_chain(&k);
    let gateway_id = k.gateway.public_key().key_id();

    // Untrusted: a stranger's key signs record 5.
    let stranger = Signer::from_seed([0x99; 32]);
    let mut events = life(&k);
    events[5].0 = &stranger;
    let t = build(&pig(), 0, events);
    let err = verify(&trust(&k), &t).unwrap_err();
    assert_eq!(
        (err.index, err.reason),
        (5, Reason::UntrustedKey(stranger.public_key().key_id()))
    );

    // Revoked from record 5's time on: records 2–4 by the same key stay valid.
    let mut ts = trust(&k);
    ts.revoke(&k.gateway.public_key(), at(5)).unwrap();
    let err = verify(&ts, &chain).unwrap_err();
    assert_eq!(
        (err.index, err.reason),
        (
            5,
            Reason::RevokedKey {
                key: gateway_id,
                revoked_at: at(5)
            }
        )
    );

    // Expired: the gateway's grant ends before record 7.
    let full = trust(&k);
    let grant = full.grant(&k.gateway.public_key()).unwrap().clone();
    let ts = trust_with_gateway(
        &k,
        KeyGrant {
            valid_until: Some(at(7)),
            ..grant.clone()
        },
    );
    let err = verify(&ts, &chain).unwrap_err();
    assert_eq!(
        (err.index, err.reason),
        (
            7,
            Reason::KeyExpired {
                key: gateway_id,
                valid_until: at(7)
            }
        )
    );

    // Not yet valid: the gateway's grant starts after record 2.
    let ts = trust_with_gateway(
        &k,
        KeyGrant {
            valid_from: at(3),
            ..grant
        },
    );
    let err = verify(&ts, &chain).unwrap_err();
    assert_eq!(
        (err.index, err.reason),
        (
            2,
            Reason::KeyNotYetValid {
                key: gateway_id,
                valid_from: at(3)
            }
        )
    );

    // Wrong role: the gateway signs the vaccination.
    let mut events = life(&k);
    events[12].0 = &k.gateway;
    let t = build(&pig(), 0, events);
    let err = verify(&trust(&k), &t).unwrap_err();
    assert_eq!(
        (err.index, err.reason),
        (
            12,
            Reason::RoleNotAllowed {
                key: gateway_id,
                role: Role::Device,
                event: EventKind::Treatment
            }
        )
    );
}

#[test]
fn rotation_hands_over_at_the_rotation_instant() {
    let k = keys();
    let chain = pig_chain(&k);
    let new_gateway = Signer::from_seed([0x23; 32]);
    let mut ts = trust(&k);
    ts.rotate(&k.gateway.public_key(), new_gateway.public_key(), at(6))
        .unwrap();
    // Old key signed records 2–11; from record 6 on it is out of its window.
    let err = verify(&ts, &chain).unwrap_err();
    assert_eq!(err.index, 6);
    assert!(matches!(err.reason, Reason::KeyExpired { .. }));
    // A history whose records from day 6 on are signed by the new key verifies.
    let mut events = life(&k);
    for e in &mut events[6..12] {
        e.0 = &new_gateway;
    }
    assert!(verify(&ts, &build(&pig(), 0, events)).is_ok());
}

#[test]
fn empty_chain_is_an_error() {
    let k = keys();
    let err = verify(&trust(&k), &[]).unwrap_err();
    assert_eq!(err.reason, Reason::EmptyChain);
}
