//! Errors of trust and verification: why a key, a statement, an append or a record was
//! refused, in the verifier's documented check order.

use thiserror::Error;

use crate::event::EventKind;
use crate::id::{KeyId, SubjectId};
use crate::record::RecordId;
use crate::time::Timestamp;
use crate::trust::Role;

use super::DecodeError;

/// A key that cannot be trusted as asked.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Not the canonical encoding of a curve point.
    #[error("key {0} is not a canonical curve point encoding")]
    NonCanonicalKey(KeyId),
    /// A small-order point: it would verify forged signatures.
    #[error("key {0} is a small-order point")]
    SmallOrderKey(KeyId),
    /// A point with a torsion component: no honest key generator produces one.
    #[error("key {0} has a small-order component")]
    MixedOrderKey(KeyId),
    /// The key is already in the store.
    #[error("key {0} is already trusted")]
    AlreadyTrusted(KeyId),
    /// The key is not in the store.
    #[error("key {0} is not in the trust store")]
    UnknownKey(KeyId),
    /// A validity window that contains no instant.
    #[error("key {0}: validity window would be empty")]
    EmptyWindow(KeyId),
}

/// A trust statement or trust history file that cannot be accepted.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrustHistoryError {
    /// The statement is not a well-formed signed note, or a signature on it is bad.
    #[error("trust statement {statement}: {source}")]
    Note {
        /// The statement's seq (its place in the history).
        statement: u64,
        /// What is wrong with the note.
        #[source]
        source: crate::tlog::NoteError,
    },
    /// No signature by the pinned operator key.
    #[error("trust statement is not signed by the operator key {operator}")]
    NotByOperator {
        /// The operator key's name.
        operator: String,
    },
    /// A line of the statement text is malformed.
    #[error("trust statement line {line}: {what}")]
    Syntax {
        /// Line number in the statement text (1-based; 0 when no line applies).
        line: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// Not the next statement.
    #[error("trust statement has seq {found}, expected {expected}")]
    OutOfOrder {
        /// The seq the history expects next.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// The statement does not name the last statement's hash.
    #[error("trust statement {statement} does not name the previous statement's hash")]
    PrevMismatch {
        /// Its seq.
        statement: u64,
    },
    /// Dated before the statement before it.
    #[error(
        "trust statement {statement} is dated {found}, before the previous statement's {previous}"
    )]
    TimeWentBackwards {
        /// Its seq.
        statement: u64,
        /// The previous statement's time.
        previous: crate::time::Timestamp,
        /// Its time.
        found: crate::time::Timestamp,
    },
    /// A change cannot be applied to the trust so far.
    #[error("trust statement {statement} line {line}: {source}")]
    Change {
        /// Its seq.
        statement: u64,
        /// The change's line in the statement text.
        line: usize,
        /// Why.
        #[source]
        source: TrustError,
    },
    /// The file does not start with the trust history magic line.
    #[error(
        "not an agritrace trust history (expected the line agritrace-trust/v1 and a blank line)"
    )]
    NotAHistory,
    /// The history is longer than [`MAX_TRUST_STATEMENTS`](crate::trust::MAX_TRUST_STATEMENTS).
    #[error("trust history holds more than {max} statements")]
    TooManyStatements {
        /// The limit.
        max: usize,
    },
}

/// A record that cannot be appended to a chain.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The chain ended with an end-of-chain record.
    #[error("chain of {0} has ended; nothing may be appended")]
    Ended(SubjectId),
    /// The new record's time is before the tip's.
    #[error("record time {time} is before the chain tip's time {tip}")]
    TimeBeforeTip {
        /// Time asked for.
        time: Timestamp,
        /// Time of the tip.
        tip: Timestamp,
    },
    /// The event breaks a rule of the format (see [`DecodeError::Invalid`]).
    #[error("invalid record: {0}")]
    Invalid(DecodeError),
}

