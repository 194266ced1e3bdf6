//! Lower-case hexadecimal for IDs and keys.

use std::fmt;

/// Lower-case hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Writes lower-case hex of `bytes` to a formatter without allocating.
pub(crate) fn write(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Parses exactly `N` bytes of hex (either case).
///
/// Returns `None` when the length is not `2 * N` or a character is not a hex digit.
pub(crate) fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// `Display` (64 lower-case hex digits), `Debug` (`Name(hex)`) and `FromStr` (64 hex
/// digits, either case) for a newtype over `[u8; 32]`.
macro_rules! impl_hex_display {
    ($name:ident) => {
        impl ::std::fmt::Display for $name {
            /// 64 lower-case hex digits.
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::hex::write(f, &self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ParseHexError;
            /// Parses 64 hex digits.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::hex::decode_array(s)
                    .map(Self)
                    .ok_or($crate::error::ParseHexError { expected: 64 })
            }
        }
    };
}
pub(crate) use impl_hex_display;

/// `from_bytes` and `as_bytes`, and the hex forms of [`impl_hex_display`], for a newtype
/// over `[u8; 32]`: the one shape of record IDs, public keys and tree hashes.
macro_rules! bytes32_newtype {
    ($name:ident) => {
        impl $name {
            /// Wraps 32 bytes.
            #[must_use]
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The 32 bytes.
            #[must_use]
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        $crate::hex::impl_hex_display!($name);
    };
}
pub(crate) use bytes32_newtype;

/// A public newtype over `[u8; 32]` ([`bytes32_newtype`]) whose serde form is 64 hex digits
/// in human-readable formats and otherwise the 32 bytes, as the binary format has always
/// had them (through a derived wire type `$wire`; binary formats do not see its name).
macro_rules! bytes32_type {
    ($(#[$doc:meta])* $name:ident, $wire:ident, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        $crate::hex::bytes32_newtype!($name);

        /// The binary form, as the format has always had it.
        #[derive(::serde::Serialize, ::serde::Deserialize)]
        struct $wire(#[serde(with = "crate::encoding::bytes32")] [u8; 32]);

        impl From<&$name> for $wire {
            fn from(v: &$name) -> Self {
                Self(v.0)
            }
        }

        impl From<$wire> for $name {
            fn from(w: $wire) -> Self {
                Self(w.0)
            }
        }

        $crate::encoding::text_in_human_formats!($name, $wire, $expecting);
    };
}
pub(crate) use bytes32_type;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let s = super::encode(&[0, 1, 0xab, 0xff]);
        assert_eq!(s, "0001abff");
        assert_eq!(super::decode_array::<4>(&s), Some([0, 1, 0xab, 0xff]));
        assert_eq!(
            super::decode_array::<4>("0001ABFF"),
            Some([0, 1, 0xab, 0xff])
        );
        assert_eq!(super::decode_array::<4>("0001abf"), None);
        assert_eq!(super::decode_array::<2>("zz00"), None);
    }
}
