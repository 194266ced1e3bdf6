//! The fast path: parallel decode and hash, batched signature verification with same-key
//! coalescing, and a streaming mode whose memory is bounded by the number of chains.
//!
//! Every path here returns exactly what the reference verifier returns for the same input;
//! `tests/engine.rs` checks that on random mixes of valid and corrupted records.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::check;
use super::lineage::{self, ChainOutcome, Child, Parent};
use super::set::{self, Decoded, Grouped};
use super::sig;
use super::{VerifiedLedger, VerifiedSet};
use crate::chain::Tip;
use crate::error::{DecodeError, Reason, StreamError, VerifyError, VerifyErrors};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
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

    /// Uses exactly `n` worker threads (at least 1) instead of rayon's global pool.
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
    /// not kept.
    ///
    /// # Errors
    /// The same [`VerifyErrors`] as [`Verifier::verify_set`](crate::Verifier::verify_set).
    pub fn verify(&self, records: &[SignedRecord]) -> Result<VerifiedLedger, VerifyErrors> {
        on(self.pool().as_ref(), || {
            let judged = self.judge(records);
            let Judged {
                g,
                outcomes,
                bodies,
                mut errors,
            } = judged;
            errors.extend(outcomes.into_iter().filter_map(|o| o.error));
            let result = if errors.is_empty() {
                let tips = g
                    .subjects
                    .into_iter()
                    .zip(&g.chains)
                    .filter_map(|(subject, idx)| {
                        let (id, body) = bodies[*idx.last()?].as_ref()?;
                        Some((subject, (body.seq(), *id)))
                    })
                    .collect();
                Ok(VerifiedLedger {
                    records: records.len() as u64,
                    tips,
                })
            } else {
                errors.sort_by_key(|e| e.index);
                Err(VerifyErrors { errors })
            };
            bodies.into_par_iter().for_each(drop);
            result
        })
    }

    /// Verifies records held in memory like [`LedgerVerifier::verify`], and keeps every
    /// decoded record in the witness, chain by chain.
    ///
    /// # Errors
    /// The same [`VerifyErrors`] as [`Verifier::verify_set`](crate::Verifier::verify_set).
    pub fn verify_set(&self, records: &[SignedRecord]) -> Result<VerifiedSet, VerifyErrors> {
        on(self.pool().as_ref(), || {
            let Judged {
                g,
                outcomes,
                bodies,
                errors,
            } = self.judge(records);
            set::finish(g, outcomes, bodies, records, errors)
        })
    }

    /// Verifies a ledger streamed from `open` in bounded memory: `open` is called twice (a
    /// first pass finds which records lineage references point at, the second verifies),
    /// and each pass must yield the same records in the same order.
    ///
    /// Memory is bounded by the number of chains and lineage references, not the number
    /// of records. Lists at most [`MAX_LISTED_ERRORS`] rejected records.
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
    fn pool(&self) -> Option<rayon::ThreadPool> {
        self.threads
            .and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok())
    }

    /// Decodes, groups and checks every record; the outcome of every chain after the
    /// lineage pass.
    fn judge(&self, records: &[SignedRecord]) -> Judged {
        // Per record, in parallel and while its bytes are in cache: hash, decode, signer
        // checks (they depend on the record alone) and the signature's batch item.
        let (bodies, signers): (Vec<Decoded>, Vec<Signer<'_>>) = records
            .par_iter()
            .enumerate()
            .with_min_len(64)
            .map(|(index, r)| self.prepare(index, r))
            .unzip();
        let errors: Vec<VerifyError> = signers
            .par_iter()
            .filter_map(|s| match s {
                Signer::NotDecoded(e) => Some(e.clone()),
                Signer::Decoded(_) => None,
            })
            .collect();
        // Signatures, in batches over the records in input order.
        let sig_ok: Vec<bool> = signers
            .par_chunks(self.chunk)
            .enumerate()
            .flat_map_iter(|(c, chunk)| {
                let (at, items): (Vec<usize>, Vec<batch::Item>) = chunk
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| s.passed().map(|(_, item)| (k, item.clone())))
                    .unzip();
                let mut ok = vec![false; items.len()];
                sig::bisect(&items, &mut ok, 0, &|n| {
                    let k = at[n];
                    let key = chunk[k].passed().map(|(key, _)| key);
                    let i = c * self.chunk + k;
                    key.is_some_and(|key| {
                        sig::verify_record(
                            &key.verifying,
                            records[i].signature(),
                            &id_of(&bodies, i),
                        )
                    })
                });
                let mut verdict = vec![false; chunk.len()];
                for (k, v) in at.into_iter().zip(ok) {
                    verdict[k] = v;
                }
                verdict
            })
            .collect();
        let g = set::group(&bodies);
        let mut outcomes: Vec<ChainOutcome> = g
            .subjects
            .par_iter()
            .zip(&g.chains)
            .map(|(subject, idx)| walk_chain(subject, idx, &bodies, &signers, &sig_ok))
            .collect();
        set::resolve_lineage(&g, &bodies, &mut outcomes);
        Judged {
            g,
            outcomes,
            bodies,
            errors,
        }
    }

    /// Hash, decode, signer checks and batch item of one record.
    fn prepare<'t>(&'t self, index: usize, r: &SignedRecord) -> (Decoded, Signer<'t>) {
        let id = r.id();
        match RecordBody::decode(r.body()) {
            Ok(body) => {
                let signer = check::signer(self.trust, self.policy, &body)
                    .map(|key| (key, sig::record_item(&key.verifying, r.signature(), &id)));
                (Some((id, body)), Signer::Decoded(signer))
            }
            Err(e) => {
                let error = VerifyError {
                    index,
                    subject: None,
                    record: Some(id),
                    reason: e.into(),
                };
                (None, Signer::NotDecoded(error))
            }
        }
    }

    /// Batch-verifies record signatures in parallel chunks; one verdict per job, equal to
    /// the single-signature verdict.
    fn verify_signatures<'r>(
        &self,
        jobs: &[(usize, &TrustedKey)],
        sig_and_id: impl Fn(usize) -> (&'r [u8; 64], RecordId) + Sync,
    ) -> Vec<bool> {
        let per_chunk: Vec<Vec<bool>> = jobs
            .par_chunks(self.chunk)
            .map(|chunk| {
                let items: Vec<_> = chunk
                    .iter()
                    .map(|&(i, key)| {
                        let (sig, id) = sig_and_id(i);
                        sig::record_item(&key.verifying, sig, &id)
                    })
                    .collect();
                let mut out = vec![false; chunk.len()];
                sig::bisect(&items, &mut out, 0, &|k| {
                    let (i, key) = chunk[k];
                    let (sig, id) = sig_and_id(i);
                    sig::verify_record(&key.verifying, sig, &id)
                });
                out
            })
            .collect();
        per_chunk.concat()
    }

    /// First streaming pass: the IDs lineage references point at, and the record count.
    fn referenced<I, E>(
        &self,
        source: I,
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<(HashSet<RecordId>, u64), StreamError>
    where
        I: Iterator<Item = Result<SignedRecord, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut wanted = HashSet::new();
        let mut count = 0u64;
        let mut blocks = Blocks {
            source,
            size: self.block,
        };
        while let Some(block) = blocks.next_block()? {
            count += block.len() as u64;
            let refs: Vec<Vec<RecordId>> = on(pool, || {
                block
                    .par_iter()
                    .filter_map(|r| {
                        let body = RecordBody::decode(r.body()).ok()?;
                        let refs = body.event().lineage();
                        (!refs.is_empty()).then(|| refs.iter().map(|l| l.record).collect())
                    })
                    .collect()
            });
            wanted.extend(refs.into_iter().flatten());
        }
        Ok((wanted, count))
    }

    /// Second streaming pass: full verification, block by block.
    fn stream_pass<I, E>(
        &self,
        source: I,
        wanted: &HashSet<RecordId>,
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<StreamState, StreamError>
    where
        I: Iterator<Item = Result<SignedRecord, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut st = StreamState::default();
        let mut blocks = Blocks {
            source,
            size: self.block,
        };
        while let Some(block) = blocks.next_block()? {
            let base = usize::try_from(st.records).unwrap_or(usize::MAX);
            let (bodies, errors) = on(pool, || decode_all(&block, base));
            st.note_decode_errors(errors);
            let mut jobs: Vec<(usize, &TrustedKey)> = Vec::new();
            let mut job_chain: Vec<(usize, usize)> = Vec::new();
            for (k, d) in bodies.iter().enumerate() {
                let Some((id, body)) = d else { continue };
                let index = base + k;
                let (c, pos) = st.place(body);
                if wanted.contains(id) && !st.parents.contains_key(id) {
                    let parent = Parent {
                        chain: c,
                        pos,
                        subject: body.subject().clone(),
                        time: body.time(),
                    };
                    st.parents.insert(*id, parent);
                }
                let refs = body.event().lineage();
                if !refs.is_empty() {
                    st.children.push(Child {
                        chain: c,
                        pos,
                        index,
                        id: *id,
                        subject: body.subject().clone(),
                        time: body.time(),
                        refs: refs.to_vec(),
                    });
                }
                let chain = &mut st.chains[c];
                if chain.failed_at.is_some() {
                    continue;
                }
                match check::link(body.subject(), chain.tip.as_ref(), body, id)
                    .and_then(|()| check::signer(self.trust, self.policy, body))
                {
                    Ok(key) => {
                        jobs.push((k, key));
                        job_chain.push((c, pos));
                        chain.tip = Some(check::advance(body, *id));
                    }
                    Err(reason) => {
                        chain.failed_at = Some(pos);
                        st.failures.insert(c, error_of(index, id, body, reason));
                    }
                }
            }
            let ok = on(pool, || {
                self.verify_signatures(&jobs, |k| (block[k].signature(), id_of(&bodies, k)))
            });
            for ((&(k, _), &(c, pos)), good) in jobs.iter().zip(&job_chain).zip(ok) {
                let chain = &mut st.chains[c];
                let earlier = chain.failed_at.is_none_or(|f| f > pos);
                if let (false, true, Some((id, body))) = (good, earlier, &bodies[k]) {
                    chain.failed_at = Some(pos);
                    st.failures
                        .insert(c, error_of(base + k, id, body, Reason::BadSignature));
                }
            }
            st.records += block.len() as u64;
        }
        Ok(st)
    }
}

