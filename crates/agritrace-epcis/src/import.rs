//! Reading a partner's EPCIS document into agritrace records, all or nothing: events that
//! carry a signed record (`agt:record`) are checked against it and admitted as they are;
//! plain events that map onto an agritrace event are signed by the importing key; anything
//! else is refused, naming the event and the field.

use std::collections::{HashMap, HashSet};

use agritrace::{
    Chain, DeviceKind, EndReason, Event, InspectionKind, InspectionResult, LineageRef, RecallKind,
    RecordBody, RecordId, Registration, Sex, SignedRecord, Signer, SourceHash, Species, Store,
    StoreError, SubjectId, Text, Timestamp, TreatmentKind,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use crate::doc::Document;
use crate::error::{Invalid, Rule};
use crate::export::{AGT, Profile, RECORD_KEY, project};
use crate::hash::{CbvVersion, event_hash};
use crate::norm::parse_time;
use crate::uri::{name_of_uri, subject_of_uri};
use crate::validate;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Records appended, in document order.
    pub appended: usize,
    /// Events already imported (skipped): a carried record already stored, or a plain event
    /// whose hash a record of its subject's chain already names. Importing a document twice
    /// appends nothing the second time.
    pub already_stored: usize,
    /// Events that carried their own signed record.
    pub carried: usize,
    /// Plain events signed by the importing key: event index, the source event's CBV 2.0
    /// hash (signed into the record, format version 2), and the record made from it.
    pub signed: Vec<(usize, String, RecordId)>,
    /// The log position of the first appended record.
    pub first_position: Option<u64>,
}

/// An import refused: nothing was appended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The document or one of its events breaks a rule.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// The store refused a record (index `event` in the document), or failed.
    #[error("event {event}: {source}")]
    Store {
        /// The event whose record was refused (or the first event, for a store failure).
        event: usize,
        /// The store's error.
        source: StoreError,
    },
}

/// Imports `doc` into `store`, signing plain events with `signer`.
///
/// # Errors
/// [`ImportError`]: the first event that cannot be imported, by index and field; nothing
/// is appended then.
pub fn import<S: Store>(
    doc: &Document,
    store: &S,
    signer: &Signer,
) -> Result<Imported, ImportError> {
    validate::validate(doc)?;
    let mut out = Imported::default();
    let mut records = Vec::new();
    let mut origin = Vec::new();
    let mut chains: HashMap<SubjectId, Chain> = HashMap::new();
    // Per subject touched by a plain event: the source events its chain already holds.
    let mut sourced: HashMap<SubjectId, HashSet<SourceHash>> = HashMap::new();
    for (i, event) in doc.events().iter().enumerate() {
        let path = Document::event_path(i);
        let e = event
            .as_object()
            .ok_or_else(|| Invalid::new(&path, Rule::Shape, "not an object"))?;
        check_precision(e, &path)?;
        if e.contains_key(RECORD_KEY) {
            let (record, body) = carried(doc, e, event, &path)?;
            out.carried += 1;
            if store
                .get(&record.id())
                .map_err(|source| ImportError::Store { event: i, source })?
                .is_some()
            {
                out.already_stored += 1;
                continue;
            }
            let ended = matches!(body.event(), Event::EndOfChain { .. });
            let tip = agritrace::ChainTip::new(body.seq(), record.id(), body.time(), ended);
            chains.insert(
                body.subject().clone(),
                Chain::continue_from(body.subject().clone(), Some(tip)),
            );
            records.push(record);
        } else {
            let source = SourceHash::EpcisCbv20(crate::hash::digest_of_prehash(
                &crate::hash::prehash(event, doc.namespaces(), CbvVersion::V2_0, &path)?,
            ));
            let mut tip_of = |s: &SubjectId| -> Result<Option<RecordId>, ImportError> {
                if let Some(c) = chains.get(s) {
                    return Ok(c.tip());
                }
                Ok(store
                    .tip(s)
                    .map_err(|source| ImportError::Store { event: i, source })?
                    .map(|t| t.id))
            };
            let (subject, time, ev) = plain(e, &path, &mut tip_of)?;
            if !sourced.contains_key(&subject) {
                let known = sources_in(store, &subject)
                    .map_err(|source| ImportError::Store { event: i, source })?;
                sourced.insert(subject.clone(), known);
            }
            if sourced.get(&subject).is_some_and(|k| k.contains(&source)) {
                // This very event was imported before: its record is in the chain.
                out.already_stored += 1;
                continue;
            }
            if !chains.contains_key(&subject) {
                let tip = store
                    .tip(&subject)
                    .map_err(|source| ImportError::Store { event: i, source })?;
                chains.insert(subject.clone(), Chain::continue_from(subject.clone(), tip));
            }
            let chain = chains
                .get_mut(&subject)
                .ok_or_else(|| Invalid::new(&path, Rule::Agritrace, "internal: no chain"))?;
            let record = chain
                .append_sourced(signer, time, ev, source)
                .map_err(|err| Invalid::new(&path, Rule::Agritrace, err.to_string()))?;
            out.signed.push((i, source.to_string(), record.id()));
            // The same event twice in one document is imported once.
            sourced.entry(subject).or_default().insert(source);
            records.push(record);
        }
        origin.push(i);
    }
    if records.is_empty() {
        return Ok(out);
    }
    match store.append_batch(&records) {
        Ok(first) => {
            out.appended = records.len();
            out.first_position = Some(first);
            Ok(out)
        }
        Err(source) => {
            let event = match &source {
                StoreError::Refused { index, .. } => origin.get(*index).copied().unwrap_or(0),
                _ => origin.first().copied().unwrap_or(0),
            };
            Err(ImportError::Store { event, source })
        }
    }
}

