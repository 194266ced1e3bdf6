//! The store's SQL schema and its migrations, versioned by SQLite's `user_version`.

/// Schema version 2: tips and trust history. Version 1 (no `user_version`) had records and
/// lineage only; opening it adds the tips from the records.
pub(super) const SCHEMA_VERSION: i64 = 2;

pub(super) const SCHEMA: &str = "
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
pub(super) const MIGRATE_1_TO_2: &str = "
INSERT OR REPLACE INTO tips (subject, seq, id, time, ends, children)
    SELECT r.subject, r.seq, r.id, r.time, r.ends,
           (SELECT COUNT(*) FROM lineage l WHERE l.parent_subject = r.subject)
    FROM records r
    WHERE r.seq = (SELECT MAX(seq) FROM records m WHERE m.subject = r.subject);
";
