//! Signed, hash-chained provenance records for agricultural products, verifiable offline.
//!
//! Every animal or lot (a pig with an ear tag, a lot of chestnuts) gets a chain of records
//! — registration, weighings, daily steps, feeding, treatments, moves, slaughter into cuts
//! and packs, sale — each Ed25519-signed by the party or device that made it and linked by
//! SHA-256 to the previous record of the same subject. Anyone holding the records can check
//! the whole history and see any edit, deletion, reordering, insertion or fork.
//!
//! # Quick start
//!
//! ```
//! use agritrace::{Chain, Event, KeyGrant, Policy, Role, Signer, SubjectId, Text, Timestamp, TrustStore, Verifier};
//!
//! // Keys: a pedometer gateway signs daily steps, a vet signs vaccinations.
//! let gateway = Signer::from_seed([1; 32]);
//! let vet = Signer::from_seed([2; 32]);
//! let since = Timestamp::from_millis(0);
//! let mut trust = TrustStore::new();
//! trust.add(gateway.public_key(), KeyGrant::new(Text::new("pen 3 gateway")?, Role::Device, since))?;
//! trust.add(vet.public_key(), KeyGrant::new(Text::new("Dr. Li")?, Role::Vet, since))?;
//!
//! // A pig's chain.
//! let pig: SubjectId = "eartag:161083000000042".parse()?;
//! let mut chain = Chain::new(pig.clone());
//! let day = agritrace::Day::from_ymd(2026, 5, 1).ok_or("date")?;
//! let t = Timestamp::at_start_of(day);
//! let records = vec![
//!     chain.append(&gateway, t, Event::DailyActivity { day, steps: 15_230, device: Text::new("PD-0042")? })?,
//!     chain.append(&vet, t, Event::Treatment {
//!         kind: agritrace::TreatmentKind::Vaccination,
//!         product: Text::new("swine fever vaccine")?,
//!         withdrawal_days: 28,
//!     })?,
//! ];
//!
//! // Anyone with the records and the trusted keys verifies them offline.
//! let policy = Policy::livestock();
//! let verified = Verifier::new(&trust, &policy).verify_chain(&pig, &records)?;
//! assert_eq!(verified.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Overview
//!
//! - Identifiers: [`SubjectId`] over [`EarTag`], [`Iso11784`] and [`GtinLot`], each validated.
//! - What happened: [`Event`], integer units only; [`EventKind`] names the kinds.
//! - Records: [`Chain::append`] builds a [`RecordBody`], encodes it canonically, and signs its
//!   [`RecordId`] with a [`Signer`], giving a [`SignedRecord`].
//! - Trust: a [`TrustStore`] maps keys to parties, [`Role`]s and validity windows; a
//!   [`Policy`] says which roles may sign which events.
//! - Verification: [`Verifier`] is the reference path and returns a [`VerifiedChain`] or
//!   [`VerifiedSet`] (a verified value), or a [`VerifyError`] naming the record (index, subject, ID)
//!   and the [`Reason`]. [`LedgerVerifier`] is the fast engine (parallel decode and hash,
//!   batched signatures, streaming in bounded memory) with exactly the same verdicts.
//! - Files: [`write_ledger`] and [`LedgerReader`] frame records in a byte stream.
//! - Storage: the [`Store`] trait and its embedded backend [`SqliteStore`], which admits a
//!   record only if the verifier would accept it there and then (all-or-nothing batches,
//!   gap-free log positions, lineage edges), under a [`TrustHistory`] of statements signed
//!   by the operator key pinned when the store was created.
//! - Tracing: [`trace()`] gathers an ID's ancestors and descendants from a store, verifies
//!   them and returns a [`Trace`] a person reads (text fields, serde, an SVG chart).
//! - Transparency log: an RFC 9162 [`MerkleTree`] over every record in log order; C2SP
//!   signed checkpoints ([`LogSigner`]) cosigned by [`Witness`]es and checked under a
//!   [`LogPolicy`] (pinned keys, k of n); [`ForkEvidence`] any checker can judge
//!   against its own trust; offline
//!   [`TraceBundle`]s of one subject with its lineage; [`CheckpointVerifier`], which
//!   verifies a whole ledger against a verified checkpoint by re-hashing.
//! - `demo` (feature `demo`): a deterministic demo cooperative for examples, benchmarks and
//!   tests.
//!
//! # Which verifier, under which trust assumption
//!
//! | entry point | input | what it trusts | what it checks | success |
//! |---|---|---|---|---|
//! | [`Verifier`] (reference) | a chain or set in memory | the [`TrustStore`] and [`Policy`] you pass | every record: decode, canonical bytes, link to its tip, signer (trusted, valid at the record's time, role allowed), signature; sets: lineage | [`VerifiedChain`], [`VerifiedSet`] |
//! | [`LedgerVerifier`] (engine) | records in memory, or streamed | the same | the same, in parallel and in batches; the same verdicts | [`VerifiedLedger`], [`VerifiedSet`] |
//! | [`verify_bundle`] / [`TraceBundle::verify`] | one bundle file | the pinned log key and k of n witness keys ([`LogPolicy`]); through them, the log's signed statement of the signers' trust | checkpoint and cosignatures, trust note, an inclusion proof per chain tip, then the engine on the records | [`VerifiedBundle`] |
//! | [`CheckpointVerifier`] | a whole log | a [`VerifiedCheckpoint`]: the log (and its witnesses) vouched for each append | the leaves hash to the checkpoint's root and each chain's seqs follow; **no signatures** | [`LoggedLedger`] |
//! | [`ForkEvidence::check`] | two records, or two checkpoints | your [`TrustStore`] and [`Policy`], or a [`LogPolicy`] | one key validly signed both, and they contradict | `Ok(())` |
//! | [`Witness::cosign`] | a checkpoint note | the log key it follows | the checkpoint extends the last one it cosigned | the cosigned note |
//! | [`Store::append`] (admission) | records to store | the store's [`TrustHistory`] | what [`Verifier`] checks, at the moment of appending | log positions |
//!
//! # Features
//!
//! `sqlite` and `native` are on by default; SQLite is bundled (compiled from source by
//! `rusqlite`), so nothing needs installing.
//!
//! - `sqlite`: [`SqliteStore`].
//! - `native`: what an operating system gives — threads (rayon), randomness (batch
//!   signature verification, [`Signer::generate`]) and a clock.
//! - `demo` (off by default): `agritrace::demo`, a deterministic demo cooperative for
//!   examples, tests and benchmarks. Its keys derive from a public seed.
//!
//! With neither (`default-features = false`) the crate builds for `wasm32-unknown-unknown`
//! (`crates/agritrace-wasm` is the verifier a browser runs): every verifier runs on the
//! calling thread, and checks signatures in batches only after [`provide_entropy`], else
//! one by one. The verdicts are the same whatever the features, the thread count or the
//! platform; `crates/agritrace-wasm`'s browser suite checks it.
//!
//! # Security model
//!
//! `Ok` from a [`Verifier`] means: every record decodes from its canonical bytes; each
//! subject's records form one unbroken chain from seq 0 (no gap, reordering, duplicate or
//! fork, time never running backwards, nothing after an end-of-chain record); every record
//! is signed (ZIP-215, through ed25519-zebra) by a key the trust store holds, valid and not
//! revoked at the record's time, in a role the policy allows for that event; and, for sets,
//! every lineage reference lands on a verified record of the named subject.
//!
//! It does not mean: that the chain is *complete* at its end (a holder can withhold the
//! newest records; a checkpoint shows the log had the bundle's tips, not that they were the
//! newest); that record times are true (they
//! are the signer's claim, only checked for order and key validity); or that the trust
//! store itself is right.
//!
//! # Wire format
//!
//! A record body is bincode 2 (little-endian, fixed-width integers) of [`RecordBody`],
//! at most [`MAX_BODY_LEN`] bytes, accepted only in its canonical encoding. Its ID is
//! `SHA-256("agritrace/v1/record\0" || body)`; the signature covers
//! `"agritrace/v1/signature\0" || ID`. `docs/FORMAT.md` gives every byte.