/// The source events the stored chain of `subject` was made from (format version 2 records).
fn sources_in<S: Store>(store: &S, subject: &SubjectId) -> Result<HashSet<SourceHash>, StoreError> {
    Ok(store
        .chain(subject)?
        .iter()
        .filter_map(|r| RecordBody::decode(r.body()).ok()?.source().copied())
        .collect())
}

/// agritrace stores milliseconds: a time with more digits is refused, not rounded.
fn check_precision(e: &Map<String, Value>, path: &str) -> Result<(), Invalid> {
    for key in ["eventTime", "recordTime"] {
        if let Some(s) = e.get(key).and_then(Value::as_str)
            && parse_time(s).is_some_and(|(_, digits)| digits > 3)
        {
            return Err(Invalid::new(
                format!("{path}.{key}"),
                Rule::Precision,
                format!(
                    "{s} has more than millisecond precision; agritrace stores milliseconds and does not round"
                ),
            ));
        }
    }
    Ok(())
}

/// The carried record of an event and its body, checked: it decodes, and the event is its
/// projection (the same CBV hash, under the document's own profile and the event's offset).
fn carried(
    doc: &Document,
    e: &Map<String, Value>,
    event: &Value,
    path: &str,
) -> Result<(SignedRecord, RecordBody), Invalid> {
    let at = format!("{path}.{RECORD_KEY}");
    let text = e
        .get(RECORD_KEY)
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid::new(&at, Rule::Record, "must be base64 text"))?;
    if text.len() > 4 * (agritrace::MAX_BODY_LEN + 68) / 3 + 4 {
        return Err(Invalid::new(
            &at,
            Rule::Record,
            "longer than any record frame",
        ));
    }
    let frame = B64
        .decode(text)
        .map_err(|err| Invalid::new(&at, Rule::Record, format!("not base64: {err}")))?;
    let (record, used) = SignedRecord::read_frame(&frame)
        .map_err(|err| Invalid::new(&at, Rule::Record, err.to_string()))?;
    if used != frame.len() {
        return Err(Invalid::new(
            &at,
            Rule::Record,
            "bytes after the record's frame",
        ));
    }
    let body = RecordBody::decode(record.body())
        .map_err(|err| Invalid::new(&at, Rule::Record, err.to_string()))?;
    let offset = e
        .get("eventTimeZoneOffset")
        .and_then(Value::as_str)
        .unwrap_or("");
    let profile = Profile::of_document(doc.json(), offset).ok_or_else(|| {
        Invalid::new("agt:base", Rule::Record, "an event carries a record, but the document declares no agt:base and agt namespace to read it with")
    })?;
    let projection = project(&body, &profile);
    let want = event_hash(&projection, doc.namespaces(), CbvVersion::V2_1, path)?;
    // The hash leaves certificationInfo out; the certificate is part of the record.
    let certificate = |e: &Value| e.get("certificationInfo").filter(|v| !v.is_null()).cloned();
    if certificate(event) != certificate(&projection) {
        return Err(Invalid::new(
            format!("{path}.certificationInfo"),
            Rule::Record,
            format!(
                "the event's certificationInfo disagrees with its carried record {}",
                record.id()
            ),
        ));
    }
    let mut stripped = event.clone();
    if let Value::Object(m) = &mut stripped {
        m.remove(RECORD_KEY);
    }
    let got = event_hash(&stripped, doc.namespaces(), CbvVersion::V2_1, path)?;
    if want != got {
        return Err(Invalid::new(
            path,
            Rule::Record,
            format!(
                "the event disagrees with its carried record {} (the record's projection hashes to {want}, the event to {got})",
                record.id()
            ),
        ));
    }
    Ok((record, body))
}

