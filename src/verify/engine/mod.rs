//! The fast path: parallel decode and hash, batched signature verification with same-key
//! coalescing, and a streaming mode whose memory is bounded by the number of chains.
//!
//! Every path here returns exactly what the reference verifier returns for the same input;
//! `tests/engine.rs` checks that on random mixes of valid and corrupted records.
//!
//! The parts: the API and its settings (here), judging chunks of records (`judge.rs`, with
//! the compact facts it keeps in `fact.rs`), placing judged records in their chains
//! (`walk.rs`), and streaming block by block (`stream.rs`).

mod fact;
mod judge;
mod stream;
mod walk;

use fact::{Fact, Judged, Part, Verdict};
use walk::{ChainWalks, Walker};

use super::check;
use super::lineage::{self};
use super::set::{self};
use super::sig;
use super::{VerifiedLedger, VerifiedSet};
use crate::error::{StreamError, VerifyErrors};
use crate::par;
use crate::record::SignedRecord;
use crate::trust::{Policy, TrustStore};

/// Default number of signatures per batch.
pub const DEFAULT_CHUNK_SIZE: usize = 2048;

/// Default number of records read and checked together by [`LedgerVerifier::verify_stream`].
pub const DEFAULT_BLOCK_SIZE: usize = 4096;

/// Most rejected records a stream verification lists (the total is always counted).
pub const MAX_LISTED_ERRORS: usize = 10_000;

/// Verifies whole ledgers quickly: many subjects, all cores, batched signatures.
///
/// Gives the same verdict, record for record and reason for reason, as
/// [`Verifier::verify_set`](crate::Verifier::verify_set), whatever the thread count,
/// chunk size or block size.
///
/// # Example
/// ```
/// use agritrace::*;
/// let device = Signer::from_seed([4; 32]);
/// let mut trust = TrustStore::new();
/// trust.add(device.public_key(), KeyGrant::new(Text::new("gateway")?, Role::Device, Timestamp::from_millis(0)))?;
/// let mut records = Vec::new();
/// for serial in 1..=3 {
///     let pig = SubjectId::EarTag(EarTag::new(Species::Pig, 610_830, serial)?);
///     let mut chain = Chain::new(pig);
///     for g in [1_200, 1_900] {
///         records.push(chain.append(&device, Timestamp::from_millis(g.into()), Event::Weighing { grams: g })?);
///     }
/// }
/// let policy = Policy::livestock();
/// let ledger = LedgerVerifier::new(&trust, &policy).threads(2).verify(&records)?;
/// assert_eq!((ledger.tips().len(), ledger.records()), (3, 6));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LedgerVerifier<'a> {
    trust: &'a TrustStore,
    policy: &'a Policy,
    threads: Option<usize>,
    chunk: usize,
    block: usize,
}

impl<'a> LedgerVerifier<'a> {
    /// A verifier on all cores with the default chunk and block sizes.
    #[must_use]
    pub fn new(trust: &'a TrustStore, policy: &'a Policy) -> Self {
        Self {
            trust,
            policy,
            threads: None,
            chunk: DEFAULT_CHUNK_SIZE,
            block: DEFAULT_BLOCK_SIZE,
        }
    }