mod chain;
#[cfg(feature = "demo")]
pub mod demo;
mod encoding;
mod error;
mod event;
mod hash;
mod hashers;
mod hex;
mod id;
mod inline;
mod par;
mod record;
mod signing;
pub mod store;
mod time;
pub mod tlog;
mod trace;
pub mod trust;
mod verify;

/// The crate's documents, rendered here so they travel with the API docs: the design (cited
/// in the code as "DESIGN §N"), the wire format ("FORMAT §N") and the changelog.
pub mod documentation {
    /// How the crate is built and why (`docs/DESIGN.md`).
    #[doc = include_str!("../docs/DESIGN.md")]
    pub mod design {}
    /// The wire format, byte by byte, frozen by known-answer vectors (`docs/FORMAT.md`).
    #[doc = include_str!("../docs/FORMAT.md")]
    pub mod format {}
    /// What the crate measures of itself (`docs/PERFORMANCE.md`).
    #[doc = include_str!("../docs/PERFORMANCE.md")]
    pub mod performance {}
    /// The JSON form of events, as the `agritrace append` command reads them
    /// (`docs/EVENTS.md`).
    #[doc = include_str!("../docs/EVENTS.md")]
    pub mod events {}
    /// Changes, release by release (`CHANGELOG.md`).
    #[doc = include_str!("../CHANGELOG.md")]
    pub mod changelog {}
}

