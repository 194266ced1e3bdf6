//! Canonical bytes: the only module that names `bincode`.
//!
//! One fixed configuration (little-endian, fixed-width integers), a length limit on every
//! decoded input, trailing bytes rejected, and exactly one accepted encoding per value: record
//! bodies get that by construction (see [`decode_exact`]), other values through a
//! re-encoding check. `docs/FORMAT.md` describes the resulting bytes.

use bincode::config::{self, Config, Configuration, Fixint, Limit, LittleEndian};
use bincode::enc::write::Writer;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::DecodeError;

/// Largest accepted record body, in bytes. A decode never reads or allocates past it.
pub const MAX_BODY_LEN: usize = 16 * 1024;

/// Largest accepted container (trace bundle, fork evidence), in bytes.
pub(crate) const MAX_CONTAINER_LEN: usize = 8 * 1024 * 1024;

const fn config_within<const N: usize>() -> Configuration<LittleEndian, Fixint, Limit<N>> {
    config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<N>()
}

/// The canonical configuration without bincode's byte limit, for [`decode_exact`] only.
///
/// There the input is checked to be at most [`MAX_BODY_LEN`] bytes first, and the limit
/// could never trip: the slice reader cannot read past the slice, and the types decoded
/// this way (record bodies) borrow every string from the input (`Text`, GS1 lots), so no
/// length prefix is ever turned into an allocation. Their one sequence, a transformation's
/// parents, goes through serde, which preallocates at most 1 MiB whatever the prefix
/// claims, and then needs a byte of input per element. Without the limit, no check runs
/// (and no error value is built and dropped) on every field read. Types holding an owned
/// `String` or byte vector must use the limited configuration: bincode allocates such a
/// value's claimed length before reading it.
const fn borrowing_config() -> Configuration<LittleEndian, Fixint> {
    config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

/// Encodes `value` in the canonical configuration.
///
/// Encoding our own types cannot fail (no `usize`, maps or unsized sequences; every
/// validated field is within the limit), so a failure is reported as an oversized body.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, DecodeError> {
    encode_within::<T, MAX_BODY_LEN>(value)
}

/// [`encode`] with a limit of `N` bytes.
pub(crate) fn encode_within<T: Serialize, const N: usize>(
    value: &T,
) -> Result<Vec<u8>, DecodeError> {
    let bytes = bincode::serde::encode_to_vec(value, config_within::<N>()).map_err(|e| {
        DecodeError::Malformed(match e {
            bincode::error::EncodeError::OtherString(m) => format!("cannot encode: {m}"),
            bincode::error::EncodeError::Other(m) => format!("cannot encode: {m}"),
            _ => "the value cannot be encoded in this format".to_owned(),
        })
    })?;
    if bytes.len() > N {
        return Err(DecodeError::TooLong {
            len: bytes.len(),
            max: N,
        });
    }
    Ok(bytes)
}

/// Decodes `bytes` as a `T`, accepting only the canonical encoding of the whole input.
///
/// # Errors
/// [`DecodeError::TooLong`] before reading anything when `bytes` exceeds [`MAX_BODY_LEN`];
/// [`DecodeError::Malformed`] for bytes that do not decode (truncation, bad tags, invalid
/// fields, a length prefix past the limit); [`DecodeError::TrailingBytes`] when the value
/// ends early; [`DecodeError::NonCanonical`] when re-encoding gives other bytes.
pub(crate) fn decode_canonical<T: DeserializeOwned + Serialize>(
    bytes: &[u8],
) -> Result<T, DecodeError> {
    decode_canonical_within::<T, MAX_BODY_LEN>(bytes)
}

/// [`decode_canonical`] with a limit of `N` bytes instead of [`MAX_BODY_LEN`].
pub(crate) fn decode_canonical_within<T: DeserializeOwned + Serialize, const N: usize>(
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let value: T = decode_whole::<T, N>(bytes, config_within::<N>())?;
    // Re-encode without allocating: compare each written piece against the input.
    let mut cmp = CompareWriter {
        expected: bytes,
        pos: 0,
    };
    match bincode::serde::encode_into_writer(&value, &mut cmp, config_within::<N>()) {
        Ok(()) if cmp.pos == bytes.len() => Ok(value),
        _ => Err(DecodeError::NonCanonical),
    }
}

/// Decodes `bytes` as a `T` whose decoding is injective, so no re-encoding pass is needed
/// (DESIGN §5: none on the verification path). That holds for record bodies: integers are
/// fixed-width, `bool`, `Option` and enum tags accept one value each, strings must be UTF-8,
/// and every validated field keeps exactly what it read (it never normalises). The
/// `accepted_bodies_are_canonical` property test and the `decode_body` fuzz target check
/// that every accepted body re-encodes to the bytes received.
///
/// Decodes without bincode's per-read limit (see [`borrowing_config`]), so `T` must borrow
/// its strings from the input rather than own them.
///
/// # Errors
/// As [`decode_canonical`], except [`DecodeError::NonCanonical`].
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_whole::<T, MAX_BODY_LEN>(bytes, borrowing_config())
}

