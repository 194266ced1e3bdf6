//! Domain-separated SHA-256 digests: the only module that names `sha2`.

use sha2::{Digest as _, Sha256};

/// Domain tag of a record ID: `SHA-256(RECORD_TAG || body bytes)`.
pub(crate) const RECORD_TAG: &[u8] = b"agritrace/v1/record\0";
/// Domain tag of the message an Ed25519 signature covers: `SIGNATURE_TAG || record ID`.
pub(crate) const SIGNATURE_TAG: &[u8] = b"agritrace/v1/signature\0";
/// Domain tag of a trust statement's hash: `SHA-256(TRUST_STATEMENT_TAG || note text)`.
pub(crate) const TRUST_STATEMENT_TAG: &[u8] = b"agritrace/v1/trust-statement\0";
/// Domain tag of a key ID: `SHA-256(KEY_TAG || public key)`, first 16 bytes.
pub(crate) const KEY_TAG: &[u8] = b"agritrace/v1/key\0";

/// Length of the message a record signature covers.
pub(crate) const SIGNED_MESSAGE_LEN: usize = SIGNATURE_TAG.len() + 32;

/// `SHA-256(tag || data)`.
pub(crate) fn tagged(tag: &[u8], data: &[u8]) -> [u8; 32] {
    short(&[tag, data])
}

/// SHA-256 initial state (FIPS 180-4 §5.3.3).
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Blocks [`short`] pads on the stack; longer messages go through the streaming API.
const SHORT_BLOCKS: usize = 4;

/// SHA-256 of the concatenation of `parts`. Messages of up to 247 bytes (records, leaves,
/// nodes) are padded on the stack and compressed in one call, without the streaming
/// buffer: the hot paths hash millions of such short messages.
fn short(parts: &[&[u8]]) -> [u8; 32] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let blocks = (len + 9).div_ceil(64);
    if blocks > SHORT_BLOCKS {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        return h.finalize().into();
    }
    let mut buf = [0u8; 64 * SHORT_BLOCKS];
    let mut at = 0;
    for p in parts {
        buf[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    buf[len] = 0x80;
    let end = blocks * 64;
    buf[end - 8..end].copy_from_slice(&((len as u64) * 8).to_be_bytes());
    let mut state = H0;
    let (chunks, _) = buf.as_chunks::<64>();
    sha2::block_api::compress256(&mut state, &chunks[..blocks]);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// RFC 9162 leaf hash: `SHA-256(0x00 || a || b)`.
pub(crate) fn merkle_leaf(a: &[u8], b: &[u8]) -> [u8; 32] {
    short(&[&[0], a, b])
}

/// RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
pub(crate) fn merkle_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    short(&[&[1], left, right])
}

/// Plain `SHA-256(parts...)` (the empty tree's root, note key IDs).
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    short(parts)
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
    fn short_path_equals_the_streaming_api_at_every_length() {
        let data: Vec<u8> = (0..400u32).map(|i| (i * 31 + 7).to_le_bytes()[0]).collect();
        for len in 0..data.len() {
            for split in [0, len / 3, len] {
                let (a, b) = data[..len].split_at(split);
                let want: [u8; 32] = Sha256::new()
                    .chain_update(a)
                    .chain_update(b)
                    .finalize()
                    .into();
                assert_eq!(short(&[a, b]), want, "len {len} split {split}");
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
