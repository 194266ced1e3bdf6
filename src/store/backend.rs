//! The kit for writing a [`Store`](super::Store) backend: admission, so that every backend
//! keeps exactly the records the verifier would accept there and then.
//!
//! The checks and their order are the verifier's (`docs/FORMAT.md` §7): decode → link
//! against the stored tip (the rule the verifiers share) → signer trusted, valid at the
//! record's time and allowed by the policy → signature → lineage (each parent a stored
//! record of the named subject, dated no later). They come in two halves:
//!
//! - [`judge`] / [`judge_ahead`]: the CPU-bound half (decode, signer, signatures checked as
//!   one batch), which needs nothing stored and runs before or beside the backend's write
//!   transaction;
//! - [`admit`]: the rest, against what is stored, read through the backend's [`Lookup`]
//!   inside its write transaction (so it sees the records of the batch placed before).
//!
//! A backend's append is then: read the trust, judge, open its write transaction (one
//! writer at a time: the log positions must be gap-free), [`admit`] each candidate in order
//! and insert it, commit. The SQLite store and the PostgreSQL store
//! (`crates/agritrace-postgres`) are both written this way, and both pass the same
//! conformance suite.
//!
//! # Example
//! A toy backend in memory, to show the shape (a real one keeps its rows in a database):
//! ```
//! use std::collections::HashMap;
//! use agritrace::store::backend::{self, Lookup};
//! use agritrace::{Chain, ChainTip, Event, KeyGrant, Policy, RecordId, Role, Signer, StoreError, SubjectId, Text, Timestamp, TrustStore};
//!
//! #[derive(Default)]
//! struct Rows {
//!     tips: HashMap<SubjectId, ChainTip>,
//!     records: HashMap<RecordId, (u64, SubjectId, u64, Timestamp)>,
//! }
//! impl Lookup for Rows {
//!     fn tip(&mut self, s: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
//!         Ok(self.tips.get(s).copied())
//!     }
//!     fn at_seq(&mut self, s: &SubjectId, seq: u64) -> Result<Option<(u64, RecordId)>, StoreError> {
//!         Ok(self.records.iter().find(|(_, r)| &r.1 == s && r.2 == seq).map(|(id, r)| (r.0, *id)))
//!     }
//!     fn record(&mut self, id: &RecordId) -> Result<Option<(u64, SubjectId, Timestamp)>, StoreError> {
//!         Ok(self.records.get(id).map(|r| (r.0, r.1.clone(), r.3)))
//!     }
//! }
//!
//! let scale = Signer::from_seed([9; 32]);
//! let mut trust = TrustStore::new();
//! trust.add(scale.public_key(), KeyGrant::new(Text::new("scale")?, Role::Device, Timestamp::from_millis(0)))?;
//! let pig: SubjectId = "eartag:161083000000042".parse()?;
//! let mut chain = Chain::new(pig.clone());
//! let records = vec![
//!     chain.append(&scale, Timestamp::from_millis(1), Event::Weighing { grams: 1_250 })?,
//!     chain.append(&scale, Timestamp::from_millis(2), Event::Weighing { grams: 1_300 })?,
//! ];
//!
//! let mut rows = Rows::default();
//! for (index, c) in backend::judge(&records, &trust, &Policy::livestock()).iter().enumerate() {
//!     if let Err(conflict) = backend::admit(c, &mut rows)? {
//!         return Err(c.refused(index, conflict).into());
//!     }
//!     let body = c.body().ok_or("admitted records decode")?;
//!     rows.records.insert(c.id(), (index as u64, pig.clone(), body.seq(), body.time()));
//!     rows.tips.insert(pig.clone(), c.next_tip().ok_or("admitted records decode")?);
//! }
//! assert_eq!(rows.tips[&pig].seq, 1);
//!
//! // The same record again is already stored, at log position 0.
//! let again = backend::judge(&records[..1], &trust, &Policy::livestock());
//! assert!(matches!(backend::admit(&again[0], &mut rows)?, Err(agritrace::Conflict::AlreadyStored { position: 0 })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::{ChainTip, Conflict, StoreError};
use crate::error::Reason;
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::time::Timestamp;
use crate::trust::{Policy, TrustStore};
use crate::verify::check::{self, Linked as _};
use crate::verify::sig;

/// Records judged at a time by [`judge_ahead`] (their signatures checked as one batch)
/// while the records before them are placed.
pub const CHUNK: usize = 128;

/// Threads that judge chunks ahead of the placing thread, at most.
const MAX_HELPERS: usize = 4;

