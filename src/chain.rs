//! Building a subject's chain: the next record always extends the tip.

use crate::error::{AppendError, DecodeError};
use crate::event::Event;
use crate::id::SubjectId;
use crate::record::{ChainTip, RecordBody, RecordId, SignedRecord, SourceHash};
use crate::signing::Signer;
use crate::time::Timestamp;
use crate::verify::VerifiedChain;

/// The writer's view of one subject's chain: its tip, from which the next record's seq,
/// prev and earliest time follow.
///
/// # Example
/// ```
/// use agritrace::{Chain, Event, SubjectId, Signer, Timestamp};
/// let scale = Signer::from_seed([9; 32]);
/// let pig: SubjectId = "eartag:161083000000042".parse()?;
/// let mut chain = Chain::new(pig);
/// let first = chain.append(&scale, Timestamp::from_millis(1_000), Event::Weighing { grams: 31_500 })?;
/// let second = chain.append(&scale, Timestamp::from_millis(2_000), Event::Weighing { grams: 32_100 })?;
/// assert_eq!(chain.len(), 2);
/// assert_eq!(chain.tip(), Some(second.id()));
/// assert!(chain.append(&scale, Timestamp::from_millis(1_500), Event::Weighing { grams: 1 }).is_err());
/// # let _ = first;
/// # Ok::<(), agritrace::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Chain {
    subject: SubjectId,
    tip: Option<ChainTip>,
}

impl Chain {
    /// A new, empty chain for `subject`.
    #[must_use]
    pub fn new(subject: SubjectId) -> Self {
        Self { subject, tip: None }
    }

    /// Continues a chain that has been verified.
    #[must_use]
    pub fn resume(chain: &VerifiedChain) -> Self {
        let tip = chain.records().last().map(|r| ChainTip {
            seq: r.body().seq(),
            id: r.id(),
            time: r.body().time(),
            ended: matches!(r.body().event(), Event::EndOfChain { .. }),
        });
        Self {
            subject: chain.subject().clone(),
            tip,
        }
    }

    /// Continues a chain from a tip as a [`Store`](crate::Store) reports it (`None`: the
    /// subject has no records yet). The store's word is taken for the tip; a verifier checks
    /// the result when the records are read back.
    #[must_use]
    pub fn continue_from(subject: SubjectId, tip: Option<ChainTip>) -> Self {
        Self { subject, tip }
    }

    /// Builds, encodes and signs the next record.
    ///
    /// # Errors
    /// [`AppendError::Ended`] after an end-of-chain record; [`AppendError::TimeBeforeTip`]
    /// when `time` is before the tip's; [`AppendError::Invalid`] when the event breaks a
    /// format rule (a registration whose species disagrees with the ear tag, a
    /// transformation without parents, a lineage reference to the subject itself).
    pub fn append(
        &mut self,
        signer: &Signer,
        time: Timestamp,
        event: Event,
    ) -> Result<SignedRecord, AppendError> {
        self.append_from(signer, time, event, None)
    }

    /// [`Chain::append`] for a record made from another system's event (an imported GS1
    /// EPCIS event): the record also names that event's hash, signed with it (format
    /// version 2, FORMAT.md §2).
    ///
    /// # Errors
    /// As [`Chain::append`].
    pub fn append_sourced(
        &mut self,
        signer: &Signer,
        time: Timestamp,
        event: Event,
        source: SourceHash,
    ) -> Result<SignedRecord, AppendError> {
        self.append_from(signer, time, event, Some(source))
    }

    fn append_from(
        &mut self,
        signer: &Signer,
        time: Timestamp,
        event: Event,
        source: Option<SourceHash>,
    ) -> Result<SignedRecord, AppendError> {
        if let Some(tip) = &self.tip {
            if tip.ended {
                return Err(AppendError::Ended(self.subject.clone()));
            }
            if time < tip.time {
                return Err(AppendError::TimeBeforeTip {
                    time,
                    tip: tip.time,
                });
            }
        }
        event
            .check(&self.subject)
            .map_err(|e| AppendError::Invalid(DecodeError::Invalid(e)))?;
        let ended = matches!(event, Event::EndOfChain { .. });
        let mut body = RecordBody::new(
            self.subject.clone(),
            self.tip.as_ref(),
            time,
            signer.public_key(),
            event,
        );
        if let Some(source) = source {
            body = body.with_source(source);
        }
        let seq = body.seq();
        let bytes = body.encode().map_err(AppendError::Invalid)?;
        let id = RecordId::of_body(&bytes);
        let signature = signer.sign_record_id(&id);
        self.tip = Some(ChainTip {
            seq,
            id,
            time,
            ended,
        });
        Ok(SignedRecord::from_parts(bytes, signature))
    }

    /// The subject.
    #[must_use]
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }

    /// ID of the last record, if any.
    #[must_use]
    pub fn tip(&self) -> Option<RecordId> {
        self.tip.map(|t| t.id)
    }

    /// Number of records appended so far (the next record's seq).
    #[must_use]
    pub fn len(&self) -> u64 {
        self.tip.map_or(0, |t| t.seq + 1)
    }

    /// Whether no record has been appended.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tip.is_none()
    }

    /// Whether the chain has ended.
    #[must_use]
    pub fn has_ended(&self) -> bool {
        self.tip.is_some_and(|t| t.ended)
    }
}
