//! Note keys: C2SP verifier keys (`name+id+base64`) and the signers behind them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hash;
use crate::signing::{KeyWeakness, PublicKey, Signer};

use super::{COSIGNATURE_HEADER, NoteError, NoteSignature};

/// What a note key signs: its signed-note signature type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// Type `0x01`: an Ed25519 signature over the note text (log keys).
    Ed25519,
    /// Type `0x04`: a timestamped Ed25519 checkpoint cosignature (witness keys).
    Cosignature,
}

impl KeyKind {
    /// The signature type byte.
    #[must_use]
    pub const fn type_byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::Cosignature => 0x04,
        }
    }

    fn from_type_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::Cosignature),
            _ => None,
        }
    }

    /// Bytes after the key ID in a signature of this kind.
    const fn signature_len(self) -> usize {
        match self {
            Self::Ed25519 => 64,
            Self::Cosignature => 8 + 64,
        }
    }
}

/// Checks that `name` is a valid key name: non-empty, no Unicode space, no `+`.
pub(super) fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKeyName(name.chars().take(64).collect()));
    }
    Ok(())
}

/// `SHA-256(name || "\n" || type || key)[:4]` as a big-endian `u32`.
pub(super) fn key_id(name: &str, kind: KeyKind, key: &PublicKey) -> u32 {
    let d = hash::sha256(&[name.as_bytes(), b"\n", &[kind.type_byte()], key.as_bytes()]);
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A C2SP verifier key (`name+id+base64`): the public key, with its name, key ID and kind,
/// against which note signatures are checked. (Named for what it is, a key; `LogPolicy`
/// and `Note::verify` do the verifying.)
///
/// # Example
/// ```
/// use agritrace::VerifierKey;
/// // The signed-note specification's example verifier key.
/// let v = VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")?;
/// assert_eq!(v.name(), "example.com/foo");
/// assert_eq!(v.key_id(), 0x530d_903a);
/// # Ok::<(), agritrace::tlog::NoteError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub(super) name: String,
    pub(super) id: u32,
    kind: KeyKind,
    key: PublicKey,
    /// The key decompressed once, not on every signature checked.
    verifying: ed25519_zebra::VerificationKey,
}

impl VerifierKey {
    /// A verifier for `key` under `name`, with the key ID the specifications define.
    ///
    /// # Errors
    /// [`NoteError::BadKeyName`]; [`NoteError::WeakKey`] for a key no honest signer
    /// produces (see [`PublicKey::weakness`]).
    pub fn new(name: &str, kind: KeyKind, key: PublicKey) -> Result<Self, NoteError> {
        check_name(name)?;
        if let Some(weakness) = key.weakness() {
            return Err(NoteError::WeakKey {
                name: name.to_owned(),
                weakness,
            });
        }
        let verifying =
            ed25519_zebra::VerificationKey::try_from(*key.as_bytes()).map_err(|_| {
                NoteError::WeakKey {
                    name: name.to_owned(),
                    weakness: KeyWeakness::NonCanonical,
                }
            })?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, kind, &key),
            kind,
            key,
            verifying,
        })
    }

    /// Parses a vkey: `name+hex(key ID)+base64(type || public key)`.
    ///
    /// # Errors
    /// [`NoteError::BadVkey`] for a malformed string or unsupported type,
    /// [`NoteError::BadKeyName`], or [`NoteError::WrongKeyId`] when the ID does not match.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadVkey("expected name+keyid+key"));
        };
        check_name(name)?;
        let id = crate::hex::decode_array::<4>(id)
            .map(u32::from_be_bytes)
            .ok_or(NoteError::BadVkey("key ID is not 8 hex digits"))?;
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| NoteError::BadVkey("key is not valid base64"))?;
        let Some((&t, rest)) = bytes.split_first() else {
            return Err(NoteError::BadVkey("key is empty"));
        };
        let kind = KeyKind::from_type_byte(t).ok_or(NoteError::BadVkey(
            "unsupported signature type (want 0x01 or 0x04)",
        ))?;
        let key: [u8; 32] = rest
            .try_into()
            .map_err(|_| NoteError::BadVkey("Ed25519 key is not 32 bytes"))?;
        let v = Self::new(name, kind, PublicKey::from_bytes(key))?;
        if v.id != id {
            return Err(NoteError::WrongKeyId {
                name: name.to_owned(),
                found: id,
                expected: v.id,
            });
        }
        Ok(v)
    }

    /// The vkey text.
    #[must_use]
    pub fn vkey(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(self.kind.type_byte());
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(material)
        )
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    #[must_use]
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.key
    }

    /// Verifies `sig` over note `text`; returns the cosignature timestamp (0 for `Ed25519`).
    pub(super) fn verify(&self, text: &str, sig: &NoteSignature) -> Result<u64, NoteError> {
        let expected = self.kind.signature_len();
        if sig.bytes.len() != expected {
            return Err(NoteError::SignatureLength {
                name: self.name.clone(),
                found: sig.bytes.len(),
                expected,
            });
        }
        let (timestamp, ed) = match self.kind {
            KeyKind::Ed25519 => (0, &sig.bytes[..]),
            KeyKind::Cosignature => {
                let (t, ed) = sig.bytes.split_at(8);
                let mut tb = [0u8; 8];
                tb.copy_from_slice(t);
                (u64::from_be_bytes(tb), ed)
            }
        };
        if timestamp > i64::MAX as u64 {
            return Err(NoteError::BadTimestamp {
                name: self.name.clone(),
                timestamp,
            });
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(ed);
        let signature = ed25519_zebra::Signature::from_bytes(&signature);
        // ZIP-215, as `verify_signature`, with the key decoded when this verifier was made.
        let ok = match self.kind {
            KeyKind::Ed25519 => self.verifying.verify(&signature, text.as_bytes()),
            KeyKind::Cosignature => self
                .verifying
                .verify(&signature, cosigned_message(text, timestamp).as_bytes()),
        }
        .is_ok();
        if ok {
            Ok(timestamp)
        } else {
            Err(NoteError::BadSignature {
                name: self.name.clone(),
                key_id: self.id,
            })
        }
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey())
    }
}

/// The message a v1 Ed25519 cosignature covers.
pub(super) fn cosigned_message(text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{text}")
}

/// A key that signs notes: a [`Signer`] with a name and a kind.
pub struct NoteSigner {
    verifier: VerifierKey,
    signer: Signer,
}

impl NoteSigner {
    /// A note signer named `name`.
    ///
    /// # Errors
    /// [`NoteError::BadKeyName`].
    pub fn new(name: &str, kind: KeyKind, signer: Signer) -> Result<Self, NoteError> {
        Ok(Self {
            verifier: VerifierKey::new(name, kind, signer.public_key())?,
            signer,
        })
    }

    /// The matching verifier.
    #[must_use]
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Signs note `text` (a cosignature carries `timestamp`, POSIX seconds; plain Ed25519
    /// signatures ignore it).
    pub(super) fn sign(&self, text: &str, timestamp: u64) -> NoteSignature {
        let bytes = match self.verifier.kind {
            KeyKind::Ed25519 => self.signer.sign_bytes(text.as_bytes()).to_vec(),
            KeyKind::Cosignature => {
                let t = timestamp.min(i64::MAX as u64);
                let mut b = t.to_be_bytes().to_vec();
                b.extend_from_slice(&self.signer.sign_bytes(cosigned_message(text, t).as_bytes()));
                b
            }
        };
        NoteSignature {
            name: self.verifier.name.clone(),
            key_id: self.verifier.id,
            bytes,
        }
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}
