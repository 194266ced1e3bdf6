//! A witness (c2sp.org/tlog-witness semantics, without the HTTP API): cosigns a log's
//! checkpoints only when each is consistent with the last one it cosigned, and keeps the
//! evidence when it is not.

use std::collections::BTreeMap;

use thiserror::Error;

use super::checkpoint::{Checkpoint, CheckpointError, LogPolicy};
use super::fork::ForkEvidence;
use super::merkle::{ProofError, TreeHash, verify_consistency};
use super::note::{KeyKind, Note, NoteError, NoteSigner, VerifierKey};

/// Why a witness refused to cosign.
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The checkpoint does not verify under the log's key.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint is older than one already cosigned.
    #[error("checkpoint size {size} is smaller than the {latest} already cosigned")]
    Rollback {
        /// Its size.
        size: u64,
        /// The latest cosigned size.
        latest: u64,
    },
    /// The consistency proof from the last cosigned checkpoint fails.
    #[error("checkpoint is not consistent with the one at size {latest}: {error}")]
    Inconsistent {
        /// The latest cosigned size.
        latest: u64,
        /// Why the proof failed.
        error: ProofError,
    },
    /// Same size as the last cosigned checkpoint but another root: a fork, with evidence.
    #[error("the log signed two roots for size {size}: fork")]
    Fork {
        /// The size.
        size: u64,
        /// Two signed checkpoints anyone can check.
        evidence: Box<ForkEvidence>,
    },
}

/// A witness: cosigns a log's checkpoints only if each is consistent with the last one it
/// cosigned (c2sp.org/tlog-witness semantics, without the HTTP API).
#[derive(Debug)]
pub struct Witness {
    key: NoteSigner,
    logs: BTreeMap<String, (LogPolicy, Option<(Checkpoint, String)>)>,
}

impl Witness {
    /// A witness named `name` cosigning with `signer`.
    ///
    /// # Errors
    /// [`NoteError::BadKeyName`].
    pub fn new(name: &str, signer: crate::Signer) -> Result<Self, NoteError> {
        Ok(Self {
            key: NoteSigner::new(name, KeyKind::Cosignature, signer)?,
            logs: BTreeMap::new(),
        })
    }

    /// The verifier key clients pin.
    #[must_use]
    pub fn verifier(&self) -> &VerifierKey {
        self.key.verifier()
    }

    /// Starts following the log `policy` names (its log key; witnesses ignored). Following
    /// a log already followed under the same key keeps its last cosigned checkpoint, so
    /// rollback protection survives a repeated call; a new key for the origin starts over.
    pub fn follow(&mut self, policy: &LogPolicy) {
        if self
            .logs
            .get(policy.origin())
            .is_some_and(|(p, _)| p.log_key() == policy.log_key())
        {
            return;
        }
        let solo = LogPolicy::new(policy.origin(), policy.log_key().clone());
        self.logs.insert(policy.origin().to_owned(), (solo, None));
    }

    /// Follows the log `policy` names from `cosigned`, the last checkpoint this witness
    /// cosigned for it (as kept between runs): the next [`Witness::cosign`] must be
    /// consistent with it.
    ///
    /// # Errors
    /// [`CheckpointError`] when `cosigned` is not a checkpoint of that log signed by its
    /// key.
    pub fn resume(&mut self, policy: &LogPolicy, cosigned: &str) -> Result<(), CheckpointError> {
        let solo = LogPolicy::new(policy.origin(), policy.log_key().clone());
        let cp = solo.verify(cosigned)?;
        self.logs.insert(
            policy.origin().to_owned(),
            (solo, Some((cp.checkpoint().clone(), cosigned.to_owned()))),
        );
        Ok(())
    }

    /// Checks `note` against the last cosigned checkpoint of its log with the consistency
    /// `proof`, and on success returns the note with this witness's cosignature added.
    ///
    /// # Errors
    /// [`WitnessError`]: unknown or badly signed checkpoint, rollback, failed consistency,
    /// or a fork (with evidence).
    pub fn cosign(
        &mut self,
        note: &str,
        proof: &[TreeHash],
        now: u64,
    ) -> Result<String, WitnessError> {
        let mut parsed = Note::parse(note).map_err(CheckpointError::from)?;
        let origin = Checkpoint::parse_text(parsed.text())?.origin().to_owned();
        let Some((policy, latest)) = self.logs.get_mut(&origin) else {
            return Err(CheckpointError::WrongOrigin {
                expected: "a followed log".into(),
                found: origin,
            }
            .into());
        };
        let cp = policy.verify(note)?;
        if let Some((old, old_note)) = latest.as_ref() {
            let new = cp.checkpoint();
            if new.size() < old.size() {
                return Err(WitnessError::Rollback {
                    size: new.size(),
                    latest: old.size(),
                });
            }
            if new.size() == old.size() && new.root() != old.root() {
                return Err(WitnessError::Fork {
                    size: new.size(),
                    evidence: Box::new(ForkEvidence::Checkpoints {
                        first: old_note.clone(),
                        second: note.to_owned(),
                    }),
                });
            }
            verify_consistency(old.size(), new.size(), proof, old.root(), new.root()).map_err(
                |error| WitnessError::Inconsistent {
                    latest: old.size(),
                    error,
                },
            )?;
        }
        parsed.sign(&self.key, now);
        let out = parsed.to_string();
        *latest = Some((cp.checkpoint().clone(), out.clone()));
        Ok(out)
    }
}
