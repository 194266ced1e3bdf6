//! Errors, one convention for the whole crate.
//!
//! - **One narrow error per operation**, as redb does: a function returns the error of what
//!   it does (`IdError` for parsing an ID, `BundleError` for a bundle, `StoreError` for a
//!   store), so a caller matches only the cases that operation can produce.
//! - **Where they live**: the errors of the data model and of verification, which several
//!   modules share, are here (this file and `verify.rs`); an error that belongs to one
//!   subsystem lives beside it (`StoreError` in `store`, the log's in `tlog`, `TraceError`
//!   in `trace`).
//! - **Causes stay typed**: a wrapping variant holds the inner error as its `#[source]`
//!   (never flattened to a string), so `Error::source` walks the chain. The exceptions are
//!   messages from outside the crate's types (a backend's or an I/O error's text with the
//!   file it concerns), which say so in their docs.
//! - **One umbrella**, [`Error`], converts from every one of them, so an application can
//!   use `Result<T, agritrace::Error>` and `?` everywhere.

mod verify;

pub use verify::{
    AppendError, Reason, StreamError, TrustError, TrustHistoryError, VerifyError, VerifyErrors,
};

use thiserror::Error;

use crate::store::StoreError;
use crate::time::TimeParseError;
use crate::tlog::{
    BundleError, CheckpointError, ForkError, LoggedError, NoteError, ProofError, WitnessError,
};
use crate::trace::TraceError;

/// A malformed subject identifier.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdError {
    /// The text has no `scheme:` prefix.
    #[error("subject ID has no scheme prefix; expected eartag:, iso11784: or lot:")]
    MissingScheme,
    /// The scheme prefix is not one this crate knows.
    #[error("unknown subject ID scheme {0:?}; expected eartag, iso11784 or lot")]
    UnknownScheme(String),
    /// Wrong number of digits.
    #[error("{what} must be {expected} digits, got {found}")]
    WrongLength {
        /// What was being parsed.
        what: &'static str,
        /// Digits required.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("{what} has non-digit {ch:?} at position {position}")]
    NonDigit {
        /// What was being parsed.
        what: &'static str,
        /// Byte offset of the character.
        position: usize,
        /// The character.
        ch: char,
    },
    /// The ear tag's first digit is not a known species.
    #[error("unknown species code {0} (1 pig, 2 cattle, 3 sheep/goat)")]
    UnknownSpecies(u8),
    /// The county code does not start with a GB/T 2260 province code.
    #[error("unknown province code {0:02} in county code")]
    UnknownProvince(u8),
    /// The ear tag number has more than 15 digits.
    #[error("ear tag code {0} has more than 15 digits")]
    EarTagOutOfRange(u64),
    /// The county is not six digits.
    #[error("county code {0} is not six digits")]
    CountyOutOfRange(u32),
    /// The serial is more than eight digits.
    #[error("ear tag serial {0} is more than eight digits")]
    SerialOutOfRange(u32),
    /// ISO 11784 country or manufacturer code outside 001–998.
    #[error("ISO 11784 country or manufacturer code {0:03} is not assigned (001-998)")]
    CountryCodeOutOfRange(u16),
    /// ISO 11784 national ID with more than 12 digits.
    #[error("ISO 11784 national ID {0} is more than 12 digits")]
    NationalIdOutOfRange(u64),
    /// GTIN with more than 14 digits.
    #[error("GTIN {0} is more than 14 digits")]
    GtinOutOfRange(u64),
    /// GTIN check digit mismatch.
    #[error("bad GTIN check digit: expected {expected}, found {found}")]
    BadCheckDigit {
        /// The check digit the other 13 digits call for.
        expected: u8,
        /// The last digit given.
        found: u8,
    },
    /// No `/` between GTIN and lot.
    #[error("lot ID must be GTIN14/LOT, with a slash before the lot")]
    MissingLotSeparator,
    /// Empty lot string.
    #[error("lot number is empty")]
    LotEmpty,
    /// Lot string over 20 characters.
    #[error("lot number is {0} characters, more than 20")]
    LotTooLong(usize),
    /// A character outside the GS1 AI encodable set 82.
    #[error("lot number has {ch:?} at position {position}, outside the GS1 character set")]
    LotCharacter {
        /// Byte offset of the character.
        position: usize,
        /// The character.
        ch: char,
    },
}

