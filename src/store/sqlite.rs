//! The embedded default store: SQLite through rusqlite (bundled), WAL, `synchronous=FULL`.
//!
//! Every append runs in an `IMMEDIATE` transaction, so writers in several threads or
//! processes are serialised by SQLite's lock and each sees the latest tip; a commit that
//! returned is on disk (WAL with `synchronous=FULL` syncs the log at every commit) and
//! survives `kill -9` or power loss.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::admit::{self, Lookup};
use super::{ChainTip, LineageEdge, Store, StoreError};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SIGNATURE_LEN, SignedRecord};
use crate::time::Timestamp;
use crate::tlog::NoteVerifier;
use crate::trust::{Policy, TrustHistory, TrustStatement};
use crate::verify::check;
use crate::verify::check::Linked as _;

/// Schema version 2: tips and trust history. Version 1 (no `user_version`) had records and
/// lineage only; opening it adds the tips from the records.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    pos     INTEGER PRIMARY KEY,   -- log position: 0, 1, 2, ... in commit order, no gaps
    id      BLOB    NOT NULL UNIQUE,
    subject TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    time    INTEGER NOT NULL,
    ends    INTEGER NOT NULL,
    body    BLOB    NOT NULL,
    sig     BLOB    NOT NULL,
    UNIQUE (subject, seq)
);
CREATE TABLE IF NOT EXISTS lineage (
    child_subject  TEXT NOT NULL,
    child_id       BLOB NOT NULL,
    parent_subject TEXT NOT NULL,
    parent_id      BLOB NOT NULL,
    PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX IF NOT EXISTS lineage_by_parent ON lineage (parent_subject);
CREATE INDEX IF NOT EXISTS lineage_by_child ON lineage (child_subject);
-- Bookkeeping kept apart from the records' indexes: each subject's tip and how many
-- lineage edges name it as parent. A trace compares what it read with these.
CREATE TABLE IF NOT EXISTS tips (
    subject  TEXT    PRIMARY KEY,
    seq      INTEGER NOT NULL,
    id       BLOB    NOT NULL,
    time     INTEGER NOT NULL,
    ends     INTEGER NOT NULL,
    children INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS trust (
    seq  INTEGER PRIMARY KEY,       -- 0, 1, 2, ...: the statement's seq
    note TEXT    NOT NULL           -- the signed statement (docs/FORMAT.md section 10)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Rebuilds the tips of a version 1 store from its records and lineage.
const MIGRATE_1_TO_2: &str = "
INSERT OR REPLACE INTO tips (subject, seq, id, time, ends, children)
    SELECT r.subject, r.seq, r.id, r.time, r.ends,
           (SELECT COUNT(*) FROM lineage l WHERE l.parent_subject = r.subject)
    FROM records r
    WHERE r.seq = (SELECT MAX(seq) FROM records m WHERE m.subject = r.subject);
";

/// A [`Store`] in one SQLite database file.
///
/// # Example
/// ```
/// use agritrace::{Chain, Event, KeyGrant, LogSigner, Role, Signer, SqliteStore, Store, SubjectId, Text, Timestamp, TrustChange};
/// let operator = LogSigner::new("coop.example/log", Signer::from_seed([7; 32]))?;
/// let store = SqliteStore::create_in_memory(operator.verifier())?;
/// let scale = Signer::from_seed([9; 32]);
/// let grant = KeyGrant::new(Text::new("barn 2 scale")?, Role::Device, Timestamp::from_millis(0));
/// store.update_trust(&operator, Timestamp::from_millis(0), vec![TrustChange::Grant { key: scale.public_key(), grant }])?;
///
/// let pig: SubjectId = "eartag:161083000000042".parse()?;
/// let mut chain = Chain::new(pig.clone());
/// let r0 = chain.append(&scale, Timestamp::from_millis(1), Event::Weighing { grams: 1_250 })?;
/// assert_eq!(store.append(&r0)?, 0);
/// assert!(store.append(&r0).is_err()); // already stored
/// assert_eq!(store.chain(&pig)?, vec![r0]);
///
/// // A record by a key the store does not trust is refused, naming the reason.
/// let stranger = Signer::from_seed([1; 32]);
/// let r1 = chain.append(&stranger, Timestamp::from_millis(2), Event::Weighing { grams: 1_300 })?;
/// assert!(store.append(&r1).unwrap_err().to_string().contains("is not trusted"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The trust as last read from the `trust` table (`None`: no operator key).
    history: RwLock<Option<TrustHistory>>,
    policy: Policy,
}

#[allow(clippy::needless_pass_by_value, reason = "used as `map_err(backend)`")]
fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Creates a store at `path` (a new file, or an empty one) and pins `operator`, the key
    /// whose statements alone change its trust. Records are admitted under
    /// [`Policy::livestock`] unless [`SqliteStore::with_policy`] says otherwise.
    ///
    /// # Errors
    /// [`StoreError::Exists`] when the file already holds a store; a backend error (naming
    /// the path) when it cannot be created.
    pub fn create(path: impl AsRef<Path>, operator: &NoteVerifier) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(|e| at_path(path, &e))?;
        let store = Self::setup(conn).map_err(|e| in_file(path, e))?;
        if store.has_data()? {
            return Err(StoreError::Exists(path.to_owned()));
        }
        store.pin(operator)?;
        Ok(store)
    }

    /// Opens the existing store at `path`; never creates one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no file (or no store in it); a backend error
    /// naming the path when it cannot be opened (a directory, no permission, not SQLite).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| at_path(path, &e))?;
        let store = Self::setup(conn).map_err(|e| in_file(path, e))?;
        if !store.has_data()? {
            return Err(StoreError::NotFound(path.to_owned()));
        }
        Ok(store)
    }

    /// A private, in-memory store (for tests and examples) pinning `operator`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite cannot start.
    pub fn create_in_memory(operator: &NoteVerifier) -> Result<Self, StoreError> {
        let store = Self::setup(Connection::open_in_memory().map_err(backend)?)?;
        store.pin(operator)?;
        Ok(store)
    }

    /// This store, admitting records under `policy` instead of [`Policy::livestock`].
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(60))
            .map_err(backend)?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(backend)?;
        // Full sync at every commit; a 64 MiB page cache keeps the indexes in memory as the
        // log grows, and checkpoints run every 16,384 WAL pages (64 MiB), so an index page
        // that many batches touch is copied into the database file once, not once a batch.
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=16384;",
        )
        .map_err(backend)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "schema version {version} is newer than this crate's ({SCHEMA_VERSION})"
            )));
        }
        if version < SCHEMA_VERSION {
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {SCHEMA} {MIGRATE_1_TO_2} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(backend)?;
        }
        let store = Self {
            conn: Mutex::new(conn),
            history: RwLock::new(None),
            policy: Policy::livestock(),
        };
        store.reload_trust()?;
        Ok(store)
    }

    fn has_data(&self) -> Result<bool, StoreError> {
        let conn = self.lock();
        let n: i64 = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM meta) + (SELECT COUNT(*) FROM records)",
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn pin(&self, operator: &NoteVerifier) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('operator', ?1)",
                [operator.vkey()],
            )
            .map_err(backend)?;
            Ok(())
        })?;
        self.reload_trust()
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open (it rolls back on
        // drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in an `IMMEDIATE` transaction and commits it.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let out = f(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    /// Reads the operator key and every trust statement, checking each again.
    fn read_history(conn: &Connection) -> Result<Option<TrustHistory>, StoreError> {
        let vkey: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'operator'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend)?;
        let Some(vkey) = vkey else {
            return Ok(None);
        };
        let operator = NoteVerifier::parse(&vkey)
            .map_err(|e| StoreError::Corrupt(format!("meta row operator: {e}")))?;
        let mut history = TrustHistory::new(operator);
        let mut stmt = conn
            .prepare_cached("SELECT seq, note FROM trust ORDER BY seq")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(backend)?;
        for row in rows {
            let (seq, note) = row.map_err(backend)?;
            history
                .apply(&note)
                .map_err(|e| StoreError::Corrupt(format!("trust row seq {seq}: {e}")))?;
        }
        Ok(Some(history))
    }

    fn reload_trust(&self) -> Result<(), StoreError> {
        let history = Self::read_history(&self.lock())?;
        *self.history.write().unwrap_or_else(PoisonError::into_inner) = history;
        Ok(())
    }

    /// Admits `records` in one transaction, under the trust as known when it starts; if
    /// another writer changed the trust meanwhile, judges them again under the new trust.
    ///
    /// A batch of more than one chunk is judged (decode, signer, batched signatures) on a
    /// helper thread, one chunk ahead of this thread, which places each judged chunk
    /// (links, lineage, inserts) in the write transaction. Judging is CPU work and placing
    /// is mostly SQLite's, so a batch costs about the longer of the two instead of their
    /// sum, and the pair stays off the rayon pool, which a caller may be filling with
    /// signing work. The verdicts are those of judging the batch whole.
    fn admit_all(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        loop {
            // The statement count and the trust the records are judged under are read
            // under one guard, so the count checked below is the trust's own. The trust
            // is copied (a few keys) so that no guard is held while writing.
            let (known, trust) = {
                let guard = self.history.read().unwrap_or_else(PoisonError::into_inner);
                match guard.as_ref() {
                    Some(h) => (h.statements().len(), h.trust().clone()),
                    None => (0, crate::trust::TrustStore::new()),
                }
            };
            let placed = std::thread::scope(|scope| {
                let judged = Judged::start(scope, records, &trust, &self.policy);
                self.write(|tx| {
                    let stored: i64 = tx
                        .prepare_cached("SELECT COUNT(*) FROM trust")
                        .and_then(|mut s| s.query_row([], |r| r.get(0)))
                        .map_err(backend)?;
                    if usize::try_from(stored).ok() != Some(known) {
                        return Ok(None);
                    }
                    let first = next_pos(tx)?;
                    let mut look = TxLookup::new(tx);
                    let mut index = 0;
                    for candidates in judged {
                        place(&mut look, &candidates, index, first)?;
                        index += candidates.len();
                    }
                    look.flush()?;
                    Ok(Some(first))
                })
            })?;
            match placed {
                Some(first) => return Ok(first),
                None => self.reload_trust()?,
            }
        }
    }
}

