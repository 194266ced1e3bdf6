//! Fork evidence: self-contained proof that a signer or a log kept two histories.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::checkpoint::{Checkpoint, CheckpointError, LogPolicy};
use super::merkle::{ProofError, TreeHash, verify_inclusion};
use super::note::VerifierKey;
use crate::encoding;
use crate::error::{DecodeError, Reason};
use crate::id::{KeyId, SubjectId};
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::signing::{KeyWeakness, PublicKey};
use crate::trust::{Policy, TrustStore};
use crate::verify::{check, sig};

/// Leading bytes of serialized fork evidence.
pub const FORK_MAGIC: &[u8; 18] = b"agritrace-fork/v1\n";

/// Evidence that a history forked, checkable by anyone with no other data (and, for log
/// forks, the log's public key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ForkEvidence {
    /// Two records of one subject with the same seq and different IDs, both signed by one
    /// key: that key's holder signed two histories.
    Records {
        /// One record.
        first: SignedRecord,
        /// The other.
        second: SignedRecord,
    },
    /// Two checkpoints signed by one log for the same size with different roots.
    Checkpoints {
        /// One signed checkpoint note.
        first: String,
        /// The other.
        second: String,
    },
    /// A newer checkpoint that does not extend an older one: inclusion proofs show
    /// different leaves at the same index under the two signed roots.
    Inconsistent {
        /// The smaller signed checkpoint.
        older: String,
        /// The larger signed checkpoint.
        newer: String,
        /// The leaf index where the two trees differ (below the older size).
        index: u64,
        /// The leaf in the older tree, and its inclusion proof there.
        older_leaf: TreeHash,
        /// Inclusion proof of `older_leaf` in the older tree.
        older_proof: Vec<TreeHash>,
        /// The leaf in the newer tree.
        newer_leaf: TreeHash,
        /// Inclusion proof of `newer_leaf` in the newer tree.
        newer_proof: Vec<TreeHash>,
    },
}

