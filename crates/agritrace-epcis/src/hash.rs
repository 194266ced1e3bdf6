//! The CBV event hash ("EPCIS Event Hash ID", CBV 2.0 §8.9 as the reference implementation
//! after its PR #123 computes it; NOTES §a): a canonical pre-hash string of the event's
//! business content, hashed with SHA-256 and written as an RFC 6920 `ni:` URI.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Invalid, Rule};
use crate::norm::{canon_gs1_word, canon_number, canon_value, canon_vocab};
use crate::vocab::{Vocab, tables};

/// Which generation of the hash: they differ only in where extensions nested inside
/// `readPoint`, `bizLocation` and sensor data go, and in the word `sensorElementList`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CbvVersion {
    /// CBV 2.0: nested extensions in a trailing block, no `sensorElementList` word.
    #[default]
    V2_0,
    /// CBV 2.1: nested extensions inline, `sensorElementList` written once.
    V2_1,
}

impl CbvVersion {
    /// `2.0` or `2.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2_0 => "2.0",
            Self::V2_1 => "2.1",
        }
    }
}

impl std::str::FromStr for CbvVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "2.0" => Ok(Self::V2_0),
            "2.1" => Ok(Self::V2_1),
            other => Err(format!(
                "unknown CBV version {other:?}: expected 2.0 or 2.1"
            )),
        }
    }
}

/// The namespaces a document's extension keys may use: prefixes declared in its own
/// `@context`, then the standard context's.
#[derive(Clone, Debug, Default)]
pub struct Namespaces {
    declared: BTreeMap<String, String>,
}

impl Namespaces {
    /// The prefixes an `@context` value declares (a URL, an object, or a list of both).
    pub fn from_context(context: &Value) -> Self {
        let mut declared = BTreeMap::new();
        let mut add = |m: &Map<String, Value>| {
            for (k, v) in m {
                if let Some(iri) = v.as_str() {
                    declared.insert(k.clone(), iri.to_owned());
                }
            }
        };
        match context {
            Value::Object(m) => add(m),
            Value::Array(items) => items.iter().filter_map(Value::as_object).for_each(&mut add),
            _ => {}
        }
        Self { declared }
    }

    /// A prefix declared by the document itself.
    pub fn declared(&self, prefix: &str) -> Option<&str> {
        self.declared.get(prefix).map(String::as_str)
    }

    /// `{namespace}local` for an extension key: a CURIE whose prefix the document or the
    /// standard context declares, or an absolute URI split at its last `/`, `#` or `:`.
    /// A prefix inherited from the standard context loses a trailing `:` (NOTES §b.7).
    ///
    /// # Errors
    /// The key has no namespace, or its prefix is declared nowhere.
    pub fn expand(&self, key: &str) -> Result<String, String> {
        let Some((prefix, local)) = key.split_once(':') else {
            return Err(format!("{key:?} has no namespace"));
        };
        if local.starts_with("//") || prefix == "urn" {
            let cut = key.rfind(['/', '#', ':']).map_or(key.len(), |i| i + 1);
            return Ok(format!("{{{}}}{}", &key[..cut], &key[cut..]));
        }
        if let Some(iri) = self.declared(prefix) {
            return Ok(format!("{{{iri}}}{local}"));
        }
        if let Some(iri) = tables().prefixes.get(prefix) {
            return Ok(format!(
                "{{{}}}{local}",
                iri.strip_suffix(':').unwrap_or(iri)
            ));
        }
        Err(format!(
            "{key:?} uses the prefix {prefix:?}, which no @context declares"
        ))
    }
}

/// The SHA-256 digest of a pre-hash string: the hash without its `ni:` text.
pub fn digest_of_prehash(prehash: &str) -> [u8; 32] {
    Sha256::digest(prehash.as_bytes()).into()
}

/// The hash of a pre-hash string: `ni:///sha-256;<hex>?ver=CBV2.x`.
pub fn hash_of_prehash(prehash: &str, version: CbvVersion) -> String {
    let digest = Sha256::digest(prehash.as_bytes());
    let mut out = String::with_capacity(90);
    out.push_str("ni:///sha-256;");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out.push_str("?ver=CBV");
    out.push_str(version.as_str());
    out
}