/// Judged chunks of a batch, in order: from helper threads that judge ahead (chunk `i` by
/// helper `i % n`), or judged here when the batch is one chunk or no thread can be had.
enum Judged<'r> {
    Here(std::vec::IntoIter<Vec<admit::Candidate<'r>>>),
    Helpers {
        from: Vec<Receiver<Vec<admit::Candidate<'r>>>>,
        next: usize,
    },
}

type Receiver<T> = std::sync::mpsc::Receiver<T>;

impl<'r> Judged<'r> {
    fn start<'s, 'e: 's>(
        scope: &'s std::thread::Scope<'s, 'e>,
        records: &'r [SignedRecord],
        trust: &'e crate::trust::TrustStore,
        policy: &'e Policy,
    ) -> Self
    where
        'r: 'e,
    {
        let here = || {
            Self::Here(
                records
                    .chunks(admit::CHUNK)
                    .map(|c| admit::prepare(c, trust, policy))
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        };
        if records.len() <= admit::CHUNK {
            return here();
        }
        let chunks = admit::chunks(records.len());
        let helpers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, admit::MAX_HELPERS)
            .min(chunks.len());
        let mut from = Vec::with_capacity(helpers);
        for k in 0..helpers {
            // Each helper runs at most one judged chunk ahead of the placing side; when
            // that side stops early (a refusal), the sends fail and the helpers stop.
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let mine: Vec<_> = chunks.iter().skip(k).step_by(helpers).cloned().collect();
            let helper = std::thread::Builder::new()
                .name("agritrace-admit".into())
                .spawn_scoped(scope, move || {
                    for range in mine {
                        let chunk = records.get(range).unwrap_or_default();
                        if tx.send(admit::prepare(chunk, trust, policy)).is_err() {
                            return;
                        }
                    }
                });
            if helper.is_err() {
                // No thread: judge here (the helpers started see their receivers dropped).
                return here();
            }
            from.push(rx);
        }
        Self::Helpers { from, next: 0 }
    }
}

