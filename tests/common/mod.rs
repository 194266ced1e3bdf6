//! Shared fixtures: fixed-seed keys, a trust store, a 20-record pig chain, and a lineage
//! set (pig → cut → pack).
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "test fixture"
)]

use agritrace::trust::TrustChange;
use agritrace::*;

pub mod store_suite;

/// The operator (log) key of test stores.
pub fn operator() -> LogSigner {
    LogSigner::new("log.example.org/test", Signer::from_seed([0x0C; 32])).unwrap()
}

/// Grants every test key in `store`, as one statement by [`operator`].
pub fn grant_all<S: Store>(store: &S, k: &Keys) {
    store
        .update_trust(
            &operator(),
            Timestamp::from_millis(0),
            TrustChange::all_of(&trust(k)),
        )
        .unwrap();
}

/// An in-memory store pinning [`operator`] and trusting every test key.
pub fn memory_store(k: &Keys) -> SqliteStore {
    let store = SqliteStore::create_in_memory(operator().verifier()).unwrap();
    grant_all(&store, k);
    store
}

pub struct Keys {
    pub farm: Signer,
    pub gateway: Signer,
    pub vet: Signer,
    pub transporter: Signer,
    pub slaughterhouse: Signer,
    pub processor: Signer,
    pub retailer: Signer,
}

pub fn keys() -> Keys {
    Keys {
        farm: Signer::from_seed([0x11; 32]),
        gateway: Signer::from_seed([0x22; 32]),
        vet: Signer::from_seed([0x33; 32]),
        transporter: Signer::from_seed([0x44; 32]),
        slaughterhouse: Signer::from_seed([0x55; 32]),
        processor: Signer::from_seed([0x66; 32]),
        retailer: Signer::from_seed([0x77; 32]),
    }
}

pub fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

/// Start of the fixture's history: 2026-01-01.
pub fn day0() -> Day {
    Day::from_ymd(2026, 1, 1).unwrap()
}

/// Noon on day `n` after [`day0`].
pub fn at(n: i32) -> Timestamp {
    Timestamp::at_start_of(Day::from_days_since_epoch(day0().days_since_epoch() + n))
        .saturating_add_millis(12 * 3_600_000)
}

pub fn trust(k: &Keys) -> TrustStore {
    let mut t = TrustStore::new();
    let since = Timestamp::from_millis(0);
    for (s, party, role) in [
        (&k.farm, "Qingjian Black Pig Cooperative", Role::Farm),
        (&k.gateway, "pen 3 pedometer gateway", Role::Device),
        (&k.vet, "Dr. Li, county animal clinic", Role::Vet),
        (
            &k.transporter,
            "Yulin Livestock Transport",
            Role::Transporter,
        ),
        (
            &k.slaughterhouse,
            "Suide Meat Processing",
            Role::Slaughterhouse,
        ),
        (&k.processor, "Xi'an Fresh Pack", Role::Processor),
        (&k.retailer, "Xi'an Market 12", Role::Retailer),
    ] {
        t.add(s.public_key(), KeyGrant::new(text(party), role, since))
            .unwrap();
    }
    t
}

pub fn pig() -> SubjectId {
    "eartag:161083000000042".parse().unwrap()
}

pub fn other_pig() -> SubjectId {
    "eartag:161083000000043".parse().unwrap()
}

pub fn registration() -> Event {
    Event::Registration(Box::new(Registration {
        species: Species::Pig,
        breed: text("Bamei"),
        sex: Sex::Castrated,
        birth_date: day0(),
        origin_site: text("Qingjian farm 2"),
        dam: Some("eartag:161083000000007".parse().unwrap()),
        sire: None,
    }))
}

