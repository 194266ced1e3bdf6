//! Checkpoint-trusted verification: re-hash a whole log and check it against a verified
//! checkpoint's root instead of checking every signature.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use thiserror::Error;

use super::checkpoint::VerifiedCheckpoint;
use super::merkle::{MerkleTree, RootBuilder, TreeHash};
use crate::encoding;
use crate::id::SubjectId;
use crate::record::{RecordId, SignedRecord, body_header};
use crate::store::{Store, StoreError};

/// Leaves per parallel work unit (a power of two, so units are perfect subtrees).
const UNIT: usize = 4096;

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
    tips: BTreeMap<SubjectId, (u64, RecordId)>,
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

    /// Number of chains.
    #[must_use]
    pub fn chains(&self) -> usize {
        self.tips.len()
    }

    /// The seq and ID of the last record of `subject`'s chain.
    #[must_use]
    pub fn tip(&self, subject: &SubjectId) -> Option<(u64, RecordId)> {
        self.tips.get(subject).copied()
    }
}

/// Verifies a whole log against a [`VerifiedCheckpoint`]: every record is hashed (its ID
/// and its leaf), the leaves' RFC 9162 root must equal the checkpoint's, and each chain's
/// seq and prev links are followed to find the tips. No signature is checked: the log's
/// signature over the root stands for them.
///
/// # Example
/// ```
/// use agritrace::{CheckpointVerifier, KeyKind, LogPolicy, LogSigner, MerkleTree, Signer, TreeHash};
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

    /// Uses a pool of `n` threads (1: single-threaded).
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// Verifies `records`, the whole log in log order.
    ///
    /// # Errors
    /// [`LoggedError`]: wrong size, wrong root, or a broken chain under a signed root.
    pub fn verify(&self, records: &[SignedRecord]) -> Result<LoggedLedger, LoggedError> {
        let size = self.checkpoint.size();
        if records.len() as u64 != size {
            return Err(LoggedError::SizeMismatch {
                records: records.len() as u64,
                size,
            });
        }
        let units = match self.threads {
            Some(1) => records.chunks(UNIT).map(hash_unit).collect(),
            Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
                Ok(pool) => pool.install(|| par_units(records)),
                Err(_) => par_units(records),
            },
            None => par_units(records),
        };
        let mut top = RootBuilder::new();
        for (root, _) in &units {
            top.push(*root);
        }
        let computed = top.root();
        let expected = *self.checkpoint.root();
        if computed != expected {
            return Err(LoggedError::RootMismatch { computed, expected });
        }
        let ids = units.iter().flat_map(|(_, ids)| ids.iter());
        let tips = walk(records.iter().zip(ids))?;
        Ok(LoggedLedger {
            size,
            root: computed,
            tips,
        })
    }
}

fn par_units(records: &[SignedRecord]) -> Vec<(TreeHash, Vec<RecordId>)> {
    records.par_chunks(UNIT).map(hash_unit).collect()
}

/// One unit's subtree root and its records' IDs.
fn hash_unit(unit: &[SignedRecord]) -> (TreeHash, Vec<RecordId>) {
    let mut root = RootBuilder::new();
    let mut ids = Vec::with_capacity(unit.len());
    for r in unit {
        let id = r.id();
        root.push(TreeHash::of_record(&id, r.signature()));
        ids.push(id);
    }
    (root.root(), ids)
}

/// Follows each chain's seq and prev links in log order; returns the tips.
fn walk<'r>(
    records: impl Iterator<Item = (&'r SignedRecord, &'r RecordId)>,
) -> Result<BTreeMap<SubjectId, (u64, RecordId)>, LoggedError> {
    let mut tips: HashMap<&[u8], (u64, RecordId)> = HashMap::new();
    for (index, (r, id)) in records.enumerate() {
        let broken = |reason| LoggedError::BrokenChain {
            index: index as u64,
            reason,
        };
        let (subject, seq, prev) =
            body_header(r.body()).ok_or(broken("record header does not decode"))?;
        if let Some(tip) = tips.get_mut(subject) {
            if seq != tip.0 + 1 {
                return Err(broken("seq does not follow the chain's tip"));
            }
            if prev != Some(*tip.1.as_bytes()) {
                return Err(broken("prev does not name the chain's tip"));
            }
            *tip = (seq, *id);
        } else {
            if seq != 0 || prev.is_some() {
                return Err(broken("chain does not start at seq 0"));
            }
            tips.insert(subject, (0, *id));
        }
    }
    tips.into_iter()
        .map(|(bytes, tip)| {
            encoding::decode_canonical::<SubjectId>(bytes)
                .map(|s| (s, tip))
                .map_err(|_| LoggedError::BrokenChain {
                    index: 0,
                    reason: "subject does not decode",
                })
        })
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
