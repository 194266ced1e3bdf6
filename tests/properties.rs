//! Property tests: canonical round-trips for arbitrary events, and untrusted bytes that never
//! panic and never verify.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    reason = "tests fail by panicking; short names keep mutation code readable"
)]

mod common;

use agritrace::*;
use common::*;
use proptest::prelude::*;

fn text_s() -> impl Strategy<Value = Text> {
    "[a-zA-Z0-9 +'-]{1,24}|[猪栗蜜黑]{1,8}".prop_map(|s| Text::new(&s).unwrap())
}

fn day_s() -> impl Strategy<Value = Day> {
    (-40_000i32..80_000).prop_map(Day::from_days_since_epoch)
}

fn subject_s() -> impl Strategy<Value = SubjectId> {
    prop_oneof![
        (1u8..=3, 0u32..100_000_000).prop_map(|(sp, serial)| {
            let species = Species::from_code(sp).unwrap();
            SubjectId::EarTag(EarTag::new(species, 610_830, serial).unwrap())
        }),
        (1u16..=998, 0u64..1_000_000_000_000)
            .prop_map(|(c, n)| SubjectId::Iso11784(Iso11784::new(c, n).unwrap())),
        (0u64..10_000_000_000_000, "[A-Z0-9-]{1,20}").prop_map(|(body, lot)| {
            let gtin = body * 10 + u64::from(gtin_check_digit(body));
            SubjectId::Lot(GtinLot::new(gtin, &lot).unwrap())
        }),
    ]
}

fn lineage_s() -> impl Strategy<Value = LineageRef> {
    (subject_s(), any::<[u8; 32]>()).prop_map(|(subject, id)| LineageRef {
        subject,
        record: RecordId::from_bytes(id),
    })
}

fn event_s() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            text_s(),
            prop_oneof![Just(Sex::Female), Just(Sex::Male), Just(Sex::Castrated)],
            day_s(),
            text_s(),
            proptest::option::of(subject_s())
        )
            .prop_map(
                |(breed, sex, birth_date, origin_site, dam)| Event::Registration(Box::new(
                    Registration {
                        species: Species::Pig,
                        breed,
                        sex,
                        birth_date,
                        origin_site,
                        dam,
                        sire: None,
                    }
                ))
            ),
        (
            text_s(),
            prop_oneof![
                Just(DeviceKind::Pedometer),
                Just(DeviceKind::Scale),
                Just(DeviceKind::RfidTag)
            ]
        )
            .prop_map(|(device, kind)| Event::DeviceAttached { device, kind }),
        text_s().prop_map(|device| Event::DeviceDetached { device }),
        any::<u32>().prop_map(|grams| Event::Weighing { grams }),
        (day_s(), any::<u32>(), text_s()).prop_map(|(day, steps, device)| Event::DailyActivity {
            day,
            steps,
            device
        }),
        (text_s(), any::<u32>()).prop_map(|(feed, grams)| Event::Feeding { feed, grams }),
        (text_s(), any::<u16>(), any::<bool>()).prop_map(|(product, withdrawal_days, vacc)| {
            Event::Treatment {
                kind: if vacc {
                    TreatmentKind::Vaccination
                } else {
                    TreatmentKind::Medication
                },
                product,
                withdrawal_days,
            }
        }),
        (proptest::option::of(text_s()), 0u8..3).prop_map(|(certificate, r)| Event::Inspection {
            kind: InspectionKind::Quarantine,
            result: [
                InspectionResult::Pass,
                InspectionResult::Fail,
                InspectionResult::Pending
            ][usize::from(r)],
            certificate,
        }),
        (text_s(), text_s()).prop_map(|(from_site, to_site)| Event::Move { from_site, to_site }),
        text_s().prop_map(|to_party| Event::CustodyTransfer { to_party }),
        any::<u32>().prop_map(|carcass_grams| Event::Slaughter { carcass_grams }),
        (
            proptest::collection::vec(lineage_s(), 1..5),
            text_s(),
            any::<u64>()
        )
            .prop_map(|(parents, product, grams)| Event::Transformation {
                parents,
                product,
                grams
            }),
        lineage_s().prop_map(|container| Event::Aggregation { container }),
        lineage_s().prop_map(|container| Event::Disaggregation { container }),
        (text_s(), text_s(), any::<u64>()).prop_map(|(crop, site, grams)| Event::Harvest {
            crop,
            site,
            grams
        }),
        (text_s(), any::<u64>()).prop_map(|(buyer, price_fen)| Event::Sale { buyer, price_fen }),
        text_s().prop_map(|reason| Event::Recall {
            kind: RecallKind::Hold,
            reason
        }),
        Just(Event::EndOfChain {
            reason: EndReason::Consumed
        }),
    ]
}

