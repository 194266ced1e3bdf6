//! The embedded default store: SQLite through rusqlite (bundled), WAL, `synchronous=FULL`.
//!
//! Every append runs in an `IMMEDIATE` transaction, so writers in several threads or
//! processes are serialised by SQLite's lock and each sees the latest tip; a commit that
//! returned is on disk (WAL with `synchronous=FULL` syncs the log at every commit) and
//! survives `kill -9` or power loss.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{ChainTip, Conflict, LineageEdge, Placed, Store, StoreError};
use crate::id::SubjectId;
use crate::record::{RecordId, SIGNATURE_LEN, SignedRecord};
use crate::time::Timestamp;

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
";

/// A [`Store`] in one SQLite database file.
///
/// # Example
/// ```
/// use agritrace::{Chain, Event, Signer, SqliteStore, Store, SubjectId, Timestamp};
/// let store = SqliteStore::open_in_memory()?;
/// let scale = Signer::from_seed([9; 32]);
/// let pig: SubjectId = "eartag:161083000000042".parse()?;
/// let mut chain = Chain::new(pig.clone());
/// let r0 = chain.append(&scale, Timestamp::from_millis(1), Event::Weighing { grams: 1_250 })?;
/// assert_eq!(store.append(&r0)?, 0);
/// assert!(store.append(&r0).is_err()); // already stored
/// assert_eq!(store.chain(&pig)?, vec![r0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

#[allow(clippy::needless_pass_by_value, reason = "used as `map_err(backend)`")]
fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, in WAL mode with full sync.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or set up.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::setup(Connection::open(path).map_err(backend)?)
    }

    /// A private, in-memory store (for tests and examples).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite cannot start.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(backend)?)
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
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
            .map_err(backend)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open (it rolls back on
        // drop), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        .prepare_cached(
            "SELECT seq, id, time, ends FROM records WHERE subject = ?1 ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row([subject], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(backend)?;
    row.map(|(seq, id, time, ended)| {
        Ok(ChainTip {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("seq {seq}")))?,
            id: record_id(&id)?,
            time: Timestamp::from_millis(time),
            ended,
        })
    })
    .transpose()
}

fn record_id(bytes: &[u8]) -> Result<RecordId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(RecordId::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("record ID of {} bytes", bytes.len())))
}

fn signed(body: Vec<u8>, sig: &[u8]) -> Result<SignedRecord, StoreError> {
    let sig = <[u8; SIGNATURE_LEN]>::try_from(sig)
        .map_err(|_| StoreError::Corrupt(format!("signature of {} bytes", sig.len())))?;
    Ok(SignedRecord::from_parts(body, sig))
}

fn as_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} is out of SQLite's range")))
}

/// Places one record inside a write transaction: checks it against the subject's tip
/// (`tips` caches tips already seen in this transaction) and inserts it at `pos`.
fn insert(
    tx: &Transaction<'_>,
    tips: &mut HashMap<String, Option<ChainTip>>,
    record: &SignedRecord,
    p: Placed,
    pos: u64,
) -> Result<(), StoreError> {
    let tip = match tips.get(&p.subject) {
        Some(t) => *t,
        None => tip_of(tx, &p.subject)?,
    };
    if let Err(c) = p.extends(tip.as_ref()) {
        return Err(match c {
            Conflict::Stale {
                subject,
                seq,
                tip_seq,
                ..
            } => at_seq(tx, &p, subject, seq, tip_seq)?,
            other => other,
        }
        .into());
    }
    for (_, parent) in &p.parents {
        let found: Option<i64> = tx
            .prepare_cached("SELECT pos FROM records WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([parent.as_bytes().as_slice()], |r| r.get(0))
                    .optional()
            })
            .map_err(backend)?;
        if found.is_none() {
            return Err(Conflict::MissingParent { parent: *parent }.into());
        }
    }
    let seq = as_i64(p.seq)?;
    let row = as_i64(pos)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO records (pos, id, subject, seq, time, ends, body, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                row,
                p.id.as_bytes().as_slice(),
                p.subject,
                seq,
                p.time.as_millis(),
                p.ends,
                record.body(),
                record.signature().as_slice()
            ])
        });
    match inserted {
        Ok(_) => {}
        // The tip check ran under the write lock, so only a record stored under the same ID
        // for another subject or seq can still collide: report where it is.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            let position: Option<i64> = tx
                .prepare_cached("SELECT pos FROM records WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([p.id.as_bytes().as_slice()], |r| r.get(0))
                        .optional()
                })
                .map_err(backend)?;
            let position = u64::try_from(position.unwrap_or(0)).unwrap_or(0);
            return Err(Conflict::AlreadyStored { position }.into());
        }
        Err(e) => return Err(backend(e)),
    }
    for (parent_subject, parent) in &p.parents {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO lineage (child_subject, child_id, parent_subject, parent_id) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| {
            s.execute(params![p.subject, p.id.as_bytes().as_slice(), parent_subject.to_string(), parent.as_bytes().as_slice()])
        })
        .map_err(backend)?;
    }
    tips.insert(
        p.subject,
        Some(ChainTip {
            seq: p.seq,
            id: p.id,
            time: p.time,
            ended: p.ends,
        }),
    );
    Ok(())
}

