//! The store benchmark on both backends, in one run: the embedded SQLite store and
//! `PgStore` on a PostgreSQL server.
//!
//! ```text
//! AGRITRACE_PG_URL=postgres://user@127.0.0.1:5432/postgres \
//!   cargo run --release -p agritrace-postgres --example bench_backends            # full run
//! cargo run --release -p agritrace-postgres --example bench_backends -- --quick  # small (CI)
//! ... -- --json                        # one JSON object per backend
//! ... -- --only postgres               # one backend (sqlite | postgres)
//! ... -- --no-trace                    # appends only (no 1M-record store)
//! ```
//!
//! The server URL names a database the bench may connect to in order to create its own
//! (`agritrace_bench_*`, dropped and made again each run; the 1M-record one is kept and
//! reused). Without a URL only SQLite runs, and the bench says so.
//!
//! Prints, per backend: appends/s with signing in batches of 1,000 (signing on all cores in
//! a producer thread, one transaction per batch); appends/s of records signed beforehand,
//! batches of 1,000; durable single-record appends/s, by one writer and by eight at once
//! (each its own pig and connection); one writer against eight concurrent
//! writers (each its own connection): gateways that sign their own pig's records on their
//! thread and append batches of 100, and records signed beforehand in batches of 1,000 —
//! five interleaved pairs, their medians and the median ratio;
//! and the latency to trace one pig (lineage lookup, reads, verification of its chain, cuts
//! and packs, the bookkeeping check) in a store of about 1,000,000 records, p50 and p95.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    reason = "a benchmark prints its report; rates are approximate by nature"
)]

use std::path::PathBuf;
use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{Chain, Event, Policy, SignedRecord, SqliteStore, Store, Timestamp, trace};
use agritrace_postgres::PgStore;
use rayon::prelude::*;

type AnyStore = Box<dyn Store + Send + Sync>;
type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where a bench store lives.
enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    fn sqlite_path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/agritrace-bench")
            .join(format!("{name}.sqlite"))
    }

    fn pg_url(url: &str, name: &str) -> String {
        let (base, query) = url
            .split_once('?')
            .map_or((url, None), |(b, q)| (b, Some(q)));
        let after = base.find("://").map_or(0, |i| i + 3);
        let end = base[after..].find('/').map_or(base.len(), |i| after + i);
        let mut out = format!("{}/agritrace_bench_{name}", &base[..end]);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    }

    /// Whether the store `name` exists already (for the kept 1M-record store).
    fn exists(&self, name: &str) -> bool {
        match self {
            Self::Sqlite => Self::sqlite_path(name).exists(),
            Self::Postgres(url) => PgStore::open(&Self::pg_url(url, name)).is_ok(),
        }
    }

    /// A new, empty store `name` trusting the demo keys (an old one is removed first).
    fn fresh(&self, name: &str, cfg: &DemoConfig) -> Res<AnyStore> {
        let operator = cfg.operator()?;
        let store: AnyStore = match self {
            Self::Sqlite => {
                let path = Self::sqlite_path(name);
                std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Box::new(SqliteStore::create(&path, operator.verifier())?)
            }
            Self::Postgres(url) => {
                let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
                admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS agritrace_bench_{name} WITH (FORCE)"
                ))?;
                admin.batch_execute(&format!("CREATE DATABASE agritrace_bench_{name}"))?;
                Box::new(PgStore::create(
                    &Self::pg_url(url, name),
                    operator.verifier(),
                )?)
            }
        };
        cfg.grant_demo_keys(&store)?;
        Ok(store)
    }

    /// Another handle on the store `name` (its own connection).
    fn open(&self, name: &str) -> Res<AnyStore> {
        Ok(match self {
            Self::Sqlite => Box::new(SqliteStore::open(Self::sqlite_path(name))?),
            Self::Postgres(url) => Box::new(PgStore::open(&Self::pg_url(url, name))?),
        })
    }
}

fn demo(pigs: u32, seed: u64) -> DemoConfig {
    DemoConfig {
        pigs,
        produce: false,
        ..DemoConfig::new(seed)
    }
}

