//! Checking RFC 9162 inclusion and consistency proofs, knowing only the roots.

use super::{ProofError, TreeHash, inclusion_len};

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf: &TreeHash,
    index: u64,
    size: u64,
    proof: &[TreeHash],
    root: &TreeHash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len(),
        });
    }
    let mut r = *leaf;
    walk(proof, index, size - 1, expected, |p, left| {
        r = if left {
            TreeHash::node(p, &r)
        } else {
            TreeHash::node(&r, p)
        };
    })?;
    if r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch {
            computed: r,
            expected: *root,
        })
    }
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix of the tree of
/// `new` leaves with root `new_root` (RFC 9162 §2.1.4.2). Size 0 is a prefix of anything;
/// equal sizes need an empty proof and equal roots.
///
/// # Errors
/// [`ProofError::SizesReversed`], [`ProofError::WrongLength`],
/// [`ProofError::OldRootMismatch`] or [`ProofError::RootMismatch`].
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[TreeHash],
    old_root: &TreeHash,
    new_root: &TreeHash,
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizesReversed { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if old == new && old_root != new_root {
            return Err(ProofError::RootMismatch {
                computed: *old_root,
                expected: *new_root,
            });
        }
        if old == 0 && *old_root != TreeHash::empty() {
            return Err(ProofError::OldRootMismatch {
                computed: TreeHash::empty(),
                expected: *old_root,
            });
        }
        return Ok(());
    }
    // Proof length: the inclusion path of leaf old-1, minus the levels where old-1 is a
    // right child inside the old tree's perfect right edge, plus the seed hash unless the
    // old tree is a perfect power of two.
    let shift = (old - 1).trailing_ones();
    let expected = inclusion_len((old - 1) >> shift, ((new - 1) >> shift) + 1)
        + usize::from(!old.is_power_of_two());
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            found: proof.len(),
        });
    }
    let mut f = old - 1;
    let mut s = new - 1;
    let (seed, rest) = if old.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => {
                return Err(ProofError::WrongLength { expected, found: 0 });
            }
        }
    };
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    let found = proof.len();
    walk(rest, f, s, expected, |c, left| {
        if left {
            fr = TreeHash::node(c, &fr);
            sr = TreeHash::node(c, &sr);
        } else {
            sr = TreeHash::node(&sr, c);
        }
    })
    .map_err(|_| ProofError::WrongLength { expected, found })?;
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

/// The RFC 9162 path walk both proofs share: from node `f` of a tree whose last index is
/// `s`, each proof hash is a sibling, `step(hash, true)` when it is on the left and
/// `step(hash, false)` when on the right. A proof longer than the path is refused.
fn walk(
    proof: &[TreeHash],
    mut f: u64,
    mut s: u64,
    expected: usize,
    mut step: impl FnMut(&TreeHash, bool),
) -> Result<(), ProofError> {
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength {
                expected,
                found: proof.len(),
            });
        }
        let left = f & 1 == 1 || f == s;
        step(p, left);
        if left {
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        }
        f >>= 1;
        s >>= 1;
    }
    Ok(())
}
