//! One pig's life, record by record: registration, pedometer days, weighings on a
//! Gompertz curve, feed, treatments, moves and slaughter.

use crate::chain::Chain;
use crate::event::{
    DeviceKind, EndReason, Event, InspectionKind, InspectionResult, LineageRef, Registration, Sex,
    Text, TreatmentKind,
};
use crate::id::{EarTag, GtinLot, Species, SubjectId, gtin_check_digit};
use crate::record::{RecordId, SignedRecord};
use crate::signing::Signer;
use crate::time::{Day, Timestamp};

use super::{DemoConfig, DemoKeys, FIRST_SERIAL, QINGJIAN};

/// The ear tag of demo pig `i` (`None` only past 99,999,999 pigs).
pub(super) fn pig_id(i: u32) -> Option<SubjectId> {
    let serial = FIRST_SERIAL.checked_add(i)?;
    EarTag::new(Species::Pig, QINGJIAN, serial)
        .ok()
        .map(SubjectId::EarTag)
}

/// A GTIN-14 with company prefix 690123456 and a product code, check digit computed.
pub(super) fn gtin(product: u64) -> u64 {
    let body = 690_123_456_000 + product % 1000;
    body * 10 + u64::from(gtin_check_digit(body))
}

pub(super) fn lot(product: u64, lot: &str) -> Option<SubjectId> {
    GtinLot::new(gtin(product), lot).ok().map(SubjectId::Lot)
}

pub(super) fn text(s: &str) -> Option<Text> {
    Text::new(s).ok()
}

pub(super) fn time_of(r: &SignedRecord) -> Timestamp {
    crate::record::RecordBody::decode(r.body()).map_or(Timestamp::from_millis(0), |b| b.time())
}

pub(super) fn f64_to_u32(x: f64) -> u32 {
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
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        let mut r = Self(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.next();
        r
    }
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        #[allow(
            clippy::cast_precision_loss,
            reason = "53 random bits into an f64 mantissa"
        )]
        let v = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        v
    }
    pub(super) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    pub(super) fn below(&mut self, n: u32) -> u32 {
        u32::try_from(self.next() % u64::from(n.max(1))).unwrap_or(0)
    }
    /// Approximately normal (sum of uniforms).
    pub(super) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..6).map(|_| self.unit()).sum::<f64>() - 3.0;
        mean + sd * s * std::f64::consts::SQRT_2
    }
}

/// Breeds and their growth parameters.
#[derive(Clone, Copy)]
pub(super) enum Breed {
    Bamei,
    GuanzhongBlack,
    Dly,
}

impl Breed {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Bamei => "Bamei 八眉猪",
            Self::GuanzhongBlack => "Guanzhong Black 关中黑猪",
            Self::Dly => "DLY (Duroc x Landrace x Large White)",
        }
    }
    /// (mature weight kg, Gompertz rate per day, market age days range)
    pub(super) fn growth(self) -> (f64, f64, (u32, u32)) {
        match self {
            Self::Bamei => (190.0, 0.0068, (300, 360)),
            Self::GuanzhongBlack => (210.0, 0.0064, (300, 350)),
            Self::Dly => (300.0, 0.0106, (160, 180)),
        }
    }
    pub(super) fn exercises(self) -> bool {
        !matches!(self, Self::Dly)
    }
}

pub(super) const HOUR: i64 = 3_600_000;

/// Collects the records the demo appends (an append the chain refuses is left out; the
/// demo's tests check that none is).
pub(super) struct Out(pub(super) Vec<SignedRecord>);

impl Out {
    pub(super) fn push(
        &mut self,
        chain: &mut Chain,
        signer: &Signer,
        t: Timestamp,
        event: Option<Event>,
    ) {
        if let Some(r) = event.and_then(|e| chain.append(signer, t, e).ok()) {
            self.0.push(r);
        }
    }
}

/// The fixed facts of one pig, drawn from its random stream.
pub(super) struct Plan {
    pub(super) pig: SubjectId,
    pub(super) breed: Breed,
    pub(super) birth: Day,
    /// Gompertz parameters: mature weight (kg), b, rate (per day).
    pub(super) growth: (f64, f64, f64),
    pub(super) market_age: i32,
    pub(super) slaughter_day: i32,
    pub(super) last_day: i32,
    pub(super) site: String,
    pub(super) device: String,
}

impl Plan {
    pub(super) fn weight_kg(&self, age: f64) -> f64 {
        let (mature, b, rate) = self.growth;
        mature * (-b * (-rate * age).exp()).exp()
    }
}

/// One pig's generated life.
pub(super) struct PigLife<'a> {
    pub(super) cfg: &'a DemoConfig,
    pub(super) keys: &'a DemoKeys,
    pub(super) i: u32,
    pub(super) farm: usize,
    pub(super) rng: Rng,
}

impl<'a> PigLife<'a> {
    pub(super) fn new(cfg: &'a DemoConfig, keys: &'a DemoKeys, i: u32) -> Self {
        let farm = usize::try_from(i % cfg.farms.max(1)).unwrap_or(0);
        Self {
            cfg,
            keys,
            i,
            farm,
            rng: Rng::new(cfg.seed, u64::from(i)),
        }
    }

    pub(super) fn at(day: Day, hour: i64) -> Timestamp {
        Timestamp::at_start_of(day).saturating_add_millis(hour * HOUR)
    }

    pub(super) fn records(mut self) -> Vec<SignedRecord> {
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

    pub(super) fn plan(&mut self) -> Option<Plan> {
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

    pub(super) fn register(&mut self, plan: &Plan, chain: &mut Chain, out: &mut Out) {
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
    pub(super) fn day(&mut self, plan: &Plan, day: Day, chain: &mut Chain, out: &mut Out) {
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
    pub(super) fn slaughter(
        &self,
        plan: &Plan,
        chain: &mut Chain,
        out: &mut Out,
    ) -> Option<RecordId> {
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
    pub(super) fn products(&mut self, plan: &Plan, slaughter: RecordId, out: &mut Out) {
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