/// Appends/s: sign (all cores) and append in batches of 1,000, end to end. Signing runs
/// in a producer thread while the store commits the previous batch.
fn batched(b: &Backend, pigs: u32) -> Res<f64> {
    let cfg = demo(pigs, 7);
    let store = b.fresh("batched", &cfg)?;
    let keys = cfg.keys();
    let t = Instant::now();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SignedRecord>>(16);
    let mut n = 0usize;
    std::thread::scope(|scope| -> Res<()> {
        let (cfg, keys) = (&cfg, &keys);
        scope.spawn(move || {
            let mut pending: Vec<SignedRecord> = Vec::with_capacity(2_000);
            for first in (0..pigs).step_by(32) {
                let group: Vec<_> = (first..(first + 32).min(pigs))
                    .into_par_iter()
                    .map(|i| cfg.pig_records(keys, i))
                    .collect();
                pending.extend(group.into_iter().flatten());
                while pending.len() >= 1_000 {
                    let rest = pending.split_off(1_000);
                    if tx.send(std::mem::replace(&mut pending, rest)).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(pending);
        });
        for batch in rx {
            store.append_batch(&batch)?;
            n += batch.len();
        }
        Ok(())
    })?;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Appends/s of records signed beforehand, in batches of 1,000.
fn presigned(b: &Backend, pigs: u32) -> Res<f64> {
    let cfg = demo(pigs, 7);
    let store = b.fresh("presigned", &cfg)?;
    let records = cfg.pigs_records(&cfg.keys(), 0..pigs);
    let t = Instant::now();
    for batch in records.chunks(1_000) {
        store.append_batch(batch)?;
    }
    Ok(records.len() as f64 / t.elapsed().as_secs_f64())
}

/// Durable single-record appends/s (records signed beforehand).
fn single(b: &Backend, count: u32) -> Res<f64> {
    let cfg = DemoConfig::new(7);
    let store = b.fresh("single", &cfg)?;
    let keys = cfg.keys();
    let mut chain = Chain::new(cfg.pig(0).ok_or("no pig")?);
    let records: Vec<_> = (0..count)
        .map(|i| {
            chain.append(
                &keys.scales[0],
                // From 2026-01-01, inside the demo keys' validity window.
                Timestamp::from_millis(1_767_225_600_000 + i64::from(i)),
                Event::Weighing { grams: 1_000 + i },
            )
        })
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    for r in &records {
        store.append(r)?;
    }
    Ok(f64::from(count) / t.elapsed().as_secs_f64())
}

/// Appends/s of `writers` concurrent writers, each with its own store handle, appending
/// the records of `pigs` pigs split among them. `sign`: each writer signs its pig's
/// records on its own thread and appends batches of 100 (a device gateway); otherwise the
/// records are signed beforehand and appended in batches of 1,000.
fn writers(b: &Backend, writers: u32, pigs: u32, sign: bool) -> Res<f64> {
    let cfg = demo(pigs, 11);
    let name = format!("writers_{writers}");
    drop(b.fresh(&name, &cfg)?);
    let keys = cfg.keys();
    let handles: Vec<AnyStore> = (0..writers).map(|_| b.open(&name)).collect::<Res<_>>()?;
    let presigned: Vec<Vec<SignedRecord>> = if sign {
        Vec::new()
    } else {
        (0..writers)
            .map(|w| {
                let mine: Vec<u32> = (w..pigs).step_by(writers as usize).collect();
                mine.into_par_iter()
                    .flat_map_iter(|i| cfg.pig_records(&keys, i))
                    .collect()
            })
            .collect()
    };
    let t = Instant::now();
    let counts: Vec<Res<usize>> = std::thread::scope(|scope| {
        let spawned: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(w, store)| {
                let (cfg, keys, presigned) = (&cfg, &keys, &presigned);
                scope.spawn(move || -> Res<usize> {
                    let mut n = 0;
                    if sign {
                        for i in (u32::try_from(w)?..pigs).step_by(writers as usize) {
                            let records = cfg.pig_records(keys, i);
                            for batch in records.chunks(100) {
                                store.append_batch(batch)?;
                            }
                            n += records.len();
                        }
                    } else {
                        for batch in presigned[w].chunks(1_000) {
                            store.append_batch(batch)?;
                            n += batch.len();
                        }
                    }
                    Ok(n)
                })
            })
            .collect();
        spawned
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("writer panicked".into())))
            .collect()
    });
    let mut n = 0;
    for c in counts {
        n += c?;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Durable single-record appends/s of `writers` concurrent writers, each appending `count`
/// records (signed beforehand) to its own pig, one transaction each: what the one log head
/// costs when every transaction is a single record.
fn single_writers(b: &Backend, writers: u32, count: u32) -> Res<f64> {
    let cfg = DemoConfig::new(13);
    let name = format!("single_{writers}");
    drop(b.fresh(&name, &cfg)?);
    let keys = cfg.keys();
    let chains: Vec<Vec<SignedRecord>> = (0..writers)
        .map(|w| {
            let mut chain = Chain::new(cfg.pig(w).ok_or("no pig")?);
            (0..count)
                .map(|i| {
                    chain.append(
                        &keys.scales[0],
                        Timestamp::from_millis(1_767_225_600_000 + i64::from(i)),
                        Event::Weighing { grams: 1_000 + i },
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(Into::into)
        })
        .collect::<Res<_>>()?;
    let handles: Vec<AnyStore> = (0..writers).map(|_| b.open(&name)).collect::<Res<_>>()?;
    let t = Instant::now();
    std::thread::scope(|scope| -> Res<()> {
        let spawned: Vec<_> = handles
            .iter()
            .zip(&chains)
            .map(|(store, chain)| {
                scope.spawn(move || -> Res<()> {
                    for r in chain {
                        store.append(r)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in spawned {
            h.join().map_err(|_| "writer panicked")??;
        }
        Ok(())
    })?;
    Ok(f64::from(writers * count) / t.elapsed().as_secs_f64())
}

/// One writer against eight, measured in `rounds` interleaved pairs (the machine is noisy):
/// the medians of each, and the median of the pairs' ratios.
fn one_against_eight(b: &Backend, rounds: usize, pigs: u32, sign: bool) -> Res<(f64, f64, f64)> {
    let (mut one, mut eight, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let a = writers(b, 1, pigs, sign)?;
        let z = writers(b, 8, pigs, sign)?;
        one.push(a);
        eight.push(z);
        ratio.push(z / a);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    Ok((median(&mut one), median(&mut eight), median(&mut ratio)))
}

/// The store `big` of about `records` records, built once and kept.
fn big_store(b: &Backend, records: u64) -> Res<(AnyStore, DemoConfig)> {
    // About 370 records per pig in the default demo, cuts, packs and produce included.
    let pigs = u32::try_from(records / 370).unwrap_or(u32::MAX).max(10);
    let cfg = DemoConfig {
        pigs,
        ..DemoConfig::new(2026)
    };
    let name = format!("big_{records}");
    if b.exists(&name) {
        let store = b.open(&name)?;
        if store.len()? > 0 {
            return Ok((store, cfg));
        }
    }
    let store = b.fresh(&name, &cfg)?;
    let t = Instant::now();
    let farm = cfg.generate();
    for batch in farm.records.chunks(1_000) {
        store.append_batch(batch)?;
    }
    eprintln!(
        "{}: built a store of {} records in {:.0} s",
        b.name(),
        farm.records.len(),
        t.elapsed().as_secs_f64()
    );
    Ok((store, cfg))
}

/// Trace latency, p50 and p95 in ms, over `traces` pigs with products; the store size and
/// the records each trace verified.
fn traces(b: &Backend, size: u64, traces: usize) -> Res<(f64, f64, u64, usize)> {
    let (store, cfg) = big_store(b, size)?;
    let trust = cfg.trust();
    let policy = Policy::livestock();
    let pigs: Vec<_> = (0..cfg.pigs)
        .filter_map(|i| cfg.pig(i))
        .filter(|p| store.children(p).is_ok_and(|c| !c.is_empty()))
        .take(traces)
        .collect();
    let mut ms: Vec<f64> = Vec::new();
    let mut records = 0;
    for pig in &pigs {
        let t = Instant::now();
        let tr = trace(&store, &trust, &policy, pig)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        records += tr.verification.records;
    }
    ms.sort_by(f64::total_cmp);
    let pct = |percent: usize| {
        ms.get(ms.len().saturating_sub(1) * percent / 100)
            .copied()
            .unwrap_or(0.0)
    };
    Ok((pct(50), pct(95), store.len()?, records / pigs.len().max(1)))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json = args.iter().any(|a| a == "--json");
    let no_trace = args.iter().any(|a| a == "--no-trace");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (pigs, singles, writer_pigs, size, n_traces, rounds) = if quick {
        (20, 200, 16, 20_000, 10, 1)
    } else {
        (400, 2_000, 64, 1_000_000, 101, 5)
    };
    let mut backends = vec![Backend::Sqlite];
    match std::env::var("AGRITRACE_PG_URL") {
        Ok(url) if !url.is_empty() => backends.push(Backend::Postgres(url)),
        _ => eprintln!("postgres: skipped (AGRITRACE_PG_URL is not set)"),
    }
    backends.retain(|b| only.as_deref().is_none_or(|o| o == b.name()));
    for b in &backends {
        let batch_rate = batched(b, pigs)?;
        let presigned_rate = presigned(b, pigs)?;
        let single_rate = single(b, singles)?;
        let single_8 = single_writers(b, 8, singles / 8)?;
        let (gateway_1, gateway_8, gateway_ratio) =
            one_against_eight(b, rounds, writer_pigs, true)?;
        let (presigned_1, presigned_8, presigned_ratio) =
            one_against_eight(b, rounds, writer_pigs, false)?;
        let (p50, p95, store_len, per_trace) = if no_trace {
            (0.0, 0.0, 0, 0)
        } else {
            traces(b, size, n_traces)?
        };
        let name = b.name();
        if json {
            println!(
                "{{\"backend\":\"{name}\",\"batched_appends_per_s\":{batch_rate:.0},\"presigned_appends_per_s\":{presigned_rate:.0},\"single_appends_per_s\":{single_rate:.0},\"single_appends_8_writers_per_s\":{single_8:.0},\"gateway_writers_1_per_s\":{gateway_1:.0},\"gateway_writers_8_per_s\":{gateway_8:.0},\"gateway_ratio\":{gateway_ratio:.2},\"presigned_writers_1_per_s\":{presigned_1:.0},\"presigned_writers_8_per_s\":{presigned_8:.0},\"presigned_ratio\":{presigned_ratio:.2},\"store_records\":{store_len},\"trace_p50_ms\":{p50:.2},\"trace_p95_ms\":{p95:.2},\"records_per_trace\":{per_trace}}}"
            );
        } else {
            println!("{name}");
            println!("  appends/s, signing + append in batches of 1,000:   {batch_rate:>9.0}");
            println!("  appends/s of presigned records, batches of 1,000:  {presigned_rate:>9.0}");
            println!("  durable single-record appends/s:                   {single_rate:>9.0}");
            println!("  durable single-record appends/s, 8 writers:        {single_8:>9.0}");
            println!(
                "  gateways signing, batches of 100: 1 writer {gateway_1:>7.0}/s, 8 writers {gateway_8:>7.0}/s ({gateway_ratio:.2}x)"
            );
            println!(
                "  presigned, batches of 1,000:      1 writer {presigned_1:>7.0}/s, 8 writers {presigned_8:>7.0}/s ({presigned_ratio:.2}x)"
            );
            if !no_trace {
                println!(
                    "  trace one pig in a {store_len}-record store: p50 {p50:.2} ms, p95 {p95:.2} ms ({per_trace} records each)"
                );
            }
        }
    }
    Ok(())
}