/// The events of the 20-record chain and who signs each.
pub fn life(k: &Keys) -> Vec<(&Signer, Event)> {
    let mut v: Vec<(&Signer, Event)> = vec![
        (&k.farm, registration()),
        (
            &k.farm,
            Event::DeviceAttached {
                device: text("PD-0042"),
                kind: DeviceKind::Pedometer,
            },
        ),
    ];
    for d in 0..8 {
        let day = Day::from_days_since_epoch(day0().days_since_epoch() + 2 + d);
        v.push((
            &k.gateway,
            Event::DailyActivity {
                day,
                steps: 14_000 + 300 * u32::try_from(d).unwrap(),
                device: text("PD-0042"),
            },
        ));
    }
    v.extend([
        (&k.gateway, Event::Weighing { grams: 31_500 }),
        (
            &k.gateway,
            Event::Feeding {
                feed: text("corn + soybean meal"),
                grams: 1_600,
            },
        ),
        (
            &k.vet,
            Event::Treatment {
                kind: TreatmentKind::Vaccination,
                product: text("classical swine fever vaccine"),
                withdrawal_days: 28,
            },
        ),
        (
            &k.vet,
            Event::Inspection {
                kind: InspectionKind::Quarantine,
                result: InspectionResult::Pass,
                certificate: Some(text("SX-QJ-2026-000123")),
            },
        ),
        (
            &k.transporter,
            Event::Move {
                from_site: text("Qingjian farm 2"),
                to_site: text("Suide abattoir"),
            },
        ),
        (
            &k.transporter,
            Event::CustodyTransfer {
                to_party: text("Suide Meat Processing"),
            },
        ),
        (&k.farm, Event::Weighing { grams: 118_000 }),
        (
            &k.farm,
            Event::Sale {
                buyer: text("Suide Meat Processing"),
                price_fen: 3_540_000,
            },
        ),
        (
            &k.slaughterhouse,
            Event::Slaughter {
                carcass_grams: 86_000,
            },
        ),
        (
            &k.slaughterhouse,
            Event::EndOfChain {
                reason: EndReason::Slaughtered,
            },
        ),
    ]);
    assert_eq!(v.len(), 20);
    v
}

/// Builds a chain for `subject` from `(signer, event)` pairs, one day apart from day `start`.
pub fn build(subject: &SubjectId, start: i32, events: Vec<(&Signer, Event)>) -> Vec<SignedRecord> {
    let mut chain = Chain::new(subject.clone());
    events
        .into_iter()
        .enumerate()
        .map(|(i, (s, e))| {
            chain
                .append(s, at(start + i32::try_from(i).unwrap()), e)
                .unwrap()
        })
        .collect()
}

/// The 20-record chain of [`pig`].
pub fn pig_chain(k: &Keys) -> Vec<SignedRecord> {
    build(&pig(), 0, life(k))
}

pub fn cut() -> SubjectId {
    SubjectId::Lot(GtinLot::new(6_901_234_567_892, "QJ-CUT-0042").unwrap())
}

pub fn pack() -> SubjectId {
    SubjectId::Lot(GtinLot::new(9_506_000_134_352, "QJ-PACK-0042").unwrap())
}

/// Pig chain, a cut derived from its slaughter record, and a pack derived from the cut.
pub fn lineage_set(k: &Keys) -> Vec<SignedRecord> {
    let pig_records = pig_chain(k);
    let slaughter_id = pig_records[18].id();
    let cut_records = build(
        &cut(),
        19,
        vec![
            (
                &k.slaughterhouse,
                Event::Transformation {
                    parents: vec![LineageRef {
                        subject: pig(),
                        record: slaughter_id,
                    }],
                    product: text("pork belly"),
                    grams: 9_000,
                },
            ),
            (
                &k.slaughterhouse,
                Event::CustodyTransfer {
                    to_party: text("Xi'an Fresh Pack"),
                },
            ),
        ],
    );
    let pack_records = build(
        &pack(),
        21,
        vec![
            (
                &k.processor,
                Event::Transformation {
                    parents: vec![LineageRef {
                        subject: cut(),
                        record: cut_records[1].id(),
                    }],
                    product: text("pork belly 500 g tray"),
                    grams: 500,
                },
            ),
            (
                &k.retailer,
                Event::Sale {
                    buyer: text("consumer"),
                    price_fen: 4_500,
                },
            ),
        ],
    );
    let mut all = pig_records;
    all.extend(cut_records);
    all.extend(pack_records);
    all
}

/// Runs this test binary again as a child process — its test `child_entry`, with
/// `AGRITRACE_CHILD=mode`, `AGRITRACE_STORE=store` (a path or a URL) and
/// `AGRITRACE_WRITER=writer` — with its stdout piped: the process tests' writers.
pub fn child_process(mode: &str, store: &str, writer: u32) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_entry",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("AGRITRACE_CHILD", mode)
        .env("AGRITRACE_STORE", store)
        .env("AGRITRACE_WRITER", writer.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// What [`child_process`] gave the child: its mode, store and writer number (`None` when
/// the test binary runs as an ordinary test).
pub fn child_args() -> Option<(String, String, u32)> {
    let mode = std::env::var("AGRITRACE_CHILD").ok()?;
    let store = std::env::var("AGRITRACE_STORE").ok()?;
    let writer = std::env::var("AGRITRACE_WRITER").ok()?.parse().unwrap();
    Some((mode, store, writer))
}

/// A small deterministic generator (xorshift64) for the process tests' kill delays.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