/// Why fork evidence does not prove a fork.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ForkError {
    /// The bytes are not fork evidence.
    #[error("fork evidence: {0}")]
    Decode(#[from] DecodeError),
    /// A record does not decode.
    #[error("fork evidence record {which}: {error}")]
    Record {
        /// `first` or `second`.
        which: &'static str,
        /// Why.
        error: DecodeError,
    },
    /// A record's signature does not verify under the key it names.
    #[error("fork evidence record {which} is not validly signed")]
    BadSignature {
        /// `first` or `second`.
        which: &'static str,
    },
    /// A record names a key no honest signer produces (see [`PublicKey::weakness`]).
    #[error("fork evidence record {which}: its signer key {key} {weakness}")]
    WeakKey {
        /// `first` or `second`.
        which: &'static str,
        /// The key's ID.
        key: KeyId,
        /// What is wrong with it.
        weakness: KeyWeakness,
    },
    /// A record's signer is not one the checker trusts, under its policy, at the record's
    /// time: the record would be refused anyway, so it proves nothing about anyone.
    #[error("fork evidence record {which} would not be accepted: {reason}")]
    NotTrusted {
        /// `first` or `second`.
        which: &'static str,
        /// The verifier's reason.
        reason: Reason,
    },
    /// The two records or checkpoints do not contradict each other.
    #[error("not a fork: {0}")]
    NotAFork(&'static str),
    /// A checkpoint does not verify under the log key.
    #[error("fork evidence checkpoint {which}: {error}")]
    Checkpoint {
        /// Which checkpoint.
        which: &'static str,
        /// Why.
        error: CheckpointError,
    },
    /// An inclusion proof fails.
    #[error("fork evidence inclusion proof in the {which} tree: {error}")]
    Proof {
        /// `older` or `newer`.
        which: &'static str,
        /// Why.
        error: ProofError,
    },
}

impl ForkEvidence {
    /// Evidence from two records, if they are a fork: same subject and seq, different
    /// IDs, both validly signed by one key that `trust` and `policy` accept for the
    /// record at its time.
    ///
    /// # Errors
    /// [`ForkError`] saying why the two are not a fork.
    pub fn from_records(
        first: SignedRecord,
        second: SignedRecord,
        trust: &TrustStore,
        policy: &Policy,
    ) -> Result<Self, ForkError> {
        let e = Self::Records { first, second };
        e.check_records(trust, policy)?;
        Ok(e)
    }

    /// Checks the evidence as a checker that trusts `trust` under `policy`, and `log` for
    /// checkpoint evidence.
    ///
    /// Record evidence proves something only about a key the checker trusts: anyone can
    /// make two conflicting records under a key of their own, and under a small-order key
    /// one signature verifies for every message. So both records must pass the
    /// verifier's signer checks (trusted, valid at the record's time, role allowed),
    /// name the same key, and carry valid signatures by it. Checkpoint evidence needs
    /// `log`, the log key the checker pins.
    ///
    /// # Errors
    /// [`ForkError`] saying why it proves nothing.
    pub fn check(
        &self,
        trust: &TrustStore,
        policy: &Policy,
        log: Option<&VerifierKey>,
    ) -> Result<(), ForkError> {
        match self {
            Self::Records { .. } => self.check_records(trust, policy),
            Self::Checkpoints { first, second } => {
                let (a, b) = (
                    verify_log(log, first, "first")?,
                    verify_log(log, second, "second")?,
                );
                fork_if(&[
                    (
                        a.origin() == b.origin(),
                        "the checkpoints are of different logs",
                    ),
                    (a.size() == b.size(), "the checkpoints have different sizes"),
                    (a.root() != b.root(), "the checkpoints have the same root"),
                ])
            }
            Self::Inconsistent {
                older,
                newer,
                index,
                older_leaf,
                older_proof,
                newer_leaf,
                newer_proof,
            } => {
                let (a, b) = (
                    verify_log(log, older, "older")?,
                    verify_log(log, newer, "newer")?,
                );
                if a.origin() != b.origin() {
                    return Err(ForkError::NotAFork("the checkpoints are of different logs"));
                }
                if a.size() > b.size() {
                    return Err(ForkError::NotAFork("the older checkpoint is the larger"));
                }
                if older_leaf == newer_leaf {
                    return Err(ForkError::NotAFork("the two leaves are equal"));
                }
                verify_inclusion(older_leaf, *index, a.size(), older_proof, a.root()).map_err(
                    |error| ForkError::Proof {
                        which: "older",
                        error,
                    },
                )?;
                verify_inclusion(newer_leaf, *index, b.size(), newer_proof, b.root()).map_err(
                    |error| ForkError::Proof {
                        which: "newer",
                        error,
                    },
                )?;
                Ok(())
            }
        }
    }

    fn check_records(&self, trust: &TrustStore, policy: &Policy) -> Result<(), ForkError> {
        let Self::Records { first, second } = self else {
            return Ok(());
        };
        let a = check_signed(first, "first", trust, policy)?;
        let b = check_signed(second, "second", trust, policy)?;
        fork_if(&[
            (
                a.signer() == b.signer(),
                "the records are signed by different keys (two parties racing for one seq, \
                 not one key signing two histories)",
            ),
            (
                a.subject() == b.subject(),
                "the records are of different subjects",
            ),
            (a.seq() == b.seq(), "the records have different seqs"),
            (first.id() != second.id(), "the records are the same"),
        ])
    }

    /// Serializes: [`FORK_MAGIC`] then the canonical encoding.
    ///
    /// # Errors
    /// [`DecodeError::TooLong`] past the container limit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DecodeError> {
        encoding::encode_container(FORK_MAGIC, self)
    }

    /// Reads untrusted bytes written by [`ForkEvidence::to_bytes`] (not yet checked: call
    /// [`ForkEvidence::check`]).
    ///
    /// # Errors
    /// [`ForkError::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ForkError> {
        Ok(encoding::decode_container(
            FORK_MAGIC,
            "fork evidence file",
            bytes,
        )?)
    }
}

impl fmt::Display for ForkEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Records { first, second } => {
                let who = RecordBody::decode(first.body()).map_or_else(
                    |_| "an undecodable record".into(),
                    |b| format!("{} seq {}", b.subject(), b.seq()),
                );
                write!(
                    f,
                    "records {} and {} both claim {who}",
                    first.id(),
                    second.id()
                )
            }
            Self::Checkpoints { .. } => f.write_str("two roots signed for one tree size"),
            Self::Inconsistent { index, .. } => {
                write!(f, "two signed trees hold different leaves at index {index}")
            }
        }
    }
}

fn check_signed(
    r: &SignedRecord,
    which: &'static str,
    trust: &TrustStore,
    policy: &Policy,
) -> Result<RecordBody, ForkError> {
    let body = RecordBody::decode(r.body()).map_err(|error| ForkError::Record { which, error })?;
    if let Some(weakness) = body.signer().weakness() {
        return Err(ForkError::WeakKey {
            which,
            key: body.signer().key_id(),
            weakness,
        });
    }
    let key = check::signer(trust, policy, &body)
        .map_err(|reason| ForkError::NotTrusted { which, reason })?;
    // The verifiers' own record-signature check, on the key as the trust store holds it.
    if !sig::verify_record(&key.verifying, r.signature(), &r.id()) {
        return Err(ForkError::BadSignature { which });
    }
    Ok(body)
}

