//! The EPCIS 2.0 rules a conformant reader enforces (NOTES §c, from the EPCIS 2.0 JSON
//! Schema): required fields, actions, vocabularies, units, URI and date-time formats.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::doc::Document;
use crate::error::{Invalid, Rule};
use crate::hash::{CbvVersion, STANDARD_FIELDS, prehash};
use crate::norm::parse_time;
use crate::vocab::{Vocab, is_measurement_type};

/// The event types of EPCIS 2.0.
pub const EVENT_TYPES: [&str; 5] = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

/// The first rule `doc` breaks, if any.
///
/// # Errors
/// The first [`Invalid`] of [`problems`].
pub fn validate(doc: &Document) -> Result<(), Invalid> {
    match problems(doc).into_iter().next() {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

/// Every rule `doc` breaks (at most one per event field), document first, then each event.
pub fn problems(doc: &Document) -> Vec<Invalid> {
    let mut out = Vec::new();
    let json = doc.json();
    for field in ["@context", "type", "schemaVersion", "creationDate"] {
        if json.get(field).is_none_or(Value::is_null) {
            flag(
                &mut out,
                field,
                Rule::Required,
                format!("the document has no {field}"),
            );
        }
    }
    if let Some(t) = json.get("type").and_then(Value::as_str)
        && !matches!(t, "EPCISDocument" | "EPCISQueryDocument")
    {
        flag(
            &mut out,
            "type",
            Rule::Required,
            format!("{t:?} is not EPCISDocument"),
        );
    }
    if let Some(v) = json.get("creationDate") {
        date_time(&mut out, "creationDate", v);
    }
    for (i, event) in doc.events().iter().enumerate() {
        let path = Document::event_path(i);
        let before = out.len();
        check_event(&mut out, event, &path);
        if out.len() == before {
            // Every remaining rule of the hash's reading (namespaces, shapes).
            if let Err(e) = prehash(event, doc.namespaces(), CbvVersion::V2_0, &path) {
                out.push(e);
            }
        }
    }
    out
}

/// Whether `s` is an absolute URI: a scheme, `:`, and no white space or control characters.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        && sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
}

/// Records a problem at `path` under `rule`.
fn flag(out: &mut Vec<Invalid>, path: impl Into<String>, rule: Rule, message: impl Into<String>) {
    out.push(Invalid::new(path, rule, message));
}

fn date_time(out: &mut Vec<Invalid>, path: &str, v: &Value) {
    if v.as_str().is_none_or(|s| parse_time(s).is_none()) {
        flag(
            out,
            path,
            Rule::DateTime,
            format!("{v} is not a date-time such as 2026-03-01T08:30:00.000+08:00"),
        );
    }
}

pub(crate) fn is_offset(s: &str) -> bool {
    let two = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u8>().ok())
    };
    let signed = s.starts_with(['+', '-']) && s.len() == 6 && s.as_bytes()[3] == b':';
    match (signed, two(1..3), two(4..6)) {
        (true, Some(hours), Some(minutes)) => {
            (hours <= 13 && minutes <= 59) || (hours == 14 && minutes == 0)
        }
        _ => false,
    }
}

/// A UN/ECE Rec 20 code: 2 or 3 upper-case letters or digits.
pub fn is_uom(s: &str) -> bool {
    (2..=3).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn uri_field(out: &mut Vec<Invalid>, path: &str, v: Option<&Value>) {
    if let Some(v) = v
        && !v.as_str().is_some_and(is_uri)
    {
        flag(out, path, Rule::Uri, format!("{v} is not a URI"));
    }
}

fn nonempty_list(e: &Map<String, Value>, key: &str) -> bool {
    e.get(key)
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty())
}

/// A CBV vocabulary value: a bare word of the vocabulary, or a URI (the valid examples use
/// CBV Web URIs and `cbv:` CURIEs). The old `urn:epcglobal:cbv:` URNs are refused: JSON
/// writes CBV terms as bare words (NOTES §c).
fn vocab_value(out: &mut Vec<Invalid>, path: &str, vocab: Vocab, v: &Value) {
    let Some(s) = v.as_str() else {
        flag(out, path, Rule::Shape, "must be a string");
        return;
    };
    let ok = if is_uri(s) {
        !s.starts_with("urn:epcglobal:cbv:")
    } else {
        vocab.has(s)
    };
    if !ok {
        flag(
            out,
            path,
            Rule::Vocabulary,
            format!(
                "{s:?} is not a CBV {} (a bare word such as those of CBV 2.0) nor a URI of your own",
                vocab.name()
            ),
        );
    }
}

