//! The write path: a batch is judged (decode, signer, batched signatures) a chunk ahead of
//! the thread that places it in the write transaction (links, lineage, inserts), and is
//! committed whole or not at all.

use std::collections::HashMap;
use std::sync::PoisonError;

use rusqlite::{Transaction, params};

use super::backend::{self, Lookup};
use super::{ChainTip, StoreError};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::time::Timestamp;
use crate::verify::check;
use crate::verify::check::Linked as _;

use super::*;

impl SqliteStore {
    /// Admits `records` in one transaction, under the trust as known when it starts; if
    /// another writer changed the trust meanwhile, judges them again under the new trust.
    /// Judging runs a chunk ahead of placing ([`backend::judge_ahead`]).
    pub(super) fn admit_all(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
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
            let placed = backend::judge_ahead(records, &trust, &self.policy, |judged| {
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

/// Admits and inserts judged `candidates`, the first of which is record `index` of the
/// batch that starts at log position `first`.
fn place(
    look: &mut TxLookup<'_, '_>,
    candidates: &[backend::Candidate<'_>],
    index: usize,
    first: u64,
) -> Result<(), StoreError> {
    for (i, c) in candidates.iter().enumerate() {
        let index = index + i;
        if let Err(conflict) = backend::admit(c, look)? {
            return Err(c.refused(index, conflict));
        }
        if let Some(body) = c.body() {
            insert(look, c.record(), c.id(), body, first + index as u64)?;
        }
    }
    Ok(())
}

pub(super) fn next_pos(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let next: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(pos) + 1, 0) FROM records")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)?;
    u64::try_from(next).map_err(|_| StoreError::Corrupt(format!("log position {next}")))
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
        let row: Option<(i64, Vec<u8>)> = optional_row(
            self.tx,
            "SELECT pos, id FROM records WHERE subject = ?1 AND seq = ?2",
            params![subject.to_string(), as_i64(seq).unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        row.map(|(pos, id)| Ok((u64::try_from(pos).unwrap_or(0), record_id(&id)?)))
            .transpose()
    }

    fn record(&mut self, id: &RecordId) -> Result<Option<(u64, SubjectId, Timestamp)>, StoreError> {
        let row: Option<(i64, String, i64)> = optional_row(
            self.tx,
            "SELECT pos, subject, time FROM records WHERE id = ?1",
            [id.as_bytes().as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
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
