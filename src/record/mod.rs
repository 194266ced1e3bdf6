//! Record bodies and signed records; record IDs ([`id`]) and ledger files ([`ledger`]) in
//! their own files.

pub(crate) mod id;
mod ledger;
mod source;
pub(crate) mod tip;

pub use crate::signing::SIGNATURE_LEN;
pub use id::RecordId;
pub use ledger::{LEDGER_MAGIC, LedgerReader, write_ledger};
pub use source::SourceHash;
pub use tip::ChainTip;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::encoding::{self, MAX_BODY_LEN};
use crate::error::{DecodeError, FrameError};
use crate::event::Event;
use crate::id::SubjectId;
use crate::signing::PublicKey;
use crate::time::Timestamp;

/// The record format version this crate writes for a record (and reads).
pub const FORMAT_VERSION: u16 = 1;

/// The format version of a body that also names the event it was made from (a
/// [`SourceHash`] after the event; FORMAT.md §2). Readers that know only version 1 refuse
/// such a body rather than misread it.
pub const FORMAT_VERSION_SOURCED: u16 = 2;

/// The signed content of a record, in canonical field order.
///
/// Built by [`Chain::append`](crate::Chain::append); read back from bytes by
/// [`RecordBody::decode`].
// Invariant: `event.check(&subject)` holds; `prev` is `None` exactly when `seq == 0`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBody {
    version: u16,
    subject: SubjectId,
    seq: u64,
    prev: Option<RecordId>,
    time: Timestamp,
    signer: PublicKey,
    event: Event,
    /// Version 2 only: encoded after the event (see `encode`), never by the derive.
    #[serde(skip)]
    source: Option<SourceHash>,
}

impl RecordBody {
    /// The body of the record that follows `after` in `subject`'s chain (seq 0 with no
    /// `prev` when `after` is `None`), so the seq and the link cannot disagree.
    pub(crate) fn new(
        subject: SubjectId,
        after: Option<&ChainTip>,
        time: Timestamp,
        signer: PublicKey,
        event: Event,
    ) -> Self {
        Self {
            version: FORMAT_VERSION,
            seq: after.map_or(0, |t| t.seq + 1),
            prev: after.map(|t| t.id),
            subject,
            time,
            signer,
            event,
            source: None,
        }
    }

    /// This body naming the event it was made from: format version 2.
    pub(crate) fn with_source(mut self, source: SourceHash) -> Self {
        self.version = FORMAT_VERSION_SOURCED;
        self.source = Some(source);
        self
    }

    /// Decodes untrusted body bytes: version check, bounded decode of the one canonical
    /// encoding (see `docs/FORMAT.md` §2), field rules. Text fields are copied inline: no
    /// allocation except a transformation's list of parents.
    ///
    /// # Errors
    /// [`DecodeError`] naming what is wrong: an unsupported version, truncation, a malformed
    /// field, trailing bytes, or a rule such as "prev present on seq 0".
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let version = match bytes {
            [a, b, ..] => u16::from_le_bytes([*a, *b]),
            _ => {
                return Err(DecodeError::Malformed(
                    "body shorter than its version field".into(),
                ));
            }
        };
        let body: Self = match version {
            FORMAT_VERSION => encoding::decode_exact(bytes)?,
            FORMAT_VERSION_SOURCED => {
                let (mut body, source): (Self, SourceHash) = encoding::decode_exact(bytes)?;
                body.source = Some(source);
                body
            }
            other => return Err(DecodeError::UnsupportedVersion(other)),
        };
        if body.prev.is_some() != (body.seq != 0) {
            return Err(DecodeError::Invalid(if body.seq == 0 {
                "seq 0 names a previous record"
            } else {
                "record after seq 0 names no previous record"
            }));
        }
        body.event
            .check(&body.subject)
            .map_err(DecodeError::Invalid)?;
        Ok(body)
    }

    /// The canonical bytes of this body.
    ///
    /// # Errors
    /// [`DecodeError::TooLong`] if the body exceeds [`MAX_BODY_LEN`].
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        match &self.source {
            Some(source) => encoding::encode(&(self, source)),
            None => encoding::encode(self),
        }
    }

    /// Format version.
    #[must_use]
    pub fn version(&self) -> u16 {
        self.version
    }
    /// The subject this record is about.
    #[must_use]
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }
    /// Position in the subject's chain, from 0.
    #[must_use]
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// ID of the previous record of the same subject (`None` for seq 0).
    #[must_use]
    pub fn prev(&self) -> Option<&RecordId> {
        self.prev.as_ref()
    }
    /// When the event happened, as claimed by the signer.
    #[must_use]
    pub fn time(&self) -> Timestamp {
        self.time
    }
    /// The key that signed this record.
    #[must_use]
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }
    /// What happened.
    #[must_use]
    pub fn event(&self) -> &Event {
        &self.event
    }
    /// The event this record was made from, for a record imported from another system
    /// (format version 2); `None` otherwise.
    #[must_use]
    pub fn source(&self) -> Option<&SourceHash> {
        self.source.as_ref()
    }
}

