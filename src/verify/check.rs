//! The per-record checks shared by every verification path, in their normative order.

use crate::error::Reason;
use crate::event::{Event, LineageRef};
use crate::id::SubjectId;
use crate::record::ChainTip;
use crate::record::{RecordBody, RecordId};
use crate::time::Timestamp;
use crate::trust::{Policy, TrustStore, TrustedKey};

/// What the link and lineage checks read of a record: a decoded body, or the engine's
/// compact copy of one.
pub(crate) trait Linked {
    fn subject(&self) -> &SubjectId;
    fn seq(&self) -> u64;
    fn prev(&self) -> Option<&RecordId>;
    fn time(&self) -> Timestamp;
    /// Whether the record ends its chain.
    fn ends_chain(&self) -> bool;
    /// The records of other subjects it names.
    fn lineage(&self) -> &[LineageRef];
}

impl Linked for RecordBody {
    fn subject(&self) -> &SubjectId {
        RecordBody::subject(self)
    }
    fn seq(&self) -> u64 {
        RecordBody::seq(self)
    }
    fn prev(&self) -> Option<&RecordId> {
        RecordBody::prev(self)
    }
    fn time(&self) -> Timestamp {
        RecordBody::time(self)
    }
    fn ends_chain(&self) -> bool {
        matches!(self.event(), Event::EndOfChain { .. })
    }
    fn lineage(&self) -> &[LineageRef] {
        self.event().lineage()
    }
}

/// Link checks against the chain's tip: subject, seq (duplicate, fork, gap), end of chain,
/// prev, time.
pub(crate) fn link(
    subject: &SubjectId,
    tip: Option<&ChainTip>,
    body: &impl Linked,
    id: &RecordId,
) -> Result<(), Reason> {
    if body.subject() != subject {
        return Err(Reason::WrongSubject {
            expected: subject.clone(),
            found: body.subject().clone(),
        });
    }
    let Some(tip) = tip else {
        return match body.seq() {
            0 => Ok(()),
            found => Err(Reason::UnexpectedSeq { expected: 0, found }),
        };
    };
    if body.seq() == tip.seq {
        return Err(if *id == tip.id {
            Reason::Duplicate { seq: tip.seq }
        } else {
            Reason::Fork {
                seq: tip.seq,
                existing: tip.id,
            }
        });
    }
    if tip.ended {
        return Err(Reason::AfterEndOfChain);
    }
    let expected = tip.seq.saturating_add(1);
    if body.seq() != expected {
        return Err(Reason::UnexpectedSeq {
            expected,
            found: body.seq(),
        });
    }
    match body.prev() {
        Some(p) if *p == tip.id => {}
        // Invariant: decoding guarantees `prev` is present for seq > 0; the zero ID stands in
        // for "none" should that ever be violated.
        p => {
            return Err(Reason::PrevMismatch {
                expected: tip.id,
                found: p.copied().unwrap_or(RecordId::from_bytes([0; 32])),
            });
        }
    }
    if body.time() < tip.time {
        return Err(Reason::TimeWentBackwards {
            previous: tip.time,
            found: body.time(),
        });
    }
    Ok(())
}

/// Signer checks: trusted, not revoked, within its window, allowed to sign this event.
pub(crate) fn signer<'t>(
    trust: &'t TrustStore,
    policy: &Policy,
    body: &RecordBody,
) -> Result<&'t TrustedKey, Reason> {
    let Some(key) = trust.get(body.signer()) else {
        return Err(Reason::UntrustedKey(body.signer().key_id()));
    };
    let t = body.time();
    if let Some(revoked_at) = key.revoked_at.filter(|r| t >= *r) {
        return Err(Reason::RevokedKey {
            key: key.key_id,
            revoked_at,
        });
    }
    if t < key.grant.valid_from {
        return Err(Reason::KeyNotYetValid {
            key: key.key_id,
            valid_from: key.grant.valid_from,
        });
    }
    if let Some(valid_until) = key.grant.valid_until.filter(|u| t >= *u) {
        return Err(Reason::KeyExpired {
            key: key.key_id,
            valid_until,
        });
    }
    let event = body.event().kind();
    if !policy.allows(event, key.grant.role) {
        return Err(Reason::RoleNotAllowed {
            key: key.key_id,
            role: key.grant.role,
            event,
        });
    }
    Ok(key)
}

/// The tip after accepting `body` with ID `id`.
pub(crate) fn advance(body: &impl Linked, id: RecordId) -> ChainTip {
    ChainTip {
        seq: body.seq(),
        id,
        time: body.time(),
        ended: body.ends_chain(),
    }
}
