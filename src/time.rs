//! Integer time types: instants in milliseconds and calendar days, both since the Unix epoch (UTC).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::encoding::FromStrVisitor;

/// An instant: milliseconds since 1970-01-01T00:00:00Z.
///
/// In binary formats an `i64`; in human-readable ones (JSON) an RFC 3339 string such as
/// `"2026-03-01T08:30:00.000Z"` (integer milliseconds are read too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch.
    #[must_use]
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Midnight UTC at the start of `day`.
    #[must_use]
    pub const fn at_start_of(day: Day) -> Self {
        Self(day.0 as i64 * MILLIS_PER_DAY)
    }

    /// The calendar day (UTC) this instant falls on.
    #[must_use]
    pub const fn day(self) -> Day {
        // Invariant: |ms| / MILLIS_PER_DAY < 2^37 / 10^4 fits in i32 for every i64 input.
        #[allow(
            clippy::cast_possible_truncation,
            reason = "i64::MAX / 86_400_000 < i32::MAX"
        )]
        Day(self.0.div_euclid(MILLIS_PER_DAY) as i32)
    }

    /// This instant plus `ms` milliseconds, saturating at the ends of the range.
    #[must_use]
    pub const fn saturating_add_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Timestamp {
    /// ISO 8601 in UTC, to the millisecond: `2026-03-01T08:30:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms_of_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (m, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        write!(f, "{}T{h:02}:{m:02}:{s:02}.{ms:03}Z", self.day())
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

impl FromStr for Timestamp {
    type Err = TimeParseError;

    /// RFC 3339: `2026-03-01T08:30:00Z`, with optional fractional seconds (up to
    /// milliseconds) and a `Z` or `±HH:MM` offset (`2026-03-01T16:30:00+08:00` is the same
    /// instant). A lower-case `t` or `z`, or a space for `T`, is accepted as RFC 3339
    /// allows.
    ///
    /// # Example
    /// ```
    /// use agritrace::Timestamp;
    /// let t: Timestamp = "2026-03-01T16:30:00.250+08:00".parse()?;
    /// assert_eq!(t.to_string(), "2026-03-01T08:30:00.250Z");
    /// assert!("2026-03-01".parse::<Timestamp>().is_err());
    /// # Ok::<(), agritrace::TimeParseError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, TimeParseError> {
        let err = |what| TimeParseError::new(s, what);
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS and Z or an offset"));
        }
        let day = parse_day(&b[..10]).ok_or_else(|| err("bad date"))?;
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err(err("expected T between date and time"));
        }
        let time = (number(&b[11..13]), number(&b[14..16]), number(&b[17..19]));
        let (Some(h), Some(m), Some(sec)) = time else {
            return Err(err("bad time of day"));
        };
        if b[13] != b':' || b[16] != b':' || h > 23 || m > 59 || sec > 59 {
            return Err(err("bad time of day"));
        }
        let mut rest = &b[19..];
        let mut millis = 0i64;
        if let Some((b'.', frac)) = rest.split_first() {
            let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 3 {
                return Err(err("fractional seconds must have 1 to 3 digits"));
            }
            for (i, &c) in frac[..digits].iter().enumerate() {
                millis += i64::from(c - b'0') * [100, 10, 1][i];
            }
            rest = &frac[digits..];
        }
        let offset_minutes = match rest {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let (Some(oh), Some(om)) = (number(&[*h1, *h2]), number(&[*m1, *m2])) else {
                    return Err(err("bad offset"));
                };
                if oh > 23 || om > 59 {
                    return Err(err("bad offset"));
                }
                let minutes = oh * 60 + om;
                if *sign == b'-' { -minutes } else { minutes }
            }
            _ => return Err(err("expected Z or an offset like +08:00 after the time")),
        };
        let ms = i64::from(day.0) * MILLIS_PER_DAY
            + ((h * 60 + m - offset_minutes) * 60 + sec) * 1000
            + millis;
        Ok(Self(ms))
    }
}

/// A calendar day: days since 1970-01-01 (UTC), used for birth dates and daily counts.
///
/// In binary formats an `i32`; in human-readable ones (JSON) `"YYYY-MM-DD"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// The day `days` after 1970-01-01.
    #[must_use]
    pub const fn from_days_since_epoch(days: i32) -> Self {
        Self(days)
    }

    /// Days since 1970-01-01.
    #[must_use]
    pub const fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// The day of a proleptic Gregorian date, or `None` when the month or day is out of range.
    ///
    /// # Example
    /// ```
    /// use agritrace::Day;
    /// let d = Day::from_ymd(2026, 3, 1).ok_or("bad date")?;
    /// assert_eq!(d.to_string(), "2026-03-01");
    /// # Ok::<(), &str>(())
    /// ```
    #[must_use]
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Howard Hinnant's days_from_civil, in i64 to keep every step exact.
        let y = i64::from(year) - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (i64::from(month) + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        i32::try_from(era * 146_097 + doe - 719_468).ok().map(Self)
    }

    /// The `(year, month, day)` of this day in the proleptic Gregorian calendar.
    #[must_use]
    pub fn to_ymd(self) -> (i32, u32, u32) {
        // Howard Hinnant's civil_from_days.
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        // Invariant: every i32 day maps to a year within i32 and a month/day within u32.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "ranges shown above"
        )]
        (y as i32, m as u32, d as u32)
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    #[must_use]
    pub fn days_until(self, later: Day) -> i64 {
        i64::from(later.0) - i64::from(self.0)
    }
}