    /// Judges records on exactly `n` worker threads (at least 1) instead of rayon's global
    /// pool. The chains are walked alongside the judging: in memory by one more thread when
    /// `n` is 2 or more, and when streaming by the calling thread, which also reads the
    /// source. The walk takes a few percent of one core.
    ///
    /// Called from inside a rayon worker (a verifier run from a parallel iterator), the
    /// verifier runs in that worker's pool instead: installing into a second pool from a
    /// worker nests without bound. The verdict never depends on the thread count.
    #[must_use]
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// Signatures per batch (at least 1).
    #[must_use]
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk = n.max(1);
        self
    }

    /// Records per block in streaming mode (at least 1): memory grows with it.
    #[must_use]
    pub fn block_size(mut self, n: usize) -> Self {
        self.block = n.max(1);
        self
    }

    /// Verifies records held in memory — many chains, lineage included — and returns a
    /// summary (a [`VerifiedLedger`]: record count and chain tips). The fastest path: decoded bodies are
    /// dropped as soon as their checks are done.
    ///
    /// # Errors
    /// The same [`VerifyErrors`] as [`Verifier::verify_set`](crate::Verifier::verify_set).
    pub fn verify(&self, records: &[SignedRecord]) -> Result<VerifiedLedger, VerifyErrors> {
        par::run(self.pool().as_ref(), || {
            let (mut judged, walker) = self.judge_walked(records, false);
            let (g, outcomes, tips) = walker.finish(&judged);
            set::refuse_if_any(judged.take_decode_errors(), outcomes)?;
            let tips = g
                .subjects
                .into_iter()
                .zip(tips)
                .filter_map(|(subject, tip)| tip.map(|t| (subject, (t.seq, t.id))))
                .collect();
            Ok(VerifiedLedger {
                records: records.len() as u64,
                tips,
            })
        })
    }

    /// Verifies records held in memory like [`LedgerVerifier::verify`], and keeps every
    /// decoded record in the [`VerifiedSet`], chain by chain.
    ///
    /// # Errors
    /// The same [`VerifyErrors`] as [`Verifier::verify_set`](crate::Verifier::verify_set).
    pub fn verify_set(&self, records: &[SignedRecord]) -> Result<VerifiedSet, VerifyErrors> {
        par::run(self.pool().as_ref(), || {
            let (mut judged, walker) = self.judge_walked(records, true);
            let (g, outcomes, _) = walker.finish(&judged);
            let errors = judged.take_decode_errors();
            set::finish(g, outcomes, |i| judged.take(i), records, errors)
        })
    }

    /// Verifies a ledger streamed from `open` in bounded memory: `open` is called twice (a
    /// first pass finds which records lineage references point at, the second verifies),
    /// and each pass must yield the same records in the same order.
    ///
    /// The source is read on the calling thread, one block ahead of the block being
    /// judged, so a slow source (a disk, a database) overlaps the signature work. Memory is
    /// bounded by the number of chains and lineage references and three blocks, not the
    /// number of records. Lists at most [`MAX_LISTED_ERRORS`] rejected records.
    ///
    /// # Errors
    /// [`StreamError::Source`] when `open` or the iterator fails, or the second pass differs
    /// from the first; [`StreamError::Rejected`] with the same errors (by input index) as
    /// [`Verifier::verify_set`](crate::Verifier::verify_set) on the whole ledger.
    ///
    /// # Example
    /// ```
    /// use agritrace::*;
    /// let farm = Signer::from_seed([1; 32]);
    /// let mut trust = TrustStore::new();
    /// trust.add(farm.public_key(), KeyGrant::new(Text::new("farm")?, Role::Farm, Timestamp::from_millis(0)))?;
    /// let mut chain = Chain::new("eartag:161083000000042".parse()?);
    /// let records = vec![chain.append(&farm, Timestamp::from_millis(5), Event::Weighing { grams: 1_300 })?];
    /// let mut file = Vec::new();
    /// write_ledger(&mut file, &records)?;
    ///
    /// let policy = Policy::livestock();
    /// let ledger = LedgerVerifier::new(&trust, &policy).verify_stream(|| LedgerReader::new(file.as_slice()))?;
    /// assert_eq!(ledger.records(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_stream<I, E, S, F>(&self, mut open: F) -> Result<VerifiedLedger, StreamError>
    where
        F: FnMut() -> Result<I, S>,
        I: Iterator<Item = Result<SignedRecord, E>>,
        E: std::error::Error + Send + Sync + 'static,
        S: std::error::Error + Send + Sync + 'static,
    {
        let source = |e: Box<dyn std::error::Error + Send + Sync>| StreamError::Source(e);
        let first = open().map_err(|e| source(Box::new(e)))?;
        let pool = self.pool();
        let (wanted, count) = self.referenced(first, pool.as_ref())?;
        let second = open().map_err(|e| source(Box::new(e)))?;
        let ledger = self.stream_pass(second, &wanted, pool.as_ref())?;
        if ledger.records != count {
            return Err(StreamError::Source(
                "the second pass yielded a different number of records".into(),
            ));
        }
        ledger.finish()
    }

    /// A dedicated pool when a thread count was set (falling back to the global pool if the
    /// operating system refuses the threads).
    fn pool(&self) -> Option<par::Pool> {
        par::build(self.threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::RandomState;

    use crate::event::Event;
    use crate::id::SubjectId;
    use crate::record::RecordBody;
    use crate::time::Timestamp;
    use crate::{Chain, Signer};

    #[test]
    fn subjects_with_equal_hashes_keep_their_own_chains() {
        let s = Signer::from_seed([9; 32]);
        let keys = RandomState::new();
        let mut facts = Vec::new();
        for t in 0..3 {
            for serial in [41, 42, 43] {
                let mut chain =
                    Chain::new(format!("eartag:1610830000000{serial}").parse().unwrap());
                let mut records = Vec::new();
                for g in 0..=t {
                    let e = Event::Weighing { grams: 10 + g };
                    records.push(
                        chain
                            .append(&s, Timestamp::from_millis(g.into()), e)
                            .unwrap(),
                    );
                }
                let r = records.pop().unwrap();
                let body = RecordBody::decode(r.body()).unwrap();
                let mut fact = Fact::new(r.id(), &body, Verdict::Good, &keys);
                // Force every subject onto one hash: lookups must compare subjects.
                fact.hash = 7;
                facts.push(fact);
            }
        }
        let mut walks = ChainWalks::default();
        let placed: Vec<(usize, usize)> = facts
            .iter()
            .enumerate()
            .map(|(i, f)| walks.step(i, f))
            .collect();
        assert_eq!(
            placed,
            [
                (0, 0),
                (1, 0),
                (2, 0),
                (0, 1),
                (1, 1),
                (2, 1),
                (0, 2),
                (1, 2),
                (2, 2)
            ]
        );
        let outcomes = walks.outcomes();
        assert!(
            outcomes
                .iter()
                .all(|o| o.accepted == 3 && o.error.is_none())
        );
        let tips: Vec<(SubjectId, Option<u64>)> = walks
            .into_tips()
            .map(|(s, t)| (s, t.map(|t| t.seq)))
            .collect();
        assert_eq!(tips.len(), 3);
        assert!(tips.iter().all(|(_, seq)| *seq == Some(2)));
        assert_ne!(tips[0].0, tips[1].0);
    }
}
