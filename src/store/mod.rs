//! Storage: the [`Store`] trait and its backends (SQLite embedded by default).
//!
//! A store keeps signed records in a gap-free log and admits, atomically, only records the
//! verifier would accept there and then (`admit`): canonical, extending their subject's
//! tip, signed by a key its trust holds in a role the policy allows, with every lineage
//! parent stored. Its trust is data: statements signed by the operator key pinned when the
//! store was created ([`TrustHistory`]).

pub mod backend;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::path::PathBuf;

use thiserror::Error;

use crate::error::{Reason, TrustHistoryError};
use crate::id::SubjectId;
use crate::record::{RecordId, SignedRecord};
use crate::time::Timestamp;
use crate::tlog::LogSigner;
use crate::trust::{TrustChange, TrustHistory, TrustStatement};

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

pub use crate::record::ChainTip;

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
    /// This exact record is already stored: appending is idempotent, and this says where.
    #[error("record is already stored at log position {position}")]
    AlreadyStored {
        /// Where it is.
        position: u64,
    },
    /// The verifier would reject the record here and now, for this reason (the same
    /// [`Reason`] the verifier gives). A [`Reason::Fork`] names the record already stored
    /// at the seq: if both are validly signed (and the store admits only such records),
    /// the two are fork evidence.
    #[error("{0}")]
    Refused(Reason),
}

impl Conflict {
    /// The verifier's reason, when the record was refused rather than already stored.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Self::Refused(r) => Some(r),
            Self::AlreadyStored { .. } => None,
        }
    }
}

/// A store operation that failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record was refused; nothing of its append or batch was written.
    #[error("record {index} of the append{} (id {}) refused: {conflict}", subject_text(.subject.as_ref()), .record.short())]
    Refused {
        /// Position of the record in the batch (0 for a single append).
        index: usize,
        /// Its subject, when its body decoded.
        subject: Option<SubjectId>,
        /// Its ID.
        record: RecordId,
        /// Why.
        conflict: Conflict,
    },
    /// A trust statement was refused; nothing was written.
    #[error("trust statement refused: {0}")]
    Trust(#[from] TrustHistoryError),
    /// The store has no operator key, so it can take no trust statement (a store made by
    /// an earlier version; create a new one and import the ledger).
    #[error("the store has no operator key pinned; create a store with one and import the ledger")]
    NoOperator,
    /// No store at the path (opening never creates one: see `create`).
    #[error("no store at {0}")]
    NotFound(PathBuf),
    /// A store already exists at the path.
    #[error("a store already exists at {0}")]
    Exists(PathBuf),
    /// Stored bytes or bookkeeping are not what this crate wrote (edited behind its back, or
    /// damaged); the text names the row or subject.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, locking, SQL): its own error, typed, and the file when
    /// known.
    #[error("storage backend{}: {source}", in_file_text(file.as_deref()))]
    Backend {
        /// The store's file, when the error concerns one.
        file: Option<PathBuf>,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A backend error, without a file.
    pub fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend {
            file: None,
            source: source.into(),
        }
    }
}

fn in_file_text(file: Option<&std::path::Path>) -> String {
    file.map_or_else(String::new, |f| format!(" ({})", f.display()))
}

fn subject_text(s: Option<&SubjectId>) -> String {
    s.map_or_else(String::new, |s| format!(" ({s})"))
}

impl StoreError {
    /// The conflict, when a record was refused.
    #[must_use]
    pub fn conflict(&self) -> Option<&Conflict> {
        match self {
            Self::Refused { conflict, .. } => Some(conflict),
            _ => None,
        }
    }
}

/// A record store: compare-and-append, batches, reads by subject, ID and log order, and
/// lineage edges both ways. Every backend passes the same conformance suite.
pub trait Store {
    /// Appends `record` if the verifier would accept it here and now; returns its log
    /// position. Nothing is acknowledged before it is durable.
    ///
    /// # Errors
    /// [`StoreError::Refused`] (nothing written), or a backend error.
    fn append(&self, record: &SignedRecord) -> Result<u64, StoreError>;

    /// Appends all `records` in one transaction, in order, or none of them; returns the log
    /// position of the first (the rest follow without gaps).
    ///
    /// # Errors
    /// [`StoreError::Refused`] naming the first refused record (nothing written), or a
    /// backend error.
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