fn check_event(out: &mut Vec<Invalid>, event: &Value, path: &str) {
    let Some(e) = event.as_object() else {
        flag(out, path, Rule::Shape, "an event must be a JSON object");
        return;
    };
    let at = |f: &str| format!("{path}.{f}");
    let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
    if !EVENT_TYPES.contains(&kind) {
        flag(
            out,
            at("type"),
            Rule::Required,
            format!(
                "{kind:?} is not an EPCIS event type ({})",
                EVENT_TYPES.join(", ")
            ),
        );
        return;
    }
    match e.get("eventTime") {
        None => flag(out, at("eventTime"), Rule::Required, "missing eventTime"),
        Some(v) => date_time(out, &at("eventTime"), v),
    }
    if let Some(v) = e.get("recordTime") {
        date_time(out, &at("recordTime"), v);
    }
    match e.get("eventTimeZoneOffset") {
        None => flag(
            out,
            at("eventTimeZoneOffset"),
            Rule::Required,
            "missing eventTimeZoneOffset",
        ),
        Some(v) if !v.as_str().is_some_and(is_offset) => {
            flag(
                out,
                at("eventTimeZoneOffset"),
                Rule::TimeZoneOffset,
                format!("{v} is not an offset from -14:00 to +14:00 such as +08:00"),
            );
        }
        Some(_) => {}
    }
    if kind != "TransformationEvent" {
        match e.get("action").and_then(Value::as_str) {
            Some("OBSERVE" | "ADD" | "DELETE") => {}
            Some(a) => flag(
                out,
                at("action"),
                Rule::Action,
                format!("{a:?} is not OBSERVE, ADD or DELETE"),
            ),
            None => flag(
                out,
                at("action"),
                Rule::Action,
                format!("a {kind} needs an action: OBSERVE, ADD or DELETE"),
            ),
        }
    }
    check_kind_rules(out, e, kind, path);
    check_keys_and_identifiers(out, e, path);
    check_vocabularies(out, e, path);
    check_values(out, e, path);
}

fn check_kind_rules(out: &mut Vec<Invalid>, e: &Map<String, Value>, kind: &str, path: &str) {
    let at = |f: &str| format!("{path}.{f}");
    match kind {
        "ObjectEvent"
            if !["epcList", "quantityList", "sensorElementList"]
                .iter()
                .any(|k| nonempty_list(e, k)) =>
        {
            flag(
                out,
                path,
                Rule::NoObject,
                "an ObjectEvent must name what it is about: epcList, quantityList or sensorElementList",
            );
        }
        "AggregationEvent"
            if e.get("action").and_then(Value::as_str) != Some("DELETE")
                && !nonempty_list(e, "childEPCs")
                && !nonempty_list(e, "childQuantityList") =>
        {
            flag(
                out,
                path,
                Rule::NoChildren,
                "an AggregationEvent that is not a DELETE needs childEPCs or childQuantityList",
            );
        }
        "TransformationEvent" => {
            let inputs = nonempty_list(e, "inputEPCList") || nonempty_list(e, "inputQuantityList");
            let outputs =
                nonempty_list(e, "outputEPCList") || nonempty_list(e, "outputQuantityList");
            if !(inputs && outputs) && !(e.contains_key("transformationID") && (inputs || outputs))
            {
                flag(
                    out,
                    path,
                    Rule::TransformationSides,
                    "a TransformationEvent needs inputs and outputs (one side only with a transformationID)",
                );
            }
        }
        _ => {}
    }
    if e.contains_key("persistentDisposition")
        && !matches!(kind, "ObjectEvent" | "TransformationEvent")
    {
        flag(
            out,
            at("persistentDisposition"),
            Rule::PersistentDisposition,
            format!("a {kind} cannot carry a persistentDisposition"),
        );
    }
}

fn check_keys_and_identifiers(out: &mut Vec<Invalid>, e: &Map<String, Value>, path: &str) {
    let at = |f: &str| format!("{path}.{f}");
    for k in e.keys() {
        let known = STANDARD_FIELDS.contains(&k.as_str())
            || matches!(
                k.as_str(),
                "type"
                    | "eventID"
                    | "recordTime"
                    | "errorDeclaration"
                    | "certificationInfo"
                    | "@context"
            );
        if !known && !k.contains(':') {
            flag(
                out,
                at(k),
                Rule::UnknownField,
                "is not an EPCIS field, and an extension needs a namespace (a URI or a CURIE)",
            );
        }
    }
    for list in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
        let mut seen = BTreeSet::new();
        for (i, v) in e
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let here = format!("{path}.{list}[{i}]");
            uri_field(out, &here, Some(v));
            if let Some(s) = v.as_str()
                && !seen.insert(s)
            {
                flag(
                    out,
                    here,
                    Rule::DuplicateEpc,
                    format!("{s} is listed twice"),
                );
            }
        }
    }
    for f in ["parentID", "transformationID", "eventID"] {
        uri_field(out, &at(f), e.get(f));
    }
    for place in ["readPoint", "bizLocation"] {
        if let Some(p) = e.get(place) {
            uri_field(
                out,
                &format!("{path}.{place}.id"),
                Some(p.get("id").unwrap_or(&Value::Null)),
            );
        }
    }
    match e.get("certificationInfo") {
        None | Some(Value::String(_)) => {
            uri_field(out, &at("certificationInfo"), e.get("certificationInfo"));
        }
        Some(Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                uri_field(out, &format!("{path}.certificationInfo[{i}]"), Some(v));
            }
        }
        Some(v) => flag(
            out,
            at("certificationInfo"),
            Rule::Uri,
            format!("{v} is not a URI"),
        ),
    }
}