/// Subject bytes, seq and prev ID of an encoded body.
pub(crate) type BodyHeader<'a> = (&'a [u8], u64, Option<[u8; 32]>);

/// The fixed-layout prefix of an encoded body: the subject's bytes, the seq and the prev
/// ID, read without decoding the rest. Only for bodies already known to decode (e.g.
/// committed to by a verified checkpoint); `None` for bytes too short or with unknown tags.
pub(crate) fn body_header(body: &[u8]) -> Option<BodyHeader<'_>> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(*body.get(at..at + 4)?.first_chunk()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(*body.get(at..at + 8)?.first_chunk()?));
    // version (2) | subject variant (4) | subject fields | seq (8) | prev tag (1) [+ 32]
    let subject_len = match u32_at(2)? {
        0 => 4 + 8,
        1 => 4 + 2 + 8,
        2 => {
            4 + 8
                + 8
                + usize::try_from(u64_at(2 + 4 + 8)?)
                    .ok()
                    .filter(|&n| n <= MAX_BODY_LEN)?
        }
        _ => return None,
    };
    let subject = body.get(2..2 + subject_len)?;
    let at = 2 + subject_len;
    let seq = u64_at(at)?;
    let prev = match body.get(at + 8)? {
        0 => None,
        1 => Some(*body.get(at + 9..at + 41)?.first_chunk()?),
        _ => return None,
    };
    Some((subject, seq, prev))
}

/// A record as it travels: the exact body bytes and a detached Ed25519 signature.
///
/// Nothing about it is trusted until a [`Verifier`](crate::Verifier) says so.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SignedRecord {
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl SignedRecord {
    /// Wraps untrusted body bytes and a signature.
    #[must_use]
    pub fn from_parts(body: Vec<u8>, signature: [u8; SIGNATURE_LEN]) -> Self {
        Self { body, signature }
    }

    /// The body bytes, exactly as received or signed.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The signature bytes.
    #[must_use]
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The record ID of the body bytes (whether or not they decode).
    #[must_use]
    pub fn id(&self) -> RecordId {
        RecordId::of_body(&self.body)
    }

    /// Length of this record's frame on the wire: 4 + body + 64.
    #[must_use]
    pub fn frame_len(&self) -> usize {
        4 + self.body.len() + SIGNATURE_LEN
    }

    /// Appends this record's frame — `u32` little-endian body length, body, signature — to `out`.
    pub fn write_frame(&self, out: &mut Vec<u8>) {
        // Invariant: bodies built here or read from frames are at most MAX_BODY_LEN bytes.
        let len = u32::try_from(self.body.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
    }

    /// Reads one frame from the front of `bytes`, returning the record and the bytes used.
    ///
    /// # Errors
    /// [`FrameError`] when the frame is truncated or its length exceeds [`MAX_BODY_LEN`].
    pub fn read_frame(bytes: &[u8]) -> Result<(Self, usize), FrameError> {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(FrameError::Truncated {
                offset: 0,
                need: 4,
                have: bytes.len(),
            });
        };
        let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if len > MAX_BODY_LEN {
            return Err(FrameError::TooLong {
                offset: 0,
                len,
                max: MAX_BODY_LEN,
            });
        }
        let need = len + SIGNATURE_LEN;
        let (Some(body), Some(sig)) = (rest.get(..len), rest.get(len..need)) else {
            return Err(FrameError::Truncated {
                offset: 4,
                need,
                have: rest.len(),
            });
        };
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        Ok((
            Self {
                body: body.to_vec(),
                signature,
            },
            4 + need,
        ))
    }
}

/// Serde form of a record: its frame (`u32` length, body, signature) as one byte string,
/// checked like [`SignedRecord::read_frame`] when read back.
impl Serialize for SignedRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut frame = Vec::with_capacity(self.frame_len());
        self.write_frame(&mut frame);
        s.serialize_bytes(&frame)
    }
}

impl<'de> Deserialize<'de> for SignedRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FrameVisitor;
        impl serde::de::Visitor<'_> for FrameVisitor {
            type Value = SignedRecord;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record frame")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<SignedRecord, E> {
                let (record, used) = SignedRecord::read_frame(v).map_err(E::custom)?;
                if used != v.len() {
                    return Err(E::custom(format!(
                        "record frame has {} bytes after its signature",
                        v.len() - used
                    )));
                }
                Ok(record)
            }
        }
        d.deserialize_bytes(FrameVisitor)
    }
}