/// `Ok` when every condition of a contradiction holds, else [`ForkError::NotAFork`] with
/// the first one that does not.
fn fork_if(conditions: &[(bool, &'static str)]) -> Result<(), ForkError> {
    match conditions.iter().find(|(holds, _)| !holds) {
        Some((_, why_not)) => Err(ForkError::NotAFork(why_not)),
        None => Ok(()),
    }
}

fn verify_log(
    log: Option<&VerifierKey>,
    note: &str,
    which: &'static str,
) -> Result<Checkpoint, ForkError> {
    let err = |error| ForkError::Checkpoint { which, error };
    let log = log.ok_or(err(CheckpointError::NotSignedByLog(
        "(no log key given)".into(),
    )))?;
    let origin = super::note::Note::parse(note)
        .map_err(CheckpointError::from)
        .and_then(|n| Checkpoint::parse_text(n.text()))
        .map_err(err)?
        .origin()
        .to_owned();
    LogPolicy::new(&origin, log.clone())
        .verify(note)
        .map(|v| v.checkpoint().clone())
        .map_err(err)
}

/// Scans `records` (e.g. an imported ledger) for forks: slots (subject, seq) where one key
/// signed records with different IDs.
///
/// Only records that would count as evidence are considered: they decode, their signer
/// passes `trust` and `policy` at the record's time, and their signature verifies; the
/// rest prove nothing and are skipped, wherever they sit. The valid records of a slot are
/// grouped by signer; a group with `k` distinct records gives `k - 1` pieces of evidence,
/// its first record paired with each other one, so every forked record is named and the
/// output stays linear in the input. Records of one slot by different keys are two
/// parties racing, not evidence against either; the verifiers report those as
/// [`Reason::Fork`] too.
///
/// # Example
/// ```
/// use agritrace::{Chain, Event, KeyGrant, Policy, Role, Signer, SubjectId, Text, Timestamp, TrustStore, find_forks};
/// let farm = Signer::from_seed([5; 32]);
/// let mut trust = TrustStore::new();
/// trust.add(farm.public_key(), KeyGrant::new(Text::new("Farm")?, Role::Farm, Timestamp::from_millis(0)))?;
/// let policy = Policy::livestock();
/// let pig: SubjectId = "eartag:161083000000042".parse()?;
/// let mut chain = Chain::new(pig.clone());
/// let t = Timestamp::from_millis(1_000);
/// let r0 = chain.append(&farm, t, Event::Weighing { grams: 95_000 })?;
/// let mut other = Chain::new(pig);
/// let r0b = other.append(&farm, t, Event::Weighing { grams: 96_000 })?;
/// let forks = find_forks(&[r0, r0b], &trust, &policy);
/// assert_eq!(forks.len(), 1);
/// forks[0].check(&trust, &policy, None)?;
/// // Nobody else can check it against a trust that lacks the farm's key.
/// assert!(forks[0].check(&TrustStore::new(), &policy, None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn find_forks(
    records: &[SignedRecord],
    trust: &TrustStore,
    policy: &Policy,
) -> Vec<ForkEvidence> {
    // Decode only; signatures are checked just for the few (subject, seq) slots that hold
    // more than one record, not for the whole ledger.
    let mut slots: HashMap<(SubjectId, u64), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Ok(body) = RecordBody::decode(r.body()) {
            slots
                .entry((body.subject().clone(), body.seq()))
                .or_default()
                .push(i);
        }
    }
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for indices in slots.values().filter(|v| v.len() > 1) {
        // Per signer: the first valid record, and the IDs already paired with it.
        let mut by_signer: HashMap<PublicKey, (usize, HashSet<RecordId>)> = HashMap::new();
        for &i in indices {
            let Ok(body) = check_signed(&records[i], "first", trust, policy) else {
                continue;
            };
            let id = records[i].id();
            match by_signer.entry(*body.signer()) {
                Entry::Vacant(v) => {
                    v.insert((i, HashSet::from([id])));
                }
                Entry::Occupied(mut o) => {
                    let (first, seen) = o.get_mut();
                    if seen.insert(id) {
                        pairs.push((*first, i));
                    }
                }
            }
        }
    }
    pairs.sort_unstable_by_key(|&(_, second)| second);
    pairs
        .into_iter()
        .map(|(i, j)| ForkEvidence::Records {
            first: records[i].clone(),
            second: records[j].clone(),
        })
        .collect()
}
