//! The EPCIS document reader on arbitrary bytes: reading, validation, both hash versions
//! and the import's mapping (against an empty in-memory store) never panic.
#![no_main]

use agritrace_epcis::{CbvVersion, Document, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::from_slice(data) else {
        return;
    };
    let _ = validate::problems(&doc);
    let _ = doc.hashes(CbvVersion::V2_0);
    let _ = doc.hashes(CbvVersion::V2_1);
    thread_local! {
        // A store that trusts no one: the mapping runs, nothing is ever admitted.
        static STORE: agritrace::SqliteStore = agritrace::SqliteStore::create_in_memory(
            agritrace::LogSigner::new("fuzz.example/log", agritrace::Signer::from_seed([1; 32]))
                .expect("a log signer")
                .verifier(),
        )
        .expect("an in-memory store");
    }
    let signer = agritrace::Signer::from_seed([3; 32]);
    STORE.with(|store| {
        let _ = agritrace_epcis::import(&doc, store, &signer);
    });
});
