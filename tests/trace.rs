//! Tracing on the embedded store: the report a person reads, trace back from a pack, and
//! a store edited behind the crate's back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::PathBuf;

use agritrace::demo::DemoConfig;
use agritrace::*;

fn demo_store(name: &str) -> (PathBuf, SqliteStore, DemoConfig) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("trace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.sqlite");
    let cfg = DemoConfig {
        pigs: 8,
        ..DemoConfig::new(2026)
    };
    let store = cfg.create_store(Some(&path)).unwrap();
    for batch in cfg.generate().records.chunks(500) {
        store.append_batch(batch).unwrap();
    }
    (path, store, cfg)
}

fn slaughtered_pig(store: &SqliteStore, cfg: &DemoConfig) -> SubjectId {
    (0..cfg.pigs)
        .filter_map(|i| cfg.pig(i))
        .find(|p| !store.children(p).unwrap().is_empty())
        .unwrap()
}

/// Regression: tracing one of a blend's source lots read the blend (a descendant) but not
/// its other source lots, so the blend's lineage failed to verify.
#[test]
fn every_subject_of_the_demo_traces_verified() {
    let (_, store, cfg) = demo_store("every");
    let subjects = store.subjects().unwrap();
    assert!(
        subjects
            .iter()
            .any(|s| s.to_string().contains("HONEY-BLEND"))
    );
    for s in &subjects {
        let t = trace(&store, &cfg.trust(), &Policy::livestock(), s);
        assert!(t.is_ok(), "{s}: {:?}", t.err());
    }
    // One honey lot reads the blend made from it and the blend's other lots, and only
    // upwards from those: the closure does not grow into the whole lineage graph.
    let lot = |name: &str| {
        subjects
            .iter()
            .find(|s| s.to_string().ends_with(name))
            .unwrap()
            .clone()
    };
    let closure = lineage_closure(&store, &lot("/HONEY-01")).unwrap();
    for name in ["/HONEY-01", "/HONEY-02", "/HONEY-03", "/HONEY-BLEND-01"] {
        assert!(closure.contains(&lot(name)), "{name} in {closure:?}");
    }
    assert_eq!(closure.len(), 4, "{closure:?}");
}

#[test]
fn a_pig_trace_reads_like_its_life() {
    let (_, store, cfg) = demo_store("pig");
    let pig = slaughtered_pig(&store, &cfg);
    let t = trace(&store, &cfg.trust(), &Policy::livestock(), &pig).unwrap();
    let a = t.animal.as_ref().unwrap();
    assert_eq!(a.id, pig);
    assert!(
        ["Bamei 八眉猪", "Guanzhong Black 关中黑猪"].contains(&a.breed.as_str())
            || a.breed.starts_with("DLY")
    );
    assert!(a.age_days > 150, "slaughter age {}", a.age_days);
    assert!(a.weights.len() > 20);
    assert!(a.weights.last().unwrap().1 > 90_000, "market weight");
    assert!(a.steps.days_recorded > 100 && a.steps.average > 3_000);
    assert!(a.steps.days_at_goal <= a.steps.days_recorded);
    assert!(a.treatments.iter().all(|tr| tr.respected == Some(true)));
    assert_eq!(a.moves.len(), 1);
    assert!(a.slaughter.is_some());
    let depths: Vec<u32> = t.products.iter().map(|p| p.depth).collect();
    assert_eq!(
        depths,
        [1, 2, 2].repeat(4),
        "four cuts, each followed by its two packs"
    );
    assert_eq!(t.verification.verdict, "verified");
    assert_eq!(t.verification.chains, 13);
    assert!(
        t.meaning
            .iter()
            .any(|(k, v)| k == "county" && v.contains("Qingjian"))
    );
    let svg = t.svg().unwrap();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
}

#[test]
fn a_pack_traces_back_to_its_pig() {
    let (_, store, cfg) = demo_store("pack");
    let pig = slaughtered_pig(&store, &cfg);
    let cut = store.children(&pig).unwrap()[0].child.clone();
    let pack = store.children(&cut).unwrap()[0].child.clone();
    let t = trace(&store, &cfg.trust(), &Policy::livestock(), &pack).unwrap();
    assert_eq!(t.product_path.len(), 2, "pack, then cut");
    assert_eq!(t.product_path[0].id, pack);
    assert_eq!(t.product_path[1].id, cut);
    assert_eq!(t.animal.as_ref().unwrap().id, pig);
}

#[test]
fn unknown_ids_are_not_found() {
    let (_, store, cfg) = demo_store("unknown");
    let nobody: SubjectId = "eartag:161083099999999".parse().unwrap();
    assert!(matches!(
        trace(&store, &cfg.trust(), &Policy::livestock(), &nobody),
        Err(TraceError::NotFound(_))
    ));
}

#[test]
fn a_byte_edited_behind_the_stores_back_is_a_verification_failure() {
    let (path, store, cfg) = demo_store("tamper");
    let pig = slaughtered_pig(&store, &cfg);
    let victim = store.chain(&pig).unwrap()[40].clone();
    drop(store);
    // Edit one byte of the stored body (a daily step count, say) with plain SQL.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut body = victim.body().to_vec();
    let last = body.len() - 1;
    body[last] ^= 0x01;
    let n = conn
        .execute(
            "UPDATE records SET body = ?1 WHERE id = ?2",
            rusqlite::params![body, victim.id().as_bytes().as_slice()],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    match trace(&store, &cfg.trust(), &Policy::livestock(), &pig) {
        Err(TraceError::Verify(errs)) => {
            let e = &errs[0];
            assert_eq!(e.subject.as_ref(), Some(&pig));
            assert_eq!(e.record, Some(RecordId::of_body(&body)));
            assert!(
                matches!(e.reason, Reason::BadSignature | Reason::Decode(_)),
                "{e}"
            );
        }
        other => panic!("expected a verification failure, got {other:?}"),
    }
}
