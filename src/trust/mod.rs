//! Trust: which keys belong to which party and role, when they are valid, and which roles
//! may sign which events.

mod history;
mod statement;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::TrustError;
use crate::event::{EventKind, Text};
use crate::id::KeyId;
use crate::signing::{KeyWeakness, PublicKey};
use crate::time::Timestamp;

pub use history::TrustHistory;
pub use statement::{
    MAX_TRUST_CHANGES, MAX_TRUST_STATEMENTS, StatementHash, TRUST_HISTORY_MAGIC,
    TRUST_STATEMENT_HEADER, TrustChange, TrustStatement,
};

/// The role a key signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Role {
    /// A farm or cooperative.
    Farm,
    /// A device: pedometer gateway, scale.
    Device,
    /// A veterinarian.
    Vet,
    /// A transporter.
    Transporter,
    /// A slaughterhouse.
    Slaughterhouse,
    /// A processor or packer.
    Processor,
    /// A retailer.
    Retailer,
    /// A regulator or inspection authority.
    Regulator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 8] = [
        Self::Farm,
        Self::Device,
        Self::Vet,
        Self::Transporter,
        Self::Slaughterhouse,
        Self::Processor,
        Self::Retailer,
        Self::Regulator,
    ];

    /// The role named `name` as [`Display`](std::fmt::Display) writes it (`Farm`, `Vet`…).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.to_string() == name)
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// What a trust store says about one key: whose it is, in which role, and when it is valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrant {
    /// The party (person, company or device owner) the key belongs to.
    pub party: Text,
    /// The role it signs in.
    pub role: Role,
    /// First instant the key may sign.
    pub valid_from: Timestamp,
    /// First instant the key may no longer sign (`None`: open-ended).
    pub valid_until: Option<Timestamp>,
}

impl KeyGrant {
    /// A grant valid from `valid_from` with no end.
    #[must_use]
    pub fn new(party: Text, role: Role, valid_from: Timestamp) -> Self {
        Self {
            party,
            role,
            valid_from,
            valid_until: None,
        }
    }
}

/// A trusted key: its grant, any revocation, and the key decompressed once for verification.
#[derive(Clone, Debug)]
pub(crate) struct TrustedKey {
    pub(crate) grant: KeyGrant,
    pub(crate) revoked_at: Option<Timestamp>,
    pub(crate) key_id: KeyId,
    pub(crate) verifying: ed25519_zebra::VerificationKey,
}

/// The keys a verifier trusts, with their parties, roles, validity windows, rotations and
/// revocations.
///
/// # Example
/// ```
/// use agritrace::{KeyGrant, Role, Signer, Text, Timestamp, TrustStore};
/// let vet = Signer::from_seed([3; 32]);
/// let mut trust = TrustStore::new();
/// let grant = KeyGrant::new(Text::new("Dr. Li, Qingjian animal clinic")?, Role::Vet, Timestamp::from_millis(0));
/// trust.add(vet.public_key(), grant)?;
/// assert_eq!(trust.grant(&vet.public_key()).map(|g| g.role), Some(Role::Vet));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    keys: BTreeMap<PublicKey, TrustedKey>,
}

