//! Trust as data: statements signed by a store's operator key that grant, revoke and rotate
//! keys, kept as an append-only, hash-linked history (`docs/FORMAT.md` §10).
//!
//! A statement is a C2SP signed note, so it reads as plain text and is checked with the
//! note machinery the log already uses. Each names the statement before it by hash, so a
//! history cannot lose, reorder or swap a statement without the break showing.

use std::fmt::{self, Write as _};

use super::{KeyGrant, Role, TrustStore};
use crate::error::{TrustError, TrustHistoryError};
use crate::event::Text;
use crate::hash;
use crate::signing::PublicKey;
use crate::time::Timestamp;
use crate::tlog::{LogSigner, Note, NoteError, NoteVerifier};

/// First line of a trust statement's text.
pub const TRUST_STATEMENT_HEADER: &str = "agritrace/v1/trust-statement";
/// First line of a trust history file.
pub const TRUST_HISTORY_MAGIC: &str = "agritrace-trust/v1";
/// Most changes one statement carries.
pub const MAX_TRUST_CHANGES: usize = 256;
/// Most statements a history holds.
pub const MAX_TRUST_STATEMENTS: usize = 100_000;

/// One change to the trust: the lines of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustChange {
    /// Trust `key` under `grant` (see [`TrustStore::add`]).
    Grant {
        /// The key.
        key: PublicKey,
        /// Its party, role and window.
        grant: KeyGrant,
    },
    /// Revoke `key` from `at` on (see [`TrustStore::revoke`]).
    Revoke {
        /// The key.
        key: PublicKey,
        /// From when.
        at: Timestamp,
    },
    /// Rotate from `old` to `new` at `at` (see [`TrustStore::rotate`]).
    Rotate {
        /// The key that stops.
        old: PublicKey,
        /// The key that takes over.
        new: PublicKey,
        /// When.
        at: Timestamp,
    },
}

impl TrustChange {
    /// One grant per key of `trust`, then a revocation for each revoked key: the changes
    /// that rebuild `trust` from nothing.
    #[must_use]
    pub fn all_of(trust: &TrustStore) -> Vec<TrustChange> {
        let mut out: Vec<TrustChange> = trust
            .keys()
            .map(|(key, grant)| TrustChange::Grant {
                key: *key,
                grant: grant.clone(),
            })
            .collect();
        out.extend(trust.keys().filter_map(|(key, _)| {
            trust
                .revoked_at(key)
                .map(|at| TrustChange::Revoke { key: *key, at })
        }));
        out
    }

    fn apply(&self, trust: &mut TrustStore) -> Result<(), TrustError> {
        match self {
            Self::Grant { key, grant } => trust.add(*key, grant.clone()).map(|_| ()),
            Self::Revoke { key, at } => trust.revoke(key, *at),
            Self::Rotate { old, new, at } => trust.rotate(old, *new, *at).map(|_| ()),
        }
    }
}

impl fmt::Display for TrustChange {
    /// The change's line in a statement.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Grant { key, grant } => write!(
                f,
                "grant {key} {} {} {} {}",
                grant.role,
                grant.valid_from.as_millis(),
                grant
                    .valid_until
                    .map_or_else(|| "-".to_owned(), |t| t.as_millis().to_string()),
                grant.party
            ),
            Self::Revoke { key, at } => write!(f, "revoke {key} {}", at.as_millis()),
            Self::Rotate { old, new, at } => write!(f, "rotate {old} {new} {}", at.as_millis()),
        }
    }
}

/// The hash of a trust statement's text, which the next statement names.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatementHash([u8; 32]);

crate::hex::impl_hex_display!(StatementHash);

impl StatementHash {
    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A trust statement whose operator signature verified: its place in the history, when it
/// was made, and its changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustStatement {
    origin: String,
    seq: u64,
    prev: Option<StatementHash>,
    time: Timestamp,
    changes: Vec<TrustChange>,
    hash: StatementHash,
    note: String,
}

impl TrustStatement {
    /// Signs `changes` as statement `seq` after `prev`, made at `time`, by the operator.
    ///
    /// # Errors
    /// [`TrustHistoryError::Syntax`] for no changes or more than [`MAX_TRUST_CHANGES`].
    pub fn sign(
        operator: &LogSigner,
        seq: u64,
        prev: Option<StatementHash>,
        time: Timestamp,
        changes: Vec<TrustChange>,
    ) -> Result<Self, TrustHistoryError> {
        check_count(changes.len(), 6)?; // the first change line
        let mut text = format!(
            "{TRUST_STATEMENT_HEADER}\n{}\nseq {seq}\nprev {}\ntime {}\n",
            operator.origin(),
            prev.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            time.as_millis()
        );
        for c in &changes {
            let _ = writeln!(text, "{c}");
        }
        let mut note = Note::new(&text).map_err(|e| TrustHistoryError::Note {
            statement: seq,
            source: e,
        })?;
        operator.sign_note(&mut note);
        Ok(Self {
            origin: operator.origin().to_owned(),
            seq,
            prev,
            time,
            changes,
            hash: StatementHash(hash::tagged(hash::TRUST_STATEMENT_TAG, text.as_bytes())),
            note: note.to_string(),
        })
    }

