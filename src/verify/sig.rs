//! Ed25519 signature checks under the ZIP-215 rule, single and batched, through ed25519-zebra.
//!
//! Both paths use the cofactored equation `[8][s]B = [8]R + [8][k]A`, so a signature gets
//! the same verdict whichever path checks it and whatever else is in its batch.

use ed25519_zebra::batch;
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};

use crate::hash;
use crate::record::{RecordId, SIGNATURE_LEN};

/// One (key, signature, message) triple to check.
#[derive(Clone, Copy, Debug)]
pub struct SignatureItem<'a> {
    /// The Ed25519 public key bytes (need not decode; such an item just fails).
    pub key: [u8; 32],
    /// The signature bytes.
    pub signature: [u8; SIGNATURE_LEN],
    /// The message signed.
    pub message: &'a [u8],
}

/// Checks one signature under ZIP-215.
///
/// This judges the signature, not the key: under a small-order key some signatures
/// verify for messages nobody signed. Callers that take a key from untrusted input refuse
/// it first with [`PublicKey::weakness`](crate::PublicKey::weakness); trust stores, note
/// verifiers and fork evidence do.
///
/// # Example
/// ```
/// use agritrace::verify_signature;
/// // RFC 8032 §7.1, test 1: the empty message.
/// let hex = |s: &str| -> Vec<u8> { (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect() };
/// let key: [u8; 32] = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").try_into().unwrap();
/// let sig: [u8; 64] = hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b").try_into().unwrap();
/// assert!(verify_signature(&key, &sig, b""));
/// assert!(!verify_signature(&key, &sig, b"x"));
/// let mut bad = sig;
/// bad[0] ^= 1;
/// assert!(!verify_signature(&key, &bad, b""));
/// ```
#[must_use]
pub fn verify_signature(key: &[u8; 32], signature: &[u8; SIGNATURE_LEN], message: &[u8]) -> bool {
    VerificationKey::try_from(*key).is_ok_and(|vk| {
        vk.verify(&Signature::from_bytes(signature), message)
            .is_ok()
    })
}

/// Checks many signatures with batch verification, returning one verdict per item, equal to
/// what [`verify_signature`] says of it. A failing batch is split in halves until every bad
/// item is found.
///
/// # Example
/// ```
/// use agritrace::{SignatureItem, verify_signatures};
/// let bad = SignatureItem { key: [0; 32], signature: [1; 64], message: b"m" };
/// assert_eq!(verify_signatures(&[bad, bad]), vec![false, false]);
/// ```
#[must_use]
pub fn verify_signatures(items: &[SignatureItem<'_>]) -> Vec<bool> {
    let mut out = vec![false; items.len()];
    let queued: Vec<batch::Item> = items
        .iter()
        .map(|it| {
            batch::Item::from((
                VerificationKeyBytes::from(it.key),
                Signature::from_bytes(&it.signature),
                it.message,
            ))
        })
        .collect();
    bisect(&queued, &mut out, 0, &|i| {
        queued[i].clone().verify_single().is_ok()
    });
    out
}

/// Verifies `items` as one batch; on failure, splits and recurses; single items are judged
/// by `leaf(offset + i)`. Every verdict equals the single-signature verdict.
pub(crate) fn bisect(
    items: &[batch::Item],
    out: &mut [bool],
    offset: usize,
    leaf: &impl Fn(usize) -> bool,
) {
    match items {
        [] => {}
        [_] => out[0] = leaf(offset),
        // No batches without randomness (see `batch_holds`).
        _ if !crate::par::has_entropy() => {
            for (i, ok) in out.iter_mut().enumerate() {
                *ok = leaf(offset + i);
            }
        }
        _ => {
            let mut v = batch::Verifier::new();
            for it in items {
                v.queue(it.clone());
            }
            if batch_holds(v) {
                out.fill(true);
            } else {
                let mid = items.len() / 2;
                let (lo, hi) = out.split_at_mut(mid);
                bisect(&items[..mid], lo, offset, leaf);
                bisect(&items[mid..], hi, offset + mid, leaf);
            }
        }
    }
}

/// Whether every signature queued in `batch` is valid, checked with random coefficients
/// from the operating system. Under ZIP-215 a batch holds exactly when every item verifies
/// on its own.
#[cfg(feature = "native")]
pub(crate) fn batch_holds(batch: batch::Verifier) -> bool {
    batch.verify(rand::rng()).is_ok()
}

/// Without the operating system's randomness, batches are checked with the entropy the
/// caller provided ([`crate::provide_entropy`]); without that there are no safe batch
/// coefficients, so no batch is taken to hold and every signature is checked on its own
/// (the same verdicts).
#[cfg(not(feature = "native"))]
pub(crate) fn batch_holds(batch: batch::Verifier) -> bool {
    crate::par::with_entropy(|rng| batch.verify(rng).is_ok()).unwrap_or(false)
}

/// The batch item for a record signature.
pub(crate) fn record_item(
    key: &VerificationKey,
    signature: &[u8; SIGNATURE_LEN],
    id: &RecordId,
) -> batch::Item {
    let msg = hash::signed_message(id.as_bytes());
    batch::Item::from((
        VerificationKeyBytes::from(*key),
        Signature::from_bytes(signature),
        &msg[..],
    ))
}

/// Checks a record signature with a key decompressed in advance.
pub(crate) fn verify_record(
    vk: &VerificationKey,
    signature: &[u8; SIGNATURE_LEN],
    id: &RecordId,
) -> bool {
    vk.verify(
        &Signature::from_bytes(signature),
        &hash::signed_message(id.as_bytes()),
    )
    .is_ok()
}
