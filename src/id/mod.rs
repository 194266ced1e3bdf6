//! Subject identifiers (China ear tags, ISO 11784 animal codes, GTIN-14 + lot) and key IDs.
//!
//! Every identifier is a validated type: constructors and `FromStr` check the whole input,
//! and decoding a record re-runs the same checks, so an invalid ID never enters a chain.
//!
//! Each scheme has its own file: China ear tags (`eartag.rs`), ISO 11784 codes
//! (`iso11784.rs`) and GTIN-14 + lot (`gtin.rs`); the subject that is one of them, and key
//! IDs, are here.

mod eartag;
mod gtin;
mod iso11784;

pub use eartag::{EarTag, Species};
pub use gtin::{GtinLot, MAX_LOT_LEN, gtin_check_digit};
pub use iso11784::Iso11784;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

/// What a chain is about: one animal or one lot.
///
/// The text form names the scheme, so it round-trips through `Display` and `FromStr`:
/// `eartag:161083000000042`, `iso11784:156000012345678`, `lot:06901234567892/QJ-2026-0001`.
///
/// # Example
/// ```
/// use agritrace::SubjectId;
/// let id: SubjectId = "eartag:161083000000042".parse()?;
/// assert_eq!(id.to_string(), "eartag:161083000000042");
/// assert_eq!(id.scheme(), "eartag");
/// let err = "eartag:16108300000004".parse::<SubjectId>().unwrap_err();
/// assert_eq!(err.to_string(), "ear tag must be 15 digits, got 14");
/// # Ok::<(), agritrace::IdError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SubjectId {
    /// A China livestock ear tag.
    EarTag(EarTag),
    /// An ISO 11784 animal code.
    Iso11784(Iso11784),
    /// A GTIN-14 + lot for a batch or product.
    Lot(GtinLot),
}

impl SubjectId {
    /// The scheme prefix of the text form: `eartag`, `iso11784` or `lot`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::EarTag(_) => "eartag",
            Self::Iso11784(_) => "iso11784",
            Self::Lot(_) => "lot",
        }
    }

    /// Reads an ID as a person types it: with its scheme prefix (`eartag:…`,
    /// `iso11784:…`, `lot:…`), or 15 bare digits (an ear tag), or `GTIN14/LOT` (a lot).
    /// Surrounding white space is ignored.
    ///
    /// # Example
    /// ```
    /// use agritrace::SubjectId;
    /// let pig = SubjectId::parse_typed(" 161083000000042 ")?;
    /// assert_eq!(pig.to_string(), "eartag:161083000000042");
    /// let lot = SubjectId::parse_typed("09506000134352/L-1")?;
    /// assert_eq!(lot.to_string(), "lot:09506000134352/L-1");
    /// assert!(SubjectId::parse_typed("16108300000004").is_err());
    /// # Ok::<(), agritrace::IdError>(())
    /// ```
    ///
    /// # Errors
    /// [`IdError`] saying what is wrong.
    pub fn parse_typed(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.contains(':') {
            s.parse()
        } else if s.contains('/') {
            s.parse().map(Self::Lot)
        } else {
            s.parse().map(Self::EarTag)
        }
    }

    /// The species, when the scheme encodes it (China ear tags do).
    #[must_use]
    pub fn species(&self) -> Option<Species> {
        match self {
            Self::EarTag(t) => Some(t.species()),
            _ => None,
        }
    }
}

/// The binary form of a [`SubjectId`] (the derived enum the format has always had; same
/// variants in the same order), borrowed for writing.
#[derive(Serialize)]
#[serde(rename = "SubjectId")]
enum SubjectIdRef<'a> {
    EarTag(&'a EarTag),
    Iso11784(&'a Iso11784),
    Lot(&'a GtinLot),
}

/// The binary form of a [`SubjectId`], owned for reading.
#[derive(Deserialize)]
#[serde(rename = "SubjectId")]
enum SubjectIdWire {
    EarTag(EarTag),
    Iso11784(Iso11784),
    Lot(GtinLot),
}

/// In binary formats the enum; in human-readable ones (JSON) the text form,
/// `eartag:161083000000042`.
impl Serialize for SubjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return s.collect_str(self);
        }
        match self {
            Self::EarTag(t) => SubjectIdRef::EarTag(t),
            Self::Iso11784(c) => SubjectIdRef::Iso11784(c),
            Self::Lot(l) => SubjectIdRef::Lot(l),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SubjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return d.deserialize_str(crate::encoding::FromStrVisitor::<Self>::new(
                "an ID such as eartag:161083000000042, or lot:09506000134352/L-1",
            ));
        }
        Ok(match SubjectIdWire::deserialize(d)? {
            SubjectIdWire::EarTag(t) => Self::EarTag(t),
            SubjectIdWire::Iso11784(c) => Self::Iso11784(c),
            SubjectIdWire::Lot(l) => Self::Lot(l),
        })
    }
}

