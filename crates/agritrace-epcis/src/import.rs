//! Reading a partner's EPCIS document into agritrace records, all or nothing: events that
//! carry a signed record (`agt:record`) are checked against it and admitted as they are;
//! plain events that map onto an agritrace event are signed by the importing key; anything
//! else is refused, naming the event and the field.

use std::collections::HashMap;

use agritrace::{
    Chain, DeviceKind, EndReason, Event, InspectionKind, InspectionResult, LineageRef, RecallKind,
    RecordBody, RecordId, Registration, Sex, SignedRecord, Signer, Species, Store, StoreError,
    SubjectId, Text, Timestamp, TreatmentKind,
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
    /// Events whose carried record was already stored (skipped).
    pub already_stored: usize,
    /// Events that carried their own signed record.
    pub carried: usize,
    /// Plain events signed by the importing key: event index, the source event's CBV 2.0
    /// hash, and the record made from it.
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
    for (i, event) in doc.events().iter().enumerate() {
        let path = Document::event_path(i);
        let e = event
            .as_object()
            .ok_or_else(|| Invalid::new(&path, Rule::Shape, "not an object"))?;
        check_precision(e, &path)?;
        if e.contains_key(RECORD_KEY) {
            let record = carried(doc, e, event, &path)?;
            out.carried += 1;
            if store
                .get(&record.id())
                .map_err(|source| ImportError::Store { event: i, source })?
                .is_some()
            {
                out.already_stored += 1;
                continue;
            }
            let body = RecordBody::decode(record.body())
                .map_err(|err| Invalid::new(&path, Rule::Record, err.to_string()))?;
            let ended = matches!(body.event(), Event::EndOfChain { .. });
            let tip = agritrace::ChainTip::new(body.seq(), record.id(), body.time(), ended);
            chains.insert(
                body.subject().clone(),
                Chain::continue_from(body.subject().clone(), Some(tip)),
            );
            records.push(record);
        } else {
            let hash = event_hash(event, doc.namespaces(), CbvVersion::V2_0, &path)?;
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
                .append(signer, time, ev)
                .map_err(|err| Invalid::new(&path, Rule::Agritrace, err.to_string()))?;
            out.signed.push((i, hash, record.id()));
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

/// agritrace stores milliseconds: a time with more digits is refused, not rounded.
fn check_precision(e: &Map<String, Value>, path: &str) -> Result<(), Invalid> {
    for key in ["eventTime", "recordTime"] {
        if let Some(s) = e.get(key).and_then(Value::as_str) {
            if parse_time(s).is_some_and(|(_, digits)| digits > 3) {
                return Err(Invalid::new(
                    format!("{path}.{key}"),
                    Rule::Precision,
                    format!(
                        "{s} has more than millisecond precision; agritrace stores milliseconds and does not round"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The carried record of an event, checked: it decodes, and the event is its projection
/// (the same CBV hash, under the document's own profile and the event's offset).
fn carried(
    doc: &Document,
    e: &Map<String, Value>,
    event: &Value,
    path: &str,
) -> Result<SignedRecord, Invalid> {
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
    let want = event_hash(
        &project(&body, &profile),
        doc.namespaces(),
        CbvVersion::V2_1,
        path,
    )?;
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
    Ok(record)
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

/// The agritrace event a plain EPCIS event maps onto (docs/EPCIS.md, "Import").
fn plain(
    e: &Map<String, Value>,
    path: &str,
    tip: &mut Tip<'_>,
) -> Result<(SubjectId, Timestamp, Event), ImportError> {
    let at = |f: &str| format!("{path}.{f}");
    let time = e
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .map(|(t, _)| t)
        .ok_or_else(|| {
            Invalid::new(
                at("eventTime"),
                Rule::DateTime,
                "missing or not a date-time",
            )
        })?;
    let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
    let action = e.get("action").and_then(Value::as_str).unwrap_or("");
    let step = step_word(e);
    let mut parent = |uri_path: &str, uri: &str| -> Result<LineageRef, ImportError> {
        let s = subject_of_uri(uri).map_err(|m| Invalid::new(uri_path, Rule::Agritrace, m))?;
        let record = tip(&s)?.ok_or_else(|| {
            Invalid::new(
                uri_path,
                Rule::Agritrace,
                format!("{s} has no records here to link to; import its history first"),
            )
        })?;
        Ok(LineageRef { subject: s, record })
    };
    match kind {
        "AssociationEvent" => {
            let (s, _) = subject(e, &["childEPCs", "childQuantityList"], path)?;
            let device = match agt(e, "device") {
                Some(v) => text(v, &at("agt:device"))?,
                None => text(
                    &Value::String(name_of_uri(str_at(e, "parentID").unwrap_or(""), "device")),
                    &at("parentID"),
                )?,
            };
            let ev = match action {
                "ADD" => Event::DeviceAttached {
                    device,
                    kind: named::<DeviceKind>(need(e, "deviceKind", path)?, &at("agt:deviceKind"))?,
                },
                "DELETE" => Event::DeviceDetached { device },
                other => {
                    return Err(Invalid::new(
                        at("action"),
                        Rule::Agritrace,
                        format!("an association {other} has no agritrace event"),
                    )
                    .into());
                }
            };
            return Ok((s, time, ev));
        }
        "AggregationEvent" => {
            let (s, _) = subject(e, &["childEPCs", "childQuantityList"], path)?;
            let container = parent(&at("parentID"), str_at(e, "parentID").unwrap_or(""))?;
            let ev = match action {
                "ADD" => Event::Aggregation { container },
                "DELETE" => Event::Disaggregation { container },
                other => {
                    return Err(Invalid::new(
                        at("action"),
                        Rule::Agritrace,
                        format!("an aggregation {other} has no agritrace event"),
                    )
                    .into());
                }
            };
            return Ok((s, time, ev));
        }
        "TransformationEvent" => {
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
                    &at(&format!("inputEPCList[{i}]")),
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
                parents.push(parent(
                    &at(&format!("inputQuantityList[{i}]")),
                    v.get("epcClass").and_then(Value::as_str).unwrap_or(""),
                )?);
            }
            if parents.is_empty() || parents.len() > agritrace::MAX_PARENTS {
                return Err(Invalid::new(
                    path,
                    Rule::Agritrace,
                    format!(
                        "a transformation needs 1 to {} inputs, not {}",
                        agritrace::MAX_PARENTS,
                        parents.len()
                    ),
                )
                .into());
            }
            let ilmd = e
                .get("ilmd")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let product = text(
                need(&ilmd, "product", &at("ilmd"))?,
                &at("ilmd.agt:product"),
            )?;
            let grams = grams_of(q, &at("outputQuantityList[0]"))?;
            return Ok((
                s,
                time,
                Event::Transformation {
                    parents,
                    product,
                    grams,
                },
            ));
        }
        "ObjectEvent" => {}
        other => {
            return Err(Invalid::new(
                at("type"),
                Rule::Agritrace,
                format!("a {other} has no agritrace event"),
            )
            .into());
        }
    }
    let (s, q) = subject(e, &["epcList", "quantityList"], path)?;
    let report = |ty: &str| {
        e.get("sensorElementList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|el| {
                let r = el.get("sensorReport")?.as_array()?.iter().find(|r| {
                    r.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t == ty || t == format!("gs1:{ty}"))
                })?;
                Some((el, r))
            })
    };
    let site =
        |f: &str| str_at(e, &format!("{f}/id")).map(|u| Value::String(name_of_uri(u, "loc")));
    let ev = if let Some((_, r)) = report("Mass") {
        if r.get("uom").and_then(Value::as_str) != Some("GRM") {
            return Err(Invalid::new(
                at("sensorElementList"),
                Rule::Agritrace,
                "agritrace takes Mass in grams: uom GRM",
            )
            .into());
        }
        Event::Weighing {
            grams: int(
                r.get("value").unwrap_or(&Value::Null),
                &at("sensorElementList.sensorReport.value"),
            )?,
        }
    } else if let Some((el, r)) = report("Count") {
        let start = str_at(e, "sensorElementList/0/sensorMetadata/startTime")
            .and_then(parse_time)
            .map_or(time, |(t, _)| t);
        let device = match agt(e, "device") {
            Some(v) => text(v, &at("agt:device"))?,
            None => {
                let uri = el
                    .get("sensorMetadata")
                    .and_then(|m| m.get("deviceID"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Invalid::new(
                            at("sensorElementList.sensorMetadata.deviceID"),
                            Rule::Agritrace,
                            "a step count needs the device that counted",
                        )
                    })?;
                text(
                    &Value::String(name_of_uri(uri, "device")),
                    &at("sensorElementList.sensorMetadata.deviceID"),
                )?
            }
        };
        Event::DailyActivity {
            day: start.day(),
            steps: int(
                r.get("value").unwrap_or(&Value::Null),
                &at("sensorElementList.sensorReport.value"),
            )?,
            device,
        }
    } else {
        match (step, action) {
            ("commissioning", "ADD") if matches!(s, SubjectId::Lot(_)) => {
                let ilmd = e
                    .get("ilmd")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let site = site("bizLocation")
                    .or_else(|| site("readPoint"))
                    .ok_or_else(|| {
                        Invalid::new(
                            at("bizLocation"),
                            Rule::Agritrace,
                            "a harvest needs its site",
                        )
                    })?;
                Event::Harvest {
                    crop: text(need(&ilmd, "crop", &at("ilmd"))?, &at("ilmd.agt:crop"))?,
                    site: text(&site, &at("bizLocation"))?,
                    grams: grams_of(q, &at("quantityList[0]"))?,
                }
            }
            ("commissioning", "ADD") => {
                let ilmd = e
                    .get("ilmd")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let p = at("ilmd");
                let animal = |k: &str| -> Result<Option<SubjectId>, Invalid> {
                    agt(&ilmd, k)
                        .and_then(Value::as_str)
                        .map(|u| {
                            subject_of_uri(u).map_err(|m| {
                                Invalid::new(format!("{p}.agt:{k}"), Rule::Agritrace, m)
                            })
                        })
                        .transpose()
                };
                Event::Registration(Box::new(Registration {
                    species: named::<Species>(
                        need(&ilmd, "species", &p)?,
                        &format!("{p}.agt:species"),
                    )?,
                    breed: text(need(&ilmd, "breed", &p)?, &format!("{p}.agt:breed"))?,
                    sex: named::<Sex>(need(&ilmd, "sex", &p)?, &format!("{p}.agt:sex"))?,
                    birth_date: named(
                        need(&ilmd, "birthDate", &p)?,
                        &format!("{p}.agt:birthDate"),
                    )?,
                    origin_site: text(
                        need(&ilmd, "originSite", &p)?,
                        &format!("{p}.agt:originSite"),
                    )?,
                    dam: animal("dam")?,
                    sire: animal("sire")?,
                }))
            }
            ("inspecting", _) => {
                let result = match agt(e, "result") {
                    Some(v) => named::<InspectionResult>(v, &at("agt:result"))?,
                    None => match e.get("disposition").and_then(Value::as_str) {
                        Some("conformant") => InspectionResult::Pass,
                        Some("non_conformant") => InspectionResult::Fail,
                        _ => InspectionResult::Pending,
                    },
                };
                let kind = agt(e, "inspectionKind")
                    .map(|v| named::<InspectionKind>(v, &at("agt:inspectionKind")))
                    .transpose()?
                    .unwrap_or(InspectionKind::Inspection);
                let certificate = match (
                    agt(e, "certificate"),
                    e.get("certificationInfo").and_then(Value::as_str),
                ) {
                    (Some(v), _) => Some(text(v, &at("agt:certificate"))?),
                    (None, Some(uri)) => Some(text(
                        &Value::String(name_of_uri(uri, "cert")),
                        &at("certificationInfo"),
                    )?),
                    (None, None) => None,
                };
                Event::Inspection {
                    kind,
                    result,
                    certificate,
                }
            }
            ("transporting" | "shipping" | "departing" | "arriving", _) => {
                let from = party(e, "sourceList", "source", &["location"])
                    .map(|u| Value::String(name_of_uri(u, "loc")))
                    .or_else(|| site("readPoint"));
                let to = party(e, "destinationList", "destination", &["location"])
                    .map(|u| Value::String(name_of_uri(u, "loc")))
                    .or_else(|| site("bizLocation"));
                let (Some(from), Some(to)) = (from, to) else {
                    return Err(Invalid::new(
                        at("sourceList"),
                        Rule::Agritrace,
                        "a move needs where from and where to (source and destination locations)",
                    )
                    .into());
                };
                Event::Move {
                    from_site: text(&from, &at("sourceList"))?,
                    to_site: text(&to, &at("destinationList"))?,
                }
            }
            ("accepting" | "receiving", _) => {
                let to = party(
                    e,
                    "destinationList",
                    "destination",
                    &["possessing_party", "owning_party"],
                )
                .ok_or_else(|| {
                    Invalid::new(
                        at("destinationList"),
                        Rule::Agritrace,
                        "a custody transfer needs the receiving party",
                    )
                })?;
                Event::CustodyTransfer {
                    to_party: text(
                        &Value::String(name_of_uri(to, "party")),
                        &at("destinationList"),
                    )?,
                }
            }
            ("retail_selling", "OBSERVE") => {
                let buyer = party(
                    e,
                    "destinationList",
                    "destination",
                    &["owning_party", "possessing_party"],
                )
                .ok_or_else(|| {
                    Invalid::new(
                        at("destinationList"),
                        Rule::Agritrace,
                        "a sale needs the buyer",
                    )
                })?;
                Event::Sale {
                    buyer: text(
                        &Value::String(name_of_uri(buyer, "party")),
                        &at("destinationList"),
                    )?,
                    price_fen: int(need(e, "priceFen", path)?, &at("agt:priceFen"))?,
                }
            }
            ("holding" | "recalling" | "releasing", _) => {
                let kind = match step {
                    "holding" => RecallKind::Hold,
                    "releasing" => RecallKind::Release,
                    _ => RecallKind::Recall,
                };
                Event::Recall {
                    kind,
                    reason: text(need(e, "reason", path)?, &at("agt:reason"))?,
                }
            }
            ("decommissioning" | "destroying" | "retail_selling", "DELETE") => {
                let reason = match agt(e, "endReason") {
                    Some(v) => named::<EndReason>(v, &at("agt:endReason"))?,
                    None if step == "destroying" => EndReason::Died,
                    None if step == "retail_selling" => EndReason::Consumed,
                    None => EndReason::Slaughtered,
                };
                Event::EndOfChain { reason }
            }
            ("feeding", _) => Event::Feeding {
                feed: text(need(e, "feed", path)?, &at("agt:feed"))?,
                grams: int(need(e, "feedGrams", path)?, &at("agt:feedGrams"))?,
            },
            ("vaccinating" | "treating", _) => Event::Treatment {
                kind: if step == "vaccinating" {
                    TreatmentKind::Vaccination
                } else {
                    TreatmentKind::Medication
                },
                product: text(need(e, "product", path)?, &at("agt:product"))?,
                withdrawal_days: int(need(e, "withdrawalDays", path)?, &at("agt:withdrawalDays"))?,
            },
            ("slaughtering", _) => Event::Slaughter {
                carcass_grams: int(need(e, "carcassGrams", path)?, &at("agt:carcassGrams"))?,
            },
            _ => {
                return Err(Invalid::new(
                    at("bizStep"),
                    Rule::Agritrace,
                    format!("a {kind} with bizStep {:?} and action {action:?} maps onto no agritrace event", e.get("bizStep").and_then(Value::as_str).unwrap_or("(none)")),
                )
                .into());
            }
        }
    };
    Ok((s, time, ev))
}
