//! RFC 9162 §2.1 Merkle tree: leaf and node hashing, roots at any size, inclusion and
//! consistency proofs, and their verification.

mod verify;

pub use verify::{verify_consistency, verify_inclusion};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash;
use crate::record::SignedRecord;

/// A 32-byte SHA-256 Merkle tree hash (leaf, node or root).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TreeHash(#[serde(with = "crate::encoding::bytes32")] [u8; 32]);

crate::hex::bytes32_newtype!(TreeHash);

impl TreeHash {
    /// The root of the empty tree: `SHA-256("")`.
    #[must_use]
    pub fn empty() -> Self {
        Self(hash::sha256(&[]))
    }

    /// RFC 9162 leaf hash of arbitrary leaf data: `SHA-256(0x00 || data)`.
    #[must_use]
    pub fn leaf(data: &[u8]) -> Self {
        Self(hash::merkle_leaf(data, &[]))
    }

    /// The leaf hash of a record in the agritrace log: `SHA-256(0x00 || body || signature)`,
    /// the record's bytes as they travel (the signature's fixed 64 bytes end the input, so
    /// the split is unambiguous). The leaf commits to every byte of the record.
    #[must_use]
    pub fn of_signed(record: &SignedRecord) -> Self {
        Self(hash::merkle_leaf(record.body(), record.signature()))
    }

    /// RFC 9162 interior node: `SHA-256(0x01 || left || right)`.
    #[must_use]
    pub fn node(left: &Self, right: &Self) -> Self {
        Self(hash::merkle_node(&left.0, &right.0))
    }
}

/// Why a Merkle proof, or a request for one, was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The older size of a consistency proof is larger than the newer.
    #[error("consistency from size {old} to smaller size {new}")]
    SizesReversed {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The tree does not have that many leaves (yet).
    #[error("tree has {have} leaves, asked for size {size}")]
    TreeTooSmall {
        /// The requested size.
        size: u64,
        /// Leaves held.
        have: u64,
    },
    /// The proof has the wrong number of hashes for its sizes.
    #[error("proof has {found} hashes, expected {expected}")]
    WrongLength {
        /// Hashes the sizes call for.
        expected: usize,
        /// Hashes given.
        found: usize,
    },
    /// The proof does not lead to the expected root.
    #[error("proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// The root the proof computes.
        computed: TreeHash,
        /// The root it should reach.
        expected: TreeHash,
    },
    /// A consistency proof does not reproduce the older root.
    #[error("consistency proof leads to older root {computed}, expected {expected}")]
    OldRootMismatch {
        /// The older root the proof computes.
        computed: TreeHash,
        /// The older root it should reach.
        expected: TreeHash,
    },
}

/// The largest power of two strictly below `n` (`n >= 2`).
pub(super) fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (n - 1).ilog2()
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size` (`index < size`).
pub(super) fn inclusion_len(index: u64, size: u64) -> usize {
    // Bits of (index XOR last) below the top, plus one per right-edge level skipped.
    let last = size - 1;
    let inner = 64 - (index ^ last).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// An append-only Merkle tree holding every complete subtree hash, so roots and proofs at
/// any size take O(log n) lookups. Memory: about 64 bytes per leaf.
///
/// # Example
/// ```
/// use agritrace::{MerkleTree, TreeHash};
/// let mut tree = MerkleTree::new();
/// for i in 0u8..5 {
///     tree.push(TreeHash::leaf(&[i]));
/// }
/// let root = tree.root(5)?;
/// let proof = tree.inclusion_proof(3, 5)?;
/// agritrace::tlog::verify_inclusion(&TreeHash::leaf(&[3]), 3, 5, &proof, &root)?;
/// let old = tree.root(2)?;
/// let consistency = tree.consistency_proof(2, 5)?;
/// agritrace::tlog::verify_consistency(2, 5, &consistency, &old, &root)?;
/// # Ok::<(), agritrace::tlog::ProofError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    // levels[k][i]: hash of the perfect subtree of 2^k leaves starting at leaf i * 2^k.
    levels: Vec<Vec<TreeHash>>,
}

