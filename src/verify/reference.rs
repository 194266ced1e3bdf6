//! The reference verifier: straightforward, one record and one signature at a time. It is
//! the oracle every faster path is tested against.

use std::collections::BTreeMap;

use super::lineage::{self, ChainState};
use super::{VerifiedChain, VerifiedRecord, VerifiedSet, check, sig};
use crate::chain::Tip;
use crate::error::{Reason, VerifyError, VerifyErrors};
use crate::id::SubjectId;
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
    let mut tip: Option<Tip> = None;
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
    tip: Option<&Tip>,
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
    let mut bodies: Vec<Option<(RecordId, RecordBody)>> = Vec::with_capacity(records.len());
    let mut by_subject: BTreeMap<SubjectId, Vec<usize>> = BTreeMap::new();
    for (index, rec) in records.iter().enumerate() {
        let id = rec.id();
        match RecordBody::decode(rec.body()) {
            Ok(body) => {
                by_subject
                    .entry(body.subject().clone())
                    .or_default()
                    .push(index);
                bodies.push(Some((id, body)));
            }
            Err(e) => {
                errors.push(VerifyError {
                    index,
                    subject: None,
                    record: Some(id),
                    reason: e.into(),
                });
                bodies.push(None);
            }
        }
    }
    let subjects: Vec<SubjectId> = by_subject.keys().cloned().collect();
    let mut chains: Vec<ChainState> = by_subject
        .into_iter()
        .map(|(subject, indexes)| {
            let mut tip: Option<Tip> = None;
            let mut state = ChainState {
                accepted: indexes.len(),
                indexes,
                error: None,
            };
            for (pos, &i) in state.indexes.iter().enumerate() {
                let Some((id, body)) = &bodies[i] else {
                    continue;
                };
                if let Err(reason) =
                    check_record(trust, policy, &subject, tip.as_ref(), body, id, &records[i])
                {
                    state.accepted = pos;
                    state.error = Some(VerifyError {
                        index: i,
                        subject: Some(subject.clone()),
                        record: Some(*id),
                        reason,
                    });
                    break;
                }
                tip = Some(check::advance(body, *id));
            }
            state
        })
        .collect();
    lineage::resolve(&mut chains, &bodies);
    finish(subjects, chains, bodies, records, errors)
}

/// Turns the per-chain outcome into the witness or the sorted error list.
pub(super) fn finish(
    subjects: Vec<SubjectId>,
    chains: Vec<ChainState>,
    mut bodies: Vec<Option<(RecordId, RecordBody)>>,
    records: &[SignedRecord],
    mut errors: Vec<VerifyError>,
) -> Result<VerifiedSet, VerifyErrors> {
    errors.extend(chains.iter().filter_map(|c| c.error.clone()));
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.index);
        return Err(VerifyErrors { errors });
    }
    let chains = subjects
        .into_iter()
        .zip(chains)
        .map(|(subject, state)| {
            let records = state
                .indexes
                .iter()
                .filter_map(|&i| {
                    bodies[i].take().map(|(id, body)| VerifiedRecord {
                        id,
                        body,
                        signature: *records[i].signature(),
                    })
                })
                .collect();
            (subject.clone(), VerifiedChain { subject, records })
        })
        .collect();
    Ok(VerifiedSet { chains })
}
