//! China livestock ear tags: species, GB/T 2260 county, serial.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

use super::parse_digits;

/// The species digit that opens a China livestock ear-tag code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Species {
    /// Pig (species code 1).
    Pig,
    /// Cattle (species code 2).
    Cattle,
    /// Sheep or goat (species code 3).
    SheepGoat,
}

impl Species {
    /// The ear-tag species digit.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Pig => 1,
            Self::Cattle => 2,
            Self::SheepGoat => 3,
        }
    }

    /// The species of an ear-tag species digit.
    ///
    /// # Errors
    /// [`IdError::UnknownSpecies`] for any digit other than 1, 2 or 3.
    pub const fn from_code(code: u8) -> Result<Self, IdError> {
        match code {
            1 => Ok(Self::Pig),
            2 => Ok(Self::Cattle),
            3 => Ok(Self::SheepGoat),
            other => Err(IdError::UnknownSpecies(other)),
        }
    }

    /// A lower-case English name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pig => "pig",
            Self::Cattle => "cattle",
            Self::SheepGoat => "sheep/goat",
        }
    }
}

impl fmt::Display for Species {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// GB/T 2260 province-level codes (first two digits of a county code).
pub(super) const PROVINCES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// A China livestock ear-tag code: 15 digits = species (1) + county (6, GB/T 2260) + serial (8).
///
/// # Example
/// ```
/// use agritrace::{EarTag, Species};
/// let tag: EarTag = "161083000000042".parse()?;
/// assert_eq!(tag.species(), Species::Pig);
/// assert_eq!(tag.county(), 610830); // Qingjian county, Shaanxi
/// assert_eq!(tag.serial(), 42);
/// # Ok::<(), agritrace::IdError>(())
/// ```
// Invariant: the code has 15 digits with a valid species digit and province code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct EarTag(u64);

impl EarTag {
    /// Builds an ear tag from its parts.
    ///
    /// # Errors
    /// [`IdError::CountyOutOfRange`] or [`IdError::UnknownProvince`] for a county that is not a
    /// six-digit GB/T 2260 code, and [`IdError::SerialOutOfRange`] for a serial above 99,999,999.
    pub fn new(species: Species, county: u32, serial: u32) -> Result<Self, IdError> {
        if !(100_000..=999_999).contains(&county) {
            return Err(IdError::CountyOutOfRange(county));
        }
        if serial > 99_999_999 {
            return Err(IdError::SerialOutOfRange(serial));
        }
        Self::try_from(
            u64::from(species.code()) * 100_000_000_000_000
                + u64::from(county) * 100_000_000
                + u64::from(serial),
        )
    }

    /// The species the code is for.
    #[must_use]
    pub fn species(self) -> Species {
        // Invariant: validated at construction.
        match self.0 / 100_000_000_000_000 {
            2 => Species::Cattle,
            3 => Species::SheepGoat,
            _ => Species::Pig,
        }
    }

    /// The six-digit GB/T 2260 county code (610830 is Qingjian, Shaanxi).
    #[must_use]
    pub fn county(self) -> u32 {
        // Invariant: six digits always fit.
        u32::try_from(self.0 / 100_000_000 % 1_000_000).unwrap_or(0)
    }

    /// The eight-digit serial within the county.
    #[must_use]
    pub fn serial(self) -> u32 {
        u32::try_from(self.0 % 100_000_000).unwrap_or(0)
    }
}

impl TryFrom<u64> for EarTag {
    type Error = IdError;
    fn try_from(code: u64) -> Result<Self, IdError> {
        if code > 999_999_999_999_999 {
            return Err(IdError::EarTagOutOfRange(code));
        }
        let species = u8::try_from(code / 100_000_000_000_000).unwrap_or(0);
        Species::from_code(species)?;
        let province = u8::try_from(code / 1_000_000_000_000 % 100).unwrap_or(0);
        if !PROVINCES.contains(&province) {
            return Err(IdError::UnknownProvince(province));
        }
        Ok(Self(code))
    }
}

impl From<EarTag> for u64 {
    fn from(t: EarTag) -> u64 {
        t.0
    }
}

impl fmt::Display for EarTag {
    /// The 15 digits, without scheme prefix (see [`SubjectId`](crate::SubjectId) for the prefixed form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}", self.0)
    }
}

impl FromStr for EarTag {
    type Err = IdError;
    /// Parses exactly 15 ASCII digits.
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::try_from(parse_digits(s, 15, "ear tag")?)
    }
}
