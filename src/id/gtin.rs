//! GTIN-14 with its check digit, and a GS1 AI 10 lot.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;
use crate::inline::InlineStr;

use super::parse_digits;

/// Maximum length of a GS1 lot number (AI 10).
pub const MAX_LOT_LEN: usize = 20;

/// A GTIN-14 with a verified check digit plus a lot number (GS1 AI 10): a batch of produce,
/// or a product cut or packed from animals.
///
/// # Example
/// ```
/// use agritrace::GtinLot;
/// let lot = GtinLot::new(6_901_234_567_892, "QJ-2026-0001")?;
/// assert_eq!(lot.to_string(), "06901234567892/QJ-2026-0001");
/// assert!(GtinLot::new(6_901_234_567_893, "X").is_err()); // bad check digit
/// # Ok::<(), agritrace::IdError>(())
/// ```
// Invariant: gtin < 10^14 with a valid mod-10 check digit; lot is 1–20 GS1 AI-82 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawLot", into = "RawLot")]
pub struct GtinLot {
    gtin: u64,
    lot: InlineStr<MAX_LOT_LEN>,
}

/// The wire form of a [`GtinLot`]: the lot is checked while the GTIN is still unchecked,
/// so its verdict is carried until the GTIN has had its say (GTIN errors come first).
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct RawLot {
    gtin: u64,
    lot: LotText,
}

/// A lot string as read: checked and copied inline, or why it is not a lot.
#[derive(Clone)]
pub(super) struct LotText(Result<InlineStr<MAX_LOT_LEN>, IdError>);

impl LotText {
    #[allow(
        clippy::unnecessary_wraps,
        reason = "the string visitor takes a fallible parser; a lot's error waits in `Self`"
    )]
    fn parse(lot: &str) -> Result<Self, std::convert::Infallible> {
        Ok(Self(check_lot(lot)))
    }
}

impl Serialize for LotText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(lot) => s.serialize_str(lot.as_str()),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

impl<'de> Deserialize<'de> for LotText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::inline::deserialize_str_with(d, "a GS1 lot number", Self::parse)
    }
}

impl GtinLot {
    /// Builds a lot ID from a GTIN (up to 14 digits, check digit included) and a lot string.
    ///
    /// # Errors
    /// [`IdError::GtinOutOfRange`], [`IdError::BadCheckDigit`], [`IdError::LotEmpty`],
    /// [`IdError::LotTooLong`] or [`IdError::LotCharacter`].
    pub fn new(gtin: u64, lot: &str) -> Result<Self, IdError> {
        check_gtin(gtin)?;
        Ok(Self {
            gtin,
            lot: check_lot(lot)?,
        })
    }

    /// The GTIN-14 as a number (its text form is zero-padded to 14 digits).
    #[must_use]
    pub fn gtin(&self) -> u64 {
        self.gtin
    }

    /// The lot number.
    #[must_use]
    pub fn lot(&self) -> &str {
        self.lot.as_str()
    }
}

pub(super) fn check_gtin(gtin: u64) -> Result<(), IdError> {
    if gtin > 99_999_999_999_999 {
        return Err(IdError::GtinOutOfRange(gtin));
    }
    let expected = gtin_check_digit(gtin / 10);
    let found = u8::try_from(gtin % 10).unwrap_or(u8::MAX);
    if expected != found {
        return Err(IdError::BadCheckDigit { expected, found });
    }
    Ok(())
}

/// The GS1 mod-10 check digit for the 13 digits of `body`.
#[must_use]
pub fn gtin_check_digit(body: u64) -> u8 {
    let mut n = body;
    let mut sum = 0u64;
    let mut weight = 3;
    while n > 0 {
        sum += (n % 10) * weight;
        weight = 4 - weight;
        n /= 10;
    }
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// Checks a lot string and copies it inline.
pub(super) fn check_lot(lot: &str) -> Result<InlineStr<MAX_LOT_LEN>, IdError> {
    if lot.is_empty() {
        return Err(IdError::LotEmpty);
    }
    if let Some((position, ch)) = lot.char_indices().find(|&(_, c)| !is_gs1_char(c)) {
        return Err(IdError::LotCharacter { position, ch });
    }
    InlineStr::new(lot).ok_or(IdError::LotTooLong(lot.len()))
}

/// GS1 AI encodable character set 82.
pub(super) fn is_gs1_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '"'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '<'
                | '='
                | '>'
                | '?'
                | '_'
        )
}

impl TryFrom<RawLot> for GtinLot {
    type Error = IdError;
    fn try_from(r: RawLot) -> Result<Self, IdError> {
        check_gtin(r.gtin)?;
        Ok(Self {
            gtin: r.gtin,
            lot: r.lot.0?,
        })
    }
}

impl From<GtinLot> for RawLot {
    fn from(l: GtinLot) -> RawLot {
        RawLot {
            gtin: l.gtin,
            lot: LotText(Ok(l.lot)),
        }
    }
}

impl fmt::Display for GtinLot {
    /// `GTIN14/LOT`, without scheme prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014}/{}", self.gtin, self.lot.as_str())
    }
}

impl FromStr for GtinLot {
    type Err = IdError;
    /// Parses `GTIN14/LOT`: exactly 14 digits, a slash, then the lot.
    fn from_str(s: &str) -> Result<Self, IdError> {
        let Some((gtin, lot)) = s.split_once('/') else {
            return Err(IdError::MissingLotSeparator);
        };
        Self::new(parse_digits(gtin, 14, "GTIN")?, lot)
    }
}
