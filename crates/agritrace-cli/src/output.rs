//! How a command ends: its outcome, or a failure with an exit status and a message.

use std::fmt::Display;
use std::io::IsTerminal as _;
use std::path::Path;

use agritrace::tlog::VerifierKey;
use agritrace::{SqliteStore, Store, StoreError, TrustHistory};
use agritrace_postgres::{PgStore, is_postgres_url};

/// A command that ran to its end.
pub enum Outcome {
    /// Success (exit status 0).
    Done,
    /// The data was refused or did not verify, and the command has said so (exit status 1).
    Failed,
}

/// A command that could not finish, with what to tell the person who ran it.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    lines: Vec<String>,
}

impl Failure {
    /// Usage, I/O or store trouble: exit status 2.
    pub fn error(message: impl Display) -> Self {
        Self {
            code: 2,
            lines: vec![message.to_string()],
        }
    }

    /// The input was refused: exit status 1.
    pub fn refused(message: impl Display) -> Self {
        Self {
            code: 1,
            lines: vec![message.to_string()],
        }
    }

    /// Adds a line under the message (a hint, or one more cause).
    #[must_use]
    pub fn with(mut self, line: impl Display) -> Self {
        self.lines.push(line.to_string());
        self
    }

    pub fn code(&self) -> u8 {
        self.code
    }

    /// Prints `error: <message>`, then each further line indented.
    pub fn print(&self) {
        let mut lines = self.lines.iter();
        if let Some(first) = lines.next() {
            eprintln!("error: {first}");
        }
        for l in lines {
            eprintln!("  {l}");
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused { .. } | StoreError::Trust(_) => Self::refused(e),
            other => Self::error(other),
        }
    }
}

/// A store of either kind: a SQLite file, or a PostgreSQL database (`--store postgres://…`).
pub type AnyStore = Box<dyn Store + Send + Sync>;

/// The PostgreSQL connection string `--store` gives, when it is one.
fn server_url(store: &Path) -> Option<&str> {
    store.to_str().filter(|s| is_postgres_url(s))
}

/// Whether a store is already there: a file, or a store in the server's database (a
/// server that cannot be reached says so when the store is created).
pub fn store_exists(store: &Path) -> bool {
    match server_url(store) {
        Some(url) => PgStore::open(url).is_ok(),
        None => store.exists(),
    }
}

/// Creates a store at `--store`: a new SQLite file, or the schema in a PostgreSQL database.
pub fn create_store(store: &Path, operator: &VerifierKey) -> Result<AnyStore, StoreError> {
    Ok(match server_url(store) {
        Some(url) => Box::new(PgStore::create(url, operator)?),
        None => Box::new(SqliteStore::create(store, operator)?),
    })
}

/// Opens an existing store, naming the path and how to create one when there is none.
pub fn open_store(path: &Path) -> Result<AnyStore, Failure> {
    if let Some(url) = server_url(path) {
        return PgStore::open(url)
            .map(|s| Box::new(s) as AnyStore)
            .map_err(|e| match e {
                StoreError::NotFound(_) => Failure::error(e)
                    .with("create one in that database with `agritrace init --store postgres://…`"),
                other => Failure::from(other),
            });
    }
    if path.is_dir() {
        return Err(Failure::error(format!(
            "{} is a directory, not a store file",
            path.display()
        ))
        .with("give the store file with --store PATH (or AGRITRACE_STORE)"));
    }
    SqliteStore::open(path)
        .map(|s| Box::new(s) as AnyStore)
        .map_err(|e| match e {
            StoreError::NotFound(_) => Failure::error(e).with(
                "create one with `agritrace init`, or give --store PATH (or AGRITRACE_STORE)",
            ),
            other => Failure::from(other),
        })
}

/// The store's trust history, or a clear failure for a store without an operator.
pub fn history(store: &AnyStore, path: &Path) -> Result<TrustHistory, Failure> {
    store.trust_history().map_err(|e| match e {
        StoreError::NoOperator => Failure::error(format!(
            "the store {} has no operator key, so it keeps no trust",
            path.display()
        ))
        .with("stores made by `agritrace init` or `agritrace demo` have one"),
        other => Failure::from(other),
    })
}

/// Whether progress bars may be drawn: stderr is a terminal and `--quiet` was not given.
pub fn interactive(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A note on stderr unless `--quiet`.
pub fn note(quiet: bool, message: impl Display) {
    if !quiet {
        eprintln!("{message}");
    }
}

/// The current time as an agritrace timestamp.
pub fn now() -> agritrace::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    agritrace::Timestamp::from_millis(ms)
}

/// Reads a time as people type it: RFC 3339 (`2026-03-01T08:30:00+08:00`), or a date
/// (`2026-03-01`, midnight UTC).
pub fn parse_time(s: &str) -> Result<agritrace::Timestamp, String> {
    if s.len() == 10 {
        return s
            .parse::<agritrace::Day>()
            .map(agritrace::Timestamp::at_start_of)
            .map_err(|e| e.to_string());
    }
    s.parse()
        .map_err(|e: agritrace::TimeParseError| e.to_string())
}

/// Reads an ID as people type it (15 bare digits are an ear tag).
pub fn parse_id(s: &str) -> Result<agritrace::SubjectId, String> {
    agritrace::SubjectId::parse_typed(s).map_err(|e| {
        let shown: String = s.trim().chars().take(40).collect();
        format!("{shown:?} is not a valid ID: {e} (for example eartag:161083000001001, or just 161083000001001)")
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename,
/// so a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::error(format!("{} is not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let fail = |e: std::io::Error| Failure::error(format!("cannot write {}: {e}", path.display()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
