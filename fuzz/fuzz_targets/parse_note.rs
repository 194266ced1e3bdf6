//! Signed notes and checkpoints from untrusted bytes: parsing never panics, a parsed note
//! prints back to the same text, and verification under a pinned policy never panics.
#![no_main]

use agritrace::{LogPolicy, VerifierKey};
use agritrace::tlog::{Checkpoint, Note};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(note) = Note::parse_bytes(data) else {
        return;
    };
    let text = note.to_string();
    assert_eq!(text.as_bytes(), data, "a parsed note prints back to its bytes");
    let _ = Checkpoint::parse_text(note.text());
    if let Ok(key) =
        VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    {
        let _ = LogPolicy::new("example.com/foo", key).verify(&text);
    }
});