/// The chunks a batch of `len` records is judged in: small ones first, so that placing
/// starts soon, then [`CHUNK`] records each (32, 32, 64, 64, 128, 128, …).
fn chunks(len: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(len / CHUNK + 4);
    let mut start = 0;
    while start < len {
        let size = (32usize << (out.len() / 2)).min(CHUNK);
        let end = (start + size).min(len);
        out.push(start..end);
        start = end;
    }
    out
}

/// A record judged on its own: decoded, with its signer and signature verdict. [`admit`]
/// gives the rest of the verdict.
pub struct Candidate<'r> {
    record: &'r SignedRecord,
    id: RecordId,
    /// The decoded body, or why it does not decode.
    body: Result<RecordBody, Reason>,
    /// The signer and signature checks, in their order.
    signed: Result<(), Reason>,
}

impl<'r> Candidate<'r> {
    /// The record.
    pub fn record(&self) -> &'r SignedRecord {
        self.record
    }

    /// Its ID.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// Its decoded body (`None` when it does not decode: [`admit`] refuses it).
    pub fn body(&self) -> Option<&RecordBody> {
        self.body.as_ref().ok()
    }

    /// The subject, when the body decoded.
    pub fn subject(&self) -> Option<&SubjectId> {
        self.body().map(RecordBody::subject)
    }

    /// The tip its subject's chain has once this record is placed (`None` when the body
    /// does not decode).
    pub fn next_tip(&self) -> Option<ChainTip> {
        self.body().map(|b| check::advance(b, self.id))
    }

    /// The error a store returns when this record, number `index` of its append, is
    /// refused with `conflict`.
    pub fn refused(&self, index: usize, conflict: Conflict) -> StoreError {
        StoreError::Refused {
            index,
            subject: self.subject().cloned(),
            record: self.id,
            conflict,
        }
    }
}

/// Judges `records` on their own, on this thread: decode, signer, and the signatures as
/// one batch (split in halves on failure, so each record gets its own verdict). The
/// verdicts are those of judging each record alone.
pub fn judge<'r>(
    records: &'r [SignedRecord],
    trust: &TrustStore,
    policy: &Policy,
) -> Vec<Candidate<'r>> {
    let mut out: Vec<Candidate<'r>> = records
        .iter()
        .map(|record| {
            let id = record.id();
            let body = RecordBody::decode(record.body()).map_err(Reason::Decode);
            let signed = match &body {
                Ok(b) => check::signer(trust, policy, b).map(|_| ()),
                Err(e) => Err(e.clone()),
            };
            Candidate {
                record,
                id,
                body,
                signed,
            }
        })
        .collect();
    let mut items = Vec::new();
    let mut at = Vec::new();
    for (i, c) in out.iter().enumerate() {
        if let (Ok(()), Ok(b)) = (&c.signed, &c.body)
            && let Some(key) = trust.get(b.signer())
        {
            items.push(sig::record_item(
                &key.verifying,
                c.record.signature(),
                &c.id,
            ));
            at.push(i);
        }
    }
    let mut ok = vec![false; items.len()];
    sig::bisect(&items, &mut ok, 0, &|i| {
        items[i].clone().verify_single().is_ok()
    });
    for (i, good) in at.into_iter().zip(ok) {
        if !good {
            out[i].signed = Err(Reason::BadSignature);
        }
    }
    out
}

/// Judges `records` in chunks, on helper threads a chunk ahead of the caller, and hands
/// `place` the judged chunks in order: a backend places each chunk in its write transaction
/// while the next is judged. Judging is CPU work and placing mostly the backend's, so a
/// batch costs about the longer of the two instead of their sum, and the helpers stay off
/// the rayon pool, which a caller may be filling with signing work. A batch of one chunk,
/// or one where no thread can be had, is judged on this thread. The verdicts are those of
/// [`judge`] on the whole batch.
///
/// When `place` returns without taking every chunk (a record was refused), the helpers stop.
pub fn judge_ahead<'r, R>(
    records: &'r [SignedRecord],
    trust: &TrustStore,
    policy: &Policy,
    place: impl FnOnce(&mut dyn Iterator<Item = Vec<Candidate<'r>>>) -> R,
) -> R {
    std::thread::scope(|scope| {
        let mut judged = Judged::start(scope, records, trust, policy);
        place(&mut judged)
    })
}

/// Judged chunks of a batch, in order: from helper threads that judge ahead (chunk `i` by
/// helper `i % n`), or judged here when the batch is one chunk or no thread can be had.
enum Judged<'r> {
    Here(std::vec::IntoIter<Vec<Candidate<'r>>>),
    Helpers {
        from: Vec<std::sync::mpsc::Receiver<Vec<Candidate<'r>>>>,
        next: usize,
    },
}

