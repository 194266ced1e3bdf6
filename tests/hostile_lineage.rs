//! Shapes of valid records that broke what lies around verification: lineage cycles
//! between subjects, diamonds of blends, records by untrusted keys naming a pig, lineage
//! rows deleted behind the store's back, verifiers started from inside rayon, and names
//! with invisible characters. Each test failed (aborted, exploded or said VERIFIED) before
//! the fix it guards.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::collections::{BTreeSet, HashMap};

use agritrace::*;
use common::*;
use proptest::prelude::*;
use rayon::prelude::*;

fn lot(n: u32) -> SubjectId {
    let base = 690_123_456_000 + u64::from(n);
    SubjectId::Lot(
        GtinLot::new(
            base * 10 + u64::from(gtin_check_digit(base)),
            &format!("L{n}"),
        )
        .unwrap(),
    )
}

/// A lot made by the processor from `parents`, on day `day`.
fn made_from(subject: &SubjectId, day: i32, parents: Vec<LineageRef>, k: &Keys) -> SignedRecord {
    Chain::new(subject.clone())
        .append(
            &k.processor,
            at(day),
            Event::Transformation {
                parents,
                product: text("blend"),
                grams: 1_000,
            },
        )
        .unwrap()
}

fn parent(r: &SignedRecord) -> LineageRef {
    let body = RecordBody::decode(r.body()).unwrap();
    LineageRef {
        subject: body.subject().clone(),
        record: r.id(),
    }
}

/// Every product of a trace appears once.
fn each_once(t: &Trace) {
    let ids: Vec<&SubjectId> = t.products.iter().map(|p| &p.id).collect();
    let unique: BTreeSet<&SubjectId> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a product is shown twice: {ids:?}");
}

#[test]
fn a_lineage_cycle_between_lots_is_admitted_and_traces_terminate() {
    // X0 made from the cut, Y0 made from X0, then X put into the container Y: the
    // subjects X and Y point at each other. Record references still form a DAG (a record
    // can only name one that exists), so this is a lot split and merged back, admitted.
    let k = keys();
    let store = memory_store(&k);
    let set = lineage_set(&k);
    store.append_batch(&set).unwrap();
    let (x, y) = (lot(1), lot(2));
    let x0 = made_from(&x, 30, vec![parent(&set[20])], &k);
    let y0 = made_from(&y, 31, vec![parent(&x0)], &k);
    store.append(&x0).unwrap();
    store.append(&y0).unwrap();
    let x1 = Chain::continue_from(x.clone(), store.tip(&x).unwrap())
        .append(
            &k.processor,
            at(32),
            Event::Aggregation {
                container: parent(&y0),
            },
        )
        .unwrap();
    store.append(&x1).unwrap();
    let trust = store.trust_history().unwrap().trust().clone();
    for id in [pig(), cut(), pack(), x.clone(), y.clone()] {
        let t = trace(&store, &trust, &Policy::livestock(), &id).unwrap();
        each_once(&t);
        assert_eq!(t.verification.chains, 5, "{id}");
    }
    let t = trace(&store, &trust, &Policy::livestock(), &pig()).unwrap();
    let shown: BTreeSet<String> = t.products.iter().map(|p| p.id.to_string()).collect();
    let want: BTreeSet<String> = [cut(), pack(), x, y]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, want);
}