impl<'r> Iterator for Judged<'r> {
    type Item = Vec<admit::Candidate<'r>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Here(it) => it.next(),
            Self::Helpers { from, next } => {
                let chunk = from.get(*next % from.len().max(1))?.recv().ok()?;
                *next += 1;
                Some(chunk)
            }
        }
    }
}

/// Admits and inserts judged `candidates`, the first of which is record `index` of the
/// batch that starts at log position `first`.
fn place(
    look: &mut TxLookup<'_, '_>,
    candidates: &[admit::Candidate<'_>],
    index: usize,
    first: u64,
) -> Result<(), StoreError> {
    for (i, c) in candidates.iter().enumerate() {
        let index = index + i;
        if let Err(conflict) = admit::admit(c, look)? {
            return Err(StoreError::Refused {
                index,
                subject: c.subject().cloned(),
                record: c.id,
                conflict,
            });
        }
        if let Ok(body) = &c.body {
            insert(look, c.record, c.id, body, first + index as u64)?;
        }
    }
    Ok(())
}

/// A path-naming backend error.
fn at_path(path: &Path, e: &rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("{}: {e}", path.display()))
}

fn in_file(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Backend(m) => StoreError::Backend(format!("{}: {m}", path.display())),
        other => other,
    }
}

fn next_pos(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let next: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(pos) + 1, 0) FROM records")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)?;
    u64::try_from(next).map_err(|_| StoreError::Corrupt(format!("log position {next}")))
}

