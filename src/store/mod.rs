//! Storage: the [`Store`] trait and its backends (SQLite embedded by default).
//!
//! A store keeps signed records in a gap-free log and refuses, atomically, any record that
//! does not extend its subject's tip. It checks links (subject, seq, prev, end of chain,
//! lineage parents present) but not signatures or trust: that is the verifier's job, done
//! when records are read back.

mod sqlite;

use thiserror::Error;

use crate::error::DecodeError;
use crate::event::Event;
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::time::Timestamp;

pub use sqlite::SqliteStore;

/// The last record of a subject's chain, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    /// Its seq.
    pub seq: u64,
    /// Its ID.
    pub id: RecordId,
    /// Its time.
    pub time: Timestamp,
    /// Whether it is an end-of-chain record.
    pub ended: bool,
}

/// A lineage edge: `child_record` (of `child`) derives from `parent_record` (of `parent`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LineageEdge {
    /// The derived subject.
    pub child: SubjectId,
    /// The record that names the parent.
    pub child_record: RecordId,
    /// The parent subject.
    pub parent: SubjectId,
    /// The parent record.
    pub parent_record: RecordId,
}

/// Why an append was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Conflict {
    /// This exact record is already stored.
    #[error("record is already stored at log position {position}")]
    AlreadyStored {
        /// Where it is.
        position: u64,
    },
    /// Stale: another record already holds this seq (the writer's view of the tip was old).
    /// If both are validly signed, the two are fork evidence.
    #[error("stale: {subject} already has seq {seq} (record {existing}); its tip is seq {tip_seq}")]
    Stale {
        /// The subject.
        subject: SubjectId,
        /// The contested seq.
        seq: u64,
        /// The record stored at that seq.
        existing: RecordId,
        /// The subject's tip seq.
        tip_seq: u64,
    },
    /// Fork: the record is next in seq but names another previous record than the tip.
    #[error("fork: {subject} seq {seq} names prev {found}, but the tip is {tip}")]
    Fork {
        /// The subject.
        subject: SubjectId,
        /// The record's seq.
        seq: u64,
        /// The stored tip's ID.
        tip: RecordId,
        /// The prev the record names.
        found: RecordId,
    },
    /// The record skips ahead: its predecessors are not stored.
    #[error("gap: {subject} expects seq {expected} next, record has seq {found}")]
    Gap {
        /// The subject.
        subject: SubjectId,
        /// The next seq.
        expected: u64,
        /// The record's seq.
        found: u64,
    },
    /// The chain has ended.
    #[error("{subject}'s chain has ended")]
    Ended {
        /// The subject.
        subject: SubjectId,
    },
    /// A lineage parent is not in the store (parents are stored before children).
    #[error("lineage parent {parent} is not in the store")]
    MissingParent {
        /// The missing parent record.
        parent: RecordId,
    },
}

/// A store operation that failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The append was refused; nothing was written.
    #[error("append refused: {0}")]
    Conflict(#[from] Conflict),
    /// A record in a batch was refused; nothing of the batch was written.
    #[error("batch record {index} refused: {conflict}")]
    Batch {
        /// Position in the batch.
        index: usize,
        /// Why.
        conflict: Conflict,
    },
    /// The record's body does not decode.
    #[error("record does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// Stored bytes are not what this crate wrote (edited behind its back).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, locking, SQL).
    #[error("storage backend: {0}")]
    Backend(String),
}

/// A record store: compare-and-append, batches, reads by subject, ID and log order, and
/// lineage edges both ways. Every backend passes the same conformance suite.
pub trait Store {
    /// Appends `record` if it extends its subject's tip; returns its log position.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (nothing written), [`StoreError::Decode`], or a backend error.
    fn append(&self, record: &SignedRecord) -> Result<u64, StoreError>;

    /// Appends all `records` in one transaction, in order, or none of them; returns the log
    /// position of the first (the rest follow without gaps).
    ///
    /// # Errors
    /// [`StoreError::Batch`] naming the first refused record (nothing written), or a
    /// decode or backend error.
    fn append_batch(&self, records: &[SignedRecord]) -> Result<u64, StoreError>;

    /// The records of `subject`'s chain, seq 0 first (empty if unknown).
    ///
    /// # Errors
    /// A backend error.
    fn chain(&self, subject: &SubjectId) -> Result<Vec<SignedRecord>, StoreError>;

