//! The fast path: parallel decode and hash, batched signature verification with same-key
//! coalescing, and a streaming mode whose memory is bounded by the number of chains.
//!
//! Every path here returns exactly what the reference verifier returns for the same input;
//! `tests/engine.rs` checks that on random mixes of valid and corrupted records.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
#[cfg(feature = "native")]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "native")]
use std::sync::mpsc;

use super::check::{self, Linked};
use super::lineage::{self, ChainOutcome, Child, Parent};
use super::set::{self, Decoded, Grouped};
use super::sig;
use super::{VerifiedLedger, VerifiedSet};
use crate::chain::ChainTip;
use crate::error::{Reason, StreamError, VerifyError, VerifyErrors};
use crate::event::LineageRef;
use crate::id::SubjectId;
use crate::par;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::time::Timestamp;
use crate::trust::{Policy, TrustStore, TrustedKey};
use ed25519_zebra::batch;

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
/// assert_eq!((ledger.chains(), ledger.records()), (3, 6));
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
    /// summary witness (record count and chain tips). The fastest path: decoded bodies are
    /// dropped as soon as their checks are done.
    ///
    /// # Errors
    /// The same [`VerifyErrors`] as [`Verifier::verify_set`](crate::Verifier::verify_set).
    pub fn verify(&self, records: &[SignedRecord]) -> Result<VerifiedLedger, VerifyErrors> {
        par::run(self.pool().as_ref(), || {
            let (mut judged, walker) = self.judge_walked(records, false);
            let (g, outcomes, tips) = walker.finish(&judged);
            let mut errors = judged.take_decode_errors();
            errors.extend(outcomes.into_iter().filter_map(|o| o.error));
            if !errors.is_empty() {
                errors.sort_by_key(|e| e.index);
                return Err(VerifyErrors { errors });
            }
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
    /// decoded record in the witness, chain by chain.
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

    /// Checks every record on its own — hash, decode, signer, signature — in chunks of the
    /// batch size on every thread of the pool, while one more thread places the judged
    /// records in their chains and walks them in input order; `keep` keeps the decoded
    /// bodies. Chunks are taken in order, so the walk trails the judging closely and little
    /// of it is left when the last chunk is judged.
    ///
    /// With one thread (or one chunk, or when no thread can be started) the same steps run
    /// chunk after chunk on the calling thread.
    fn judge_walked(&self, records: &[SignedRecord], keep: bool) -> (Judged, Walker) {
        let keys = RandomState::new();
        let size = self.chunk;
        let count = records.len().div_ceil(size);
        let judge = |c: usize| {
            let chunk = records.get(c * size..).unwrap_or_default();
            let chunk = chunk.get(..size).unwrap_or(chunk);
            self.judge_chunk(c * size, chunk, keep, &keys)
        };
        if par::threads() <= 1 || count <= 1 {
            return Self::judge_walked_here(size, count, &judge);
        }
        #[cfg(feature = "native")]
        return Self::judge_walked_in_parallel(size, count, &judge);
        #[cfg(not(feature = "native"))]
        Self::judge_walked_here(size, count, &judge)
    }

    /// [`Self::judge_walked`] chunk after chunk on the calling thread: `judge(c)` judges
    /// chunk `c` of `count` chunks of `size` records.
    fn judge_walked_here(
        size: usize,
        count: usize,
        judge: &dyn Fn(usize) -> Part,
    ) -> (Judged, Walker) {
        let mut walker = Walker::default();
        let mut parts = Vec::with_capacity(count);
        for c in 0..count {
            let part = judge(c);
            walker.walk(c * size, &part);
            parts.push(part);
        }
        (Judged { size, parts }, walker)
    }

    /// [`Self::judge_walked`] on every thread of the pool, with the walk on one more thread;
    /// on the calling thread when that thread cannot be started.
    #[cfg(feature = "native")]
    fn judge_walked_in_parallel(
        size: usize,
        count: usize,
        judge: &(dyn Fn(usize) -> Part + Sync),
    ) -> (Judged, Walker) {
        use rayon::prelude::*;
        let threads = par::threads();
        let (tx, rx) = mpsc::channel::<(usize, Part)>();
        std::thread::scope(|scope| {
            let walking = std::thread::Builder::new()
                .name("agritrace-walk".into())
                .spawn_scoped(scope, move || {
                    let mut walker = Walker::default();
                    let mut parts: Vec<Option<Part>> = (0..count).map(|_| None).collect();
                    let mut next = 0;
                    for (c, part) in rx {
                        if let Some(slot) = parts.get_mut(c) {
                            *slot = Some(part);
                        }
                        while let Some(Some(part)) = parts.get(next) {
                            walker.walk(next * size, part);
                            next += 1;
                        }
                    }
                    let parts = parts.into_iter().flatten().collect();
                    (Judged { size, parts }, walker)
                });
            let Ok(walking) = walking else {
                return Self::judge_walked_here(size, count, judge);
            };
            let taken = AtomicUsize::new(0);
            (0..threads).into_par_iter().for_each_with(tx, |tx, _| {
                loop {
                    let c = taken.fetch_add(1, Ordering::Relaxed);
                    if c >= count {
                        break;
                    }
                    // Only fails if the walker is gone, which `join` reports below.
                    let _ = tx.send((c, judge(c)));
                }
            });
            walking
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// [`Self::judge_chunk`] over `records` in parallel; `base` is the input index of
    /// `records[0]`, `keys` the hash keys of this verification.
    fn judge_parts(
        &self,
        records: &[SignedRecord],
        base: usize,
        keep: bool,
        keys: &RandomState,
    ) -> Vec<Part> {
        par::map_chunks(records, self.chunk, |c, chunk| {
            self.judge_chunk(base + c * self.chunk, chunk, keep, keys)
        })
    }

    /// One chunk, while its bytes are in cache: each record is hashed, decoded and checked
    /// against the trust store, then the chunk's signatures are verified as one batch
    /// (split until every bad one is found). `base` is the input index of `records[0]`.
    fn judge_chunk(
        &self,
        base: usize,
        records: &[SignedRecord],
        keep: bool,
        keys: &RandomState,
    ) -> Part {
        let mut part = Part {
            facts: Vec::with_capacity(records.len()),
            bodies: Vec::with_capacity(if keep { records.len() } else { 0 }),
            errors: Vec::new(),
        };
        // Signatures go straight into the batch (as the raw bound queues them); the items are
        // rebuilt only when the batch fails and the bad ones must be found.
        let mut batch = batch::Verifier::new();
        let mut jobs: Vec<(usize, &TrustedKey, RecordId)> = Vec::with_capacity(records.len());
        for (k, r) in records.iter().enumerate() {
            let id = r.id();
            let body = match RecordBody::decode(r.body()) {
                Ok(body) => body,
                Err(e) => {
                    part.errors.push(VerifyError {
                        index: base + k,
                        subject: None,
                        record: Some(id),
                        reason: e.into(),
                    });
                    part.facts.push(None);
                    if keep {
                        part.bodies.push(None);
                    }
                    continue;
                }
            };
            let verdict = match check::signer(self.trust, self.policy, &body) {
                Ok(key) => {
                    batch.queue(sig::record_item(&key.verifying, r.signature(), &id));
                    jobs.push((k, key, id));
                    Verdict::Good
                }
                Err(reason) => Verdict::Signer(Box::new(reason)),
            };
            part.facts.push(Some(Fact::new(id, &body, verdict, keys)));
            if keep {
                part.bodies.push(Some(body));
            }
        }
        if jobs.is_empty() || sig::batch_holds(batch) {
            return part;
        }
        let items: Vec<batch::Item> = jobs
            .iter()
            .map(|(k, key, id)| sig::record_item(&key.verifying, records[*k].signature(), id))
            .collect();
        let mut ok = vec![false; items.len()];
        sig::bisect(&items, &mut ok, 0, &|n| {
            let (k, key, id) = &jobs[n];
            sig::verify_record(&key.verifying, records[*k].signature(), id)
        });
        for ((k, _, _), good) in jobs.into_iter().zip(ok) {
            if let (false, Some(fact)) = (good, &mut part.facts[k]) {
                fact.verdict = Verdict::BadSignature;
            }
        }
        part
    }

    /// First streaming pass: the IDs lineage references point at, and the record count.
    fn referenced<I, E>(
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
    fn stream_pass<I, E>(
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

/// What the chain walk and the lineage pass need of a decoded record, and its signer and
/// signature verdicts: a compact copy, so the body can be dropped while it is in cache.
struct Fact {
    id: RecordId,
    subject: SubjectId,
    /// The subject's hash under this verification's keys, computed in the parallel pass.
    hash: u64,
    seq: u64,
    prev: Option<RecordId>,
    time: Timestamp,
    ended: bool,
    lineage: Vec<LineageRef>,
    verdict: Verdict,
}

impl Fact {
    fn new(id: RecordId, body: &RecordBody, verdict: Verdict, keys: &RandomState) -> Self {
        Self {
            id,
            subject: body.subject().clone(),
            hash: keys.hash_one(body.subject()),
            seq: body.seq(),
            prev: body.prev().copied(),
            time: body.time(),
            ended: Linked::ends_chain(body),
            lineage: body.event().lineage().to_vec(),
            verdict,
        }
    }

    /// The signer and signature verdict, checked after the link checks.
    fn verdict(&self) -> Result<(), Reason> {
        match &self.verdict {
            Verdict::Good => Ok(()),
            Verdict::Signer(reason) => Err((**reason).clone()),
            Verdict::BadSignature => Err(Reason::BadSignature),
        }
    }

    fn error(&self, index: usize, reason: Reason) -> VerifyError {
        VerifyError {
            index,
            subject: Some(self.subject.clone()),
            record: Some(self.id),
            reason,
        }
    }

    /// The lineage pass's view of this record, input record `index` at `pos` of chain
    /// `chain`, when it names lineage parents.
    fn child(&self, chain: usize, pos: usize, index: usize) -> Option<Child> {
        (!self.lineage.is_empty()).then(|| Child {
            chain,
            pos,
            index,
            id: self.id,
            subject: self.subject.clone(),
            time: self.time,
            refs: self.lineage.clone(),
        })
    }
}

impl Linked for Fact {
    fn subject(&self) -> &SubjectId {
        &self.subject
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn prev(&self) -> Option<&RecordId> {
        self.prev.as_ref()
    }
    fn time(&self) -> Timestamp {
        self.time
    }
    fn ends_chain(&self) -> bool {
        self.ended
    }
    fn lineage(&self) -> &[LineageRef] {
        &self.lineage
    }
}

/// A decoded record's signer verdict (the reason is boxed: failures are rare) and, when
/// the signer passes, its signature verdict.
enum Verdict {
    Good,
    Signer(Box<Reason>),
    BadSignature,
}

/// One chunk's records, judged on their own: a fact per record (`None` when it did not
/// decode), the decoded bodies when kept, and the decoding errors.
struct Part {
    facts: Vec<Option<Fact>>,
    bodies: Vec<Option<RecordBody>>,
    errors: Vec<VerifyError>,
}

/// Every chunk of a ledger held in memory, judged; record `i` is in part `i / size`.
struct Judged {
    size: usize,
    parts: Vec<Part>,
}

impl Judged {
    fn fact(&self, i: usize) -> Option<&Fact> {
        self.parts
            .get(i / self.size)?
            .facts
            .get(i % self.size)?
            .as_ref()
    }

    fn take(&mut self, i: usize) -> Decoded {
        let part = self.parts.get_mut(i / self.size)?;
        let body = part.bodies.get_mut(i % self.size)?.take()?;
        let id = part.facts.get(i % self.size)?.as_ref()?.id;
        Some((id, body))
    }

    /// The decoding errors of every part, moved out.
    fn take_decode_errors(&mut self) -> Vec<VerifyError> {
        self.parts
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.errors))
            .collect()
    }
}

/// Each chain's progress, found by subject: what the in-memory walker and the streaming
/// state share.
///
/// Chains are found by the subject hash each [`Fact`] carries (computed in the parallel
/// pass under keys drawn for this verification, so crafted subjects cannot be made to
/// collide): `first` maps a hash to the newest chain with that hash, and chains with equal
/// hashes link to each other. No subject is hashed or copied to look a chain up.
#[derive(Default)]
struct ChainWalks {
    first: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    walks: Vec<ChainWalk>,
}

/// One chain's progress: its subject, its tip, how many of its records were seen, and
/// where and why it failed (boxed, so a healthy chain costs a few dozen bytes).
struct ChainWalk {
    subject: SubjectId,
    /// The previous chain whose subject has the same hash.
    same_hash: Option<usize>,
    tip: Option<ChainTip>,
    seen: usize,
    failed: Option<Box<(usize, VerifyError)>>,
}

impl ChainWalks {
    /// The chain of `fact`'s subject, created on first sight (chains are numbered in order
    /// of first appearance).
    fn chain(&mut self, fact: &Fact) -> usize {
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
    fn step(&mut self, index: usize, fact: &Fact) -> (usize, usize) {
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
    fn outcomes(&mut self) -> Vec<ChainOutcome> {
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
    fn into_tips(self) -> impl Iterator<Item = (SubjectId, Option<ChainTip>)> {
        self.walks.into_iter().map(|w| (w.subject, w.tip))
    }
}

/// The in-memory walk: judged records placed in their chains in input order (each chain's
/// input indexes, subjects in order of first appearance, as [`set::group`] orders them),
/// each chain checked as it grows, and the records that name lineage parents.
#[derive(Default)]
struct Walker {
    chains: ChainWalks,
    indexes: Vec<Vec<usize>>,
    children: Vec<Child>,
}

impl Walker {
    /// Walks the judged chunk whose first record has input index `base`.
    fn walk(&mut self, base: usize, part: &Part) {
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
    fn finish(mut self, judged: &Judged) -> (Grouped, Vec<ChainOutcome>, Vec<Option<ChainTip>>) {
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

/// The hasher of [`ChainWalks`]' map: hands the precomputed subject hash through.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Reads a fallible record iterator in blocks.
struct Blocks<I> {
    source: I,
    size: usize,
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
    fn pipeline<T: Send>(
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

    fn next_block(&mut self) -> Result<Option<Vec<SignedRecord>>, StreamError> {
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
struct StreamState {
    records: u64,
    chains: ChainWalks,
    parents: HashMap<RecordId, Parent>,
    children: Vec<Child>,
    decode_errors: Vec<VerifyError>,
    omitted: usize,
}

impl StreamState {
    /// Walks the stream's record `index` in its chain (see [`ChainWalks::step`]) and notes
    /// its lineage facts.
    fn walk(&mut self, index: usize, fact: &Fact, wanted: &HashSet<RecordId>) {
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

    fn note_decode_errors(&mut self, errors: Vec<VerifyError>) {
        for e in errors {
            if self.decode_errors.len() < MAX_LISTED_ERRORS {
                self.decode_errors.push(e);
            } else {
                self.omitted += 1;
            }
        }
    }

    fn finish(mut self) -> Result<VerifiedLedger, StreamError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
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
