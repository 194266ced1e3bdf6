//! The lineage pass of set verification: every reference to another subject's record must
//! land in the verified part of that subject's chain.

use std::collections::HashMap;

use crate::error::{Reason, VerifyError};
use crate::record::{RecordBody, RecordId};

/// One chain of a set under verification.
pub(crate) struct ChainState {
    /// Input indexes of the chain's records, in order.
    pub(crate) indexes: Vec<usize>,
    /// How many leading records passed every check so far.
    pub(crate) accepted: usize,
    /// Why record `accepted` was rejected, if one was.
    pub(crate) error: Option<VerifyError>,
}

/// Shrinks each chain's accepted prefix until every lineage reference in it resolves to an
/// accepted record of the named subject, dated no later than the child.
///
/// Prefixes only shrink, so this reaches the unique largest consistent state whatever order
/// chains are visited in; reasons are computed against that final state.
pub(crate) fn resolve(chains: &mut [ChainState], bodies: &[Option<(RecordId, RecordBody)>]) {
    let mut at: HashMap<RecordId, (usize, usize)> = HashMap::new();
    for (c, chain) in chains.iter().enumerate() {
        for (pos, &i) in chain.indexes.iter().enumerate() {
            if let Some((id, _)) = &bodies[i] {
                at.entry(*id).or_insert((c, pos));
            }
        }
    }
    let has_lineage = |i: usize| {
        bodies[i]
            .as_ref()
            .is_some_and(|(_, b)| !b.event().lineage().is_empty())
    };
    let mut lineage_failed = vec![false; chains.len()];
    loop {
        let mut changed = false;
        for c in 0..chains.len() {
            let accepted = chains[c].accepted;
            for pos in 0..accepted {
                let i = chains[c].indexes[pos];
                if has_lineage(i) && first_failure(chains, bodies, &at, i).is_some() {
                    chains[c].accepted = pos;
                    lineage_failed[c] = true;
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for c in 0..chains.len() {
        if !lineage_failed[c] {
            continue;
        }
        let i = chains[c].indexes[chains[c].accepted];
        if let (Some(reason), Some((id, body))) =
            (first_failure(chains, bodies, &at, i), &bodies[i])
        {
            chains[c].error = Some(VerifyError {
                index: i,
                subject: Some(body.subject().clone()),
                record: Some(*id),
                reason,
            });
        }
    }
}

/// The first lineage reference of record `i` that does not resolve, and why.
fn first_failure(
    chains: &[ChainState],
    bodies: &[Option<(RecordId, RecordBody)>],
    at: &HashMap<RecordId, (usize, usize)>,
    i: usize,
) -> Option<Reason> {
    let (_, body) = bodies[i].as_ref()?;
    body.event().lineage().iter().find_map(|r| {
        let Some(&(pc, ppos)) = at.get(&r.record) else {
            return Some(Reason::MissingParent {
                subject: r.subject.clone(),
                parent: r.record,
            });
        };
        let (_, parent) = bodies[chains[pc].indexes[ppos]].as_ref()?;
        if parent.subject() != &r.subject {
            Some(Reason::ParentSubjectMismatch {
                claimed: r.subject.clone(),
                actual: parent.subject().clone(),
                parent: r.record,
            })
        } else if ppos >= chains[pc].accepted {
            Some(Reason::ParentNotVerified {
                subject: r.subject.clone(),
                parent: r.record,
            })
        } else if parent.time() > body.time() {
            Some(Reason::ParentAfterChild { parent: r.record })
        } else {
            None
        }
    })
}
