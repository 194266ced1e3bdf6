//! The JSON form of events (docs/EVENTS.md): every example in the document and in
//! examples/data parses, re-serialises to the same value, and typos are refused by name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeSet;

use agritrace::{Chain, Event, EventKind, Signer, SubjectId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    subject: SubjectId,
    time: Timestamp,
    event: Event,
}

fn root(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The lines of every ```json / ```jsonl block of the document.
fn doc_lines() -> Vec<String> {
    let doc = root("docs/EVENTS.md");
    let mut out = Vec::new();
    let mut inside = false;
    for l in doc.lines() {
        if l.starts_with("```") {
            inside = !inside && (l == "```json" || l == "```jsonl");
            continue;
        }
        if inside && !l.trim().is_empty() {
            out.push(l.to_owned());
        }
    }
    out
}

#[test]
fn every_documented_line_parses_and_round_trips() {
    let signer = Signer::from_seed([1; 32]);
    let mut kinds = BTreeSet::new();
    let mut lines = doc_lines();
    for f in ["farm.jsonl", "week.jsonl", "vet.jsonl"] {
        lines.extend(
            root(&format!("examples/data/{f}"))
                .lines()
                .map(str::to_owned),
        );
    }
    assert!(lines.len() > 30, "{} lines", lines.len());
    for l in &lines {
        let parsed: Line = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        // A record can be made of it (the format's rules hold).
        Chain::new(parsed.subject.clone())
            .append(&signer, parsed.time, parsed.event.clone())
            .unwrap_or_else(|e| panic!("{e}: {l}"));
        kinds.insert(parsed.event.kind());
        let again: Line = serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(again, parsed);
    }
    assert_eq!(
        kinds,
        EventKind::ALL.into_iter().collect(),
        "the document shows every kind"
    );
}

#[test]
fn the_documented_text_limit_is_the_crate_s() {
    let doc = root("docs/EVENTS.md");
    let says = format!("Text fields are 1 to {} bytes", agritrace::MAX_TEXT_LEN);
    assert!(doc.contains(&says), "docs/EVENTS.md should say: {says}");
}

#[test]
fn the_written_forms_are_the_documented_ones() {
    let line: Line = serde_json::from_str(&doc_lines()[0]).unwrap();
    let v = serde_json::to_value(&line).unwrap();
    assert_eq!(v["subject"], "eartag:161083000000301");
    assert_eq!(v["time"], "2026-11-02T01:30:00.000Z");
    // Integer milliseconds are read too.
    let ms: Line = serde_json::from_str(
        r#"{"subject": "eartag:161083000000301", "time": 1793583000000, "event": {"Weighing": {"grams": 21400}}}"#,
    )
    .unwrap();
    assert_eq!(ms.time, line.time);
}

#[test]
fn typos_and_bad_values_are_refused_by_name() {
    let bad = [
        (
            r#"{"Weighing": {"gram": 1}}"#,
            "unknown field `gram`, expected `grams`",
        ),
        (
            r#"{"Weighing": {"grams": 1, "kg": 2}}"#,
            "unknown field `kg`",
        ),
        (
            r#"{"Weighting": {"grams": 1}}"#,
            "unknown variant `Weighting`",
        ),
        (
            r#"{"Weighing": {"grams": -1}}"#,
            "invalid value: integer `-1`",
        ),
        (
            r#"{"DailyActivity": {"day": "2026-02-30", "steps": 1, "device": "d"}}"#,
            "\"2026-02-30\": not a date as YYYY-MM-DD",
        ),
        (r#"{"Feeding": {"feed": "", "grams": 1}}"#, "empty"),
    ];
    for (event, says) in bad {
        let e = serde_json::from_str::<Event>(event)
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{event}: {e}");
    }
    let e = serde_json::from_str::<Line>(
        r#"{"subject": "eartag:16108300000030", "time": 0, "event": {"Weighing": {"grams": 1}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("ear tag must be 15 digits"), "{e}");
    let e = serde_json::from_str::<Line>(
        r#"{"subject": "eartag:161083000000301", "time": "2026-11-02 9:30", "event": {"Weighing": {"grams": 1}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("2026-11-02 9:30"), "{e}");
}
