//! Signed notes, checkpoints, cosignatures and witnesses (C2SP formats).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use agritrace::tlog::*;
use agritrace::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest as _;

const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
const ORIGIN: &str = "log.example.org/qingjian-coop";

#[test]
fn the_signed_note_specification_example_verifies() {
    let key = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(key.vkey(), SPEC_VKEY);
    assert_eq!(key.kind(), KeyKind::Ed25519);
    let note = Note::parse(SPEC_NOTE).unwrap();
    let signed = note.verify(std::slice::from_ref(&key)).unwrap();
    assert_eq!(signed.len(), 1);
    assert_eq!(signed[0].key_id, 0x530d_903a);
    assert_eq!(note.to_string(), SPEC_NOTE);
    // One changed character of text.
    let edited = SPEC_NOTE.replace("example message", "example massage");
    assert!(matches!(
        Note::parse(&edited).unwrap().verify(&[key]),
        Err(NoteError::BadSignature { .. })
    ));
}

fn log() -> LogSigner {
    LogSigner::new(ORIGIN, Signer::from_seed([40; 32])).unwrap()
}

fn witnesses() -> Vec<Witness> {
    (0..3u8)
        .map(|i| {
            Witness::new(
                &format!("witness{i}.example.net"),
                Signer::from_seed([50 + i; 32]),
            )
            .unwrap()
        })
        .collect()
}

fn root(n: u8) -> TreeHash {
    TreeHash::leaf(&[n])
}

#[test]
fn checkpoints_round_trip_and_verify_with_a_quorum() {
    let log = log();
    let note = log.sign(20_852_163, root(1)).unwrap();
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "20852163");
    assert_eq!(STANDARD.decode(lines[2]).unwrap(), root(1).as_bytes());
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with(&format!("\u{2014} {ORIGIN} ")));

    let mut ws = witnesses();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    for w in &mut ws {
        w.follow(&policy);
    }
    let mut cosigned = note.clone();
    for (i, w) in ws.iter_mut().enumerate().take(2) {
        cosigned = w.cosign(&cosigned, &[], 1_700_000_000 + i as u64).unwrap();
    }
    let keys: Vec<VerifierKey> = ws.iter().map(|w| w.verifier().clone()).collect();
    let two_of_three = policy.clone().witnesses(keys.clone(), 2).unwrap();
    let v = two_of_three.verify(&cosigned).unwrap();
    assert_eq!(v.size(), 20_852_163);
    assert_eq!(*v.root(), root(1));
    assert_eq!(v.cosigners().len(), 2);
    assert_eq!(v.cosigners()[1].timestamp, 1_700_000_001);
    // Three of three is not met; the uncosigned note meets only k = 0.
    assert!(matches!(
        policy
            .clone()
            .witnesses(keys.clone(), 3)
            .unwrap()
            .verify(&cosigned),
        Err(CheckpointError::Quorum {
            found: 2,
            needed: 3
        })
    ));
    assert!(matches!(
        two_of_three.verify(&note),
        Err(CheckpointError::Quorum {
            found: 0,
            needed: 2
        })
    ));
    policy.verify(&note).unwrap();
    // vkeys round-trip, and a cosignature vkey carries type 0x04.
    for k in &keys {
        let back = VerifierKey::parse(&k.vkey()).unwrap();
        assert_eq!(&back, k);
        let material = STANDARD
            .decode(k.vkey().rsplit('+').next().unwrap())
            .unwrap();
        assert_eq!(material[0], 0x04);
    }
}

