//! Which subjects a trace reads: the lineage closure of an ID, each subject once.

use std::collections::BTreeSet;

use crate::id::SubjectId;
use crate::store::Store;

use super::{MAX_TRACE_SUBJECTS, TraceError};

/// The subjects a trace of `id` reads: `id`, everything it came from (ancestors, up
/// through lineage parents), everything made from it (descendants), and everything those
/// descendants derive from (a blend's other lots: their records are verified with the
/// blend's), each once, whatever the shape of the lineage. At most [`MAX_TRACE_SUBJECTS`].
///
/// # Errors
/// [`TraceError::NotFound`] when `id` has no records; [`TraceError::TooLarge`];
/// [`TraceError::Store`].
pub fn lineage_closure<S: Store>(
    store: &S,
    id: &SubjectId,
) -> Result<BTreeSet<SubjectId>, TraceError> {
    let mut seen = BTreeSet::new();
    if store.tip(id)?.is_none() {
        return Err(TraceError::NotFound(id.clone()));
    }
    let mut up = vec![id.clone()];
    let mut down = vec![id.clone()];
    seen.insert(id.clone());
    // Each record made from a subject is verified with its lineage, so every subject a
    // descendant derives from (a honey blend's other lots) is read too: descendants are
    // walked up as well as down.
    while !up.is_empty() || !down.is_empty() {
        while let Some(s) = up.pop() {
            for e in store.parents(&s)? {
                if seen.insert(e.parent.clone()) {
                    up.push(e.parent.clone());
                    down.push(e.parent);
                }
            }
            if seen.len() > MAX_TRACE_SUBJECTS {
                return Err(TraceError::TooLarge(id.clone()));
            }
        }
        while let Some(s) = down.pop() {
            for e in store.children(&s)? {
                if seen.insert(e.child.clone()) {
                    up.push(e.child.clone());
                    down.push(e.child);
                }
            }
            if seen.len() > MAX_TRACE_SUBJECTS {
                return Err(TraceError::TooLarge(id.clone()));
            }
        }
    }
    Ok(seen)
}
