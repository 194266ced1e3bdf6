//! Edge-case Ed25519 vectors get one verdict through the single and the batch path, for
//! several batch compositions (DESIGN §5).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::many_single_char_names,
    reason = "tests fail by panicking; short names keep mutation code readable"
)]

use agritrace::{SignatureItem, verify_signature, verify_signatures};

struct Vector {
    key: [u8; 32],
    sig: [u8; 64],
    msg: Vec<u8>,
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn cctv() -> Vec<Vector> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("data/c2sp-cctv-ed25519vectors.json")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            key: unhex(v["key"].as_str().unwrap()),
            sig: unhex(v["sig"].as_str().unwrap()),
            msg: v["msg"].as_str().unwrap().as_bytes().to_vec(),
        })
        .collect()
}

fn taming() -> Vec<Vector> {
    let text = include_str!("data/taming-eddsa-cases.txt");
    let mut lines = text.lines();
    let count: usize = lines.next().unwrap().trim().parse().unwrap();
    let rest: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rest.len(), count * 3);
    rest.chunks(3)
        .map(|c| {
            let msg = c[0].strip_prefix("msg=").unwrap();
            Vector {
                msg: (0..msg.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&msg[i..i + 2], 16).unwrap())
                    .collect(),
                key: unhex(c[1].strip_prefix("pbk=").unwrap()),
                sig: unhex(c[2].strip_prefix("sig=").unwrap()),
            }
        })
        .collect()
}

fn items(v: &[Vector]) -> Vec<SignatureItem<'_>> {
    v.iter()
        .map(|x| SignatureItem {
            key: x.key,
            signature: x.sig,
            message: &x.msg,
        })
        .collect()
}

/// Batch verdicts for `order` (a permutation of the vectors), in chunks of `chunk`.
fn batched(v: &[Vector], order: &[usize], chunk: usize) -> Vec<bool> {
    let all = items(v);
    let permuted: Vec<SignatureItem<'_>> = order.iter().map(|&i| all[i]).collect();
    let mut verdict = vec![false; v.len()];
    for (c, idx) in permuted.chunks(chunk).zip(order.chunks(chunk)) {
        for (ok, &i) in verify_signatures(c).into_iter().zip(idx) {
            verdict[i] = ok;
        }
    }
    verdict
}

/// A deterministic shuffle (xorshift), so failures reproduce.
fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, usize::try_from(seed % (i as u64 + 1)).unwrap());
    }
    v
}

fn assert_paths_agree(v: &[Vector]) -> Vec<bool> {
    let single: Vec<bool> = v
        .iter()
        .map(|x| verify_signature(&x.key, &x.sig, &x.msg))
        .collect();
    let identity: Vec<usize> = (0..v.len()).collect();
    for chunk in [1, 2, 7, 64, v.len()] {
        assert_eq!(
            batched(v, &identity, chunk),
            single,
            "in order, chunks of {chunk}"
        );
    }
    for seed in [1, 0x9e37_79b9_7f4a_7c15, 42] {
        let order = shuffled(v.len(), seed);
        for chunk in [3, 32, v.len()] {
            assert_eq!(
                batched(v, &order, chunk),
                single,
                "shuffled with seed {seed}, chunks of {chunk}"
            );
        }
    }
    single
}

#[test]
fn cctv_vectors_single_and_batch_agree() {
    let v = cctv();
    assert_eq!(v.len(), 914);
    let single = assert_paths_agree(&v);
    let accepted = single.iter().filter(|&&ok| ok).count();
    // ed25519-zebra 5 (ZIP-215) accepts 826 of the 914, as measured in shared/vectors.
    assert_eq!(accepted, 826);
}

#[test]
fn cctv_vectors_mixed_with_valid_signatures_agree() {
    // Each vector batched beside valid signatures of one real key: a bad item must not hide
    // among good ones, nor a good one be blamed for a bad neighbour.
    let mut v = cctv();
    let signer = ed25519_zebra::SigningKey::from([5u8; 32]);
    let key: [u8; 32] = ed25519_zebra::VerificationKey::from(&signer).into();
    for i in 0..200u32 {
        let msg = format!("valid {i}").into_bytes();
        let sig = signer.sign(&msg).to_bytes();
        v.insert(usize::try_from(i * 4).unwrap(), Vector { key, sig, msg });
    }
    let single = assert_paths_agree(&v);
    assert!(single.iter().filter(|&&ok| ok).count() >= 826 + 200);
}

#[test]
fn taming_eddsa_cases_follow_zip215() {
    let v = taming();
    let single = assert_paths_agree(&v);
    // Published ZIP-215 verdicts: accept 0–5 and 9–11, reject 6–8.
    let expected: Vec<bool> = (0..12).map(|i| !(6..=8).contains(&i)).collect();
    assert_eq!(single, expected);
}