/// A decode of the whole input, which must be at most `N` bytes long.
fn decode_whole<T: DeserializeOwned, const N: usize>(
    bytes: &[u8],
    config: impl Config,
) -> Result<T, DecodeError> {
    if bytes.len() > N {
        return Err(DecodeError::TooLong {
            len: bytes.len(),
            max: N,
        });
    }
    let (value, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config).map_err(|e| malformed(&e, N))?;
    if read != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            at: read,
            extra: bytes.len() - read,
        });
    }
    Ok(value)
}

/// A container file (trace bundle, fork evidence): `magic` then the canonical encoding of
/// `value`, at most [`MAX_CONTAINER_LEN`] bytes.
pub(crate) fn encode_container<T: Serialize>(
    magic: &[u8],
    value: &T,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = magic.to_vec();
    out.extend(encode_within::<T, MAX_CONTAINER_LEN>(value)?);
    Ok(out)
}

/// Reads a container written by [`encode_container`]: the magic (naming `what` when it is
/// missing), then a bounded canonical decode of the rest.
pub(crate) fn decode_container<T: DeserializeOwned + Serialize>(
    magic: &[u8],
    what: &str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let rest = bytes
        .strip_prefix(magic)
        .ok_or_else(|| DecodeError::Malformed(format!("not a {what}: missing its magic")))?;
    decode_canonical_within::<T, MAX_CONTAINER_LEN>(rest)
}

/// Says why bytes did not decode, in words about the input rather than the decoder's
/// `Debug` output (bincode's `Display` prints its enum).
fn malformed(e: &bincode::error::DecodeError, limit: usize) -> DecodeError {
    use bincode::error::DecodeError as E;
    DecodeError::Malformed(match e {
        E::UnexpectedEnd { additional } => {
            format!("the input ends early ({additional} more bytes needed)")
        }
        // A length too large for this platform's `usize` (wasm32) is over the limit too:
        // one message on every platform.
        E::LimitExceeded | E::OutsideUsizeRange(_) => {
            format!("a length prefix claims more than the {limit}-byte limit")
        }
        E::UnexpectedVariant {
            type_name, found, ..
        } => format!("unknown {type_name} tag {found}"),
        E::Utf8 { inner } => format!(
            "a text field is not valid UTF-8 (after {} valid bytes)",
            inner.valid_up_to()
        ),
        E::InvalidBooleanValue(b) => format!("a boolean byte is {b:#04x}, not 0 or 1"),
        E::ArrayLengthMismatch { required, found } => {
            format!("a fixed-size field has {found} elements, not {required}")
        }
        E::InvalidCharEncoding(_) => "a character field is not a valid character".to_owned(),
        E::NonZeroTypeIsZero { .. } => "a non-zero field is zero".to_owned(),
        // Messages from serde and from this crate's validated types.
        E::OtherString(m) => m.clone(),
        E::Other(m) => (*m).to_owned(),
        _ => "the bytes do not decode as this format".to_owned(),
    })
}

/// A bincode writer that fails as soon as what is written departs from `expected`.
struct CompareWriter<'a> {
    expected: &'a [u8],
    pos: usize,
}

impl Writer for CompareWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        let end = self.pos + bytes.len();
        if self.expected.get(self.pos..end) == Some(bytes) {
            self.pos = end;
            Ok(())
        } else {
            Err(bincode::error::EncodeError::Other("re-encoding differs"))
        }
    }
}

/// Reads a value from its text form (`FromStr`) in human-readable formats such as JSON;
/// the binary format keeps each type's derived form.
pub(crate) struct FromStrVisitor<T> {
    expecting: &'static str,
    from_millis: Option<fn(i64) -> T>,
}

impl<T> FromStrVisitor<T> {
    pub(crate) const fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            from_millis: None,
        }
    }

    /// Also accepts an integer, converted by `from_integer`.
    pub(crate) const fn with_integers(expecting: &'static str, from_integer: fn(i64) -> T) -> Self {
        Self {
            expecting,
            from_millis: Some(from_integer),
        }
    }
}

impl<T> serde::de::Visitor<'_> for FromStrVisitor<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        match self.from_millis {
            Some(f) => Ok(f(v)),
            None => Err(E::invalid_type(serde::de::Unexpected::Signed(v), &self)),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        match (self.from_millis, i64::try_from(v)) {
            (Some(f), Ok(v)) => Ok(f(v)),
            _ => Err(E::invalid_type(serde::de::Unexpected::Unsigned(v), &self)),
        }
    }
}