impl TrustStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` under `grant`, returning its key ID.
    ///
    /// # Errors
    /// [`TrustError::NonCanonicalKey`], [`TrustError::SmallOrderKey`] or
    /// [`TrustError::MixedOrderKey`] for keys no honest signer produces;
    /// [`TrustError::AlreadyTrusted`]; [`TrustError::EmptyWindow`] when `valid_until` is not
    /// after `valid_from`.
    pub fn add(&mut self, key: PublicKey, grant: KeyGrant) -> Result<KeyId, TrustError> {
        let key_id = key.key_id();
        if self.keys.contains_key(&key) {
            return Err(TrustError::AlreadyTrusted(key_id));
        }
        if grant
            .valid_until
            .is_some_and(|until| until <= grant.valid_from)
        {
            return Err(TrustError::EmptyWindow(key_id));
        }
        let verifying = check_key(&key)?;
        self.keys.insert(
            key,
            TrustedKey {
                grant,
                revoked_at: None,
                key_id,
                verifying,
            },
        );
        Ok(key_id)
    }

    /// Revokes `key` from `at` on: records it signed at or after `at` are refused, earlier
    /// ones stay valid. Revoking again keeps the earliest instant.
    ///
    /// # Errors
    /// [`TrustError::UnknownKey`].
    pub fn revoke(&mut self, key: &PublicKey, at: Timestamp) -> Result<(), TrustError> {
        let entry = self
            .keys
            .get_mut(key)
            .ok_or(TrustError::UnknownKey(key.key_id()))?;
        entry.revoked_at = Some(entry.revoked_at.map_or(at, |r| r.min(at)));
        Ok(())
    }

    /// Rotates from `old` to `new` at instant `at`: `old` stops being valid at `at` and `new`
    /// takes over the same party and role from `at`, until `old`'s own end.
    ///
    /// # Errors
    /// [`TrustError::UnknownKey`] for `old`; [`TrustError::EmptyWindow`] when `at` is outside
    /// `old`'s window; the errors of [`TrustStore::add`] for `new`.
    pub fn rotate(
        &mut self,
        old: &PublicKey,
        new: PublicKey,
        at: Timestamp,
    ) -> Result<KeyId, TrustError> {
        let old_id = old.key_id();
        let old_grant = self
            .keys
            .get(old)
            .ok_or(TrustError::UnknownKey(old_id))?
            .grant
            .clone();
        if at <= old_grant.valid_from || old_grant.valid_until.is_some_and(|u| at >= u) {
            return Err(TrustError::EmptyWindow(old_id));
        }
        let new_grant = KeyGrant {
            valid_from: at,
            ..old_grant
        };
        let id = self.add(new, new_grant)?;
        if let Some(entry) = self.keys.get_mut(old) {
            entry.grant.valid_until = Some(at);
        }
        Ok(id)
    }

    /// The grant for `key`, if trusted.
    #[must_use]
    pub fn grant(&self, key: &PublicKey) -> Option<&KeyGrant> {
        self.keys.get(key).map(|k| &k.grant)
    }

    /// When `key` was revoked, if it was.
    #[must_use]
    pub fn revoked_at(&self, key: &PublicKey) -> Option<Timestamp> {
        self.keys.get(key).and_then(|k| k.revoked_at)
    }

    /// Every trusted key with its grant, in key order.
    pub fn keys(&self) -> impl Iterator<Item = (&PublicKey, &KeyGrant)> {
        self.keys.iter().map(|(k, t)| (k, &t.grant))
    }

    /// Number of trusted keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn get(&self, key: &PublicKey) -> Option<&TrustedKey> {
        self.keys.get(key)
    }
}

/// Refuses keys that are not canonical encodings of a point in the prime-order subgroup.
fn check_key(key: &PublicKey) -> Result<ed25519_zebra::VerificationKey, TrustError> {
    let id = key.key_id();
    match key.weakness() {
        Some(KeyWeakness::SmallOrder) => return Err(TrustError::SmallOrderKey(id)),
        Some(KeyWeakness::MixedOrder) => return Err(TrustError::MixedOrderKey(id)),
        Some(_) => return Err(TrustError::NonCanonicalKey(id)),
        None => {}
    }
    ed25519_zebra::VerificationKey::try_from(*key.as_bytes())
        .map_err(|_| TrustError::NonCanonicalKey(id))
}

/// Which roles may sign which events.
///
/// # Example
/// ```
/// use agritrace::{EventKind, Policy, Role};
/// let policy = Policy::livestock();
/// assert!(policy.allows(EventKind::Treatment, Role::Vet));
/// assert!(!policy.allows(EventKind::Treatment, Role::Farm));
/// let strict = policy.deny(EventKind::DailyActivity, Role::Farm);
/// assert!(!strict.allows(EventKind::DailyActivity, Role::Farm));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Per event kind, a bit set of the roles allowed to sign it.
    allowed: [u16; EventKind::ALL.len()],
}

impl Policy {
    /// A policy that allows nothing; build on it with [`Policy::allow`].
    #[must_use]
    pub fn empty() -> Self {
        Self {
            allowed: [0; EventKind::ALL.len()],
        }
    }

