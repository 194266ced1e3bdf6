//! The demo cooperative is deterministic, realistic in shape, and verifies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use agritrace::demo::DemoConfig;
use agritrace::*;

fn small() -> DemoConfig {
    DemoConfig {
        pigs: 12,
        ..DemoConfig::new(7)
    }
}

#[test]
fn demo_is_deterministic_and_verifies() {
    let cfg = small();
    let a = cfg.generate();
    let b = cfg.generate();
    assert_eq!(a.records, b.records);
    let policy = Policy::livestock();
    let set = LedgerVerifier::new(&a.trust, &policy)
        .verify_set(&a.records)
        .unwrap();
    assert_eq!(set.record_count(), a.records.len());
    assert_eq!(
        Verifier::new(&a.trust, &policy).verify_set(&a.records),
        Ok(set.clone())
    );
    // Pigs, cuts, packs and produce lots.
    let eartags = set
        .chains()
        .filter(|c| matches!(c.subject(), SubjectId::EarTag(_)))
        .count();
    assert_eq!(eartags, 12);
    assert!(
        set.chains()
            .any(|c| c.subject().to_string().contains("HONEY-BLEND"))
    );
    let slaughtered = set
        .chains()
        .filter(|c| {
            c.records()
                .iter()
                .any(|r| matches!(r.body().event(), Event::Slaughter { .. }))
        })
        .count();
    assert!(
        slaughtered > 0,
        "some pigs reach market age inside the history"
    );
    // Every slaughtered pig's chain ends: quarantine, move, custody, slaughter, end.
    for c in set.chains().filter(|c| {
        c.records()
            .iter()
            .any(|r| matches!(r.body().event(), Event::Slaughter { .. }))
    }) {
        let kinds: Vec<EventKind> = c
            .records()
            .iter()
            .rev()
            .take(5)
            .map(|r| r.body().event().kind())
            .collect();
        assert_eq!(
            kinds,
            [
                EventKind::EndOfChain,
                EventKind::Slaughter,
                EventKind::CustodyTransfer,
                EventKind::Move,
                EventKind::Inspection
            ]
        );
    }
    // Pigs slaughtered: 4 cuts and 8 packs each.
    let lots = set
        .chains()
        .filter(|c| matches!(c.subject(), SubjectId::Lot(_)))
        .count();
    assert_eq!(lots, slaughtered * 12 + 7);
}

#[test]
fn demo_streams_to_a_ledger_file_that_verifies() {
    let cfg = small();
    let mut file = Vec::new();
    let n = cfg.write_ledger(&mut file).unwrap();
    let trust = cfg.trust();
    let policy = Policy::livestock();
    let ledger = LedgerVerifier::new(&trust, &policy)
        .verify_stream(|| LedgerReader::new(file.as_slice()))
        .unwrap();
    assert_eq!(ledger.records(), n);
    assert_eq!(usize::try_from(n).unwrap(), cfg.generate().records.len());
}

#[test]
fn bench_config_gives_about_the_asked_records_per_pig() {
    let cfg = DemoConfig::bench(1, 10, 100);
    let farm = cfg.generate();
    let per_pig = farm.records.len() / 10;
    assert!((85..=115).contains(&per_pig), "{per_pig} records per pig");
}