/// `Serialize` and `Deserialize` for a type with a text form (`Display` + `FromStr`):
/// the text in human-readable formats, `$wire` (the derived binary form, built from and
/// turned into the type) otherwise.
macro_rules! text_in_human_formats {
    ($name:ty, $wire:ident, $expecting:literal) => {
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(self)
                } else {
                    $wire::from(self).serialize(s)
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    d.deserialize_str($crate::encoding::FromStrVisitor::<Self>::new($expecting))
                } else {
                    <$wire as ::serde::Deserialize>::deserialize(d).map(Self::from)
                }
            }
        }
    };
}
pub(crate) use text_in_human_formats;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Probe {
        a: u32,
        b: Option<u16>,
        s: String,
        v: Vec<u8>,
        flag: bool,
    }

    fn probe() -> Probe {
        Probe {
            a: 7,
            b: Some(2),
            s: "hi".into(),
            v: vec![1, 2, 3],
            flag: true,
        }
    }

    #[test]
    fn fixed_little_endian_layout() {
        let bytes = encode(&probe()).unwrap();
        let mut want = vec![7, 0, 0, 0, 1, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, b'h', b'i'];
        want.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 1]);
        assert_eq!(bytes, want);
        assert_eq!(decode_canonical::<Probe>(&bytes).unwrap(), probe());
    }

    #[test]
    fn trailing_bytes_rejected() {
        let mut bytes = encode(&probe()).unwrap();
        bytes.push(0);
        let n = bytes.len();
        assert_eq!(
            decode_canonical::<Probe>(&bytes),
            Err(DecodeError::TrailingBytes {
                at: n - 1,
                extra: 1
            })
        );
    }

    #[test]
    fn huge_length_prefix_refused_without_allocating() {
        // A string length claiming 2^40 bytes (a terabyte): refused by the limit before any
        // allocation; if it were honoured this test would abort with an allocation failure.
        let mut bytes = vec![7, 0, 0, 0, 0];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let err = decode_canonical::<Probe>(&bytes).unwrap_err();
        assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
        // The same for a sequence claiming u64::MAX elements.
        let mut bytes = vec![7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_canonical::<Probe>(&bytes).is_err());
    }

    #[test]
    fn oversized_input_refused_before_decoding() {
        let bytes = vec![0u8; MAX_BODY_LEN + 1];
        assert_eq!(
            decode_canonical::<Probe>(&bytes),
            Err(DecodeError::TooLong {
                len: MAX_BODY_LEN + 1,
                max: MAX_BODY_LEN
            })
        );
    }

    #[test]
    fn bool_and_option_tags_are_strict() {
        let mut bytes = encode(&probe()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] = 2; // bool must be 0 or 1
        assert!(decode_canonical::<Probe>(&bytes).is_err());
        let mut bytes = encode(&probe()).unwrap();
        bytes[4] = 2; // option tag must be 0 or 1
        assert!(decode_canonical::<Probe>(&bytes).is_err());
    }

    /// A type whose decoding normalises its input: two encodings, one value. The re-encoding
    /// check is what refuses the second encoding.
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    #[serde(from = "u8", into = "u8")]
    struct Lenient(bool);
    impl From<u8> for Lenient {
        fn from(b: u8) -> Self {
            Lenient(b != 0)
        }
    }
    impl From<Lenient> for u8 {
        fn from(l: Lenient) -> u8 {
            u8::from(l.0)
        }
    }
    impl Clone for Lenient {
        fn clone(&self) -> Self {
            Lenient(self.0)
        }
    }

    #[test]
    fn non_canonical_body_rejected() {
        assert!(decode_canonical::<Lenient>(&[1]).is_ok());
        assert_eq!(
            decode_canonical::<Lenient>(&[2]).unwrap_err(),
            DecodeError::NonCanonical
        );
    }
}

/// Serde for 32-byte arrays as two little-endian `u128`s: on the wire exactly the 32 bytes
/// (as a `[u8; 32]` would be), but decoded in two reads instead of thirty-two.
pub(crate) mod bytes32 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[allow(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` calls it by reference"
    )]
    pub(crate) fn serialize<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let (lo, hi) = b.split_at(16);
        let lo = u128::from_le_bytes(lo.try_into().unwrap_or([0; 16]));
        let hi = u128::from_le_bytes(hi.try_into().unwrap_or([0; 16]));
        (lo, hi).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let (lo, hi) = <(u128, u128)>::deserialize(d)?;
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&lo.to_le_bytes());
        b[16..].copy_from_slice(&hi.to_le_bytes());
        Ok(b)
    }
}