#[test]
fn a_cosignature_signs_the_specified_message() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let mut w = Witness::new("w.example.net", Signer::from_seed([77; 32])).unwrap();
    w.follow(&policy);
    let note = w
        .cosign(&log.sign(5, root(5)).unwrap(), &[], 1_679_315_147)
        .unwrap();
    let line = note.lines().last().unwrap();
    let b64 = line.rsplit(' ').next().unwrap();
    let raw = STANDARD.decode(b64).unwrap();
    assert_eq!(raw.len(), 4 + 8 + 64);
    assert_eq!(
        u32::from_be_bytes(raw[..4].try_into().unwrap()),
        w.verifier().key_id()
    );
    assert_eq!(
        u64::from_be_bytes(raw[4..12].try_into().unwrap()),
        1_679_315_147
    );
    let body = Checkpoint::new(ORIGIN, 5, root(5)).unwrap().text();
    let message = format!("cosignature/v1\ntime 1679315147\n{body}");
    let sig: [u8; 64] = raw[12..].try_into().unwrap();
    assert!(verify_signature(
        w.verifier().public_key().as_bytes(),
        &sig,
        message.as_bytes()
    ));
    // Key ID: SHA-256(name || "\n" || 0x04 || key)[:4].
    let d = sha2::Sha256::new()
        .chain_update(b"w.example.net\n\x04")
        .chain_update(w.verifier().public_key().as_bytes())
        .finalize();
    assert_eq!(
        w.verifier().key_id(),
        u32::from_be_bytes(d[..4].try_into().unwrap())
    );
}

#[test]
fn malformed_notes_are_refused_with_clear_errors() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let good = log.sign(7, root(7)).unwrap();
    policy.verify(&good).unwrap();
    let (text, sigs) = good.split_once("\n\n").unwrap();
    let reason = |note: &str| policy.verify(note).unwrap_err().to_string();

    // Extra blank lines: before the signatures (the text then ends in a blank line) and
    // between or after signature lines.
    let extra_before = format!("{text}\n\n\n{sigs}");
    assert!(
        reason(&extra_before).contains("empty"),
        "{}",
        reason(&extra_before)
    );
    let extra_after = format!("{good}\n");
    assert!(
        reason(&extra_after).contains("no signature lines"),
        "{}",
        reason(&extra_after)
    );
    let w = Witness::new("w.example.net", Signer::from_seed([78; 32])).unwrap();
    let mut w = w;
    w.follow(&policy);
    let cosigned = w.cosign(&good, &[], 1).unwrap();
    let mut lines: Vec<&str> = cosigned.lines().collect();
    lines.insert(lines.len() - 1, "");
    let gap = lines.join("\n") + "\n";
    assert!(
        policy.verify(&gap).is_err(),
        "blank line between signature lines"
    );

    // Wrong key ID: the log's name with another ID is an unknown key, so the log did not sign.
    let sig_b64 = sigs.trim_end().rsplit(' ').next().unwrap();
    let mut raw = STANDARD.decode(sig_b64).unwrap();
    raw[0] ^= 0xff;
    let wrong_id = format!("{text}\n\n\u{2014} {ORIGIN} {}\n", STANDARD.encode(&raw));
    assert!(matches!(
        policy.verify(&wrong_id),
        Err(CheckpointError::NotSignedByLog(_))
    ));
    // A vkey whose ID does not match its name and key.
    let vkey = log.verifier().vkey();
    let mut parts: Vec<String> = vkey.split('+').map(str::to_owned).collect();
    parts[1] = "00000000".into();
    assert!(matches!(
        VerifierKey::parse(&parts.join("+")),
        Err(NoteError::WrongKeyId { found: 0, .. })
    ));

    // Bad base64 in a signature line and in the root line.
    let bad_b64 = format!("{text}\n\n\u{2014} {ORIGIN} not*base64\n");
    assert!(
        reason(&bad_b64).contains("not valid base64"),
        "{}",
        reason(&bad_b64)
    );
    let bad_root = good.replacen(&STANDARD.encode(root(7).as_bytes()), "AAAA", 1);
    assert!(
        reason(&bad_root).contains("line 3"),
        "{}",
        reason(&bad_root)
    );

    // Signed only by an unknown key.
    let stranger = LogSigner::new(ORIGIN, Signer::from_seed([41; 32])).unwrap();
    let forged = stranger.sign(7, root(7)).unwrap();
    assert!(matches!(
        policy.verify(&forged),
        Err(CheckpointError::NotSignedByLog(_))
    ));
    // A known key whose signature fails refuses the note, even with a good one beside it.
    let mut raw = STANDARD.decode(sig_b64).unwrap();
    raw[10] ^= 1;
    let bad_sig = format!("{good}\u{2014} {ORIGIN} {}\n", STANDARD.encode(&raw));
    assert!(matches!(
        policy.verify(&bad_sig),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
}

#[test]
fn other_malformations_are_named() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let good = log.sign(7, root(7)).unwrap();
    let (text, _) = good.split_once("\n\n").unwrap();
    let reason = |note: &str| policy.verify(note).unwrap_err().to_string();
    for (note, want) in [
        (good.replace('\n', "\r\n"), "control character"),
        (good.trim_end().to_owned(), "newline"),
        (good.replacen("\n7\n", "\n07\n", 1), "line 2"),
        (good.replacen("\n7\n", "\n+7\n", 1), "line 2"),
        (good.replacen(ORIGIN, "log.example.org/other", 1), "origin"),
        (good.replacen("\u{2014} ", "- ", 1), "em dash"),
        ("x".repeat(MAX_NOTE_LEN + 1), "limit"),
        (String::new(), "newline"),
        ("\n\n".to_owned(), "empty"),
    ] {
        let r = reason(&note);
        assert!(r.contains(want), "{note:?}: {r}");
    }
    assert!(matches!(
        Note::parse_bytes(b"a\n\n\xff\n"),
        Err(NoteError::NotUtf8 { offset: 3 })
    ));
    let many = format!(
        "{text}\n\n{}",
        "\u{2014} k AAAAAAAA\n".repeat(MAX_NOTE_SIGNATURES + 1)
    );
    assert!(matches!(
        Note::parse(&many),
        Err(NoteError::TooManySignatures { .. })
    ));
    assert!(matches!(
        VerifierKey::parse("a+b"),
        Err(NoteError::BadVkey(_))
    ));
    assert!(matches!(
        VerifierKey::new("bad name", KeyKind::Ed25519, log.verifier().public_key()),
        Err(NoteError::BadKeyName(_))
    ));
    assert!(matches!(
        VerifierKey::new("a+b", KeyKind::Ed25519, log.verifier().public_key()),
        Err(NoteError::BadKeyName(_))
    ));
}

