//! `agritrace epcis`: GS1 EPCIS 2.0 documents — event hashes, validation, export, import.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use agritrace::{Store as _, Timestamp};
use agritrace_epcis::{CbvVersion, Document, Exporter, ImportError, Profile, import, validate};
use clap::{Args, Subcommand};

use crate::keyfile;
use crate::output::{note, open_store, parse_id};
use crate::{Failure, Global, Outcome};

#[derive(Subcommand)]
pub enum EpcisCommand {
    /// Print the CBV event hash of each event of an EPCIS 2.0 JSON or JSON-LD document, one
    /// line per event in eventList order.
    #[command(after_help = "Example:\n  agritrace epcis hash --cbv 2.1 shipment.jsonld")]
    Hash(HashArgs),
    /// Check a document against the EPCIS 2.0 rules; list every problem with its place.
    #[command(after_help = "Exit status: 0 valid, 1 invalid (each problem listed), 2 unreadable.")]
    Validate(FileArg),
    /// Write a subject with its lineage, or the whole ledger (--all), as an EPCIS 2.0
    /// JSON-LD document; each event carries its signed record (agt:record).
    #[command(
        after_help = "Examples:\n  agritrace epcis export 161083000001001 -o pig.jsonld\n  \
agritrace epcis export --all --base https://trace.qingjian-coop.cn -o ledger.jsonld"
    )]
    Export(ExportArgs),
    /// Import a partner's document, all or nothing: events carrying agritrace records are
    /// checked and appended as they are; plain events are signed with --key.
    #[command(after_help = "Example:\n  agritrace epcis import --key gateway.key partner.jsonld")]
    Import(ImportArgs),
}

#[derive(Args)]
pub struct FileArg {
    /// The document (`-` for standard input).
    file: PathBuf,
}

#[derive(Args)]
pub struct HashArgs {
    /// The CBV version of the hash: 2.0 (extensions nested in readPoint and sensor data
    /// trail) or 2.1 (inline).
    #[arg(long, default_value = "2.0", value_parser = ["2.0", "2.1"])]
    cbv: String,
    /// Also print each event's pre-hash string, under its hash.
    #[arg(long)]
    prehash: bool,
    #[command(flatten)]
    file: FileArg,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["id", "all"]))]
pub struct ExportArgs {
    /// The pig, pack or lot (its lineage comes along).
    id: Option<String>,
    /// The whole ledger, streamed in log order.
    #[arg(long)]
    all: bool,
    /// The operator's public base URL: animals become `<base>/eartag/<code>` (the trace
    /// page), and sites, parties and devices `<base>/loc|party|device/<name>`.
    #[arg(
        long,
        value_name = "URL",
        env = "AGRITRACE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    base: String,
    /// The time zone offset written with each event (agritrace stores UTC).
    #[arg(long, default_value = "+08:00", allow_hyphen_values = true)]
    offset: String,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The key that signs plain events (trusted by the store in a role the policy allows).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    file: FileArg,
}

pub fn run(g: &Global, c: EpcisCommand) -> Result<Outcome, Failure> {
    match c {
        EpcisCommand::Hash(a) => hash(&a),
        EpcisCommand::Validate(a) => validate_file(&a.file),
        EpcisCommand::Export(a) => export(g, &a),
        EpcisCommand::Import(a) => import_file(g, &a),
    }
}

fn read(path: &Path) -> Result<Document, Failure> {
    let shown = path.display();
    let result = if path.as_os_str() == "-" {
        Document::from_reader(std::io::stdin().lock())
    } else {
        let file =
            File::open(path).map_err(|e| Failure::error(format!("cannot read {shown}: {e}")))?;
        let len = file.metadata().map_or(0, |m| m.len());
        if len > agritrace_epcis::MAX_DOCUMENT_LEN as u64 {
            return Err(Failure::refused(format!(
                "{shown}: {len} bytes is larger than the {} MiB a document may have; split it",
                agritrace_epcis::MAX_DOCUMENT_LEN >> 20
            )));
        }
        Document::from_reader(file.take(agritrace_epcis::MAX_DOCUMENT_LEN as u64 + 1))
    };
    result.map_err(|e| Failure::refused(format!("{shown}: {e}")))
}