type Tip<'a> = dyn FnMut(&SubjectId) -> Result<Option<RecordId>, ImportError> + 'a;

fn agt<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(&format!("{AGT}:{key}"))
}

fn need<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a Value, Invalid> {
    agt(m, key).ok_or_else(|| {
        Invalid::new(
            format!("{path}.{AGT}:{key}"),
            Rule::Agritrace,
            format!("agritrace needs {AGT}:{key} for this event"),
        )
    })
}

fn text(v: &Value, path: &str) -> Result<Text, Invalid> {
    let s = v
        .as_str()
        .ok_or_else(|| Invalid::new(path, Rule::Agritrace, "must be text"))?;
    Text::new(s).map_err(|e| Invalid::new(path, Rule::Agritrace, format!("{s:?}: {e}")))
}

fn int<T: TryFrom<u64>>(v: &Value, path: &str) -> Result<T, Invalid> {
    v.as_u64().and_then(|n| T::try_from(n).ok()).ok_or_else(|| {
        Invalid::new(
            path,
            Rule::Agritrace,
            format!("{v} is not a whole number in range"),
        )
    })
}

fn named<T: serde::de::DeserializeOwned>(v: &Value, path: &str) -> Result<T, Invalid> {
    serde_json::from_value(v.clone())
        .map_err(|e| Invalid::new(path, Rule::Agritrace, format!("{v}: {e}")))
}

fn str_at<'a>(e: &'a Map<String, Value>, ptr: &str) -> Option<&'a str> {
    let mut v = e.get(ptr.split('/').next()?)?;
    for part in ptr.split('/').skip(1) {
        v = match part.parse::<usize>() {
            Ok(i) => v.get(i)?,
            Err(_) => v.get(part)?,
        };
    }
    v.as_str()
}

/// A list entry of `type` `kind` (`sourceList`, `destinationList`), its URI.
fn party<'a>(e: &'a Map<String, Value>, list: &str, item: &str, kinds: &[&str]) -> Option<&'a str> {
    e.get(list)?.as_array()?.iter().find_map(|x| {
        let t = x.get("type")?.as_str()?;
        kinds
            .iter()
            .any(|k| t == *k || t.ends_with(&format!("SDT-{k}")))
            .then(|| x.get(item)?.as_str())?
    })
}

/// The one subject of an event, from the lists where its type keeps it.
fn subject<'a>(
    e: &'a Map<String, Value>,
    lists: &[&str],
    path: &str,
) -> Result<(SubjectId, Option<&'a Value>), Invalid> {
    let mut found = Vec::new();
    for list in lists {
        for (i, item) in e
            .get(*list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (uri, qty) = match item {
                Value::String(s) => (s.as_str(), None),
                Value::Object(q) => (
                    q.get("epcClass").and_then(Value::as_str).unwrap_or(""),
                    Some(item),
                ),
                _ => ("", None),
            };
            let here = format!("{path}.{list}[{i}]");
            let id = subject_of_uri(uri).map_err(|m| Invalid::new(&here, Rule::Agritrace, m))?;
            found.push((id, qty, here));
        }
    }
    match found.len() {
        1 => {
            let (id, q, _) = found.remove(0);
            Ok((id, q))
        }
        0 => Err(Invalid::new(
            path,
            Rule::Agritrace,
            format!("names no subject in {}", lists.join(" or ")),
        )),
        _ => Err(Invalid::new(
            &found[1].2,
            Rule::Agritrace,
            "agritrace records one subject per event: split the event, one per animal or lot",
        )),
    }
}

