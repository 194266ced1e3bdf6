//! The verifier's answers, natively: what the page shows for a good bundle, a bundle of
//! another animal, unusable pins, and bytes that are not a bundle. (The same answers from
//! the WebAssembly build are compared in a browser by `examples/browser_suite.rs`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

use agritrace::demo::DemoConfig;
use agritrace::{LogPolicy, LogSigner, MerkleTree, Signer, Store, TraceBundle, Witness, sync_tree};
use agritrace_wasm::{check_bundle_json, check_signature};
use serde_json::{Value, json};

const ORIGIN: &str = "log.example.org/coop";

fn setup() -> (Vec<u8>, Value, String) {
    let cfg = DemoConfig::bench(3, 2, 20);
    let farm = cfg.generate();
    let store = cfg.create_store(None).unwrap();
    store.append_batch(&farm.records).unwrap();
    let mut tree = MerkleTree::new();
    let size = sync_tree(&mut tree, &store).unwrap();
    let log = LogSigner::new(ORIGIN, Signer::from_seed([1; 32])).unwrap();
    let mut witness = Witness::new("witness.example.net", Signer::from_seed([2; 32])).unwrap();
    witness.follow(&LogPolicy::new(ORIGIN, log.verifier().clone()));
    let note = witness
        .cosign(
            &log.sign(size, tree.root(size).unwrap()).unwrap(),
            &[],
            1_780_000_000,
        )
        .unwrap();
    let pig = cfg.pig(0).unwrap();
    let bundle = TraceBundle::export(&store, &tree, &note, &log, &farm.trust, &pig).unwrap();
    let pins = json!({
        "origin": ORIGIN,
        "log": log.verifier().vkey(),
        "witnesses": [witness.verifier().vkey()],
        "quorum": 1,
        "subject": pig.to_string(),
    });
    (bundle.to_bytes().unwrap(), pins, pig.to_string())
}

fn check(bundle: &[u8], pins: &Value) -> Value {
    serde_json::from_str(&check_bundle_json(bundle, &pins.to_string())).unwrap()
}

#[test]
fn a_good_bundle_shows_records_chains_checkpoint_and_witnesses() {
    let (bundle, pins, pig) = setup();
    let v = check(&bundle, &pins);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["subject"], pig.as_str());
    assert!(v["records"].as_u64().unwrap() >= v["chains"].as_u64().unwrap());
    assert!(v["chains"].as_u64().unwrap() >= 1);
    assert_eq!(v["checkpoint"]["origin"], ORIGIN);
    assert_eq!(v["witnesses"], json!(["witness.example.net"]));
    assert_eq!(v["error"], "");
}

#[test]
fn a_valid_bundle_of_another_subject_is_not_this_ones() {
    let (bundle, mut pins, pig) = setup();
    pins["subject"] = json!("eartag:161083000009999");
    let v = check(&bundle, &pins);
    assert_eq!(v["verified"], false);
    assert_eq!(v["part"], "subject");
    assert!(v["error"].as_str().unwrap().contains(&pig), "{v}");
}

#[test]
fn a_changed_record_signature_names_the_record_at_fault() {
    let (mut bundle, pins, _) = setup();
    // The last bytes are the last chain's proof; before them, its records' signatures.
    let at = bundle.len() - 200;
    bundle[at] ^= 1;
    let v = check(&bundle, &pins);
    assert_eq!(v["verified"], false, "{v}");
    assert!(!v["error"].as_str().unwrap().is_empty(), "{v}");
}

#[test]
fn unusable_pins_and_non_bundles_are_refused_by_name() {
    let (bundle, mut pins, _) = setup();
    let v = check(b"not a bundle", &pins);
    assert_eq!(
        (v["verified"].clone(), v["part"].clone()),
        (json!(false), json!("bundle"))
    );
    pins["quorum"] = json!(2);
    let v = check(&bundle, &pins);
    assert_eq!(v["part"], "pins", "{v}");
    assert!(v["error"].as_str().unwrap().contains("quorum"), "{v}");
    let v: Value = serde_json::from_str(&check_bundle_json(&bundle, "{\"origin\": 1}")).unwrap();
    assert_eq!(v["part"], "pins");
    assert!(v["error"].as_str().unwrap().contains("origin"), "{v}");
}

#[test]
fn signature_checks_need_key_signature_and_message() {
    assert_eq!(check_signature(&[0; 95]), None);
    // The identity key with the zero signature: valid under ZIP-215, for any message.
    assert_eq!(check_signature(&[0; 96]), Some(true));
    let bad = [&[0u8; 32][..], &[1; 64], b"m"].concat();
    assert_eq!(check_signature(&bad), Some(false));
}
