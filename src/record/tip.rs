//! A chain's tip: the last accepted record, which the next one must extend.

use crate::record::id::RecordId;
use crate::time::Timestamp;

/// The last accepted record of a subject's chain: what the next record must extend. The
/// chain builder, both verifiers and every store use this one type, and the one rule that
/// checks a record against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainTip {
    /// Its seq.
    pub seq: u64,
    /// Its ID.
    pub id: RecordId,
    /// Its time.
    pub time: Timestamp,
    /// Whether it is an end-of-chain record.
    pub ended: bool,
}

impl ChainTip {
    /// The tip a record makes: `seq`, `id`, `time`, and whether it ends the chain.
    #[must_use]
    pub fn new(seq: u64, id: RecordId, time: Timestamp, ended: bool) -> Self {
        Self {
            seq,
            id,
            time,
            ended,
        }
    }
}