/// The CBV event hash of one event.
///
/// # Errors
/// [`Invalid`] naming the field (under `path`) the hash cannot be computed from.
pub fn event_hash(
    event: &Value,
    ns: &Namespaces,
    version: CbvVersion,
    path: &str,
) -> Result<String, Invalid> {
    Ok(hash_of_prehash(
        &prehash(event, ns, version, path)?,
        version,
    ))
}

/// Fields the hash leaves out.
const EXCLUDED: [&str; 8] = [
    "type",
    "eventID",
    "recordTime",
    "errorDeclaration",
    "certificationInfo",
    "@context",
    "comment",
    "rdfs:comment",
];

/// Every standard event field the hash writes, in no particular order.
pub(crate) const STANDARD_FIELDS: [&str; 23] = [
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "parentID",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "ilmd",
];

const METADATA_ORDER: [&str; 8] = [
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];

const REPORT_ORDER: [&str; 23] = [
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];

struct Ctx<'a> {
    ns: &'a Namespaces,
    version: CbvVersion,
    /// CBV 2.0's trailing block of nested extensions.
    trailing: Vec<String>,
}

fn err(path: &str, field: &str, rule: Rule, message: impl Into<String>) -> Invalid {
    Invalid::new(format!("{path}.{field}"), rule, message)
}

/// A scalar as text (strings trimmed; numbers canonical; booleans `true`/`false`), or
/// `None` for null and empty strings.
fn scalar(v: &Value, path: &str, field: &str) -> Result<Option<String>, Invalid> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Value::Number(n) => Ok(canon_number(&n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(err(
            path,
            field,
            Rule::Shape,
            "expected a string, number or boolean",
        )),
    }
}

/// The scalar under `key` in `m` (see [`scalar`]), reported at `{path}.{key}`.
fn scalar_at(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, Invalid> {
    m.get(key).map_or(Ok(None), |v| scalar(v, path, key))
}

fn leaf(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push('=');
    out.push_str(value);
}

/// The pre-hash string of one event (NOTES §a): `eventType=…` and the business fields in
/// canonical order, then ILMD and extensions.
///
/// # Errors
/// [`Invalid`] naming the field (under `path`) that cannot be read.
pub fn prehash(
    event: &Value,
    ns: &Namespaces,
    version: CbvVersion,
    path: &str,
) -> Result<String, Invalid> {
    let Some(e) = event.as_object() else {
        return Err(Invalid::new(
            path,
            Rule::Shape,
            "an event must be a JSON object",
        ));
    };
    let Some(kind) = e.get("type").and_then(Value::as_str) else {
        return Err(err(path, "type", Rule::Required, "missing the event type"));
    };
    let mut cx = Ctx {
        ns,
        version,
        trailing: Vec::new(),
    };
    let mut out = String::with_capacity(512);
    out.push_str("eventType=");
    out.push_str(kind);
    let get = |k: &str| e.get(k).filter(|v| !v.is_null());
    let verbatim = |_: &str, v: &str| v.to_owned();
    simple(&mut out, e, "eventTime", path, canon_value)?;
    simple(&mut out, e, "eventTimeZoneOffset", path, verbatim)?;
    epcs(&mut out, get("epcList"), "epcList", path)?;
    simple(&mut out, e, "parentID", path, canon_value)?;
    epcs(&mut out, get("inputEPCList"), "inputEPCList", path)?;
    epcs(&mut out, get("childEPCs"), "childEPCs", path)?;
    for list in ["quantityList", "childQuantityList", "inputQuantityList"] {
        quantities(&mut out, get(list), list, path)?;
    }
    epcs(&mut out, get("outputEPCList"), "outputEPCList", path)?;
    quantities(
        &mut out,
        get("outputQuantityList"),
        "outputQuantityList",
        path,
    )?;
    simple(&mut out, e, "action", path, verbatim)?;
    simple(&mut out, e, "transformationID", path, canon_value)?;
    simple(&mut out, e, "bizStep", path, |_, v| {
        canon_vocab(Vocab::BizStep, v)
    })?;
    simple(&mut out, e, "disposition", path, |_, v| {
        canon_vocab(Vocab::Disposition, v)
    })?;
    persistent(&mut out, get("persistentDisposition"), path)?;
    for place in ["readPoint", "bizLocation"] {
        cx.place(&mut out, get(place), place, path)?;
    }
    let lists = [
        (
            "bizTransactionList",
            "bizTransaction",
            Vocab::BizTransactionType,
        ),
        ("sourceList", "source", Vocab::SourceDestType),
        ("destinationList", "destination", Vocab::SourceDestType),
    ];
    for (list, item, vocab) in lists {
        typed_list(&mut out, get(list), list, item, vocab, path)?;
    }
    cx.sensors(&mut out, get("sensorElementList"), path)?;
    if let Some(ilmd) = get("ilmd") {
        let Some(m) = ilmd.as_object() else {
            return Err(err(path, "ilmd", Rule::Shape, "ILMD must be an object"));
        };
        let entries = cx.extensions(m, &format!("{path}.ilmd"), &[])?;
        if !entries.is_empty() {
            out.push_str("ilmd");
            out.push_str(&entries.concat());
        }
    }
    let mut entries = cx.event_extensions(e, path)?;
    entries.append(&mut cx.trailing);
    entries.sort_unstable();
    out.push_str(&entries.concat());
    Ok(out)
}

/// One scalar field, written `name=value` with `canon` applied, when present.
fn simple(
    out: &mut String,
    e: &Map<String, Value>,
    name: &str,
    path: &str,
    canon: impl Fn(&str, &str) -> String,
) -> Result<(), Invalid> {
    if let Some(v) = scalar_at(e, name, path)? {
        leaf(out, name, &canon(name, &v));
    }
    Ok(())
}

fn list<'a>(v: Option<&'a Value>, name: &str, path: &str) -> Result<&'a [Value], Invalid> {
    match v {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(err(path, name, Rule::Shape, "must be a list")),
    }
}