    /// Parses a signed statement and checks its signature by `operator`.
    ///
    /// # Errors
    /// [`TrustHistoryError`] naming the line at fault.
    pub fn parse(note: &str, operator: &NoteVerifier) -> Result<Self, TrustHistoryError> {
        let parsed = Note::parse(note).map_err(|source| TrustHistoryError::Note {
            statement: 0,
            source,
        })?;
        match parsed.verify(std::slice::from_ref(operator)) {
            Ok(_) => {}
            Err(NoteError::NoKnownSignature { .. }) => {
                return Err(TrustHistoryError::NotByOperator {
                    operator: operator.name().to_owned(),
                });
            }
            Err(source) => {
                return Err(TrustHistoryError::Note {
                    statement: 0,
                    source,
                });
            }
        }
        let text = parsed.text();
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let mut field = |name: &'static str| -> Result<(usize, &str), TrustHistoryError> {
            let (n, line) = lines.next().ok_or(TrustHistoryError::Syntax {
                line: 0,
                what: "statement ends early",
            })?;
            if name.is_empty() {
                return Ok((n, line));
            }
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(|rest| (n, rest))
                .ok_or(TrustHistoryError::Syntax {
                    line: n,
                    what: "expected header, origin, seq, prev and time lines in that order",
                })
        };
        let (_, header) = field("")?;
        if header != TRUST_STATEMENT_HEADER {
            return Err(TrustHistoryError::Syntax {
                line: 1,
                what: "not a trust statement",
            });
        }
        let (_, origin) = field("")?;
        if origin != operator.name() {
            return Err(TrustHistoryError::Syntax {
                line: 2,
                what: "origin is not the operator key's name",
            });
        }
        let (n, seq) = field("seq")?;
        let seq = number(seq).ok_or(TrustHistoryError::Syntax {
            line: n,
            what: "seq is not a decimal number",
        })?;
        let (n, prev) = field("prev")?;
        let prev = match prev {
            "-" => None,
            hex => Some(StatementHash(crate::hex::decode_array(hex).ok_or(
                TrustHistoryError::Syntax {
                    line: n,
                    what: "prev is not 64 hex digits or -",
                },
            )?)),
        };
        let (n, time) = field("time")?;
        let time = millis(time).ok_or(TrustHistoryError::Syntax {
            line: n,
            what: "time is not milliseconds",
        })?;
        let mut changes = Vec::new();
        for (n, line) in text.lines().enumerate().skip(5) {
            check_count(changes.len() + 1, n + 1)?;
            changes.push(
                change(line).map_err(|what| TrustHistoryError::Syntax { line: n + 1, what })?,
            );
        }
        check_count(changes.len(), text.lines().count() + 1)?;
        Ok(Self {
            origin: origin.to_owned(),
            seq,
            prev,
            time,
            changes,
            hash: StatementHash(hash::tagged(hash::TRUST_STATEMENT_TAG, text.as_bytes())),
            note: parsed.to_string(),
        })
    }

    /// Its position in the history: 0, 1, 2, …
    #[must_use]
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The hash of the statement before it (`None` for the first).
    #[must_use]
    pub fn prev(&self) -> Option<&StatementHash> {
        self.prev.as_ref()
    }

    /// When the operator made it (the changes carry their own effective times).
    #[must_use]
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The operator key's name (the log's origin).
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Its changes, in order.
    #[must_use]
    pub fn changes(&self) -> &[TrustChange] {
        &self.changes
    }

    /// The hash of its text.
    #[must_use]
    pub fn hash(&self) -> StatementHash {
        self.hash
    }

    /// The signed note, as text.
    #[must_use]
    pub fn note(&self) -> &str {
        &self.note
    }
}

