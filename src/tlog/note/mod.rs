//! C2SP signed notes: text signed by one or more Ed25519 keys, verifier keys (vkeys), and
//! timestamped Ed25519 cosignatures (c2sp.org/signed-note, c2sp.org/tlog-cosignature).
//!
//! Note keys (verifier and signer keys, their names and IDs) are in `keys.rs`; the note
//! text, its signature lines and their parsing are here.

mod keys;

use keys::check_name;
pub use keys::{KeyKind, NoteSigner, VerifierKey};

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

use crate::signing::KeyWeakness;

/// Largest note accepted, in bytes (a checkpoint with 16 cosignatures is under 2 KiB).
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// Most signature lines accepted in one note (signed-note asks for at least 16).
pub const MAX_NOTE_SIGNATURES: usize = 64;

const DASH: &str = "\u{2014} ";
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// A malformed or unverifiable signed note, vkey or signature.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_LEN`].
    #[error("note is {len} bytes, more than the {max}-byte limit")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8.
    #[error("note is not valid UTF-8 (byte {offset})")]
    NotUtf8 {
        /// Where decoding failed.
        offset: usize,
    },
    /// A control character other than newline.
    #[error("note has control character {byte:#04x} at byte {offset}")]
    ControlCharacter {
        /// The byte.
        byte: u8,
        /// Where.
        offset: usize,
    },
    /// No blank line separating text and signatures.
    #[error("note has no blank line before its signatures")]
    NoSeparator,
    /// The note text is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The note does not end with a newline.
    #[error("note does not end with a newline")]
    NoFinalNewline,
    /// No signature lines after the blank line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// Too many signature lines.
    #[error("note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature line that is not `— name base64`.
    #[error("signature line {line}: {reason}")]
    BadSignatureLine {
        /// 1-based line number within the signature block.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key name that is empty or has a space or `+`.
    #[error("key name {0:?} is empty or contains a space or '+'")]
    BadKeyName(String),
    /// A malformed verifier key.
    #[error("verifier key: {0}")]
    BadVkey(&'static str),
    /// A verifier key no honest signer produces.
    #[error("verifier key {name}: the key {weakness}")]
    WeakKey {
        /// Key name.
        name: String,
        /// What is wrong with it.
        weakness: KeyWeakness,
    },
    /// A vkey whose key ID is not the one its name, type and key define.
    #[error("verifier key {name} has key ID {found:08x}, but its name and key give {expected:08x}")]
    WrongKeyId {
        /// Key name.
        name: String,
        /// The ID in the vkey.
        found: u32,
        /// The ID computed from name, type and key.
        expected: u32,
    },
    /// A signature by a known key that does not verify.
    #[error("signature by {name} (key ID {key_id:08x}) does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A signature by a known key with the wrong length.
    #[error("signature by {name} is {found} bytes, expected {expected}")]
    SignatureLength {
        /// Key name.
        name: String,
        /// Bytes after the key ID.
        found: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// A cosignature timestamp above 2^63 - 1.
    #[error("cosignature by {name} has timestamp {timestamp} above 2^63-1")]
    BadTimestamp {
        /// Key name.
        name: String,
        /// The timestamp.
        timestamp: u64,
    },
    /// No signature by any of the keys the verifier knows.
    #[error("note is not signed by any known key (signed by: {signers})")]
    NoKnownSignature {
        /// Names of the keys that did sign, comma-separated.
        signers: String,
    },
    /// The same known key signed twice.
    #[error("key {0} signed the note more than once")]
    DuplicateSignature(String),
}

/// One signature line: key name, key ID and the signature bytes after the ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    bytes: Vec<u8>,
}

impl NoteSignature {
    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    fn line(&self) -> String {
        let mut b = self.key_id.to_be_bytes().to_vec();
        b.extend_from_slice(&self.bytes);
        format!("{DASH}{} {}\n", self.name, STANDARD.encode(b))
    }
}

/// A key that verified a note, with its cosignature timestamp (0 for log signatures).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoteSigned {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Cosignature timestamp, POSIX seconds (0 for a plain Ed25519 signature).
    pub timestamp: u64,
}

