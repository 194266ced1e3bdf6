//! Steps shared by every set verifier: grouping records into chains, gathering lineage
//! facts, and turning outcomes into a witness or an error list.

use std::collections::HashMap;

use super::check::Linked;
use super::lineage::{self, ChainOutcome, Child, Parent};
use super::{VerifiedChain, VerifiedRecord, VerifiedSet};
use crate::error::{VerifyError, VerifyErrors};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};

/// A decoded record (its ID and body), or `None` when it did not decode.
pub(crate) type Decoded = Option<(RecordId, RecordBody)>;

/// Records grouped by subject, each chain's input indexes in input order.
pub(crate) struct Grouped {
    pub(crate) subjects: Vec<SubjectId>,
    pub(crate) chains: Vec<Vec<usize>>,
}

/// Groups records by subject, chains in order of first appearance; `subjects` yields each
/// record's subject in input order (`None` for a record that did not decode).
pub(crate) fn group<'a>(subjects: impl Iterator<Item = Option<&'a SubjectId>>) -> Grouped {
    let mut slot: HashMap<&SubjectId, usize> = HashMap::new();
    let mut g = Grouped {
        subjects: Vec::new(),
        chains: Vec::new(),
    };
    for (i, subject) in subjects.enumerate() {
        let Some(subject) = subject else { continue };
        let c = *slot.entry(subject).or_insert_with(|| {
            g.subjects.push(subject.clone());
            g.chains.push(Vec::new());
            g.chains.len() - 1
        });
        g.chains[c].push(i);
    }
    g
}

/// Runs the lineage pass over grouped records; `get(i)` is record `i`'s ID and body (or
/// compact copy), `None` when it did not decode.
pub(crate) fn resolve_lineage<'a, L: Linked + 'a>(
    g: &Grouped,
    get: impl Fn(usize) -> Option<(&'a RecordId, &'a L)>,
    outcomes: &mut [ChainOutcome],
) {
    let mut children = Vec::new();
    for (c, idx) in g.chains.iter().enumerate() {
        for (pos, &i) in idx.iter().enumerate() {
            let Some((id, body)) = get(i) else {
                continue;
            };
            let refs = body.lineage();
            if !refs.is_empty() {
                children.push(Child {
                    chain: c,
                    pos,
                    index: i,
                    id: *id,
                    subject: body.subject().clone(),
                    time: body.time(),
                    refs: refs.to_vec(),
                });
            }
        }
    }
    if children.is_empty() {
        return;
    }
    let wanted = lineage::referenced(&children);
    let mut parents: HashMap<RecordId, Parent> = HashMap::new();
    for (c, idx) in g.chains.iter().enumerate() {
        for (pos, &i) in idx.iter().enumerate() {
            let Some((id, body)) = get(i) else {
                continue;
            };
            if wanted.contains(id) {
                parents.entry(*id).or_insert_with(|| Parent {
                    chain: c,
                    pos,
                    subject: body.subject().clone(),
                    time: body.time(),
                });
            }
        }
    }
    lineage::resolve(outcomes, &parents, &children);
}

/// Turns per-chain outcomes into the witness, or the errors sorted by input index;
/// `take(i)` hands over record `i`'s ID and decoded body.
pub(crate) fn finish(
    g: Grouped,
    outcomes: Vec<ChainOutcome>,
    mut take: impl FnMut(usize) -> Decoded,
    records: &[SignedRecord],
    mut errors: Vec<VerifyError>,
) -> Result<VerifiedSet, VerifyErrors> {
    errors.extend(outcomes.into_iter().filter_map(|c| c.error));
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.index);
        return Err(VerifyErrors { errors });
    }
    let chains = g
        .subjects
        .into_iter()
        .zip(g.chains)
        .map(|(subject, idx)| {
            let records = idx
                .iter()
                .filter_map(|&i| {
                    take(i).map(|(id, body)| VerifiedRecord {
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