fn tip_of(conn: &Connection, subject: &str) -> Result<Option<ChainTip>, StoreError> {
    let row: Option<(i64, Vec<u8>, i64, bool)> = conn
        .prepare_cached("SELECT seq, id, time, ends FROM tips WHERE subject = ?1")
        .and_then(|mut s| {
            s.query_row([subject], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(backend)?;
    row.map(|(seq, id, time, ended)| {
        Ok(ChainTip::new(
            u64::try_from(seq)
                .map_err(|_| StoreError::Corrupt(format!("tips row {subject}: seq {seq}")))?,
            record_id(&id).map_err(|e| StoreError::Corrupt(format!("tips row {subject}: {e}")))?,
            Timestamp::from_millis(time),
            ended,
        ))
    })
    .transpose()
}

fn record_id(bytes: &[u8]) -> Result<RecordId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(RecordId::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("record ID of {} bytes", bytes.len())))
}

fn signed(pos: i64, body: Vec<u8>, sig: &[u8]) -> Result<SignedRecord, StoreError> {
    let sig = <[u8; SIGNATURE_LEN]>::try_from(sig).map_err(|_| {
        StoreError::Corrupt(format!(
            "record at log position {pos}: signature of {} bytes",
            sig.len()
        ))
    })?;
    Ok(SignedRecord::from_parts(body, sig))
}

fn as_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} is out of SQLite's range")))
}

/// Admission's view of the write transaction.
/// Admission's view of the store inside a write transaction. The tips of the subjects a
/// batch touches are kept here and written once per subject when the batch is placed
/// ([`TxLookup::flush`]), with the lineage children counted meanwhile: a batch of one
/// pig's records reads and writes its tips row once, not once per record.
struct TxLookup<'t, 'c> {
    tx: &'t Transaction<'c>,
    /// Tips read or set in this batch, each marked when newer than its row.
    tips: HashMap<SubjectId, (Option<ChainTip>, bool)>,
    /// New lineage children per parent subject, not yet added to its row.
    children: HashMap<SubjectId, i64>,
}

