//! The shared example documents (Apache-2.0, openepcis/openepcis-test-resources;
//! `tests/data/LICENSES`): every valid one is accepted and hashes; every invalid one is
//! refused with a message naming the rule it breaks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::fs;
use std::path::Path;

use agritrace_epcis::{CbvVersion, Document, Rule, validate};

fn dir(which: &str) -> Vec<(String, Vec<u8>)> {
    let d = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/examples")).join(which);
    let mut out: Vec<_> = fs::read_dir(d)
        .expect("examples")
        .map(|e| {
            let p = e.expect("entry").path();
            (
                p.file_name()
                    .and_then(|s| s.to_str())
                    .expect("name")
                    .to_owned(),
                fs::read(&p).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_valid_example_is_accepted_and_hashes() {
    let valid = dir("valid");
    assert_eq!(valid.len(), 14);
    for (name, bytes) in valid {
        let doc = Document::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let problems = validate::problems(&doc);
        assert!(problems.is_empty(), "{name}: {problems:?}");
        for v in [CbvVersion::V2_0, CbvVersion::V2_1] {
            let hashes = doc.hashes(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(hashes.len(), doc.events().len());
            assert!(
                hashes.iter().all(|h| h.len() == 14 + 64 + 11),
                "{name}: {hashes:?}"
            );
        }
    }
}

#[test]
fn every_invalid_example_is_refused_naming_its_rule() {
    let expected = [
        (
            "Combination_of_events_with_missing_mandatory_fields.json",
            Rule::Action,
            "eventList[0].action",
        ),
        (
            "Combination_of_multiple_invalid_fields.json",
            Rule::Vocabulary,
            "eventList[0].bizStep",
        ),
        (
            "Combination_of_non_standard_bizStep_and_disposition.json",
            Rule::Vocabulary,
            "eventList[0].bizStep",
        ),
        (
            "EPCISDocument_without_context.json",
            Rule::Required,
            "@context",
        ),
        (
            "ObjectEvent_with_ilmd_field_without_namespace.json",
            Rule::Namespace,
            "eventList[0].ilmd.materialType",
        ),
        (
            "ObjectEvent_with_invalid_action.json",
            Rule::Action,
            "eventList[0].action",
        ),
        (
            "ObjectEvent_with_invalid_certificationInfo.json",
            Rule::Uri,
            "eventList[0].certificationInfo[0]",
        ),
        (
            "ObjectEvent_with_invalid_eventTime_format.json",
            Rule::DateTime,
            "eventList[0].eventTime",
        ),
        (
            "ObjectEvent_with_non_standard_bizStep.json",
            Rule::Vocabulary,
            "eventList[0].bizStep",
        ),
        (
            "ObjectEvent_with_non_standard_bizStep_in_second_event.json",
            Rule::Vocabulary,
            "eventList[1].bizStep",
        ),
        (
            "ObjectEvent_with_non_standard_disposition.json",
            Rule::Vocabulary,
            "eventList[0].disposition",
        ),
        (
            "ObjectEvent_with_quantity_as_text.json",
            Rule::QuantityElement,
            "eventList[0].quantityList[0].quantity",
        ),
        (
            "ObjectEvent_with_unknown_field_in_quantityList.json",
            Rule::QuantityElement,
            "eventList[0].quantityList[0].weight",
        ),
        (
            "ObjectEvent_without_action_and_eventTime.json",
            Rule::Required,
            "eventList[0].eventTime",
        ),
        (
            "ObjectEvent_without_identifier_list.json",
            Rule::NoObject,
            "eventList[0]",
        ),
    ];
    let invalid = dir("invalid");
    assert_eq!(invalid.len(), expected.len());
    for ((name, bytes), (want_name, rule, path)) in invalid.iter().zip(expected) {
        assert_eq!(name, want_name);
        let doc = Document::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let err = validate::validate(&doc).expect_err(name);
        assert_eq!((err.rule, err.path.as_str()), (rule, path), "{name}: {err}");
        assert!(err.to_string().contains(rule.name()), "{err}");
    }
    // The combination documents break several rules; each is reported.
    let (_, bytes) = &invalid[1];
    let rules: Vec<Rule> = validate::problems(&Document::from_slice(bytes).expect("doc"))
        .iter()
        .map(|p| p.rule)
        .collect();
    for r in [
        Rule::Vocabulary,
        Rule::Namespace,
        Rule::DateTime,
        Rule::Action,
    ] {
        assert!(rules.contains(&r), "{rules:?} lacks {r:?}");
    }
}
