//! Trace bundles and checkpoint-trusted verification on the demo cooperative.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "tests fail by panicking; the bit-flip test shows which part refused each flip"
)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use agritrace::demo::DemoConfig;
use agritrace::tlog::*;
use agritrace::*;
use rayon::prelude::*;

const ORIGIN: &str = "log.example.org/qingjian";

struct Demo {
    store: SqliteStore,
    records: Vec<SignedRecord>,
    tree: MerkleTree,
    log: LogSigner,
    note: String,
    policy: LogPolicy,
    cfg: DemoConfig,
}

fn demo() -> &'static Demo {
    static LOG: OnceLock<Demo> = OnceLock::new();
    LOG.get_or_init(|| {
        let cfg = DemoConfig {
            pigs: 6,
            ..DemoConfig::new(2026)
        };
        let records = cfg.generate().records;
        let store = cfg.create_store(None).unwrap();
        for b in records.chunks(1000) {
            store.append_batch(b).unwrap();
        }
        let mut tree = MerkleTree::new();
        let size = sync_tree(&mut tree, &store).unwrap();
        assert_eq!(size, records.len() as u64);
        let log = LogSigner::new(ORIGIN, Signer::from_seed([0xA1; 32])).unwrap();
        let follow = LogPolicy::new(ORIGIN, log.verifier().clone());
        let mut note = log.sign(size, tree.root(size).unwrap()).unwrap();
        let mut keys = Vec::new();
        for (seed, name) in [(0xB0u8, "w1.example.net"), (0xB1, "w2.example.net")] {
            let mut w = Witness::new(name, Signer::from_seed([seed; 32])).unwrap();
            w.follow(&follow);
            note = w.cosign(&note, &[], 1_780_000_000).unwrap();
            keys.push(w.verifier().clone());
        }
        // Both witnesses required, so dropping either cosignature is noticed.
        let policy = follow.witnesses(keys, 2).unwrap();
        Demo {
            store,
            records,
            tree,
            log,
            note,
            policy,
            cfg,
        }
    })
}

fn bundle(id: &SubjectId) -> TraceBundle {
    let d = demo();
    TraceBundle::export(&d.store, &d.tree, &d.note, &d.log, &d.cfg.trust(), id).unwrap()
}

fn pigs() -> Vec<SubjectId> {
    let d = demo();
    (0..d.cfg.pigs).filter_map(|i| d.cfg.pig(i)).collect()
}

#[test]
fn a_pig_bundle_verifies_offline_and_is_small() {
    let d = demo();
    let mut sizes = BTreeMap::new();
    for pig in pigs() {
        let b = bundle(&pig);
        let bytes = b.to_bytes().unwrap();
        let v = verify_bundle(&bytes, &d.policy, &Policy::livestock()).unwrap();
        assert_eq!(v.subject(), &pig);
        let own = v.set().chain(&pig).unwrap().len();
        assert_eq!(v.checkpoint().cosigners().len(), 2);
        // Same verdict and records as tracing the store directly.
        let direct = trace(&d.store, &d.cfg.trust(), &Policy::livestock(), &pig).unwrap();
        let offline = v.trace();
        assert_eq!(
            offline.animal.as_ref().map(|a| &a.weights),
            direct.animal.as_ref().map(|a| &a.weights)
        );
        assert_eq!(offline.products.len(), direct.products.len());
        sizes.insert(own, bytes.len());
    }
    // The acceptance bound: a pig with about 300 records (here every demo pig, 300 or more,
    // with its cuts and packs) fits in 128 KiB.
    for (records, bytes) in &sizes {
        if *records <= 450 {
            assert!(*bytes <= 128 * 1024, "{records} records: {bytes} bytes");
        }
    }
    assert!(sizes.keys().any(|&n| n >= 300), "{sizes:?}");
}

