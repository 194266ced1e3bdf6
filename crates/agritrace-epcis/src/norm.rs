//! Value normalisation for the CBV event hash (NOTES §a.8): timestamps to UTC milliseconds,
//! numbers without redundant zeros, CBV URNs to Web URIs, GS1 identifiers to canonical
//! Digital Links.

use agritrace::{Day, Timestamp};

use crate::dl;
use crate::vocab::{CBV_BASE, GS1_VOC_BASE, Vocab};

/// A timestamp with any number of fractional digits, as UTC milliseconds: rounded half-up
/// at the fourth fractional digit. `None` if `s` is not `YYYY-MM-DDTHH:MM:SS[.f…]` with `Z`
/// or a `±HH:MM` offset.
///
/// # Example
/// ```
/// use agritrace_epcis::norm::parse_time;
/// let t = parse_time("2023-02-02T11:04:03.1415Z").map(|(t, _)| t.to_string());
/// assert_eq!(t.as_deref(), Some("2023-02-02T11:04:03.142Z"));
/// let t = parse_time("2005-04-03T20:33:31.116000-06:00").map(|(t, d)| (t.to_string(), d));
/// assert_eq!(t, Some(("2005-04-04T02:33:31.116Z".to_owned(), 6)));
/// ```
pub fn parse_time(s: &str) -> Option<(Timestamp, usize)> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |n, &c| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let day = Day::from_ymd(
        i32::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    )?;
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let (mut millis, mut digits) = (0i64, 0usize);
    if let Some((b'.', frac)) = rest.split_first() {
        digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, &c) in frac[..digits.min(3)].iter().enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        if frac
            .get(3)
            .is_some_and(|&c| c.is_ascii_digit() && c >= b'5')
        {
            millis += 1;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = i64::from(h1.checked_sub(b'0')?) * 10 + i64::from(h2.checked_sub(b'0')?);
            let om = i64::from(m1.checked_sub(b'0')?) * 10 + i64::from(m2.checked_sub(b'0')?);
            if !h1.is_ascii_digit()
                || !h2.is_ascii_digit()
                || !m1.is_ascii_digit()
                || !m2.is_ascii_digit()
                || oh > 23
                || om > 59
            {
                return None;
            }
            if *sign == b'-' {
                -(oh * 60 + om)
            } else {
                oh * 60 + om
            }
        }
        _ => return None,
    };
    let start = Timestamp::at_start_of(day).as_millis();
    let ms = start + ((h * 60 + m - offset) * 60 + sec) * 1000 + millis;
    Some((Timestamp::from_millis(ms), digits))
}

/// `s` as a plain decimal without a sign `+`, leading zeros or trailing fractional zeros
/// (`26.0` → `26`, `0.10` → `0.1`, `0012` → `12`, `-0.0` → `0`); `None` if `s` is not a
/// number. Exponents are written out when they move the point by at most 64 places.
pub fn canon_number(s: &str) -> Option<String> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => {
            let e: i64 = body[i + 1..].parse().ok()?;
            (&body[..i], e)
        }
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digit = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digit(int) || !digit(frac) || exp.unsigned_abs() > 64
    {
        return None;
    }
    let mut digits: String = format!("{int}{frac}");
    let mut point = i64::try_from(int.len()).ok()? + exp;
    if point < 0 {
        digits.insert_str(0, &"0".repeat(usize::try_from(-point).ok()?));
        point = 0;
    }
    let point = usize::try_from(point).ok()?;
    while digits.len() < point {
        digits.push('0');
    }
    let (i, f) = digits.split_at(point);
    let i = i.trim_start_matches('0');
    let f = f.trim_end_matches('0');
    let i = if i.is_empty() { "0" } else { i };
    let zero = i == "0" && f.is_empty();
    let sign = if neg && !zero { "-" } else { "" };
    Some(if f.is_empty() {
        format!("{sign}{i}")
    } else {
        format!("{sign}{i}.{f}")
    })
}

/// Whether a key names a time (contains `time`, but not `offset`, in any case).
pub(crate) fn is_time_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("time") && !k.contains("offset")
}

