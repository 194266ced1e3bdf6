//! agritrace's [`Store`] on PostgreSQL, for a platform that outgrows one SQLite file: many
//! farm back-ends and device gateways writing at once through their own connections,
//! shoppers' traces served from replicas.
//!
//! [`PgStore`] has exactly the SQLite store's semantics, and passes the same conformance
//! suite: compare-and-append, all-or-nothing batches, gap-free log positions in commit
//! order, lineage edges both ways, and admission (a record is kept only if the verifier
//! would accept it there and then, under the trust statements stored with it). Admission
//! is the core crate's ([`agritrace::store::backend`]); this crate stores rows.
//!
//! - **Writers in parallel, numbered in one place.** A writer locks the `tips` rows of the
//!   subjects it appends to (compare-and-append per subject) and writes its records; only
//!   its last statement takes the one global lock, the `head` row, to give the records
//!   their log positions, and holds it through `COMMIT`. Positions are therefore gap-free
//!   and in commit order. Signatures are checked before any lock, a chunk ahead of the
//!   thread writing rows. Readers never wait. A writer that races another on a new
//!   subject, or deadlocks with one on two subjects, rolls back and places its batch again.
//! - **Durable when acknowledged.** An append returns after `COMMIT` returned, which under
//!   `synchronous_commit = on` (forced on if a session default turned it `off`) means the
//!   commit record is flushed — and, with `synchronous_standby_names` set, on a standby too.
//! - **Portable SQL.** No extensions; versioned migrations in the crate (`schema.rs`).
//!   `docs/POSTGRES.md` says how the schema partitions and what the global log costs.
//! - **Connections.** A libpq connection string, as a URL (`postgres://user@host:port/db`)
//!   or `key=value` pairs. TLS is not built in: connect over a local socket, loopback, or
//!   a tunnel.
//!
//! # Example
//! ```no_run
//! use agritrace::{LogSigner, Signer, Store};
//! use agritrace_postgres::PgStore;
//! let operator = LogSigner::new("province.example/log", Signer::from_seed([7; 32]))?;
//! let store = PgStore::create("postgres://agritrace@127.0.0.1:5432/ledger", operator.verifier())?;
//! assert!(store.is_empty()?);
//! // … the same calls as on `SqliteStore`: update_trust, append_batch, chain, trace …
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod append;
mod read;
mod schema;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use agritrace::tlog::VerifierKey;
use agritrace::trust::{Policy, TrustHistory, TrustStatement};
use agritrace::{ChainTip, LineageEdge, RecordId, SignedRecord, Store, StoreError, SubjectId};
use postgres::{Client, Config, NoTls, Statement};

/// A [`Store`] in a PostgreSQL database (or a PostgreSQL-compatible one).
///
/// Give it a database (or schema) of its own: its tables have plain names (`records`,
/// `log`, `lineage`, `tips`, `trust`, `meta`, `head`, `schema_version`). One `PgStore` holds one
/// connection, used by one call at a time; open one per thread or process that should
/// write or read in parallel.
pub struct PgStore {
    conn: Mutex<Conn>,
    /// The trust as last read from the `trust` table (`None`: no operator key).
    history: RwLock<Option<TrustHistory>>,
    policy: Policy,
    /// The server and database, without a password, for error messages.
    place: String,
    /// How to connect again when the connection is lost.
    config: Config,
}

/// A connection and its prepared statements.
pub(crate) struct Conn {
    pub(crate) client: Client,
    pub(crate) st: Statements,
}

