//! Known-answer vectors for format v1: fixed seed keys, the exact body bytes, record IDs and
//! signatures, frozen in `tests/data/kat-v1.txt`.
//!
//! These bytes stay valid forever. A change that alters them is a format version bump with
//! a CHANGELOG *Format* entry, never a quiet edit of the file. (To write the file for a
//! new version: `AGRITRACE_WRITE_KAT=1 cargo test --test known_answers`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    reason = "tests fail by panicking; short names keep mutation code readable"
)]

mod common;

use std::fmt::Write as _;

use agritrace::*;
use common::*;

const KAT: &str = include_str!("data/kat-v1.txt");
const KAT_V2: &str = include_str!("data/kat-v2.txt");

fn vectors() -> Vec<(&'static str, SignedRecord)> {
    let k = keys();
    let t = |ms| Timestamp::from_millis(ms);
    let mut pig_chain = Chain::new(pig());
    let reg = pig_chain
        .append(&k.farm, t(1_767_225_600_000), registration())
        .unwrap();
    let steps = pig_chain
        .append(
            &k.gateway,
            t(1_767_312_000_000),
            Event::DailyActivity {
                day: Day::from_ymd(2026, 1, 2).unwrap(),
                steps: 15_230,
                device: text("PD-0042"),
            },
        )
        .unwrap();
    let vacc = pig_chain
        .append(
            &k.vet,
            t(1_767_398_400_000),
            Event::Treatment {
                kind: TreatmentKind::Vaccination,
                product: text("classical swine fever vaccine"),
                withdrawal_days: 28,
            },
        )
        .unwrap();
    let cut = Chain::new(cut())
        .append(
            &k.slaughterhouse,
            t(1_783_000_000_000),
            Event::Transformation {
                parents: vec![LineageRef {
                    subject: pig(),
                    record: vacc.id(),
                }],
                product: text("pork belly"),
                grams: 9_000,
            },
        )
        .unwrap();
    let chestnuts: SubjectId = "lot:04006381333931/CHESTNUT-26-09".parse().unwrap();
    let harvest = Chain::new(chestnuts)
        .append(
            &k.farm,
            t(1_788_000_000_000),
            Event::Harvest {
                crop: text("chestnuts 板栗"),
                site: text("Qingjian orchard 5"),
                grams: 1_250_000,
            },
        )
        .unwrap();
    let iso: SubjectId = "iso11784:156000012345678".parse().unwrap();
    let weigh = Chain::new(iso)
        .append(&k.gateway, t(0), Event::Weighing { grams: 1_150 })
        .unwrap();
    vec![
        ("registration", reg),
        ("daily-activity", steps),
        ("vaccination", vacc),
        ("transformation", cut),
        ("harvest", harvest),
        ("iso11784-weighing", weigh),
    ]
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        write!(s, "{x:02x}").unwrap();
        s
    })
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn render(v: &[(&str, SignedRecord)]) -> String {
    render_version(v, 1)
}

fn render_version(v: &[(&str, SignedRecord)], version: u16) -> String {
    let mut out = format!(
        "# agritrace format v{version} known-answer vectors. Keys: Ed25519 seeds of 32 repeated bytes\n\
         # (farm 0x11, gateway 0x22, vet 0x33, slaughterhouse 0x55). Frozen: never edit.\n",
    );
    for (name, r) in v {
        write!(
            out,
            "name={name}\nbody={}\nid={}\nsig={}\n",
            hex(r.body()),
            r.id(),
            hex(r.signature())
        )
        .unwrap();
    }
    out
}

struct Frozen {
    name: String,
    body: Vec<u8>,
    id: String,
    sig: [u8; 64],
}

fn frozen() -> Vec<Frozen> {
    frozen_in(KAT)
}

fn frozen_in(kat: &str) -> Vec<Frozen> {
    let lines: Vec<&str> = kat
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    lines
        .chunks(4)
        .map(|c| {
            let field = |i: usize, key: &str| c[i].strip_prefix(key).unwrap().to_owned();
            Frozen {
                name: field(0, "name="),
                body: unhex(&field(1, "body=")),
                id: field(2, "id="),
                sig: unhex(&field(3, "sig=")).try_into().unwrap(),
            }
        })
        .collect()
}

#[test]
fn encoder_reproduces_the_frozen_bytes() {
    let v = vectors();
    if std::env::var_os("AGRITRACE_WRITE_KAT").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kat-v1.txt"),
            render(&v),
        )
        .unwrap();
    }
    let f = frozen();
    assert!(f.len() >= 5);
    assert_same_as_frozen(&f, &v);
}

/// Each vector has the frozen name, body bytes, record ID and signature.
fn assert_same_as_frozen(f: &[Frozen], v: &[(&str, SignedRecord)]) {
    assert_eq!(f.len(), v.len());
    for (fz, (name, rec)) in f.iter().zip(v) {
        assert_eq!(&fz.name, name);
        assert_eq!(
            hex(&fz.body),
            hex(rec.body()),
            "body bytes of {name} changed: that is a format change"
        );
        assert_eq!(fz.id, rec.id().to_string(), "record ID of {name}");
        assert_eq!(hex(&fz.sig), hex(rec.signature()), "signature of {name}");
    }
}

