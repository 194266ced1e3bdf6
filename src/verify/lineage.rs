//! The lineage pass of set verification: every reference to another subject's record must
//! land in the verified part of that subject's chain.
//!
//! It works on compact facts (where each referenced record sits, which records hold
//! references) so that the in-memory engines and the streaming engine share it, and the
//! streaming one keeps only the referenced records in memory.

use std::collections::{HashMap, HashSet};

use crate::error::{Reason, VerifyError};
use crate::event::LineageRef;
use crate::id::SubjectId;
use crate::record::RecordId;
use crate::time::Timestamp;

/// Where a referenced record sits: its chain, its position there, its subject and time.
pub(crate) struct Parent {
    pub(crate) chain: usize,
    pub(crate) pos: usize,
    pub(crate) subject: SubjectId,
    pub(crate) time: Timestamp,
}

/// A record that names lineage parents.
pub(crate) struct Child {
    pub(crate) chain: usize,
    pub(crate) pos: usize,
    pub(crate) index: usize,
    pub(crate) id: RecordId,
    pub(crate) subject: SubjectId,
    pub(crate) time: Timestamp,
    pub(crate) refs: Vec<LineageRef>,
}

/// Per-chain outcome: how many leading records are accepted, and why the next one is not.
pub(crate) struct ChainOutcome {
    pub(crate) accepted: usize,
    pub(crate) error: Option<VerifyError>,
}

/// The record IDs that some child references: the only records the pass must locate.
pub(crate) fn referenced(children: &[Child]) -> HashSet<RecordId> {
    children
        .iter()
        .flat_map(|c| c.refs.iter().map(|r| r.record))
        .collect()
}

/// Shrinks each chain's accepted prefix until every lineage reference in it resolves to an
/// accepted record of the named subject, dated no later than the child.
///
/// `children` must be in (chain, pos) order. Prefixes only shrink, so this reaches the
/// unique largest consistent state whatever the visiting order; reasons are then computed
/// against that final state.
pub(crate) fn resolve(
    chains: &mut [ChainOutcome],
    parents: &HashMap<RecordId, Parent>,
    children: &[Child],
) {
    debug_assert!(
        children
            .windows(2)
            .all(|w| (w[0].chain, w[0].pos) <= (w[1].chain, w[1].pos))
    );
    let mut failed_at: Vec<Option<usize>> = vec![None; chains.len()];
    loop {
        let mut changed = false;
        for (k, child) in children.iter().enumerate() {
            if child.pos < chains[child.chain].accepted
                && first_failure(chains, parents, child).is_some()
            {
                chains[child.chain].accepted = child.pos;
                failed_at[child.chain] = Some(k);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (c, k) in failed_at.iter().enumerate() {
        let Some(child) = k.map(|k| &children[k]) else {
            continue;
        };
        if let Some(reason) = first_failure(chains, parents, child) {
            chains[c].error = Some(VerifyError {
                index: child.index,
                subject: Some(child.subject.clone()),
                record: Some(child.id),
                reason,
            });
        }
    }
}

/// The first lineage reference of `child` that does not resolve, and why.
fn first_failure(
    chains: &[ChainOutcome],
    parents: &HashMap<RecordId, Parent>,
    child: &Child,
) -> Option<Reason> {
    child.refs.iter().find_map(|r| {
        let Some(p) = parents.get(&r.record) else {
            return Some(Reason::MissingParent {
                subject: r.subject.clone(),
                parent: r.record,
            });
        };
        if p.subject != r.subject {
            Some(Reason::ParentSubjectMismatch {
                claimed: r.subject.clone(),
                actual: p.subject.clone(),
                parent: r.record,
            })
        } else if p.pos >= chains[p.chain].accepted {
            Some(Reason::ParentNotVerified {
                subject: r.subject.clone(),
                parent: r.record,
            })
        } else if p.time > child.time {
            Some(Reason::ParentAfterChild { parent: r.record })
        } else {
            None
        }
    })
}
