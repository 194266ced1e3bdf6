//! A deterministic demo cooperative: Qingjian black pigs with pedometers, scales, a vet, a
//! transporter, a slaughterhouse, a processor and a retailer; cuts and packs; chestnut and
//! honey lots. Used by the examples, the benchmarks and the tests.
//!
//! Figures follow DESIGN §9: Bamei and Guanzhong Black pigs grow on a Gompertz curve to
//! about 110 kg at 300–360 days, DLY crosses to about 120 kg at 160–180 days; black pigs in
//! the exercise programme walk about 15,500 ± 2,500 steps a day, piglets 3,000–8,000; 1–3%
//! of device-days are missing.

use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::chain::Chain;
use crate::event::{
    DeviceKind, EndReason, Event, InspectionKind, InspectionResult, LineageRef, Registration, Sex,
    Text, TreatmentKind,
};
use crate::hash;
use crate::id::{EarTag, GtinLot, Species, SubjectId, gtin_check_digit};
use crate::record::{LEDGER_MAGIC, RecordId, SignedRecord};
use crate::signing::{PublicKey, Signer};
use crate::store::{SqliteStore, Store, StoreError};
use crate::time::{Day, Timestamp};
use crate::tlog::{CheckpointError, LogSigner};
use crate::trust::{KeyGrant, Role, TrustChange, TrustStore};

/// The demo cooperative's log origin: the name of its operator (log) key.
pub const DEMO_ORIGIN: &str = "log.qingjian-coop.example/v1";

/// GB/T 2260 code of Qingjian county, Shaanxi.
pub const QINGJIAN: u32 = 610_830;

/// First ear-tag serial the demo hands out.
pub const FIRST_SERIAL: u32 = 1001;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed: the same seed gives the same keys and the same bytes.
    pub seed: u64,
    /// Number of pigs.
    pub pigs: u32,
    /// Number of farms in the cooperative (each with its own farm, gateway and scale keys).
    pub farms: u32,
    /// First day of the history.
    pub start: Day,
    /// Length of the history in days: pigs born in it, slaughtered when they reach market
    /// age inside it, still growing at its end otherwise.
    pub days: u32,
    /// Pigs are born within this many days of `start`.
    pub birth_window: u32,
    /// Whether to add chestnut and honey lots.
    pub produce: bool,
}

/// The seed of the demo's operator (log) key: public, for demo data only.
pub const DEMO_OPERATOR_SEED: [u8; 32] = [0xA1; 32];

