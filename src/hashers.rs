//! The crate's one fast map hasher, for the verifiers' hot maps. `SipHash` cost a third of
//! the chain walk, and these maps need no protection of their own:
//!
//! - a `u64` key is passed through: the engine keys its chain map by each subject's hash,
//!   already computed (under keys drawn for that verification, so crafted subjects cannot
//!   collide on purpose) in the parallel pass;
//! - bytes are mixed with multiply-rotate: the checkpoint verifier's maps hold the subjects
//!   of one unit of the log at most, so crafted keys can slow one unit, never the whole log
//!   without bound.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// See the module docs.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

const MIX: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(MIX);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(MIX);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
