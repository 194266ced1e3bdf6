//! Admission: a store keeps a record only if the verifier would accept it there and then.
//! Every backend runs these checks, so a second backend gets them for free.
//!
//! The checks and their order are the verifier's (`docs/FORMAT.md` §7): decode → link
//! against the stored tip (the rule in `verify::check`, shared with both verifiers) →
//! signer trusted, valid at the record's time and allowed by the policy → signature →
//! lineage (each parent a stored record of the named subject, dated no later). The
//! CPU-bound part (decode, signer, signature, batched) runs before the backend takes its
//! write lock; the rest runs inside the write transaction, against what is stored.

use super::{ChainTip, Conflict, StoreError};
use crate::error::Reason;
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::time::Timestamp;
use crate::trust::{Policy, TrustStore};
use crate::verify::check::{self, Linked as _};
use crate::verify::sig;

/// Records judged at a time (their signatures checked as one batch) while the records
/// before them are placed (see `SqliteStore::admit_all`).
pub(crate) const CHUNK: usize = 128;

/// Threads that judge chunks ahead of the placing thread, at most.
pub(crate) const MAX_HELPERS: usize = 4;

/// The chunks a batch of `len` records is judged in: small ones first, so that placing
/// starts soon, then [`CHUNK`] records each (32, 32, 64, 64, 128, 128, …).
pub(crate) fn chunks(len: usize) -> Vec<std::ops::Range<usize>> {
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

/// A record judged on its own: decoded, with its signer and signature verdict.
pub(crate) struct Candidate<'r> {
    pub(crate) record: &'r SignedRecord,
    pub(crate) id: RecordId,
    /// The decoded body, or why it does not decode.
    pub(crate) body: Result<RecordBody, Reason>,
    /// The signer and signature checks, in their order.
    signed: Result<(), Reason>,
}

impl Candidate<'_> {
    /// The subject, when the body decoded.
    pub(crate) fn subject(&self) -> Option<&SubjectId> {
        self.body.as_ref().ok().map(RecordBody::subject)
    }
}

/// Judges `records` on their own, on this thread: decode, signer, and the signatures as
/// one batch (split in halves on failure, so each record gets its own verdict).
pub(crate) fn prepare<'r>(
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

/// What admission reads from a backend, inside its write transaction (so it sees the
/// records of the batch placed before the current one).
pub(crate) trait Lookup {
    /// The subject's tip.
    fn tip(&mut self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError>;
    /// The log position and ID of the subject's record at `seq`.
    fn at_seq(
        &mut self,
        subject: &SubjectId,
        seq: u64,
    ) -> Result<Option<(u64, RecordId)>, StoreError>;
    /// The log position, subject and time of the record `id`.
    fn record(&mut self, id: &RecordId) -> Result<Option<(u64, SubjectId, Timestamp)>, StoreError>;
}

/// The rest of the checks, against what is stored: `Ok(Err(conflict))` when the record is
/// refused, `Err` when the backend failed.
pub(crate) fn admit(
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
