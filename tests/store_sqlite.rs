//! The SQLite store: the conformance suite, writers in several processes, and a crash test
//! that kills a writer with SIGKILL 200 times.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Duration;

use agritrace::*;
use common::store_suite as suite;
use common::*;

/// A fresh directory under target/ for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A new store file pinning the test operator and trusting every test key.
fn fresh(name: &str) -> SqliteStore {
    create(&scratch(name).join("ledger.sqlite"))
}

fn create(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::create(path, operator().verifier()).unwrap();
    grant_all(&store, &keys());
    store
}

#[test]
fn conformance_append_and_read() {
    suite::append_and_read(&fresh("append_and_read"));
}

#[test]
fn conformance_lineage_edges() {
    suite::lineage_edges(&fresh("lineage_edges"));
}

#[test]
fn conformance_refused_appends() {
    suite::refused_appends(&fresh("refused_appends"));
}

#[test]
fn conformance_batch_atomicity() {
    suite::batch_atomicity(&fresh("batch_atomicity"));
}

#[test]
fn conformance_concurrent_threads() {
    suite::concurrent_threads(&fresh("concurrent_threads"));
}

#[test]
fn conformance_large_batches() {
    store_suite::large_batches(&fresh("large_batches"));
}

#[test]
fn conformance_every_reason_refused() {
    suite::every_reason_refused(&fresh("every_reason"), &operator());
}

#[test]
fn in_memory_store_conforms_too() {
    suite::append_and_read(&memory_store(&keys()));
    suite::refused_appends(&memory_store(&keys()));
    suite::every_reason_refused(&memory_store(&keys()), &operator());
}

fn shared_subjects() -> Vec<SubjectId> {
    (0..3)
        .map(|s| SubjectId::EarTag(EarTag::new(Species::Pig, 610_830, 700 + s).unwrap()))
        .collect()
}

/// A writer process on the store file at `path`.
fn child(mode: &str, path: &std::path::Path, writer: u32) -> std::process::Child {
    child_process(mode, path.to_str().unwrap(), writer)
}

/// `ACK <id>` lines a child printed (a line cut short by a kill is ignored).
fn acks(out: impl std::io::Read) -> Vec<RecordId> {
    BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.strip_prefix("ACK ").and_then(|id| id.parse().ok()))
        .collect()
}

/// The child side of the process tests (does nothing when run as an ordinary test).
#[test]
#[ignore = "run by the process tests as a child process"]
fn child_entry() {
    let Some((mode, path, w)) = child_args() else {
        return;
    };
    let store = SqliteStore::open(&path).unwrap();
    let k = keys();
    let subjects = shared_subjects();
    let print = |id: RecordId| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ACK {id}").unwrap();
        out.flush().unwrap();
    };
    match mode.as_str() {
        "race" => {
            for id in suite::writer(&store, &k.gateway, &subjects, w, 30) {
                print(id);
            }
        }
        "crash" => {
            // Append until killed, alternating single appends and batches of three; an
            // append is acknowledged (printed) only after the store returned.
            for i in 0u32.. {
                if i % 4 == 3 {
                    let subject = &subjects[usize::try_from(i % 3).unwrap()];
                    let tip = store.tip(subject).unwrap();
                    let mut chain = Chain::continue_from(subject.clone(), tip);
                    let t0 = tip.map_or(Timestamp::from_millis(1_000), |t| t.time);
                    let batch: Vec<SignedRecord> = (0..3)
                        .map(|j| {
                            chain
                                .append(
                                    &k.gateway,
                                    t0.saturating_add_millis(j + 1),
                                    Event::Weighing { grams: i },
                                )
                                .unwrap()
                        })
                        .collect();
                    store.append_batch(&batch).unwrap();
                    for r in &batch {
                        print(r.id());
                    }
                } else {
                    for id in suite::writer(&store, &k.gateway, &subjects, i, 1) {
                        print(id);
                    }
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn concurrent_processes_lose_nothing_and_never_fork() {
    let path = scratch("processes").join("ledger.sqlite");
    drop(create(&path));
    let children: Vec<_> = (0..3).map(|w| child("race", &path, w)).collect();
    let mut acked = Vec::new();
    for mut c in children {
        acked.extend(acks(c.stdout.take().unwrap()));
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(acked.len(), 90, "every child acknowledged all its appends");
    let store = SqliteStore::open(&path).unwrap();
    suite::check_no_loss(&store, &shared_subjects(), acked);
    assert_eq!(store.len().unwrap(), 90);
}

#[test]
fn sigkill_never_loses_an_acknowledged_append() {
    let path = scratch("crash").join("ledger.sqlite");
    drop(create(&path));
    let k = keys();
    let trust = trust(&k);
    let policy = Policy::livestock();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut acked = Vec::new();
    let kills = 200;
    for round in 0..kills {
        let mut c = child("crash", &path, round);
        let out = c.stdout.take().unwrap();
        let reader = std::thread::spawn(move || acks(out));
        std::thread::sleep(Duration::from_millis(5 + rng.next() % 45));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        acked.extend(reader.join().unwrap());
        // After every kill: the store opens, every acknowledged append is there, chains and
        // log have no gap or fork, and the whole ledger verifies.
        let store = SqliteStore::open(&path).unwrap();
        suite::check_no_loss(&store, &shared_subjects(), acked.iter().copied());
        let ledger = LedgerVerifier::new(&trust, &policy)
            .verify_stream(|| Ok::<_, StoreError>(store.stream(1000)))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(ledger.records(), store.len().unwrap());
    }
    println!("{kills} kills, {} acknowledged appends", acked.len());
    assert!(
        acked.len() > usize::try_from(kills).unwrap(),
        "the writer made progress"
    );
}