/// The README's Rust code, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use crate::chain::Chain;
pub use crate::encoding::MAX_BODY_LEN;
pub use crate::error::{
    AppendError, DecodeError, Error, FrameError, IdError, ParseHexError, Reason, StreamError,
    TextError, TrustError, TrustHistoryError, VerifyError, VerifyErrors,
};
pub use crate::event::{
    DeviceKind, EndReason, Event, EventKind, InspectionKind, InspectionResult, LineageRef,
    MAX_PARENTS, MAX_TEXT_LEN, RecallKind, Registration, Sex, Text, TreatmentKind,
};
pub use crate::id::{
    EarTag, GtinLot, Iso11784, KeyId, MAX_LOT_LEN, Species, SubjectId, gtin_check_digit,
};
pub use crate::par::provide_entropy;
pub use crate::record::ChainTip;
pub use crate::record::{
    FORMAT_VERSION, FORMAT_VERSION_SOURCED, LEDGER_MAGIC, LedgerReader, RecordBody, RecordId,
    SIGNATURE_LEN, SignedRecord, SourceHash, write_ledger,
};
pub use crate::signing::{KeyWeakness, PublicKey, Signer};
#[cfg(feature = "sqlite")]
pub use crate::store::SqliteStore;
pub use crate::store::{Conflict, LineageEdge, LogStream, Store, StoreError};
pub use crate::time::{Day, TimeParseError, Timestamp};
// The log's headline types; the rest (notes and their keys, proofs, magic numbers, each
// part's error) is under `agritrace::tlog`.
pub use crate::tlog::{
    BundleError, CheckpointError, CheckpointVerifier, ForkEvidence, LogPolicy, LogSigner,
    LoggedLedger, MerkleTree, TraceBundle, TreeHash, VerifiedBundle, VerifiedCheckpoint,
    VerifierKey, Witness, find_forks, read_bundle_file, sync_tree, verify_bundle,
};
pub use crate::trace::{
    AnimalSummary, MAX_TRACE_SUBJECTS, ProductSummary, STEP_GOAL, StepSummary, Trace, TraceError,
    TraceFailure, TreatmentSummary, VerificationSummary, lineage_closure, thousands, trace,
};
// Trust's headline types; the statement format (changes, hashes, headers, limits) is under
// `agritrace::trust`.
pub use crate::trust::{KeyGrant, Policy, Role, TrustHistory, TrustStatement, TrustStore};
pub use crate::verify::{
    ChainTips, DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, LedgerVerifier, MAX_LISTED_ERRORS,
    SignatureItem, VerifiedChain, VerifiedLedger, VerifiedRecord, VerifiedSet, Verifier,
    verify_signature, verify_signatures,
};
