//! agritrace records as EPCIS 2.0 events (the mapping in docs/EPCIS.md), and a streaming
//! writer for whole documents: constant memory, one event at a time.

use std::io::{self, Write};

use agritrace::{
    EndReason, Event, InspectionResult, LineageRef, RecallKind, RecordBody, Registration,
    SignedRecord, SubjectId, Text, Timestamp, TreatmentKind,
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
        ns.declared(AGT)?.clone_into(&mut p.namespace);
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

/// The enum's name as the JSON event forms write it (`Female`, `Vaccination`, …).
fn name_of(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn is_animal(s: &SubjectId) -> bool {
    !matches!(s, SubjectId::Lot(_))
}

/// An event being built.
struct Ev<'a> {
    e: Map<String, Value>,
    p: &'a Profile,
    me: String,
    animal: bool,
}

impl Ev<'_> {
    fn put(&mut self, k: &str, v: impl Into<Value>) {
        self.e.insert(k.to_owned(), v.into());
    }

    fn agt(&mut self, k: &str, v: impl Into<Value>) {
        self.e.insert(format!("{AGT}:{k}"), v.into());
    }

    /// The subject: an animal in `list`, a lot (a class) in `qlist`, with grams if known.
    fn what(&mut self, list: &str, qlist: &str, grams: Option<u64>) {
        if self.animal {
            self.put(list, json!([self.me]));
        } else {
            let mut q = json!({"epcClass": self.me});
            if let Some(g) = grams {
                q["quantity"] = json!(g);
                q["uom"] = json!("GRM");
            }
            self.put(qlist, json!([q]));
        }
    }

    /// An `ObjectEvent` about the subject.
    fn object(&mut self, action: &str, step: impl Into<Value>) {
        self.what("epcList", "quantityList", None);
        self.put("action", action);
        self.put("bizStep", step);
    }

    fn place(&mut self, site: &Text) {
        let site = self.p.name("loc", site.as_str());
        self.put("readPoint", json!({ "id": site }));
        self.put("bizLocation", json!({ "id": site }));
    }

    fn ilmd(&mut self, fields: Vec<(&str, Value)>) {
        let m: Map<String, Value> = fields
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (format!("{AGT}:{k}"), v))
            .collect();
        self.put("ilmd", Value::Object(m));
    }

    fn destination(&mut self, kind: &str, party: &Text) {
        let uri = self.p.name("party", party.as_str());
        self.put(
            "destinationList",
            json!([{ "type": kind, "destination": uri }]),
        );
    }
}

fn event_type(event: &Event) -> &'static str {
    match event {
        Event::DeviceAttached { .. } | Event::DeviceDetached { .. } => "AssociationEvent",
        Event::Transformation { .. } => "TransformationEvent",
        Event::Aggregation { .. } | Event::Disaggregation { .. } => "AggregationEvent",
        _ => "ObjectEvent",
    }
}

/// The EPCIS event for a record's body, without the carried record: what an importer
/// compares an event with.
pub fn project(body: &RecordBody, p: &Profile) -> Value {
    let subject = body.subject();
    let mut ev = Ev {
        e: Map::new(),
        p,
        me: p.uri(subject),
        animal: is_animal(subject),
    };
    ev.put("type", event_type(body.event()));
    ev.put("eventTime", body.time().to_string());
    ev.put("eventTimeZoneOffset", p.offset.as_str());
    if !animal_events(&mut ev, body) && !product_events(&mut ev, body.event()) {
        // A kind added to the format after this mapping: the carried record says it all.
        ev.object("OBSERVE", "other");
    }
    if let Some(source) = body.source() {
        // The partner's event this record was imported from, signed with the record.
        ev.agt("sourceEvent", source.to_string());
    }
    Value::Object(ev.e)
}