impl MerkleTree {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: TreeHash) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            if row.len() % 2 == 1 {
                return;
            }
            hash = TreeHash::node(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// The leaf hash at `index`.
    #[must_use]
    pub fn leaf(&self, index: u64) -> Option<TreeHash> {
        let i = usize::try_from(index).ok()?;
        self.levels.first()?.get(i).copied()
    }

    /// The root of the first `size` leaves.
    ///
    /// # Errors
    /// [`ProofError::TreeTooSmall`] if `size` exceeds the number of leaves.
    pub fn root(&self, size: u64) -> Result<TreeHash, ProofError> {
        self.check_size(size)?;
        Ok(if size == 0 {
            TreeHash::empty()
        } else {
            self.range(0, size)
        })
    }

    /// The inclusion proof (RFC 9162 `PATH`) of leaf `index` in the tree of the first `size`
    /// leaves, sibling of the leaf first.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`] or [`ProofError::TreeTooSmall`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<TreeHash>, ProofError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::with_capacity(inclusion_len(index, size));
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    /// The consistency proof (RFC 9162 `PROOF`) from size `old` to size `new`; empty when
    /// `old` is 0 or equal to `new`.
    ///
    /// # Errors
    /// [`ProofError::SizesReversed`] or [`ProofError::TreeTooSmall`].
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<TreeHash>, ProofError> {
        self.check_size(new)?;
        if old > new {
            return Err(ProofError::SizesReversed { old, new });
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof);
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        let have = self.len();
        if size > have {
            return Err(ProofError::TreeTooSmall { size, have });
        }
        Ok(())
    }

    /// `MTH(D[start..end])` for a range the RFC recursion produces (`start < end`).
    fn range(&self, start: u64, end: u64) -> TreeHash {
        let n = end - start;
        if n < 2 {
            // A single leaf (always stored: callers stay below the tree size).
            return usize::try_from(start)
                .ok()
                .and_then(|i| self.levels.first()?.get(i).copied())
                .unwrap_or_else(TreeHash::empty);
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            // Complete aligned subtrees below the tree size are always stored.
            if let Some(h) = usize::try_from(start / n)
                .ok()
                .and_then(|i| self.levels.get(level)?.get(i))
            {
                return *h;
            }
        }
        let k = split(n);
        TreeHash::node(&self.range(start, start + k), &self.range(start + k, end))
    }

    fn path(&self, index: u64, start: u64, end: u64, out: &mut Vec<TreeHash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if index < start + k {
            self.path(index, start, start + k, out);
            out.push(self.range(start + k, end));
        } else {
            self.path(index, start + k, end, out);
            out.push(self.range(start, start + k));
        }
    }

    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<TreeHash>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(self.range(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, out);
            out.push(self.range(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.range(start, start + k));
        }
    }
}

/// The root of a list of leaf hashes, without keeping the tree: O(log n) memory.
#[must_use]
pub fn root_of(leaves: &[TreeHash]) -> TreeHash {
    let mut acc = RootBuilder::new();
    for l in leaves {
        acc.push(*l);
    }
    acc.root()
}

/// Computes a root leaf by leaf in O(log n) memory (the "compact range" of a tree).
#[derive(Clone, Debug, Default)]
pub struct RootBuilder {
    // Perfect subtree roots, largest first; sizes are the set bits of `len`.
    stack: Vec<TreeHash>,
    len: u64,
}

impl RootBuilder {
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves pushed so far.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no leaf was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the next leaf hash.
    pub fn push(&mut self, leaf: TreeHash) {
        let mut h = leaf;
        let mut n = self.len;
        while n & 1 == 1 {
            if let Some(left) = self.stack.pop() {
                h = TreeHash::node(&left, &h);
            }
            n >>= 1;
        }
        self.stack.push(h);
        self.len += 1;
    }

    /// The root of the leaves pushed so far.
    #[must_use]
    pub fn root(&self) -> TreeHash {
        let mut it = self.stack.iter().rev();
        let Some(first) = it.next() else {
            return TreeHash::empty();
        };
        it.fold(*first, |right, left| TreeHash::node(left, &right))
    }
}
