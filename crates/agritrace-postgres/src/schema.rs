//! The schema and its migrations, versioned in the `schema_version` table.
//!
//! Portable SQL only: no extensions, no PostgreSQL-only types, so that the same schema runs
//! on PostgreSQL-compatible distributed SQL (`YugabyteDB`, `CockroachDB`). `docs/POSTGRES.md`
//! says how the tables partition and what the single log head costs.
//!
//! A migration is appended to [`MIGRATIONS`], never edited: version `n` is the `n`th entry,
//! applied once, in its own transaction, by the process that creates or opens the store.

/// Each version's SQL, in order: `MIGRATIONS[0]` makes version 1.
pub(crate) const MIGRATIONS: &[&str] = &[V1];

/// The schema version this crate writes and reads.
#[allow(clippy::cast_possible_wrap, reason = "a handful of migrations")]
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: the SQLite store's tables (schema 2), with the log kept apart from the
/// records so that writers hold the one global lock only to number their records:
///
/// - `records`, keyed by ID, unique by subject and seq, written by each writer under its
///   subjects' `tips` row locks, in parallel with other writers;
/// - `log`, the log positions: `(pos, id)`, written last, under the `head` row's lock, in
///   one statement, just before `COMMIT`;
/// - `lineage` edges, ordered by their child's log position and their place in its lineage.
const V1: &str = "
CREATE TABLE records (
    id      BYTEA   PRIMARY KEY,
    subject TEXT    NOT NULL,
    seq     BIGINT  NOT NULL,
    time    BIGINT  NOT NULL,
    ends    BOOLEAN NOT NULL,
    body    BYTEA   NOT NULL,
    sig     BYTEA   NOT NULL,
    UNIQUE (subject, seq)
);
CREATE TABLE log (
    pos BIGINT PRIMARY KEY,        -- log position: 0, 1, 2, ... in commit order, no gaps
    id  BYTEA  NOT NULL UNIQUE     -- the record there
);
CREATE TABLE lineage (
    child_subject  TEXT  NOT NULL,
    child_id       BYTEA NOT NULL,
    parent_subject TEXT  NOT NULL,
    parent_id      BYTEA NOT NULL,
    n              INT   NOT NULL,  -- the edge's place in the child record's lineage
    PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX lineage_by_parent ON lineage (parent_subject);
CREATE INDEX lineage_by_child ON lineage (child_subject);
-- Bookkeeping kept apart from the records' indexes: each subject's tip and how many
-- lineage edges name it as parent. A trace compares what it read with these. A writer
-- locks the rows of the subjects it appends to (SELECT ... FOR UPDATE).
CREATE TABLE tips (
    subject  TEXT    PRIMARY KEY,
    seq      BIGINT  NOT NULL,
    id       BYTEA   NOT NULL,
    time     BIGINT  NOT NULL,
    ends     BOOLEAN NOT NULL,
    children BIGINT  NOT NULL
);
CREATE TABLE trust (
    seq  BIGINT PRIMARY KEY,        -- 0, 1, 2, ...: the statement's seq
    note TEXT   NOT NULL            -- the signed statement (docs/FORMAT.md section 10)
);
-- The operator key's row is also the trust lock: appends hold it shared, a trust
-- statement exclusively.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- The log head: one row, locked by each writer for its last statement and its COMMIT, so
-- that log positions are handed out in commit order with no gaps.
CREATE TABLE head (
    one      INT    PRIMARY KEY CHECK (one = 1),
    next_pos BIGINT NOT NULL
);
INSERT INTO head (one, next_pos) VALUES (1, 0);
";

/// Creates the version table, if missing, in the transaction the migrations run in.
pub(crate) const VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_version (
    version INT PRIMARY KEY,
    applied TEXT NOT NULL
);
";
