//! Reading a ledger file from untrusted bytes never panics and stops at the first error.
#![no_main]

use agritrace::{LEDGER_MAGIC, LedgerReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = LEDGER_MAGIC.to_vec();
    file.extend_from_slice(data);
    if let Ok(reader) = LedgerReader::new(file.as_slice()) {
        let mut errors = 0;
        for item in reader {
            if item.is_err() {
                errors += 1;
            }
        }
        assert!(errors <= 1);
    }
});
