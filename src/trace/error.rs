//! Why a trace failed, and each record at fault.

use thiserror::Error;

use super::MAX_TRACE_SUBJECTS;
use crate::error::Reason;
use crate::id::SubjectId;
use crate::record::RecordId;
use crate::store::StoreError;

/// Why a trace failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The store has no records for the ID.
    #[error("no records for {0}")]
    NotFound(SubjectId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The records did not verify: the store was tampered with or holds bad records. Each
    /// failure names the record as the store knows it (subject, seq, log position).
    #[error("verification failed: {} chain(s) rejected; first: {}", .0.len(), first_failure(.0))]
    Verify(Vec<TraceFailure>),
    /// What the store returned disagrees with its own bookkeeping (a damaged index, or rows
    /// removed behind its back): the history cannot be shown as verified.
    #[error("the store is damaged around {subject}: {what}")]
    Damaged {
        /// The subject whose records or lineage disagree.
        subject: SubjectId,
        /// What disagrees.
        what: String,
    },
    /// The lineage around the ID is larger than [`MAX_TRACE_SUBJECTS`].
    #[error("lineage of {0} spans more than {MAX_TRACE_SUBJECTS} subjects")]
    TooLarge(SubjectId),
}

/// A record of a trace that failed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceFailure {
    /// The record's subject, when its body decoded.
    pub subject: Option<SubjectId>,
    /// Its seq in its chain, when its body decoded.
    pub seq: Option<u64>,
    /// Its log position in the store.
    pub position: Option<u64>,
    /// Its ID (the hash of its body bytes).
    pub record: Option<RecordId>,
    /// Why it was rejected.
    pub reason: Reason,
}

impl std::fmt::Display for TraceFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.seq, &self.subject) {
            (Some(seq), Some(s)) => write!(f, "seq {seq} of {s}")?,
            (None, Some(s)) => write!(f, "a record of {s}")?,
            _ => f.write_str("a record")?,
        }
        let mut sep = " (";
        if let Some(p) = self.position {
            write!(f, "{sep}log position {p}")?;
            sep = ", ";
        }
        if let Some(r) = &self.record {
            write!(f, "{sep}id {}", r.short())?;
            sep = ", ";
        }
        if sep == ", " {
            f.write_str(")")?;
        }
        write!(f, ": {}", self.reason)
    }
}

fn first_failure(failures: &[TraceFailure]) -> String {
    failures
        .first()
        .map_or_else(String::new, ToString::to_string)
}
