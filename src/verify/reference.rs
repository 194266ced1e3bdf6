//! The reference verifier: straightforward, one record and one signature at a time. It is
//! the oracle every faster path is tested against.

use super::lineage::ChainOutcome;
use super::set::{self, Decoded};
use super::{VerifiedChain, VerifiedRecord, VerifiedSet, check, sig};
use crate::error::{Reason, VerifyError, VerifyErrors};
use crate::id::SubjectId;
use crate::record::ChainTip;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::trust::{Policy, TrustStore};

pub(super) fn verify_chain(
    trust: &TrustStore,
    policy: &Policy,
    subject: &SubjectId,
    records: &[SignedRecord],
) -> Result<VerifiedChain, VerifyError> {
    if records.is_empty() {
        return Err(VerifyError {
            index: 0,
            subject: Some(subject.clone()),
            record: None,
            reason: Reason::EmptyChain,
        });
    }
    let mut tip: Option<ChainTip> = None;
    let mut out = Vec::with_capacity(records.len());
    for (index, rec) in records.iter().enumerate() {
        let id = rec.id();
        let body = RecordBody::decode(rec.body()).map_err(|e| VerifyError {
            index,
            subject: None,
            record: Some(id),
            reason: e.into(),
        })?;
        check_record(trust, policy, subject, tip.as_ref(), &body, &id, rec).map_err(|reason| {
            VerifyError {
                index,
                subject: Some(body.subject().clone()),
                record: Some(id),
                reason,
            }
        })?;
        tip = Some(check::advance(&body, id));
        out.push(VerifiedRecord {
            id,
            body,
            signature: *rec.signature(),
        });
    }
    Ok(VerifiedChain {
        subject: subject.clone(),
        records: out,
    })
}

/// Link, signer and signature checks of one decoded record, in order.
fn check_record(
    trust: &TrustStore,
    policy: &Policy,
    subject: &SubjectId,
    tip: Option<&ChainTip>,
    body: &RecordBody,
    id: &RecordId,
    rec: &SignedRecord,
) -> Result<(), Reason> {
    check::link(subject, tip, body, id)?;
    let key = check::signer(trust, policy, body)?;
    if sig::verify_record(&key.verifying, rec.signature(), id) {
        Ok(())
    } else {
        Err(Reason::BadSignature)
    }
}

pub(super) fn verify_set(
    trust: &TrustStore,
    policy: &Policy,
    records: &[SignedRecord],
) -> Result<VerifiedSet, VerifyErrors> {
    let mut errors = Vec::new();
    let mut bodies: Vec<Decoded> = records
        .iter()
        .enumerate()
        .map(|(index, rec)| {
            let id = rec.id();
            match RecordBody::decode(rec.body()) {
                Ok(body) => Some((id, body)),
                Err(e) => {
                    errors.push(VerifyError {
                        index,
                        subject: None,
                        record: Some(id),
                        reason: e.into(),
                    });
                    None
                }
            }
        })
        .collect();
    let g = set::group(bodies.iter().map(|d| d.as_ref().map(|(_, b)| b.subject())));
    let mut outcomes: Vec<ChainOutcome> = g
        .subjects
        .iter()
        .zip(&g.chains)
        .map(|(subject, idx)| {
            let mut tip: Option<ChainTip> = None;
            for (pos, &i) in idx.iter().enumerate() {
                let Some((id, body)) = &bodies[i] else {
                    continue;
                };
                if let Err(reason) =
                    check_record(trust, policy, subject, tip.as_ref(), body, id, &records[i])
                {
                    let error = VerifyError {
                        index: i,
                        subject: Some(subject.clone()),
                        record: Some(*id),
                        reason,
                    };
                    return ChainOutcome {
                        accepted: pos,
                        error: Some(error),
                    };
                }
                tip = Some(check::advance(body, *id));
            }
            ChainOutcome {
                accepted: idx.len(),
                error: None,
            }
        })
        .collect();
    set::resolve_lineage(
        &g,
        |i| bodies[i].as_ref().map(|(id, b)| (id, b)),
        &mut outcomes,
    );
    set::finish(g, outcomes, |i| bodies[i].take(), records, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Text};
    use crate::signing::Signer;
    use crate::time::Timestamp;
    use crate::trust::{KeyGrant, Role};

    /// Signs a hand-built body, bypassing the checks of `Chain::append`.
    fn signed(signer: &Signer, body: &RecordBody) -> SignedRecord {
        let bytes = body.encode().unwrap();
        let id = RecordId::of_body(&bytes);
        SignedRecord::from_parts(bytes, signer.sign_record_id(&id))
    }

    #[test]
    fn time_going_backwards_is_rejected() {
        let farm = Signer::from_seed([1; 32]);
        let mut trust = TrustStore::new();
        let grant = KeyGrant::new(
            Text::new("farm").unwrap(),
            Role::Farm,
            Timestamp::from_millis(0),
        );
        trust.add(farm.public_key(), grant).unwrap();
        let pig: SubjectId = "eartag:161083000000042".parse().unwrap();
        // A weighing at `millis`, signed by the farm, as record `seq` after `prev`.
        let at = |after: Option<&SignedRecord>, millis| {
            let tip = after.map(|r| ChainTip::new(0, r.id(), Timestamp::from_millis(500), false));
            let body = RecordBody::new(
                pig.clone(),
                tip.as_ref(),
                Timestamp::from_millis(millis),
                farm.public_key(),
                Event::Weighing { grams: 1 },
            );
            signed(&farm, &body)
        };
        let r0 = at(None, 500);
        let r1 = at(Some(&r0), 499);
        let err = verify_chain(&trust, &Policy::livestock(), &pig, &[r0.clone(), r1]).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(
            err.reason,
            Reason::TimeWentBackwards {
                previous: Timestamp::from_millis(500),
                found: Timestamp::from_millis(499)
            }
        );
        let same = at(Some(&r0), 500);
        assert!(verify_chain(&trust, &Policy::livestock(), &pig, &[r0, same]).is_ok());
    }
}
