//! agritrace records as EPCIS 2.0 events (the mapping in docs/EPCIS.md), and a streaming
//! writer for whole documents: constant memory, one event at a time.

use std::io::{self, Write};

use agritrace::{
    EndReason, Event, InspectionResult, LineageRef, RecallKind, RecordBody, SignedRecord,
    SubjectId, Timestamp, TreatmentKind,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::uri::{name_uri, subject_uri};
use crate::vocab::EPCIS_CONTEXT_URL;

/// The prefix agritrace's own terms use in a document (`agt:breed`, `agt:record`, …).
pub const AGT: &str = "agt";

/// The document-level key holding the operator's base URI, so an importer can rebuild
/// each event's projection.
pub const BASE_KEY: &str = "agt:base";

/// The extension carrying each event's signed record: base64 of its frame (FORMAT.md §8:
/// `u32` body length, body, signature).
pub const RECORD_KEY: &str = "agt:record";

/// How an operator's records appear in EPCIS: its HTTPS base for identifiers and names,
/// the namespace of its `agt:` terms, and the time zone offset written with each event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    base: String,
    namespace: String,
    offset: String,
}

impl Profile {
    /// A profile under `base` (an `https://` URL the operator controls, without a trailing
    /// `/`): animals `<base>/eartag/…` (the trace page), sites `<base>/loc/…`, parties `<base>/party/…`,
    /// devices `<base>/device/…`, custom business steps `<base>/bizstep/…`, and `agt:` =
    /// `<base>/ns/agritrace/v1/`. Events carry `eventTimeZoneOffset` `offset` (`+08:00`).
    ///
    /// # Errors
    /// A base that is not `https://` (or `http://`) with a host, or an offset that is not
    /// `±HH:MM`.
    pub fn new(base: &str, offset: &str) -> Result<Self, String> {
        let base = base.trim_end_matches('/');
        let host = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        if !host.is_some_and(|h| !h.is_empty() && crate::validate::is_uri(base)) {
            return Err(format!("the base {base:?} must be an https:// URL"));
        }
        if !crate::validate::is_offset(offset) {
            return Err(format!(
                "the time zone offset {offset:?} must be like +08:00"
            ));
        }
        Ok(Self {
            namespace: format!("{base}/ns/agritrace/v1/"),
            base: base.to_owned(),
            offset: offset.to_owned(),
        })
    }

    /// The base URI.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The `agt:` namespace IRI.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The time zone offset.
    pub fn offset(&self) -> &str {
        &self.offset
    }

    /// The profile a document declares: `agt:base` at document level and the `agt` prefix
    /// in its `@context`; `offset` is the event's own.
    pub(crate) fn of_document(doc: &Value, offset: &str) -> Option<Self> {
        let base = doc.get(BASE_KEY)?.as_str()?;
        let mut p = Self::new(base, offset).ok()?;
        let ns = crate::hash::Namespaces::from_context(doc.get("@context")?);
        p.namespace = ns.declared(AGT)?.to_owned();
        Some(p)
    }

    fn uri(&self, s: &SubjectId) -> String {
        subject_uri(&self.base, s)
    }

    fn name(&self, kind: &str, name: &str) -> String {
        name_uri(&self.base, kind, name)
    }

    fn step(&self, word: &str) -> String {
        format!("{}/bizstep/{word}", self.base)
    }
}

fn time(t: Timestamp) -> String {
    t.to_string()
}