fn hash(a: &HashArgs) -> Result<Outcome, Failure> {
    let version: CbvVersion = a.cbv.parse().map_err(Failure::error)?;
    let doc = read(&a.file.file)?;
    let shown = a.file.file.display();
    // Every event first: a document with a bad event prints nothing but the error.
    let mut text = String::with_capacity(doc.events().len() * 92);
    for (i, e) in doc.events().iter().enumerate() {
        let path = Document::event_path(i);
        let pre = agritrace_epcis::hash::prehash(e, doc.namespaces(), version, &path)
            .map_err(|e| Failure::refused(format!("{shown}: {e}")))?;
        text.push_str(&agritrace_epcis::hash::hash_of_prehash(&pre, version));
        text.push('\n');
        if a.prehash {
            text.push_str(&pre);
            text.push('\n');
        }
    }
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::error(format!("cannot write: {e}")))
        }
        _ => Ok(Outcome::Done),
    }
}

fn validate_file(path: &Path) -> Result<Outcome, Failure> {
    let doc = read(path)?;
    let problems = validate::problems(&doc);
    if problems.is_empty() {
        println!(
            "{}: valid EPCIS 2.0, {} events",
            path.display(),
            doc.events().len()
        );
        return Ok(Outcome::Done);
    }
    let mut f = Failure::refused(format!("{}: {} problem(s)", path.display(), problems.len()));
    for p in &problems {
        f = f.with(p);
    }
    Err(f)
}

fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn export(g: &Global, a: &ExportArgs) -> Result<Outcome, Failure> {
    let profile = Profile::new(&a.base, &a.offset).map_err(Failure::error)?;
    let store = open_store(&g.store)?;
    // One subject's records are gathered first, so an unknown ID writes nothing.
    let subject = match &a.id {
        Some(id) => Some(crate::ledger::subject_records(
            &store,
            &parse_id(id).map_err(Failure::error)?,
            &g.store,
        )?),
        None => None,
    };
    let target = a
        .out
        .as_ref()
        .map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    let fail = |e: std::io::Error| Failure::error(format!("cannot write {target}: {e}"));
    // A file is written beside its name and renamed when complete.
    let partial = a.out.as_ref().map(|p| {
        let mut name = p.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    });
    let sink: Box<dyn Write> = match &partial {
        Some(p) => Box::new(File::create(p).map_err(fail)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut ex =
        Exporter::new(BufWriter::with_capacity(1 << 16, sink), profile, now()).map_err(fail)?;
    match subject {
        Some(records) => {
            for r in &records {
                ex.write(r).map_err(fail)?;
            }
        }
        None => {
            for r in store.stream(4096) {
                ex.write(&r?).map_err(fail)?;
            }
        }
    }
    let n = ex.events();
    ex.finish().map_err(fail)?;
    if let (Some(from), Some(to)) = (&partial, &a.out) {
        std::fs::rename(from, to).map_err(fail)?;
    }
    note(g.quiet, format!("exported {n} events to {target}"));
    Ok(Outcome::Done)
}

fn import_file(g: &Global, a: &ImportArgs) -> Result<Outcome, Failure> {
    let (name, signer) = keyfile::read(&a.key)?;
    let doc = read(&a.file.file)?;
    let store = open_store(&g.store)?;
    let shown = a.file.file.display();
    match import(&doc, &store, &signer) {
        Ok(done) => {
            println!(
                "imported {shown}: {} records appended ({} carried their own signed record, {} signed by {name}), {} already stored",
                done.appended,
                done.appended.saturating_sub(done.signed.len()),
                done.signed.len(),
                done.already_stored
            );
            for (i, hash, id) in &done.signed {
                println!("  event {i} {hash} -> record {id}");
            }
            Ok(Outcome::Done)
        }
        Err(ImportError::Invalid(e)) => {
            Err(Failure::refused(format!("{shown}: nothing imported: {e}")))
        }
        Err(ImportError::Store { event, source }) => Err(Failure::refused(format!(
            "{shown}: nothing imported: eventList[{event}]: {source}"
        ))),
        Err(e) => Err(Failure::refused(format!("{shown}: nothing imported: {e}"))),
    }
}
