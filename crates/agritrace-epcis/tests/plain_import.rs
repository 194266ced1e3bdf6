//! A partner's plain EPCIS events (no agritrace record carried) mapped onto agritrace
//! events and signed by the importing key; what does not map is refused by event and
//! field, and then nothing of the document is appended.

#![allow(
    clippy::needless_pass_by_value,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use agritrace::demo::DemoConfig;
use agritrace::trust::TrustChange;
use agritrace::{Event, KeyGrant, RecordBody, Role, Signer, SqliteStore, Store, Text, Timestamp};
use agritrace_epcis::{CbvVersion, Document, ImportError, Rule, import};
use serde_json::{Value, json};

const PIG: &str = "https://farm.example.cn/eartag/161083000000301";
const LOT: &str = "urn:epc:class:lgtin:6901234.056211.CHESTNUT-2026-09";

fn farm() -> (SqliteStore, Signer) {
    let cfg = DemoConfig {
        pigs: 0,
        produce: false,
        ..DemoConfig::new(1)
    };
    let store = cfg.create_store(None).unwrap();
    let signer = Signer::from_seed([9; 32]);
    let grant = KeyGrant::new(
        Text::new("Partner farm gateway").unwrap(),
        Role::Farm,
        Timestamp::from_millis(0),
    );
    store
        .update_trust(
            &cfg.operator().unwrap(),
            Timestamp::from_millis(1_600_000_000_000),
            vec![TrustChange::Grant {
                key: signer.public_key(),
                grant,
            }],
        )
        .unwrap();
    (store, signer)
}

fn document(events: Vec<Value>) -> Document {
    let doc = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"agt": "https://farm.example.cn/ns/agritrace/v1/"}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-03T00:00:00Z",
        "epcisBody": {"eventList": events}
    });
    Document::from_slice(&serde_json::to_vec(&doc).unwrap()).unwrap()
}

fn object(time: &str, step: &str, extra: Value) -> Value {
    let mut e = json!({"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+08:00",
        "epcList": [PIG], "action": "OBSERVE", "bizStep": step});
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

fn life() -> Vec<Value> {
    vec![
        json!({"type": "ObjectEvent", "eventTime": "2026-11-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
            "epcList": [PIG], "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "ilmd": {"agt:species": "Pig", "agt:breed": "Bamei 八眉猪", "agt:sex": "Female",
                     "agt:birthDate": "2026-09-10", "agt:originSite": "Qingjian farm 2"}}),
        json!({"type": "AssociationEvent", "eventTime": "2026-11-01T08:05:00+08:00", "eventTimeZoneOffset": "+08:00",
            "parentID": "https://farm.example.cn/device/PD-0301", "childEPCs": [PIG], "action": "ADD",
            "bizStep": "installing", "agt:deviceKind": "Pedometer"}),
        object(
            "2026-11-02T09:30:00.250+08:00",
            "sensor_reporting",
            json!({"sensorElementList": [
            {"sensorReport": [{"type": "Mass", "value": 21400, "uom": "GRM"}]}]}),
        ),
        object(
            "2026-11-02T23:59:00+08:00",
            "sensor_reporting",
            json!({"sensorElementList": [
            {"sensorMetadata": {"startTime": "2026-11-02T00:00:00Z", "deviceID": "https://farm.example.cn/device/PD-0301"},
             "sensorReport": [{"type": "Count", "value": 15230}]}]}),
        ),
        object(
            "2027-03-01T08:00:00+08:00",
            "transporting",
            json!({
            "sourceList": [{"type": "location", "source": "https://farm.example.cn/loc/Qingjian%20farm%202"}],
            "destinationList": [{"type": "location", "destination": "https://farm.example.cn/loc/Suide%20abattoir"}]}),
        ),
        object(
            "2027-03-01T08:01:00+08:00",
            "accepting",
            json!({
            "destinationList": [{"type": "possessing_party", "destination": "https://farm.example.cn/party/Suide%20Meat"}]}),
        ),
        json!({"type": "ObjectEvent", "eventTime": "2026-09-20T16:00:00+08:00", "eventTimeZoneOffset": "+08:00",
            "quantityList": [{"epcClass": LOT, "quantity": 850_000, "uom": "GRM"}], "action": "ADD",
            "bizStep": "commissioning", "readPoint": {"id": "https://farm.example.cn/loc/orchard%204"},
            "ilmd": {"agt:crop": "chestnuts"}}),
    ]
}