/// An invalid [`Text`](crate::Text) field.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TextError {
    /// Empty text.
    #[error("text field is empty")]
    Empty,
    /// Longer than [`MAX_TEXT_LEN`](crate::MAX_TEXT_LEN) bytes.
    #[error("text field is {0} bytes, more than 96")]
    TooLong(usize),
    /// Holds a control character.
    #[error("text field has a control character at byte {position}")]
    ControlCharacter {
        /// Byte offset.
        position: usize,
    },
    /// Holds an invisible formatting character (bidi control, zero-width character).
    #[error("text field has the invisible formatting character U+{:04X} at byte {position}", u32::from(*.ch))]
    InvisibleCharacter {
        /// Byte offset.
        position: usize,
        /// The character.
        ch: char,
    },
}

/// Text that is not the expected number of hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("expected {expected} hex digits")]
pub struct ParseHexError {
    /// Hex digits expected.
    pub expected: usize,
}

/// Record body bytes that cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Longer than the body limit; nothing was decoded.
    #[error("body is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Length received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A format version this crate does not read.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// The bytes do not decode (the message says what was found).
    #[error("does not decode: {0}")]
    Malformed(String),
    /// The body ends before the input does.
    #[error("{extra} trailing bytes after the body, from offset {at}")]
    TrailingBytes {
        /// Offset where the body ended.
        at: usize,
        /// Bytes left over.
        extra: usize,
    },
    /// The value decodes, but re-encoding it gives other bytes (containers; record bodies
    /// are canonical by construction, see `docs/FORMAT.md` §2).
    #[error("body is not in canonical encoding")]
    NonCanonical,
    /// The body decodes but breaks a rule of the format.
    #[error("invalid body: {0}")]
    Invalid(&'static str),
}

/// A malformed record frame in a byte stream.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream does not start with the ledger magic line.
    #[error("not an agritrace ledger (bad magic line)")]
    BadMagic,
    /// The stream ends inside a frame.
    #[error("truncated at byte offset {offset}: needed {need} bytes, {have} available")]
    Truncated {
        /// Offset of the field being read.
        offset: u64,
        /// Bytes needed.
        need: usize,
        /// Bytes there were.
        have: usize,
    },
    /// A frame claims a body over the limit.
    #[error("frame at byte offset {offset} claims a {len}-byte body, more than the limit of {max}")]
    TooLong {
        /// Offset of the frame.
        offset: u64,
        /// Claimed length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The reader failed.
    #[error("read error at byte offset {offset}: {message}")]
    Io {
        /// Offset of the frame.
        offset: u64,
        /// The I/O error's message.
        message: String,
    },
}

/// Declares the umbrella: one `#[from]` variant per error type.
macro_rules! umbrella {
    ($($variant:ident($ty:ident)),* $(,)?) => {
        /// Any error of this crate: a true superset, so `?` works from every operation into
        /// one `Result<T, agritrace::Error>` (the test `every_error_type_converts_into_error`
        /// lists them).
        #[derive(Debug, Error)]
        #[non_exhaustive]
        pub enum Error {
            $(
                #[doc = concat!("See [`", stringify!($ty), "`].")]
                #[error(transparent)]
                $variant(#[from] $ty),
            )*
        }
    };
}

umbrella! {
    Id(IdError),
    Text(TextError),
    Hex(ParseHexError),
    Time(TimeParseError),
    Decode(DecodeError),
    Frame(FrameError),
    Trust(TrustError),
    TrustHistory(TrustHistoryError),
    Append(AppendError),
    Verify(VerifyError),
    VerifySet(VerifyErrors),
    Stream(StreamError),
    Store(StoreError),
    Trace(TraceError),
    Note(NoteError),
    Checkpoint(CheckpointError),
    Witness(WitnessError),
    Proof(ProofError),
    Fork(ForkError),
    Logged(LoggedError),
    Bundle(BundleError),
}
