//! Trace bundles: one file with everything needed to verify a subject's history and
//! lineage offline, knowing only the pinned log and witness keys.

use std::collections::{BTreeSet, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

mod trust_note;

use trust_note::{read_trust_note, trust_note};

use super::checkpoint::{Checkpoint, CheckpointError, LogPolicy, LogSigner, VerifiedCheckpoint};
use super::merkle::{MerkleTree, ProofError, TreeHash, verify_inclusion};
use super::note::{Note, NoteError};
use crate::encoding;
use crate::error::{DecodeError, TrustError, VerifyErrors};
use crate::id::{KeyId, SubjectId};
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::store::{Store, StoreError};
use crate::trace::error::TraceError;
use crate::trace::lineage::lineage_closure;
use crate::trust::{Policy, TrustStore};
use crate::verify::{LedgerVerifier, VerifiedSet};

/// Leading bytes of a trace bundle file.
pub const BUNDLE_MAGIC: &[u8; 20] = b"agritrace-bundle/v1\n";

/// One chain in a bundle: its records from seq 0, and the inclusion proof of its last
/// record (the chain's hash links commit that record to all before it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BundleChain {
    records: Vec<SignedRecord>,
    tip_index: u64,
    proof: Vec<TreeHash>,
}

/// Everything needed to check a subject's history offline: the records of it, its
/// ancestors and its descendants; one inclusion proof per chain tip; a checkpoint with
/// cosignatures; and the log's signed statement of the keys that signed.
///
/// # Example
/// ```
/// use agritrace::demo::DemoConfig;
/// use agritrace::{LogPolicy, LogSigner, MerkleTree, Policy, Signer, SqliteStore, Store, TraceBundle, Witness, sync_tree, verify_bundle};
/// // The log operator: a store, its tree, a checkpoint cosigned by one witness.
/// let cfg = DemoConfig::bench(3, 2, 20);
/// let farm = cfg.generate();
/// let store = cfg.create_store(None)?;
/// store.append_batch(&farm.records)?;
/// let mut tree = MerkleTree::new();
/// let size = sync_tree(&mut tree, &store)?;
/// let log = LogSigner::new("log.example.org/coop", Signer::from_seed([1; 32]))?;
/// let mut witness = Witness::new("witness.example.net", Signer::from_seed([2; 32]))?;
/// let pinned = LogPolicy::new("log.example.org/coop", log.verifier().clone());
/// witness.follow(&pinned);
/// let note = witness.cosign(&log.sign(size, tree.root(size)?)?, &[], 1_780_000_000)?;
/// let pig = cfg.pig(0).ok_or("no pig")?;
/// let bytes = TraceBundle::export(&store, &tree, &note, &log, &farm.trust, &pig)?.to_bytes()?;
///
/// // A consumer who pins the log key and the witness key, and nothing else.
/// let policy = pinned.witnesses(vec![witness.verifier().clone()], 1)?;
/// let verified = verify_bundle(&bytes, &policy, &Policy::livestock())?;
/// assert_eq!(verified.subject(), &pig);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceBundle {
    subject: SubjectId,
    checkpoint: String,
    trust: String,
    chains: Vec<BundleChain>,
}

