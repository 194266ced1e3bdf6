//! Record IDs: the hash of a record's body bytes, by which chains and lineage name records.

use crate::hash;

crate::hex::bytes32_type!(
    /// A record ID: `SHA-256("agritrace/v1/record\0" || body bytes)`.
    ///
    /// The signature is not part of the ID, so one body has exactly one ID.
    ///
    /// In binary formats 32 bytes; in human-readable ones (JSON) 64 hex digits.
    RecordId,
    RecordIdWire,
    "a record ID as 64 hex digits"
);

impl RecordId {
    /// The ID of exactly these body bytes.
    #[must_use]
    pub fn of_body(body: &[u8]) -> Self {
        Self(hash::tagged(hash::RECORD_TAG, body))
    }

    /// The first 8 hex digits, for people.
    #[must_use]
    pub fn short(&self) -> String {
        crate::hex::encode(&self.0[..4])
    }
}