/// The statements every call uses, prepared once per connection.
pub(crate) struct Statements {
    pub(crate) chain: Statement,
    pub(crate) tip: Statement,
    pub(crate) lock_tip: Statement,
    pub(crate) lock_tips: Statement,
    pub(crate) get: Statement,
    pub(crate) records: Statement,
    pub(crate) at_seq: Statement,
    pub(crate) read_log: Statement,
    pub(crate) children: Statement,
    pub(crate) parents: Statement,
    pub(crate) children_count: Statement,
    pub(crate) head: Statement,
    pub(crate) share_trust: Statement,
    /// The trust statements stored, and the log head (read in the statement after the
    /// trust lock is held, so the count is the one that lock protects).
    pub(crate) trust_count: Statement,
    pub(crate) insert_records: Statement,
    pub(crate) insert_lineage: Statement,
    pub(crate) upsert_tips: Statement,
    pub(crate) add_children: Statement,
    pub(crate) log_append: Statement,
}

/// The lineage columns an edge is read from, ordered as stored (by the child's log
/// position, then its place in the child's lineage).
macro_rules! edges_where {
    ($column:literal) => {
        concat!(
            "SELECT e.child_subject, e.child_id, e.parent_subject, e.parent_id
             FROM lineage e JOIN log l ON l.id = e.child_id
             WHERE e.",
            $column,
            " = $1 ORDER BY l.pos, e.n"
        )
    };
}

impl Statements {
    fn prepare(c: &mut Client) -> Result<Self, postgres::Error> {
        Ok(Self {
            chain: c.prepare("SELECT body, sig FROM records WHERE subject = $1 ORDER BY seq")?,
            tip: c.prepare("SELECT seq, id, time, ends FROM tips WHERE subject = $1")?,
            lock_tip: c.prepare(
                "SELECT seq, id, time, ends FROM tips WHERE subject = $1 FOR UPDATE",
            )?,
            lock_tips: c.prepare(
                "SELECT subject, seq, id, time, ends FROM tips WHERE subject = ANY($1::TEXT[])
                 ORDER BY subject FOR UPDATE",
            )?,
            get: c.prepare(
                "SELECT l.pos, r.body, r.sig FROM records r JOIN log l ON l.id = r.id
                 WHERE r.id = $1",
            )?,
            records: c.prepare(
                "SELECT r.id, l.pos, r.subject, r.time FROM records r JOIN log l ON l.id = r.id
                 WHERE r.id = ANY($1::BYTEA[])",
            )?,
            at_seq: c.prepare(
                "SELECT l.pos, r.id FROM records r JOIN log l ON l.id = r.id
                 WHERE r.subject = $1 AND r.seq = $2",
            )?,
            read_log: c.prepare(
                "SELECT l.pos, r.body, r.sig FROM log l JOIN records r ON r.id = l.id
                 WHERE l.pos >= $1 ORDER BY l.pos LIMIT $2",
            )?,
            children: c.prepare(edges_where!("parent_subject"))?,
            parents: c.prepare(edges_where!("child_subject"))?,
            children_count: c.prepare("SELECT children FROM tips WHERE subject = $1")?,
            head: c.prepare("SELECT next_pos FROM head WHERE one = 1")?,
            share_trust: c.prepare("SELECT value FROM meta WHERE key = 'operator' FOR SHARE")?,
            trust_count: c.prepare(
                "SELECT (SELECT COUNT(*) FROM trust), (SELECT next_pos FROM head WHERE one = 1)",
            )?,
            insert_records: c.prepare(
                "INSERT INTO records (id, subject, seq, time, ends, body, sig)
                 SELECT * FROM unnest($1::BYTEA[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[],
                                      $5::BOOLEAN[], $6::BYTEA[], $7::BYTEA[])",
            )?,
            insert_lineage: c.prepare(
                "INSERT INTO lineage (child_subject, child_id, parent_subject, parent_id, n)
                 SELECT * FROM unnest($1::TEXT[], $2::BYTEA[], $3::TEXT[], $4::BYTEA[], $5::INT[])",
            )?,
            upsert_tips: c.prepare(
                "INSERT INTO tips (subject, seq, id, time, ends, children)
                 SELECT s, q, i, t, e, 0
                 FROM unnest($1::TEXT[], $2::BIGINT[], $3::BYTEA[], $4::BIGINT[], $5::BOOLEAN[])
                      AS u (s, q, i, t, e)
                 ON CONFLICT (subject) DO UPDATE
                 SET seq = excluded.seq, id = excluded.id, time = excluded.time, ends = excluded.ends",
            )?,
            add_children: c.prepare(
                "UPDATE tips SET children = tips.children + u.n
                 FROM unnest($1::TEXT[], $2::BIGINT[]) AS u (s, n)
                 WHERE tips.subject = u.s",
            )?,
            // Takes the head row's lock (held to COMMIT), numbers the records from the
            // head on, in order, and moves the head: one statement.
            log_append: c.prepare(
                "WITH h AS (
                     UPDATE head SET next_pos = next_pos + $2 WHERE one = 1
                     RETURNING next_pos - $2 AS first
                 ),
                 placed AS (
                     INSERT INTO log (pos, id)
                     SELECT h.first + u.ord - 1, u.id
                     FROM h, unnest($1::BYTEA[]) WITH ORDINALITY AS u (id, ord)
                 )
                 SELECT first FROM h",
            )?,
        })
    }
}