    /// The default policy for livestock and produce chains:
    ///
    /// | event | roles |
    /// |---|---|
    /// | registration, device attach/detach, harvest | farm |
    /// | weighing, daily activity, feeding | device, farm |
    /// | treatment | vet |
    /// | inspection | vet, regulator |
    /// | move | farm, transporter |
    /// | custody transfer, sale | farm, transporter, slaughterhouse, processor, retailer |
    /// | slaughter | slaughterhouse |
    /// | transformation | slaughterhouse, processor |
    /// | aggregation, disaggregation | farm, transporter, processor, retailer |
    /// | recall | vet, processor, retailer, regulator |
    /// | end of chain | farm, vet, slaughterhouse, processor, retailer, regulator |
    #[must_use]
    pub fn livestock() -> Self {
        use EventKind as E;
        use Role as R;
        let trade = [
            R::Farm,
            R::Transporter,
            R::Slaughterhouse,
            R::Processor,
            R::Retailer,
        ];
        let rules: [(&[E], &[R]); 13] = [
            (
                &[
                    E::Registration,
                    E::DeviceAttached,
                    E::DeviceDetached,
                    E::Harvest,
                ],
                &[R::Farm],
            ),
            (
                &[E::Weighing, E::DailyActivity, E::Feeding],
                &[R::Device, R::Farm],
            ),
            (&[E::Treatment], &[R::Vet]),
            (&[E::Inspection], &[R::Vet, R::Regulator]),
            (&[E::Move], &[R::Farm, R::Transporter]),
            (&[E::CustodyTransfer], &trade),
            (&[E::Sale], &trade),
            (&[E::Slaughter], &[R::Slaughterhouse]),
            (&[E::Transformation], &[R::Slaughterhouse, R::Processor]),
            (
                &[E::Aggregation],
                &[R::Farm, R::Transporter, R::Processor, R::Retailer],
            ),
            (
                &[E::Disaggregation],
                &[R::Farm, R::Transporter, R::Processor, R::Retailer],
            ),
            (
                &[E::Recall],
                &[R::Vet, R::Processor, R::Retailer, R::Regulator],
            ),
            (
                &[E::EndOfChain],
                &[
                    R::Farm,
                    R::Vet,
                    R::Slaughterhouse,
                    R::Processor,
                    R::Retailer,
                    R::Regulator,
                ],
            ),
        ];
        let mut p = Self::empty();
        for (kinds, roles) in rules {
            for &k in kinds {
                for &r in roles {
                    p = p.allow(k, r);
                }
            }
        }
        p
    }

    /// This policy, also allowing `role` to sign `kind`.
    #[must_use]
    pub fn allow(mut self, kind: EventKind, role: Role) -> Self {
        self.allowed[kind.index()] |= role.bit();
        self
    }

    /// This policy, no longer allowing `role` to sign `kind`.
    #[must_use]
    pub fn deny(mut self, kind: EventKind, role: Role) -> Self {
        self.allowed[kind.index()] &= !role.bit();
        self
    }

    /// Whether `role` may sign `kind`.
    #[must_use]
    pub fn allows(&self, kind: EventKind, role: Role) -> bool {
        self.allowed[kind.index()] & role.bit() != 0
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::livestock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> KeyGrant {
        KeyGrant::new(
            Text::new("farm").unwrap(),
            Role::Farm,
            Timestamp::from_millis(0),
        )
    }

    #[test]
    fn refuses_small_order_and_non_canonical_keys() {
        let mut t = TrustStore::new();
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            t.add(PublicKey::from_bytes(identity), grant()),
            Err(TrustError::SmallOrderKey(_))
        ));
        // y = p (non-canonical encoding of y = 0).
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(matches!(
            t.add(PublicKey::from_bytes(p), grant()),
            Err(TrustError::NonCanonicalKey(_))
        ));
        // A real key is accepted once.
        let k = crate::Signer::from_seed([1; 32]).public_key();
        assert!(t.add(k, grant()).is_ok());
        assert!(matches!(
            t.add(k, grant()),
            Err(TrustError::AlreadyTrusted(_))
        ));
    }

    #[test]
    fn rotation_splits_the_window() {
        let mut t = TrustStore::new();
        let old = crate::Signer::from_seed([1; 32]).public_key();
        let new = crate::Signer::from_seed([2; 32]).public_key();
        t.add(old, grant()).unwrap();
        t.rotate(&old, new, Timestamp::from_millis(100)).unwrap();
        assert_eq!(
            t.grant(&old).unwrap().valid_until,
            Some(Timestamp::from_millis(100))
        );
        assert_eq!(
            t.grant(&new).unwrap().valid_from,
            Timestamp::from_millis(100)
        );
        assert_eq!(t.grant(&new).unwrap().role, Role::Farm);
    }
}