impl DemoConfig {
    /// The default demo: 300 pigs on 3 farms over 420 days from 2025-03-01, with produce
    /// lots. Builds in a few seconds.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            pigs: 300,
            farms: 3,
            start: Day::from_ymd(2025, 3, 1).unwrap_or(Day::from_days_since_epoch(20_148)),
            days: 420,
            birth_window: 120,
            produce: true,
        }
    }

    /// A benchmark ledger: `pigs` young pigs with about `records_per_pig` records each,
    /// no produce lots.
    #[must_use]
    pub fn bench(seed: u64, pigs: u32, records_per_pig: u32) -> Self {
        // Per pig: ~0.98 step records a day after day 21, 2 records a week, ~5 others.
        let days = (f64::from(records_per_pig) + 16.0) / (0.98 + 2.0 / 7.0);
        Self {
            pigs,
            days: f64_to_u32(days),
            birth_window: 1,
            produce: false,
            ..Self::new(seed)
        }
    }

    /// The ear tag of the pig with index `i` (0-based), `None` past the serial range.
    #[must_use]
    pub fn pig(&self, i: u32) -> Option<SubjectId> {
        pig_id(i)
    }

    /// The demo's keys (derived from the seed).
    #[must_use]
    pub fn keys(&self) -> DemoKeys {
        DemoKeys::new(self.seed, self.farms)
    }

    /// The trust store for the demo's keys: every key valid from 2020-01-01, open-ended.
    #[must_use]
    pub fn trust(&self) -> TrustStore {
        self.keys().trust()
    }

    /// The demo's operator (log) key, the same for every seed. Its secret is public: demo
    /// data only.
    ///
    /// # Errors
    /// Never in practice ([`DEMO_ORIGIN`] is a valid key name).
    pub fn operator(&self) -> Result<LogSigner, CheckpointError> {
        LogSigner::new(DEMO_ORIGIN, Signer::from_seed(DEMO_OPERATOR_SEED))
    }

    /// Pins the demo operator in a new store at `path` (in memory for `None`) and grants
    /// every demo key, dated 2020-01-01. The store is empty of records: append
    /// [`DemoConfig::generate`]'s records, in order.
    ///
    /// # Errors
    /// The store's errors ([`StoreError::Exists`] when `path` already holds a store).
    pub fn create_store(&self, path: Option<&Path>) -> Result<SqliteStore, StoreError> {
        let operator = self
            .operator()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let store = match path {
            Some(p) => SqliteStore::create(p, operator.verifier())?,
            None => SqliteStore::create_in_memory(operator.verifier())?,
        };
        let since = Timestamp::at_start_of(Day::from_days_since_epoch(18_262));
        store.update_trust(&operator, since, TrustChange::all_of(&self.trust()))?;
        Ok(store)
    }

    /// All records of pig `i` and what was made from it (cuts, then packs), in an order
    /// that is a valid log order on its own.
    #[must_use]
    pub fn pig_records(&self, keys: &DemoKeys, i: u32) -> Vec<SignedRecord> {
        PigLife::new(self, keys, i).records()
    }

    /// [`DemoConfig::pig_records`] of each pig in `pigs`, one after the other (a valid log
    /// order), signed on all cores.
    #[must_use]
    pub fn pigs_records(&self, keys: &DemoKeys, pigs: std::ops::Range<u32>) -> Vec<SignedRecord> {
        pigs.into_par_iter()
            .map(|i| self.pig_records(keys, i))
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect()
    }

    /// The produce lots (chestnuts, honey and a honey blend).
    #[must_use]
    pub fn produce_records(&self, keys: &DemoKeys) -> Vec<SignedRecord> {
        produce(self, keys)
    }

    /// Generates everything in memory, in log order (by time).
    #[must_use]
    pub fn generate(&self) -> DemoFarm {
        let keys = self.keys();
        let mut timed: Vec<(Timestamp, usize, SignedRecord)> = (0..self.pigs)
            .into_par_iter()
            .flat_map_iter(|i| {
                self.pig_records(&keys, i)
                    .into_iter()
                    .map(move |r| (time_of(&r), i as usize, r))
            })
            .collect();
        if self.produce {
            let n = self.pigs as usize;
            timed.extend(
                self.produce_records(&keys)
                    .into_iter()
                    .map(|r| (time_of(&r), n, r)),
            );
        }
        // Stable: records of one subject keep their chain order (times never decrease along
        // a chain), and a derived record is always later than its parent.
        timed.sort_by_key(|(t, i, _)| (*t, *i));
        DemoFarm {
            trust: keys.trust(),
            records: timed.into_iter().map(|(_, _, r)| r).collect(),
        }
    }

    /// Streams the ledger to `out` as a ledger file, pig by pig (each pig followed by its
    /// cuts and packs), generating in parallel batches: memory stays small whatever the
    /// size. Returns the number of records written.
    ///
    /// # Errors
    /// Any I/O error from `out`.
    pub fn write_ledger<W: Write>(&self, mut out: W) -> io::Result<u64> {
        let keys = self.keys();
        out.write_all(LEDGER_MAGIC)?;
        let mut count = 0u64;
        let mut buf = Vec::new();
        let mut first = 0;
        while first < self.pigs {
            let last = first.saturating_add(512).min(self.pigs);
            let batch: Vec<Vec<SignedRecord>> = (first..last)
                .into_par_iter()
                .map(|i| self.pig_records(&keys, i))
                .collect();
            for r in batch.iter().flatten() {
                buf.clear();
                r.write_frame(&mut buf);
                out.write_all(&buf)?;
                count += 1;
            }
            first = last;
        }
        if self.produce {
            for r in self.produce_records(&keys) {
                buf.clear();
                r.write_frame(&mut buf);
                out.write_all(&buf)?;
                count += 1;
            }
        }
        out.flush()?;
        Ok(count)
    }
}

/// A generated demo: its trust store and its records in log order.
#[derive(Debug)]
pub struct DemoFarm {
    /// Trust store holding every demo key.
    pub trust: TrustStore,
    /// Every record, in log order.
    pub records: Vec<SignedRecord>,
}