/// The enum's name as the JSON event forms write it (`Female`, `Vaccination`, …).
fn name_of(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn is_animal(s: &SubjectId) -> bool {
    !matches!(s, SubjectId::Lot(_))
}

/// The EPCIS event for a record's body, without the carried record: what an importer
/// compares an event with.
pub fn project(body: &RecordBody, p: &Profile) -> Value {
    let subject = body.subject();
    let me = p.uri(subject);
    let mut e = Map::new();
    let put = |e: &mut Map<String, Value>, k: &str, v: Value| {
        e.insert(k.to_owned(), v);
    };
    let what = |e: &mut Map<String, Value>, list: &str, qlist: &str, grams: Option<u64>| {
        if is_animal(subject) {
            e.insert(list.to_owned(), json!([me]));
        } else {
            let mut q = json!({"epcClass": me});
            if let Some(g) = grams {
                q["quantity"] = json!(g);
                q["uom"] = json!("GRM");
            }
            e.insert(qlist.to_owned(), json!([q]));
        }
    };
    let kind = match body.event() {
        Event::DeviceAttached { .. } | Event::DeviceDetached { .. } => "AssociationEvent",
        Event::Transformation { .. } => "TransformationEvent",
        Event::Aggregation { .. } | Event::Disaggregation { .. } => "AggregationEvent",
        _ => "ObjectEvent",
    };
    put(&mut e, "type", json!(kind));
    put(&mut e, "eventTime", json!(time(body.time())));
    put(&mut e, "eventTimeZoneOffset", json!(p.offset));
    let agt = |k: &str| format!("{AGT}:{k}");
    match body.event() {
        Event::Registration(r) => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("ADD"));
            put(&mut e, "bizStep", json!("commissioning"));
            put(&mut e, "disposition", json!("active"));
            let site = p.name("loc", r.origin_site.as_str());
            put(&mut e, "readPoint", json!({"id": site}));
            put(&mut e, "bizLocation", json!({"id": site}));
            let mut ilmd = Map::new();
            ilmd.insert(agt("species"), name_of(r.species));
            ilmd.insert(agt("breed"), json!(r.breed.as_str()));
            ilmd.insert(agt("sex"), name_of(r.sex));
            ilmd.insert(agt("birthDate"), json!(r.birth_date.to_string()));
            ilmd.insert(agt("originSite"), json!(r.origin_site.as_str()));
            if let Some(d) = &r.dam {
                ilmd.insert(agt("dam"), json!(p.uri(d)));
            }
            if let Some(s) = &r.sire {
                ilmd.insert(agt("sire"), json!(p.uri(s)));
            }
            put(&mut e, "ilmd", Value::Object(ilmd));
        }
        Event::DeviceAttached { device, kind } => {
            put(&mut e, "parentID", json!(p.name("device", device.as_str())));
            what(&mut e, "childEPCs", "childQuantityList", None);
            put(&mut e, "action", json!("ADD"));
            put(&mut e, "bizStep", json!("installing"));
            put(&mut e, &agt("device"), json!(device.as_str()));
            put(&mut e, &agt("deviceKind"), name_of(kind));
        }
        Event::DeviceDetached { device } => {
            put(&mut e, "parentID", json!(p.name("device", device.as_str())));
            what(&mut e, "childEPCs", "childQuantityList", None);
            put(&mut e, "action", json!("DELETE"));
            put(&mut e, "bizStep", json!("removing"));
            put(&mut e, &agt("device"), json!(device.as_str()));
        }
        Event::Weighing { grams } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!("sensor_reporting"));
            put(
                &mut e,
                "sensorElementList",
                json!([{
                    "sensorMetadata": {"time": time(body.time())},
                    "sensorReport": [{"type": "Mass", "value": grams, "uom": "GRM"}]
                }]),
            );
        }
        Event::DailyActivity { day, steps, device } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!("sensor_reporting"));
            let start = Timestamp::at_start_of(*day);
            put(
                &mut e,
                "sensorElementList",
                json!([{
                    "sensorMetadata": {
                        "startTime": time(start),
                        "endTime": time(start.saturating_add_millis(86_400_000)),
                        "deviceID": p.name("device", device.as_str()),
                    },
                    "sensorReport": [{"type": "Count", "value": steps}]
                }]),
            );
            put(&mut e, &agt("device"), json!(device.as_str()));
        }
        Event::Feeding { feed, grams } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!(p.step("feeding")));
            put(&mut e, &agt("feed"), json!(feed.as_str()));
            put(&mut e, &agt("feedGrams"), json!(grams));
        }
        Event::Treatment {
            kind,
            product,
            withdrawal_days,
        } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            let step = if *kind == TreatmentKind::Vaccination {
                "vaccinating"
            } else {
                "treating"
            };
            put(&mut e, "bizStep", json!(p.step(step)));
            put(&mut e, &agt("treatmentKind"), name_of(kind));
            put(&mut e, &agt("product"), json!(product.as_str()));
            put(&mut e, &agt("withdrawalDays"), json!(withdrawal_days));
        }
        Event::Inspection {
            kind,
            result,
            certificate,
        } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!("inspecting"));
            match result {
                InspectionResult::Pass => put(&mut e, "disposition", json!("conformant")),
                InspectionResult::Fail => put(&mut e, "disposition", json!("non_conformant")),
                _ => {}
            }
            put(&mut e, &agt("inspectionKind"), name_of(kind));
            put(&mut e, &agt("result"), name_of(result));
            if let Some(c) = certificate {
                put(
                    &mut e,
                    "certificationInfo",
                    json!(p.name("cert", c.as_str())),
                );
                put(&mut e, &agt("certificate"), json!(c.as_str()));
            }
        }
        Event::Move { from_site, to_site } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!("transporting"));
            put(&mut e, "disposition", json!("in_transit"));
            put(
                &mut e,
                "readPoint",
                json!({"id": p.name("loc", from_site.as_str())}),
            );
            put(
                &mut e,
                "sourceList",
                json!([{"type": "location", "source": p.name("loc", from_site.as_str())}]),
            );
            put(
                &mut e,
                "destinationList",
                json!([{"type": "location", "destination": p.name("loc", to_site.as_str())}]),
            );
        }
        Event::CustodyTransfer { to_party } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!("accepting"));
            put(
                &mut e,
                "destinationList",
                json!([{"type": "possessing_party", "destination": p.name("party", to_party.as_str())}]),
            );
        }
        Event::Slaughter { carcass_grams } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!(p.step("slaughtering")));
            put(&mut e, &agt("carcassGrams"), json!(carcass_grams));
        }
        Event::Transformation {
            parents,
            product,
            grams,
        } => {
            let (animals, lots): (Vec<&LineageRef>, Vec<&LineageRef>) =
                parents.iter().partition(|r| is_animal(&r.subject));
            if !animals.is_empty() {
                put(
                    &mut e,
                    "inputEPCList",
                    json!(
                        animals
                            .iter()
                            .map(|r| p.uri(&r.subject))
                            .collect::<Vec<_>>()
                    ),
                );
            }
            if !lots.is_empty() {
                put(
                    &mut e,
                    "inputQuantityList",
                    json!(
                        lots.iter()
                            .map(|r| json!({"epcClass": p.uri(&r.subject)}))
                            .collect::<Vec<_>>()
                    ),
                );
            }
            what(&mut e, "outputEPCList", "outputQuantityList", Some(*grams));
            put(&mut e, "bizStep", json!("commissioning"));
            put(&mut e, "disposition", json!("active"));
            put(
                &mut e,
                "ilmd",
                json!({ agt("product"): product.as_str(), agt("grams"): grams }),
            );
            put(
                &mut e,
                &agt("parents"),
                json!(
                    parents
                        .iter()
                        .map(|r| r.record.to_string())
                        .collect::<Vec<_>>()
                ),
            );
        }
        Event::Aggregation { container } | Event::Disaggregation { container } => {
            let packing = matches!(body.event(), Event::Aggregation { .. });
            put(&mut e, "parentID", json!(p.uri(&container.subject)));
            what(&mut e, "childEPCs", "childQuantityList", None);
            put(
                &mut e,
                "action",
                json!(if packing { "ADD" } else { "DELETE" }),
            );
            put(
                &mut e,
                "bizStep",
                json!(if packing { "packing" } else { "unpacking" }),
            );
            put(
                &mut e,
                &agt("containerRecord"),
                json!(container.record.to_string()),
            );
        }
        Event::Harvest { crop, site, grams } => {
            what(&mut e, "epcList", "quantityList", Some(*grams));
            put(&mut e, "action", json!("ADD"));
            put(&mut e, "bizStep", json!("commissioning"));
            put(&mut e, "disposition", json!("active"));
            let site = p.name("loc", site.as_str());
            put(&mut e, "readPoint", json!({"id": site}));
            put(&mut e, "bizLocation", json!({"id": site}));
            put(
                &mut e,
                "ilmd",
                json!({ agt("crop"): crop.as_str(), agt("grams"): grams }),
            );
        }
        Event::Sale { buyer, price_fen } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            put(&mut e, "bizStep", json!("retail_selling"));
            put(&mut e, "disposition", json!("retail_sold"));
            put(
                &mut e,
                "destinationList",
                json!([{"type": "owning_party", "destination": p.name("party", buyer.as_str())}]),
            );
            put(&mut e, &agt("priceFen"), json!(price_fen));
        }
        Event::Recall { kind, reason } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
            let (step, disposition) = match kind {
                RecallKind::Hold => ("holding".to_owned(), "unavailable"),
                RecallKind::Release => (p.step("releasing"), "available"),
                _ => (p.step("recalling"), "recalled"),
            };
            put(&mut e, "bizStep", json!(step));
            put(&mut e, "disposition", json!(disposition));
            put(&mut e, &agt("recallKind"), name_of(kind));
            put(&mut e, &agt("reason"), json!(reason.as_str()));
        }
        Event::EndOfChain { reason } => {
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("DELETE"));
            let (step, disposition) = match reason {
                EndReason::Died | EndReason::Culled => ("destroying", "destroyed"),
                EndReason::Consumed => ("retail_selling", "retail_sold"),
                _ => ("decommissioning", "inactive"),
            };
            put(&mut e, "bizStep", json!(step));
            put(&mut e, "disposition", json!(disposition));
            put(&mut e, &agt("endReason"), name_of(reason));
        }
        _ => {
            // A kind added to the format after this mapping: the carried record says it all.
            what(&mut e, "epcList", "quantityList", None);
            put(&mut e, "action", json!("OBSERVE"));
        }
    }
    Value::Object(e)
}