fn check_count(n: usize, line: usize) -> Result<(), TrustHistoryError> {
    match n {
        0 => Err(TrustHistoryError::Syntax {
            line,
            what: "a statement needs at least one change",
        }),
        n if n > MAX_TRUST_CHANGES => Err(TrustHistoryError::Syntax {
            line,
            what: "more changes than a statement may carry (256)",
        }),
        _ => Ok(()),
    }
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

fn millis(s: &str) -> Option<Timestamp> {
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
    let n = i64::try_from(number(digits)?).ok()?;
    Some(Timestamp::from_millis(if neg { -n } else { n }))
}

fn key(s: Option<&str>) -> Result<PublicKey, &'static str> {
    s.and_then(crate::hex::decode_array)
        .map(PublicKey::from_bytes)
        .ok_or("a key is not 64 hex digits")
}

fn at(s: Option<&str>) -> Result<Timestamp, &'static str> {
    s.and_then(millis).ok_or("a time is not milliseconds")
}

/// One change line.
fn change(line: &str) -> Result<TrustChange, &'static str> {
    let mut f = line.splitn(6, ' ');
    let out = match f.next() {
        Some("grant") => {
            let key = key(f.next())?;
            let role = f
                .next()
                .and_then(Role::from_name)
                .ok_or("unknown role (Farm, Device, Vet, Transporter, Slaughterhouse, Processor, Retailer, Regulator)")?;
            let valid_from = at(f.next())?;
            let valid_until = match f.next() {
                Some("-") => None,
                other => Some(at(other)?),
            };
            let party = f
                .next()
                .and_then(|p| Text::new(p).ok())
                .ok_or("the party is missing or not a valid text field")?;
            return Ok(TrustChange::Grant {
                key,
                grant: KeyGrant {
                    party,
                    role,
                    valid_from,
                    valid_until,
                },
            });
        }
        Some("revoke") => TrustChange::Revoke {
            key: key(f.next())?,
            at: at(f.next())?,
        },
        Some("rotate") => TrustChange::Rotate {
            old: key(f.next())?,
            new: key(f.next())?,
            at: at(f.next())?,
        },
        _ => return Err("a change line starts with grant, revoke or rotate"),
    };
    if f.next().is_some() {
        return Err("extra fields after the change");
    }
    Ok(out)
}

/// A store's trust: the operator key pinned when the store was created, every statement it
/// signed since, in order, and the trust they add up to.
///
/// The trust at any time is the fold of the statements: grants, rotations and revocations
/// each carry the instant they take effect, so a record is judged by the keys valid at its
/// own time ([`TrustStore`]'s windows). [`TrustHistory::as_of`] gives the trust as the
/// operator had stated it by an instant, for audits.
///
/// # Example
/// ```
/// use agritrace::{KeyGrant, LogSigner, Role, Signer, Text, Timestamp, TrustChange, TrustHistory};
/// let operator = LogSigner::new("coop.example/log", Signer::from_seed([7; 32]))?;
/// let mut history = TrustHistory::new(operator.verifier().clone());
/// let vet = Signer::from_seed([3; 32]).public_key();
/// let grant = KeyGrant::new(Text::new("Dr. Li")?, Role::Vet, Timestamp::from_millis(0));
/// let statement = history.sign_next(&operator, Timestamp::from_millis(5), vec![TrustChange::Grant { key: vet, grant }])?;
/// history.apply(statement.note())?;
/// assert_eq!(history.trust().grant(&vet).map(|g| g.role), Some(Role::Vet));
///
/// // The history file reads back to the same trust, checked statement by statement.
/// let again = TrustHistory::from_text(&history.to_text(), operator.verifier().clone())?;
/// assert_eq!(again.statements().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrustHistory {
    operator: NoteVerifier,
    statements: Vec<TrustStatement>,
    trust: TrustStore,
}

impl TrustHistory {
    /// An empty history for `operator`'s statements.
    #[must_use]
    pub fn new(operator: NoteVerifier) -> Self {
        Self {
            operator,
            statements: Vec::new(),
            trust: TrustStore::new(),
        }
    }

    /// The pinned operator key.
    #[must_use]
    pub fn operator(&self) -> &NoteVerifier {
        &self.operator
    }

    /// The trust all statements add up to.
    #[must_use]
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The statements, in order.
    #[must_use]
    pub fn statements(&self) -> &[TrustStatement] {
        &self.statements
    }

    /// The seq and prev the next statement must carry.
    #[must_use]
    pub fn next(&self) -> (u64, Option<StatementHash>) {
        (
            self.statements.len() as u64,
            self.statements.last().map(TrustStatement::hash),
        )
    }

    /// Signs `changes` as the next statement (not applied yet: see [`TrustHistory::apply`]).
    ///
    /// # Errors
    /// As [`TrustStatement::sign`].
    pub fn sign_next(
        &self,
        operator: &LogSigner,
        time: Timestamp,
        changes: Vec<TrustChange>,
    ) -> Result<TrustStatement, TrustHistoryError> {
        let (seq, prev) = self.next();
        TrustStatement::sign(operator, seq, prev, time, changes)
    }

