//! Decoding untrusted body bytes never panics or over-allocates, and decode → encode →
//! decode is the identity.
#![no_main]

use agritrace::{RecordBody, SignedRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = RecordBody::decode(data) {
        let bytes = body.encode().expect("a decoded body re-encodes");
        assert_eq!(bytes, data, "accepted bodies are canonical");
        assert_eq!(RecordBody::decode(&bytes).as_ref(), Ok(&body));
    }
    let _ = SignedRecord::read_frame(data);
});
