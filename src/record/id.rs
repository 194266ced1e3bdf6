//! Record IDs: the hash of a record's body bytes, by which chains and lineage name records.

use serde::{Deserialize, Serialize};

use crate::hash;

/// A record ID: `SHA-256("agritrace/v1/record\0" || body bytes)`.
///
/// The signature is not part of the ID, so one body has exactly one ID.
///
/// In binary formats 32 bytes; in human-readable ones (JSON) 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId([u8; 32]);

/// The binary form of a [`RecordId`], as the format has always had it.
#[derive(Serialize, Deserialize)]
#[serde(rename = "RecordId")]
struct RecordIdWire(#[serde(with = "crate::encoding::bytes32")] [u8; 32]);

impl From<&RecordId> for RecordIdWire {
    fn from(id: &RecordId) -> Self {
        Self(id.0)
    }
}

impl From<RecordIdWire> for RecordId {
    fn from(w: RecordIdWire) -> Self {
        Self(w.0)
    }
}

crate::encoding::text_in_human_formats!(RecordId, RecordIdWire, "a record ID as 64 hex digits");

impl RecordId {
    /// The ID of exactly these body bytes.
    #[must_use]
    pub fn of_body(body: &[u8]) -> Self {
        Self(hash::tagged(hash::RECORD_TAG, body))
    }

    /// Wraps 32 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 hex digits, for people.
    #[must_use]
    pub fn short(&self) -> String {
        crate::hex::encode(&self.0[..4])
    }
}

crate::hex::impl_hex_display!(RecordId);