/// Registration to slaughter; false for other kinds.
fn animal_events(ev: &mut Ev<'_>, body: &RecordBody) -> bool {
    let p = ev.p;
    match body.event() {
        Event::Registration(r) => registration(ev, r),
        Event::DeviceAttached { device, .. } | Event::DeviceDetached { device } => {
            let attached = matches!(body.event(), Event::DeviceAttached { .. });
            ev.put("parentID", p.name("device", device.as_str()));
            ev.what("childEPCs", "childQuantityList", None);
            ev.put("action", if attached { "ADD" } else { "DELETE" });
            ev.put("bizStep", if attached { "installing" } else { "removing" });
            ev.agt("device", device.as_str());
            if let Event::DeviceAttached { kind, .. } = body.event() {
                ev.agt("deviceKind", name_of(kind));
            }
        }
        Event::Weighing { grams } => {
            ev.object("OBSERVE", "sensor_reporting");
            let report = json!({"type": "Mass", "value": grams, "uom": "GRM"});
            let meta = json!({"time": body.time().to_string()});
            ev.put(
                "sensorElementList",
                json!([{"sensorMetadata": meta, "sensorReport": [report]}]),
            );
        }
        Event::DailyActivity { day, steps, device } => {
            ev.object("OBSERVE", "sensor_reporting");
            let start = Timestamp::at_start_of(*day);
            let meta = json!({
                "startTime": start.to_string(),
                "endTime": start.saturating_add_millis(86_400_000).to_string(),
                "deviceID": p.name("device", device.as_str()),
            });
            let report = json!({"type": "Count", "value": steps});
            ev.put(
                "sensorElementList",
                json!([{"sensorMetadata": meta, "sensorReport": [report]}]),
            );
            ev.agt("device", device.as_str());
        }
        Event::Feeding { feed, grams } => {
            ev.object("OBSERVE", p.step("feeding"));
            ev.agt("feed", feed.as_str());
            ev.agt("feedGrams", *grams);
        }
        Event::Treatment {
            kind,
            product,
            withdrawal_days,
        } => {
            let vaccine = *kind == TreatmentKind::Vaccination;
            ev.object(
                "OBSERVE",
                p.step(if vaccine { "vaccinating" } else { "treating" }),
            );
            ev.agt("treatmentKind", name_of(kind));
            ev.agt("product", product.as_str());
            ev.agt("withdrawalDays", *withdrawal_days);
        }
        Event::Inspection {
            kind,
            result,
            certificate,
        } => {
            ev.object("OBSERVE", "inspecting");
            match result {
                InspectionResult::Pass => ev.put("disposition", "conformant"),
                InspectionResult::Fail => ev.put("disposition", "non_conformant"),
                _ => {}
            }
            ev.agt("inspectionKind", name_of(kind));
            ev.agt("result", name_of(result));
            if let Some(c) = certificate {
                ev.put("certificationInfo", p.name("cert", c.as_str()));
                ev.agt("certificate", c.as_str());
            }
        }
        Event::Move { from_site, to_site } => {
            ev.object("OBSERVE", "transporting");
            ev.put("disposition", "in_transit");
            let (from, to) = (
                p.name("loc", from_site.as_str()),
                p.name("loc", to_site.as_str()),
            );
            ev.put("readPoint", json!({ "id": from }));
            ev.put("sourceList", json!([{"type": "location", "source": from}]));
            ev.put(
                "destinationList",
                json!([{"type": "location", "destination": to}]),
            );
        }
        Event::Slaughter { carcass_grams } => {
            ev.object("OBSERVE", p.step("slaughtering"));
            ev.agt("carcassGrams", *carcass_grams);
        }
        _ => return false,
    }
    true
}