/// Why a record was rejected. The checks run in this order and the first failure is
/// reported: decode, link (subject, seq, prev, time, end of chain), signer, signature,
/// lineage.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Reason {
    /// The body bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The chain to verify has no records.
    #[error("chain has no records")]
    EmptyChain,
    /// The record is about another subject.
    #[error("record is about {found}, expected {expected}")]
    WrongSubject {
        /// The chain's subject.
        expected: SubjectId,
        /// The record's subject.
        found: SubjectId,
    },
    /// Not the next sequence number (a gap, a reordering, or a missing start).
    #[error("expected seq {expected}, found seq {found}")]
    UnexpectedSeq {
        /// The seq that should come next.
        expected: u64,
        /// The seq found.
        found: u64,
    },
    /// The same record again.
    #[error("duplicate of record seq {seq}")]
    Duplicate {
        /// Its seq.
        seq: u64,
    },
    /// A different record with the tip's seq: two histories.
    #[error("fork: a different record {existing} already holds seq {seq}")]
    Fork {
        /// The contested seq.
        seq: u64,
        /// The record accepted first at that seq.
        existing: RecordId,
    },
    /// `prev` is not the ID of the previous record.
    #[error("prev link names {found}, expected {expected}")]
    PrevMismatch {
        /// ID of the previous record.
        expected: RecordId,
        /// ID the record names.
        found: RecordId,
    },
    /// Time runs backwards along the chain.
    #[error("record time {found} is before the previous record's {previous}")]
    TimeWentBackwards {
        /// Time of the previous record.
        previous: Timestamp,
        /// Time of this record.
        found: Timestamp,
    },
    /// A record after the end-of-chain record.
    #[error("record after end of chain")]
    AfterEndOfChain,
    /// The signer is not in the trust store.
    #[error("signer {0} is not trusted")]
    UntrustedKey(KeyId),
    /// The signer was revoked before the record's time.
    #[error("signer {key} was revoked at {revoked_at}")]
    RevokedKey {
        /// The signer.
        key: KeyId,
        /// When it was revoked.
        revoked_at: Timestamp,
    },
    /// The record predates the signer's validity window.
    #[error("signer {key} is valid only from {valid_from}")]
    KeyNotYetValid {
        /// The signer.
        key: KeyId,
        /// Start of its window.
        valid_from: Timestamp,
    },
    /// The record is after the signer's validity window (expired or rotated out).
    #[error("signer {key} was valid only until {valid_until}")]
    KeyExpired {
        /// The signer.
        key: KeyId,
        /// End of its window.
        valid_until: Timestamp,
    },
    /// The signer's role may not sign this event.
    #[error("signer {key} has role {role}, which may not sign {event}")]
    RoleNotAllowed {
        /// The signer.
        key: KeyId,
        /// Its role.
        role: Role,
        /// The event kind.
        event: EventKind,
    },
    /// The Ed25519 signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A lineage reference names a record that is not in the verified set.
    #[error("lineage parent {parent} of {subject} is missing")]
    MissingParent {
        /// The parent subject.
        subject: SubjectId,
        /// The parent record.
        parent: RecordId,
    },
    /// A lineage reference names a record of a chain that failed verification before it.
    #[error("lineage parent {parent} of {subject} did not verify")]
    ParentNotVerified {
        /// The parent subject.
        subject: SubjectId,
        /// The parent record.
        parent: RecordId,
    },
    /// A lineage reference names a record of another subject than it says.
    #[error("lineage parent {parent} belongs to {actual}, not {claimed}")]
    ParentSubjectMismatch {
        /// Subject named in the reference.
        claimed: SubjectId,
        /// Subject of the record found.
        actual: SubjectId,
        /// The parent record.
        parent: RecordId,
    },
    /// The parent record is later than the record that derives from it.
    #[error("lineage parent {parent} is dated after this record")]
    ParentAfterChild {
        /// The parent record.
        parent: RecordId,
    },
}

/// A rejected record: where it is, what it is, and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("record {index}{} ({}): {reason}", subject_suffix(.subject.as_ref()), record_text(.record.as_ref()))]
pub struct VerifyError {
    /// Position of the record in the input.
    pub index: usize,
    /// The record's subject, when its body decoded.
    pub subject: Option<SubjectId>,
    /// The record's ID (hash of its body bytes); `None` only for [`Reason::EmptyChain`].
    pub record: Option<RecordId>,
    /// Why it was rejected.
    pub reason: Reason,
}

fn subject_suffix(s: Option<&SubjectId>) -> String {
    s.map_or_else(String::new, |s| format!(" of {s}"))
}

fn record_text(r: Option<&RecordId>) -> String {
    r.map_or_else(|| "no record".to_owned(), |r| format!("id {}", r.short()))
}

/// Every rejected chain of a verified set: the first bad record of each, by input index.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{} chain(s) failed verification; first: {}", .errors.len(), first(.errors))]
pub struct VerifyErrors {
    /// One error per failing chain, sorted by record index.
    pub errors: Vec<VerifyError>,
}

fn first(errors: &[VerifyError]) -> String {
    errors.first().map_or_else(String::new, ToString::to_string)
}

/// A streamed ledger that could not be read or did not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The record source failed (I/O, a malformed frame) or changed between passes.
    #[error("reading the ledger failed: {0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    /// Records were rejected: `errors` lists the first of them by input index (at most
    /// [`MAX_LISTED_ERRORS`](crate::MAX_LISTED_ERRORS)), `total` counts them all.
    #[error("{total} record(s) rejected; {errors}")]
    Rejected {
        /// The rejected records, sorted by input index.
        errors: VerifyErrors,
        /// How many were rejected in all.
        total: usize,
    },
}