fn sorted_block(out: &mut String, name: &str, mut items: Vec<String>) {
    if items.is_empty() {
        return;
    }
    items.sort_unstable();
    out.push_str(name);
    out.push_str(&items.concat());
}

fn epcs(out: &mut String, v: Option<&Value>, name: &str, path: &str) -> Result<(), Invalid> {
    let mut items = Vec::new();
    for (i, item) in list(v, name, path)?.iter().enumerate() {
        if let Some(s) = scalar(item, path, &format!("{name}[{i}]"))? {
            items.push(format!("epc={}", canon_value("epc", &s)));
        }
    }
    sorted_block(out, name, items);
    Ok(())
}

fn quantities(out: &mut String, v: Option<&Value>, name: &str, path: &str) -> Result<(), Invalid> {
    let mut items = Vec::new();
    for (i, item) in list(v, name, path)?.iter().enumerate() {
        let here = format!("{name}[{i}]");
        let Some(q) = item.as_object() else {
            return Err(err(
                path,
                &here,
                Rule::Shape,
                "a quantity element must be an object",
            ));
        };
        let mut s = String::from("quantityElement");
        for field in ["epcClass", "quantity", "uom"] {
            if let Some(v) = scalar_at(q, field, &format!("{path}.{here}"))? {
                leaf(&mut s, field, &canon_value(field, &v));
            }
        }
        items.push(s);
    }
    sorted_block(out, name, items);
    Ok(())
}

fn persistent(out: &mut String, v: Option<&Value>, path: &str) -> Result<(), Invalid> {
    let Some(v) = v else { return Ok(()) };
    let Some(m) = v.as_object() else {
        return Err(err(
            path,
            "persistentDisposition",
            Rule::Shape,
            "must be an object with set and unset lists",
        ));
    };
    let mut s = String::new();
    for part in ["set", "unset"] {
        let here = format!("persistentDisposition.{part}");
        let mut items = Vec::new();
        for (i, item) in list(m.get(part), &here, path)?.iter().enumerate() {
            if let Some(w) = scalar(item, path, &format!("{here}[{i}]"))? {
                items.push(format!("{part}={}", canon_vocab(Vocab::Disposition, &w)));
            }
        }
        items.sort_unstable();
        s.push_str(&items.concat());
    }
    if !s.is_empty() {
        out.push_str("persistentDisposition");
        out.push_str(&s);
    }
    Ok(())
}

