//! Load on the trace service: page requests/s and p50/p99 latency for one demo pig with 1
//! and 32 concurrent clients (on the same machine as the server), with and without the page
//! cache; the library's own `trace()` time
//! for comparison; and ingestion records/s in batches of 1,000.
//!
//! ```text
//! cargo run --release -p agritrace-web --example bench_web            # 300-pig demo, 5 s per run
//! cargo run --release -p agritrace-web --example bench_web -- --quick # small (CI)
//! ```

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark prints its report; rates are approximate by nature"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use agritrace::demo::DemoConfig;
use agritrace::{Policy, SignedRecord, Store as _, SubjectId, trace, write_ledger};
use agritrace_web::{Service, router};

const CLIENTS: usize = 32;

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted
        .get(sorted.len().saturating_sub(1) * p / 100)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Starts the service on a free port in its own runtime; returns its base URL.
fn spawn(service: Arc<Service>) -> Result<String, Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            let _ = axum::serve(listener, router(service)).await;
        });
    });
    Ok(format!("http://{addr}"))
}

/// `clients` threads requesting `url` for `secs`: requests/s, p50 and p99 in ms.
fn load(url: &str, secs: f64, clients: usize) -> (f64, f64, f64) {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let mut all: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let agent = ureq::Agent::new_with_defaults();
                    let mut lat = Vec::new();
                    while Instant::now() < until {
                        let t = Instant::now();
                        let ok = agent
                            .get(url)
                            .call()
                            .and_then(|mut r| r.body_mut().read_to_vec())
                            .is_ok();
                        if ok {
                            lat.push(t.elapsed());
                        }
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (
        all.len() as f64 / elapsed,
        percentile(&all, 50),
        percentile(&all, 99),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (pigs, secs) = if quick { (20, 1.0) } else { (300, 5.0) };
    let cfg = DemoConfig {
        pigs,
        ..DemoConfig::new(2026)
    };
    let dir = std::env::temp_dir().join(format!("agritrace-bench-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("demo.sqlite");
    let store = cfg.create_store(Some(&path))?;
    for batch in cfg.generate().records.chunks(1_000) {
        store.append_batch(batch)?;
    }
    let pig: SubjectId = "eartag:161083000001001".parse()?;
    // The library's own trace time, for the uncached page's goal (≤ 2×).
    let trust = store.trust_history()?.trust().clone();
    let mut lib: Vec<Duration> = (0..31)
        .map(|_| {
            let t = Instant::now();
            let _ = trace(&store, &trust, &Policy::livestock(), &pig);
            t.elapsed()
        })
        .collect();
    lib.sort();
    let records = store.len()?;
    println!(
        "demo store: {records} records; library trace() of {pig}: p50 {:.2} ms",
        percentile(&lib, 50)
    );
    drop(store);

    for cache in [true, false] {
        let service = Arc::new(Service::new(
            agritrace::SqliteStore::open(&path)?,
            Some(cfg.operator()?),
            "https://trace.example.cn",
            cache,
        ));
        let base = spawn(service)?;
        let url = format!("{base}/eartag/161083000001001");
        let _ = load(&url, 0.3, CLIENTS); // warm up
        for clients in [1, CLIENTS] {
            let (rps, p50, p99) = load(&url, secs, clients);
            println!(
                "page, {clients:>2} client(s), cache {}: {rps:.0} requests/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
                if cache { "on " } else { "off" }
            );
        }
    }

    // Ingestion: new pigs' records, signed beforehand, POSTed in batches of 1,000.
    let service = Arc::new(Service::new(
        agritrace::SqliteStore::open(&path)?,
        None,
        "https://trace.example.cn",
        true,
    ));
    let base = spawn(service)?;
    let keys = cfg.keys();
    let extra = if quick { 20 } else { 200 };
    let fresh: Vec<SignedRecord> = cfg.pigs_records(&keys, pigs..pigs + extra);
    let bodies: Vec<Vec<u8>> = fresh
        .chunks(1_000)
        .map(|c| {
            let mut b = Vec::new();
            write_ledger(&mut b, c).map(|()| b)
        })
        .collect::<Result<_, _>>()?;
    let agent = ureq::Agent::new_with_defaults();
    let url = format!("{base}/records");
    let t = Instant::now();
    for body in &bodies {
        agent
            .post(&url)
            .header("content-type", "application/octet-stream")
            .send(&body[..])?
            .body_mut()
            .read_to_string()?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "ingestion, one client, batches of 1,000: {:.0} records/s ({} records)",
        fresh.len() as f64 / secs,
        fresh.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
