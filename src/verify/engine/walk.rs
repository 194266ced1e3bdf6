//! Placing judged records in their chains, in input order, and checking each against
//! its chain's tip.

use crate::hashers::FastMap;

use super::check;
use super::lineage::{ChainOutcome, Child};
use super::set::{self, Grouped};
use crate::error::VerifyError;
use crate::id::SubjectId;
use crate::record::ChainTip;

use super::{Fact, Judged, Part};

/// Each chain's progress, found by subject: what the in-memory walker and the streaming
/// state share.
///
/// Chains are found by the subject hash each [`Fact`] carries (computed in the parallel
/// pass under keys drawn for this verification, so crafted subjects cannot be made to
/// collide): `first` maps a hash to the newest chain with that hash, and chains with equal
/// hashes link to each other. No subject is hashed or copied to look a chain up.
#[derive(Default)]
pub(super) struct ChainWalks {
    pub(super) first: FastMap<u64, usize>,
    pub(super) walks: Vec<ChainWalk>,
}

/// One chain's progress: its subject, its tip, how many of its records were seen, and
/// where and why it failed (boxed, so a healthy chain costs a few dozen bytes).
pub(super) struct ChainWalk {
    pub(super) subject: SubjectId,
    /// The previous chain whose subject has the same hash.
    pub(super) same_hash: Option<usize>,
    pub(super) tip: Option<ChainTip>,
    pub(super) seen: usize,
    pub(super) failed: Option<Box<(usize, VerifyError)>>,
}

impl ChainWalks {
    /// The chain of `fact`'s subject, created on first sight (chains are numbered in order
    /// of first appearance).
    pub(super) fn chain(&mut self, fact: &Fact) -> usize {
        let newest = self.first.get(&fact.hash).copied();
        let mut at = newest;
        while let Some(c) = at {
            let walk = self.walks.get(c);
            if walk.is_none_or(|w| w.subject == fact.subject) {
                return c;
            }
            at = walk.and_then(|w| w.same_hash);
        }
        let c = self.walks.len();
        self.walks.push(ChainWalk {
            subject: fact.subject.clone(),
            same_hash: newest,
            tip: None,
            seen: 0,
            failed: None,
        });
        self.first.insert(fact.hash, c);
        c
    }

    /// Places input record `index` in its chain and, unless the chain already failed,
    /// checks it against the chain's tip: link checks, then the signer verdict, then the
    /// signature verdict; the first failure ends the chain, as in the reference verifier.
    /// Returns the chain and the record's position in it.
    pub(super) fn step(&mut self, index: usize, fact: &Fact) -> (usize, usize) {
        let c = self.chain(fact);
        let Some(walk) = self.walks.get_mut(c) else {
            return (c, 0);
        };
        let pos = walk.seen;
        walk.seen += 1;
        if walk.failed.is_none() {
            match check::link(&walk.subject, walk.tip.as_ref(), fact, &fact.id)
                .and_then(|()| fact.verdict())
            {
                Ok(()) => walk.tip = Some(check::advance(fact, fact.id)),
                Err(reason) => walk.failed = Some(Box::new((pos, fact.error(index, reason)))),
            }
        }
        (c, pos)
    }

    /// Every chain's outcome before the lineage pass, in chain order.
    pub(super) fn outcomes(&mut self) -> Vec<ChainOutcome> {
        self.walks
            .iter_mut()
            .map(|w| match w.failed.take() {
                Some(failed) => {
                    let (accepted, error) = *failed;
                    ChainOutcome {
                        accepted,
                        error: Some(error),
                    }
                }
                None => ChainOutcome {
                    accepted: w.seen,
                    error: None,
                },
            })
            .collect()
    }

    /// Each chain's subject and tip, in chain order.
    pub(super) fn into_tips(self) -> impl Iterator<Item = (SubjectId, Option<ChainTip>)> {
        self.walks.into_iter().map(|w| (w.subject, w.tip))
    }
}

/// The in-memory walk: judged records placed in their chains in input order (each chain's
/// input indexes, subjects in order of first appearance, as [`set::group`] orders them),
/// each chain checked as it grows, and the records that name lineage parents.
#[derive(Default)]
pub(super) struct Walker {
    pub(super) chains: ChainWalks,
    pub(super) indexes: Vec<Vec<usize>>,
    pub(super) children: Vec<Child>,
}

impl Walker {
    /// Walks the judged chunk whose first record has input index `base`.
    pub(super) fn walk(&mut self, base: usize, part: &Part) {
        for (k, fact) in part.facts.iter().enumerate() {
            let Some(fact) = fact else { continue };
            let index = base + k;
            let (c, pos) = self.chains.step(index, fact);
            if c == self.indexes.len() {
                self.indexes.push(Vec::new());
            }
            if let Some(idx) = self.indexes.get_mut(c) {
                idx.push(index);
            }
            self.children.extend(fact.child(c, pos, index));
        }
    }

    /// The chains, each chain's outcome after the lineage pass, and each chain's tip.
    pub(super) fn finish(
        mut self,
        judged: &Judged,
    ) -> (Grouped, Vec<ChainOutcome>, Vec<Option<ChainTip>>) {
        let mut outcomes = self.chains.outcomes();
        let (subjects, tips): (Vec<SubjectId>, Vec<Option<ChainTip>>) =
            self.chains.into_tips().unzip();
        let g = Grouped {
            subjects,
            chains: self.indexes,
        };
        self.children.sort_unstable_by_key(|c| (c.chain, c.pos));
        set::resolve_children(
            &g,
            |i| judged.fact(i).map(|f| (&f.id, f)),
            &self.children,
            &mut outcomes,
        );
        (g, outcomes, tips)
    }
}
