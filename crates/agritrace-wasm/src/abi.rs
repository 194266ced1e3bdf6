//! The module's exports, for `js/agritrace-verify.js`. Plain numbers cross the boundary:
//! the page asks for an input buffer of a given length, writes its bytes there, calls a
//! check, and reads the answer from the output buffer. The buffers are this module's own
//! vectors; no Rust code turns a number from the page into a pointer, so the only unsafe
//! item is the `no_mangle` attribute each export needs.
#![allow(
    unsafe_code,
    reason = "`#[unsafe(no_mangle)]` exports; no unsafe code otherwise"
)]

use std::cell::RefCell;

/// Largest input the page may hand over: a bundle's limit plus room for the pins.
const MAX_INPUT: usize = agritrace::tlog::MAX_BUNDLE_LEN + 64 * 1024;

thread_local! {
    /// Input slots: 0 the bundle (or a signature check's bytes), 1 the pins.
    static INPUTS: RefCell<[Vec<u8>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
    /// The last answer.
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes for input `slot` (0 or 1), for the page to fill; 0 when the slot
/// does not exist or `len` is larger than any input.
#[unsafe(no_mangle)]
pub extern "C" fn agritrace_input(slot: u32, len: u32) -> *mut u8 {
    let len = len as usize;
    if len > MAX_INPUT {
        return std::ptr::null_mut();
    }
    INPUTS.with_borrow_mut(|inputs| match inputs.get_mut(slot as usize) {
        Some(buf) => {
            buf.clear();
            buf.resize(len, 0);
            buf.as_mut_ptr()
        }
        None => std::ptr::null_mut(),
    })
}

/// Verifies the bundle in slot 0 against the JSON pins in slot 1; the verdict (JSON) is in
/// the output buffer, and its length is returned.
#[unsafe(no_mangle)]
pub extern "C" fn agritrace_check_bundle() -> u32 {
    let verdict = INPUTS.with_borrow(|[bundle, pins]| match std::str::from_utf8(pins) {
        Ok(pins) => crate::check_bundle_json(bundle, pins),
        Err(_) => crate::Verdict::refused("pins", "the pins are not UTF-8".into()).to_json(),
    });
    set_output(verdict.into_bytes())
}

/// Checks the signature in slot 0 (`key ‖ signature ‖ message`): 1 valid, 0 invalid, -1
/// when the input is too short.
#[unsafe(no_mangle)]
pub extern "C" fn agritrace_check_signature() -> i32 {
    INPUTS.with_borrow(|[input, _]| match crate::check_signature(input) {
        Some(true) => 1,
        Some(false) => 0,
        None => -1,
    })
}

/// Seeds batch verification with the 32 random bytes in slot 0 (the page passes
/// `crypto.getRandomValues`); returns 0, or -1 when slot 0 does not hold 32 bytes. Without
/// it, signatures are checked one by one: slower, with the same verdicts.
#[unsafe(no_mangle)]
pub extern "C" fn agritrace_provide_entropy() -> i32 {
    INPUTS.with_borrow(|[input, _]| match <[u8; 32]>::try_from(input.as_slice()) {
        Ok(seed) => {
            agritrace::provide_entropy(seed);
            0
        }
        Err(_) => -1,
    })
}

/// Where the last answer starts.
#[unsafe(no_mangle)]
pub extern "C" fn agritrace_output() -> *const u8 {
    OUTPUT.with_borrow(Vec::as_ptr)
}

fn set_output(bytes: Vec<u8>) -> u32 {
    let len = u32::try_from(bytes.len()).unwrap_or(0);
    OUTPUT.set(bytes);
    len
}
