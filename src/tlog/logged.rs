//! Checkpoint-trusted verification: re-hash a whole log and check it against a verified
//! checkpoint's root instead of checking every signature.

use thiserror::Error;

use super::checkpoint::VerifiedCheckpoint;
use super::merkle::{MerkleTree, RootBuilder, TreeHash};
use crate::encoding;
use crate::id::SubjectId;
use crate::par;
use crate::record::{SignedRecord, body_header};
use crate::store::{Store, StoreError};

/// Leaves per parallel work unit (a power of two, so units are perfect subtrees).
const UNIT: usize = 16_384;

use crate::hashers::FastMap;
use crate::verify::ChainTips;

/// Why a ledger does not match a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LoggedError {
    /// The ledger has another number of records than the checkpoint's tree size.
    #[error("ledger has {records} records, the checkpoint covers {size}")]
    SizeMismatch {
        /// Records given.
        records: u64,
        /// Tree size.
        size: u64,
    },
    /// The records' Merkle root is not the checkpoint's: something was edited, dropped,
    /// inserted or reordered.
    #[error("ledger root {computed} is not the checkpoint root {expected}")]
    RootMismatch {
        /// Root of the given records.
        computed: TreeHash,
        /// Root the checkpoint signs.
        expected: TreeHash,
    },
    /// The checkpoint covers a record that breaks its chain (the log signed a bad history).
    #[error("log position {index}: {reason}")]
    BrokenChain {
        /// Log position.
        index: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A ledger that matches a verified checkpoint: its chain tips, trusted because the log
/// signed (and witnesses cosigned) a root over exactly these records. It says what the log
/// vouches for, so it is only as good as the log's own verification of each append.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct LoggedLedger {
    size: u64,
    root: TreeHash,
    tips: ChainTips,
}

impl LoggedLedger {
    /// Number of records (the tree size).
    #[must_use]
    pub fn records(&self) -> u64 {
        self.size
    }

    /// The root they hash to.
    #[must_use]
    pub fn root(&self) -> &TreeHash {
        &self.root
    }

    /// The last record of each chain.
    pub fn tips(&self) -> &ChainTips {
        &self.tips
    }
}

/// Verifies a whole log against a [`VerifiedCheckpoint`]: every record's leaf is hashed,
/// the leaves' RFC 9162 root must equal the checkpoint's, and each chain's seqs must follow
/// on, which gives the tips. No signature, prev link or policy is checked: the log's
/// signature over the root stands for the log's own full verification of each append.
///
/// # Example
/// ```
/// use agritrace::{CheckpointVerifier, LogPolicy, LogSigner, MerkleTree, Signer, TreeHash};
/// use agritrace::tlog::KeyKind;
/// use agritrace::demo::DemoConfig;
/// let records = DemoConfig::bench(1, 2, 20).generate().records;
/// let mut tree = MerkleTree::new();
/// records.iter().for_each(|r| tree.push(TreeHash::of_signed(r)));
/// let log = LogSigner::new("example.org/farm-log", Signer::from_seed([9; 32]))?;
/// let note = log.sign(tree.len(), tree.root(tree.len())?)?;
/// let checkpoint = LogPolicy::new("example.org/farm-log", log.verifier().clone()).verify(&note)?;
/// let ledger = CheckpointVerifier::new(&checkpoint).verify(&records)?;
/// assert_eq!(ledger.records(), records.len() as u64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CheckpointVerifier<'a> {
    checkpoint: &'a VerifiedCheckpoint,
    threads: Option<usize>,
}

impl<'a> CheckpointVerifier<'a> {
    /// A verifier trusting `checkpoint`, on rayon's global pool.
    pub fn new(checkpoint: &'a VerifiedCheckpoint) -> Self {
        Self {
            checkpoint,
            threads: None,
        }
    }

    /// Uses a pool of `n` threads (1: single-threaded); from inside a rayon worker, that
    /// worker's pool (see [`LedgerVerifier::threads`](crate::LedgerVerifier::threads)).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// Verifies `records`, the whole log in log order.
    ///
    /// # Errors
    /// [`LoggedError`]: wrong size, wrong root, or a chain whose seqs do not follow on
    /// under a signed root. The verdict does not depend on the thread count.
    pub fn verify(&self, records: &[SignedRecord]) -> Result<LoggedLedger, LoggedError> {
        let pool = par::build(self.threads);
        par::run(pool.as_ref(), || self.run(records))
    }