/// Why a bundle could not be built or does not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a bundle.
    #[error("bundle format: {0}")]
    Format(#[from] DecodeError),
    /// A bundle file cannot be read.
    #[error("bundle file {}: {error}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A bundle file is larger than any bundle.
    #[error("bundle file {} is larger than the {max}-byte bundle limit", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, [`MAX_BUNDLE_LEN`].
        max: usize,
    },
    /// The checkpoint does not verify under the pinned keys.
    #[error("bundle checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The trust note is not a signed note, or not signed by the pinned log key.
    #[error("bundle trust note: {0}")]
    TrustNote(#[source] NoteError),
    /// A line of the trust note is malformed.
    #[error("bundle trust note line {line}: {what}")]
    TrustLine {
        /// 1-based line number in the note text.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// The trust note lists a key that cannot be trusted.
    #[error("bundle trust note: {0}")]
    TrustKey(#[source] TrustError),
    /// A chain in the bundle is empty.
    #[error("bundle chain {chain} has no records")]
    EmptyChain {
        /// Position of the chain in the bundle.
        chain: usize,
    },
    /// A chain tip's inclusion proof fails.
    #[error("bundle chain {chain}: tip is not in the checkpointed log: {error}")]
    Inclusion {
        /// Position of the chain in the bundle.
        chain: usize,
        /// Why.
        error: ProofError,
    },
    /// A chain's last record is not a proven tip.
    #[error("chain of {0} does not end at a record with an inclusion proof")]
    Unproven(SubjectId),
    /// The records do not verify (names each bad record, e.g. a lineage parent missing).
    #[error("bundle records: {0}")]
    Records(#[from] VerifyErrors),
    /// The bundle has no chain for its own subject.
    #[error("bundle has no records of its subject {0}")]
    MissingSubject(SubjectId),
    /// Building a bundle: a store error.
    #[error("bundle export: {0}")]
    Store(#[from] StoreError),
    /// Building a bundle: the lineage could not be gathered.
    #[error("bundle export: {0}")]
    Trace(#[from] Box<TraceError>),
    /// Building a bundle: the tree does not have the checkpoint's root.
    #[error("bundle export: the tree does not have the checkpoint's root at size {size}")]
    TreeMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// Building a bundle: a chain's tip is not in the store any more.
    #[error("bundle export: the tip of {0} is no longer in the store")]
    TipVanished(SubjectId),
    /// Building a bundle: a chain's tip is past the checkpoint.
    #[error(
        "bundle export: the tip of {subject} at log position {position} is not covered by the checkpoint: {error}"
    )]
    NotCovered {
        /// The chain's subject.
        subject: SubjectId,
        /// The tip's log position.
        position: u64,
        /// Why the proof could not be made.
        error: ProofError,
    },
    /// Building a bundle: a key signed records of the bundle but `trust` does not hold it.
    #[error(
        "bundle export: key {0} signed records of the bundle, but the trust store does not hold it"
    )]
    KeyNotTrusted(KeyId),
}

/// A bundle whose every part verified.
#[derive(Debug)]
pub struct VerifiedBundle {
    subject: SubjectId,
    millis: f64,
    checkpoint: VerifiedCheckpoint,
    set: VerifiedSet,
    trust: TrustStore,
}

impl VerifiedBundle {
    /// The subject the bundle is for.
    #[must_use]
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }

    /// The verified checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// The verified records, chain by chain.
    pub fn set(&self) -> &VerifiedSet {
        &self.set
    }

    /// The trust store the log vouched for.
    #[must_use]
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// How long verification took, in milliseconds (0 where there is no clock).
    pub(crate) fn millis(&self) -> f64 {
        self.millis
    }
}

impl TraceBundle {
    /// Builds the bundle for `subject` from `store`: its lineage (ancestors and descendants),
    /// inclusion proofs from `tree` (the store's log, synced up to at least the checkpoint
    /// size), the signed `checkpoint` note, and a trust note signed by `log` listing what
    /// `trust` says of every key that signed.
    ///
    /// # Errors
    /// [`BundleError`] when the subject is unknown, a record is past the checkpoint, the
    /// tree does not match the checkpoint, or a signing key is not in `trust`.
    pub fn export<S: Store>(
        store: &S,
        tree: &MerkleTree,
        checkpoint: &str,
        log: &LogSigner,
        trust: &TrustStore,
        subject: &SubjectId,
    ) -> Result<Self, BundleError> {
        let note = Note::parse(checkpoint).map_err(CheckpointError::from)?;
        let cp = Checkpoint::parse_text(note.text())?;
        if tree.root(cp.size()).ok() != Some(*cp.root()) {
            return Err(BundleError::TreeMismatch { size: cp.size() });
        }
        let subjects = lineage_closure(store, subject).map_err(Box::new)?;
        let mut chains = Vec::with_capacity(subjects.len());
        let mut signers = BTreeSet::new();
        for s in &subjects {
            let records = store.chain(s)?;
            let Some(tip) = records.last() else {
                continue;
            };
            let (pos, _) = store
                .get(&tip.id())?
                .ok_or_else(|| BundleError::TipVanished(s.clone()))?;
            let proof =
                tree.inclusion_proof(pos, cp.size())
                    .map_err(|error| BundleError::NotCovered {
                        subject: s.clone(),
                        position: pos,
                        error,
                    })?;
            for r in &records {
                let body = RecordBody::decode(r.body())?;
                signers.insert(*body.signer());
            }
            chains.push(BundleChain {
                records,
                tip_index: pos,
                proof,
            });
        }
        let trust = trust_note(log, trust, &signers)?;
        Ok(Self {
            subject: subject.clone(),
            checkpoint: checkpoint.to_owned(),
            trust,
            chains,
        })
    }

