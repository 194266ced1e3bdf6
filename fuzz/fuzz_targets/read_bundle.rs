//! Trace bundles and fork evidence from untrusted bytes: decoding never panics or allocates
//! without bound, and an accepted encoding re-encodes to the same bytes.
#![no_main]

use agritrace::{ForkEvidence, KeyGrant, Policy, Role, Signer, Timestamp, TraceBundle, TrustStore};
use agritrace::tlog::{BUNDLE_MAGIC, FORK_MAGIC};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = BUNDLE_MAGIC.to_vec();
    file.extend_from_slice(data);
    if let Ok(b) = TraceBundle::from_bytes(&file) {
        assert_eq!(b.to_bytes().ok().as_deref(), Some(file.as_slice()));
    }
    let mut file = FORK_MAGIC.to_vec();
    file.extend_from_slice(data);
    if let Ok(e) = ForkEvidence::from_bytes(&file) {
        assert_eq!(e.to_bytes().ok().as_deref(), Some(file.as_slice()));
        // Evidence is judged against a trust holding one key, so records naming it reach
        // the signature check.
        let mut trust = TrustStore::new();
        let grant = KeyGrant::new(agritrace::Text::new("fuzz").unwrap(), Role::Farm, Timestamp::from_millis(0));
        let _ = trust.add(Signer::from_seed([7; 32]).public_key(), grant);
        let _ = e.check(&trust, &Policy::livestock(), None);
    }
});