/// A server error, shown with the server's own message (a bare `postgres::Error` shows
/// only "db error" for those).
#[derive(Debug)]
struct ServerError {
    text: String,
    inner: postgres::Error,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

#[allow(clippy::needless_pass_by_value, reason = "used as `map_err(backend)`")]
pub(crate) fn backend(e: postgres::Error) -> StoreError {
    let text = match e.as_db_error() {
        Some(db) => {
            let mut text = format!(
                "PostgreSQL {}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => match std::error::Error::source(&e) {
            Some(cause) => format!("PostgreSQL: {e}: {cause}"),
            None => format!("PostgreSQL: {e}"),
        },
    };
    StoreError::backend(ServerError { text, inner: e })
}

/// Whether `e` is a server error a writer retries: another writer's uncommitted record
/// took the key (unique violation), a deadlock between two writers' row locks, or a
/// serialization failure (the default isolation of some compatible servers).
pub(crate) fn retryable(e: &StoreError) -> bool {
    use postgres::error::SqlState;
    let StoreError::Backend { source, .. } = e else {
        return false;
    };
    source
        .downcast_ref::<ServerError>()
        .and_then(|s| s.inner.code())
        .is_some_and(|c| {
            [
                SqlState::UNIQUE_VIOLATION,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::T_R_SERIALIZATION_FAILURE,
            ]
            .contains(c)
        })
}

/// Whether `location` names a PostgreSQL server (a `postgres://` or `postgresql://` URL)
/// rather than a file: how a command line tells the two stores apart.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The server and database of `config`, without a password.
fn place_of(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map_or_else(String::new, |h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        });
    let port = config.get_ports().first().map_or(5432, |p| *p);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PgStore {
    /// Creates a store in the database `url` names (a libpq connection string), which must
    /// hold no store yet, and pins `operator`, the key whose statements alone change its
    /// trust. Records are admitted under [`Policy::livestock`] unless
    /// [`PgStore::with_policy`] says otherwise.
    ///
    /// # Errors
    /// [`StoreError::Exists`] when the database already holds a store; a backend error when
    /// the server cannot be reached or refuses.
    pub fn create(url: &str, operator: &VerifierKey) -> Result<Self, StoreError> {
        let (config, place) = parse(url)?;
        let mut client = dial(&config, &place)?;
        let version = schema_version(&mut client)?;
        if version.is_some() {
            return Err(StoreError::Exists(PathBuf::from(place)));
        }
        // One transaction: a store is made whole or not at all.
        let mut tx = client.transaction().map_err(backend)?;
        tx.batch_execute(schema::VERSION_TABLE).map_err(backend)?;
        migrate(&mut tx, 0)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('operator', $1)",
            &[&operator.vkey()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Self::ready(client, place, config)
    }

    /// Opens the store in the database `url` names; never creates one. An older schema is
    /// migrated first (not on a read-only standby, which reads only the schema it has).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the database holds no store; [`StoreError::Corrupt`]
    /// when its schema is newer than this crate's; a backend error when the server cannot
    /// be reached or refuses.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let (config, place) = parse(url)?;
        let mut client = dial(&config, &place)?;
        match schema_version(&mut client)? {
            None => return Err(StoreError::NotFound(PathBuf::from(place))),
            Some(v) if v > schema::VERSION => {
                return Err(StoreError::Corrupt(format!(
                    "{place}: schema version {v} is newer than this crate's ({})",
                    schema::VERSION
                )));
            }
            Some(v) if v < schema::VERSION => {
                let mut tx = client.transaction().map_err(backend)?;
                migrate(&mut tx, v)?;
                tx.commit().map_err(backend)?;
            }
            Some(_) => {}
        }
        Self::ready(client, place, config)
    }

    /// This store, admitting records under `policy` instead of [`Policy::livestock`].
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The server and database, without a password (`postgres://user@host:port/db`).
    pub fn place(&self) -> &str {
        &self.place
    }

    fn ready(mut client: Client, place: String, config: Config) -> Result<Self, StoreError> {
        let st = Statements::prepare(&mut client).map_err(backend)?;
        let store = Self {
            conn: Mutex::new(Conn { client, st }),
            history: RwLock::new(None),
            policy: Policy::livestock(),
            place,
            config,
        };
        store.reload_trust()?;
        Ok(store)
    }

    /// The connection, connected again first if the server closed it (a restart, a
    /// failover, an administrator): the call that found it broken failed, the next one
    /// reconnects.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Conn>, StoreError> {
        // A panic while holding the lock cannot leave a transaction open (a dropped
        // `postgres::Transaction` rolls back), so a poisoned lock is still safe to use.
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if conn.client.is_closed() {
            let mut client = dial(&self.config, &self.place)?;
            let st = Statements::prepare(&mut client).map_err(backend)?;
            *conn = Conn { client, st };
        }
        Ok(conn)
    }

    /// Reads the operator key and every trust statement, checking each again.
    fn read_history(
        client: &mut impl postgres::GenericClient,
    ) -> Result<Option<TrustHistory>, StoreError> {
        let row = client
            .query_opt("SELECT value FROM meta WHERE key = 'operator'", &[])
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let vkey: String = row.try_get(0).map_err(backend)?;
        let operator = VerifierKey::parse(&vkey)
            .map_err(|e| StoreError::Corrupt(format!("meta row operator: {e}")))?;
        let mut history = TrustHistory::new(operator);
        for row in client
            .query("SELECT seq, note FROM trust ORDER BY seq", &[])
            .map_err(backend)?
        {
            let seq: i64 = row.try_get(0).map_err(backend)?;
            let note: String = row.try_get(1).map_err(backend)?;
            history
                .apply(&note)
                .map_err(|e| StoreError::Corrupt(format!("trust row seq {seq}: {e}")))?;
        }
        Ok(Some(history))
    }

    pub(crate) fn reload_trust(&self) -> Result<(), StoreError> {
        let history = Self::read_history(&mut self.lock()?.client)?;
        *self.history.write().unwrap_or_else(PoisonError::into_inner) = history;
        Ok(())
    }

    /// The trust statement count and trust to judge records under, read under one guard.
    pub(crate) fn known_trust(&self) -> (usize, agritrace::TrustStore) {
        let guard = self.history.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(h) => (h.statements().len(), h.trust().clone()),
            None => (0, agritrace::TrustStore::new()),
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// A connection string's settings, and where it points without the password.
fn parse(url: &str) -> Result<(Config, String), StoreError> {
    let config = Config::from_str(url).map_err(|e| StoreError::Backend {
        file: None,
        source: format!("not a PostgreSQL connection string: {e}").into(),
    })?;
    let place = place_of(&config);
    Ok((config, place))
}

/// Connects, and makes sure commits are durable before they return.
fn dial(config: &Config, place: &str) -> Result<Client, StoreError> {
    let mut client = config.connect(NoTls).map_err(|e| match backend(e) {
        StoreError::Backend { source, .. } => StoreError::Backend {
            file: Some(PathBuf::from(place)),
            source,
        },
        other => other,
    })?;
    let sync: String = client
        .query_one("SHOW synchronous_commit", &[])
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    if sync == "off" {
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(backend)?;
    }
    Ok(client)
}

/// The store's schema version, or `None` when the database holds no store.
fn schema_version(client: &mut Client) -> Result<Option<i64>, StoreError> {
    let exists = client
        .query_one(
            "SELECT COUNT(*) FROM information_schema.tables
             WHERE table_name = 'schema_version' AND table_schema = current_schema()",
            &[],
        )
        .and_then(|r| r.try_get::<_, i64>(0))
        .map_err(backend)?;
    if exists == 0 {
        return Ok(None);
    }
    let v: Option<i32> = client
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    Ok(v.map(i64::from))
}

/// Applies the migrations after version `from` in the caller's transaction; a second
/// process migrating at once fails on the version row's key, and nothing of its attempt
/// stays.
fn migrate(tx: &mut postgres::Transaction<'_>, from: i64) -> Result<(), StoreError> {
    for (i, sql) in schema::MIGRATIONS.iter().enumerate() {
        let version = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if version <= from {
            continue;
        }
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied) VALUES ($1, $2)",
            &[
                &i32::try_from(version).unwrap_or(i32::MAX),
                &concat!("agritrace-postgres ", env!("CARGO_PKG_VERSION")),
            ],
        )
        .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn as_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} is out of BIGINT's range")))
}

impl Store for PgStore {
    fn append(&self, record: &SignedRecord) -> Result<u64, StoreError> {
        self.admit_all(std::slice::from_ref(record))
    }

