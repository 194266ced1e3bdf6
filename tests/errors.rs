//! The error convention (src/error/mod.rs): every public error type converts into the
//! umbrella `agritrace::Error`, and wrapped causes stay reachable through `source()`.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::error::Error as _;

use agritrace::tlog::{ForkError, LoggedError, NoteError, ProofError, WitnessError};
use agritrace::{
    AppendError, BundleError, CheckpointError, DecodeError, Error, FrameError, IdError,
    ParseHexError, StoreError, StreamError, TextError, TimeParseError, TraceError, TrustError,
    TrustHistoryError, VerifyError, VerifyErrors,
};

fn converts<E: Into<Error>>() {}

#[test]
fn every_error_type_converts_into_error() {
    converts::<IdError>();
    converts::<TextError>();
    converts::<ParseHexError>();
    converts::<TimeParseError>();
    converts::<DecodeError>();
    converts::<FrameError>();
    converts::<TrustError>();
    converts::<TrustHistoryError>();
    converts::<AppendError>();
    converts::<VerifyError>();
    converts::<VerifyErrors>();
    converts::<StreamError>();
    converts::<StoreError>();
    converts::<TraceError>();
    converts::<NoteError>();
    converts::<CheckpointError>();
    converts::<WitnessError>();
    converts::<ProofError>();
    converts::<ForkError>();
    converts::<LoggedError>();
    converts::<BundleError>();
}

#[test]
fn question_mark_reaches_the_umbrella_from_any_operation() {
    fn parse_then_open(id: &str) -> Result<(), Error> {
        let _: agritrace::SubjectId = id.parse()?;
        let _ = agritrace::SqliteStore::open("/nonexistent/dir/ledger.sqlite")?;
        Ok(())
    }
    let e = parse_then_open("eartag:1").unwrap_err();
    assert!(matches!(e, Error::Id(_)), "{e:?}");
    let e = parse_then_open("eartag:161083000000042").unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e:?}");
}

#[test]
fn a_backend_error_keeps_its_cause_and_its_file() {
    let log = agritrace::LogSigner::new("o", agritrace::Signer::from_seed([1; 32])).unwrap();
    let Err(e) = agritrace::SqliteStore::create("/nonexistent/dir/ledger.sqlite", log.verifier())
    else {
        panic!("a store was created in a directory that does not exist");
    };
    let text = e.to_string();
    assert!(text.contains("/nonexistent/dir/ledger.sqlite"), "{text}");
    let StoreError::Backend { source, .. } = &e else {
        panic!("not a backend error: {e:?}");
    };
    assert!(!source.to_string().is_empty());
    assert!(
        e.source().is_some(),
        "the cause is reachable through source()"
    );
}