#[test]
fn a_diamond_of_blends_traces_each_lot_once() {
    // 22 levels of two lots, each made from both lots of the level before: 2^22 paths,
    // 44 lots. Before the fix this expanded every path and the allocator aborted.
    let k = keys();
    let store = memory_store(&k);
    let set = lineage_set(&k);
    store.append_batch(&set).unwrap();
    let mut level = vec![parent(&set[20])];
    let mut n = 0;
    for depth in 0..22 {
        let mut next = Vec::new();
        for _ in 0..2 {
            n += 1;
            let r = made_from(&lot(n), 30 + depth, level.clone(), &k);
            store.append(&r).unwrap();
            next.push(parent(&r));
        }
        level = next;
    }
    let trust = store.trust_history().unwrap().trust().clone();
    let t = trace(&store, &trust, &Policy::livestock(), &pig()).unwrap();
    each_once(&t);
    assert_eq!(
        t.products.len(),
        1 + 1 + 44,
        "the cut, the pack and 44 lots"
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(
        json.len() < 200_000,
        "the report grows with the lots, not the paths"
    );
}

#[test]
fn a_record_by_an_untrusted_key_naming_a_pig_is_refused() {
    let k = keys();
    let store = memory_store(&k);
    let set = lineage_set(&k);
    store.append_batch(&set).unwrap();
    let mallory = Signer::from_seed([0xEE; 32]);
    let bad = Chain::new(lot(9))
        .append(
            &mallory,
            at(30),
            Event::Transformation {
                parents: vec![parent(&set[18])],
                product: text("fake"),
                grams: 1,
            },
        )
        .unwrap();
    let err = store.append(&bad).unwrap_err();
    assert_eq!(
        err.conflict(),
        Some(&Conflict::Refused(Reason::UntrustedKey(
            mallory.public_key().key_id()
        )))
    );
    let trust = store.trust_history().unwrap().trust().clone();
    let t = trace(&store, &trust, &Policy::livestock(), &pig()).unwrap();
    assert_eq!(t.verification.chains, 3);
}

#[test]
fn deleted_lineage_rows_are_damage_never_verified() {
    let k = keys();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hostile-lineage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.sqlite");
    let store = SqliteStore::create(&path, operator().verifier()).unwrap();
    grant_all(&store, &k);
    store.append_batch(&lineage_set(&k)).unwrap();
    store.check_integrity().unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "DELETE FROM lineage WHERE parent_subject = ?1",
        [cut().to_string()],
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let trust = trust(&k);
    match trace(&store, &trust, &Policy::livestock(), &pig()) {
        Err(TraceError::Damaged { subject, .. }) => assert_eq!(subject, cut()),
        other => panic!("expected damage, got {other:?}"),
    }
    assert!(matches!(
        store.check_integrity(),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn verifiers_with_their_own_pools_run_from_inside_rayon() {
    let k = keys();
    let trust = trust(&k);
    let policy = Policy::livestock();
    let set = lineage_set(&k);
    let verdicts: Vec<u64> = (0..8)
        .into_par_iter()
        .map(|_| {
            LedgerVerifier::new(&trust, &policy)
                .threads(2)
                .verify(&set)
                .unwrap()
                .records()
        })
        .collect();
    assert_eq!(verdicts, vec![24; 8]);
}

#[test]
fn names_with_invisible_characters_are_refused() {
    for s in [
        "Dr.\u{202E}iL",
        "Li\u{200B}Wei",
        "\u{2066}farm\u{2069}",
        "\u{FEFF}coop",
    ] {
        assert!(
            matches!(Text::new(s), Err(TextError::InvisibleCharacter { .. })),
            "{s:?}"
        );
    }
    assert!(Text::new("Bamei 八眉猪").is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random lineage graphs over up to 40 lots, with shared ancestors and attempted cycles
    /// (a lot aggregated into a later lot that descends from it): every trace terminates,
    /// shows each reachable lot exactly once, and its report grows with lots and edges.
    #[test]
    fn random_lineage_graphs_trace_each_subject_once(
        edges in prop::collection::vec((0u32..40, 0u32..40), 1..120),
    ) {
        let k = keys();
        let store = memory_store(&k);
        let set = lineage_set(&k);
        store.append_batch(&set).unwrap();
        // Lot i is made from the cut and from earlier lots j < i (a DAG of blends).
        let mut made: HashMap<u32, SignedRecord> = HashMap::new();
        for i in 0..40u32 {
            let mut ps = vec![parent(&set[20])];
            for &(a, b) in &edges {
                if b == i
                    && a < i
                    && ps.len() < 8
                    && let Some(r) = made.get(&a)
                    && !ps.contains(&parent(r))
                {
                    ps.push(parent(r));
                }
            }
            let r = made_from(&lot(i), 30, ps, &k);
            store.append(&r).unwrap();
            made.insert(i, r);
        }
        // Attempted cycles: an earlier lot aggregated into a later one.
        for &(a, b) in edges.iter().take(10) {
            if a < b {
                let tip = store.tip(&lot(a)).unwrap();
                let r = Chain::continue_from(lot(a), tip)
                    .append(&k.processor, at(31), Event::Aggregation { container: parent(&made[&b]) })
                    .unwrap();
                store.append(&r).unwrap();
            }
        }
        let trust = store.trust_history().unwrap().trust().clone();
        let t = trace(&store, &trust, &Policy::livestock(), &pig()).unwrap();
        each_once(&t);
        prop_assert_eq!(t.products.len(), 1 + 1 + 40);
        let t = trace(&store, &trust, &Policy::livestock(), &lot(39)).unwrap();
        each_once(&t);
    }
}