fn grams_of(q: Option<&Value>, path: &str) -> Result<u64, Invalid> {
    let q = q.ok_or_else(|| Invalid::new(path, Rule::Agritrace, "needs a quantity in grams"))?;
    if q.get("uom").and_then(Value::as_str) != Some("GRM") {
        return Err(Invalid::new(
            format!("{path}.uom"),
            Rule::Agritrace,
            "agritrace takes quantities in grams: uom GRM",
        ));
    }
    int(
        q.get("quantity").unwrap_or(&Value::Null),
        &format!("{path}.quantity"),
    )
}

fn step_word(e: &Map<String, Value>) -> &str {
    let s = e.get("bizStep").and_then(Value::as_str).unwrap_or("");
    s.rsplit_once("/bizstep/")
        .map(|(_, w)| w)
        .or_else(|| s.strip_prefix("https://ref.gs1.org/cbv/BizStep-"))
        .unwrap_or(s)
}

/// A plain event being mapped: its fields, where it is, when, and what it does.
struct Plain<'a> {
    e: &'a Map<String, Value>,
    path: &'a str,
    time: Timestamp,
    action: &'a str,
    step: &'a str,
}

impl Plain<'_> {
    fn at(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }

    fn refuse(&self, field: &str, message: impl Into<String>) -> Invalid {
        Invalid::new(
            if field.is_empty() {
                self.path.to_owned()
            } else {
                self.at(field)
            },
            Rule::Agritrace,
            message,
        )
    }

    /// An `agt:` field the mapping needs, as text.
    fn agt_text(&self, key: &str) -> Result<Text, Invalid> {
        text(
            need(self.e, key, self.path)?,
            &self.at(&format!("{AGT}:{key}")),
        )
    }

    fn agt_int<T: TryFrom<u64>>(&self, key: &str) -> Result<T, Invalid> {
        int(
            need(self.e, key, self.path)?,
            &self.at(&format!("{AGT}:{key}")),
        )
    }

    /// A name from a URI (`…/<kind>/<name>`, or the URI itself) as text.
    fn name(&self, uri: &str, kind: &str, field: &str) -> Result<Text, Invalid> {
        text(&Value::String(name_of_uri(uri, kind)), &self.at(field))
    }

    fn ilmd(&self) -> Map<String, Value> {
        self.e
            .get("ilmd")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The site of `readPoint` or `bizLocation`.
    fn site(&self, field: &str) -> Option<String> {
        str_at(self.e, &format!("{field}/id")).map(|u| name_of_uri(u, "loc"))
    }

    /// The first sensor report of measurement type `ty`, with its element.
    fn report(&self, ty: &str) -> Option<(&Value, &Value)> {
        let elements = self.e.get("sensorElementList").and_then(Value::as_array)?;
        elements.iter().find_map(|el| {
            let r = el.get("sensorReport")?.as_array()?.iter().find(|r| {
                r.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t == ty || t.strip_prefix("gs1:") == Some(ty))
            })?;
            Some((el, r))
        })
    }
}

