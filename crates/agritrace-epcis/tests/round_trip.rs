//! The demo ledger → EPCIS → an empty store: the same records in the same order, the same
//! verdicts and the same trace reports; the export obeys the EPCIS rules; an edited event
//! or record is refused, and nothing of the document is appended.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use agritrace::demo::DemoConfig;
use agritrace::{
    LedgerVerifier, Policy, SignedRecord, SqliteStore, Store, SubjectId, Timestamp, trace,
};
use agritrace_epcis::{
    CbvVersion, Document, Exporter, ImportError, Profile, Rule, import, validate,
};
use serde_json::Value;

fn demo() -> (DemoConfig, SqliteStore, Vec<SignedRecord>) {
    let cfg = DemoConfig {
        pigs: 6,
        ..DemoConfig::new(2026)
    };
    let store = cfg.create_store(None).unwrap();
    let records = cfg.generate().records;
    for batch in records.chunks(1000) {
        store.append_batch(batch).unwrap();
    }
    (cfg, store, records)
}

fn profile() -> Profile {
    Profile::new("https://trace.qingjian-coop.example", "+08:00").unwrap()
}

fn export_all(store: &SqliteStore) -> Vec<u8> {
    let mut ex = Exporter::new(
        Vec::new(),
        profile(),
        Timestamp::from_millis(1_790_000_000_000),
    )
    .unwrap();
    for r in store.stream(1000) {
        ex.write(&r.unwrap()).unwrap();
    }
    ex.finish().unwrap()
}

fn trace_json(store: &SqliteStore, cfg: &DemoConfig, id: &SubjectId) -> Value {
    let t = trace(store, &cfg.trust(), &Policy::livestock(), id).unwrap();
    let mut v = serde_json::to_value(&t).unwrap();
    v["verification"]["millis"] = Value::Null;
    v
}

#[test]
fn the_demo_ledger_survives_a_round_trip_through_epcis() {
    let (cfg, store, records) = demo();
    let bytes = export_all(&store);
    let doc = Document::from_slice(&bytes).unwrap();
    assert_eq!(doc.events().len(), records.len());
    let problems = validate::problems(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(doc.hashes(CbvVersion::V2_0).unwrap().len(), records.len());

    let empty = DemoConfig {
        pigs: 0,
        produce: false,
        ..cfg.clone()
    }
    .create_store(None)
    .unwrap();
    let importer = agritrace::Signer::from_seed([7; 32]);
    let done = import(&doc, &empty, &importer).unwrap();
    assert_eq!(
        (done.appended, done.carried, done.signed.len()),
        (records.len(), records.len(), 0)
    );

    let back: Vec<SignedRecord> = empty.stream(1000).map(Result::unwrap).collect();
    assert_eq!(back, records, "the same records, in the same order");
    let (trust, policy) = (cfg.trust(), Policy::livestock());
    let before = LedgerVerifier::new(&trust, &policy)
        .verify(&records)
        .unwrap();
    let after = LedgerVerifier::new(&trust, &policy).verify(&back).unwrap();
    assert_eq!(
        (before.records(), before.tips()),
        (after.records(), after.tips())
    );
    for subject in store.subjects().unwrap() {
        assert_eq!(
            trace_json(&store, &cfg, &subject),
            trace_json(&empty, &cfg, &subject),
            "{subject}"
        );
    }

    // Importing the same document again appends nothing.
    let again = import(&doc, &empty, &importer).unwrap();
    assert_eq!((again.appended, again.already_stored), (0, records.len()));
}

/// The exported document with `edit` applied to its JSON.
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Document {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut v);
    Document::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap()
}

#[test]
fn an_event_that_disagrees_with_its_record_is_refused_and_nothing_is_appended() {
    let (cfg, store, records) = demo();
    let bytes = export_all(&store);
    let fresh = || {
        DemoConfig {
            pigs: 0,
            produce: false,
            ..cfg.clone()
        }
        .create_store(None)
        .unwrap()
    };
    let signer = agritrace::Signer::from_seed([7; 32]);
    let weighing = {
        let doc = Document::from_slice(&bytes).unwrap();
        doc.events()
            .iter()
            .position(|e| e["sensorElementList"][0]["sensorReport"][0]["type"] == "Mass")
            .unwrap()
    };
    // A changed weight: the EPCIS view no longer matches the signed record.
    let doc = edited(&bytes, |v| {
        v["epcisBody"]["eventList"][weighing]["sensorElementList"][0]["sensorReport"][0]["value"] =
            1.into();
    });
    let s = fresh();
    let err = import(&doc, &s, &signer).unwrap_err();
    let ImportError::Invalid(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (e.rule, e.path.clone()),
        (Rule::Record, format!("eventList[{weighing}]")),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("disagrees with its carried record"),
        "{err}"
    );
    assert_eq!(s.len().unwrap(), 0);

    // A changed certificate: the hash leaves certificationInfo out, the check does not.
    let inspected = {
        let doc = Document::from_slice(&bytes).unwrap();
        doc.events()
            .iter()
            .position(|e| e.get("certificationInfo").is_some())
            .unwrap()
    };
    let doc = edited(&bytes, |v| {
        v["epcisBody"]["eventList"][inspected]["certificationInfo"] =
            "https://forged.example/cert/1".into();
    });
    let err = import(&doc, &s, &signer).unwrap_err();
    let ImportError::Invalid(e) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        e.path,
        format!("eventList[{inspected}].certificationInfo"),
        "{err}"
    );
    assert_eq!(s.len().unwrap(), 0);

    // A record whose signature was edited: the event matches, the store refuses it.
    let doc = edited(&bytes, |v| {
        let ev = &mut v["epcisBody"]["eventList"][weighing];
        let frame = ev["agt:record"].as_str().unwrap().to_owned();
        let mut raw = base64_decode(&frame);
        let last = raw.len() - 1;
        raw[last] ^= 1;
        ev["agt:record"] = base64_encode(&raw).into();
    });
    let err = import(&doc, &s, &signer).unwrap_err();
    assert!(
        matches!(err, ImportError::Store { event, .. } if event == weighing),
        "{err}"
    );
    assert_eq!(s.len().unwrap(), 0);

    // A record left out: the next one of its chain is refused (a gap), naming that event.
    let doc = edited(&bytes, |v| {
        v["epcisBody"]["eventList"]
            .as_array_mut()
            .unwrap()
            .remove(weighing);
    });
    let err = import(&doc, &s, &signer).unwrap_err();
    assert!(matches!(err, ImportError::Store { .. }), "{err}");
    assert_eq!(s.len().unwrap(), 0);
    assert!(records.len() > weighing);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