/// The event for a signed record: its projection plus the record itself, base64 of its
/// frame under `agt:record`.
pub fn event_of(record: &SignedRecord, body: &RecordBody, p: &Profile) -> Value {
    let mut e = project(body, p);
    let mut frame = Vec::with_capacity(record.frame_len());
    record.write_frame(&mut frame);
    if let Value::Object(m) = &mut e {
        m.insert(RECORD_KEY.to_owned(), json!(B64.encode(&frame)));
    }
    e
}

/// Writes a document one event at a time: the header on creation, then each record, then
/// the closing brackets on [`Exporter::finish`]. Memory stays that of one event.
pub struct Exporter<W: Write> {
    out: W,
    profile: Profile,
    events: u64,
}

impl<W: Write> Exporter<W> {
    /// Starts a document created at `created`.
    ///
    /// # Errors
    /// The writer's.
    pub fn new(mut out: W, profile: Profile, created: Timestamp) -> io::Result<Self> {
        let context = json!([EPCIS_CONTEXT_URL, { AGT: profile.namespace }]);
        write!(
            out,
            "{{\"@context\":{context},\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\
             \"creationDate\":\"{created}\",\"{BASE_KEY}\":{},\"epcisBody\":{{\"eventList\":[",
            json!(profile.base)
        )?;
        Ok(Self {
            out,
            profile,
            events: 0,
        })
    }

    /// Appends the event of `record`.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidData`] for a record whose body does not decode (a store
    /// holds none), or the writer's error.
    pub fn write(&mut self, record: &SignedRecord) -> io::Result<()> {
        let body = RecordBody::decode(record.body()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("record {}: {e}", record.id()),
            )
        })?;
        if self.events > 0 {
            self.out.write_all(b",\n")?;
        } else {
            self.out.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut self.out, &event_of(record, &body, &self.profile))?;
        self.events += 1;
        Ok(())
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Closes the document and returns the writer.
    ///
    /// # Errors
    /// The writer's.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n]}}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
