//! Writers in separate processes, each with its own connection: eight at once on shared
//! and own subjects, and writers killed with SIGKILL mid-batch, 120 times.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../../../tests/common/mod.rs"]
mod common;
mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write as _};
use std::time::Duration;

use agritrace::*;
use agritrace_postgres::PgStore;
use common::store_suite as suite;
use common::*;

/// The subjects every writer races on.
fn shared_subjects() -> Vec<SubjectId> {
    (0..3)
        .map(|s| SubjectId::EarTag(EarTag::new(Species::Pig, 610_830, 700 + s).unwrap()))
        .collect()
}

/// Writer `w`'s own subject.
fn own_subject(w: u32) -> SubjectId {
    SubjectId::EarTag(EarTag::new(Species::Pig, 610_831, w).unwrap())
}

fn create(url: &str) -> PgStore {
    let store = PgStore::create(url, operator().verifier()).unwrap();
    grant_all(&store, &keys());
    store
}

/// A writer process on the store at `url`.
fn child(mode: &str, url: &str, writer: u32) -> std::process::Child {
    child_process(mode, url, writer)
}

/// What a child printed: `ACK <id>` once an append returned, `TRY <first> <last>` before a
/// batch is sent (a line cut short by a kill is ignored).
#[derive(Default)]
struct Said {
    acked: Vec<RecordId>,
    /// The last batch tried, by its first and last record.
    tried: Option<(RecordId, RecordId)>,
}

fn said(out: impl std::io::Read) -> Said {
    let mut said = Said::default();
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("ACK ").and_then(|id| id.parse().ok()) {
            said.acked.push(id);
        } else if let Some((a, b)) = line.strip_prefix("TRY ").and_then(|t| t.split_once(' '))
            && let (Ok(a), Ok(b)) = (a.parse(), b.parse())
        {
            said.tried = Some((a, b));
        }
    }
    said
}