/// An animal's registration: commissioning, with what CBV has no terms for in ILMD.
fn registration(ev: &mut Ev<'_>, r: &Registration) {
    let p = ev.p;
    ev.object("ADD", "commissioning");
    ev.put("disposition", "active");
    ev.place(&r.origin_site);
    let uri = |s: &Option<SubjectId>| s.as_ref().map_or(Value::Null, |s| p.uri(s).into());
    ev.ilmd(vec![
        ("species", name_of(r.species)),
        ("breed", r.breed.as_str().into()),
        ("sex", name_of(r.sex)),
        ("birthDate", r.birth_date.to_string().into()),
        ("originSite", r.origin_site.as_str().into()),
        ("dam", uri(&r.dam)),
        ("sire", uri(&r.sire)),
    ]);
}

/// Custody, lineage, trade and the end of a chain; false for other kinds.
fn product_events(ev: &mut Ev<'_>, event: &Event) -> bool {
    let p = ev.p;
    match event {
        Event::CustodyTransfer { to_party } => {
            ev.object("OBSERVE", "accepting");
            ev.destination("possessing_party", to_party);
        }
        Event::Transformation {
            parents,
            product,
            grams,
        } => {
            let (animals, lots): (Vec<&LineageRef>, Vec<&LineageRef>) =
                parents.iter().partition(|r| is_animal(&r.subject));
            if !animals.is_empty() {
                let uris: Vec<String> = animals.iter().map(|r| p.uri(&r.subject)).collect();
                ev.put("inputEPCList", uris);
            }
            if !lots.is_empty() {
                let q: Vec<Value> = lots
                    .iter()
                    .map(|r| json!({"epcClass": p.uri(&r.subject)}))
                    .collect();
                ev.put("inputQuantityList", q);
            }
            ev.what("outputEPCList", "outputQuantityList", Some(*grams));
            ev.put("bizStep", "commissioning");
            ev.put("disposition", "active");
            ev.ilmd(vec![
                ("product", product.as_str().into()),
                ("grams", (*grams).into()),
            ]);
            let ids: Vec<String> = parents.iter().map(|r| r.record.to_string()).collect();
            ev.agt("parents", ids);
        }
        Event::Aggregation { container } | Event::Disaggregation { container } => {
            let packing = matches!(event, Event::Aggregation { .. });
            ev.put("parentID", p.uri(&container.subject));
            ev.what("childEPCs", "childQuantityList", None);
            ev.put("action", if packing { "ADD" } else { "DELETE" });
            ev.put("bizStep", if packing { "packing" } else { "unpacking" });
            ev.agt("containerRecord", container.record.to_string());
        }
        Event::Harvest { crop, site, grams } => {
            ev.what("epcList", "quantityList", Some(*grams));
            ev.put("action", "ADD");
            ev.put("bizStep", "commissioning");
            ev.put("disposition", "active");
            ev.place(site);
            ev.ilmd(vec![
                ("crop", crop.as_str().into()),
                ("grams", (*grams).into()),
            ]);
        }
        Event::Sale { buyer, price_fen } => {
            ev.object("OBSERVE", "retail_selling");
            ev.put("disposition", "retail_sold");
            ev.destination("owning_party", buyer);
            ev.agt("priceFen", *price_fen);
        }
        Event::Recall { kind, reason } => {
            let (step, disposition) = match kind {
                RecallKind::Hold => ("holding".to_owned(), "unavailable"),
                RecallKind::Release => (p.step("releasing"), "available"),
                _ => (p.step("recalling"), "recalled"),
            };
            ev.object("OBSERVE", step);
            ev.put("disposition", disposition);
            ev.agt("recallKind", name_of(kind));
            ev.agt("reason", reason.as_str());
        }
        Event::EndOfChain { reason } => {
            let (step, disposition) = match reason {
                EndReason::Died | EndReason::Culled => ("destroying", "destroyed"),
                EndReason::Consumed => ("retail_selling", "retail_sold"),
                _ => ("decommissioning", "inactive"),
            };
            ev.object("DELETE", step);
            ev.put("disposition", disposition);
            ev.agt("endReason", name_of(reason));
        }
        _ => return false,
    }
    true
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
