//! RFC 9162 Merkle tree: known answers, every inclusion and consistency proof up to 64
//! leaves, and every single-bit change of a proof or root refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests fail by panicking; sizes here are at most 64"
)]

use agritrace::tlog::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

fn h(hex: &str) -> TreeHash {
    hex.parse().unwrap()
}

/// RFC 9162 §2.1.1 written out directly from its definition, as an independent reference.
fn mth(leaves: &[Vec<u8>]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => Sha256::new()
            .chain_update([0u8])
            .chain_update(&leaves[0])
            .finalize()
            .into(),
        n => {
            let k = (1..n)
                .map(|i| 1 << i)
                .take_while(|&p| p < n)
                .last()
                .unwrap_or(1);
            Sha256::new()
                .chain_update([1u8])
                .chain_update(mth(&leaves[..k]))
                .chain_update(mth(&leaves[k..]))
                .finalize()
                .into()
        }
    }
}

/// The leaf inputs of the Certificate Transparency reference tests.
fn ct_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    })
    .collect()
}

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn tree_of(leaves: &[Vec<u8>]) -> MerkleTree {
    let mut t = MerkleTree::new();
    for l in leaves {
        t.push(TreeHash::leaf(l));
    }
    t
}

#[test]
fn roots_match_the_reference_vectors_and_the_definition() {
    let leaves = ct_leaves();
    let tree = tree_of(&leaves);
    for (size, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(tree.root(size as u64).unwrap(), h(want), "size {size}");
        assert_eq!(
            *h(want).as_bytes(),
            mth(&leaves[..size]),
            "definition, size {size}"
        );
        let hashes: Vec<TreeHash> = leaves[..size].iter().map(|l| TreeHash::leaf(l)).collect();
        assert_eq!(root_of(&hashes), h(want));
    }
    assert_eq!(TreeHash::empty(), h(CT_ROOTS[0]));
}

#[test]
fn inclusion_and_consistency_known_answers() {
    let tree = tree_of(&ct_leaves());
    let want = |v: &[&str]| v.iter().map(|s| h(s)).collect::<Vec<_>>();
    assert_eq!(
        tree.inclusion_proof(0, 8).unwrap(),
        want(&[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ])
    );
    assert_eq!(
        tree.inclusion_proof(5, 8).unwrap(),
        want(&[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
    );
    assert_eq!(
        tree.consistency_proof(6, 8).unwrap(),
        want(&[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
    );
    assert_eq!(
        tree.consistency_proof(2, 5).unwrap(),
        want(&[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ])
    );
    assert_eq!(tree.consistency_proof(1, 8).unwrap().len(), 3);
}

fn flip(h: &TreeHash, bit: usize) -> TreeHash {
    let mut b = *h.as_bytes();
    b[bit / 8] ^= 1 << (bit % 8);
    TreeHash::from_bytes(b)
}

fn leaves(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

#[test]
fn every_inclusion_proof_up_to_64_verifies_and_every_bit_flip_fails() {
    let all = leaves(64);
    let tree = tree_of(&all);
    (1..=64u64).into_par_iter().for_each(|size| {
        let root = tree.root(size).unwrap();
        assert_eq!(*root.as_bytes(), mth(&all[..size as usize]));
        for index in 0..size {
            let leaf = TreeHash::leaf(&all[index as usize]);
            let proof = tree.inclusion_proof(index, size).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            for bit in 0..256 {
                assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
                assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert!(
                        verify_inclusion(&leaf, index, size, &bad, &root).is_err(),
                        "index {index} size {size} hash {i} bit {bit}"
                    );
                }
            }
            // Wrong position, wrong size, shorter or longer proofs.
            for other in 0..size {
                if other != index {
                    assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
                }
            }
            // (A proof may also fit the same root at another size: a checkpoint's signature
            // binds root and size together, so that is no weakness.)
            assert!(verify_inclusion(&leaf, size, size, &proof, &root).is_err());
            if !proof.is_empty() {
                assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        }
    });
}

#[test]
fn every_consistency_proof_up_to_64_verifies_and_every_bit_flip_fails() {
    let all = leaves(64);
    let tree = tree_of(&all);
    (0..=64u64).into_par_iter().for_each(|new| {
        let new_root = tree.root(new).unwrap();
        for old in 0..=new {
            let old_root = tree.root(old).unwrap();
            let proof = tree.consistency_proof(old, new).unwrap();
            verify_consistency(old, new, &proof, &old_root, &new_root)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            // The empty tree is a prefix of every tree: nothing to flip for old = 0.
            for bit in (0..256).filter(|_| old > 0) {
                assert!(
                    verify_consistency(old, new, &proof, &flip(&old_root, bit), &new_root).is_err()
                );
                assert!(
                    verify_consistency(old, new, &proof, &old_root, &flip(&new_root, bit)).is_err()
                );
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert!(
                        verify_consistency(old, new, &bad, &old_root, &new_root).is_err(),
                        "{old} -> {new} hash {i} bit {bit}"
                    );
                }
            }
            if !proof.is_empty() {
                assert!(verify_consistency(old, new, &proof[1..], &old_root, &new_root).is_err());
                assert!(
                    verify_consistency(old, new, &proof[..proof.len() - 1], &old_root, &new_root)
                        .is_err()
                );
            }
            let mut longer = proof.clone();
            longer.push(new_root);
            assert!(verify_consistency(old, new, &longer, &old_root, &new_root).is_err());
            if old > 0 && old < new {
                // A proof between other sizes does not pass for these.
                assert!(
                    verify_consistency(
                        old - 1,
                        new,
                        &proof,
                        &tree.root(old - 1).unwrap(),
                        &new_root
                    )
                    .is_err()
                        || tree.consistency_proof(old - 1, new).unwrap() == proof
                );
            }
        }
    });
    assert!(matches!(
        tree.consistency_proof(5, 4),
        Err(ProofError::SizesReversed { old: 5, new: 4 })
    ));
    assert!(matches!(
        tree.root(65),
        Err(ProofError::TreeTooSmall { size: 65, have: 64 })
    ));
}

#[test]
fn a_tree_that_differs_in_one_leaf_is_not_consistent() {
    let all = leaves(40);
    let tree = tree_of(&all);
    for changed in [0usize, 7, 19, 31] {
        let mut other = all.clone();
        other[changed] = b"edited".to_vec();
        let forged = tree_of(&other);
        for old in (changed as u64 + 1)..=32 {
            let proof = forged.consistency_proof(old, 40).unwrap();
            assert!(
                verify_consistency(
                    old,
                    40,
                    &proof,
                    &tree.root(old).unwrap(),
                    &forged.root(40).unwrap()
                )
                .is_err(),
                "edit at {changed} hidden from size {old}"
            );
        }
    }
}

#[test]
fn root_builder_matches_the_tree_at_every_size() {
    let mut tree = MerkleTree::new();
    let mut rb = RootBuilder::new();
    for i in 0..1000u32 {
        let l = TreeHash::leaf(&i.to_le_bytes());
        tree.push(l);
        rb.push(l);
        assert_eq!(rb.root(), tree.root(tree.len()).unwrap());
    }
}