impl<'r> Judged<'r> {
    fn start<'s, 'e: 's>(
        scope: &'s std::thread::Scope<'s, 'e>,
        records: &'r [SignedRecord],
        trust: &'e TrustStore,
        policy: &'e Policy,
    ) -> Self
    where
        'r: 'e,
    {
        let here = || {
            Self::Here(
                records
                    .chunks(CHUNK)
                    .map(|c| judge(c, trust, policy))
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        };
        if records.len() <= CHUNK {
            return here();
        }
        let chunks = chunks(records.len());
        let helpers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_HELPERS)
            .min(chunks.len());
        let mut from = Vec::with_capacity(helpers);
        for k in 0..helpers {
            // Each helper runs at most one judged chunk ahead of the placing side; when
            // that side stops early (a refusal), the sends fail and the helpers stop.
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let mine: Vec<_> = chunks.iter().skip(k).step_by(helpers).cloned().collect();
            let helper = std::thread::Builder::new()
                .name("agritrace-admit".into())
                .spawn_scoped(scope, move || {
                    for range in mine {
                        let chunk = records.get(range).unwrap_or_default();
                        if tx.send(judge(chunk, trust, policy)).is_err() {
                            return;
                        }
                    }
                });
            if helper.is_err() {
                // No thread: judge here (the helpers started see their receivers dropped).
                return here();
            }
            from.push(rx);
        }
        Self::Helpers { from, next: 0 }
    }
}

impl<'r> Iterator for Judged<'r> {
    type Item = Vec<Candidate<'r>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Here(it) => it.next(),
            Self::Helpers { from, next } => {
                let chunk = from.get(*next % from.len().max(1))?.recv().ok()?;
                *next += 1;
                Some(chunk)
            }
        }
    }
}

/// What admission reads from a backend, inside its write transaction (so it sees the
/// records of the batch placed before the current one).
pub trait Lookup {
    /// The subject's tip.
    ///
    /// # Errors
    /// A backend error, or [`StoreError::Corrupt`].
    fn tip(&mut self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError>;
    /// The log position and ID of the subject's record at `seq`.
    ///
    /// # Errors
    /// A backend error, or [`StoreError::Corrupt`].
    fn at_seq(
        &mut self,
        subject: &SubjectId,
        seq: u64,
    ) -> Result<Option<(u64, RecordId)>, StoreError>;
    /// The log position, subject and time of the record `id`.
    ///
    /// # Errors
    /// A backend error, or [`StoreError::Corrupt`].
    fn record(&mut self, id: &RecordId) -> Result<Option<(u64, SubjectId, Timestamp)>, StoreError>;
}

/// The rest of the checks, against what is stored: `Ok(Err(conflict))` when the record is
/// refused, `Err` when the backend failed.
///
/// # Errors
/// What `store` returned, or [`StoreError::Corrupt`] when its tip names a seq it has no
/// record at.
pub fn admit(
    c: &Candidate<'_>,
    store: &mut impl Lookup,
) -> Result<Result<(), Conflict>, StoreError> {
    let body = match &c.body {
        Ok(b) => b,
        Err(reason) => return Ok(Err(Conflict::Refused(reason.clone()))),
    };
    let subject = body.subject();
    let tip = store.tip(subject)?;
    if let Some(t) = tip.filter(|t| body.seq() <= t.seq) {
        // The seq is taken: this very record again, or a second history.
        return Ok(Err(match store.at_seq(subject, body.seq())? {
            Some((position, id)) if id == c.id => Conflict::AlreadyStored { position },
            Some((_, existing)) => Conflict::Refused(Reason::Fork {
                seq: body.seq(),
                existing,
            }),
            None => {
                return Err(StoreError::Corrupt(format!(
                    "{subject} has its tip at seq {} but no record at seq {}",
                    t.seq,
                    body.seq()
                )));
            }
        }));
    }
    if let Err(reason) = check::link(subject, tip.as_ref(), body, &c.id) {
        return Ok(Err(Conflict::Refused(reason)));
    }
    if let Err(reason) = &c.signed {
        return Ok(Err(Conflict::Refused(reason.clone())));
    }
    for l in body.lineage() {
        let refused = match store.record(&l.record)? {
            None => Reason::MissingParent {
                subject: l.subject.clone(),
                parent: l.record,
            },
            Some((_, actual, _)) if actual != l.subject => Reason::ParentSubjectMismatch {
                claimed: l.subject.clone(),
                actual,
                parent: l.record,
            },
            Some((_, _, time)) if time > body.time() => {
                Reason::ParentAfterChild { parent: l.record }
            }
            Some(_) => continue,
        };
        return Ok(Err(Conflict::Refused(refused)));
    }
    Ok(Ok(()))
}
