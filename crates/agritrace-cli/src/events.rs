//! `agritrace append`: events as JSON lines (docs/EVENTS.md), signed and appended.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use agritrace::{
    Chain, Conflict, Event, SignedRecord, Signer, Store as _, StoreError, SubjectId, Timestamp,
};
use clap::Args;
use serde::Deserialize;

use crate::output::{AnyStore, note, open_store};
use crate::{Failure, Global, Outcome, keyfile};

/// Longest line read, in bytes: far above any event (a record body is at most 16 KiB, `MAX_BODY_LEN`).
const MAX_LINE: u64 = 256 * 1024;
/// Bad lines listed before the rest are only counted.
const MAX_LISTED: usize = 20;
/// Most events in one input: appending is one transaction, so the input is held in memory;
/// a larger feed is split into several runs.
const MAX_LINES: usize = 1_000_000;

#[derive(Args)]
pub struct AppendArgs {
    /// The signing key file (a party's or device's, trusted by the store).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// JSON-lines file of events [default: standard input].
    events: Option<PathBuf>,
    /// Append every good line, each on its own, and report the bad ones; without it a
    /// bad line means nothing of the input is appended.
    #[arg(long)]
    keep_going: bool,
}

/// One input line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    subject: SubjectId,
    time: Timestamp,
    event: Event,
}

