//! A deterministic demo cooperative: Qingjian black pigs with pedometers, scales, a vet, a
//! transporter, a slaughterhouse, a processor and a retailer; cuts and packs; chestnut and
//! honey lots. Used by the examples, the benchmarks and the tests.
//!
//! Figures follow DESIGN §9: Bamei and Guanzhong Black pigs grow on a Gompertz curve to
//! about 110 kg at 300–360 days, DLY crosses to about 120 kg at 160–180 days; black pigs in
//! the exercise programme walk about 15,500 ± 2,500 steps a day, piglets 3,000–8,000; 1–3%
//! of device-days are missing.
//!
//! The parts: the configuration and the farm (here), the keys (`keys.rs`), each pig's life
//! (`pig.rs`) and the products made from the pigs (`produce.rs`).

mod keys;
mod pig;
mod produce;

pub use keys::DemoKeys;
use pig::{Out, PigLife, f64_to_u32, lot, pig_id, text, time_of};
use produce::produce;

use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;

use crate::id::SubjectId;
use crate::record::{LEDGER_MAGIC, SignedRecord};
use crate::signing::Signer;
use crate::store::{SqliteStore, Store, StoreError};
use crate::time::{Day, Timestamp};
use crate::tlog::{CheckpointError, LogSigner};
use crate::trust::{TrustChange, TrustStore};

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
        let operator = self.operator().map_err(StoreError::backend)?;
        let store = match path {
            Some(p) => SqliteStore::create(p, operator.verifier())?,
            None => SqliteStore::create_in_memory(operator.verifier())?,
        };
        self.grant_demo_keys(&store)?;
        Ok(store)
    }

    /// Grants every demo key in `store` (of any backend, created pinning
    /// [`DemoConfig::operator`]), as one statement by the demo operator dated 2020-01-01:
    /// what [`DemoConfig::create_store`] does after creating its SQLite store.
    ///
    /// # Errors
    /// The store's errors ([`StoreError::Trust`] when it pins another operator key).
    pub fn grant_demo_keys<S: Store + ?Sized>(&self, store: &S) -> Result<(), StoreError> {
        let operator = self.operator().map_err(StoreError::backend)?;
        let since = Timestamp::at_start_of(Day::from_days_since_epoch(18_262));
        store.update_trust(&operator, since, TrustChange::all_of(&self.trust()))?;
        Ok(())
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