#[test]
fn frozen_bytes_decode_hash_and_verify() {
    let k = keys();
    let trust = trust(&k);
    for fz in frozen() {
        let rec = SignedRecord::from_parts(fz.body.clone(), fz.sig);
        assert_eq!(rec.id().to_string(), fz.id, "{}", fz.name);
        let body = RecordBody::decode(&fz.body).unwrap();
        assert_eq!(body.version(), FORMAT_VERSION);
        assert_eq!(
            body.encode().unwrap(),
            fz.body,
            "{} re-encodes to the same bytes",
            fz.name
        );
        let key = trust.grant(body.signer()).map(|g| g.role);
        assert!(key.is_some(), "{} is signed by a fixture key", fz.name);
        let msg = [b"agritrace/v1/signature\0".as_slice(), rec.id().as_bytes()].concat();
        assert!(
            verify_signature(body.signer().as_bytes(), &fz.sig, &msg),
            "{}",
            fz.name
        );
    }
}

#[test]
fn frozen_chain_prefix_verifies_as_a_chain() {
    let k = keys();
    let f = frozen();
    let records: Vec<SignedRecord> = f[..3]
        .iter()
        .map(|fz| SignedRecord::from_parts(fz.body.clone(), fz.sig))
        .collect();
    let v = Verifier::new(&trust(&k), &Policy::livestock())
        .verify_chain(&pig(), &records)
        .unwrap();
    assert_eq!(v.len(), 3);
}

#[test]
fn layout_of_the_first_fields_is_as_documented() {
    // docs/FORMAT.md: u16 version, u32 subject tag (0 = ear tag), u64 ear-tag code, u64 seq,
    // u8 prev tag (0 = none) …
    let f = frozen();
    let b = &f[0].body;
    assert_eq!(&b[0..2], &1u16.to_le_bytes());
    assert_eq!(&b[2..6], &0u32.to_le_bytes());
    assert_eq!(&b[6..14], &161_083_000_000_042u64.to_le_bytes());
    assert_eq!(&b[14..22], &0u64.to_le_bytes());
    assert_eq!(b[22], 0);
}

/// Format version 2: records made from another system's event name its hash (a GS1 EPCIS
/// CBV event hash) after the event. A v1 registration followed by two imported records.
fn vectors_v2() -> Vec<(&'static str, SignedRecord)> {
    let k = keys();
    let t = |ms| Timestamp::from_millis(ms);
    let mut chain = Chain::new(pig());
    let reg = chain
        .append(&k.farm, t(1_767_225_600_000), registration())
        .unwrap();
    let cbv20: SourceHash =
        "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0"
            .parse()
            .unwrap();
    let cbv21: SourceHash =
        "ni:///sha-256;d3d98bcd059c3e88b80c5e713dee3b5eee2bea4723fe4b8356d0a2bee757a34e?ver=CBV2.1"
            .parse()
            .unwrap();
    let weigh = chain
        .append_sourced(
            &k.gateway,
            t(1_767_312_000_000),
            Event::Weighing { grams: 21_400 },
            cbv20,
        )
        .unwrap();
    let steps = chain
        .append_sourced(
            &k.gateway,
            t(1_767_398_400_000),
            Event::DailyActivity {
                day: Day::from_ymd(2026, 1, 2).unwrap(),
                steps: 15_230,
                device: text("PD-0042"),
            },
            cbv21,
        )
        .unwrap();
    vec![
        ("registration", reg),
        ("epcis-weighing", weigh),
        ("epcis-daily-activity", steps),
    ]
}

#[test]
fn version_2_vectors_are_frozen_decode_and_verify_as_a_chain() {
    let v = vectors_v2();
    if std::env::var_os("AGRITRACE_WRITE_KAT").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kat-v2.txt"),
            render_version(&v, 2),
        )
        .unwrap();
    }
    let f = frozen_in(KAT_V2);
    assert_same_as_frozen(&f, &v);
    let k = keys();
    for fz in &f {
        let name = &fz.name;
        let body = RecordBody::decode(&fz.body).unwrap();
        assert_eq!(
            body.encode().unwrap(),
            fz.body,
            "{name} re-encodes to the same bytes"
        );
        let sourced = body.source().is_some();
        assert_eq!(
            body.version(),
            if sourced {
                FORMAT_VERSION_SOURCED
            } else {
                FORMAT_VERSION
            }
        );
    }
    // Layout: version 2, then the v1 fields, then the source: u32 variant, 32 digest bytes.
    let b = &f[1].body;
    assert_eq!(&b[0..2], &2u16.to_le_bytes());
    let tail = &b[b.len() - 36..];
    assert_eq!(&tail[..4], &0u32.to_le_bytes());
    assert_eq!(
        hex(&tail[4..]),
        "6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7"
    );
    let v1 = RecordBody::decode(&f[0].body).unwrap();
    assert_eq!(v1.source(), None);
    assert_eq!(
        f[0].body,
        frozen()[0].body,
        "the v1 registration is the frozen v1 vector"
    );
    let records: Vec<SignedRecord> = f
        .iter()
        .map(|fz| SignedRecord::from_parts(fz.body.clone(), fz.sig))
        .collect();
    let chain = Verifier::new(&trust(&k), &Policy::livestock())
        .verify_chain(&pig(), &records)
        .unwrap();
    assert_eq!(chain.len(), 3);
    // A version 2 body without its source, or a version 1 body with one, does not decode.
    let mut cut = f[1].body.clone();
    cut.truncate(cut.len() - 36);
    assert!(RecordBody::decode(&cut).is_err());
    let mut relabelled = f[1].body.clone();
    relabelled[0] = 1;
    assert!(RecordBody::decode(&relabelled).is_err());
}