/// A parsed signed note: its text (ending in a newline) and signature lines.
///
/// # Example
/// ```
/// use agritrace::VerifierKey;
/// use agritrace::tlog::Note;
/// let note = "This is an example message.\n\n\u{2014} example.com/foo \
///     Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
/// let key = VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")?;
/// let parsed = Note::parse(note)?;
/// assert_eq!(parsed.verify(&[key])?.len(), 1);
/// assert_eq!(parsed.text(), "This is an example message.\n");
/// # Ok::<(), agritrace::tlog::NoteError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note with `text`, which must end in a newline, with no control
    /// characters but newlines and no blank line at the end.
    ///
    /// # Errors
    /// [`NoteError`] for text that a signed note cannot carry.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_chars(text.as_bytes())?;
        if text.is_empty() {
            return Err(NoteError::EmptyText);
        }
        if !text.ends_with('\n') {
            return Err(NoteError::NoFinalNewline);
        }
        if text.ends_with("\n\n") || text == "\n" {
            return Err(NoteError::NoSeparator);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses untrusted note bytes. Nothing in the text may be used before
    /// [`Note::verify`] succeeds.
    ///
    /// # Errors
    /// [`NoteError`] naming the first problem.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLong {
                len: bytes.len(),
                max: MAX_NOTE_LEN,
            });
        }
        let s = std::str::from_utf8(bytes).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        Self::parse(s)
    }

    /// Parses an untrusted note.
    ///
    /// # Errors
    /// [`NoteError`] naming the first problem.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        if s.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLong {
                len: s.len(),
                max: MAX_NOTE_LEN,
            });
        }
        check_chars(s.as_bytes())?;
        if !s.ends_with('\n') {
            return Err(NoteError::NoFinalNewline);
        }
        let split = s.rfind("\n\n").ok_or(NoteError::NoSeparator)?;
        let text = &s[..=split];
        let block = &s[split + 2..];
        if text.trim_end_matches('\n').is_empty() {
            return Err(NoteError::EmptyText);
        }
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let mut signatures = Vec::new();
        for (i, line) in block.split_terminator('\n').enumerate() {
            if signatures.len() == MAX_NOTE_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_NOTE_SIGNATURES,
                });
            }
            signatures.push(parse_signature_line(line, i + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature by `signer` (for a cosignature, made at `timestamp`, POSIX seconds).
    pub fn sign(&mut self, signer: &NoteSigner, timestamp: u64) {
        let sig = signer.sign(&self.text, timestamp);
        self.signatures
            .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        self.signatures.push(sig);
    }

    /// Verifies the signatures by `known` keys, ignoring lines by other keys. A known key's
    /// bad signature refuses the whole note; so does a note no known key signed.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`], [`NoteError::SignatureLength`],
    /// [`NoteError::DuplicateSignature`] or [`NoteError::NoKnownSignature`].
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<NoteSigned>, NoteError> {
        let mut out: Vec<NoteSigned> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = known
                .iter()
                .find(|v| v.name == sig.name && v.id == sig.key_id)
            else {
                continue;
            };
            let timestamp = v.verify(&self.text, sig)?;
            if out
                .iter()
                .any(|o| o.name == sig.name && o.key_id == sig.key_id)
            {
                return Err(NoteError::DuplicateSignature(sig.name.clone()));
            }
            out.push(NoteSigned {
                name: sig.name.clone(),
                key_id: sig.key_id,
                timestamp,
            });
        }
        if out.is_empty() {
            let signers: Vec<&str> = self.signatures.iter().map(|s| s.name.as_str()).collect();
            return Err(NoteError::NoKnownSignature {
                signers: signers.join(", "),
            });
        }
        Ok(out)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.line())?;
        }
        Ok(())
    }
}

fn check_chars(bytes: &[u8]) -> Result<(), NoteError> {
    match bytes.iter().position(|&b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(NoteError::ControlCharacter {
            byte: bytes[offset],
            offset,
        }),
        None => Ok(()),
    }
}

fn parse_signature_line(line: &str, n: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason| NoteError::BadSignatureLine { line: n, reason };
    let rest = line
        .strip_prefix(DASH)
        .ok_or_else(|| bad("does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("has no space between key name and signature"))?;
    check_name(name).map_err(|_| bad("key name is empty or has a space or '+'"))?;
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not valid base64"))?;
    if bytes.len() < 5 {
        return Err(bad("signature is shorter than a key ID and one byte"));
    }
    let (id, sig) = bytes.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        bytes: sig.to_vec(),
    })
}