/// The conflict for a record whose seq is already taken: the same record, or another one.
fn at_seq(
    tx: &Transaction<'_>,
    p: &Placed,
    subject: SubjectId,
    seq: u64,
    tip_seq: u64,
) -> Result<Conflict, StoreError> {
    let row: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT pos, id FROM records WHERE subject = ?1 AND seq = ?2")
        .and_then(|mut s| {
            s.query_row(params![p.subject, as_i64(seq).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(backend)?;
    Ok(match row {
        Some((pos, id)) if id.as_slice() == p.id.as_bytes() => Conflict::AlreadyStored {
            position: u64::try_from(pos).unwrap_or(0),
        },
        Some((_, id)) => Conflict::Stale {
            subject,
            seq,
            existing: record_id(&id)?,
            tip_seq,
        },
        None => {
            return Err(StoreError::Corrupt(format!(
                "{subject} has a tip at seq {tip_seq} but no record at seq {seq}"
            )));
        }
    })
}

impl Store for SqliteStore {
    fn append(&self, record: &SignedRecord) -> Result<u64, StoreError> {
        let placed = Placed::of(record)?;
        self.write(|tx| {
            let pos = next_pos(tx)?;
            insert(tx, &mut HashMap::new(), record, placed, pos)?;
            Ok(pos)
        })
    }

    fn append_batch(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        let placed: Vec<Placed> = records.iter().map(Placed::of).collect::<Result<_, _>>()?;
        self.write(|tx| {
            let first = next_pos(tx)?;
            let mut tips = HashMap::new();
            for (index, (record, p)) in records.iter().zip(placed).enumerate() {
                insert(tx, &mut tips, record, p, first + index as u64).map_err(|e| match e {
                    StoreError::Conflict(conflict) => StoreError::Batch { index, conflict },
                    other => other,
                })?;
            }
            Ok(first)
        })
    }

    fn chain(&self, subject: &SubjectId) -> Result<Vec<SignedRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT body, sig FROM records WHERE subject = ?1 ORDER BY seq")
            .map_err(backend)?;
        let rows = stmt
            .query_map([subject.to_string()], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(backend)?;
        rows.map(|row| row.map_err(backend).and_then(|(b, s)| signed(b, &s)))
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
            let pos = u64::try_from(pos)
                .map_err(|_| StoreError::Corrupt(format!("log position {pos}")))?;
            Ok((pos, signed(body, &sig)?))
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
            let pos = u64::try_from(pos)
                .map_err(|_| StoreError::Corrupt(format!("log position {pos}")))?;
            Ok((pos, signed(body, &sig)?))
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
            .prepare_cached("SELECT DISTINCT subject FROM records ORDER BY subject")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        rows.map(|row| {
            let text = row.map_err(backend)?;
            text.parse()
                .map_err(|e| StoreError::Corrupt(format!("stored subject: {e}")))
        })
        .collect()
    }

    fn children(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        self.edges("parent_subject", subject)
    }

    fn parents(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        self.edges("child_subject", subject)
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
                    .map_err(|e| StoreError::Corrupt(format!("stored subject: {e}")))
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