pub fn append(g: &Global, a: &AppendArgs) -> Result<Outcome, Failure> {
    let (name, signer) = keyfile::read(&a.key)?;
    let store = open_store(&g.store)?;
    let (source, input): (String, Box<dyn Read>) = match &a.events {
        Some(p) => (
            p.display().to_string(),
            Box::new(
                std::fs::File::open(p)
                    .map_err(|e| Failure::error(format!("cannot read {}: {e}", p.display())))?,
            ),
        ),
        None => (
            "standard input".to_owned(),
            Box::new(std::io::stdin().lock()),
        ),
    };
    let lines = read_lines(BufReader::new(input), &source)?;
    if a.keep_going {
        return keep_going(&store, &signer, &lines, &source);
    }
    let mut chains: HashMap<SubjectId, Chain> = HashMap::new();
    let mut records = Vec::with_capacity(lines.len());
    let mut line_of = Vec::with_capacity(lines.len());
    let mut bad = Bad::default();
    for (n, text) in &lines {
        match parse(text).and_then(|l| sign(&store, &mut chains, &signer, l)) {
            Ok(r) => {
                records.push(r);
                line_of.push(*n);
            }
            Err(e) => bad.push(format!("{source} line {n}: {e}")),
        }
    }
    if bad.total > 0 {
        let head = format!(
            "{} of {} lines are bad; nothing was appended (--keep-going appends the good ones)",
            bad.total,
            lines.len()
        );
        return Err(bad.into_failure(head));
    }
    if records.is_empty() {
        note(g.quiet, format!("{source}: no events"));
        return Ok(Outcome::Done);
    }
    match store.append_batch(&records) {
        Ok(first) => {
            let last = first + records.len() as u64 - 1;
            let (n, what) = (records.len(), plural(records.len(), "record"));
            println!("appended {n} {what} signed by {name} at log positions {first}..={last}");
            Ok(Outcome::Done)
        }
        Err(StoreError::Refused {
            index, conflict, ..
        }) => {
            let n = line_of.get(index).copied().unwrap_or(0);
            Err(Failure::refused(format!(
                "{source} line {n}: refused: {}",
                refusal(&conflict)
            ))
            .with("nothing was appended"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Line by line, each appended on its own; bad lines reported and skipped.
fn keep_going(
    store: &AnyStore,
    signer: &Signer,
    lines: &[(usize, String)],
    source: &str,
) -> Result<Outcome, Failure> {
    let mut chains: HashMap<SubjectId, Chain> = HashMap::new();
    let (mut appended, mut bad) = (0usize, Bad::default());
    for (n, text) in lines {
        let line = match parse(text) {
            Ok(l) => l,
            Err(e) => {
                bad.push(format!("{source} line {n}: {e}"));
                continue;
            }
        };
        let subject = line.subject.clone();
        // Sign from a copy, so a refused record does not move the chain on.
        let before = chains.get(&subject).cloned();
        match sign(store, &mut chains, signer, line) {
            Ok(r) => match store.append(&r) {
                Ok(_) => appended += 1,
                Err(StoreError::Refused { conflict, .. }) => {
                    bad.push(format!(
                        "{source} line {n}: refused: {}",
                        refusal(&conflict)
                    ));
                    restore(&mut chains, subject, before);
                }
                Err(e) => return Err(e.into()),
            },
            Err(e) => {
                bad.push(format!("{source} line {n}: {e}"));
                restore(&mut chains, subject, before);
            }
        }
    }
    println!(
        "appended {appended} of {} {}",
        lines.len(),
        plural(lines.len(), "record")
    );
    if bad.total == 0 {
        return Ok(Outcome::Done);
    }
    let head = format!("{} lines were not appended", bad.total);
    bad.into_failure(head).print();
    Ok(Outcome::Failed)
}

fn restore(chains: &mut HashMap<SubjectId, Chain>, subject: SubjectId, before: Option<Chain>) {
    match before {
        Some(c) => {
            chains.insert(subject, c);
        }
        None => {
            chains.remove(&subject);
        }
    }
}

/// Reads non-blank lines with their 1-based numbers, each at most [`MAX_LINE`] bytes.
fn read_lines(mut input: impl BufRead, source: &str) -> Result<Vec<(usize, String)>, Failure> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for n in 1.. {
        buf.clear();
        let read = (&mut input)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::error(format!("cannot read {source}: {e}")))?;
        if read == 0 {
            break;
        }
        if buf.len() as u64 > MAX_LINE {
            return Err(Failure::refused(format!(
                "{source} line {n}: longer than {MAX_LINE} bytes"
            )));
        }
        let text = std::str::from_utf8(&buf).map_err(|e| {
            Failure::refused(format!(
                "{source} line {n}: not UTF-8 (byte {})",
                e.valid_up_to() + 1
            ))
        })?;
        let text = text.trim();
        if !text.is_empty() {
            if out.len() == MAX_LINES {
                return Err(Failure::refused(format!(
                    "{source} has more than {MAX_LINES} events (line {n}); nothing was appended"
                ))
                .with("split it into several files and append each"));
            }
            out.push((n, text.to_owned()));
        }
    }
    Ok(out)
}

fn parse(text: &str) -> Result<Line, String> {
    serde_json::from_str(text).map_err(|e| {
        // serde_json says "… at line 1 column N": within one line, the column is enough.
        let msg = e.to_string();
        match msg.rsplit_once(" at line 1 column ") {
            Some((what, col)) => format!("{what} (column {col})"),
            None => msg,
        }
    })
}

/// Signs `line` as the next record of its subject: from the store's tip the first time,
/// then from the records signed before it in this input.
fn sign(
    store: &AnyStore,
    chains: &mut HashMap<SubjectId, Chain>,
    signer: &Signer,
    line: Line,
) -> Result<SignedRecord, String> {
    if !chains.contains_key(&line.subject) {
        let tip = store.tip(&line.subject).map_err(|e| e.to_string())?;
        chains.insert(
            line.subject.clone(),
            Chain::continue_from(line.subject.clone(), tip),
        );
    }
    let chain = chains
        .get_mut(&line.subject)
        .ok_or_else(|| "internal: chain vanished".to_owned())?;
    chain
        .append(signer, line.time, line.event)
        .map_err(|e| e.to_string())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn refusal(c: &Conflict) -> String {
    match c {
        Conflict::AlreadyStored { position } => {
            format!("this record is already stored, at log position {position}")
        }
        other => other.to_string(),
    }
}

/// Bad lines: the first [`MAX_LISTED`] kept to show, the rest counted.
#[derive(Default)]
struct Bad {
    shown: Vec<String>,
    total: usize,
}

impl Bad {
    fn push(&mut self, line: String) {
        self.total += 1;
        if self.shown.len() < MAX_LISTED {
            self.shown.push(line);
        }
    }

    fn into_failure(self, head: String) -> Failure {
        let more = self.total - self.shown.len();
        let mut f = Failure::refused(head);
        for l in self.shown {
            f = f.with(l);
        }
        if more > 0 {
            f = f.with(format!("… and {more} more"));
        }
        f
    }
}