    /// The subject the bundle is for.
    #[must_use]
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }

    /// Removes `subject`'s chain, e.g. to share less. The bundle then verifies only if
    /// nothing left in it depends on that chain. Returns whether a chain was removed.
    pub fn remove_chain(&mut self, subject: &SubjectId) -> bool {
        let before = self.chains.len();
        self.chains.retain(|c| {
            c.records
                .first()
                .and_then(|r| RecordBody::decode(r.body()).ok())
                .is_none_or(|b| b.subject() != subject)
        });
        self.chains.len() != before
    }

    /// Number of records in the bundle.
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.chains.iter().map(|c| c.records.len()).sum()
    }

    /// The bundle file: [`BUNDLE_MAGIC`] then the canonical encoding.
    ///
    /// # Errors
    /// [`BundleError::Format`] past the container limit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BundleError> {
        Ok(encoding::encode_container(BUNDLE_MAGIC, self)?)
    }

    /// Reads untrusted bundle bytes (bounded; accepted only in canonical form). Nothing in
    /// it is trusted before [`TraceBundle::verify`].
    ///
    /// # Errors
    /// [`BundleError::Format`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        Ok(encoding::decode_container(
            BUNDLE_MAGIC,
            "trace bundle",
            bytes,
        )?)
    }

    /// Verifies the bundle knowing only the pinned log and witness keys (`log`) and the
    /// event rules (`policy`): the checkpoint and its quorum of cosignatures; the log's
    /// trust note; each chain tip's inclusion in the checkpointed tree; and every record —
    /// signatures, chain links, roles, lineage — with the engine.
    ///
    /// # Errors
    /// [`BundleError`] naming the first failing part.
    pub fn verify(&self, log: &LogPolicy, policy: &Policy) -> Result<VerifiedBundle, BundleError> {
        let started = crate::par::Stopwatch::start();
        let checkpoint = log.verify(&self.checkpoint)?;
        let trust = read_trust_note(&self.trust, log)?;
        let mut proven = HashSet::with_capacity(self.chains.len());
        for (i, c) in self.chains.iter().enumerate() {
            let tip = c
                .records
                .last()
                .ok_or(BundleError::EmptyChain { chain: i })?;
            let id = tip.id();
            let leaf = TreeHash::of_signed(tip);
            verify_inclusion(
                &leaf,
                c.tip_index,
                checkpoint.size(),
                &c.proof,
                checkpoint.root(),
            )
            .map_err(|error| BundleError::Inclusion { chain: i, error })?;
            proven.insert(id);
        }
        let records: Vec<SignedRecord> = self
            .chains
            .iter()
            .flat_map(|c| c.records.iter().cloned())
            .collect();
        let set = LedgerVerifier::new(&trust, policy).verify_set(&records)?;
        for chain in set.chains() {
            if !chain.tip().is_some_and(|t| proven.contains(&t)) {
                return Err(BundleError::Unproven(chain.subject().clone()));
            }
        }
        if set.chain(&self.subject).is_none() {
            return Err(BundleError::MissingSubject(self.subject.clone()));
        }
        Ok(VerifiedBundle {
            subject: self.subject.clone(),
            millis: started.millis(),
            checkpoint,
            set,
            trust,
        })
    }
}

/// Largest bundle, in bytes, magic line included: [`TraceBundle::from_bytes`] refuses
/// anything longer, and [`read_bundle_file`] reads no more.
pub const MAX_BUNDLE_LEN: usize = BUNDLE_MAGIC.len() + encoding::MAX_CONTAINER_LEN;

/// Reads a bundle file without trusting its size: at most [`MAX_BUNDLE_LEN`] bytes are
/// read, and a longer file is refused. Pass the bytes to [`verify_bundle`].
///
/// # Errors
/// [`BundleError::File`] naming the path when it cannot be opened or read;
/// [`BundleError::FileTooLarge`].
pub fn read_bundle_file(path: impl AsRef<Path>) -> Result<Vec<u8>, BundleError> {
    let path = path.as_ref();
    let file_error = |error| BundleError::File {
        path: path.to_owned(),
        error,
    };
    let file = std::fs::File::open(path).map_err(file_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(file_error)?;
    if bytes.len() > MAX_BUNDLE_LEN {
        return Err(BundleError::FileTooLarge {
            path: path.to_owned(),
            max: MAX_BUNDLE_LEN,
        });
    }
    Ok(bytes)
}

/// Reads and verifies bundle bytes in one step.
///
/// # Errors
/// [`BundleError`] naming what is wrong.
pub fn verify_bundle(
    bytes: &[u8],
    log: &LogPolicy,
    policy: &Policy,
) -> Result<VerifiedBundle, BundleError> {
    TraceBundle::from_bytes(bytes)?.verify(log, policy)
}

/// The IDs of a bundle's chain tips (for tests and tools).
impl TraceBundle {
    /// The tip record ID and log position of each chain.
    #[must_use]
    pub fn tips(&self) -> Vec<(RecordId, u64)> {
        self.chains
            .iter()
            .filter_map(|c| Some((c.records.last()?.id(), c.tip_index)))
            .collect()
    }
}
