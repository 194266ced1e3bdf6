//! The embedded default store: SQLite through rusqlite (bundled), WAL, `synchronous=FULL`.
//!
//! Every append runs in an `IMMEDIATE` transaction, so writers in several threads or
//! processes are serialised by SQLite's lock and each sees the latest tip; a commit that
//! returned is on disk (WAL with `synchronous=FULL` syncs the log at every commit) and
//! survives `kill -9` or power loss.
//!
//! The parts: the schema and its migrations (`schema.rs`), the write path that admits
//! batches (`append.rs`), and the reads and the `Store` implementation (here).

mod append;
mod rows;

use append::next_pos;
use rows::{at_path, in_file, optional_row, record_id, record_row, signed, tip_of};
mod schema;

use schema::{MIGRATE_1_TO_2, SCHEMA, SCHEMA_VERSION};

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::backend;
use super::{ChainTip, LineageEdge, Store, StoreError};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::tlog::VerifierKey;
use crate::trust::{Policy, TrustHistory, TrustStatement};
use crate::verify::check::Linked as _;

/// A [`Store`] in one SQLite database file.
///
/// # Example
/// ```
/// use agritrace::{Chain, Event, KeyGrant, LogSigner, Role, Signer, SqliteStore, Store, SubjectId, Text, Timestamp};
/// use agritrace::trust::TrustChange;
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
    StoreError::backend(e)
}

impl SqliteStore {
    /// Creates a store at `path` (a new file, or an empty one) and pins `operator`, the key
    /// whose statements alone change its trust. Records are admitted under
    /// [`Policy::livestock`] unless [`SqliteStore::with_policy`] says otherwise.
    ///
    /// # Errors
    /// [`StoreError::Exists`] when the file already holds a store; a backend error (naming
    /// the path) when it cannot be created.
    pub fn create(path: impl AsRef<Path>, operator: &VerifierKey) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(|e| at_path(path, e))?;
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
        let conn = Connection::open_with_flags(path, flags).map_err(|e| at_path(path, e))?;
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
    pub fn create_in_memory(operator: &VerifierKey) -> Result<Self, StoreError> {
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

    fn pin(&self, operator: &VerifierKey) -> Result<(), StoreError> {
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
        let operator = VerifierKey::parse(&vkey)
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
}

fn as_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} is out of SQLite's range")))
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
            .query_map([subject.to_string()], record_row)
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
        let row = optional_row(
            &self.lock(),
            "SELECT pos, body, sig FROM records WHERE id = ?1",
            [id.as_bytes().as_slice()],
            record_row,
        )?;
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
            .query_map(params![as_i64(from)?, limit], record_row)
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
