//! Domain-separated SHA-256 digests: the only module that names `sha2`.

use sha2::{Digest as _, Sha256};

/// Domain tag of a record ID: `SHA-256(RECORD_TAG || body bytes)`.
pub(crate) const RECORD_TAG: &[u8] = b"agritrace/v1/record\0";
/// Domain tag of the message an Ed25519 signature covers: `SIGNATURE_TAG || record ID`.
pub(crate) const SIGNATURE_TAG: &[u8] = b"agritrace/v1/signature\0";
/// Domain tag of a key ID: `SHA-256(KEY_TAG || public key)`, first 16 bytes.
pub(crate) const KEY_TAG: &[u8] = b"agritrace/v1/key\0";

/// Length of the message a record signature covers.
pub(crate) const SIGNED_MESSAGE_LEN: usize = SIGNATURE_TAG.len() + 32;

/// `SHA-256(tag || data)`.
pub(crate) fn tagged(tag: &[u8], data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(data);
    h.finalize().into()
}

/// RFC 9162 leaf hash: `SHA-256(0x00 || parts...)`.
pub(crate) fn merkle_leaf(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
pub(crate) fn merkle_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Plain `SHA-256(data)` (the empty tree's root, note key IDs).
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The exact bytes an Ed25519 record signature covers: the signature tag, then the record ID.
pub(crate) fn signed_message(record_id: &[u8; 32]) -> [u8; SIGNED_MESSAGE_LEN] {
    let mut m = [0u8; SIGNED_MESSAGE_LEN];
    m[..SIGNATURE_TAG.len()].copy_from_slice(SIGNATURE_TAG);
    m[SIGNATURE_TAG.len()..].copy_from_slice(record_id);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_distinct_and_not_prefixes_of_each_other() {
        let tags = [RECORD_TAG, SIGNATURE_TAG, KEY_TAG];
        for (i, a) in tags.iter().enumerate() {
            for (j, b) in tags.iter().enumerate() {
                if i != j {
                    assert!(!a.starts_with(b), "tag {i} starts with tag {j}");
                }
            }
        }
    }

    #[test]
    fn sha256_known_answer() {
        // SHA-256("abc") split across tag and data.
        let d = tagged(b"a", b"bc");
        assert_eq!(
            crate::hex::encode(&d),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