fn typed_list(
    out: &mut String,
    v: Option<&Value>,
    name: &str,
    item_key: &str,
    vocab: Vocab,
    path: &str,
) -> Result<(), Invalid> {
    let mut items = Vec::new();
    for (i, item) in list(v, name, path)?.iter().enumerate() {
        let here = format!("{name}[{i}]");
        let Some(m) = item.as_object() else {
            return Err(err(path, &here, Rule::Shape, "must be an object"));
        };
        let mut s = String::new();
        if let Some(t) = scalar_at(m, "type", &format!("{path}.{here}"))? {
            leaf(&mut s, "type", &canon_vocab(vocab, &t));
        }
        if let Some(x) = scalar_at(m, item_key, &format!("{path}.{here}"))? {
            leaf(&mut s, item_key, &canon_value(item_key, &x));
        }
        if !s.is_empty() {
            items.push(s);
        }
    }
    sorted_block(out, name, items);
    Ok(())
}

impl Ctx<'_> {
    /// The event-level extensions' entries (every key the standard does not name).
    fn event_extensions(
        &mut self,
        e: &Map<String, Value>,
        path: &str,
    ) -> Result<Vec<String>, Invalid> {
        let mut entries = Vec::new();
        for (k, v) in e {
            if STANDARD_FIELDS.contains(&k.as_str()) || EXCLUDED.contains(&k.as_str()) {
                continue;
            }
            if !k.contains(':') {
                return Err(err(
                    path,
                    k,
                    Rule::UnknownField,
                    "is not an EPCIS field, and an extension needs a namespace (a URI or a CURIE)",
                ));
            }
            let key = self
                .ns
                .expand(k)
                .map_err(|m| err(path, k, Rule::Namespace, m))?;
            self.entries(&key, v, &mut entries, 0)?;
        }
        Ok(entries)
    }

    /// The extension entries of an object (every key but `standard`), sorted.
    fn extensions(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        standard: &[&str],
    ) -> Result<Vec<String>, Invalid> {
        let mut entries = Vec::new();
        for (k, v) in m {
            if standard.contains(&k.as_str()) {
                continue;
            }
            if !k.contains(':') && !standard.is_empty() {
                // A plain key the standard does not list inside a sensor object or a place
                // (seen in valid documents, e.g. a report's `bizRules`): written as it is.
                self.entries(k, v, &mut entries, 0)?;
                continue;
            }
            let key = self
                .ns
                .expand(k)
                .map_err(|msg| Invalid::new(format!("{path}.{k}"), Rule::Namespace, msg))?;
            self.entries(&key, v, &mut entries, 0)?;
        }
        entries.sort_unstable();
        Ok(entries)
    }

    /// Entries for one extension value: `{ns}key=value`, `{ns}key` and its sorted
    /// children for an object, one entry per element for a list.
    fn entries(
        &mut self,
        key: &str,
        v: &Value,
        out: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), Invalid> {
        if depth > crate::MAX_DEPTH {
            return Err(Invalid::new(key, Rule::Shape, "extensions nest too deeply"));
        }
        match v {
            Value::Null => {}
            Value::String(s) => {
                let s = s.trim();
                if !s.is_empty() {
                    out.push(format!("{key}={}", canon_value(key, s)));
                }
            }
            Value::Number(n) => out.push(format!(
                "{key}={}",
                canon_number(&n.to_string()).unwrap_or_else(|| n.to_string())
            )),
            Value::Bool(b) => out.push(format!("{key}={b}")),
            Value::Array(items) => {
                for item in items {
                    self.entries(key, item, out, depth + 1)?;
                }
            }
            Value::Object(m) => {
                let mut children = Vec::new();
                for (k, v) in m {
                    // Inside an extension, a plain key is written as it is.
                    let child = if k.contains(':') {
                        self.ns.expand(k).map_err(|msg| {
                            Invalid::new(format!("{key}.{k}"), Rule::Namespace, msg)
                        })?
                    } else {
                        k.clone()
                    };
                    self.entries(&child, v, &mut children, depth + 1)?;
                }
                if !children.is_empty() {
                    children.sort_unstable();
                    out.push(format!("{key}{}", children.concat()));
                }
            }
        }
        Ok(())
    }

    fn place(
        &mut self,
        out: &mut String,
        v: Option<&Value>,
        name: &str,
        path: &str,
    ) -> Result<(), Invalid> {
        let Some(v) = v else { return Ok(()) };
        let Some(m) = v.as_object() else {
            return Err(err(path, name, Rule::Shape, "must be an object with an id"));
        };
        let here = format!("{path}.{name}");
        let exts = self.extensions(m, &here, &["id"])?;
        let mut s = String::new();
        if let Some(id) = scalar_at(m, "id", &here)? {
            leaf(&mut s, "id", &canon_value("id", &id));
        }
        match self.version {
            CbvVersion::V2_1 => s.push_str(&exts.concat()),
            CbvVersion::V2_0 if !exts.is_empty() => {
                self.trailing.push(format!("{name}{}", exts.concat()));
            }
            CbvVersion::V2_0 => {}
        }
        if !s.is_empty() {
            out.push_str(name);
            out.push_str(&s);
        }
        Ok(())
    }

    fn sensors(&mut self, out: &mut String, v: Option<&Value>, path: &str) -> Result<(), Invalid> {
        let mut elements = Vec::new();
        for (i, element) in list(v, "sensorElementList", path)?.iter().enumerate() {
            let here = format!("{path}.sensorElementList[{i}]");
            let Some(el) = element.as_object() else {
                return Err(Invalid::new(
                    here,
                    Rule::Shape,
                    "a sensor element must be an object",
                ));
            };
            let mut s = String::from("sensorElement");
            let mut moved = String::new();
            if let Some(meta) = el.get("sensorMetadata") {
                let Some(meta) = meta.as_object() else {
                    return Err(Invalid::new(
                        format!("{here}.sensorMetadata"),
                        Rule::Shape,
                        "must be an object",
                    ));
                };
                let mut m = fields(meta, &METADATA_ORDER, &format!("{here}.sensorMetadata"))?;
                let exts =
                    self.extensions(meta, &format!("{here}.sensorMetadata"), &METADATA_ORDER)?;
                if self.version == CbvVersion::V2_0 && !exts.is_empty() {
                    moved.push_str("sensorMetadata");
                    moved.push_str(&exts.concat());
                }
                if self.version == CbvVersion::V2_1 {
                    m.push_str(&exts.concat());
                }
                if !m.is_empty() {
                    s.push_str("sensorMetadata");
                    s.push_str(&m);
                }
            }
            let mut reports = Vec::new();
            for (j, report) in list(el.get("sensorReport"), "sensorReport", &here)?
                .iter()
                .enumerate()
            {
                let rhere = format!("{here}.sensorReport[{j}]");
                let Some(r) = report.as_object() else {
                    return Err(Invalid::new(
                        rhere,
                        Rule::Shape,
                        "a sensor report must be an object",
                    ));
                };
                let mut text = fields(r, &REPORT_ORDER, &rhere)?;
                let exts = self.extensions(r, &rhere, &REPORT_ORDER)?;
                match self.version {
                    CbvVersion::V2_1 => text.push_str(&exts.concat()),
                    CbvVersion::V2_0 if !exts.is_empty() => {
                        moved.push_str("sensorReport");
                        moved.push_str(&exts.concat());
                    }
                    CbvVersion::V2_0 => {}
                }
                if !text.is_empty() {
                    reports.push(format!("sensorReport{text}"));
                }
            }
            reports.sort_unstable();
            s.push_str(&reports.concat());
            let exts = self.extensions(el, &here, &["sensorMetadata", "sensorReport"])?;
            match self.version {
                CbvVersion::V2_1 => s.push_str(&exts.concat()),
                CbvVersion::V2_0 => moved.push_str(&exts.concat()),
            }
            if !moved.is_empty() {
                self.trailing.push(format!("sensorElement{moved}"));
            }
            elements.push(s);
        }
        if elements.is_empty() {
            return Ok(());
        }
        elements.sort_unstable();
        if self.version == CbvVersion::V2_1 {
            out.push_str("sensorElementList");
        }
        out.push_str(&elements.concat());
        Ok(())
    }
}

/// The standard fields of a sensor object in the given order.
fn fields(m: &Map<String, Value>, order: &[&str], path: &str) -> Result<String, Invalid> {
    let mut s = String::new();
    for &field in order {
        let Some(v) = scalar_at(m, field, path)? else {
            continue;
        };
        let v = match field {
            "type" | "exception" => canon_gs1_word(&v),
            "uom" | "stringValue" | "hexBinaryValue" | "component" => v,
            _ => canon_value(field, &v),
        };
        leaf(&mut s, field, &v);
    }
    Ok(s)
}
