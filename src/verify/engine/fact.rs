//! What judging keeps of each record: a compact fact and its verdicts, chunk by chunk.

use std::hash::{BuildHasher, RandomState};

use super::check::Linked;
use super::lineage::Child;
use super::set::Decoded;
use crate::error::{Reason, VerifyError};
use crate::event::LineageRef;
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId};
use crate::time::Timestamp;

/// What the chain walk and the lineage pass need of a decoded record, and its signer and
/// signature verdicts: a compact copy, so the body can be dropped while it is in cache.
pub(super) struct Fact {
    pub(super) id: RecordId,
    pub(super) subject: SubjectId,
    /// The subject's hash under this verification's keys, computed in the parallel pass.
    pub(super) hash: u64,
    pub(super) seq: u64,
    pub(super) prev: Option<RecordId>,
    pub(super) time: Timestamp,
    pub(super) ended: bool,
    pub(super) lineage: Vec<LineageRef>,
    pub(super) verdict: Verdict,
}

impl Fact {
    pub(super) fn new(
        id: RecordId,
        body: &RecordBody,
        verdict: Verdict,
        keys: &RandomState,
    ) -> Self {
        Self {
            id,
            subject: body.subject().clone(),
            hash: keys.hash_one(body.subject()),
            seq: body.seq(),
            prev: body.prev().copied(),
            time: body.time(),
            ended: Linked::ends_chain(body),
            lineage: body.event().lineage().to_vec(),
            verdict,
        }
    }

    /// The signer and signature verdict, checked after the link checks.
    pub(super) fn verdict(&self) -> Result<(), Reason> {
        match &self.verdict {
            Verdict::Good => Ok(()),
            Verdict::Signer(reason) => Err((**reason).clone()),
            Verdict::BadSignature => Err(Reason::BadSignature),
        }
    }

    pub(super) fn error(&self, index: usize, reason: Reason) -> VerifyError {
        VerifyError {
            index,
            subject: Some(self.subject.clone()),
            record: Some(self.id),
            reason,
        }
    }

    /// The lineage pass's view of this record, input record `index` at `pos` of chain
    /// `chain`, when it names lineage parents.
    pub(super) fn child(&self, chain: usize, pos: usize, index: usize) -> Option<Child> {
        (!self.lineage.is_empty()).then(|| Child {
            chain,
            pos,
            index,
            id: self.id,
            subject: self.subject.clone(),
            time: self.time,
            refs: self.lineage.clone(),
        })
    }
}

impl Linked for Fact {
    fn subject(&self) -> &SubjectId {
        &self.subject
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn prev(&self) -> Option<&RecordId> {
        self.prev.as_ref()
    }
    fn time(&self) -> Timestamp {
        self.time
    }
    fn ends_chain(&self) -> bool {
        self.ended
    }
    fn lineage(&self) -> &[LineageRef] {
        &self.lineage
    }
}

/// A decoded record's signer verdict (the reason is boxed: failures are rare) and, when
/// the signer passes, its signature verdict.
pub(super) enum Verdict {
    Good,
    Signer(Box<Reason>),
    BadSignature,
}

/// One chunk's records, judged on their own: a fact per record (`None` when it did not
/// decode), the decoded bodies when kept, and the decoding errors.
pub(super) struct Part {
    pub(super) facts: Vec<Option<Fact>>,
    pub(super) bodies: Vec<Option<RecordBody>>,
    pub(super) errors: Vec<VerifyError>,
}

/// Every chunk of a ledger held in memory, judged; record `i` is in part `i / size`.
pub(super) struct Judged {
    pub(super) size: usize,
    pub(super) parts: Vec<Part>,
}

impl Judged {
    pub(super) fn fact(&self, i: usize) -> Option<&Fact> {
        self.parts
            .get(i / self.size)?
            .facts
            .get(i % self.size)?
            .as_ref()
    }

    pub(super) fn take(&mut self, i: usize) -> Decoded {
        let part = self.parts.get_mut(i / self.size)?;
        let body = part.bodies.get_mut(i % self.size)?.take()?;
        let id = part.facts.get(i % self.size)?.as_ref()?.id;
        Some((id, body))
    }

    /// The decoding errors of every part, moved out.
    pub(super) fn take_decode_errors(&mut self) -> Vec<VerifyError> {
        self.parts
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.errors))
            .collect()
    }
}
