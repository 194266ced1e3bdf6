//! The store conformance suite — the same file the SQLite store runs (the root crate's
//! `tests/common/store_suite.rs`) — against `PgStore` on a real server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../../../tests/common/mod.rs"]
mod common;
mod support;

use agritrace::*;
use agritrace_postgres::PgStore;
use common::store_suite as suite;
use common::*;

/// A store in a new database pinning the test operator and trusting every test key, or
/// `None` when there is no server.
fn fresh(test: &str) -> Option<PgStore> {
    let url = support::fresh_db(test)?;
    let store = PgStore::create(&url, operator().verifier()).unwrap();
    grant_all(&store, &keys());
    Some(store)
}

#[test]
fn conformance_append_and_read() {
    if let Some(store) = fresh("append_and_read") {
        suite::append_and_read(&store);
    }
}

#[test]
fn conformance_lineage_edges() {
    if let Some(store) = fresh("lineage_edges") {
        suite::lineage_edges(&store);
    }
}

#[test]
fn conformance_refused_appends() {
    if let Some(store) = fresh("refused_appends") {
        suite::refused_appends(&store);
    }
}

#[test]
fn conformance_batch_atomicity() {
    if let Some(store) = fresh("batch_atomicity") {
        suite::batch_atomicity(&store);
    }
}

#[test]
fn conformance_concurrent_threads() {
    if let Some(store) = fresh("concurrent_threads") {
        suite::concurrent_threads(&store);
    }
}

#[test]
fn conformance_large_batches() {
    if let Some(store) = fresh("large_batches") {
        suite::large_batches(&store);
    }
}

#[test]
fn conformance_every_reason_refused() {
    if let Some(store) = fresh("every_reason") {
        suite::every_reason_refused(&store, &operator());
    }
}

/// Creating over a store is refused; opening where there is none is refused; opening
/// gives back the same ledger and trust.
#[test]
fn create_and_open() {
    let Some(url) = support::fresh_db("create_and_open") else {
        return;
    };
    assert!(matches!(PgStore::open(&url), Err(StoreError::NotFound(_))));
    let store = PgStore::create(&url, operator().verifier()).unwrap();
    grant_all(&store, &keys());
    store.append_batch(&lineage_set(&keys())).unwrap();
    assert!(matches!(
        PgStore::create(&url, operator().verifier()),
        Err(StoreError::Exists(_))
    ));
    let again = PgStore::open(&url).unwrap();
    assert_eq!(again.len().unwrap(), 24);
    assert_eq!(
        again.trust_history().unwrap().to_text(),
        store.trust_history().unwrap().to_text()
    );
    again.check_integrity().unwrap();
    // Errors name the server and database, never a password.
    let err = PgStore::open(&support::with_db(&url, "agritrace_no_such_db"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("agritrace_no_such_db"), "{err}");
    let err = PgStore::open("postgres://u:secret@127.0.0.1:1/x")
        .err()
        .unwrap()
        .to_string();
    assert!(
        !err.contains("secret") && err.contains("127.0.0.1:1/x"),
        "{err}"
    );
    assert!(PgStore::open("postgres://[").is_err());
}

/// A trace from the PostgreSQL store is the trace from SQLite, for every demo subject.
#[test]
fn traces_match_sqlite() {
    let Some(url) = support::fresh_db("traces_match_sqlite") else {
        return;
    };
    let cfg = agritrace::demo::DemoConfig {
        pigs: 3,
        ..agritrace::demo::DemoConfig::new(5)
    };
    let sqlite = cfg.create_store(None).unwrap();
    let pg = PgStore::create(&url, cfg.operator().unwrap().verifier()).unwrap();
    for s in sqlite.trust_history().unwrap().statements() {
        pg.apply_trust(s.note()).unwrap();
    }
    let log: Vec<SignedRecord> = sqlite.stream(500).collect::<Result<_, _>>().unwrap();
    for page in log.chunks(700) {
        pg.append_batch(page).unwrap();
    }
    let (trust, policy) = (cfg.trust(), Policy::livestock());
    let json = |t: Trace| {
        let mut v = serde_json::to_value(&t).unwrap();
        v["verification"]["millis"] = serde_json::Value::Null;
        v
    };
    assert_eq!(pg.subjects().unwrap(), sqlite.subjects().unwrap());
    for s in sqlite.subjects().unwrap() {
        let a = json(trace(&sqlite, &trust, &policy, &s).unwrap());
        let b = json(trace(&pg, &trust, &policy, &s).unwrap());
        assert_eq!(a, b, "{s}");
        assert_eq!(
            pg.children(&s).unwrap(),
            sqlite.children(&s).unwrap(),
            "{s}"
        );
        assert_eq!(pg.parents(&s).unwrap(), sqlite.parents(&s).unwrap(), "{s}");
    }
    pg.check_integrity().unwrap();
}

/// A connection the server ends (a restart, a failover, an administrator) is made again:
/// the call that finds it broken fails with the server's reason, the next one reconnects.
#[test]
fn a_lost_connection_is_made_again() {
    let Some(url) = support::fresh_db("reconnect") else {
        return;
    };
    let store = PgStore::create(&url, operator().verifier()).unwrap();
    grant_all(&store, &keys());
    let set = lineage_set(&keys());
    store.append_batch(&set[..10]).unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let ended: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 1);
    let mut failures = 0;
    let len = loop {
        match store.len() {
            Ok(n) => break n,
            Err(e) => {
                assert!(e.to_string().contains("PostgreSQL"), "{e}");
                failures += 1;
                assert!(failures < 50, "no reconnection: {e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    };
    assert_eq!(len, 10);
    store.append_batch(&set[10..]).unwrap();
    assert_eq!(store.len().unwrap(), 24);
    store.check_integrity().unwrap();
}