impl fmt::Debug for SignedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRecord")
            .field("id", &self.id())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_claiming_gigabytes_is_refused_without_allocating() {
        let mut frame = u32::MAX.to_le_bytes().to_vec();
        frame.extend_from_slice(&[0; 100]);
        assert!(matches!(
            SignedRecord::read_frame(&frame),
            Err(FrameError::TooLong { .. })
        ));
        let mut file = LEDGER_MAGIC.to_vec();
        file.extend_from_slice(&frame);
        let mut reader = LedgerReader::new(file.as_slice()).unwrap();
        assert!(matches!(
            reader.next(),
            Some(Err(FrameError::TooLong { offset: 20, .. }))
        ));
        assert!(reader.next().is_none());
    }

    #[test]
    fn bad_magic_and_short_bodies() {
        assert!(matches!(
            LedgerReader::new(&b"not a ledger file at all"[..]),
            Err(FrameError::BadMagic)
        ));
        assert!(matches!(
            RecordBody::decode(&[1]),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            RecordBody::decode(&[3, 0, 0]),
            Err(DecodeError::UnsupportedVersion(3))
        );
        // Version 2 is known, and this one is cut short.
        assert!(matches!(
            RecordBody::decode(&[2, 0, 0]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn length_prefixes_claiming_terabytes_are_refused_in_bounded_memory() {
        // Bodies decode without bincode's per-read limit: a string must still be borrowed
        // (a huge prefix runs off the input) and the parent list stays preallocation-capped.
        use crate::event::{Event, LineageRef};
        use crate::{Chain, Signer, Text, Timestamp};
        let s = Signer::from_seed([3; 32]);
        let mut pig = Chain::new("eartag:161083000000042".parse().unwrap());
        let weighed = pig
            .append(&s, Timestamp::from_millis(1), Event::Weighing { grams: 9 })
            .unwrap();
        let mut cut = Chain::new("eartag:161083000000043".parse().unwrap());
        let parents = vec![LineageRef {
            subject: pig.subject().clone(),
            record: weighed.id(),
        }];
        let product = Text::new("belly").unwrap();
        let e = Event::Transformation {
            parents,
            product,
            grams: 7,
        };
        let body = cut
            .append(&s, Timestamp::from_millis(2), e)
            .unwrap()
            .body()
            .to_vec();
        RecordBody::decode(&body).unwrap();
        let text_len = body
            .windows(13)
            .position(|w| w == b"\x05\0\0\0\0\0\0\0belly")
            .unwrap();
        // The parent count sits right before the first parent's subject.
        let subject = encoding::encode(pig.subject()).unwrap();
        let count = body[2..]
            .windows(subject.len())
            .position(|w| w == subject.as_slice())
            .map(|p| p + 2 - 8)
            .unwrap();
        assert_eq!(body[count..count + 8], 1u64.to_le_bytes());
        for (at, claim) in [
            (text_len, 1u64 << 40),
            (text_len, u64::MAX),
            (count, u64::MAX),
        ] {
            let mut bad = body.clone();
            bad[at..at + 8].copy_from_slice(&claim.to_le_bytes());
            let err = RecordBody::decode(&bad).unwrap_err();
            assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
        }
    }

    #[test]
    fn the_header_reader_agrees_with_the_decoder() {
        // Every subject scheme, seq 0 and later, with and without prev; then every
        // truncation of a body gives `None` or the same prefix, never a panic.
        let cfg = crate::demo::DemoConfig {
            pigs: 2,
            ..crate::demo::DemoConfig::new(5)
        };
        let records = cfg.generate().records;
        let mut schemes = std::collections::BTreeSet::new();
        for r in &records {
            let body = RecordBody::decode(r.body()).unwrap();
            let (subject, seq, prev) = body_header(r.body()).unwrap();
            assert_eq!(subject, encoding::encode(body.subject()).unwrap());
            assert_eq!(seq, body.seq());
            assert_eq!(prev, body.prev().map(|p| *p.as_bytes()));
            schemes.insert(body.subject().scheme());
        }
        assert_eq!(schemes.len(), 2, "{schemes:?}");
        let iso = SubjectId::Iso11784(crate::id::Iso11784::new(156, 1).unwrap());
        let bytes = encoding::encode(&iso).unwrap();
        let mut body = vec![1, 0];
        body.extend_from_slice(&bytes);
        body.extend_from_slice(&7u64.to_le_bytes());
        body.push(0);
        assert_eq!(body_header(&body), Some((&bytes[..], 7, None)));
        for r in records.iter().take(50) {
            for len in 0..r.body().len() {
                let _ = body_header(&r.body()[..len]);
            }
        }
        assert_eq!(body_header(&[1, 0, 9, 0, 0, 0]), None);
    }
}
