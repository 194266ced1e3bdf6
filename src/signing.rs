//! Signers (Ed25519 secret keys, zeroized on drop, never printed) and public keys.

use std::fmt;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer as _, SigningKey};
#[cfg(feature = "native")]
use rand::Rng as _;
#[cfg(feature = "native")]
use zeroize::Zeroize as _;

use crate::hash;
use crate::id::KeyId;
use crate::record::id::RecordId;

/// Length of a detached Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

crate::hex::bytes32_type!(
    /// An Ed25519 public key, as 32 bytes. Checked for safety when added to a
    /// [`TrustStore`](crate::TrustStore), not here.
    ///
    /// In binary formats 32 bytes; in human-readable ones (JSON) 64 hex digits.
    PublicKey,
    PublicKeyWire,
    "a public key as 64 hex digits"
);

impl PublicKey {
    /// The key ID derived from this key.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        KeyId::of_public_key(&self.0)
    }

    /// Why no honest key generator produces this key, or `None` for a sound key: a
    /// canonical encoding of a point in the prime-order subgroup.
    ///
    /// ZIP-215 verification accepts some signatures under the other keys for messages
    /// nobody signed (under the identity point, one signature verifies for every
    /// message), so trust stores, log keys and fork evidence refuse them.
    ///
    /// # Example
    /// ```
    /// use agritrace::{KeyWeakness, PublicKey, Signer};
    /// assert_eq!(Signer::from_seed([1; 32]).public_key().weakness(), None);
    /// let mut identity = [0u8; 32];
    /// identity[0] = 1;
    /// let identity = PublicKey::from_bytes(identity);
    /// assert_eq!(identity.weakness(), Some(KeyWeakness::SmallOrder));
    /// ```
    #[must_use]
    pub fn weakness(&self) -> Option<KeyWeakness> {
        let Some(point) = CompressedEdwardsY(self.0).decompress() else {
            return Some(KeyWeakness::NonCanonical);
        };
        if point.compress().as_bytes() != &self.0 {
            Some(KeyWeakness::NonCanonical)
        } else if point.is_small_order() {
            Some(KeyWeakness::SmallOrder)
        } else if !point.is_torsion_free() {
            Some(KeyWeakness::MixedOrder)
        } else {
            None
        }
    }
}

/// Why a public key is refused: see [`PublicKey::weakness`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyWeakness {
    /// Not the canonical encoding of a curve point.
    NonCanonical,
    /// A small-order point: it would verify forged signatures.
    SmallOrder,
    /// A point with a small-order component.
    MixedOrder,
}

impl fmt::Display for KeyWeakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NonCanonical => "is not a canonical curve point encoding",
            Self::SmallOrder => "is a small-order point",
            Self::MixedOrder => "has a small-order component",
        })
    }
}

/// A party's or device's signing key.
///
/// The secret is zeroized when dropped and never appears in `Debug` output or errors.
///
/// # Example
/// ```
/// use agritrace::Signer;
/// let farm = Signer::from_seed([7; 32]);
/// let shown = format!("{farm:?}");
/// assert!(shown.starts_with("Signer { public_key: PublicKey(") && shown.ends_with(", .. }"));
/// ```
pub struct Signer {
    key: SigningKey,
    public: PublicKey,
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed (the RFC 8032 secret key).
    #[must_use]
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let public = PublicKey(key.verifying_key().to_bytes());
        Self { key, public }
    }

    /// A fresh signer from the operating system's random number generator.
    #[cfg(feature = "native")]
    #[must_use]
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let signer = Self::from_seed(seed);
        seed.zeroize();
        signer
    }

    /// This signer's public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The 32-byte seed this signer was made from: the secret, for writing it to a key
    /// file. Zeroized when dropped.
    ///
    /// # Example
    /// ```
    /// use agritrace::Signer;
    /// let s = Signer::generate();
    /// assert_eq!(Signer::from_seed(*s.seed()).public_key(), s.public_key());
    /// ```
    #[must_use]
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_bytes())
    }

    /// Signs a record ID (with the signature domain tag in front).
    pub(crate) fn sign_record_id(&self, id: &RecordId) -> [u8; SIGNATURE_LEN] {
        self.key
            .sign(&hash::signed_message(id.as_bytes()))
            .to_bytes()
    }

    /// Signs arbitrary bytes (signed-note text; its format gives the domain separation).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("public_key", &self.public)
            .finish_non_exhaustive()
    }
}