    /// How many lineage edges name `subject` as parent, from the store's own bookkeeping,
    /// kept apart from the index [`Store::children`] reads: a trace compares the two.
    ///
    /// # Errors
    /// A backend error.
    fn children_count(&self, subject: &SubjectId) -> Result<u64, StoreError>;

    /// Checks the store's own structures (for SQLite, `PRAGMA quick_check`) and that its
    /// bookkeeping (tips, lineage counts) agrees with the records; reads everything.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first damage found, or a backend error.
    fn check_integrity(&self) -> Result<(), StoreError>;

    /// The store's trust history: its operator key and every statement, as stored now.
    ///
    /// # Errors
    /// [`StoreError::NoOperator`] for a store without an operator key, or a backend error.
    fn trust_history(&self) -> Result<TrustHistory, StoreError>;

    /// Appends a trust statement signed by the operator key (checked as
    /// [`TrustHistory::apply`] does); returns it. Records are admitted under the new trust
    /// from then on.
    ///
    /// # Errors
    /// [`StoreError::Trust`] (nothing written), [`StoreError::NoOperator`], or a backend
    /// error.
    fn apply_trust(&self, note: &str) -> Result<TrustStatement, StoreError>;

    /// Signs `changes` with `operator` as the next trust statement, made at `time`, and
    /// applies it.
    ///
    /// # Errors
    /// As [`Store::apply_trust`].
    fn update_trust(
        &self,
        operator: &LogSigner,
        time: Timestamp,
        changes: Vec<TrustChange>,
    ) -> Result<TrustStatement, StoreError> {
        let statement = self.trust_history()?.sign_next(operator, time, changes)?;
        self.apply_trust(statement.note())
    }

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

/// A store chosen at run time: `Box<dyn Store + Send + Sync>` holds a SQLite store or a
/// server-backed one (`crates/agritrace-postgres`) behind one type, and is itself a
/// [`Store`] (so it streams, traces and verifies like either).
///
/// # Example
/// ```
/// use agritrace::{LogSigner, Signer, SqliteStore, Store};
/// let operator = LogSigner::new("coop.example/log", Signer::from_seed([7; 32]))?;
/// let store: Box<dyn Store + Send + Sync> =
///     Box::new(SqliteStore::create_in_memory(operator.verifier())?);
/// assert_eq!(store.stream(100).count(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<S: Store + ?Sized> Store for Box<S> {
    fn append(&self, record: &SignedRecord) -> Result<u64, StoreError> {
        (**self).append(record)
    }
    fn append_batch(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        (**self).append_batch(records)
    }
    fn chain(&self, subject: &SubjectId) -> Result<Vec<SignedRecord>, StoreError> {
        (**self).chain(subject)
    }
    fn tip(&self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
        (**self).tip(subject)
    }
    fn get(&self, id: &RecordId) -> Result<Option<(u64, SignedRecord)>, StoreError> {
        (**self).get(id)
    }
    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, SignedRecord)>, StoreError> {
        (**self).read_log(from, limit)
    }
    fn len(&self) -> Result<u64, StoreError> {
        (**self).len()
    }
    fn is_empty(&self) -> Result<bool, StoreError> {
        (**self).is_empty()
    }
    fn subjects(&self) -> Result<Vec<SubjectId>, StoreError> {
        (**self).subjects()
    }
    fn children_count(&self, subject: &SubjectId) -> Result<u64, StoreError> {
        (**self).children_count(subject)
    }
    fn check_integrity(&self) -> Result<(), StoreError> {
        (**self).check_integrity()
    }
    fn trust_history(&self) -> Result<TrustHistory, StoreError> {
        (**self).trust_history()
    }
    fn apply_trust(&self, note: &str) -> Result<TrustStatement, StoreError> {
        (**self).apply_trust(note)
    }
    fn update_trust(
        &self,
        operator: &LogSigner,
        time: Timestamp,
        changes: Vec<TrustChange>,
    ) -> Result<TrustStatement, StoreError> {
        (**self).update_trust(operator, time, changes)
    }
    fn children(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        (**self).children(subject)
    }
    fn parents(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        (**self).parents(subject)
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
