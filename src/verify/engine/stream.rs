//! Streaming: two passes over a source, block by block, in memory bounded by the chains
//! and lineage references.

use std::collections::{HashMap, HashSet};
use std::hash::RandomState;

use super::VerifiedLedger;
use super::lineage::{self, Child, Parent};
use crate::error::{StreamError, VerifyError, VerifyErrors};
use crate::par;
use crate::record::{RecordBody, RecordId, SignedRecord};

use super::{ChainWalks, Fact, LedgerVerifier, MAX_LISTED_ERRORS};

impl LedgerVerifier<'_> {
    /// First streaming pass: the IDs lineage references point at, and the record count.
    pub(super) fn referenced<I, E>(
        &self,
        source: I,
        pool: Option<&par::Pool>,
    ) -> Result<(HashSet<RecordId>, u64), StreamError>
    where
        I: Iterator<Item = Result<SignedRecord, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut wanted = HashSet::new();
        let blocks = Blocks {
            source,
            size: self.block,
        };
        let count = blocks.pipeline(
            pool,
            |block, _| {
                par::filter_map(block, |r| {
                    let body = RecordBody::decode(r.body()).ok()?;
                    let refs = body.event().lineage();
                    (!refs.is_empty()).then(|| refs.iter().map(|l| l.record).collect::<Vec<_>>())
                })
            },
            |_, refs| wanted.extend(refs.into_iter().flatten()),
        )?;
        Ok((wanted, count))
    }

    /// Second streaming pass: full verification, block by block.
    pub(super) fn stream_pass<I, E>(
        &self,
        source: I,
        wanted: &HashSet<RecordId>,
        pool: Option<&par::Pool>,
    ) -> Result<StreamState, StreamError>
    where
        I: Iterator<Item = Result<SignedRecord, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut st = StreamState::default();
        let keys = RandomState::new();
        let blocks = Blocks {
            source,
            size: self.block,
        };
        let chunk = self.chunk;
        st.records = blocks.pipeline(
            pool,
            |block, base| self.judge_parts(block, base, false, &keys),
            |base, parts| {
                for (c, part) in parts.into_iter().enumerate() {
                    st.note_decode_errors(part.errors);
                    for (k, fact) in part.facts.iter().enumerate() {
                        if let Some(fact) = fact {
                            st.walk(base + c * chunk + k, fact, wanted);
                        }
                    }
                }
            },
        )?;
        Ok(st)
    }
}

/// Reads a fallible record iterator in blocks.
pub(super) struct Blocks<I> {
    pub(super) source: I,
    pub(super) size: usize,
}

impl<I, E> Blocks<I>
where
    I: Iterator<Item = Result<SignedRecord, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    /// Runs `work(block, base)` on every block in `pool` (`base` is the input index of the
    /// block's first record) and hands each result to `consume(base, result)`, in order.
    /// While a block is worked on, this thread reads the next one and consumes the previous
    /// result, so reading and consuming overlap the work; the source itself never leaves
    /// this thread. Returns the number of records read.
    pub(super) fn pipeline<T: Send>(
        mut self,
        pool: Option<&par::Pool>,
        work: impl Fn(&[SignedRecord], usize) -> T + Sync,
        mut consume: impl FnMut(usize, T),
    ) -> Result<u64, StreamError> {
        let mut read = 0usize;
        let mut pending: Option<(usize, T)> = None;
        let mut next = self.next_block()?;
        while let Some(block) = next {
            let base = read;
            let (done, following) = par::overlap(
                pool,
                || work(&block, base),
                || {
                    if let Some((b, t)) = pending.take() {
                        consume(b, t);
                    }
                    self.next_block()
                },
            );
            read = read.saturating_add(block.len());
            pending = Some((base, done));
            next = following?;
        }
        if let Some((b, t)) = pending {
            consume(b, t);
        }
        Ok(read as u64)
    }

    pub(super) fn next_block(&mut self) -> Result<Option<Vec<SignedRecord>>, StreamError> {
        let mut block = Vec::with_capacity(self.size);
        for item in self.source.by_ref() {
            block.push(item.map_err(|e| StreamError::Source(Box::new(e)))?);
            if block.len() == self.size {
                break;
            }
        }
        Ok((!block.is_empty()).then_some(block))
    }
}

#[derive(Default)]
pub(super) struct StreamState {
    pub(super) records: u64,
    pub(super) chains: ChainWalks,
    pub(super) parents: HashMap<RecordId, Parent>,
    pub(super) children: Vec<Child>,
    pub(super) decode_errors: Vec<VerifyError>,
    pub(super) omitted: usize,
}

impl StreamState {
    /// Walks the stream's record `index` in its chain (see [`ChainWalks::step`]) and notes
    /// its lineage facts.
    pub(super) fn walk(&mut self, index: usize, fact: &Fact, wanted: &HashSet<RecordId>) {
        let (c, pos) = self.chains.step(index, fact);
        if wanted.contains(&fact.id) && !self.parents.contains_key(&fact.id) {
            let parent = Parent {
                chain: c,
                pos,
                subject: fact.subject.clone(),
                time: fact.time,
            };
            self.parents.insert(fact.id, parent);
        }
        self.children.extend(fact.child(c, pos, index));
    }

    pub(super) fn note_decode_errors(&mut self, errors: Vec<VerifyError>) {
        for e in errors {
            if self.decode_errors.len() < MAX_LISTED_ERRORS {
                self.decode_errors.push(e);
            } else {
                self.omitted += 1;
            }
        }
    }

    pub(super) fn finish(mut self) -> Result<VerifiedLedger, StreamError> {
        let mut outcomes = self.chains.outcomes();
        self.children.sort_by_key(|c| (c.chain, c.pos));
        lineage::resolve(&mut outcomes, &self.parents, &self.children);
        let mut errors = self.decode_errors;
        errors.extend(outcomes.into_iter().filter_map(|o| o.error));
        if errors.is_empty() {
            let tips = self
                .chains
                .into_tips()
                .filter_map(|(subject, tip)| tip.map(|t| (subject, (t.seq, t.id))))
                .collect();
            return Ok(VerifiedLedger {
                records: self.records,
                tips,
            });
        }
        errors.sort_by_key(|e| e.index);
        let total = errors.len() + self.omitted;
        errors.truncate(MAX_LISTED_ERRORS);
        Err(StreamError::Rejected {
            errors: VerifyErrors { errors },
            total,
        })
    }
}