fn check_vocabularies(out: &mut Vec<Invalid>, e: &Map<String, Value>, path: &str) {
    let at = |f: &str| format!("{path}.{f}");
    if let Some(v) = e.get("bizStep") {
        vocab_value(out, &at("bizStep"), Vocab::BizStep, v);
    }
    if let Some(v) = e.get("disposition") {
        vocab_value(out, &at("disposition"), Vocab::Disposition, v);
    }
    if let Some(pd) = e.get("persistentDisposition").and_then(Value::as_object) {
        for part in ["set", "unset"] {
            for (i, v) in pd
                .get(part)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                vocab_value(
                    out,
                    &format!("{path}.persistentDisposition.{part}[{i}]"),
                    Vocab::Disposition,
                    v,
                );
            }
        }
    }
    for (list, item, vocab) in [
        (
            "bizTransactionList",
            "bizTransaction",
            Vocab::BizTransactionType,
        ),
        ("sourceList", "source", Vocab::SourceDestType),
        ("destinationList", "destination", Vocab::SourceDestType),
    ] {
        for (i, v) in e
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let here = format!("{path}.{list}[{i}]");
            if let Some(t) = v.get("type") {
                vocab_value(out, &format!("{here}.type"), vocab, t);
            } else if list != "bizTransactionList" {
                flag(out, format!("{here}.type"), Rule::Required, "missing type");
            }
            uri_field(
                out,
                &format!("{here}.{item}"),
                Some(v.get(item).unwrap_or(&Value::Null)),
            );
        }
    }
}

fn check_values(out: &mut Vec<Invalid>, e: &Map<String, Value>, path: &str) {
    for list in [
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
    ] {
        for (i, q) in e
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            quantity(out, &format!("{path}.{list}[{i}]"), q);
        }
    }
    if let Some(ilmd) = e.get("ilmd").and_then(Value::as_object) {
        for k in ilmd.keys().filter(|k| !k.contains(':')) {
            flag(
                out,
                format!("{path}.ilmd.{k}"),
                Rule::Namespace,
                "an ILMD key needs a namespace, e.g. example:materialType with example declared in @context",
            );
        }
    }
    for (i, el) in e
        .get("sensorElementList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (j, r) in el
            .get("sensorReport")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            sensor_report(
                out,
                &format!("{path}.sensorElementList[{i}].sensorReport[{j}]"),
                r,
            );
        }
    }
}

fn quantity(out: &mut Vec<Invalid>, here: &str, q: &Value) {
    let Some(q) = q.as_object() else {
        flag(
            out,
            here,
            Rule::QuantityElement,
            "a quantity element must be an object",
        );
        return;
    };
    for k in q
        .keys()
        .filter(|k| !matches!(k.as_str(), "epcClass" | "quantity" | "uom"))
    {
        flag(
            out,
            format!("{here}.{k}"),
            Rule::QuantityElement,
            "a quantity element holds only epcClass, quantity and uom",
        );
    }
    uri_field(
        out,
        &format!("{here}.epcClass"),
        Some(q.get("epcClass").unwrap_or(&Value::Null)),
    );
    if let Some(v) = q.get("quantity")
        && !v.is_number()
    {
        flag(
            out,
            format!("{here}.quantity"),
            Rule::QuantityElement,
            format!("{v} is not a number"),
        );
    }
    if let Some(v) = q.get("uom")
        && !v.as_str().is_some_and(is_uom)
    {
        flag(
            out,
            format!("{here}.uom"),
            Rule::Uom,
            format!("{v} is not a UN/ECE Rec 20 code such as KGM"),
        );
    }
}

fn sensor_report(out: &mut Vec<Invalid>, here: &str, r: &Value) {
    if let Some(t) = r.get("type") {
        let ok = t.as_str().is_some_and(|s| {
            if is_uri(s) && !s.starts_with("gs1:") {
                !(s.starts_with("https://gs1.org/voc/") || s.starts_with("http://gs1.org/voc/"))
            } else {
                is_measurement_type(s.strip_prefix("gs1:").unwrap_or(s))
            }
        });
        if !ok {
            flag(
                out,
                format!("{here}.type"),
                Rule::MeasurementType,
                format!(
                    "{t} is not a GS1 measurement type (such as Mass or Count) nor a URI of your own"
                ),
            );
        }
    }
    if let Some(v) = r.get("uom")
        && !v.as_str().is_some_and(is_uom)
    {
        flag(
            out,
            format!("{here}.uom"),
            Rule::Uom,
            format!("{v} is not a UN/ECE Rec 20 code such as GRM"),
        );
    }
}
