//! Which subjects a trace reads: the lineage closure of an ID, each subject once.

use std::collections::BTreeSet;

use crate::id::SubjectId;
use crate::store::Store;

use super::{MAX_TRACE_SUBJECTS, TraceError};

/// The subjects a trace of `id` reads: `id`, everything it came from (ancestors, up
/// through lineage parents), everything made from it or from its ancestors (descendants),
/// and what those descendants also derive from (a blend's other lots, whose records the
/// blend's are verified with), followed up only. Each once, whatever the shape of the
/// lineage; at most [`MAX_TRACE_SUBJECTS`].
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
    seen.insert(id.clone());
    // Up: (subject, whether to walk down from it too). `id` and its ancestors are walked
    // both ways, so a trace from a pack shows its pig's other products. A descendant's other
    // parents (a honey blend's other lots) are read because the descendant's records are
    // verified with theirs, but only upwards: their own products are another story.
    let mut up = vec![(id.clone(), true)];
    let mut down = Vec::new();
    loop {
        if let Some((s, both_ways)) = up.pop() {
            if both_ways {
                down.push(s.clone());
            }
            for e in store.parents(&s)? {
                if seen.insert(e.parent.clone()) {
                    up.push((e.parent, both_ways));
                }
            }
        } else if let Some(s) = down.pop() {
            for e in store.children(&s)? {
                if seen.insert(e.child.clone()) {
                    down.push(e.child.clone());
                    up.push((e.child, false));
                }
            }
        } else {
            return Ok(seen);
        }
        if seen.len() > MAX_TRACE_SUBJECTS {
            return Err(TraceError::TooLarge(id.clone()));
        }
    }
}
