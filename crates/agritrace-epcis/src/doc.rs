//! Reading an EPCIS 2.0 JSON / JSON-LD document from untrusted bytes: bounded in size and
//! nesting, with the events and namespaces found where the standard puts them.

use std::io::Read;

use serde_json::Value;

use crate::error::{Invalid, Rule};
use crate::hash::{CbvVersion, Namespaces, event_hash};

/// The largest document read: 64 MiB. A partner with more sends several documents.
pub const MAX_DOCUMENT_LEN: usize = 64 << 20;

/// The most JSON objects a document may hold. Each costs a parsed map (hundreds of bytes),
/// so without this a 64 MiB document of `{"a":0},` would take gigabytes; an export holds
/// about one object per 190 bytes (350,000 in 64 MiB).
pub const MAX_OBJECTS: usize = 600_000;

/// The most JSON values a document may hold (an export has about one per 20 bytes).
pub const MAX_VALUES: usize = 4_000_000;

/// A parsed document: its JSON, its namespaces, and where its events are.
#[derive(Debug)]
pub struct Document {
    json: Value,
    namespaces: Namespaces,
}

impl Document {
    /// Reads a document from bytes.
    ///
    /// # Errors
    /// [`Rule::Json`]: more than [`MAX_DOCUMENT_LEN`] bytes, [`MAX_OBJECTS`] objects or
    /// [`MAX_VALUES`] values (all checked before parsing), malformed JSON (with line and
    /// column), nesting deeper than 128 levels, or a top level that is not an object;
    /// [`Rule::Required`]: no event list.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Invalid> {
        if bytes.len() > MAX_DOCUMENT_LEN {
            return Err(too_large(bytes.len()));
        }
        prescan(bytes)?;
        let json: Value = serde_json::from_slice(bytes).map_err(|e| {
            Invalid::new(
                format!("line {} column {}", e.line(), e.column()),
                Rule::Json,
                format!("not a JSON document: {e}"),
            )
        })?;
        if !json.is_object() {
            return Err(Invalid::new(
                "",
                Rule::Json,
                "an EPCIS document must be a JSON object",
            ));
        }
        let namespaces = Namespaces::from_context(json.get("@context").unwrap_or(&Value::Null));
        let doc = Self { json, namespaces };
        doc.try_events()?;
        Ok(doc)
    }

    /// Reads a document from `r`, refusing it once it passes [`MAX_DOCUMENT_LEN`] bytes
    /// without reading further.
    ///
    /// # Errors
    /// As [`Document::from_slice`], or [`Rule::Json`] for a read error.
    pub fn from_reader(r: impl Read) -> Result<Self, Invalid> {
        let mut bytes = Vec::new();
        let limit = u64::try_from(MAX_DOCUMENT_LEN).unwrap_or(u64::MAX) + 1;
        r.take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| Invalid::new("", Rule::Json, format!("cannot read the document: {e}")))?;
        Self::from_slice(&bytes)
    }

    /// The whole document.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The namespaces its `@context` declares.
    pub fn namespaces(&self) -> &Namespaces {
        &self.namespaces
    }

    /// Its events, in `eventList` order: `epcisBody.eventList`, or for a query document
    /// `epcisBody.queryResults.resultsBody.eventList`.
    pub fn events(&self) -> &[Value] {
        self.try_events().unwrap_or(&[])
    }

    /// The JSON path of event `i`, for messages.
    pub fn event_path(i: usize) -> String {
        format!("eventList[{i}]")
    }

    fn try_events(&self) -> Result<&[Value], Invalid> {
        let body = &self.json["epcisBody"];
        let list = body.get("eventList").or_else(|| {
            body.get("queryResults")
                .and_then(|q| q.get("resultsBody"))
                .and_then(|r| r.get("eventList"))
        });
        match list {
            Some(Value::Array(events)) => Ok(events),
            Some(_) => Err(Invalid::new(
                "epcisBody.eventList",
                Rule::Shape,
                "must be a list of events",
            )),
            None => Err(Invalid::new(
                "epcisBody.eventList",
                Rule::Required,
                "the document has no event list",
            )),
        }
    }

    /// The CBV event hash of every event, in order.
    ///
    /// # Errors
    /// [`Invalid`] naming the first event and field the hash cannot be computed from.
    pub fn hashes(&self, version: CbvVersion) -> Result<Vec<String>, Invalid> {
        self.events()
            .iter()
            .enumerate()
            .map(|(i, e)| event_hash(e, &self.namespaces, version, &Self::event_path(i)))
            .collect()
    }
}

/// Counts objects and values outside strings before anything is parsed, so what parsing
/// would allocate is bounded by [`MAX_OBJECTS`] and [`MAX_VALUES`], not by the document's
/// shape.
fn prescan(bytes: &[u8]) -> Result<(), Invalid> {
    let (mut objects, mut values) = (0usize, 1usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => {
                objects += 1;
                values += 1;
            }
            b'[' | b',' | b':' => values += 1,
            _ => {}
        }
    }
    let refuse = |what: String| {
        Err(Invalid::new(
            "",
            Rule::Json,
            format!("{what}; send it as several documents"),
        ))
    };
    if objects > MAX_OBJECTS {
        return refuse(format!(
            "the document holds more than {MAX_OBJECTS} JSON objects ({objects})"
        ));
    }
    if values > MAX_VALUES {
        return refuse(format!(
            "the document holds more than {MAX_VALUES} JSON values ({values})"
        ));
    }
    Ok(())
}

fn too_large(len: usize) -> Invalid {
    Invalid::new(
        "",
        Rule::Json,
        format!(
            "the document is larger than {} MiB ({}{len} bytes); send it as several documents",
            MAX_DOCUMENT_LEN >> 20,
            if len > MAX_DOCUMENT_LEN {
                "at least "
            } else {
                ""
            }
        ),
    )
}
