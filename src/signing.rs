//! Signers (Ed25519 secret keys, zeroized on drop, never printed) and public keys.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize as _;

use crate::hash;
use crate::id::KeyId;
use crate::record::{RecordId, SIGNATURE_LEN};

/// An Ed25519 public key, as 32 bytes. Checked for safety when added to a
/// [`TrustStore`](crate::TrustStore), not here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(#[serde(with = "crate::encoding::bytes32")] [u8; 32]);

impl PublicKey {
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

    /// The key ID derived from this key.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        KeyId::of_public_key(&self.0)
    }
}

crate::hex::impl_hex_display!(PublicKey);

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
