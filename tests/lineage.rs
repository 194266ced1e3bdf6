//! Set verification across lineage: pig → cut → pack.

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

fn verify_set(trust: &TrustStore, records: &[SignedRecord]) -> Result<VerifiedSet, VerifyErrors> {
    Verifier::new(trust, &Policy::livestock()).verify_set(records)
}

#[test]
fn the_lineage_set_verifies_in_any_interleaving() {
    let k = keys();
    let trust = trust(&k);
    let set = lineage_set(&k);
    let v = verify_set(&trust, &set).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v.record_count(), 24);
    assert_eq!(v.chain(&pack()).unwrap().len(), 2);

    // Packs first, then cuts, then the pig: order between subjects is free.
    let mut reordered = set[22..].to_vec();
    reordered.extend_from_slice(&set[20..22]);
    reordered.extend_from_slice(&set[..20]);
    assert_eq!(verify_set(&trust, &reordered).unwrap(), v);
}

#[test]
fn a_missing_parent_chain_is_reported() {
    let k = keys();
    let trust = trust(&k);
    let set = lineage_set(&k);
    let mut without_cut = set[..20].to_vec();
    without_cut.extend_from_slice(&set[22..]);
    let errs = verify_set(&trust, &without_cut).unwrap_err();
    assert_eq!(errs.errors.len(), 1);
    let e = &errs.errors[0];
    assert_eq!(e.index, 20);
    assert_eq!(e.subject, Some(pack()));
    assert_eq!(
        e.reason,
        Reason::MissingParent {
            subject: cut(),
            parent: set[21].id()
        }
    );
}

#[test]
fn a_broken_ancestor_fails_every_descendant() {
    let k = keys();
    let trust = trust(&k);
    let mut set = lineage_set(&k);
    let mut sig = *set[5].signature();
    sig[0] ^= 1;
    set[5] = SignedRecord::from_parts(set[5].body().to_vec(), sig);
    let errs = verify_set(&trust, &set).unwrap_err();
    let got: Vec<(usize, Reason)> = errs
        .errors
        .iter()
        .map(|e| (e.index, e.reason.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (5, Reason::BadSignature),
            (
                20,
                Reason::ParentNotVerified {
                    subject: pig(),
                    parent: set[18].id()
                }
            ),
            (
                22,
                Reason::ParentNotVerified {
                    subject: cut(),
                    parent: set[21].id()
                }
            ),
        ]
    );
}

#[test]
fn a_lineage_reference_with_the_wrong_subject_or_time_is_refused() {
    let k = keys();
    let trust = trust(&k);
    let pig_records = pig_chain(&k);
    let slaughter = pig_records[18].id();
    let cut_with = |subject: SubjectId, day: i32| {
        build(
            &cut(),
            day,
            vec![(
                &k.slaughterhouse,
                Event::Transformation {
                    parents: vec![LineageRef {
                        subject,
                        record: slaughter,
                    }],
                    product: text("pork belly"),
                    grams: 9_000,
                },
            )],
        )
    };
    let mut set = pig_records.clone();
    set.extend(cut_with(other_pig(), 19));
    let errs = verify_set(&trust, &set).unwrap_err();
    assert_eq!(
        errs.errors[0].reason,
        Reason::ParentSubjectMismatch {
            claimed: other_pig(),
            actual: pig(),
            parent: slaughter
        }
    );

    let mut set = pig_records.clone();
    set.extend(cut_with(pig(), 10));
    let errs = verify_set(&trust, &set).unwrap_err();
    assert_eq!(
        errs.errors[0].reason,
        Reason::ParentAfterChild { parent: slaughter }
    );
}

#[test]
fn forks_and_foreign_starts_in_a_set_are_reported() {
    let k = keys();
    let trust = trust(&k);
    let mut set = lineage_set(&k);
    let mut events = life(&k);
    events[3] = (
        &k.gateway,
        Event::DailyActivity {
            day: day0(),
            steps: 99_999,
            device: text("PD-0042"),
        },
    );
    let fork = build(&pig(), 0, events);
    set.insert(4, fork[3].clone());
    let errs = verify_set(&trust, &set).unwrap_err();
    let e = &errs.errors[0];
    assert_eq!(
        (e.index, &e.reason),
        (
            4,
            &Reason::Fork {
                seq: 3,
                existing: set[3].id()
            }
        )
    );
    // Its descendants no longer have a verified parent.
    assert_eq!(errs.errors.len(), 3);
}

#[test]
fn verified_sets_agree_with_verified_chains() {
    let k = keys();
    let trust = trust(&k);
    let set = lineage_set(&k);
    let v = verify_set(&trust, &set).unwrap();
    let chain = Verifier::new(&trust, &Policy::livestock())
        .verify_chain(&pig(), &set[..20])
        .unwrap();
    assert_eq!(v.chain(&pig()), Some(&chain));
}