#[test]
fn a_300_record_pig_bundle_is_at_most_128_kib() {
    // A pig with exactly ~300 records (bench demo), in a log of its own.
    let cfg = DemoConfig::bench(7, 1, 300);
    let farm = cfg.generate();
    let store = cfg.create_store(None).unwrap();
    store.append_batch(&farm.records).unwrap();
    let mut tree = MerkleTree::new();
    let size = sync_tree(&mut tree, &store).unwrap();
    let log = LogSigner::new(ORIGIN, Signer::from_seed([0xA2; 32])).unwrap();
    let note = log.sign(size, tree.root(size).unwrap()).unwrap();
    let pig = cfg.pig(0).unwrap();
    let b = TraceBundle::export(&store, &tree, &note, &log, &farm.trust, &pig).unwrap();
    let bytes = b.to_bytes().unwrap();
    let n = b.record_count();
    assert!((280..=320).contains(&n), "{n} records");
    eprintln!("{n}-record pig: bundle of {} bytes", bytes.len());
    assert!(
        bytes.len() <= 128 * 1024,
        "{n} records: {} bytes",
        bytes.len()
    );
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    verify_bundle(&bytes, &policy, &Policy::livestock()).unwrap();
}

/// The smallest bundle with lineage in the demo (a honey blend and its source lots).
fn small_lineage_bundle() -> (SubjectId, TraceBundle) {
    let d = demo();
    d.store
        .subjects()
        .unwrap()
        .into_iter()
        .filter(|s| !d.store.parents(s).unwrap().is_empty())
        .map(|s| {
            let b = bundle(&s);
            (s, b)
        })
        .min_by_key(|(_, b)| b.to_bytes().unwrap().len())
        .unwrap()
}

#[test]
fn every_bit_flip_of_a_bundle_is_rejected_with_a_reason() {
    let d = demo();
    let (_, b) = small_lineage_bundle();
    let bytes = b.to_bytes().unwrap();
    verify_bundle(&bytes, &d.policy, &Policy::livestock()).unwrap();
    assert!(bytes.len() < 16 * 1024, "{} bytes", bytes.len());
    let kinds: BTreeMap<String, usize> = (0..bytes.len() * 8)
        .into_par_iter()
        .map(|bit| {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let err = verify_bundle(&b, &d.policy, &Policy::livestock())
                .err()
                .unwrap_or_else(|| panic!("flip of bit {bit} accepted"));
            let msg = err.to_string();
            assert!(!msg.is_empty() && !msg.contains("batch failed"), "{msg}");
            assert_plain(&msg);
            msg.split(':').next().unwrap().to_owned()
        })
        .fold(BTreeMap::new, |mut m, k| {
            *m.entry(k).or_insert(0) += 1;
            m
        })
        .reduce(BTreeMap::new, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_insert(0) += v;
            }
            a
        });
    eprintln!(
        "{} bytes, {} flips: {kinds:#?}",
        bytes.len(),
        bytes.len() * 8
    );
    // Different parts fail for different, named reasons.
    assert!(kinds.len() >= 4, "{kinds:?}");
    // Truncations too.
    for len in 0..bytes.len() {
        let err = verify_bundle(&bytes[..len], &d.policy, &Policy::livestock()).unwrap_err();
        assert_plain(&err.to_string());
    }
}

/// An error message in words, without a decoder's `Debug` output.
fn assert_plain(msg: &str) {
    for internal in [
        " { ",
        "UnexpectedEnd",
        "LimitExceeded",
        "OtherString",
        "UnexpectedVariant",
        "Utf8Error",
        "InvalidBooleanValue",
    ] {
        assert!(!msg.contains(internal), "{internal:?} in {msg:?}");
    }
}

