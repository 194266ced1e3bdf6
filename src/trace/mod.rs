//! Tracing one ID through a store: gather its chain with everything it came from and
//! everything made from it, verify them together, and summarise them for a person.
//!
//! The parts: gathering ([`lineage_closure`], in `lineage.rs`), the report model
//! (`report.rs`, filled in by `summary.rs`), and two ways to show it: text (`text.rs`) and
//! an SVG chart (`svg.rs`).

pub(crate) mod error;
pub(crate) mod lineage;
mod report;
mod summary;
mod svg;
mod text;

pub use error::{TraceError, TraceFailure};
pub use lineage::lineage_closure;
pub use report::{
    AnimalSummary, ProductSummary, StepSummary, Trace, TreatmentSummary, VerificationSummary,
};
pub(crate) use summary::summarise;
pub use text::thousands;

use crate::error::VerifyErrors;
use crate::id::SubjectId;
use crate::record::{RecordBody, SignedRecord};
use crate::store::Store;
use crate::trust::{Policy, TrustStore};
use crate::verify::LedgerVerifier;

/// Daily steps at or above this count are a "15,000-step day".
pub const STEP_GOAL: u32 = 15_000;

/// Most subjects one trace gathers (ancestors and descendants together).
pub const MAX_TRACE_SUBJECTS: usize = 10_000;

/// Traces `id` in `store`: gathers its chain, its ancestors and descendants through lineage
/// edges, verifies them as one set, and summarises them.
///
/// # Errors
/// [`TraceError::NotFound`] when the store has no records for `id`;
/// [`TraceError::Verify`] naming every bad record when the records do not verify;
/// [`TraceError::Damaged`] when what the store returned disagrees with its bookkeeping;
/// [`TraceError::Store`] or [`TraceError::TooLarge`].
pub fn trace<S: Store>(
    store: &S,
    trust: &TrustStore,
    policy: &Policy,
    id: &SubjectId,
) -> Result<Trace, TraceError> {
    let started = crate::par::Stopwatch::start();
    let subjects = lineage_closure(store, id)?;
    let mut records = Vec::new();
    for s in &subjects {
        let chain = store.chain(s)?;
        check_against_bookkeeping(store, s, &chain)?;
        records.extend(chain);
    }
    if !subjects.contains(id) || records.is_empty() {
        return Err(TraceError::NotFound(id.clone()));
    }
    let set = LedgerVerifier::new(trust, policy)
        .verify_set(&records)
        .map_err(|e| TraceError::Verify(name_failures(store, &records, e)))?;
    let millis = started.millis();
    Ok(summarise(&set, trust, id, millis))
}

/// Most failures a trace names with their log position (one store lookup each).
const MAX_NAMED_FAILURES: usize = 100;

/// The verifier's errors, with each record named by subject, seq and log position instead
/// of its index in the trace's own list.
fn name_failures<S: Store>(
    store: &S,
    records: &[SignedRecord],
    errors: VerifyErrors,
) -> Vec<TraceFailure> {
    errors
        .errors
        .into_iter()
        .enumerate()
        .map(|(n, e)| {
            let record = records.get(e.index);
            let seq = record
                .and_then(|r| RecordBody::decode(r.body()).ok())
                .map(|b| b.seq());
            let position = match (&e.record, n < MAX_NAMED_FAILURES) {
                (Some(id), true) => store.get(id).ok().flatten().map(|(p, _)| p),
                _ => None,
            };
            TraceFailure {
                subject: e.subject,
                seq,
                position,
                record: e.record,
                reason: e.reason,
            }
        })
        .collect()
}

/// A chain as read must end at the tip the store's bookkeeping holds, and the lineage index
/// must list as many edges as the bookkeeping counted: otherwise records or edges were
/// lost or hidden (a damaged index, rows deleted behind the store's back).
fn check_against_bookkeeping<S: Store>(
    store: &S,
    subject: &SubjectId,
    chain: &[SignedRecord],
) -> Result<(), TraceError> {
    let damaged = |what: String| TraceError::Damaged {
        subject: subject.clone(),
        what,
    };
    let tip = store.tip(subject)?;
    match (tip, chain.last()) {
        (None, None) => {}
        (Some(t), Some(last)) if t.id == last.id() && chain.len() as u64 == t.seq + 1 => {}
        (Some(t), _) => {
            return Err(damaged(format!(
                "the store's tip is seq {} ({}), but reading the chain gave {} record(s)",
                t.seq,
                t.id.short(),
                chain.len()
            )));
        }
        (None, Some(_)) => return Err(damaged("the chain has records but no tip".to_owned())),
    }
    let listed = store.children(subject)?.len() as u64;
    let counted = store.children_count(subject)?;
    if listed != counted {
        return Err(damaged(format!(
            "the lineage index lists {listed} edge(s) from it, the bookkeeping counts {counted}"
        )));
    }
    Ok(())
}