fn print(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// Appends `n` batches of `size` to `subject`, each built on the tip it reads.
fn batches(store: &PgStore, subject: &SubjectId, n: u32, size: i64, tag: u32) {
    let k = keys();
    for i in 0..n {
        let tip = store.tip(subject).unwrap();
        let mut chain = Chain::continue_from(subject.clone(), tip);
        let t0 = tip.map_or(Timestamp::from_millis(1_000), |t| t.time);
        let batch: Vec<SignedRecord> = (0..size)
            .map(|j| {
                chain
                    .append(
                        &k.gateway,
                        t0.saturating_add_millis(j + 1),
                        Event::Weighing { grams: tag + i },
                    )
                    .unwrap()
            })
            .collect();
        print(&format!(
            "TRY {} {}",
            batch[0].id(),
            batch[batch.len() - 1].id()
        ));
        store.append_batch(&batch).unwrap();
        for r in &batch {
            print(&format!("ACK {}", r.id()));
        }
    }
}

/// The child side of the process tests (does nothing when run as an ordinary test).
#[test]
#[ignore = "run by the process tests as a child process"]
fn child_entry() {
    let Some((mode, url, w)) = child_args() else {
        return;
    };
    let store = PgStore::open(&url).unwrap();
    let k = keys();
    match mode.as_str() {
        "race" => {
            // Single appends racing on the shared subjects, then batches on its own.
            for id in suite::writer(&store, &k.gateway, &shared_subjects(), w, 30) {
                print(&format!("ACK {id}"));
            }
            batches(&store, &own_subject(w), 5, 40, w);
        }
        "crash" => {
            // Until killed: batches of 300 on its own subject (long enough to be killed
            // in the middle of one), between single appends on the shared subjects.
            for i in 0u32.. {
                batches(&store, &own_subject(w % 4), 1, 300, i);
                for id in suite::writer(&store, &k.gateway, &shared_subjects(), i, 2) {
                    print(&format!("ACK {id}"));
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Every record of the ledger verifies under the test trust.
fn verifies(store: &PgStore) {
    let trust = trust(&keys());
    let policy = Policy::livestock();
    let ledger = LedgerVerifier::new(&trust, &policy)
        .verify_stream(|| Ok::<_, StoreError>(store.stream(5_000)))
        .unwrap();
    assert_eq!(ledger.records(), store.len().unwrap());
}

#[test]
fn eight_writer_processes_lose_nothing_and_never_fork() {
    let Some(url) = support::fresh_db("eight_writers") else {
        return;
    };
    drop(create(&url));
    let children: Vec<_> = (0..8).map(|w| child("race", &url, w)).collect();
    let mut acked = Vec::new();
    for mut c in children {
        acked.extend(said(c.stdout.take().unwrap()).acked);
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(
        acked.len(),
        8 * (30 + 5 * 40),
        "every child acknowledged all"
    );
    let store = PgStore::open(&url).unwrap();
    let mut subjects = shared_subjects();
    subjects.extend((0..8).map(own_subject));
    suite::check_no_loss(&store, &subjects, acked);
    assert_eq!(store.len().unwrap(), 8 * (30 + 5 * 40));
    store.check_integrity().unwrap();
    verifies(&store);
}

#[test]
fn sigkill_mid_batch_loses_nothing_and_writes_no_half_batch() {
    let Some(url) = support::fresh_db("sigkill") else {
        return;
    };
    drop(create(&url));
    let store = PgStore::open(&url).unwrap();
    let mut watcher = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut acked: Vec<RecordId> = Vec::new();
    let (mut whole, mut none) = (0, 0);
    let kills = 120;
    for round in 0..kills {
        let mut c = child("crash", &url, round);
        let out = c.stdout.take().unwrap();
        let reader = std::thread::spawn(move || said(out));
        std::thread::sleep(Duration::from_millis(40 + rng.next() % 160));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        let said = reader.join().unwrap();
        // The server may still be running the killed writer's last statement (a COMMIT
        // it had received commits): wait until its session is gone.
        support::settle(&mut watcher);
        // Every append acknowledged in this round is stored…
        for id in &said.acked {
            assert!(store.get(id).unwrap().is_some(), "round {round}: {id} lost");
        }
        // …and a batch in flight (sent, not acknowledged) is stored whole or not at all:
        // its records are one chain segment, so its first and last tell.
        if let Some((first, last)) = said.tried.filter(|(_, last)| !said.acked.contains(last)) {
            let (a, b) = (store.get(&first).unwrap(), store.get(&last).unwrap());
            assert_eq!(
                a.is_some(),
                b.is_some(),
                "round {round}: half a batch is stored"
            );
            if a.is_some() {
                whole += 1;
            } else {
                none += 1;
            }
        }
        acked.extend(said.acked);
        if round % 20 == 19 {
            store.check_integrity().unwrap();
        }
    }
    let mut subjects = shared_subjects();
    subjects.extend((0..4).map(own_subject));
    let unique: HashSet<RecordId> = acked.iter().copied().collect();
    suite::check_no_loss(&store, &subjects, acked.iter().copied());
    store.check_integrity().unwrap();
    verifies(&store);
    let _ = writeln!(
        std::io::stderr(),
        "{kills} kills: {} acknowledged appends, all present; batches in flight at the kill: {whole} stored whole (committed, not yet acknowledged), {none} not at all",
        unique.len()
    );
    assert!(none > 0, "some kills landed mid-batch");
    assert!(unique.len() > 1_000, "the writers made progress");
}

/// Polls `f` until it holds (the replica replaying, the standby connecting), for a minute.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1_200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// A trace as JSON, without its timing.
fn trace_json(store: &PgStore, id: &SubjectId) -> serde_json::Value {
    let t = trace(store, &trust(&keys()), &Policy::livestock(), id).unwrap();
    let mut v = serde_json::to_value(&t).unwrap();
    v["verification"]["millis"] = serde_json::Value::Null;
    v
}

/// A primary and a streaming replica (`pg_basebackup`, synchronous replication). Traces are
/// served from the replica; then, during an append load from four writer processes, the
/// primary is stopped with `pg_ctl stop -m immediate` and the replica promoted: every
/// record acknowledged before the stop is on it, no batch is half there, and the ledger
/// verifies.
#[test]
#[allow(clippy::too_many_lines, reason = "one scenario, step by step")]
fn failover_to_a_synchronous_replica_loses_nothing_acknowledged() {
    let Some(bin) = support::server_binaries("failover") else {
        return;
    };
    let base = std::env::temp_dir().join(format!("agritrace-failover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut primary = support::Cluster::new(&bin, base.join("primary"));
    let mut replica = support::Cluster::new(&bin, base.join("replica"));
    primary.own(&base);
    let data = primary.dir.display().to_string();
    primary.tool(
        "initdb",
        &[
            "-D",
            &data,
            "-U",
            "agritrace",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        ],
    );
    primary.configure(&format!(
        "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
         wal_level = replica\nmax_wal_senders = 4\nfsync = on\nsynchronous_commit = on",
        primary.port,
        base.display()
    ));
    primary.start();
    let mut admin = postgres::Client::connect(&primary.url("postgres"), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE DATABASE ledger").unwrap();
    let store = create(&primary.url("ledger"));
    store.append_batch(&lineage_set(&keys())).unwrap();

    // The replica: a base backup that follows the primary, named so the primary can wait
    // for it; then the primary makes every commit wait for it.
    let rdata = replica.dir.display().to_string();
    replica.tool(
        "pg_basebackup",
        &[
            "-D",
            &rdata,
            "-h",
            "127.0.0.1",
            "-p",
            &primary.port.to_string(),
            "-U",
            "agritrace",
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
    );
    replica.configure(&format!("port = {}", replica.port));
    // After the line `pg_basebackup -R` wrote to postgresql.auto.conf (read last), so this
    // one, with the name, is the one that counts.
    replica.configure_auto(&format!(
        "primary_conninfo = 'host=127.0.0.1 port={} user=agritrace application_name=replica1'",
        primary.port
    ));
    replica.start();
    admin
        .batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'replica1'")
        .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    wait_for("the replica to be synchronous", || {
        admin
            .query("SELECT 1 FROM pg_stat_replication WHERE application_name = 'replica1' AND sync_state = 'sync'", &[])
            .is_ok_and(|rows| !rows.is_empty())
    });

    // Traces from the replica, once it has replayed what the primary holds.
    let standby = PgStore::open(&replica.url("ledger")).unwrap();
    wait_for("the replica to replay", || {
        standby.len().unwrap() == store.len().unwrap()
    });
    for s in [pig(), cut(), pack()] {
        assert_eq!(trace_json(&standby, &s), trace_json(&store, &s), "{s}");
    }
    let refused = standby.append(&build(&other_pig(), 0, life(&keys()))[0]);
    assert!(
        refused
            .as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("read-only")),
        "a standby refuses appends: {refused:?}"
    );
    drop(standby);

    // Load, then the primary stops as if the machine died.
    let url = primary.url("ledger");
    let children: Vec<_> = (0..4).map(|w| child("crash", &url, w)).collect();
    let readers: Vec<_> = children
        .into_iter()
        .map(|mut c| {
            let out = c.stdout.take().unwrap();
            (c, std::thread::spawn(move || said(out)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2_500));
    drop(store);
    drop(admin);
    primary.stop("immediate");
    let mut said_all = Vec::new();
    for (mut c, reader) in readers {
        let _ = c.kill();
        c.wait().unwrap();
        said_all.push(reader.join().unwrap());
    }
    replica.tool("pg_ctl", &["-D", &rdata, "-w", "promote"]);

    let promoted = PgStore::open(&replica.url("ledger")).unwrap();
    let acked: Vec<RecordId> = said_all
        .iter()
        .flat_map(|s| s.acked.iter().copied())
        .collect();
    for id in &acked {
        assert!(
            promoted.get(id).unwrap().is_some(),
            "acknowledged {id} is not on the replica"
        );
    }
    for s in &said_all {
        if let Some((first, last)) = s.tried {
            assert_eq!(
                promoted.get(&first).unwrap().is_some(),
                promoted.get(&last).unwrap().is_some(),
                "half a batch is on the replica"
            );
        }
    }
    let mut subjects = shared_subjects();
    subjects.extend((0..4).map(own_subject));
    suite::check_no_loss(&promoted, &subjects, acked.iter().copied());
    promoted.check_integrity().unwrap();
    verifies(&promoted);
    // The promoted server takes appends.
    let next = build(&other_pig(), 0, life(&keys()));
    promoted.append_batch(&next[..3]).unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "failover: {} appends acknowledged by the primary before `pg_ctl stop -m immediate`, all on the promoted replica ({} records)",
        acked.len(),
        promoted.len().unwrap()
    );
    assert!(
        acked.len() > 500,
        "the writers made progress before the stop"
    );
    drop(promoted);
    replica.stop("fast");
    let _ = std::fs::remove_dir_all(&base);
}