    /// Checks a signed statement and appends it: signed by the pinned operator, next in seq,
    /// naming the last statement's hash, not dated before it, and every change valid
    /// against the trust so far. All or nothing.
    ///
    /// # Errors
    /// [`TrustHistoryError`] naming what is wrong; the history is unchanged.
    pub fn apply(&mut self, note: &str) -> Result<&TrustStatement, TrustHistoryError> {
        let (statement, trust) = self.checked(note)?;
        self.trust = trust;
        self.statements.push(statement);
        Ok(&self.statements[self.statements.len() - 1])
    }

    /// Checks a statement as [`TrustHistory::apply`] would, without applying it.
    ///
    /// # Errors
    /// As [`TrustHistory::apply`].
    pub fn check(&self, note: &str) -> Result<TrustStatement, TrustHistoryError> {
        self.checked(note).map(|(statement, _)| statement)
    }

    /// The checked statement and the trust it leads to.
    fn checked(&self, note: &str) -> Result<(TrustStatement, TrustStore), TrustHistoryError> {
        if self.statements.len() >= MAX_TRUST_STATEMENTS {
            return Err(TrustHistoryError::TooManyStatements {
                max: MAX_TRUST_STATEMENTS,
            });
        }
        let s = TrustStatement::parse(note, &self.operator).map_err(|e| e.at(self.next().0))?;
        let (seq, prev) = self.next();
        if s.seq != seq {
            return Err(TrustHistoryError::OutOfOrder {
                expected: seq,
                found: s.seq,
            });
        }
        if s.prev != prev {
            return Err(TrustHistoryError::PrevMismatch { statement: seq });
        }
        if let Some(last) = self.statements.last().filter(|l| s.time < l.time) {
            return Err(TrustHistoryError::TimeWentBackwards {
                statement: seq,
                previous: last.time,
                found: s.time,
            });
        }
        let mut trial = self.trust.clone();
        fold(&mut trial, &s)?;
        Ok((s, trial))
    }

    /// The trust as stated by the statements made at or before `t`.
    #[must_use]
    pub fn as_of(&self, t: Timestamp) -> TrustStore {
        let mut trust = TrustStore::new();
        for s in self.statements.iter().take_while(|s| s.time <= t) {
            // Every statement was checked against the trust before it when applied.
            let _ = fold(&mut trust, s);
        }
        trust
    }

    /// The history as a file: [`TRUST_HISTORY_MAGIC`], then each signed statement followed
    /// by a blank line.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = format!("{TRUST_HISTORY_MAGIC}\n\n");
        for s in &self.statements {
            out.push_str(&s.note);
            out.push('\n');
        }
        out
    }

    /// Reads a history file, checking every statement as [`TrustHistory::apply`] does.
    ///
    /// # Errors
    /// [`TrustHistoryError`] naming the statement (and line) at fault.
    pub fn from_text(text: &str, operator: NoteVerifier) -> Result<Self, TrustHistoryError> {
        let mut history = Self::new(operator);
        let body = text
            .strip_prefix(TRUST_HISTORY_MAGIC)
            .and_then(|r| r.strip_prefix("\n\n"))
            .ok_or(TrustHistoryError::NotAHistory)?;
        for note in split_notes(body)? {
            history.apply(note)?;
        }
        Ok(history)
    }
}

fn fold(trust: &mut TrustStore, s: &TrustStatement) -> Result<(), TrustHistoryError> {
    for (i, c) in s.changes.iter().enumerate() {
        c.apply(trust).map_err(|source| TrustHistoryError::Change {
            statement: s.seq,
            line: i + 6,
            source,
        })?;
    }
    Ok(())
}

/// Splits a history body into notes: each note is its text, a blank line, its signature
/// lines, then a blank line.
fn split_notes(body: &str) -> Result<Vec<&str>, TrustHistoryError> {
    let mut notes = Vec::new();
    let mut start = 0;
    let mut blanks = 0;
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        at += line.len();
        if line == "\n" {
            blanks += 1;
            if blanks == 2 {
                notes.push(&body[start..at - 1]);
                start = at;
                blanks = 0;
            }
        }
    }
    if start != body.len() || blanks != 0 {
        return Err(TrustHistoryError::Syntax {
            line: 0,
            what: "the file ends inside a statement",
        });
    }
    Ok(notes)
}

impl TrustHistoryError {
    /// This error, naming statement `seq` where it named none.
    fn at(self, seq: u64) -> Self {
        match self {
            Self::Note { source, .. } => Self::Note {
                statement: seq,
                source,
            },
            other => other,
        }
    }
}
