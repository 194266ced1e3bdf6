//! The global transparency log (DESIGN §6): an RFC 9162 Merkle tree over every record in
//! log order, signed checkpoints with witness cosignatures (C2SP formats), fork evidence,
//! offline trace bundles, and checkpoint-trusted verification.
//!
//! The leaf of a record is `SHA-256(0x00 || body || signature)`: it commits to every byte
//! of the record as it travels.

mod bundle;
mod checkpoint;
mod fork;
mod logged;
mod merkle;
mod note;
mod witness;

pub use bundle::{
    BUNDLE_MAGIC, BundleError, MAX_BUNDLE_LEN, TraceBundle, VerifiedBundle, read_bundle_file,
    verify_bundle,
};
pub use checkpoint::{Checkpoint, CheckpointError, LogPolicy, LogSigner, VerifiedCheckpoint};
pub use fork::{FORK_MAGIC, ForkError, ForkEvidence, find_forks};
pub use logged::{CheckpointVerifier, LoggedError, LoggedLedger, sync_tree};
pub use merkle::{
    MerkleTree, ProofError, RootBuilder, TreeHash, root_of, verify_consistency, verify_inclusion,
};
pub use note::{
    KeyKind, MAX_NOTE_LEN, MAX_NOTE_SIGNATURES, Note, NoteError, NoteSignature, NoteSigned,
    NoteSigner, VerifierKey,
};
pub use witness::{Witness, WitnessError};