/// The demo's signers, derived from the seed.
pub struct DemoKeys {
    /// Per farm: the farm's own key.
    pub farms: Vec<Signer>,
    /// Per farm: the pedometer gateway.
    pub gateways: Vec<Signer>,
    /// Per farm: the weighing scale.
    pub scales: Vec<Signer>,
    /// The county vet.
    pub vet: Signer,
    /// The transporter.
    pub transporter: Signer,
    /// The slaughterhouse.
    pub slaughterhouse: Signer,
    /// The processor and packer.
    pub processor: Signer,
    /// The retailer.
    pub retailer: Signer,
}

impl DemoKeys {
    fn new(seed: u64, farms: u32) -> Self {
        let key = |name: &str| {
            let mut input = seed.to_le_bytes().to_vec();
            input.extend_from_slice(name.as_bytes());
            Signer::from_seed(hash::tagged(b"agritrace/demo/key\0", &input))
        };
        Self {
            farms: (0..farms).map(|f| key(&format!("farm {f}"))).collect(),
            gateways: (0..farms).map(|f| key(&format!("gateway {f}"))).collect(),
            scales: (0..farms).map(|f| key(&format!("scale {f}"))).collect(),
            vet: key("vet"),
            transporter: key("transporter"),
            slaughterhouse: key("slaughterhouse"),
            processor: key("processor"),
            retailer: key("retailer"),
        }
    }

    /// Every key with its party name and role.
    #[must_use]
    pub fn named(&self) -> Vec<(PublicKey, String, Role)> {
        let mut v = Vec::new();
        for (f, ((farm, gw), scale)) in self
            .farms
            .iter()
            .zip(&self.gateways)
            .zip(&self.scales)
            .enumerate()
        {
            let n = f + 1;
            v.push((
                farm.public_key(),
                format!("Qingjian Black Pig Cooperative, farm {n}"),
                Role::Farm,
            ));
            v.push((
                gw.public_key(),
                format!("farm {n} pedometer gateway"),
                Role::Device,
            ));
            v.push((
                scale.public_key(),
                format!("farm {n} weighing scale"),
                Role::Device,
            ));
        }
        v.push((
            self.vet.public_key(),
            "Dr. Li Wei, Qingjian county animal clinic".into(),
            Role::Vet,
        ));
        v.push((
            self.transporter.public_key(),
            "Yulin Livestock Transport".into(),
            Role::Transporter,
        ));
        v.push((
            self.slaughterhouse.public_key(),
            "Suide Meat Processing (abattoir)".into(),
            Role::Slaughterhouse,
        ));
        v.push((
            self.processor.public_key(),
            "Xi'an Fresh Pack".into(),
            Role::Processor,
        ));
        v.push((
            self.retailer.public_key(),
            "Xi'an Qujiang Market".into(),
            Role::Retailer,
        ));
        v
    }

    /// The trust store for these keys.
    #[must_use]
    pub fn trust(&self) -> TrustStore {
        let since = Timestamp::at_start_of(
            Day::from_ymd(2020, 1, 1).unwrap_or(Day::from_days_since_epoch(18_262)),
        );
        let mut t = TrustStore::new();
        for (key, party, role) in self.named() {
            if let Ok(party) = Text::new(&party) {
                // Keys derived from distinct names are distinct and valid.
                let _ = t.add(key, KeyGrant::new(party, role, since));
            }
        }
        t
    }
}

/// The ear tag of demo pig `i` (`None` only past 99,999,999 pigs).
fn pig_id(i: u32) -> Option<SubjectId> {
    let serial = FIRST_SERIAL.checked_add(i)?;
    EarTag::new(Species::Pig, QINGJIAN, serial)
        .ok()
        .map(SubjectId::EarTag)
}

/// A GTIN-14 with company prefix 690123456 and a product code, check digit computed.
fn gtin(product: u64) -> u64 {
    let body = 690_123_456_000 + product % 1000;
    body * 10 + u64::from(gtin_check_digit(body))
}

fn lot(product: u64, lot: &str) -> Option<SubjectId> {
    GtinLot::new(gtin(product), lot).ok().map(SubjectId::Lot)
}

fn text(s: &str) -> Option<Text> {
    Text::new(s).ok()
}

