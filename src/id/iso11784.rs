//! ISO 11784 animal codes: a country or manufacturer code and 12 digits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

use super::parse_digits;

/// An ISO 11784 animal code: a 3-digit country (ISO 3166 numeric, 156 = China) or
/// manufacturer code (900–998), then a 12-digit national identification number.
///
/// # Example
/// ```
/// use agritrace::Iso11784;
/// let code: Iso11784 = "156000012345678".parse()?;
/// assert_eq!(code.country(), 156);
/// assert_eq!(code.national_id(), 12_345_678);
/// assert!(!code.is_manufacturer_code());
/// # Ok::<(), agritrace::IdError>(())
/// ```
// Invariant: country in 1..=998, national id < 10^12.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawIso", into = "RawIso")]
pub struct Iso11784 {
    country: u16,
    national: u64,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
pub(super) struct RawIso {
    country: u16,
    national: u64,
}

impl Iso11784 {
    /// Builds a code from its parts.
    ///
    /// # Errors
    /// [`IdError::CountryCodeOutOfRange`] unless `country` is 1–998;
    /// [`IdError::NationalIdOutOfRange`] when `national` has more than 12 digits.
    pub fn new(country: u16, national: u64) -> Result<Self, IdError> {
        if !(1..=998).contains(&country) {
            return Err(IdError::CountryCodeOutOfRange(country));
        }
        if national > 999_999_999_999 {
            return Err(IdError::NationalIdOutOfRange(national));
        }
        Ok(Self { country, national })
    }

    /// The country or manufacturer code.
    #[must_use]
    pub fn country(self) -> u16 {
        self.country
    }

    /// The 12-digit national identification number.
    #[must_use]
    pub fn national_id(self) -> u64 {
        self.national
    }

    /// Whether the first three digits are a manufacturer code (900–998) rather than a country.
    #[must_use]
    pub fn is_manufacturer_code(self) -> bool {
        self.country >= 900
    }
}

impl TryFrom<RawIso> for Iso11784 {
    type Error = IdError;
    fn try_from(r: RawIso) -> Result<Self, IdError> {
        Self::new(r.country, r.national)
    }
}

impl From<Iso11784> for RawIso {
    fn from(c: Iso11784) -> RawIso {
        RawIso {
            country: c.country,
            national: c.national,
        }
    }
}

impl fmt::Display for Iso11784 {
    /// The 15 digits, without scheme prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}{:012}", self.country, self.national)
    }
}

impl FromStr for Iso11784 {
    type Err = IdError;
    /// Parses exactly 15 ASCII digits.
    fn from_str(s: &str) -> Result<Self, IdError> {
        let n = parse_digits(s, 15, "ISO 11784 code")?;
        let country = u16::try_from(n / 1_000_000_000_000).unwrap_or(u16::MAX);
        Self::new(country, n % 1_000_000_000_000)
    }
}