impl From<EarTag> for SubjectId {
    fn from(t: EarTag) -> Self {
        Self::EarTag(t)
    }
}
impl From<Iso11784> for SubjectId {
    fn from(c: Iso11784) -> Self {
        Self::Iso11784(c)
    }
}
impl From<GtinLot> for SubjectId {
    fn from(l: GtinLot) -> Self {
        Self::Lot(l)
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EarTag(t) => write!(f, "eartag:{t}"),
            Self::Iso11784(c) => write!(f, "iso11784:{c}"),
            Self::Lot(l) => write!(f, "lot:{l}"),
        }
    }
}

impl FromStr for SubjectId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let Some((scheme, rest)) = s.split_once(':') else {
            return Err(IdError::MissingScheme);
        };
        match scheme {
            "eartag" => rest.parse().map(Self::EarTag),
            "iso11784" => rest.parse().map(Self::Iso11784),
            "lot" => rest.parse().map(Self::Lot),
            other => Err(IdError::UnknownScheme(truncate(other, 24))),
        }
    }
}

/// A short, stable identifier derived from an Ed25519 public key:
/// the first 16 bytes of `SHA-256("agritrace/v1/key\0" || key)`, shown as 32 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId([u8; 16]);

impl KeyId {
    pub(crate) fn of_public_key(key: &[u8; 32]) -> Self {
        let d = crate::hash::tagged(crate::hash::KEY_TAG, key);
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        Self(id)
    }

    /// The 16 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::write(f, &self.0)
    }
}

/// Parses exactly `len` ASCII digits into a number, naming what is wrong otherwise.
fn parse_digits(s: &str, len: usize, what: &'static str) -> Result<u64, IdError> {
    if let Some((position, ch)) = s.char_indices().find(|&(_, c)| !c.is_ascii_digit()) {
        return Err(IdError::NonDigit { what, position, ch });
    }
    if s.len() != len {
        return Err(IdError::WrongLength {
            what,
            expected: len,
            found: s.len(),
        });
    }
    // At most 15 digits: always fits a u64.
    Ok(s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')))
}

/// At most `max` characters of `s`, with an ellipsis when cut: untrusted text in errors stays short.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ear_tag_parts() {
        let t = EarTag::new(Species::Pig, 610_830, 1234).unwrap();
        assert_eq!(t.to_string(), "161083000001234");
        assert_eq!(
            (t.species(), t.county(), t.serial()),
            (Species::Pig, 610_830, 1234)
        );
    }

    #[test]
    fn ear_tag_errors_name_the_problem() {
        let e = |s: &str| s.parse::<EarTag>().unwrap_err().to_string();
        assert_eq!(e("46108300000123"), "ear tag must be 15 digits, got 14");
        assert_eq!(
            e("461083000001234"),
            "unknown species code 4 (1 pig, 2 cattle, 3 sheep/goat)"
        );
        assert_eq!(
            e("199083000001234"),
            "unknown province code 99 in county code"
        );
        assert_eq!(
            e("16108300000x234"),
            "ear tag has non-digit 'x' at position 11"
        );
        assert_eq!(
            e("061083000001234"),
            "unknown species code 0 (1 pig, 2 cattle, 3 sheep/goat)"
        );
        assert_eq!(
            EarTag::try_from(u64::MAX).unwrap_err().to_string(),
            "ear tag code 18446744073709551615 has more than 15 digits"
        );
    }

    #[test]
    fn gtin_check_digits() {
        // EAN-13 4006381333931 (a real product code) and two made-up bodies.
        assert_eq!(gtin_check_digit(400_638_133_393), 1);
        assert_eq!(gtin_check_digit(950_600_013_435), 2);
        assert_eq!(gtin_check_digit(690_123_456_789), 2);
        assert!(GtinLot::new(9_506_000_134_352, "A1").is_ok());
        let e = GtinLot::new(9_506_000_134_359, "A1").unwrap_err();
        assert_eq!(e.to_string(), "bad GTIN check digit: expected 2, found 9");
    }

    #[test]
    fn lot_rules() {
        let g = 9_506_000_134_352;
        assert!(matches!(GtinLot::new(g, ""), Err(IdError::LotEmpty)));
        assert!(matches!(
            GtinLot::new(g, "A".repeat(21).as_str()),
            Err(IdError::LotTooLong(21))
        ));
        assert!(matches!(
            GtinLot::new(g, "A B"),
            Err(IdError::LotCharacter {
                position: 1,
                ch: ' '
            })
        ));
        assert!(GtinLot::new(g, &"A".repeat(20)).is_ok());
    }

    #[test]
    fn subject_text_round_trip() {
        for s in [
            "eartag:161083000000042",
            "iso11784:156000012345678",
            "lot:09506000134352/L-1/2",
        ] {
            let id: SubjectId = s.parse().unwrap();
            assert_eq!(id.to_string(), s);
        }
        assert!(matches!(
            "161083000000042".parse::<SubjectId>(),
            Err(IdError::MissingScheme)
        ));
        let long = format!("{}:1", "x".repeat(1000));
        let e = long.parse::<SubjectId>().unwrap_err().to_string();
        assert!(e.len() < 120, "{e}");
    }
}