fn time_of(r: &SignedRecord) -> Timestamp {
    crate::record::RecordBody::decode(r.body()).map_or(Timestamp::from_millis(0), |b| b.time())
}

fn f64_to_u32(x: f64) -> u32 {
    // Invariant: demo quantities are small positive numbers.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to u32 range"
    )]
    let v = x.clamp(0.0, f64::from(u32::MAX)).round() as u32;
    v
}

/// `SplitMix64`: small, fast, and stable across versions (unlike a library RNG's streams).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Self(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        #[allow(
            clippy::cast_precision_loss,
            reason = "53 random bits into an f64 mantissa"
        )]
        let v = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        v
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: u32) -> u32 {
        u32::try_from(self.next() % u64::from(n.max(1))).unwrap_or(0)
    }
    /// Approximately normal (sum of uniforms).
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..6).map(|_| self.unit()).sum::<f64>() - 3.0;
        mean + sd * s * std::f64::consts::SQRT_2
    }
}

/// Breeds and their growth parameters.
#[derive(Clone, Copy)]
enum Breed {
    Bamei,
    GuanzhongBlack,
    Dly,
}

impl Breed {
    fn name(self) -> &'static str {
        match self {
            Self::Bamei => "Bamei 八眉猪",
            Self::GuanzhongBlack => "Guanzhong Black 关中黑猪",
            Self::Dly => "DLY (Duroc x Landrace x Large White)",
        }
    }
    /// (mature weight kg, Gompertz rate per day, market age days range)
    fn growth(self) -> (f64, f64, (u32, u32)) {
        match self {
            Self::Bamei => (190.0, 0.0068, (300, 360)),
            Self::GuanzhongBlack => (210.0, 0.0064, (300, 350)),
            Self::Dly => (300.0, 0.0106, (160, 180)),
        }
    }
    fn exercises(self) -> bool {
        !matches!(self, Self::Dly)
    }
}

const HOUR: i64 = 3_600_000;

/// Collects the records the demo appends (an append the chain refuses is left out; the
/// demo's tests check that none is).
struct Out(Vec<SignedRecord>);

impl Out {
    fn push(&mut self, chain: &mut Chain, signer: &Signer, t: Timestamp, event: Option<Event>) {
        if let Some(r) = event.and_then(|e| chain.append(signer, t, e).ok()) {
            self.0.push(r);
        }
    }
}

/// The fixed facts of one pig, drawn from its random stream.
struct Plan {
    pig: SubjectId,
    breed: Breed,
    birth: Day,
    /// Gompertz parameters: mature weight (kg), b, rate (per day).
    growth: (f64, f64, f64),
    market_age: i32,
    slaughter_day: i32,
    last_day: i32,
    site: String,
    device: String,
}

impl Plan {
    fn weight_kg(&self, age: f64) -> f64 {
        let (mature, b, rate) = self.growth;
        mature * (-b * (-rate * age).exp()).exp()
    }
}

/// One pig's generated life.
struct PigLife<'a> {
    cfg: &'a DemoConfig,
    keys: &'a DemoKeys,
    i: u32,
    farm: usize,
    rng: Rng,
}

impl<'a> PigLife<'a> {
    fn new(cfg: &'a DemoConfig, keys: &'a DemoKeys, i: u32) -> Self {
        let farm = usize::try_from(i % cfg.farms.max(1)).unwrap_or(0);
        Self {
            cfg,
            keys,
            i,
            farm,
            rng: Rng::new(cfg.seed, u64::from(i)),
        }
    }

    fn at(day: Day, hour: i64) -> Timestamp {
        Timestamp::at_start_of(day).saturating_add_millis(hour * HOUR)
    }

    fn records(mut self) -> Vec<SignedRecord> {
        let Some(plan) = self.plan() else {
            return Vec::new();
        };
        let mut out = Out(Vec::new());
        let mut chain = Chain::new(plan.pig.clone());
        self.register(&plan, &mut chain, &mut out);
        for d in plan.birth.days_since_epoch() + 1..=plan.last_day {
            self.day(&plan, Day::from_days_since_epoch(d), &mut chain, &mut out);
        }
        let end = self.cfg.start.days_since_epoch() + i32::try_from(self.cfg.days).unwrap_or(0);
        if plan.slaughter_day <= end
            && let Some(slaughter) = self.slaughter(&plan, &mut chain, &mut out)
        {
            self.products(&plan, slaughter, &mut out);
        }
        out.0
    }

