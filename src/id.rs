//! Subject identifiers (China ear tags, ISO 11784 animal codes, GTIN-14 + lot) and key IDs.
//!
//! Every identifier is a validated type: constructors and `FromStr` check the whole input,
//! and decoding a record re-runs the same checks, so an invalid ID never enters a chain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;
use crate::inline::InlineStr;

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
const PROVINCES: [u8; 34] = [
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
    /// The 15 digits, without scheme prefix (see [`SubjectId`] for the prefixed form).
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
struct RawIso {
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
struct RawLot {
    gtin: u64,
    lot: LotText,
}

/// A lot string as read: checked and copied inline, or why it is not a lot.
#[derive(Clone)]
struct LotText(Result<InlineStr<MAX_LOT_LEN>, IdError>);

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

fn check_gtin(gtin: u64) -> Result<(), IdError> {
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
fn check_lot(lot: &str) -> Result<InlineStr<MAX_LOT_LEN>, IdError> {
    if lot.is_empty() {
        return Err(IdError::LotEmpty);
    }
    if let Some((position, ch)) = lot.char_indices().find(|&(_, c)| !is_gs1_char(c)) {
        return Err(IdError::LotCharacter { position, ch });
    }
    InlineStr::new(lot).ok_or(IdError::LotTooLong(lot.len()))
}

/// GS1 AI encodable character set 82.
fn is_gs1_char(c: char) -> bool {
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
