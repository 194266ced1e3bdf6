//! The store's log: creating a store and its operator key, checkpoints, witnesses and
//! offline bundles.

use std::path::PathBuf;

use agritrace::{
    LogPolicy, LogSigner, MerkleTree, Policy, Signer, TraceBundle, TreeHash, VerifierKey, Witness,
    read_bundle_file, sync_tree, verify_bundle,
};
use clap::{Args, Subcommand};

use crate::output::{
    AnyStore, create_store, history, now, open_store, parse_id, store_exists, write_atomically,
};
use crate::trust::operator;
use crate::{Failure, Global, Outcome, keyfile};

#[derive(Args)]
pub struct InitArgs {
    /// The log's origin: the name its checkpoints and trust statements are signed under,
    /// conventionally a host name and path.
    #[arg(long, default_value = "log.agritrace.local/ledger")]
    origin: String,
}

pub fn init(g: &Global, a: &InitArgs) -> Result<Outcome, Failure> {
    if store_exists(&g.store) {
        return Err(Failure::error(format!(
            "{} already exists; init creates a new store",
            g.store.display()
        )));
    }
    let key_path = g.operator_key_path();
    let signer = Signer::generate();
    let log = LogSigner::new(&a.origin, Signer::from_seed(*signer.seed()))
        .map_err(|e| Failure::error(format!("--origin {:?}: {e}", a.origin)))?;
    keyfile::write(&key_path, &a.origin, &signer)?;
    if let Err(e) = create_store(&g.store, log.verifier()) {
        // Leave nothing half made: the key belongs to the store that was not created.
        let _ = std::fs::remove_file(&key_path);
        return Err(e.into());
    }
    println!("{}", log.verifier().vkey());
    if !g.quiet {
        eprintln!(
            "created {} with its operator key in {} (mode 0600; keep it safe)\n\
             the line above is the log's verifier key: give it to whoever checks your bundles",
            g.store.display(),
            key_path.display()
        );
    }
    Ok(Outcome::Done)
}

#[derive(Subcommand)]
pub enum BundleCommand {
    /// Write the offline trace bundle of ID: its records and lineage, inclusion proofs,
    /// a fresh checkpoint and the trust it was verified under.
    #[command(after_help = "Example:\n  agritrace bundle export 161083000001001 pig.bundle")]
    Export {
        /// The pig, pack or lot.
        #[arg(value_parser = parse_id)]
        id: agritrace::SubjectId,
        /// The bundle file to write.
        file: PathBuf,
    },
    /// Verify a bundle offline against the log key (and witnesses) you pin.
    #[command(
        after_help = "Exit status: 0 verified, 1 rejected, 2 usage or I/O error.\n\n\
Example:\n  agritrace bundle verify pig.bundle --log-key \"$(cat log.vkey)\""
    )]
    Verify {
        /// The bundle file (at most 8 MiB).
        file: PathBuf,
        /// The log's verifier key (what `agritrace init` printed).
        #[arg(long, value_name = "VKEY")]
        log_key: String,
        /// A witness's verifier key (repeat for several).
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        /// Witness cosignatures required [default: all witnesses given].
        #[arg(long)]
        quorum: Option<usize>,
    },
}