#[test]
fn unknown_signatures_are_ignored_and_extension_lines_kept() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let good = log.sign(9, root(9)).unwrap();
    // A signature by a key nobody configured (same name, another ID) is skipped.
    let with_unknown = format!("{good}\u{2014} {ORIGIN} {}\n", STANDARD.encode([9u8; 68]));
    policy.verify(&with_unknown).unwrap();
    let with_other = format!(
        "{good}\u{2014} someone.else {}\n",
        STANDARD.encode([9u8; 100])
    );
    policy.verify(&with_other).unwrap();
    // Extension lines parse and are signed over.
    let cp = Checkpoint::parse_text(&format!(
        "{ORIGIN}\n9\n{}\nextra line\n",
        STANDARD.encode(root(9).as_bytes())
    ))
    .unwrap();
    assert_eq!(cp.extensions(), ["extra line"]);
    assert!(
        Checkpoint::parse_text(&format!(
            "{ORIGIN}\n9\n{}\n\n",
            STANDARD.encode(root(9).as_bytes())
        ))
        .is_err()
    );
}

#[test]
fn a_witness_cosigns_only_consistent_growth() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let mut w = Witness::new("w.example.net", Signer::from_seed([79; 32])).unwrap();
    w.follow(&policy);
    let mut tree = MerkleTree::new();
    for i in 0..10u8 {
        tree.push(TreeHash::leaf(&[i]));
    }
    w.cosign(&log.sign(10, tree.root(10).unwrap()).unwrap(), &[], 1)
        .unwrap();
    for i in 10..25u8 {
        tree.push(TreeHash::leaf(&[i]));
    }
    let proof = tree.consistency_proof(10, 25).unwrap();
    let next = log.sign(25, tree.root(25).unwrap()).unwrap();
    // A wrong proof is refused; the right one is cosigned.
    let mut bad = proof.clone();
    bad[0] = TreeHash::leaf(b"x");
    assert!(matches!(
        w.cosign(&next, &bad, 2),
        Err(WitnessError::Inconsistent { latest: 10, .. })
    ));
    let cosigned = w.cosign(&next, &proof, 2).unwrap();
    policy
        .clone()
        .witnesses(vec![w.verifier().clone()], 1)
        .unwrap()
        .verify(&cosigned)
        .unwrap();
    // Rollback and a second root for the same size.
    assert!(matches!(
        w.cosign(&log.sign(10, tree.root(10).unwrap()).unwrap(), &[], 3),
        Err(WitnessError::Rollback {
            size: 10,
            latest: 25
        })
    ));
    let split_view = log.sign(25, TreeHash::leaf(b"other")).unwrap();
    let Err(WitnessError::Fork { size: 25, evidence }) = w.cosign(&split_view, &[], 4) else {
        panic!("fork not seen")
    };
    evidence
        .check(
            &TrustStore::new(),
            &Policy::livestock(),
            Some(log.verifier()),
        )
        .unwrap();
    let bytes = evidence.to_bytes().unwrap();
    assert_eq!(ForkEvidence::from_bytes(&bytes).unwrap(), *evidence);
    // A checkpoint from a log the witness does not follow.
    let other = LogSigner::new("other.example", Signer::from_seed([42; 32])).unwrap();
    assert!(w.cosign(&other.sign(1, root(1)).unwrap(), &[], 5).is_err());
}