impl<'t, 'c> TxLookup<'t, 'c> {
    fn new(tx: &'t Transaction<'c>) -> Self {
        Self {
            tx,
            tips: HashMap::new(),
            children: HashMap::new(),
        }
    }

    /// Records that `subject`'s tip is now `tip`.
    fn advance(&mut self, subject: &SubjectId, tip: ChainTip) {
        match self.tips.get_mut(subject) {
            Some(slot) => *slot = (Some(tip), true),
            None => {
                self.tips.insert(subject.clone(), (Some(tip), true));
            }
        }
    }

    /// Writes the tips and children counts kept here: tips first, as a parent's row may
    /// be new in this batch.
    fn flush(&mut self) -> Result<(), StoreError> {
        for (subject, (tip, dirty)) in &mut self.tips {
            let (Some(tip), true) = (tip, std::mem::take(dirty)) else {
                continue;
            };
            self.tx
                .prepare_cached(
                    "INSERT INTO tips (subject, seq, id, time, ends, children) VALUES (?1, ?2, ?3, ?4, ?5, 0)
                     ON CONFLICT (subject) DO UPDATE SET seq = excluded.seq, id = excluded.id, time = excluded.time, ends = excluded.ends",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        subject.to_string(),
                        as_i64(tip.seq).unwrap_or(i64::MAX),
                        tip.id.as_bytes().as_slice(),
                        tip.time.as_millis(),
                        tip.ended
                    ])
                })
                .map_err(backend)?;
        }
        for (parent, added) in self.children.drain() {
            self.tx
                .prepare_cached("UPDATE tips SET children = children + ?2 WHERE subject = ?1")
                .and_then(|mut s| s.execute(params![parent.to_string(), added]))
                .map_err(backend)?;
        }
        Ok(())
    }
}

impl Lookup for TxLookup<'_, '_> {
    fn tip(&mut self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
        if let Some((tip, _)) = self.tips.get(subject) {
            return Ok(*tip);
        }
        let tip = tip_of(self.tx, &subject.to_string())?;
        self.tips.insert(subject.clone(), (tip, false));
        Ok(tip)
    }

    fn at_seq(
        &mut self,
        subject: &SubjectId,
        seq: u64,
    ) -> Result<Option<(u64, RecordId)>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = self
            .tx
            .prepare_cached("SELECT pos, id FROM records WHERE subject = ?1 AND seq = ?2")
            .and_then(|mut s| {
                s.query_row(
                    params![subject.to_string(), as_i64(seq).unwrap_or(i64::MAX)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
            })
            .map_err(backend)?;
        row.map(|(pos, id)| Ok((u64::try_from(pos).unwrap_or(0), record_id(&id)?)))
            .transpose()
    }

    fn record(&mut self, id: &RecordId) -> Result<Option<(u64, SubjectId, Timestamp)>, StoreError> {
        let row: Option<(i64, String, i64)> = self
            .tx
            .prepare_cached("SELECT pos, subject, time FROM records WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([id.as_bytes().as_slice()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(backend)?;
        row.map(|(pos, subject, time)| {
            let subject = subject.parse().map_err(|e| {
                StoreError::Corrupt(format!("record at log position {pos}: subject: {e}"))
            })?;
            Ok((
                u64::try_from(pos).unwrap_or(0),
                subject,
                Timestamp::from_millis(time),
            ))
        })
        .transpose()
    }
}

/// Inserts an admitted record at `pos` with its lineage edges; its subject's new tip and
/// its parents' children counts go to `look`, written by [`TxLookup::flush`].
fn insert(
    look: &mut TxLookup<'_, '_>,
    record: &SignedRecord,
    id: RecordId,
    body: &RecordBody,
    pos: u64,
) -> Result<(), StoreError> {
    let tx = look.tx;
    let subject = body.subject().to_string();
    tx.prepare_cached(
        "INSERT INTO records (pos, id, subject, seq, time, ends, body, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            as_i64(pos).unwrap_or(i64::MAX),
            id.as_bytes().as_slice(),
            subject,
            as_i64(body.seq()).unwrap_or(i64::MAX),
            body.time().as_millis(),
            body.ends_chain(),
            record.body(),
            record.signature().as_slice()
        ])
    })
    .map_err(backend)?;
    for l in body.lineage() {
        let added = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO lineage (child_subject, child_id, parent_subject, parent_id) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![subject, id.as_bytes().as_slice(), l.subject.to_string(), l.record.as_bytes().as_slice()])
            })
            .map_err(backend)?;
        if added > 0 {
            *look.children.entry(l.subject.clone()).or_insert(0) += 1;
        }
    }
    look.advance(body.subject(), check::advance(body, id));
    Ok(())
}

