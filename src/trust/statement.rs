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
use crate::tlog::{LogSigner, Note, NoteError, VerifierKey};

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

    pub(super) fn apply(&self, trust: &mut TrustStore) -> Result<(), TrustError> {
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
    pub(super) origin: String,
    pub(super) seq: u64,
    pub(super) prev: Option<StatementHash>,
    pub(super) time: Timestamp,
    pub(super) changes: Vec<TrustChange>,
    pub(super) hash: StatementHash,
    pub(super) note: String,
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
    pub fn parse(note: &str, operator: &VerifierKey) -> Result<Self, TrustHistoryError> {
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

pub(super) fn check_count(n: usize, line: usize) -> Result<(), TrustHistoryError> {
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

pub(super) fn number(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

pub(super) fn millis(s: &str) -> Option<Timestamp> {
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
    let n = i64::try_from(number(digits)?).ok()?;
    Some(Timestamp::from_millis(if neg { -n } else { n }))
}

pub(super) fn key(s: Option<&str>) -> Result<PublicKey, &'static str> {
    s.and_then(crate::hex::decode_array)
        .map(PublicKey::from_bytes)
        .ok_or("a key is not 64 hex digits")
}

pub(super) fn at(s: Option<&str>) -> Result<Timestamp, &'static str> {
    s.and_then(millis).ok_or("a time is not milliseconds")
}

/// One change line.
pub(super) fn change(line: &str) -> Result<TrustChange, &'static str> {
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
