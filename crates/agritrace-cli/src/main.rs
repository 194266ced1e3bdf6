//! `agritrace`: one command-line tool for the whole life of a traceability ledger.
//!
//! Exit status: 0 success (verified); 1 the data was refused or did not verify; 2 usage,
//! I/O or store errors. Errors are printed one line per cause on stderr.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool prints"
)]

mod epcis;
mod events;
mod keyfile;
mod ledger;
mod log;
mod output;
mod progress;
mod serve;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use output::{Failure, Outcome};

/// The operator's tool for an agritrace ledger: create it, manage who may sign, append
/// signed events, verify, trace, and exchange files, bundles and checkpoints.
#[derive(Parser)]
#[command(name = "agritrace", version, about, long_about = None, max_term_width = 100)]
#[command(
    after_help = "Exit status: 0 success or verified; 1 refused or failed \
verification; 2 usage, I/O or store error.\n\nFirst steps:\n  agritrace init --origin \
log.example-coop.cn/pigs\n  agritrace keygen --name vet.county-clinic --out vet.key\n  \
agritrace trust grant vet.key --party \"County animal clinic\" --role Vet --from 2026-01-01\n  \
agritrace append --key vet.key events.jsonl\n  agritrace verify"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Clone)]
pub struct Global {
    /// The store: a SQLite file, or a PostgreSQL database as a libpq URL
    /// (`postgres://user@host:port/db`).
    #[arg(
        long,
        global = true,
        env = "AGRITRACE_STORE",
        default_value = "agritrace.sqlite",
        value_name = "PATH|URL"
    )]
    pub store: PathBuf,
    /// The operator (log) key file [default: the store path with `.operator.key`; for a
    /// PostgreSQL store, `<database>.operator.key` in the current directory].
    #[arg(long, global = true, value_name = "FILE")]
    pub operator_key: Option<PathBuf>,
    /// Print only results and errors: no progress bars or notes.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl Global {
    /// The operator key file: given, or next to the store.
    pub fn operator_key_path(&self) -> PathBuf {
        if let (None, Some(url)) = (&self.operator_key, self.store.to_str())
            && agritrace_postgres::is_postgres_url(url)
        {
            let db = url.split('?').next().unwrap_or(url).rsplit('/').next();
            let db = db
                .filter(|d| !d.is_empty() && !d.contains(['@', ':']))
                .unwrap_or("agritrace");
            return PathBuf::from(format!("{db}.operator.key"));
        }
        self.operator_key.clone().unwrap_or_else(|| {
            let mut name = self
                .store
                .file_stem()
                .map(std::ffi::OsStr::to_os_string)
                .unwrap_or_default();
            name.push(".operator.key");
            self.store.with_file_name(name)
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create a store and its operator (log) key; print the log's verifier key.
    #[command(after_help = "Example:\n  agritrace init --origin log.qingjian-coop.cn/pigs")]
    Init(log::InitArgs),
    /// Make a signing key for a party or device; print its public key.
    #[command(after_help = "Example:\n  agritrace keygen --name scale.pen3 --out scale.key")]
    Keygen(keyfile::KeygenArgs),
    /// Grant, revoke, rotate and list the keys the store trusts.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Sign events read as JSON lines (docs/EVENTS.md) and append them.
    #[command(
        after_help = "Each line: {\"subject\": \"eartag:161083000000042\", \"time\": \
\"2026-03-01T08:30:00+08:00\", \"event\": {\"Weighing\": {\"grams\": 95000}}}\n\nExample:\n  \
agritrace append --key scale.key examples/data/week.jsonl"
    )]
    Append(events::AppendArgs),
    /// Append the records of a ledger file (records already stored are skipped).
    #[command(after_help = "Example:\n  agritrace import partner.ledger")]
    Import(ledger::ImportArgs),
    /// Write the store's records, or one subject's with its lineage, to a ledger file.
    #[command(after_help = "Example:\n  agritrace export --subject 161083000000042 pig.ledger")]
    Export(ledger::ExportArgs),
    /// Verify a ledger file (streaming), or the whole store.
    #[command(
        after_help = "Exit status: 0 verified, 1 verification failed (each failed \
record named), 2 usage or I/O error.\n\nExamples:\n  agritrace verify\n  agritrace verify \
--threads 2 --json partner.ledger"
    )]
    Verify(ledger::VerifyArgs),
    /// Print the life of a pig, pack or lot, verified.
    #[command(
        after_help = "Examples:\n  agritrace trace 161083000001001\n  agritrace trace \
--json lot:06901234561111/QJ1001-B-P1"
    )]
    Trace(ledger::TraceArgs),
    /// Offline trace bundles: export one, or verify one against pinned keys.
    #[command(subcommand)]
    Bundle(log::BundleCommand),
    /// Sign the current tree head of the log (a C2SP checkpoint).
    #[command(after_help = "Example:\n  agritrace checkpoint --out head.checkpoint \
--proof-from 120 --proof-out head.proof")]
    Checkpoint(log::CheckpointArgs),
    /// Witness a log: cosign a checkpoint consistent with the last one cosigned.
    #[command(subcommand)]
    Witness(log::WitnessCommand),
    /// Build the demo cooperative into a new store, with a progress bar.
    #[command(after_help = "Example:\n  agritrace --store demo.sqlite demo --pigs 300")]
    Demo(ledger::DemoArgs),
    /// GS1 EPCIS 2.0: event hashes, validation, export and import of documents.
    #[command(subcommand)]
    Epcis(epcis::EpcisCommand),
    /// Serve the store: consumer pages, GS1 Digital Link, bundles, the log, ingestion.
    #[command(
        after_help = "Example:\n  agritrace --store demo.sqlite serve --listen 0.0.0.0:8080 \
--public-url https://trace.example.cn"
    )]
    Serve(serve::ServeArgs),
}

fn run(cli: Cli) -> Result<Outcome, Failure> {
    let g = &cli.global;
    match cli.command {
        Command::Init(a) => log::init(g, &a),
        Command::Keygen(a) => keyfile::keygen(&a),
        Command::Trust(c) => trust::run(g, c),
        Command::Append(a) => events::append(g, &a),
        Command::Import(a) => ledger::import(g, &a),
        Command::Export(a) => ledger::export(g, &a),
        Command::Verify(a) => ledger::verify(g, &a),
        Command::Trace(a) => ledger::trace(g, &a),
        Command::Bundle(c) => log::bundle(g, c),
        Command::Checkpoint(a) => log::checkpoint(g, &a),
        Command::Witness(c) => log::witness(g, c),
        Command::Demo(a) => ledger::demo(g, &a),
        Command::Epcis(c) => epcis::run(g, c),
        Command::Serve(a) => serve::serve(g, &a),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout (status 0) and usage errors to stderr.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(f) => {
            f.print();
            ExitCode::from(f.code())
        }
    }
}
