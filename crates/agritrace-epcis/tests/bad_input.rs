//! Hostile documents: each gets a clear error naming what is wrong and where, in bounded
//! memory and without a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use agritrace_epcis::{
    CbvVersion, Document, MAX_DOCUMENT_LEN, MAX_OBJECTS, MAX_VALUES, Rule, validate,
};

const HEAD: &str = r#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ex.example/"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":["#;

fn event(extra: &str) -> String {
    format!(
        r#"{{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00.000Z","eventTimeZoneOffset":"+08:00","epcList":["https://x.example/eartag/161083000000042"],"action":"OBSERVE"{extra}}}"#
    )
}

fn doc(events: &[String]) -> Vec<u8> {
    format!("{HEAD}{}]}}}}", events.join(",")).into_bytes()
}

#[test]
fn malformed_json_is_refused_with_line_and_column() {
    for (bytes, where_) in [
        (
            &b"{\"type\": \"EPCISDocument\",\n  \"epcisBody\": {"[..],
            "line 2",
        ),
        (&b"[1, 2"[..], "line 1"),
        (&b"\xff\xfe{}"[..], "line 1"),
        (&b""[..], "line 1"),
    ] {
        let err = Document::from_slice(bytes).unwrap_err();
        assert_eq!(err.rule, Rule::Json, "{err}");
        assert!(err.path.starts_with(where_), "{err}");
    }
    let err = Document::from_slice(b"[]").unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");
    let err = Document::from_slice(br#"{"epcisBody":{}}"#).unwrap_err();
    assert_eq!(
        (err.rule, err.path.as_str()),
        (Rule::Required, "epcisBody.eventList")
    );
}

#[test]
fn a_document_of_100_mb_is_refused_before_it_is_parsed() {
    // 100 MB of spaces inside an otherwise valid document.
    let mut big = Vec::with_capacity(100_000_100);
    big.extend_from_slice(b"{\"x\":\"");
    big.resize(100_000_000, b'a');
    big.extend_from_slice(b"\"}");
    let err = Document::from_slice(&big).unwrap_err();
    assert_eq!(err.rule, Rule::Json);
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
    // Read from a stream, the reader stops after the limit instead of reading it all.
    let mut endless = std::io::repeat(b' ').take_endless();
    let err = Document::from_reader(&mut endless).unwrap_err();
    assert!(err.to_string().contains("at least"), "{err}");
    const { assert!(MAX_DOCUMENT_LEN < 100_000_000) };
}

trait TakeEndless: std::io::Read + Sized {
    fn take_endless(self) -> std::io::Take<Self> {
        self.take(u64::MAX)
    }
}
impl<R: std::io::Read> TakeEndless for R {}

#[test]
fn extensions_nested_10000_deep_are_refused_without_recursing() {
    let deep = format!(
        r#","ex:a":{}1{}"#,
        r#"{"ex:a":"#.repeat(10_000),
        "}".repeat(10_000)
    );
    let err = Document::from_slice(&doc(&[event(&deep)])).unwrap_err();
    assert_eq!(err.rule, Rule::Json, "{err}");
    assert!(err.to_string().contains("recursion limit"), "{err}");
    // 100 levels are read, validated and hashed.
    let ok = format!(
        r#","ex:a":{}1{}"#,
        r#"{"ex:a":"#.repeat(100),
        "}".repeat(100)
    );
    let d = Document::from_slice(&doc(&[event(&ok)])).unwrap();
    validate::validate(&d).unwrap();
    assert_eq!(d.hashes(CbvVersion::V2_1).unwrap().len(), 1);
    // Lists nest too.
    let lists = format!(r#","ex:a":{}1{}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        Document::from_slice(&doc(&[event(&lists)]))
            .unwrap_err()
            .rule,
        Rule::Json
    );
}

#[test]
fn timestamps_finer_than_milliseconds_are_hashed_by_the_rule_and_refused_on_import() {
    let d = Document::from_slice(&doc(&[event(
        r#","recordTime":"2026-01-01T00:00:00.1234567Z""#,
    )]))
    .unwrap();
    validate::validate(&d).unwrap();
    let fine = event("").replace(".000Z", ".0004999Z");
    let d2 = Document::from_slice(&doc(&[fine])).unwrap();
    let plain = Document::from_slice(&doc(&[event("")])).unwrap();
    assert_eq!(
        d2.hashes(CbvVersion::V2_0).unwrap(),
        plain.hashes(CbvVersion::V2_0).unwrap(),
        "rounded half-up at the 4th digit"
    );
    // Import refuses rather than rounds: tests/plain_import.rs.
}

#[test]
fn unknown_vocabulary_is_refused_naming_the_field() {
    for (extra, path, rule) in [
        (
            r#","bizStep":"slaughtering""#,
            "eventList[0].bizStep",
            Rule::Vocabulary,
        ),
        (
            r#","disposition":"eaten""#,
            "eventList[0].disposition",
            Rule::Vocabulary,
        ),
        (
            r#","bizStep":"urn:epcglobal:cbv:bizstep:shipping""#,
            "eventList[0].bizStep",
            Rule::Vocabulary,
        ),
        (
            r#","sourceList":[{"type":"place","source":"https://x.example/loc/a"}]"#,
            "eventList[0].sourceList[0].type",
            Rule::Vocabulary,
        ),
        (
            r#","sensorElementList":[{"sensorReport":[{"type":"Weight","value":1}]}]"#,
            "eventList[0].sensorElementList[0].sensorReport[0].type",
            Rule::MeasurementType,
        ),
        (
            r#","sensorElementList":[{"sensorReport":[{"type":"Mass","value":1,"uom":"grams"}]}]"#,
            "eventList[0].sensorElementList[0].sensorReport[0].uom",
            Rule::Uom,
        ),
        (r#","weight":5"#, "eventList[0].weight", Rule::UnknownField),
        (
            r#","zz:weight":5"#,
            "eventList[0].zz:weight",
            Rule::Namespace,
        ),
        (
            r#","eventTimeZoneOffset":"+15:00""#,
            "eventList[0].eventTimeZoneOffset",
            Rule::TimeZoneOffset,
        ),
    ] {
        let e = event(extra).replacen(
            r#""eventTimeZoneOffset":"+08:00","#,
            if extra.contains("Offset") {
                ""
            } else {
                r#""eventTimeZoneOffset":"+08:00","#
            },
            1,
        );
        let d = Document::from_slice(&doc(&[e])).unwrap();
        let err = validate::validate(&d).unwrap_err();
        assert_eq!(
            (err.rule, err.path.as_str()),
            (rule, path),
            "{extra}: {err}"
        );
    }
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    for extra in [
        r#","epcList":"x""#,
        r#","epcList":[{}]"#,
        r#","quantityList":[1]"#,
        r#","readPoint":"x""#,
        r#","readPoint":{"id":[1]}"#,
        r#","sensorElementList":[1]"#,
        r#","sensorElementList":[{"sensorReport":{}}]"#,
        r#","sensorElementList":[{"sensorMetadata":[]}]"#,
        r#","persistentDisposition":[]"#,
        r#","bizTransactionList":[null]"#,
        r#","ilmd":[]"#,
        r#","eventTime":7"#,
        r#","action":["ADD"]"#,
    ] {
        let e = event(extra);
        let Ok(d) = Document::from_slice(&doc(std::slice::from_ref(&e))) else {
            continue;
        };
        let problems = validate::problems(&d);
        assert!(!problems.is_empty(), "{extra} was accepted");
        let _ = d.hashes(CbvVersion::V2_0);
        let _ = d.hashes(CbvVersion::V2_1);
    }
    for bad_event in ["1", "null", "[]", r#"{"type":7}"#] {
        let d = Document::from_slice(&doc(&[bad_event.to_owned()])).unwrap();
        assert!(!validate::problems(&d).is_empty());
        assert!(d.hashes(CbvVersion::V2_0).is_err());
    }
}

/// Parsed JSON costs far more than its text for small objects (a 64 MiB document of
/// `{"a":0},` took 5.8 GB): documents with more objects or values than an export of that
/// size has are refused before parsing.
#[test]
fn documents_of_tiny_objects_or_values_are_refused_before_parsing() {
    let wrap = |items: &str| format!(r#"{{"epcisBody":{{"eventList":[]}},"x":[{items}0]}}"#);
    let maps = wrap(&r#"{"a":0},"#.repeat(MAX_OBJECTS + 1));
    let err = Document::from_slice(maps.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("JSON objects"), "{err}");
    let zeros = wrap(&"0,".repeat(MAX_VALUES + 1));
    let err = Document::from_slice(zeros.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("JSON values"), "{err}");
    // Braces, commas and colons inside strings are text, not structure.
    let text = wrap(&format!(r#""{}","#, r#"{a:0},\""#.repeat(MAX_OBJECTS + 1)));
    assert!(Document::from_slice(text.as_bytes()).is_ok());
}