pub fn bundle(g: &Global, c: BundleCommand) -> Result<Outcome, Failure> {
    match c {
        BundleCommand::Export { id, file } => {
            let store = open_store(&g.store)?;
            let log = operator(g, &store)?;
            let trust = history(&store, &g.store)?.trust().clone();
            let (tree, note) = signed_head(&store, &log)?;
            let bundle = TraceBundle::export(&store, &tree, &note, &log, &trust, &id)
                .map_err(Failure::error)?;
            let bytes = bundle.to_bytes().map_err(Failure::error)?;
            write_atomically(&file, &bytes)?;
            println!(
                "wrote {} ({} bytes): {id} with its lineage, checkpoint at size {}",
                file.display(),
                bytes.len(),
                tree.len()
            );
            Ok(Outcome::Done)
        }
        BundleCommand::Verify {
            file,
            log_key,
            witnesses,
            quorum,
        } => {
            let log = VerifierKey::parse(log_key.trim())
                .map_err(|e| Failure::error(format!("--log-key: {e}")))?;
            let witnesses = witnesses
                .iter()
                .map(|w| {
                    VerifierKey::parse(w.trim())
                        .map_err(|e| Failure::error(format!("--witness: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let quorum = quorum.unwrap_or(witnesses.len());
            let origin = log.name().to_owned();
            let policy = LogPolicy::new(&origin, log)
                .witnesses(witnesses, quorum)
                .map_err(Failure::error)?;
            let bytes = read_bundle_file(&file).map_err(Failure::error)?;
            match verify_bundle(&bytes, &policy, &Policy::livestock()) {
                Ok(v) => {
                    println!(
                        "VERIFIED {}: {} with its lineage, {} records in {} chains, in the log {} at size {}",
                        file.display(),
                        v.subject(),
                        v.set().record_count(),
                        v.set().len(),
                        v.checkpoint().checkpoint().origin(),
                        v.checkpoint().size()
                    );
                    Ok(Outcome::Done)
                }
                Err(e) => {
                    println!("REJECTED {}: {e}", file.display());
                    Ok(Outcome::Failed)
                }
            }
        }
    }
}

/// The store's tree and a checkpoint the operator signs for its current size.
fn signed_head(store: &AnyStore, log: &LogSigner) -> Result<(MerkleTree, String), Failure> {
    let mut tree = MerkleTree::new();
    let size = sync_tree(&mut tree, store)?;
    let root = tree.root(size).map_err(Failure::error)?;
    let note = log.sign(size, root).map_err(Failure::error)?;
    Ok((tree, note))
}

#[derive(Args)]
pub struct CheckpointArgs {
    /// Write the checkpoint to FILE (it is printed otherwise).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the consistency proof from this earlier size to the new one (for a
    /// witness that cosigned that size).
    #[arg(long, value_name = "SIZE", requires = "proof_out")]
    proof_from: Option<u64>,
    /// Where to write the proof (one hash per line, hex).
    #[arg(long, value_name = "FILE", requires = "proof_from")]
    proof_out: Option<PathBuf>,
}

pub fn checkpoint(g: &Global, a: &CheckpointArgs) -> Result<Outcome, Failure> {
    let store = open_store(&g.store)?;
    let log = operator(g, &store)?;
    let (tree, note) = signed_head(&store, &log)?;
    if let (Some(from), Some(path)) = (a.proof_from, &a.proof_out) {
        let proof = tree
            .consistency_proof(from, tree.len())
            .map_err(|e| Failure::error(format!("--proof-from {from}: {e}")))?;
        let text = proof.iter().fold(String::new(), |mut s, h| {
            s.push_str(&h.to_string());
            s.push('\n');
            s
        });
        write_atomically(path, text.as_bytes())?;
    }
    match &a.out {
        Some(path) => {
            write_atomically(path, note.as_bytes())?;
            println!(
                "checkpoint of size {} written to {}",
                tree.len(),
                path.display()
            );
        }
        None => print!("{note}"),
    }
    Ok(Outcome::Done)
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Cosign a checkpoint if it is consistent with the last one this witness cosigned
    /// (kept in --state), and print the cosigned checkpoint.
    #[command(
        after_help = "Exit status: 0 cosigned, 1 refused (a rollback, a fork or a \
failed proof), 2 usage or I/O error.\n\nExample:\n  agritrace witness cosign --key \
witness.key --log-key \"$VKEY\" --state witness.state --proof head.proof head.checkpoint"
    )]
    Cosign {
        /// The witness's key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The log's verifier key.
        #[arg(long, value_name = "VKEY")]
        log_key: String,
        /// The witness's state: the last checkpoint it cosigned for this log (created
        /// on first use).
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// The consistency proof from the last cosigned size (from `agritrace checkpoint
        /// --proof-from`); not needed the first time.
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        /// The checkpoint to cosign.
        checkpoint: PathBuf,
    },
}

/// Files a witness reads: small text.
const MAX_NOTE_FILE: u64 = 64 * 1024;

fn read_text(path: &std::path::Path) -> Result<String, Failure> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_NOTE_FILE).read_to_string(&mut text))
        .map_err(|e| Failure::error(format!("cannot read {}: {e}", path.display())))?;
    Ok(text)
}

pub fn witness(_g: &Global, c: WitnessCommand) -> Result<Outcome, Failure> {
    let WitnessCommand::Cosign {
        key,
        log_key,
        state,
        proof,
        checkpoint,
    } = c;
    let (name, signer) = keyfile::read(&key)?;
    let mut w = Witness::new(&name, signer)
        .map_err(|e| Failure::error(format!("{}: {e}", key.display())))?;
    let log = VerifierKey::parse(log_key.trim())
        .map_err(|e| Failure::error(format!("--log-key: {e}")))?;
    let origin = log.name().to_owned();
    let policy = LogPolicy::new(&origin, log);
    if state.exists() {
        let last = read_text(&state)?;
        w.resume(&policy, &last)
            .map_err(|e| Failure::error(format!("{}: {e}", state.display())))?;
    } else {
        w.follow(&policy);
    }
    let proof: Vec<TreeHash> = match &proof {
        Some(p) => read_text(p)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                l.trim().parse().map_err(|_| {
                    Failure::error(format!(
                        "{} line {}: not a 64-hex-digit hash",
                        p.display(),
                        i + 1
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let note = read_text(&checkpoint)?;
    let seconds = u64::try_from(now().as_millis() / 1000).unwrap_or(0);
    match w.cosign(&note, &proof, seconds) {
        Ok(cosigned) => {
            write_atomically(&state, cosigned.as_bytes())?;
            print!("{cosigned}");
            Ok(Outcome::Done)
        }
        Err(e) => Err(Failure::refused(format!("not cosigned: {e}"))),
    }
}