    fn plan(&mut self) -> Option<Plan> {
        let pig = pig_id(self.i)?;
        let breed = match self.rng.below(100) {
            0..=34 => Breed::Bamei,
            35..=69 => Breed::GuanzhongBlack,
            _ => Breed::Dly,
        };
        let birth = Day::from_days_since_epoch(
            self.cfg.start.days_since_epoch()
                + i32::try_from(self.rng.below(self.cfg.birth_window)).unwrap_or(0),
        );
        let (mature, rate, (lo, hi)) = breed.growth();
        let mature = mature * self.rng.range(0.92, 1.08);
        let rate = rate * self.rng.range(0.95, 1.05);
        let b = (mature / self.rng.range(0.9, 1.4)).ln();
        let market_age = i32::try_from(lo + self.rng.below(hi - lo + 1)).unwrap_or(300);
        let slaughter_day = birth.days_since_epoch() + market_age;
        let end = self.cfg.start.days_since_epoch() + i32::try_from(self.cfg.days).unwrap_or(0);
        Some(Plan {
            pig,
            breed,
            birth,
            growth: (mature, b, rate),
            market_age,
            slaughter_day,
            // The last day on the farm: the day before slaughter, or the end of the history.
            last_day: (slaughter_day - 1).min(end),
            site: format!("Qingjian farm {}", self.farm + 1),
            device: format!("PD-{:05}", self.i + 1),
        })
    }

    fn register(&mut self, plan: &Plan, chain: &mut Chain, out: &mut Out) {
        let sex = if self.rng.below(2) == 0 {
            Sex::Female
        } else {
            Sex::Castrated
        };
        let event = text(plan.breed.name())
            .zip(text(&plan.site))
            .map(|(breed, origin_site)| {
                Event::Registration(Box::new(Registration {
                    species: Species::Pig,
                    breed,
                    sex,
                    birth_date: plan.birth,
                    origin_site,
                    dam: pig_id(self.i.wrapping_add(50_000)),
                    sire: None,
                }))
            });
        out.push(
            chain,
            &self.keys.farms[self.farm],
            Self::at(plan.birth, 6),
            event,
        );
    }

    /// One day on the farm: device, vaccinations, weekly weighing and feed, daily steps.
    fn day(&mut self, plan: &Plan, day: Day, chain: &mut Chain, out: &mut Out) {
        let k = self.keys;
        let age = day.days_since_epoch() - plan.birth.days_since_epoch();
        let device = || text(&plan.device);
        if age == 21 {
            let e = device().map(|device| Event::DeviceAttached {
                device,
                kind: DeviceKind::Pedometer,
            });
            out.push(chain, &k.farms[self.farm], Self::at(day, 8), e);
        }
        let vaccine = match age {
            14 => Some("classical swine fever vaccine"),
            35 => Some("foot-and-mouth disease vaccine (O type)"),
            _ => None,
        };
        let medication = age > 60 && self.rng.below(1000) < 2;
        let treatment = match (vaccine, medication) {
            (Some(v), _) => Some((TreatmentKind::Vaccination, v, 28)),
            (None, true) => Some((TreatmentKind::Medication, "amoxicillin (respiratory)", 14)),
            (None, false) => None,
        };
        if let Some((kind, product, withdrawal_days)) = treatment {
            let e = text(product).map(|product| Event::Treatment {
                kind,
                product,
                withdrawal_days,
            });
            out.push(chain, &k.vet, Self::at(day, 10), e);
        }
        if age % 7 == 0 {
            let w = plan.weight_kg(f64::from(age));
            let grams = f64_to_u32(w * 1000.0 * self.rng.range(0.99, 1.01));
            out.push(
                chain,
                &k.scales[self.farm],
                Self::at(day, 9),
                Some(Event::Weighing { grams }),
            );
            let daily_kg = if w < 20.0 {
                0.05 * w
            } else {
                (0.55 + 0.0195 * w).min(2.8)
            };
            let feed = if w < 30.0 {
                "starter crumbles"
            } else {
                "corn + soybean meal + bran"
            };
            let e = text(feed).map(|feed| Event::Feeding {
                feed,
                grams: f64_to_u32(daily_kg * 7000.0),
            });
            out.push(chain, &k.farms[self.farm], Self::at(day, 18), e);
        }
        // 2% of device-days are missing; 4% are sick days with fewer steps.
        if age > 21 && self.rng.below(1000) >= 20 {
            let sick = self.rng.below(100) < 4;
            let base = if age < 60 {
                self.rng.range(3_000.0, 8_000.0)
            } else if plan.breed.exercises() {
                self.rng.normal(15_500.0, 2_500.0)
            } else {
                self.rng.normal(10_000.0, 2_000.0)
            };
            let steps = f64_to_u32(if sick { base * 0.45 } else { base });
            let t = Self::at(day, 23).saturating_add_millis(55 * 60_000);
            let e = device().map(|device| Event::DailyActivity { day, steps, device });
            out.push(chain, &k.gateways[self.farm], t, e);
        }
    }

