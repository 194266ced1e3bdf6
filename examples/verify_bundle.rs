//! Export a trace bundle for a demo pig and verify it offline, knowing only the pinned log
//! and witness keys.
//!
//! ```text
//! cargo run --release --example verify_bundle                      # the first slaughtered pig
//! cargo run --release --example verify_bundle -- 161083000001003   # that pig (ear tag)
//! cargo run --release --example verify_bundle -- --verify FILE     # verify a bundle file only
//! ```
//!
//! The log side builds a small demo cooperative in memory (40 pigs, seed 2026), keeps the
//! RFC 9162 tree of its log, signs a checkpoint, has two of three witnesses cosign it, and
//! writes `target/agritrace-demo/<id>.bundle`. The consumer side then reads only that file
//! and the pinned keys printed below (a 2-of-3 witness policy), and verifies it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    reason = "an example prints its report"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use agritrace::demo::DemoConfig;
use agritrace::{
    LogPolicy, LogSigner, MerkleTree, Policy, Signer, Store, SubjectId, TraceBundle, VerifierKey,
    Witness, read_bundle_file, sync_tree, verify_bundle,
};

const ORIGIN: &str = "log.qingjian-coop.example/v1";
const SEED: u64 = 2026;

/// The keys a consumer pins: the log's vkey and the witnesses' vkeys, with the quorum.
struct Pinned {
    log: String,
    witnesses: Vec<String>,
    quorum: usize,
}

impl Pinned {
    fn policy(&self) -> Result<LogPolicy, Box<dyn std::error::Error>> {
        let log = VerifierKey::parse(&self.log)?;
        let witnesses = self
            .witnesses
            .iter()
            .map(|w| VerifierKey::parse(w))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogPolicy::new(ORIGIN, log).witnesses(witnesses, self.quorum)?)
    }
}

/// The log operator and its witnesses, with fixed demo keys.
fn operators() -> Result<(LogSigner, Vec<Witness>), Box<dyn std::error::Error>> {
    let log = LogSigner::new(ORIGIN, Signer::from_seed([0xA1; 32]))?;
    let witnesses = [
        "witness.agri-audit.example",
        "witness.county-ag-bureau.example",
        "witness.consumers.example",
    ]
    .iter()
    .zip(0xB1u8..)
    .map(|(name, seed)| Witness::new(name, Signer::from_seed([seed; 32])))
    .collect::<Result<Vec<_>, _>>()?;
    Ok((log, witnesses))
}

fn pinned() -> Result<Pinned, Box<dyn std::error::Error>> {
    let (log, witnesses) = operators()?;
    Ok(Pinned {
        log: log.verifier().vkey(),
        witnesses: witnesses.iter().map(|w| w.verifier().vkey()).collect(),
        quorum: 2,
    })
}

/// The log side: a store, its tree, a cosigned checkpoint, and the bundle for `id`.
fn export(id: Option<SubjectId>) -> Result<(SubjectId, Vec<u8>), Box<dyn std::error::Error>> {
    let cfg = DemoConfig {
        pigs: 40,
        ..DemoConfig::new(SEED)
    };
    let t = Instant::now();
    let store = cfg.create_store(None)?;
    for batch in cfg.generate().records.chunks(1000) {
        store.append_batch(batch)?;
    }
    let mut tree = MerkleTree::new();
    let size = sync_tree(&mut tree, &store)?;
    let (log, mut witnesses) = operators()?;
    let mut note = log.sign(size, tree.root(size)?)?;
    let follow = LogPolicy::new(ORIGIN, log.verifier().clone());
    let now = 1_780_000_000;
    for w in witnesses.iter_mut().take(2) {
        w.follow(&follow);
        note = w.cosign(&note, &[], now)?;
    }
    eprintln!(
        "log: {size} records, checkpoint signed and cosigned by 2 witnesses ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let id = match id {
        Some(id) => id,
        None => (0..cfg.pigs)
            .filter_map(|i| cfg.pig(i))
            .find(|p| store.children(p).is_ok_and(|c| !c.is_empty()))
            .ok_or("no slaughtered pig in the demo")?,
    };
    let bundle = TraceBundle::export(&store, &tree, &note, &log, &cfg.trust(), &id)?;
    Ok((id, bundle.to_bytes()?))
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (file, bytes) = match args.next().as_deref() {
        Some("--verify") => {
            let path = PathBuf::from(args.next().ok_or("--verify takes a file")?);
            let bytes = read_bundle_file(&path)?;
            (path, bytes)
        }
        Some("-h" | "--help") => {
            return Err("usage: verify_bundle [ID | --verify FILE]".into());
        }
        other => {
            let id = other
                .map(|s| {
                    let s = s.trim();
                    if s.len() == 15 && s.bytes().all(|b| b.is_ascii_digit()) {
                        format!("eartag:{s}").parse::<SubjectId>()
                    } else {
                        s.parse::<SubjectId>()
                    }
                })
                .transpose()?;
            let (id, bytes) = export(id)?;
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/agritrace-demo");
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join(format!(
                "{}.bundle",
                id.to_string().replace([':', '/'], "_")
            ));
            std::fs::write(&path, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            (path, bytes)
        }
    };

    // The consumer: the file and the pinned keys, nothing else.
    let pinned = pinned()?;
    println!("pinned log key:  {}", pinned.log);
    for w in &pinned.witnesses {
        println!("pinned witness:  {w}");
    }
    println!(
        "policy:          {} of {} witnesses",
        pinned.quorum,
        pinned.witnesses.len()
    );
    let t = Instant::now();
    let verified = verify_bundle(&bytes, &pinned.policy()?, &Policy::livestock());
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let v = match verified {
        Ok(v) => v,
        Err(e) => return Err(format!("BUNDLE REJECTED ({}): {e}", file.display()).into()),
    };
    let cp = v.checkpoint();
    println!("bundle:          {}", file.display());
    println!(
        "bundle size:     {} bytes ({:.1} KiB)",
        bytes.len(),
        bytes.len() as f64 / 1024.0
    );
    println!("subject:         {}", v.subject());
    println!(
        "records:         {} in {} chains (the subject, its ancestors and what was made from it)",
        v.set().record_count(),
        v.set().len()
    );
    if let Some(chain) = v.set().chain(v.subject()) {
        println!("subject's chain: {} records", chain.len());
    }
    println!(
        "checkpoint:      {} size {} root {}",
        cp.checkpoint().origin(),
        cp.size(),
        cp.root()
    );
    for c in cp.cosigners() {
        println!("cosigned by:     {} at {}", c.name, c.timestamp);
    }
    let trace = v.trace();
    if let Some(a) = &trace.animal {
        println!(
            "animal:          {} born {}, {} weighings, {} days of steps",
            a.breed,
            a.birth_date
                .map_or_else(|| "?".to_owned(), |d| d.to_string()),
            a.weights.len(),
            a.steps.days_recorded
        );
    }
    println!("products:        {}", trace.products.len());
    println!("VERIFIED offline in {ms:.1} ms");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