impl FromStr for Day {
    type Err = TimeParseError;

    /// `YYYY-MM-DD`.
    ///
    /// # Example
    /// ```
    /// use agritrace::Day;
    /// let d: Day = "2026-03-01".parse()?;
    /// assert_eq!(Some(d), Day::from_ymd(2026, 3, 1));
    /// assert!("2026-02-30".parse::<Day>().is_err());
    /// # Ok::<(), agritrace::TimeParseError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, TimeParseError> {
        if s.len() != 10 {
            return Err(TimeParseError::new(s, "expected YYYY-MM-DD"));
        }
        parse_day(s.as_bytes()).ok_or_else(|| TimeParseError::new(s, "not a date as YYYY-MM-DD"))
    }
}

/// A `YYYY-MM-DD` date in exactly 10 bytes.
fn parse_day(b: &[u8]) -> Option<Day> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(number(&b[..4])?).ok()?;
    let month = u32::try_from(number(&b[5..7])?).ok()?;
    let day = u32::try_from(number(&b[8..10])?).ok()?;
    Day::from_ymd(year, month, day)
}

/// A run of ASCII digits as a number (at most 4 digits are passed).
fn number(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, &c| n * 10 + i64::from(c - b'0')))
}

/// A date or instant that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{input:?}: {what}")]
pub struct TimeParseError {
    input: String,
    what: &'static str,
}

impl TimeParseError {
    fn new(input: &str, what: &'static str) -> Self {
        Self {
            input: input.chars().take(40).collect(),
            what,
        }
    }
}

impl fmt::Display for Day {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.to_ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The binary form: the derive of the newtype, as the format has always had it.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Timestamp")]
struct TimestampWire(i64);

#[derive(Serialize, Deserialize)]
#[serde(rename = "Day")]
struct DayWire(i32);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            TimestampWire(self.0).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(FromStrVisitor::<Self>::with_integers(
                "an RFC 3339 time such as 2026-03-01T08:30:00Z, or integer milliseconds",
                Self::from_millis,
            ))
        } else {
            TimestampWire::deserialize(d).map(|w| Self(w.0))
        }
    }
}

impl From<&Day> for DayWire {
    fn from(d: &Day) -> Self {
        Self(d.0)
    }
}

impl From<DayWire> for Day {
    fn from(w: DayWire) -> Self {
        Self(w.0)
    }
}

crate::encoding::text_in_human_formats!(Day, DayWire, "a date as YYYY-MM-DD");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-200_000..200_000).step_by(7) {
            let d = Day(days);
            let (y, m, dd) = d.to_ymd();
            assert_eq!(Day::from_ymd(y, m, dd), Some(d));
        }
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        assert_eq!(
            Day::from_ymd(2000, 2, 29).map(|d| d.to_string()).as_deref(),
            Some("2000-02-29")
        );
        assert_eq!(Day::from_ymd(1900, 2, 29), None);
        assert_eq!(Day::from_ymd(2026, 13, 1), None);
    }

    #[test]
    fn rfc3339_round_trips_and_offsets() {
        for ms in (-5_000_000_000_000i64..5_000_000_000_000).step_by(7_777_777_777) {
            let t = Timestamp(ms);
            assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t), "{t}");
            assert_eq!(t.day().to_string().parse::<Day>(), Ok(t.day()));
        }
        let utc: Timestamp = "2026-03-01T08:30:00Z".parse().unwrap_or(Timestamp(0));
        for same in [
            "2026-03-01T16:30:00+08:00",
            "2026-03-01t08:30:00z",
            "2026-03-01 08:30:00.000Z",
            "2026-03-01T03:00:00-05:30",
        ] {
            assert_eq!(same.parse::<Timestamp>(), Ok(utc), "{same}");
        }
        assert_eq!(
            "2026-03-01T08:30:00.5Z".parse::<Timestamp>(),
            Ok(utc.saturating_add_millis(500))
        );
        for bad in [
            "",
            "2026-03-01",
            "2026-03-01T08:30:00",
            "2026-02-30T08:30:00Z",
            "2026-03-01T24:00:00Z",
            "2026-03-01T08:60:00Z",
            "2026-03-01T08:30:60Z",
            "2026-03-01T08:30:00.1234Z",
            "2026-03-01T08:30:00.Z",
            "2026-03-01T08:30:00+8:00",
            "2026-03-01T08:30:00+08:00x",
            "2026-03-01T08:30:00+24:00",
            "+026-03-01T08:30:00Z",
            "2026-03-01T08:30:00Z\n",
            "２026-03-01T08:30:00Z",
        ] {
            let e = bad.parse::<Timestamp>();
            assert!(e.is_err(), "{bad:?} parsed as {e:?}");
        }
        let e = "2026-13-01T00:00:00Z".parse::<Timestamp>().err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("\"2026-13-01T00:00:00Z\": bad date")
        );
        assert!("2026-3-01".parse::<Day>().is_err());
    }

    #[test]
    fn timestamp_display() {
        let t = Timestamp::from_millis(1_772_354_000_123);
        assert_eq!(t.to_string(), "2026-03-01T08:33:20.123Z");
        assert_eq!(
            Timestamp::from_millis(-1).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        let _ = Timestamp::from_millis(i64::MIN).to_string();
        let _ = Timestamp::from_millis(i64::MAX).to_string();
    }
}