/// The agritrace event a plain EPCIS event maps onto (docs/EPCIS.md §4).
fn plain(
    e: &Map<String, Value>,
    path: &str,
    tip: &mut Tip<'_>,
) -> Result<(SubjectId, Timestamp, Event), ImportError> {
    let time = e
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .map(|(t, _)| t)
        .ok_or_else(|| {
            Invalid::new(
                format!("{path}.eventTime"),
                Rule::DateTime,
                "missing or not a date-time",
            )
        })?;
    let cx = Plain {
        e,
        path,
        time,
        action: e.get("action").and_then(Value::as_str).unwrap_or(""),
        step: step_word(e),
    };
    let mut parent = |field: String, uri: &str| -> Result<LineageRef, ImportError> {
        let s = subject_of_uri(uri).map_err(|m| Invalid::new(&field, Rule::Agritrace, m))?;
        let record = tip(&s)?.ok_or_else(|| {
            Invalid::new(
                &field,
                Rule::Agritrace,
                format!("{s} has no records here to link to; import its history first"),
            )
        })?;
        Ok(LineageRef { subject: s, record })
    };
    let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
    let (s, ev) = match kind {
        "AssociationEvent" => {
            let (s, _) = subject(e, &["childEPCs", "childQuantityList"], path)?;
            let device = match agt(e, "device") {
                Some(v) => text(v, &cx.at("agt:device"))?,
                None => cx.name(str_at(e, "parentID").unwrap_or(""), "device", "parentID")?,
            };
            let ev = match cx.action {
                "ADD" => Event::DeviceAttached {
                    device,
                    kind: named::<DeviceKind>(
                        need(e, "deviceKind", path)?,
                        &cx.at("agt:deviceKind"),
                    )?,
                },
                "DELETE" => Event::DeviceDetached { device },
                other => {
                    return Err(cx
                        .refuse(
                            "action",
                            format!("an association {other} has no agritrace event"),
                        )
                        .into());
                }
            };
            (s, ev)
        }
        "AggregationEvent" => {
            let (s, _) = subject(e, &["childEPCs", "childQuantityList"], path)?;
            let container = parent(cx.at("parentID"), str_at(e, "parentID").unwrap_or(""))?;
            let ev = match cx.action {
                "ADD" => Event::Aggregation { container },
                "DELETE" => Event::Disaggregation { container },
                other => {
                    return Err(cx
                        .refuse(
                            "action",
                            format!("an aggregation {other} has no agritrace event"),
                        )
                        .into());
                }
            };
            (s, ev)
        }
        "TransformationEvent" => transformation(&cx, &mut parent)?,
        "ObjectEvent" => {
            let (s, q) = subject(e, &["epcList", "quantityList"], path)?;
            let ev = match sensor_event(&cx)? {
                Some(ev) => ev,
                None => match life_event(&cx, &s, q)? {
                    Some(ev) => ev,
                    None => trade_event(&cx)?,
                },
            };
            (s, ev)
        }
        other => {
            return Err(cx
                .refuse("type", format!("a {other} has no agritrace event"))
                .into());
        }
    };
    Ok((s, time, ev))
}

/// A transformation: each input is linked at its chain's tip (EPCIS links objects, not
/// records).
fn transformation(
    cx: &Plain<'_>,
    parent: &mut dyn FnMut(String, &str) -> Result<LineageRef, ImportError>,
) -> Result<(SubjectId, Event), ImportError> {
    let (e, path) = (cx.e, cx.path);
    let (s, q) = subject(e, &["outputEPCList", "outputQuantityList"], path)?;
    let mut parents = Vec::new();
    for (i, v) in e
        .get("inputEPCList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        parents.push(parent(
            cx.at(&format!("inputEPCList[{i}]")),
            v.as_str().unwrap_or(""),
        )?);
    }
    for (i, v) in e
        .get("inputQuantityList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let uri = v.get("epcClass").and_then(Value::as_str).unwrap_or("");
        parents.push(parent(cx.at(&format!("inputQuantityList[{i}]")), uri)?);
    }
    if parents.is_empty() || parents.len() > agritrace::MAX_PARENTS {
        let n = parents.len();
        return Err(cx
            .refuse(
                "",
                format!(
                    "a transformation needs 1 to {} inputs, not {n}",
                    agritrace::MAX_PARENTS
                ),
            )
            .into());
    }
    let ilmd = cx.ilmd();
    let product = text(
        need(&ilmd, "product", &cx.at("ilmd"))?,
        &cx.at("ilmd.agt:product"),
    )?;
    let grams = grams_of(q, &cx.at("outputQuantityList[0]"))?;
    Ok((
        s,
        Event::Transformation {
            parents,
            product,
            grams,
        },
    ))
}

