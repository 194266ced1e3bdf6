//! Integer time types: instants in milliseconds and calendar days, both since the Unix epoch (UTC).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An instant: milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// A calendar day: days since 1970-01-01 (UTC), used for birth dates and daily counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