    /// Slaughter day: quarantine inspection, move, custody, slaughter, end of chain.
    /// Returns the slaughter record's ID.
    fn slaughter(&self, plan: &Plan, chain: &mut Chain, out: &mut Out) -> Option<RecordId> {
        let k = self.keys;
        let day = Day::from_days_since_epoch(plan.slaughter_day);
        let cert = format!("SX-QJ-{}-{:06}", day.to_ymd().0, self.i + 1);
        let inspection = Event::Inspection {
            kind: InspectionKind::Quarantine,
            result: InspectionResult::Pass,
            certificate: text(&cert),
        };
        out.push(chain, &k.vet, Self::at(day, 5), Some(inspection));
        let mv = text(&plan.site).zip(text("Suide abattoir"));
        let mv = mv.map(|(from_site, to_site)| Event::Move { from_site, to_site });
        out.push(chain, &k.transporter, Self::at(day, 6), mv);
        let custody =
            text("Suide Meat Processing").map(|to_party| Event::CustodyTransfer { to_party });
        out.push(chain, &k.transporter, Self::at(day, 8), custody);
        let carcass_grams = f64_to_u32(plan.weight_kg(f64::from(plan.market_age)) * 730.0);
        out.push(
            chain,
            &k.slaughterhouse,
            Self::at(day, 10),
            Some(Event::Slaughter { carcass_grams }),
        );
        let slaughter = chain.tip();
        let end = Event::EndOfChain {
            reason: EndReason::Slaughtered,
        };
        out.push(
            chain,
            &k.slaughterhouse,
            Self::at(day, 10).saturating_add_millis(60_000),
            Some(end),
        );
        slaughter
    }

    /// Four cuts from the carcass, two retail packs from each cut, each pack sold.
    fn products(&mut self, plan: &Plan, slaughter: RecordId, out: &mut Out) {
        let k = self.keys;
        let day = Day::from_days_since_epoch(plan.slaughter_day);
        let carcass_kg = plan.weight_kg(f64::from(plan.market_age)) * 0.73;
        let serial = FIRST_SERIAL.saturating_add(self.i);
        let cuts = [
            ("BELLY", 0.14, 11),
            ("LOIN", 0.10, 12),
            ("SHOULDER", 0.18, 13),
            ("HAM", 0.22, 14),
        ];
        for (n, (cut, share, product)) in (0i64..).zip(cuts) {
            let Some(cut_id) = lot(product, &format!("QJ{serial}-{cut}")) else {
                continue;
            };
            let name = cut.to_lowercase();
            let mut cut_chain = Chain::new(cut_id.clone());
            let t = Self::at(day, 14).saturating_add_millis(n * 60_000);
            let e = text(&format!("pork {name}")).map(|product| Event::Transformation {
                parents: vec![LineageRef {
                    subject: plan.pig.clone(),
                    record: slaughter,
                }],
                product,
                grams: u64::from(f64_to_u32(carcass_kg * share * 1000.0)),
            });
            out.push(&mut cut_chain, &k.slaughterhouse, t, e);
            let custody =
                text("Xi'an Fresh Pack").map(|to_party| Event::CustodyTransfer { to_party });
            out.push(
                &mut cut_chain,
                &k.slaughterhouse,
                t.saturating_add_millis(HOUR),
                custody,
            );
            let Some(cut_tip) = cut_chain.tip() else {
                continue;
            };
            for p in 1..=2i64 {
                let Some(pack_id) = lot(product + 100, &format!("QJ{serial}-{}-P{p}", &cut[..1]))
                else {
                    continue;
                };
                let mut pack = Chain::new(pack_id);
                let next_day = Day::from_days_since_epoch(plan.slaughter_day + 1);
                let t = Self::at(next_day, 9).saturating_add_millis(p * 60_000);
                let e =
                    text(&format!("pork {name} 500 g tray")).map(|product| Event::Transformation {
                        parents: vec![LineageRef {
                            subject: cut_id.clone(),
                            record: cut_tip,
                        }],
                        product,
                        grams: 500,
                    });
                out.push(&mut pack, &k.processor, t, e);
                let custody = text("Xi'an Qujiang Market")
                    .map(|to_party| Event::CustodyTransfer { to_party });
                out.push(
                    &mut pack,
                    &k.processor,
                    t.saturating_add_millis(2 * HOUR),
                    custody,
                );
                let sold = plan.slaughter_day + 2 + i32::try_from(self.rng.below(3)).unwrap_or(0);
                let price_fen = 4_800 + 100 * u64::from(self.rng.below(20));
                let sale = text("consumer").map(|buyer| Event::Sale { buyer, price_fen });
                out.push(
                    &mut pack,
                    &k.retailer,
                    Self::at(Day::from_days_since_epoch(sold), 16),
                    sale,
                );
            }
        }
    }
}

