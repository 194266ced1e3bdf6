//! Judging records chunk by chunk: hash, decode, signer, and the chunk's signatures as one
//! batch, while the chain walk follows on another thread.

use std::hash::RandomState;
#[cfg(feature = "native")]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "native")]
use std::sync::mpsc;

use super::check::{self};
use super::sig;
use crate::error::VerifyError;
use crate::par;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::trust::TrustedKey;
use ed25519_zebra::batch;

use super::{Fact, Judged, LedgerVerifier, Part, Verdict, Walker};

impl LedgerVerifier<'_> {
    /// Checks every record on its own — hash, decode, signer, signature — in chunks of the
    /// batch size on every thread of the pool, while one more thread places the judged
    /// records in their chains and walks them in input order; `keep` keeps the decoded
    /// bodies. Chunks are taken in order, so the walk trails the judging closely and little
    /// of it is left when the last chunk is judged.
    ///
    /// With one thread (or one chunk, or when no thread can be started) the same steps run
    /// chunk after chunk on the calling thread.
    pub(super) fn judge_walked(&self, records: &[SignedRecord], keep: bool) -> (Judged, Walker) {
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
    pub(super) fn judge_walked_here(
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
    pub(super) fn judge_walked_in_parallel(
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
    pub(super) fn judge_parts(
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
    pub(super) fn judge_chunk(
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
        // Without randomness for batch coefficients (WebAssembly before `provide_entropy`)
        // nothing is queued: each signature is checked once, on its own, below.
        let batching = crate::par::has_entropy();
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
                    if batching {
                        batch.queue(sig::record_item(&key.verifying, r.signature(), &id));
                    }
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
        if jobs.is_empty() || (batching && sig::batch_holds(batch)) {
            return part;
        }
        let single = |n: usize| {
            let (k, key, id) = &jobs[n];
            sig::verify_record(&key.verifying, records[*k].signature(), id)
        };
        let mut ok = vec![false; jobs.len()];
        if batching {
            let items: Vec<batch::Item> = jobs
                .iter()
                .map(|(k, key, id)| sig::record_item(&key.verifying, records[*k].signature(), id))
                .collect();
            sig::bisect(&items, &mut ok, 0, &single);
        } else {
            for (n, good) in ok.iter_mut().enumerate() {
                *good = single(n);
            }
        }
        for ((k, _, _), good) in jobs.into_iter().zip(ok) {
            if let (false, Some(fact)) = (good, &mut part.facts[k]) {
                fact.verdict = Verdict::BadSignature;
            }
        }
        part
    }
}
