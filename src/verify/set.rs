//! Steps shared by every set verifier: grouping records into chains, gathering lineage
//! facts, and turning outcomes into a verified set or an error list.

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
/// compact copy), `None` when it did not decode. Both scans run over the chains in
/// parallel and keep (chain, position) order.
pub(crate) fn resolve_lineage<'a, L: Linked + Sync + 'a>(
    g: &Grouped,
    get: impl Fn(usize) -> Option<(&'a RecordId, &'a L)> + Sync,
    outcomes: &mut [ChainOutcome],
) {
    let children = scan(g, &get, |c, pos, i, id, body| {
        let refs = body.lineage();
        (!refs.is_empty()).then(|| Child {
            chain: c,
            pos,
            index: i,
            id: *id,
            subject: body.subject().clone(),
            time: body.time(),
            refs: refs.to_vec(),
        })
    });
    resolve_children(g, get, &children, outcomes);
}

/// The second half of [`resolve_lineage`], for callers that gathered the `children` (in
/// (chain, position) order) themselves: locates the referenced records and resolves.
pub(crate) fn resolve_children<'a, L: Linked + Sync + 'a>(
    g: &Grouped,
    get: impl Fn(usize) -> Option<(&'a RecordId, &'a L)> + Sync,
    children: &[Child],
    outcomes: &mut [ChainOutcome],
) {
    if children.is_empty() {
        return;
    }
    let wanted = lineage::referenced(children);
    let found = scan(g, &get, |c, pos, _, id, body| {
        wanted.contains(id).then(|| {
            let parent = Parent {
                chain: c,
                pos,
                subject: body.subject().clone(),
                time: body.time(),
            };
            (*id, parent)
        })
    });
    let mut parents: HashMap<RecordId, Parent> = HashMap::with_capacity(found.len());
    for (id, parent) in found {
        parents.entry(id).or_insert(parent);
    }
    lineage::resolve(outcomes, &parents, children);
}

/// What `pick(chain, pos, index, id, body)` keeps of every decoded record, in (chain,
/// position) order.
fn scan<'a, L: Linked + Sync + 'a, T: Send>(
    g: &Grouped,
    get: &(impl Fn(usize) -> Option<(&'a RecordId, &'a L)> + Sync),
    pick: impl Fn(usize, usize, usize, &RecordId, &L) -> Option<T> + Sync,
) -> Vec<T> {
    crate::par::flat_map(&g.chains, |c, idx| {
        let pick = &pick;
        idx.iter().enumerate().filter_map(move |(pos, &i)| {
            let (id, body) = get(i)?;
            pick(c, pos, i, id, body)
        })
    })
}

/// `Err` with the decode errors and the chains' errors, sorted by input index, when there
/// are any.
pub(crate) fn refuse_if_any(
    mut errors: Vec<VerifyError>,
    outcomes: Vec<ChainOutcome>,
) -> Result<(), VerifyErrors> {
    errors.extend(outcomes.into_iter().filter_map(|c| c.error));
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_key(|e| e.index);
    Err(VerifyErrors { errors })
}

/// Turns per-chain outcomes into the verified set, or the errors sorted by input index;
/// `take(i)` hands over record `i`'s ID and decoded body.
pub(crate) fn finish(
    g: Grouped,
    outcomes: Vec<ChainOutcome>,
    mut take: impl FnMut(usize) -> Decoded,
    records: &[SignedRecord],
    errors: Vec<VerifyError>,
) -> Result<VerifiedSet, VerifyErrors> {
    refuse_if_any(errors, outcomes)?;
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
