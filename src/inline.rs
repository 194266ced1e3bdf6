//! Short strings kept inline, so that decoding a record allocates nothing for its text
//! fields (DESIGN §5: no per-record allocation on the verification path).

use std::cmp::Ordering;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// A string of at most `N` bytes (`N` ≤ 255) stored in place.
// Invariant: `bytes[..len]` is valid UTF-8 and every byte after it is zero, so the derived
// equality and hash agree with those of the string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct InlineStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// `s`, when it fits.
    pub(crate) fn new(s: &str) -> Option<Self> {
        let len = u8::try_from(s.len()).ok().filter(|_| s.len() <= N)?;
        let mut bytes = [0u8; N];
        bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(Self { len, bytes })
    }

    pub(crate) fn as_str(&self) -> &str {
        // `new` copied a whole `&str`, so both steps always succeed.
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl<const N: usize> PartialOrd for InlineStr<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> Ord for InlineStr<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Deserializes a string and hands it to `parse` while it is borrowed from the input
/// (bincode's slice decoder lends it; no `String` is built).
pub(crate) fn deserialize_str_with<'de, D, T, E>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
{
    struct StrVisitor<T, E> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, E>,
    }
    impl<T, E: fmt::Display> Visitor<'_> for StrVisitor<T, E> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<Er: de::Error>(self, s: &str) -> Result<T, Er> {
            (self.parse)(s).map_err(Er::custom)
        }
    }
    d.deserialize_str(StrVisitor { expecting, parse })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_orders_and_compares_as_the_string() {
        let a = InlineStr::<4>::new("ab").unwrap();
        let b = InlineStr::<4>::new("b").unwrap();
        assert_eq!(a.as_str(), "ab");
        assert!(a < b, "orders as strings, not by length");
        assert_eq!(InlineStr::<4>::new("ab"), Some(a));
        assert!(InlineStr::<4>::new("abcde").is_none());
        assert_eq!(InlineStr::<4>::new("").unwrap().as_str(), "");
        assert_eq!(
            format!("{:?}", InlineStr::<8>::new("猪").unwrap()),
            "\"猪\""
        );
    }
}