    /// The tip of `subject`'s chain.
    ///
    /// # Errors
    /// A backend error, or [`StoreError::Corrupt`] if the stored tip does not decode.
    fn tip(&self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError>;

    /// The record with ID `id`, with its log position.
    ///
    /// # Errors
    /// A backend error.
    fn get(&self, id: &RecordId) -> Result<Option<(u64, SignedRecord)>, StoreError>;

    /// Up to `limit` records from log position `from` on, in log order.
    ///
    /// # Errors
    /// A backend error.
    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, SignedRecord)>, StoreError>;

    /// Number of records in the log (the next log position).
    ///
    /// # Errors
    /// A backend error.
    fn len(&self) -> Result<u64, StoreError>;

    /// Whether the log is empty.
    ///
    /// # Errors
    /// A backend error.
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Every subject, in text order.
    ///
    /// # Errors
    /// A backend error.
    fn subjects(&self) -> Result<Vec<SubjectId>, StoreError>;

    /// Lineage edges whose parent is `subject` (what was made from it).
    ///
    /// # Errors
    /// A backend error.
    fn children(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError>;

    /// Lineage edges whose child is `subject` (what it was made from).
    ///
    /// # Errors
    /// A backend error.
    fn parents(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError>;

    /// Every record in log order, read in pages of `page` records: an iterator for
    /// [`LedgerVerifier::verify_stream`](crate::LedgerVerifier::verify_stream).
    fn stream(&self, page: usize) -> LogStream<'_, Self>
    where
        Self: Sized,
    {
        LogStream {
            store: self,
            next: 0,
            page: page.max(1),
            buf: Vec::new().into_iter(),
            done: false,
        }
    }
}

/// Reads a store's log in pages; see [`Store::stream`].
pub struct LogStream<'s, S> {
    store: &'s S,
    next: u64,
    page: usize,
    buf: std::vec::IntoIter<(u64, SignedRecord)>,
    done: bool,
}

impl<S: Store> Iterator for LogStream<'_, S> {
    type Item = Result<SignedRecord, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some((_, r)) = self.buf.next() {
            return Some(Ok(r));
        }
        if self.done {
            return None;
        }
        match self.store.read_log(self.next, self.page) {
            Ok(page) => {
                self.done = page.len() < self.page;
                self.next += page.len() as u64;
                self.buf = page.into_iter();
                self.buf.next().map(|(_, r)| Ok(r))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// What a store needs from a record to place it: decoded once, before any write.
pub(crate) struct Placed {
    pub(crate) id: RecordId,
    pub(crate) subject: String,
    pub(crate) seq: u64,
    pub(crate) prev: Option<RecordId>,
    pub(crate) time: Timestamp,
    pub(crate) ends: bool,
    pub(crate) subject_id: SubjectId,
    pub(crate) parents: Vec<(SubjectId, RecordId)>,
}

impl Placed {
    pub(crate) fn of(record: &SignedRecord) -> Result<Self, DecodeError> {
        let body = RecordBody::decode(record.body())?;
        Ok(Self {
            id: record.id(),
            subject: body.subject().to_string(),
            seq: body.seq(),
            prev: body.prev().copied(),
            time: body.time(),
            ends: matches!(body.event(), Event::EndOfChain { .. }),
            parents: body
                .event()
                .lineage()
                .iter()
                .map(|l| (l.subject.clone(), l.record))
                .collect(),
            subject_id: body.subject().clone(),
        })
    }

    /// Checks that this record extends `tip`.
    pub(crate) fn extends(&self, tip: Option<&ChainTip>) -> Result<(), Conflict> {
        let subject = || self.subject_id.clone();
        match tip {
            None if self.seq == 0 => Ok(()),
            None => Err(Conflict::Gap {
                subject: subject(),
                expected: 0,
                found: self.seq,
            }),
            Some(t) if self.seq <= t.seq => Err(Conflict::Stale {
                subject: subject(),
                seq: self.seq,
                existing: t.id, // replaced by the caller with the record at `seq` when older
                tip_seq: t.seq,
            }),
            Some(t) if t.ended => Err(Conflict::Ended { subject: subject() }),
            Some(t) if self.seq > t.seq + 1 => Err(Conflict::Gap {
                subject: subject(),
                expected: t.seq + 1,
                found: self.seq,
            }),
            Some(t) if self.prev != Some(t.id) => Err(Conflict::Fork {
                subject: subject(),
                seq: self.seq,
                tip: t.id,
                found: self.prev.unwrap_or(RecordId::from_bytes([0; 32])),
            }),
            Some(_) => Ok(()),
        }
    }
}
