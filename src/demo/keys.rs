//! The demo's keys, derived from its seed, and what the trust store says of each.

use crate::event::Text;
use crate::hash;
use crate::signing::{PublicKey, Signer};
use crate::time::{Day, Timestamp};
use crate::trust::{KeyGrant, Role, TrustStore};

/// The demo's signers, derived from the seed.
pub struct DemoKeys {
    /// Per farm: the farm's own key.
    pub farms: Vec<Signer>,
    /// Per farm: the pedometer gateway.
    pub gateways: Vec<Signer>,
    /// Per farm: the weighing scale.
    pub scales: Vec<Signer>,
    /// The county vet.
    pub vet: Signer,
    /// The transporter.
    pub transporter: Signer,
    /// The slaughterhouse.
    pub slaughterhouse: Signer,
    /// The processor and packer.
    pub processor: Signer,
    /// The retailer.
    pub retailer: Signer,
}

impl DemoKeys {
    pub(super) fn new(seed: u64, farms: u32) -> Self {
        let key = |name: &str| {
            let mut input = seed.to_le_bytes().to_vec();
            input.extend_from_slice(name.as_bytes());
            Signer::from_seed(hash::tagged(b"agritrace/demo/key\0", &input))
        };
        Self {
            farms: (0..farms).map(|f| key(&format!("farm {f}"))).collect(),
            gateways: (0..farms).map(|f| key(&format!("gateway {f}"))).collect(),
            scales: (0..farms).map(|f| key(&format!("scale {f}"))).collect(),
            vet: key("vet"),
            transporter: key("transporter"),
            slaughterhouse: key("slaughterhouse"),
            processor: key("processor"),
            retailer: key("retailer"),
        }
    }

    /// Every key with its party name and role.
    #[must_use]
    pub fn named(&self) -> Vec<(PublicKey, String, Role)> {
        let mut v = Vec::new();
        for (f, ((farm, gw), scale)) in self
            .farms
            .iter()
            .zip(&self.gateways)
            .zip(&self.scales)
            .enumerate()
        {
            let n = f + 1;
            v.push((
                farm.public_key(),
                format!("Qingjian Black Pig Cooperative, farm {n}"),
                Role::Farm,
            ));
            v.push((
                gw.public_key(),
                format!("farm {n} pedometer gateway"),
                Role::Device,
            ));
            v.push((
                scale.public_key(),
                format!("farm {n} weighing scale"),
                Role::Device,
            ));
        }
        for (signer, party, role) in [
            (
                &self.vet,
                "Dr. Li Wei, Qingjian county animal clinic",
                Role::Vet,
            ),
            (
                &self.transporter,
                "Yulin Livestock Transport",
                Role::Transporter,
            ),
            (
                &self.slaughterhouse,
                "Suide Meat Processing (abattoir)",
                Role::Slaughterhouse,
            ),
            (&self.processor, "Xi'an Fresh Pack", Role::Processor),
            (&self.retailer, "Xi'an Qujiang Market", Role::Retailer),
        ] {
            v.push((signer.public_key(), party.into(), role));
        }
        v
    }

    /// The trust store for these keys.
    #[must_use]
    pub fn trust(&self) -> TrustStore {
        let since = Timestamp::at_start_of(
            Day::from_ymd(2020, 1, 1).unwrap_or(Day::from_days_since_epoch(18_262)),
        );
        let mut t = TrustStore::new();
        for (key, party, role) in self.named() {
            if let Ok(party) = Text::new(&party) {
                // Keys derived from distinct names are distinct and valid.
                let _ = t.add(key, KeyGrant::new(party, role, since));
            }
        }
        t
    }
}