#[test]
fn plain_events_are_mapped_and_signed_by_the_importing_key() {
    let (store, signer) = farm();
    let doc = document(life());
    let hashes = doc.hashes(CbvVersion::V2_0).unwrap();
    let done = import(&doc, &store, &signer).unwrap();
    assert_eq!((done.appended, done.carried), (7, 0));
    // Each record remembers the CBV hash of the event it came from.
    let sources: Vec<&str> = done.signed.iter().map(|(_, h, _)| h.as_str()).collect();
    assert_eq!(
        sources,
        hashes.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let bodies: Vec<RecordBody> = store
        .stream(100)
        .map(|r| RecordBody::decode(r.unwrap().body()).unwrap())
        .collect();
    for (b, hash) in bodies.iter().zip(&hashes) {
        assert_eq!(*b.signer(), signer.public_key());
        // The source event's hash is signed into the record (format version 2).
        assert_eq!(b.version(), agritrace::FORMAT_VERSION_SOURCED);
        assert_eq!(
            b.source().map(ToString::to_string).as_deref(),
            Some(hash.as_str())
        );
    }
    // The same event twice in one document is imported once.
    let (twice_store, _) = farm();
    let mut twice = life();
    twice.push(twice[2].clone());
    let done = import(&document(twice), &twice_store, &signer).unwrap();
    assert_eq!((done.appended, done.already_stored), (7, 1));
    // The same document again: every event is recognised by its hash, nothing is appended.
    let again = import(&doc, &store, &signer).unwrap();
    assert_eq!((again.appended, again.already_stored), (0, 7));
    let events: Vec<Event> = bodies.iter().map(|b| b.event().clone()).collect();
    let json = serde_json::to_string(&events).unwrap();
    for want in [
        r#"{"Registration":{"species":"Pig","breed":"Bamei 八眉猪","sex":"Female","birth_date":"2026-09-10","origin_site":"Qingjian farm 2","dam":null,"sire":null}}"#,
        r#"{"DeviceAttached":{"device":"PD-0301","kind":"Pedometer"}}"#,
        r#"{"Weighing":{"grams":21400}}"#,
        r#"{"DailyActivity":{"day":"2026-11-02","steps":15230,"device":"PD-0301"}}"#,
        r#"{"Move":{"from_site":"Qingjian farm 2","to_site":"Suide abattoir"}}"#,
        r#"{"CustodyTransfer":{"to_party":"Suide Meat"}}"#,
        r#"{"Harvest":{"crop":"chestnuts","site":"orchard 4","grams":850000}}"#,
    ] {
        assert!(json.contains(want), "{want} not in {json}");
    }
}

fn refused(events: Vec<Value>) -> (ImportError, SqliteStore) {
    let (store, signer) = farm();
    let err = import(&document(events), &store, &signer).unwrap_err();
    assert_eq!(store.len().unwrap(), 0, "nothing appended after {err}");
    (err, store)
}

fn invalid(err: &ImportError) -> (Rule, String) {
    match err {
        ImportError::Invalid(i) => (i.rule, i.path.clone()),
        other => panic!("{other}"),
    }
}

#[test]
fn what_does_not_map_is_refused_by_event_and_field_and_nothing_is_appended() {
    let mut events = life();
    events.push(object("2027-03-02T08:00:00+08:00", "repairing", json!({})));
    let (err, _) = refused(events);
    assert_eq!(
        invalid(&err),
        (Rule::Agritrace, "eventList[7].bizStep".into()),
        "{err}"
    );
    assert!(
        err.to_string().contains("maps onto no agritrace event"),
        "{err}"
    );

    let mut events = life();
    events[2]["sensorElementList"][0]["sensorReport"][0]["uom"] = "KGM".into();
    assert_eq!(
        invalid(&refused(events).0),
        (Rule::Agritrace, "eventList[2].sensorElementList".into())
    );

    let mut events = life();
    events[3]["eventTime"] = "2026-11-02T23:59:00.1234+08:00".into();
    assert_eq!(
        invalid(&refused(events).0),
        (Rule::Precision, "eventList[3].eventTime".into())
    );

    let mut events = life();
    events[2]["epcList"] = json!([PIG, "https://farm.example.cn/eartag/161083000000302"]);
    assert_eq!(
        invalid(&refused(events).0),
        (Rule::Agritrace, "eventList[2].epcList[1]".into())
    );

    let mut events = life();
    events[0]["ilmd"]
        .as_object_mut()
        .unwrap()
        .remove("agt:breed");
    assert_eq!(
        invalid(&refused(events).0),
        (Rule::Agritrace, "eventList[0].ilmd.agt:breed".into())
    );

    let mut events = life();
    events[2]["epcList"] = json!(["https://farm.example.cn/eartag/16108300000030"]);
    let (err, _) = refused(events);
    assert_eq!(
        invalid(&err),
        (Rule::Agritrace, "eventList[2].epcList[0]".into())
    );
    assert!(err.to_string().contains("15 digits"), "{err}");

    // Valid EPCIS, but not a chain agritrace accepts: a weighing dated before the registration.
    let mut events = life();
    events[2]["eventTime"] = "2026-10-01T00:00:00+08:00".into();
    let (err, _) = refused(events);
    assert_eq!(
        invalid(&err),
        (Rule::Agritrace, "eventList[2]".into()),
        "{err}"
    );
    assert!(err.to_string().contains("before"), "{err}");
}

#[test]
fn imported_records_travel_on_with_their_source_event() {
    let (store, signer) = farm();
    import(&document(life()), &store, &signer).unwrap();
    let profile = agritrace_epcis::Profile::new("https://coop.example.cn", "+08:00").unwrap();
    let mut ex =
        agritrace_epcis::Exporter::new(Vec::new(), profile, Timestamp::from_millis(0)).unwrap();
    let records: Vec<_> = store.stream(100).map(Result::unwrap).collect();
    for r in &records {
        ex.write(r).unwrap();
    }
    let bytes = ex.finish().unwrap();
    let doc = Document::from_slice(&bytes).unwrap();
    let first = &doc.events()[0];
    assert!(
        first["agt:sourceEvent"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;"),
        "{first}"
    );
    let (other, _) = farm();
    let done = import(&doc, &other, &signer).unwrap();
    assert_eq!((done.carried, done.signed.len()), (records.len(), 0));
    let back: Vec<_> = other.stream(100).map(Result::unwrap).collect();
    assert_eq!(back, records);
}