    fn run(&self, records: &[SignedRecord]) -> Result<LoggedLedger, LoggedError> {
        let size = self.checkpoint.size();
        if records.len() as u64 != size {
            return Err(LoggedError::SizeMismatch {
                records: records.len() as u64,
                size,
            });
        }
        let units: Vec<Unit<'_>> = par::map_chunks(records, UNIT, |n, unit| Unit::of((n, unit)));
        let mut top = RootBuilder::new();
        for u in &units {
            top.push(u.root);
        }
        let computed = top.root();
        let expected = *self.checkpoint.root();
        if computed != expected {
            return Err(LoggedError::RootMismatch { computed, expected });
        }
        let tips = merge(&units, records)?;
        Ok(LoggedLedger {
            size,
            root: computed,
            tips,
        })
    }
}

/// One chain's records within a unit: first and last seq and log position.
#[derive(Clone, Copy)]
struct Run {
    first_seq: u64,
    first_index: usize,
    last_seq: u64,
    last_index: usize,
}

/// A unit of consecutive records: its subtree root, each chain's run in it, and the first
/// record that does not follow its chain's previous record inside the unit.
struct Unit<'r> {
    root: TreeHash,
    runs: FastMap<&'r [u8], Run>,
    broken: Option<LoggedError>,
}

impl<'r> Unit<'r> {
    fn of((n, unit): (usize, &'r [SignedRecord])) -> Self {
        let base = n * UNIT;
        let mut root = RootBuilder::new();
        let mut runs: FastMap<&[u8], Run> = FastMap::default();
        let mut broken = None;
        for (i, r) in unit.iter().enumerate() {
            root.push(TreeHash::of_signed(r));
            if broken.is_some() {
                continue;
            }
            let index = base + i;
            let Some((subject, seq, _)) = body_header(r.body()) else {
                broken = Some(broken_at(index, "record header does not decode"));
                continue;
            };
            match runs.get_mut(subject) {
                Some(run) if seq == run.last_seq + 1 => {
                    run.last_seq = seq;
                    run.last_index = index;
                }
                Some(_) => broken = Some(broken_at(index, "seq does not follow the chain's tip")),
                None => {
                    runs.insert(
                        subject,
                        Run {
                            first_seq: seq,
                            first_index: index,
                            last_seq: seq,
                            last_index: index,
                        },
                    );
                }
            }
        }
        Self {
            root: root.root(),
            runs,
            broken,
        }
    }
}

fn broken_at(index: usize, reason: &'static str) -> LoggedError {
    LoggedError::BrokenChain {
        index: index as u64,
        reason,
    }
}

/// Joins the units' runs in log order; the first broken record wins; returns the tips.
fn merge(units: &[Unit<'_>], records: &[SignedRecord]) -> Result<ChainTips, LoggedError> {
    let mut first_broken: Option<LoggedError> = None;
    let mut keep_first = |e: LoggedError| {
        let index = |e: &LoggedError| match e {
            LoggedError::BrokenChain { index, .. } => *index,
            _ => u64::MAX,
        };
        if first_broken.as_ref().is_none_or(|f| index(&e) < index(f)) {
            first_broken = Some(e);
        }
    };
    let mut tips: FastMap<&[u8], (u64, usize)> = FastMap::default();
    for u in units {
        if let Some(e) = &u.broken {
            keep_first(e.clone());
        }
        for (subject, run) in &u.runs {
            let follows = match tips.get(subject) {
                Some(&(seq, _)) => run.first_seq == seq + 1,
                None => run.first_seq == 0,
            };
            if !follows {
                keep_first(broken_at(
                    run.first_index,
                    "seq does not follow the chain's tip",
                ));
            }
            tips.insert(subject, (run.last_seq, run.last_index));
        }
    }
    if let Some(e) = first_broken {
        return Err(e);
    }
    let tips: Vec<(&[u8], (u64, usize))> = tips.into_iter().collect();
    par::map(tips, |(bytes, (seq, index))| {
        let subject = encoding::decode_canonical::<SubjectId>(bytes)
            .map_err(|_| broken_at(index, "subject does not decode"))?;
        Ok((subject, (seq, records[index].id())))
    })
    .into_iter()
    .collect()
}

/// Extends `tree` with the leaves of every record `store` holds past `tree.len()`, in log
/// order; returns the new size.
///
/// # Errors
/// A store error.
pub fn sync_tree<S: Store>(tree: &mut MerkleTree, store: &S) -> Result<u64, StoreError> {
    loop {
        let page = store.read_log(tree.len(), 4096)?;
        if page.is_empty() {
            return Ok(tree.len());
        }
        for (pos, r) in page {
            if pos != tree.len() {
                return Err(StoreError::Corrupt(format!(
                    "log position {pos} read where {} was expected",
                    tree.len()
                )));
            }
            tree.push(TreeHash::of_signed(&r));
        }
    }
}