/// Runs `f` in `pool`, or in rayon's global pool.
fn on<T: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> T + Send) -> T {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// Every chain's outcome, with what produced it.
struct Judged {
    g: Grouped,
    outcomes: Vec<ChainOutcome>,
    bodies: Vec<Decoded>,
    errors: Vec<VerifyError>,
}

/// What the per-record pass learned about a record's signer: why it does not decode, or
/// the signer verdict and, when the signer passes, its signature's batch item.
enum Signer<'t> {
    NotDecoded(VerifyError),
    Decoded(Result<(&'t TrustedKey, batch::Item), Reason>),
}

impl<'t> Signer<'t> {
    fn passed(&self) -> Option<(&'t TrustedKey, &batch::Item)> {
        match self {
            Self::Decoded(Ok((key, item))) => Some((key, item)),
            _ => None,
        }
    }
}

/// Walks one chain in order: link checks against the tip, then the signer verdict, then the
/// signature verdict; the first failure ends the chain, as in the reference verifier.
fn walk_chain(
    subject: &SubjectId,
    idx: &[usize],
    bodies: &[Decoded],
    signers: &[Signer<'_>],
    sig_ok: &[bool],
) -> ChainOutcome {
    let mut tip: Option<Tip> = None;
    for (pos, &i) in idx.iter().enumerate() {
        let Some((id, body)) = &bodies[i] else {
            continue;
        };
        let verdict =
            check::link(subject, tip.as_ref(), body, id).and_then(|()| match &signers[i] {
                Signer::Decoded(Err(reason)) => Err(reason.clone()),
                _ if !sig_ok[i] => Err(Reason::BadSignature),
                _ => Ok(()),
            });
        if let Err(reason) = verdict {
            return ChainOutcome {
                accepted: pos,
                error: Some(error_of(i, id, body, reason)),
            };
        }
        tip = Some(check::advance(body, *id));
    }
    ChainOutcome {
        accepted: idx.len(),
        error: None,
    }
}

/// Hashes and decodes every record in parallel; `base` is the input index of `records[0]`.
fn decode_all(records: &[SignedRecord], base: usize) -> (Vec<Decoded>, Vec<VerifyError>) {
    let decoded: Vec<(RecordId, Result<RecordBody, DecodeError>)> = records
        .par_iter()
        .with_min_len(64)
        .map(|r| (r.id(), RecordBody::decode(r.body())))
        .collect();
    let mut errors = Vec::new();
    let bodies = decoded
        .into_iter()
        .enumerate()
        .map(|(k, (id, body))| match body {
            Ok(b) => Some((id, b)),
            Err(e) => {
                errors.push(VerifyError {
                    index: base + k,
                    subject: None,
                    record: Some(id),
                    reason: e.into(),
                });
                None
            }
        })
        .collect();
    (bodies, errors)
}

/// The ID of a decoded record (signature jobs exist only for decoded records).
fn id_of(bodies: &[Decoded], i: usize) -> RecordId {
    bodies[i]
        .as_ref()
        .map_or(RecordId::from_bytes([0; 32]), |(id, _)| *id)
}

fn error_of(index: usize, id: &RecordId, body: &RecordBody, reason: Reason) -> VerifyError {
    VerifyError {
        index,
        subject: Some(body.subject().clone()),
        record: Some(*id),
        reason,
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

/// One chain's state while streaming: its tip, how many of its records were seen, and
/// where it failed (its error is kept apart, so a healthy chain costs a few dozen bytes).
struct StreamChain {
    tip: Option<Tip>,
    seen: usize,
    failed_at: Option<usize>,
}

#[derive(Default)]
struct StreamState {
    records: u64,
    slot: HashMap<SubjectId, usize>,
    chains: Vec<StreamChain>,
    failures: HashMap<usize, VerifyError>,
    parents: HashMap<RecordId, Parent>,
    children: Vec<Child>,
    decode_errors: Vec<VerifyError>,
    omitted: usize,
}

impl StreamState {
    /// The chain of `body`'s subject (created on first sight) and the record's position in it.
    fn place(&mut self, body: &RecordBody) -> (usize, usize) {
        let c = if let Some(&c) = self.slot.get(body.subject()) {
            c
        } else {
            let c = self.chains.len();
            self.slot.insert(body.subject().clone(), c);
            self.chains.push(StreamChain {
                tip: None,
                seen: 0,
                failed_at: None,
            });
            c
        };
        let pos = self.chains[c].seen;
        self.chains[c].seen += 1;
        (c, pos)
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
        let mut outcomes: Vec<ChainOutcome> = (0..self.chains.len())
            .map(|c| ChainOutcome {
                accepted: self.chains[c].failed_at.unwrap_or(self.chains[c].seen),
                error: self.failures.remove(&c),
            })
            .collect();
        self.children.sort_by_key(|c| (c.chain, c.pos));
        lineage::resolve(&mut outcomes, &self.parents, &self.children);
        let mut errors = self.decode_errors;
        errors.extend(outcomes.into_iter().filter_map(|o| o.error));
        if errors.is_empty() {
            let chains = &self.chains;
            let tips = self
                .slot
                .into_iter()
                .filter_map(|(subject, c)| chains[c].tip.map(|t| (subject, (t.seq, t.id))))
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