#[test]
fn bundle_files_are_read_with_a_cap_and_named_in_errors() {
    let d = demo();
    let (_, b) = small_lineage_bundle();
    let dir = std::env::temp_dir().join(format!("agritrace-bundle-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pig.bundle");
    std::fs::write(&path, b.to_bytes().unwrap()).unwrap();
    let bytes = read_bundle_file(&path).unwrap();
    verify_bundle(&bytes, &d.policy, &Policy::livestock()).unwrap();
    // A missing file is named.
    let missing = dir.join("missing.bundle");
    let err = read_bundle_file(&missing).unwrap_err();
    assert!(matches!(err, BundleError::File { .. }), "{err}");
    assert!(err.to_string().contains("missing.bundle"), "{err}");
    // A file one byte past the limit is refused without being read whole (sparse here).
    let big = dir.join("big.bundle");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(MAX_BUNDLE_LEN as u64 + 1).unwrap();
    let err = read_bundle_file(&big).unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::FileTooLarge {
                max: MAX_BUNDLE_LEN,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("big.bundle"), "{err}");
    // Exactly at the limit it is read, and refused as a bundle for what it holds.
    f.set_len(MAX_BUNDLE_LEN as u64).unwrap();
    let bytes = read_bundle_file(&big).unwrap();
    assert!(matches!(
        verify_bundle(&bytes, &d.policy, &Policy::livestock()),
        Err(BundleError::Format(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bit_flips_across_a_whole_pig_bundle_are_rejected() {
    // The pig bundle is ~100 KiB: every part of it, sampled at 1,500 spread bit positions
    // (the small bundle above gets every bit).
    let d = demo();
    let pig = pigs()[0].clone();
    let bytes = bundle(&pig).to_bytes().unwrap();
    let bits = bytes.len() * 8;
    (0..1_500usize).into_par_iter().for_each(|k| {
        let bit = (k * 7_919 + k * k) % bits;
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(
            verify_bundle(&b, &d.policy, &Policy::livestock()).is_err(),
            "flip of bit {bit} accepted"
        );
    });
}

#[test]
fn a_bundle_without_a_lineage_parent_is_refused() {
    let d = demo();
    let (subject, mut b) = small_lineage_bundle();
    let parent = d.store.parents(&subject).unwrap()[0].parent.clone();
    assert!(b.remove_chain(&parent));
    let err = b.verify(&d.policy, &Policy::livestock()).unwrap_err();
    assert!(matches!(err, BundleError::Records(_)), "{err}");
    assert!(err.to_string().contains("lineage parent"), "{err}");
    // And a pack whose cut is gone, and a bundle without its own subject.
    let pig = pigs()
        .into_iter()
        .find(|p| !d.store.children(p).unwrap().is_empty())
        .unwrap();
    let cut = d.store.children(&pig).unwrap()[0].child.clone();
    let pack = d.store.children(&cut).unwrap()[0].child.clone();
    let mut b = bundle(&pack);
    assert!(b.remove_chain(&cut));
    assert!(
        b.verify(&d.policy, &Policy::livestock())
            .unwrap_err()
            .to_string()
            .contains("lineage parent")
    );
    let mut b = bundle(&pig);
    for s in d.store.children(&pig).unwrap() {
        let packs = d.store.children(&s.child).unwrap();
        for p in packs {
            b.remove_chain(&p.child);
        }
        b.remove_chain(&s.child);
    }
    b.verify(&d.policy, &Policy::livestock()).unwrap();
    b.remove_chain(&pig);
    assert!(matches!(
        b.verify(&d.policy, &Policy::livestock()),
        Err(BundleError::MissingSubject(_))
    ));
}

#[test]
fn a_bundle_needs_the_pinned_keys_and_quorum() {
    let d = demo();
    let pig = pigs()[0].clone();
    let bytes = bundle(&pig).to_bytes().unwrap();
    let other_log = LogSigner::new(ORIGIN, Signer::from_seed([0xA9; 32])).unwrap();
    let wrong = LogPolicy::new(ORIGIN, other_log.verifier().clone());
    assert!(matches!(
        verify_bundle(&bytes, &wrong, &Policy::livestock()),
        Err(BundleError::Checkpoint(CheckpointError::NotSignedByLog(_)))
    ));
    let w3 = Witness::new("w3.example.net", Signer::from_seed([0xBF; 32])).unwrap();
    let needs_w3 = LogPolicy::new(ORIGIN, d.log.verifier().clone())
        .witnesses(vec![w3.verifier().clone()], 1)
        .unwrap();
    assert!(matches!(
        verify_bundle(&bytes, &needs_w3, &Policy::livestock()),
        Err(BundleError::Checkpoint(CheckpointError::Quorum {
            found: 0,
            needed: 1
        }))
    ));
    // A signer the trust store does not hold is refused at export.
    let err = TraceBundle::export(&d.store, &d.tree, &d.note, &d.log, &TrustStore::new(), &pig)
        .unwrap_err();
    assert!(
        err.to_string().contains("trust store does not hold"),
        "{err}"
    );
    // A checkpoint older than the records is refused at export.
    let old = d.log.sign(10, d.tree.root(10).unwrap()).unwrap();
    assert!(TraceBundle::export(&d.store, &d.tree, &old, &d.log, &d.cfg.trust(), &pig).is_err());
}

#[test]
fn checkpoint_mode_agrees_with_the_engine_and_catches_edits() {
    let d = demo();
    let cp = d.policy.verify(&d.note).unwrap();
    let full = LedgerVerifier::new(&d.cfg.trust(), &Policy::livestock())
        .verify(&d.records)
        .unwrap();
    for threads in [1, 2, 3] {
        let logged = CheckpointVerifier::new(&cp)
            .threads(threads)
            .verify(&d.records)
            .unwrap();
        assert_eq!(logged.records(), full.records());
        assert_eq!(logged.tips(), full.tips());
        for s in d.store.subjects().unwrap() {
            assert_eq!(logged.tips().get(&s), full.tips().get(&s), "{s}");
        }
    }
    let verify = |records: &[SignedRecord]| CheckpointVerifier::new(&cp).verify(records);
    // An edited byte, an edited signature, a swap, a drop, an insert.
    let mut edited = d.records.clone();
    let r = &edited[100];
    let mut body = r.body().to_vec();
    body[30] ^= 1;
    edited[100] = SignedRecord::from_parts(body, *r.signature());
    assert!(matches!(
        verify(&edited),
        Err(LoggedError::RootMismatch { .. })
    ));
    let mut resigned = d.records.clone();
    let mut sig = *resigned[7].signature();
    sig[0] ^= 1;
    resigned[7] = SignedRecord::from_parts(resigned[7].body().to_vec(), sig);
    assert!(matches!(
        verify(&resigned),
        Err(LoggedError::RootMismatch { .. })
    ));
    let mut swapped = d.records.clone();
    swapped.swap(10, 11);
    assert!(matches!(
        verify(&swapped),
        Err(LoggedError::RootMismatch { .. })
    ));
    assert!(matches!(
        verify(&d.records[1..]),
        Err(LoggedError::SizeMismatch { .. })
    ));
    // A log that signed a root over a broken order is caught by the chain walk: swap a
    // chain's first two records.
    let subject_of = |r: &SignedRecord| RecordBody::decode(r.body()).unwrap().subject().clone();
    let first = subject_of(&d.records[0]);
    let second = d
        .records
        .iter()
        .position(|r| subject_of(r) == first)
        .map(|_| {
            1 + d.records[1..]
                .iter()
                .position(|r| subject_of(r) == first)
                .unwrap()
        })
        .unwrap();
    let mut swapped = d.records.clone();
    swapped.swap(0, second);
    let mut tree = MerkleTree::new();
    for r in &swapped {
        tree.push(TreeHash::of_signed(r));
    }
    let n = tree.len();
    let bad_note = d.log.sign(n, tree.root(n).unwrap()).unwrap();
    let bad_cp = LogPolicy::new(ORIGIN, d.log.verifier().clone())
        .verify(&bad_note)
        .unwrap();
    let err = CheckpointVerifier::new(&bad_cp)
        .verify(&swapped)
        .unwrap_err();
    assert!(
        matches!(err, LoggedError::BrokenChain { index: 0, .. }),
        "{err}"
    );
}
