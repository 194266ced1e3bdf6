//! `agritrace serve` as a process: pages over HTTP, and ingestion that survives SIGKILL —
//! every record the server acknowledged is in the store afterwards, and the store verifies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agritrace::demo::DemoConfig;
use agritrace::{RecordId, SqliteStore, Store as _, write_ledger};

const BIN: &str = env!("CARGO_BIN_EXE_agritrace");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &Path, port: u16) -> Child {
    let child = Command::new(BIN)
        .current_dir(dir)
        .args(["--store", "demo.sqlite", "serve", "-q", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq::get(&format!("http://127.0.0.1:{port}/"))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agritrace-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new(BIN)
        .current_dir(&dir)
        .args(["--store", "demo.sqlite", "demo", "--pigs", "3", "-q"])
        .status()
        .unwrap();
    assert!(ok.success());
    dir
}

#[test]
fn pages_and_the_checkpoint_over_http() {
    let dir = scratch("pages");
    let port = free_port();
    let mut server = start(&dir, port);
    let base = format!("http://127.0.0.1:{port}");
    let mut page = ureq::get(&format!("{base}/eartag/161083000001001?lang=en"))
        .call()
        .unwrap();
    assert_eq!(
        page.headers().get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("VERIFIED") && html.contains(&format!("{base}/eartag/161083000001001")));
    let note = ureq::get(&format!("{base}/checkpoint"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(note.starts_with("log.qingjian-coop.example/v1\n"), "{note}");
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acknowledged_records_survive_sigkill() {
    let dir = scratch("kill");
    let cfg = DemoConfig {
        pigs: 3,
        ..DemoConfig::new(2026)
    };
    let keys = cfg.keys();
    let mut next_pig = 3u32;
    let mut acknowledged: Vec<RecordId> = Vec::new();
    for round in 0..3u64 {
        let port = free_port();
        let mut server = start(&dir, port);
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        // Batches for the client: each a pig with its cuts and packs, not yet stored.
        let batches: Vec<Vec<agritrace::SignedRecord>> = (next_pig..next_pig + 40)
            .map(|i| cfg.pig_records(&keys, i))
            .collect();
        next_pig += 40;
        let client = {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let url = format!("http://127.0.0.1:{port}/records");
                for batch in batches {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let mut body = Vec::new();
                    write_ledger(&mut body, &batch).unwrap();
                    // Only a full answer is an acknowledgement.
                    let Ok(mut resp) = ureq::post(&url)
                        .header("content-type", "application/octet-stream")
                        .send(&body[..])
                    else {
                        return;
                    };
                    let Ok(text) = resp.body_mut().read_to_string() else {
                        return;
                    };
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert!(v["appended"].as_u64().is_some(), "{text}");
                    acked
                        .lock()
                        .unwrap()
                        .extend(batch.iter().map(agritrace::SignedRecord::id));
                }
            })
        };
        // Kill mid-load, at a different point each round.
        std::thread::sleep(Duration::from_millis(250 + 200 * round));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        client.join().unwrap();
        acknowledged.extend(acked.lock().unwrap().iter().copied());
        // Everything acknowledged so far is there, and the store verifies.
        let store = SqliteStore::open(dir.join("demo.sqlite")).unwrap();
        for id in &acknowledged {
            assert!(
                store.get(id).unwrap().is_some(),
                "round {round}: acknowledged {id} lost"
            );
        }
        store.check_integrity().unwrap();
        drop(store);
        let verify = Command::new(BIN)
            .current_dir(&dir)
            .args(["--store", "demo.sqlite", "verify", "-q"])
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
    assert!(
        !acknowledged.is_empty(),
        "no batch was acknowledged before the kills"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