    fn append_batch(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        self.admit_all(records)
    }

    fn chain(&self, subject: &SubjectId) -> Result<Vec<SignedRecord>, StoreError> {
        self.read_chain(subject)
    }

    fn tip(&self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        read::tip_of(client, st, subject)
    }

    fn get(&self, id: &RecordId) -> Result<Option<(u64, SignedRecord)>, StoreError> {
        self.read_get(id)
    }

    fn read_log(&self, from: u64, limit: usize) -> Result<Vec<(u64, SignedRecord)>, StoreError> {
        self.read_page(from, limit)
    }

    fn len(&self) -> Result<u64, StoreError> {
        self.read_len()
    }

    fn subjects(&self) -> Result<Vec<SubjectId>, StoreError> {
        self.read_subjects()
    }

    fn children_count(&self, subject: &SubjectId) -> Result<u64, StoreError> {
        self.read_children_count(subject)
    }

    fn check_integrity(&self) -> Result<(), StoreError> {
        self.integrity()
    }

    fn trust_history(&self) -> Result<TrustHistory, StoreError> {
        Self::read_history(&mut self.lock()?.client)?.ok_or(StoreError::NoOperator)
    }

    fn apply_trust(&self, note: &str) -> Result<TrustStatement, StoreError> {
        let statement = {
            let mut conn = self.lock()?;
            let mut tx = conn.client.transaction().map_err(backend)?;
            // The operator row's exclusive lock orders the statement with every append
            // (each holds it shared).
            tx.query_one(
                "SELECT value FROM meta WHERE key = 'operator' FOR UPDATE",
                &[],
            )
            .map_err(backend)?;
            let history = Self::read_history(&mut tx)?.ok_or(StoreError::NoOperator)?;
            let statement = history.check(note)?;
            tx.execute(
                "INSERT INTO trust (seq, note) VALUES ($1, $2)",
                &[&as_i64(statement.seq())?, &statement.note()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            statement
        };
        self.reload_trust()?;
        Ok(statement)
    }

    fn children(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        self.edges(true, subject)
    }

    fn parents(&self, subject: &SubjectId) -> Result<Vec<LineageEdge>, StoreError> {
        self.edges(false, subject)
    }
}
