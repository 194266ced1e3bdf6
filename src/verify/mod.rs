//! Verification: from untrusted records to verified types that prove the checks ran; only
//! a verifier builds them. ("Witness" in this crate means a C2SP log witness,
//! [`crate::Witness`], never these types.)
//!
//! [`Verifier::verify_chain`] and [`Verifier::verify_set`] are the reference path: one
//! record at a time, in the normative check order (decode → link → signer → signature →
//! lineage). Faster paths must return exactly what they return.

pub(crate) mod check;
mod engine;
mod lineage;
mod reference;
mod set;
pub(crate) mod sig;

use std::collections::BTreeMap;

use crate::error::{VerifyError, VerifyErrors};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SIGNATURE_LEN, SignedRecord};
use crate::trust::{Policy, TrustStore};

pub use engine::{DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, LedgerVerifier, MAX_LISTED_ERRORS};
pub use sig::{SignatureItem, verify_signature, verify_signatures};

/// Verifies records against a trust store and a policy.
///
/// # Example
/// ```
/// use agritrace::*;
/// let farm = Signer::from_seed([1; 32]);
/// let mut trust = TrustStore::new();
/// trust.add(farm.public_key(), KeyGrant::new(Text::new("Qingjian coop")?, Role::Farm, Timestamp::from_millis(0)))?;
///
/// let pig: SubjectId = "eartag:161083000000042".parse()?;
/// let mut chain = Chain::new(pig.clone());
/// let records = vec![
///     chain.append(&farm, Timestamp::from_millis(10), Event::Weighing { grams: 1_200 })?,
///     chain.append(&farm, Timestamp::from_millis(20), Event::Weighing { grams: 1_900 })?,
/// ];
///
/// let policy = Policy::livestock();
/// let verified = Verifier::new(&trust, &policy).verify_chain(&pig, &records)?;
/// assert_eq!(verified.len(), 2);
///
/// let mut tampered = records.clone();
/// tampered.swap(0, 1);
/// let err = Verifier::new(&trust, &policy).verify_chain(&pig, &tampered).unwrap_err();
/// assert_eq!(err.index, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Verifier<'a> {
    trust: &'a TrustStore,
    policy: &'a Policy,
}

impl<'a> Verifier<'a> {
    /// A verifier trusting the keys in `trust` for what `policy` allows.
    #[must_use]
    pub fn new(trust: &'a TrustStore, policy: &'a Policy) -> Self {
        Self { trust, policy }
    }

    /// Verifies one subject's whole chain, from seq 0, record by record.
    ///
    /// Lineage references to other subjects are not resolved here (their chains are not
    /// given); use [`Verifier::verify_set`] for that.
    ///
    /// # Errors
    /// The first rejected record, with its index in `records`, subject, ID and [`Reason`](crate::Reason).
    pub fn verify_chain(
        &self,
        subject: &SubjectId,
        records: &[SignedRecord],
    ) -> Result<VerifiedChain, VerifyError> {
        reference::verify_chain(self.trust, self.policy, subject, records)
    }

    /// Verifies a set of chains with their lineage: records of any subjects, each subject's
    /// records in chain order (interleaving between subjects is free), every chain complete
    /// from seq 0, and every lineage reference resolved within the set.
    ///
    /// # Errors
    /// [`VerifyErrors`] listing, by input index, the first rejected record of every failing
    /// chain and every record that does not decode. Records after a chain's first rejected
    /// record are not judged.
    pub fn verify_set(&self, records: &[SignedRecord]) -> Result<VerifiedSet, VerifyErrors> {
        reference::verify_set(self.trust, self.policy, records)
    }
}

/// A record that passed verification: its ID, decoded body and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRecord {
    id: RecordId,
    body: RecordBody,
    signature: [u8; SIGNATURE_LEN],
}

impl VerifiedRecord {
    /// The record ID.
    #[must_use]
    pub fn id(&self) -> RecordId {
        self.id
    }
    /// The decoded body.
    #[must_use]
    pub fn body(&self) -> &RecordBody {
        &self.body
    }
    /// The signature.
    #[must_use]
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }
}

/// Proof that one subject's chain verified: only a [`Verifier`] builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct VerifiedChain {
    subject: SubjectId,
    records: Vec<VerifiedRecord>,
}

impl VerifiedChain {
    /// The subject.
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }
    /// The records, seq 0 first.
    #[must_use]
    pub fn records(&self) -> &[VerifiedRecord] {
        &self.records
    }
    /// Number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }
    /// Whether the chain is empty (never true for a verified chain).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// The ID of the last record.
    #[must_use]
    pub fn tip(&self) -> Option<RecordId> {
        self.records.last().map(VerifiedRecord::id)
    }
}

/// Proof that a set of chains verified, lineage included: only a [`Verifier`] builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct VerifiedSet {
    chains: BTreeMap<SubjectId, VerifiedChain>,
}

impl VerifiedSet {
    /// The chain of `subject`, if in the set.
    #[must_use]
    pub fn chain(&self, subject: &SubjectId) -> Option<&VerifiedChain> {
        self.chains.get(subject)
    }
    /// Every chain, by subject.
    pub fn chains(&self) -> impl Iterator<Item = &VerifiedChain> {
        self.chains.values()
    }
    /// Number of chains.
    #[must_use]
    pub fn len(&self) -> usize {
        self.chains.len()
    }
    /// Whether the set holds no chain.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }
    /// Total number of records.
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.chains.values().map(VerifiedChain::len).sum()
    }
}

/// Proof that a streamed ledger verified in full, lineage included: only a
/// [`LedgerVerifier`] builds it. Holds each chain's tip, not the records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct VerifiedLedger {
    records: u64,
    tips: ChainTips,
}

impl VerifiedLedger {
    /// Number of records verified.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The last record of each chain.
    pub fn tips(&self) -> &ChainTips {
        &self.tips
    }
}

/// The last record of each chain of a ledger, by subject: its seq and ID. What a
/// [`VerifiedLedger`] and a [`LoggedLedger`](crate::LoggedLedger) hold instead of the records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainTips(BTreeMap<SubjectId, (u64, RecordId)>);

impl ChainTips {
    /// Number of chains.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no chains.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The seq and ID of the last record of `subject`'s chain.
    #[must_use]
    pub fn get(&self, subject: &SubjectId) -> Option<(u64, RecordId)> {
        self.0.get(subject).copied()
    }

    /// Every chain's tip, by subject.
    pub fn iter(&self) -> impl Iterator<Item = (&SubjectId, (u64, RecordId))> {
        self.0.iter().map(|(s, t)| (s, *t))
    }
}

impl FromIterator<(SubjectId, (u64, RecordId))> for ChainTips {
    fn from_iter<I: IntoIterator<Item = (SubjectId, (u64, RecordId))>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}