/// A weighing (`Mass`) or a day's steps (`Count`).
fn sensor_event(cx: &Plain<'_>) -> Result<Option<Event>, Invalid> {
    let value = "sensorElementList.sensorReport.value";
    if let Some((_, r)) = cx.report("Mass") {
        if r.get("uom").and_then(Value::as_str) != Some("GRM") {
            return Err(cx.refuse(
                "sensorElementList",
                "agritrace takes Mass in grams: uom GRM",
            ));
        }
        return Ok(Some(Event::Weighing {
            grams: int(r.get("value").unwrap_or(&Value::Null), &cx.at(value))?,
        }));
    }
    let Some((el, r)) = cx.report("Count") else {
        return Ok(None);
    };
    let start = str_at(cx.e, "sensorElementList/0/sensorMetadata/startTime")
        .and_then(parse_time)
        .map_or(cx.time, |(t, _)| t);
    let device_field = "sensorElementList.sensorMetadata.deviceID";
    let device = if let Some(v) = agt(cx.e, "device") {
        text(v, &cx.at("agt:device"))?
    } else {
        let uri = el
            .get("sensorMetadata")
            .and_then(|m| m.get("deviceID"))
            .and_then(Value::as_str);
        let uri = uri
            .ok_or_else(|| cx.refuse(device_field, "a step count needs the device that counted"))?;
        cx.name(uri, "device", device_field)?
    };
    let steps = int(r.get("value").unwrap_or(&Value::Null), &cx.at(value))?;
    Ok(Some(Event::DailyActivity {
        day: start.day(),
        steps,
        device,
    }))
}