/// A subject the event is valid for (lineage never points at itself; species agree).
fn fits(subject: &SubjectId, e: &Event) -> bool {
    let own = e.lineage().iter().any(|p| &p.subject == subject);
    let species =
        matches!(e, Event::Registration(r) if subject.species().is_some_and(|s| s != r.species));
    !own && !species
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_encode_is_the_identity(subject in subject_s(), event in event_s(), ms in any::<i64>()) {
        prop_assume!(fits(&subject, &event));
        let signer = Signer::from_seed([1; 32]);
        let rec = Chain::new(subject.clone()).append(&signer, Timestamp::from_millis(ms), event.clone()).unwrap();
        let body = RecordBody::decode(rec.body()).unwrap();
        prop_assert_eq!(body.event(), &event);
        prop_assert_eq!(body.subject(), &subject);
        prop_assert_eq!(body.time(), Timestamp::from_millis(ms));
        prop_assert_eq!(body.encode().unwrap(), rec.body().to_vec());
        // Frames round-trip too.
        let mut frame = Vec::new();
        rec.write_frame(&mut frame);
        let (back, used) = SignedRecord::read_frame(&frame).unwrap();
        prop_assert_eq!(used, frame.len());
        prop_assert_eq!(back, rec);
    }

    #[test]
    fn random_bytes_never_panic_and_never_verify(body in proptest::collection::vec(any::<u8>(), 0..400), sig in any::<[u8; 32]>()) {
        let _ = RecordBody::decode(&body);
        let _ = SignedRecord::read_frame(&body);
        let _ = LedgerReader::new(body.as_slice()).map(Iterator::count);
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&sig);
        let k = keys();
        let rec = SignedRecord::from_parts(body, signature);
        let verifier_trust = trust(&k);
        let policy = Policy::livestock();
        let v = Verifier::new(&verifier_trust, &policy);
        prop_assert!(v.verify_chain(&pig(), std::slice::from_ref(&rec)).is_err());
        prop_assert!(v.verify_set(std::slice::from_ref(&rec)).is_err());
    }

    #[test]
    fn random_text_never_panics_as_an_id(s in "\\PC{0,40}") {
        let _ = s.parse::<SubjectId>();
        let _ = s.parse::<EarTag>();
        let _ = s.parse::<GtinLot>();
        let _ = s.parse::<RecordId>();
    }

    #[test]
    fn valid_ids_round_trip_through_text(subject in subject_s()) {
        let text = subject.to_string();
        prop_assert_eq!(text.parse::<SubjectId>().unwrap(), subject);
    }
}

proptest! {
    // About one case in six lands on another valid body.
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// Record bodies are decoded without a re-encoding pass (DESIGN §5), so every body the
    /// decoder accepts must already be the one encoding of its value. Mutations of valid
    /// bodies of every event kind, of both format versions, often land on other valid bodies; each must re-encode to
    /// exactly the bytes it was decoded from.
    #[test]
    fn accepted_bodies_are_canonical(
        subject in subject_s(),
        event in event_s(),
        ms in any::<i64>(),
        muts in proptest::collection::vec(mutation_s(), 1..3),
        source in proptest::option::of(any::<[u8; 32]>()),
    ) {
        prop_assume!(fits(&subject, &event));
        let signer = Signer::from_seed([1; 32]);
        let mut chain = Chain::new(subject);
        let t = Timestamp::from_millis(ms);
        // Version 1 bodies, and version 2 bodies naming a source event.
        let rec = match source {
            Some(d) => chain.append_sourced(&signer, t, event, SourceHash::EpcisCbv20(d)).unwrap(),
            None => chain.append(&signer, t, event).unwrap(),
        };
        let mut body = rec.body().to_vec();
        for m in &muts {
            mutate(&mut body, m);
        }
        if let Ok(decoded) = RecordBody::decode(&body) {
            prop_assert_eq!(decoded.encode().unwrap(), body);
        }
    }
}

/// A valid chain of five records (shared across cases: signing is the slow part).
fn chain5() -> &'static (Keys, Vec<SignedRecord>) {
    static CHAIN: std::sync::OnceLock<(Keys, Vec<SignedRecord>)> = std::sync::OnceLock::new();
    CHAIN.get_or_init(|| {
        let k = keys();
        let c = pig_chain(&k)[..5].to_vec();
        (k, c)
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Overwrite(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Extend(Vec<u8>),
    SigByte(usize, u8),
}

/// Applies a body mutation (a signature mutation leaves the body alone).
fn mutate(body: &mut Vec<u8>, m: &Mutation) {
    let n = body.len().max(1);
    match m {
        Mutation::Flip(i, mask) => {
            if let Some(b) = body.get_mut(i % n) {
                *b ^= mask;
            }
        }
        Mutation::Overwrite(i, v) => {
            if let Some(b) = body.get_mut(i % n) {
                *b = *v;
            }
        }
        Mutation::Insert(i, v) => body.insert(i % (body.len() + 1), *v),
        Mutation::Delete(i) => {
            if !body.is_empty() {
                body.remove(i % n);
            }
        }
        Mutation::Truncate(i) => body.truncate(i % n),
        Mutation::Extend(extra) => body.extend_from_slice(extra),
        Mutation::SigByte(..) => {}
    }
}

fn mutation_s() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        (0usize..64, 1u8..=255).prop_map(|(i, m)| Mutation::SigByte(i, m)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn mutated_records_never_verify(which in 0usize..5, muts in proptest::collection::vec(mutation_s(), 1..4)) {
        let (k, chain) = chain5();
        let orig = &chain[which];
        let mut body = orig.body().to_vec();
        let mut sig = *orig.signature();
        for m in &muts {
            match m {
                Mutation::SigByte(i, mask) => sig[*i] ^= mask,
                m => mutate(&mut body, m),
            }
        }
        let mutated = SignedRecord::from_parts(body, sig);
        prop_assume!(&mutated != orig);
        let mut records = chain.clone();
        records[which] = mutated;
        let ts = trust(k);
        let policy = Policy::livestock();
        let err = Verifier::new(&ts, &policy).verify_chain(&pig(), &records).unwrap_err();
        prop_assert_eq!(err.index, which);
        let errs = Verifier::new(&ts, &policy).verify_set(&records).unwrap_err();
        // The set verifier blames the same record first; a record that no longer decodes
        // also leaves the rest of its chain without a start, which is reported too.
        prop_assert_eq!(errs.errors[0].index, which);
    }
}
