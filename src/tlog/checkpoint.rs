//! C2SP tlog-checkpoint: a log's signed tree head, witness cosignatures and the k-of-n
//! policy a verifier applies to them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

use super::merkle::TreeHash;
use super::note::{KeyKind, Note, NoteError, NoteSigned, NoteSigner, VerifierKey};

/// The checkpoint body: origin, tree size, root hash and optional extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: TreeHash,
    extensions: Vec<String>,
}

/// A malformed checkpoint, or one the verifier's policy does not accept.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note itself is malformed or a known key's signature fails.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The note text is not origin / size / root lines.
    #[error("checkpoint line {line}: {reason}")]
    Malformed {
        /// 1-based line number of the note text.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The origin is not the one the verifier expects.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The expected origin.
        expected: String,
        /// The origin found.
        found: String,
    },
    /// The log's own key did not sign.
    #[error("checkpoint is not signed by the log key {0}")]
    NotSignedByLog(String),
    /// Too few known witnesses cosigned.
    #[error("checkpoint has {found} valid witness cosignatures, policy needs {needed}")]
    Quorum {
        /// Valid cosignatures by configured witnesses.
        found: usize,
        /// The policy's k.
        needed: usize,
    },
    /// A witness key a policy cannot use.
    #[error("witness key {name} {why}")]
    WitnessKey {
        /// The key's name.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A quorum larger than the witnesses given.
    #[error("a quorum of {quorum} cannot be met by {witnesses} witness(es)")]
    QuorumTooLarge {
        /// The k asked for.
        quorum: usize,
        /// The witnesses given.
        witnesses: usize,
    },
}

impl Checkpoint {
    /// A checkpoint of `origin` at `size` leaves with `root`.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] for an empty origin or one with a newline or control
    /// character.
    pub fn new(origin: &str, size: u64, root: TreeHash) -> Result<Self, CheckpointError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::Malformed {
                line: 1,
                reason: "origin is empty or has a control character",
            });
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// The log's origin line.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    #[must_use]
    pub fn root(&self) -> &TreeHash {
        &self.root
    }

    /// Extension lines (opaque; not checked by witnesses).
    #[must_use]
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: `origin\nsize\nbase64(root)\n` plus extension lines.
    #[must_use]
    pub fn text(&self) -> String {
        let mut t = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root.as_bytes())
        );
        for e in &self.extensions {
            t.push_str(e);
            t.push('\n');
        }
        t
    }

    /// Parses a checkpoint note text (not its signatures).
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] naming the line.
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let bad = |line, reason| CheckpointError::Malformed { line, reason };
        let body = text
            .strip_suffix('\n')
            .ok_or(bad(1, "text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(bad(1, "origin is empty"));
        }
        let size_line = lines.next().ok_or(bad(2, "tree size line is missing"))?;
        let size = parse_size(size_line).ok_or(bad(
            2,
            "tree size is not a decimal number without leading zeros",
        ))?;
        let root_line = lines.next().ok_or(bad(3, "root hash line is missing"))?;
        let root_bytes = STANDARD
            .decode(root_line)
            .map_err(|_| bad(3, "root hash is not valid base64"))?;
        let root: [u8; 32] = root_bytes
            .try_into()
            .map_err(|_| bad(3, "root hash is not 32 bytes"))?;
        let mut extensions = Vec::new();
        for (i, l) in lines.enumerate() {
            if l.is_empty() {
                return Err(bad(4 + i, "extension line is empty"));
            }
            extensions.push(l.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root: TreeHash::from_bytes(root),
            extensions,
        })
    }
}

fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A checkpoint whose log signature and witness quorum verified under a [`LogPolicy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: String,
    cosigners: Vec<NoteSigned>,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }

    /// The root hash.
    #[must_use]
    pub fn root(&self) -> &TreeHash {
        &self.checkpoint.root
    }

    /// The witnesses whose cosignatures verified, with their timestamps.
    #[must_use]
    pub fn cosigners(&self) -> &[NoteSigned] {
        &self.cosigners
    }

    /// The signed note exactly as verified.
    #[must_use]
    pub fn note(&self) -> &str {
        &self.note
    }
}

/// What a verifier pins: the log's origin and key, its witnesses, and how many of them
/// must cosign (k of n).
#[derive(Clone, Debug)]
pub struct LogPolicy {
    origin: String,
    log: VerifierKey,
    witnesses: Vec<VerifierKey>,
    quorum: usize,
}

impl LogPolicy {
    /// A policy trusting `log` (an [`KeyKind::Ed25519`] key) for `origin`, with no witnesses.
    #[must_use]
    pub fn new(origin: &str, log: VerifierKey) -> Self {
        Self {
            origin: origin.to_owned(),
            log,
            witnesses: Vec::new(),
            quorum: 0,
        }
    }

    /// Requires `quorum` cosignatures from `witnesses` ([`KeyKind::Cosignature`] keys).
    ///
    /// # Errors
    /// [`CheckpointError::WitnessKey`] for a key that is not a cosignature key or is listed
    /// twice, and [`CheckpointError::QuorumTooLarge`] for a quorum no set of these
    /// witnesses can meet: a policy that could never be satisfied, or that ignores a key it
    /// was given, is refused rather than kept.
    pub fn witnesses(
        mut self,
        witnesses: Vec<VerifierKey>,
        quorum: usize,
    ) -> Result<Self, CheckpointError> {
        for (i, w) in witnesses.iter().enumerate() {
            if w.kind() != KeyKind::Cosignature {
                return Err(CheckpointError::WitnessKey {
                    name: w.name().to_owned(),
                    why: "is not a cosignature (type 0x04) key",
                });
            }
            if witnesses[..i]
                .iter()
                .any(|o| o.key_id() == w.key_id() && o.name() == w.name())
            {
                return Err(CheckpointError::WitnessKey {
                    name: w.name().to_owned(),
                    why: "is listed twice",
                });
            }
        }
        if quorum > witnesses.len() {
            return Err(CheckpointError::QuorumTooLarge {
                quorum,
                witnesses: witnesses.len(),
            });
        }
        self.witnesses = witnesses;
        self.quorum = quorum;
        Ok(self)
    }

    /// The log's key.
    #[must_use]
    pub fn log_key(&self) -> &VerifierKey {
        &self.log
    }

    /// The log's origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Verifies a signed checkpoint: note format, origin, the log's signature, then at least
    /// `quorum` valid cosignatures by configured witnesses. Signatures by other keys are
    /// ignored; a failing signature by a configured key refuses the checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError`] naming what failed.
    pub fn verify(&self, note: &str) -> Result<VerifiedCheckpoint, CheckpointError> {
        let parsed = Note::parse(note)?;
        let checkpoint = Checkpoint::parse_text(parsed.text())?;
        if checkpoint.origin != self.origin {
            return Err(CheckpointError::WrongOrigin {
                expected: self.origin.clone(),
                found: checkpoint.origin,
            });
        }
        let mut known = Vec::with_capacity(1 + self.witnesses.len());
        known.push(self.log.clone());
        known.extend(self.witnesses.iter().cloned());
        let signed = match parsed.verify(&known) {
            Ok(s) => s,
            Err(NoteError::NoKnownSignature { .. }) => {
                return Err(CheckpointError::NotSignedByLog(self.log.name().to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        let is_log = |s: &NoteSigned| s.name == self.log.name() && s.key_id == self.log.key_id();
        if !signed.iter().any(is_log) {
            return Err(CheckpointError::NotSignedByLog(self.log.name().to_owned()));
        }
        let cosigners: Vec<NoteSigned> = signed.into_iter().filter(|s| !is_log(s)).collect();
        if cosigners.len() < self.quorum {
            return Err(CheckpointError::Quorum {
                found: cosigners.len(),
                needed: self.quorum,
            });
        }
        Ok(VerifiedCheckpoint {
            checkpoint,
            note: note.to_owned(),
            cosigners,
        })
    }
}

/// A log's checkpoint signer.
#[derive(Debug)]
pub struct LogSigner {
    origin: String,
    key: NoteSigner,
}

impl LogSigner {
    /// A signer for `origin`, whose key name is the origin (as tlog-checkpoint recommends).
    ///
    /// # Errors
    /// [`CheckpointError::Note`] when the origin is not a valid key name.
    pub fn new(origin: &str, signer: crate::Signer) -> Result<Self, CheckpointError> {
        Ok(Self {
            origin: origin.to_owned(),
            key: NoteSigner::new(origin, KeyKind::Ed25519, signer)?,
        })
    }

    /// The verifier key to pin.
    #[must_use]
    pub fn verifier(&self) -> &VerifierKey {
        self.key.verifier()
    }

    /// The log's origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Signs a checkpoint at `size` with `root`; returns the signed note text.
    ///
    /// # Errors
    /// [`CheckpointError`] if the origin cannot be a checkpoint origin.
    pub fn sign(&self, size: u64, root: TreeHash) -> Result<String, CheckpointError> {
        let cp = Checkpoint::new(&self.origin, size, root)?;
        let mut note = Note::new(&cp.text())?;
        note.sign(&self.key, 0);
        Ok(note.to_string())
    }

    /// Signs `note`-format text with the log key (for the log's other statements, such as
    /// a trust note).
    pub(crate) fn sign_note(&self, note: &mut Note) {
        note.sign(&self.key, 0);
    }
}
