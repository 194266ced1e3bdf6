//! Where a record came from when it was made from another system's event: the event's
//! content hash, signed with the record (format version 2, FORMAT.md §2).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseHexError;

/// The content hash of the event a record was made from, signed with the record: a
/// partner's GS1 EPCIS event, named by its CBV event hash (the SHA-256 digest of the
/// event's pre-hash string). A body that carries one is format version 2.
///
/// Its text form is the hash's own RFC 6920 form.
///
/// # Example
/// ```
/// use agritrace::SourceHash;
/// let text = "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0";
/// let source: SourceHash = text.parse()?;
/// assert_eq!(source.to_string(), text);
/// assert!("ni:///sha-256;00?ver=CBV2.0".parse::<SourceHash>().is_err());
/// # Ok::<(), agritrace::ParseHexError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SourceHash {
    /// A GS1 EPCIS event's CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`).
    EpcisCbv20(#[serde(with = "crate::encoding::bytes32")] [u8; 32]),
    /// A GS1 EPCIS event's CBV 2.1 event hash (`ni:///sha-256;…?ver=CBV2.1`).
    EpcisCbv21(#[serde(with = "crate::encoding::bytes32")] [u8; 32]),
}

impl SourceHash {
    /// The SHA-256 digest.
    #[must_use]
    pub fn digest(&self) -> &[u8; 32] {
        match self {
            Self::EpcisCbv20(d) | Self::EpcisCbv21(d) => d,
        }
    }
}

impl fmt::Display for SourceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ni:///sha-256;")?;
        for b in self.digest() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(match self {
            Self::EpcisCbv20(_) => "?ver=CBV2.0",
            Self::EpcisCbv21(_) => "?ver=CBV2.1",
        })
    }
}

impl FromStr for SourceHash {
    type Err = ParseHexError;

    /// `ni:///sha-256;<64 lower-case hex digits>?ver=CBV2.0` (or `CBV2.1`).
    fn from_str(s: &str) -> Result<Self, ParseHexError> {
        let bad = ParseHexError { expected: 64 };
        let rest = s.strip_prefix("ni:///sha-256;").ok_or(bad)?;
        let (hex, version) = rest.split_once("?ver=").ok_or(bad)?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad);
        }
        let mut d = [0u8; 32];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or(bad)?, 16).map_err(|_| bad)?;
        }
        match version {
            "CBV2.0" => Ok(Self::EpcisCbv20(d)),
            "CBV2.1" => Ok(Self::EpcisCbv21(d)),
            _ => Err(bad),
        }
    }
}
