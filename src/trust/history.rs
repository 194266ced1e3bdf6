//! A store's trust history: its operator's statements in order, each checked against the one
//! before, folded into the trust as of any time.

use super::TrustStore;
use crate::error::TrustHistoryError;
use crate::time::Timestamp;
use crate::tlog::{LogSigner, VerifierKey};

use super::statement::{
    MAX_TRUST_STATEMENTS, StatementHash, TRUST_HISTORY_MAGIC, TrustChange, TrustStatement,
};

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
/// use agritrace::{KeyGrant, LogSigner, Role, Signer, Text, Timestamp, TrustHistory};
/// use agritrace::trust::TrustChange;
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
    operator: VerifierKey,
    statements: Vec<TrustStatement>,
    trust: TrustStore,
}

impl TrustHistory {
    /// An empty history for `operator`'s statements.
    #[must_use]
    pub fn new(operator: VerifierKey) -> Self {
        Self {
            operator,
            statements: Vec::new(),
            trust: TrustStore::new(),
        }
    }

    /// The pinned operator key.
    #[must_use]
    pub fn operator(&self) -> &VerifierKey {
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
    pub fn from_text(text: &str, operator: VerifierKey) -> Result<Self, TrustHistoryError> {
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

pub(super) fn fold(trust: &mut TrustStore, s: &TrustStatement) -> Result<(), TrustHistoryError> {
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
pub(super) fn split_notes(body: &str) -> Result<Vec<&str>, TrustHistoryError> {
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