#[test]
fn following_a_log_again_keeps_rollback_protection() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let mut w = Witness::new("w.example.net", Signer::from_seed([79; 32])).unwrap();
    w.follow(&policy);
    let mut tree = MerkleTree::new();
    for i in 0..20u8 {
        tree.push(TreeHash::leaf(&[i]));
    }
    w.cosign(&log.sign(20, tree.root(20).unwrap()).unwrap(), &[], 1)
        .unwrap();
    // Before the fix, a second follow forgot size 20 and a rollback to 10 was cosigned.
    w.follow(&policy);
    assert!(matches!(
        w.cosign(&log.sign(10, tree.root(10).unwrap()).unwrap(), &[], 2),
        Err(WitnessError::Rollback {
            size: 10,
            latest: 20
        })
    ));
    // A new key for the origin starts over.
    let rotated = LogSigner::new(ORIGIN, Signer::from_seed([80; 32])).unwrap();
    w.follow(&LogPolicy::new(ORIGIN, rotated.verifier().clone()));
    w.cosign(&rotated.sign(10, tree.root(10).unwrap()).unwrap(), &[], 3)
        .unwrap();
}

#[test]
fn a_witness_policy_that_could_not_hold_is_refused() {
    let log = log();
    let policy = LogPolicy::new(ORIGIN, log.verifier().clone());
    let w1 = Witness::new("w1.example.net", Signer::from_seed([81; 32])).unwrap();
    let w2 = Witness::new("w2.example.net", Signer::from_seed([82; 32])).unwrap();
    let keys = vec![w1.verifier().clone(), w2.verifier().clone()];
    assert!(matches!(
        policy.clone().witnesses(keys.clone(), 3),
        Err(CheckpointError::QuorumTooLarge {
            quorum: 3,
            witnesses: 2
        })
    ));
    // A log (Ed25519) key given as a witness was silently dropped before.
    assert!(matches!(
        policy.clone().witnesses(vec![log.verifier().clone()], 1),
        Err(CheckpointError::WitnessKey { .. })
    ));
    let twice = vec![w1.verifier().clone(), w1.verifier().clone()];
    let err = policy.clone().witnesses(twice, 2).unwrap_err();
    assert!(err.to_string().contains("listed twice"), "{err}");
    policy.witnesses(keys, 2).unwrap();
}