/// Chestnut and honey lots, and a honey blend made from two honey lots.
fn produce(cfg: &DemoConfig, keys: &DemoKeys) -> Vec<SignedRecord> {
    let mut out = Out(Vec::new());
    let farm = &keys.farms[0];
    let autumn = cfg.start.days_since_epoch() + 200;
    let mut push =
        |chain: &mut Chain, s: &Signer, t: Timestamp, e: Option<Event>| out.push(chain, s, t, e);
    let mut honey_tips = Vec::new();
    for n in 1..=3u32 {
        let day = Day::from_days_since_epoch(autumn + i32::try_from(n).unwrap_or(0));
        let Some(id) = lot(21, &format!("CHESTNUT-{n:02}")) else {
            continue;
        };
        let mut c = Chain::new(id);
        push(
            &mut c,
            farm,
            PigLife::at(day, 15),
            text("chestnuts 板栗")
                .zip(text("Qingjian orchard 5"))
                .map(|(crop, site)| Event::Harvest {
                    crop,
                    site,
                    grams: 800_000 + 100_000 * u64::from(n),
                }),
        );
        push(
            &mut c,
            &keys.transporter,
            PigLife::at(day, 20),
            text("Xi'an Qujiang Market").map(|to_party| Event::CustodyTransfer { to_party }),
        );
        push(
            &mut c,
            &keys.retailer,
            PigLife::at(Day::from_days_since_epoch(autumn + 10), 12),
            text("Xi'an Qujiang Market").map(|buyer| Event::Sale {
                buyer,
                price_fen: 1_600_000,
            }),
        );
        let Some(hid) = lot(31, &format!("HONEY-{n:02}")) else {
            continue;
        };
        let mut h = Chain::new(hid.clone());
        let hday = Day::from_days_since_epoch(autumn - 60 + i32::try_from(n).unwrap_or(0));
        push(
            &mut h,
            farm,
            PigLife::at(hday, 10),
            text("jujube blossom honey 枣花蜜")
                .zip(text("Qingjian apiary 2"))
                .map(|(crop, site)| Event::Harvest {
                    crop,
                    site,
                    grams: 120_000,
                }),
        );
        if let Some(tip) = h.tip() {
            honey_tips.push(LineageRef {
                subject: hid,
                record: tip,
            });
        }
    }
    if let Some(blend) = lot(32, "HONEY-BLEND-01") {
        let mut b = Chain::new(blend);
        let day = Day::from_days_since_epoch(autumn - 50);
        push(
            &mut b,
            &keys.processor,
            PigLife::at(day, 9),
            text("blended honey").map(|product| Event::Transformation {
                parents: honey_tips.clone(),
                product,
                grams: 300_000,
            }),
        );
        push(
            &mut b,
            &keys.processor,
            PigLife::at(day, 12),
            text("moisture test pending").map(|reason| Event::Recall {
                kind: crate::event::RecallKind::Hold,
                reason,
            }),
        );
    }
    out.0
}