/// The generic value normalisation: trimmed; a time under a time key; otherwise old CBV
/// URNs to Web URIs, numbers canonical, GS1 identifiers canonical.
pub fn canon_value(key: &str, value: &str) -> String {
    let v = value.trim();
    if is_time_key(key) {
        if let Some((t, _)) = parse_time(v) {
            return t.to_string();
        }
        return v.to_owned();
    }
    for vocab in [
        Vocab::BizStep,
        Vocab::Disposition,
        Vocab::BizTransactionType,
        Vocab::SourceDestType,
        Vocab::ErrorReason,
    ] {
        if let Some(word) = v.strip_prefix(vocab.urn_prefix()) {
            return format!("{CBV_BASE}{}{word}", vocab.prefix());
        }
    }
    if let Some(n) = canon_number(v) {
        return n;
    }
    dl::canonical(v).unwrap_or_else(|| v.to_owned())
}

/// A CBV vocabulary value as the hash writes it: a bare word, a `cbv:` CURIE or an old URN
/// becomes `https://ref.gs1.org/cbv/<Prefix><word>`; any other URI stays.
pub fn canon_vocab(vocab: Vocab, value: &str) -> String {
    let v = value.trim();
    if let Some(word) = v.strip_prefix(vocab.urn_prefix()) {
        return format!("{CBV_BASE}{}{word}", vocab.prefix());
    }
    if let Some(term) = v.strip_prefix("cbv:") {
        return format!("{CBV_BASE}{term}");
    }
    if vocab.has(v) || !v.contains(':') {
        return format!("{CBV_BASE}{}{v}", vocab.prefix());
    }
    canon_value("", v)
}

/// A GS1 Web Vocabulary value (measurement `type`, `exception`): a bare word or a `gs1:`
/// CURIE becomes `https://ref.gs1.org/voc/<word>`; any other URI stays.
pub fn canon_gs1_word(value: &str) -> String {
    let v = value.trim();
    if let Some(word) = v.strip_prefix("gs1:") {
        return format!("{GS1_VOC_BASE}{word}");
    }
    if !v.contains(':') {
        return format!("{GS1_VOC_BASE}{v}");
    }
    canon_value("", v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_redundant_zeros() {
        for (a, b) in [
            ("26.0", "26"),
            ("0.10", "0.1"),
            ("0012", "12"),
            ("23.0", "23"),
            ("200", "200"),
            ("-0.0", "0"),
            ("+5", "5"),
            ("1e3", "1000"),
            ("1.5E-2", "0.015"),
            (".5", "0.5"),
        ] {
            assert_eq!(canon_number(a).as_deref(), Some(b), "{a}");
        }
        for s in [
            "",
            "-",
            ".",
            "1.2.3",
            "f0f0f0",
            "2019-10-21",
            "+01:00",
            "1e999",
            "12a",
            // Exponents whose magnitude overflows an i64 negation: refused, not a huge string.
            "1e-9223372036854775808",
            "1e9223372036854775807",
        ] {
            assert_eq!(canon_number(s), None, "{s}");
        }
    }

    #[test]
    fn times_round_half_up_and_carry() {
        let t = |s| parse_time(s).map(|(t, _)| t.to_string());
        assert_eq!(
            t("2023-02-02T11:04:03.1414Z").as_deref(),
            Some("2023-02-02T11:04:03.141Z")
        );
        assert_eq!(
            t("2023-12-31T23:59:59.9995Z").as_deref(),
            Some("2024-01-01T00:00:00.000Z")
        );
        assert_eq!(
            t("2020-04-01T15:00:00+01:00").as_deref(),
            Some("2020-04-01T14:00:00.000Z")
        );
        assert_eq!(
            t("2023-03-27T11:30:00.0Z").as_deref(),
            Some("2023-03-27T11:30:00.000Z")
        );
        for bad in [
            "2020-04-01",
            "2020-04-01T15:00:00",
            "2020-13-01T00:00:00Z",
            "2020-04-01T15:00:00.Z",
            "２０２０-04-01T15:00:00Z",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }
}