impl Store for SqliteStore {
    fn append(&self, record: &SignedRecord) -> Result<u64, StoreError> {
        self.admit_all(std::slice::from_ref(record))
    }

    fn append_batch(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        self.admit_all(records)
    }

    fn chain(&self, subject: &SubjectId) -> Result<Vec<SignedRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT pos, body, sig FROM records WHERE subject = ?1 ORDER BY seq")
            .map_err(backend)?;
        let rows = stmt
            .query_map([subject.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .map_err(backend)?;
        rows.map(|row| {
            row.map_err(backend)
                .and_then(|(pos, b, s)| signed(pos, b, &s))
        })
        .collect()
    }

    fn tip(&self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
        tip_of(&self.lock(), &subject.to_string())
    }

    fn get(&self, id: &RecordId) -> Result<Option<(u64, SignedRecord)>, StoreError> {
        let conn = self.lock();
        let row: Option<(i64, Vec<u8>, Vec<u8>)> = conn
            .prepare_cached("SELECT pos, body, sig FROM records WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([id.as_bytes().as_slice()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(backend)?;
        row.map(|(pos, body, sig)| {
            let record = signed(pos, body, &sig)?;
            let pos = u64::try_from(pos)
                .map_err(|_| StoreError::Corrupt(format!("log position {pos}")))?;
            Ok((pos, record))
        })
        .transpose()
    }

    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, SignedRecord)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT pos, body, sig FROM records WHERE pos >= ?1 ORDER BY pos LIMIT ?2",
            )
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![as_i64(from)?, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (pos, body, sig) = row.map_err(backend)?;
            let record = signed(pos, body, &sig)?;
            let pos = u64::try_from(pos)
                .map_err(|_| StoreError::Corrupt(format!("log position {pos}")))?;
            Ok((pos, record))
        })
        .collect()
    }

    fn len(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        let tx = conn.unchecked_transaction().map_err(backend)?;
        let n = next_pos(&tx)?;
        tx.finish().map_err(backend)?;
        Ok(n)
    }

    fn subjects(&self) -> Result<Vec<SubjectId>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT subject FROM tips ORDER BY subject")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        rows.map(|row| {
            let text = row.map_err(backend)?;
            text.parse()
                .map_err(|e| StoreError::Corrupt(format!("tips row {text:?}: subject: {e}")))
        })
        .collect()
    }

    fn children(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        self.edges("parent_subject", subject)
    }

    fn parents(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        self.edges("child_subject", subject)
    }

    fn children_count(&self, subject: &SubjectId) -> Result<u64, StoreError> {
        let conn = self.lock();
        let n: Option<i64> = conn
            .prepare_cached("SELECT children FROM tips WHERE subject = ?1")
            .and_then(|mut s| s.query_row([subject.to_string()], |r| r.get(0)).optional())
            .map_err(backend)?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }

    fn check_integrity(&self) -> Result<(), StoreError> {
        let conn = self.lock();
        let verdict: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(backend)?;
        if verdict != "ok" {
            return Err(StoreError::Corrupt(format!(
                "SQLite quick_check: {verdict}"
            )));
        }
        let checks = [
            (
                "log positions have a gap",
                "SELECT COUNT(*) FROM (SELECT COUNT(*) AS n, MAX(pos) AS m FROM records) WHERE n > 0 AND m + 1 != n",
            ),
            (
                "a subject's tip is not its newest record",
                "SELECT COUNT(*) FROM (SELECT subject, MAX(seq) AS s, COUNT(*) AS n FROM records GROUP BY subject) r
                 LEFT JOIN tips t ON t.subject = r.subject
                 WHERE t.seq IS NULL OR t.seq != r.s OR r.n != r.s + 1
                    OR t.id != (SELECT id FROM records x WHERE x.subject = r.subject AND x.seq = r.s)",
            ),
            (
                "a tip names a subject with no records",
                "SELECT COUNT(*) FROM tips t WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.subject = t.subject)",
            ),
            (
                "a lineage count disagrees with the lineage edges",
                "SELECT COUNT(*) FROM tips t WHERE t.children != (SELECT COUNT(*) FROM lineage l WHERE l.parent_subject = t.subject)",
            ),
        ];
        for (what, sql) in checks {
            let bad: i64 = conn.query_row(sql, [], |r| r.get(0)).map_err(backend)?;
            if bad > 0 {
                return Err(StoreError::Corrupt(format!("{what} ({bad} found)")));
            }
        }
        // Every lineage reference in the signed records has its edge.
        let mut stmt = conn
            .prepare("SELECT pos, body FROM records ORDER BY pos")
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let mut refs: i64 = 0;
        while let Some(row) = rows.next().map_err(backend)? {
            let pos: i64 = row.get(0).map_err(backend)?;
            let bytes: Vec<u8> = row.get(1).map_err(backend)?;
            let body = RecordBody::decode(&bytes).map_err(|e| {
                StoreError::Corrupt(format!("record at log position {pos} does not decode: {e}"))
            })?;
            refs += i64::try_from(body.lineage().len()).unwrap_or(i64::MAX);
        }
        let edges: i64 = conn
            .query_row("SELECT COUNT(*) FROM lineage", [], |r| r.get(0))
            .map_err(backend)?;
        if edges != refs {
            return Err(StoreError::Corrupt(format!(
                "the records make {refs} lineage references, the lineage table holds {edges} edges"
            )));
        }
        Ok(())
    }

    fn trust_history(&self) -> Result<TrustHistory, StoreError> {
        Self::read_history(&self.lock())?.ok_or(StoreError::NoOperator)
    }

    fn apply_trust(&self, note: &str) -> Result<TrustStatement, StoreError> {
        let statement = self.write(|tx| {
            let history = Self::read_history(tx)?.ok_or(StoreError::NoOperator)?;
            let statement = history.check(note)?;
            tx.execute(
                "INSERT INTO trust (seq, note) VALUES (?1, ?2)",
                params![as_i64(statement.seq())?, statement.note()],
            )
            .map_err(backend)?;
            Ok(statement)
        })?;
        self.reload_trust()?;
        Ok(statement)
    }
}

impl SqliteStore {
    fn edges(&self, column: &str, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        let conn = self.lock();
        let sql = format!(
            "SELECT child_subject, child_id, parent_subject, parent_id FROM lineage WHERE {column} = ?1 ORDER BY rowid"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map([subject.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (c, cid, p, pid) = row.map_err(backend)?;
            let parse = |s: String| {
                s.parse::<SubjectId>()
                    .map_err(|e| StoreError::Corrupt(format!("lineage row {s:?}: subject: {e}")))
            };
            Ok(LineageEdge {
                child: parse(c)?,
                child_record: record_id(&cid)?,
                parent: parse(p)?,
                parent_record: record_id(&pid)?,
            })
        })
        .collect()
    }
}