/// Registration, harvest, inspection, moves and custody; `None` for other steps.
fn life_event(cx: &Plain<'_>, s: &SubjectId, q: Option<&Value>) -> Result<Option<Event>, Invalid> {
    let e = cx.e;
    let ev = match (cx.step, cx.action) {
        ("commissioning", "ADD") if matches!(s, SubjectId::Lot(_)) => {
            let site = cx.site("bizLocation").or_else(|| cx.site("readPoint"));
            let site = site.ok_or_else(|| cx.refuse("bizLocation", "a harvest needs its site"))?;
            let ilmd = cx.ilmd();
            Event::Harvest {
                crop: text(
                    need(&ilmd, "crop", &cx.at("ilmd"))?,
                    &cx.at("ilmd.agt:crop"),
                )?,
                site: text(&Value::String(site), &cx.at("bizLocation"))?,
                grams: grams_of(q, &cx.at("quantityList[0]"))?,
            }
        }
        ("commissioning", "ADD") => Event::Registration(Box::new(registration(cx)?)),
        ("inspecting", _) => {
            let result = match agt(e, "result") {
                Some(v) => named::<InspectionResult>(v, &cx.at("agt:result"))?,
                None => match e.get("disposition").and_then(Value::as_str) {
                    Some("conformant") => InspectionResult::Pass,
                    Some("non_conformant") => InspectionResult::Fail,
                    _ => InspectionResult::Pending,
                },
            };
            let kind = agt(e, "inspectionKind")
                .map(|v| named::<InspectionKind>(v, &cx.at("agt:inspectionKind")));
            let certificate = match (
                agt(e, "certificate"),
                e.get("certificationInfo").and_then(Value::as_str),
            ) {
                (Some(v), _) => Some(text(v, &cx.at("agt:certificate"))?),
                (None, Some(uri)) => Some(cx.name(uri, "cert", "certificationInfo")?),
                (None, None) => None,
            };
            Event::Inspection {
                kind: kind.transpose()?.unwrap_or(InspectionKind::Inspection),
                result,
                certificate,
            }
        }
        ("transporting" | "shipping" | "departing" | "arriving", _) => {
            let from = party(e, "sourceList", "source", &["location"])
                .map(|u| name_of_uri(u, "loc"))
                .or_else(|| cx.site("readPoint"));
            let to = party(e, "destinationList", "destination", &["location"])
                .map(|u| name_of_uri(u, "loc"))
                .or_else(|| cx.site("bizLocation"));
            let (Some(from), Some(to)) = (from, to) else {
                return Err(cx.refuse(
                    "sourceList",
                    "a move needs where from and where to (source and destination locations)",
                ));
            };
            Event::Move {
                from_site: text(&Value::String(from), &cx.at("sourceList"))?,
                to_site: text(&Value::String(to), &cx.at("destinationList"))?,
            }
        }
        ("accepting" | "receiving", _) => {
            let to = party(
                e,
                "destinationList",
                "destination",
                &["possessing_party", "owning_party"],
            );
            let to = to.ok_or_else(|| {
                cx.refuse(
                    "destinationList",
                    "a custody transfer needs the receiving party",
                )
            })?;
            Event::CustodyTransfer {
                to_party: cx.name(to, "party", "destinationList")?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(ev))
}

fn registration(cx: &Plain<'_>) -> Result<Registration, Invalid> {
    let ilmd = cx.ilmd();
    let p = cx.at("ilmd");
    let field = |k: &str| need(&ilmd, k, &p);
    let here = |k: &str| format!("{p}.{AGT}:{k}");
    let animal = |k: &str| -> Result<Option<SubjectId>, Invalid> {
        agt(&ilmd, k)
            .and_then(Value::as_str)
            .map(|u| subject_of_uri(u).map_err(|m| Invalid::new(here(k), Rule::Agritrace, m)))
            .transpose()
    };
    Ok(Registration {
        species: named::<Species>(field("species")?, &here("species"))?,
        breed: text(field("breed")?, &here("breed"))?,
        sex: named::<Sex>(field("sex")?, &here("sex"))?,
        birth_date: named(field("birthDate")?, &here("birthDate"))?,
        origin_site: text(field("originSite")?, &here("originSite"))?,
        dam: animal("dam")?,
        sire: animal("sire")?,
    })
}

/// Sale, recall, end of chain, and agritrace's own steps (feeding, treating, slaughtering).
fn trade_event(cx: &Plain<'_>) -> Result<Event, Invalid> {
    let e = cx.e;
    Ok(match (cx.step, cx.action) {
        ("retail_selling", "OBSERVE") => {
            let buyer = party(
                e,
                "destinationList",
                "destination",
                &["owning_party", "possessing_party"],
            );
            let buyer =
                buyer.ok_or_else(|| cx.refuse("destinationList", "a sale needs the buyer"))?;
            Event::Sale {
                buyer: cx.name(buyer, "party", "destinationList")?,
                price_fen: cx.agt_int("priceFen")?,
            }
        }
        ("holding" | "recalling" | "releasing", _) => {
            let kind = match cx.step {
                "holding" => RecallKind::Hold,
                "releasing" => RecallKind::Release,
                _ => RecallKind::Recall,
            };
            Event::Recall {
                kind,
                reason: cx.agt_text("reason")?,
            }
        }
        ("decommissioning" | "destroying" | "retail_selling", "DELETE") => {
            let reason = match agt(e, "endReason") {
                Some(v) => named::<EndReason>(v, &cx.at("agt:endReason"))?,
                None if cx.step == "destroying" => EndReason::Died,
                None if cx.step == "retail_selling" => EndReason::Consumed,
                None => EndReason::Slaughtered,
            };
            Event::EndOfChain { reason }
        }
        ("feeding", _) => Event::Feeding {
            feed: cx.agt_text("feed")?,
            grams: cx.agt_int("feedGrams")?,
        },
        ("vaccinating" | "treating", _) => Event::Treatment {
            kind: if cx.step == "vaccinating" {
                TreatmentKind::Vaccination
            } else {
                TreatmentKind::Medication
            },
            product: cx.agt_text("product")?,
            withdrawal_days: cx.agt_int("withdrawalDays")?,
        },
        ("slaughtering", _) => Event::Slaughter {
            carcass_grams: cx.agt_int("carcassGrams")?,
        },
        _ => {
            let step = e.get("bizStep").and_then(Value::as_str).unwrap_or("(none)");
            let kind = e.get("type").and_then(Value::as_str).unwrap_or("event");
            return Err(cx.refuse(
                "bizStep",
                format!(
                    "a {kind} with bizStep {step:?} and action {:?} maps onto no agritrace event",
                    cx.action
                ),
            ));
        }
    })
}
