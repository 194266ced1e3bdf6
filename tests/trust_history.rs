//! Trust as data: operator-signed statements, frozen by a known-answer vector, checked in
//! order (signature, seq, prev hash, time, each change) and round-tripped through the
//! human-readable history file; a store admits records under the trust they add up to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use agritrace::trust::*;
use agritrace::*;
use common::*;

/// The frozen bytes of the first statement of the test operator: a farm key granted from
/// 2026-01-01 with no end. Changing them is a format version bump (docs/FORMAT.md §10).
const KAT_STATEMENT: &str = "agritrace/v1/trust-statement
log.example.org/test
seq 0
prev -
time 1767225600000
grant d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737 Farm 1767225600000 - Qingjian Black Pig Cooperative

— log.example.org/test skKd1zw3SGE5mjxoCzR5/E4NH+UHxNkNBxTC3xcEPtxzd8ziyWDvAY9ErfO3gSObXfGj5CbGlawifegPN0TRx6x5FQ4=
";

fn farm_grant() -> TrustChange {
    TrustChange::Grant {
        key: keys().farm.public_key(),
        grant: KeyGrant::new(
            text("Qingjian Black Pig Cooperative"),
            Role::Farm,
            at(0).saturating_add_millis(-12 * 3_600_000),
        ),
    }
}

#[test]
fn a_statement_matches_its_known_answer() {
    let op = operator();
    let s = TrustStatement::sign(
        &op,
        0,
        None,
        at(0).saturating_add_millis(-12 * 3_600_000),
        vec![farm_grant()],
    )
    .unwrap();
    // Ed25519 is deterministic, so the signature line is frozen too.
    assert_eq!(s.note(), KAT_STATEMENT);
    assert_eq!(
        s.hash().to_string().len(),
        64,
        "the next statement names this hash"
    );
    let again = TrustStatement::parse(s.note(), op.verifier()).unwrap();
    assert_eq!(again, s);
}

#[test]
fn a_history_is_checked_statement_by_statement() {
    let op = operator();
    let mut h = TrustHistory::new(op.verifier().clone());
    let s0 = h.sign_next(&op, at(0), vec![farm_grant()]).unwrap();
    h.apply(s0.note()).unwrap();
    // Replaying a statement, skipping one, or naming the wrong previous hash is refused.
    assert!(matches!(
        h.apply(s0.note()),
        Err(TrustHistoryError::OutOfOrder {
            expected: 1,
            found: 0
        })
    ));
    let revoke = TrustChange::Revoke {
        key: keys().farm.public_key(),
        at: at(5),
    };
    let skip = TrustStatement::sign(&op, 2, Some(s0.hash()), at(1), vec![revoke.clone()]).unwrap();
    assert!(matches!(
        h.apply(skip.note()),
        Err(TrustHistoryError::OutOfOrder { .. })
    ));
    let wrong_prev = TrustStatement::sign(&op, 1, None, at(1), vec![revoke.clone()]).unwrap();
    assert!(matches!(
        h.apply(wrong_prev.note()),
        Err(TrustHistoryError::PrevMismatch { statement: 1 })
    ));
    let backwards = h.sign_next(&op, at(-1), vec![revoke.clone()]).unwrap();
    assert!(matches!(
        h.apply(backwards.note()),
        Err(TrustHistoryError::TimeWentBackwards { .. })
    ));
    // A statement by another key is refused, however well-formed.
    let stranger = LogSigner::new("log.example.org/test", Signer::from_seed([0x0D; 32])).unwrap();
    let forged = h.sign_next(&stranger, at(1), vec![revoke.clone()]).unwrap();
    assert!(matches!(
        h.apply(forged.note()),
        Err(TrustHistoryError::NotByOperator { .. } | TrustHistoryError::Note { .. })
    ));
    // A change that does not apply (revoking an unknown key) refuses the whole statement.
    let unknown = TrustChange::Revoke {
        key: keys().vet.public_key(),
        at: at(1),
    };
    let bad = h
        .sign_next(&op, at(1), vec![revoke.clone(), unknown])
        .unwrap();
    assert!(matches!(
        h.apply(bad.note()),
        Err(TrustHistoryError::Change {
            statement: 1,
            line: 7,
            ..
        })
    ));
    assert_eq!(h.statements().len(), 1);
    let s1 = h.sign_next(&op, at(6), vec![revoke]).unwrap();
    h.apply(s1.note()).unwrap();
    assert_eq!(h.trust().revoked_at(&keys().farm.public_key()), Some(at(5)));
    // As of before the revocation was stated, the key was not revoked.
    assert_eq!(h.as_of(at(3)).revoked_at(&keys().farm.public_key()), None);
    // The file round-trips; an edited file is refused, naming what broke.
    let text = h.to_text();
    let back = TrustHistory::from_text(&text, op.verifier().clone()).unwrap();
    assert_eq!(back.statements(), h.statements());
    let edited = text.replace(
        "Qingjian Black Pig Cooperative",
        "Qingjian Black Pig Cooperativ",
    );
    assert!(TrustHistory::from_text(&edited, op.verifier().clone()).is_err());
    let dropped = text.replacen(s0.note(), "", 1);
    assert!(TrustHistory::from_text(&dropped, op.verifier().clone()).is_err());
    for cut in [1, text.len() / 2, text.len() - 1] {
        assert!(TrustHistory::from_text(&text[..cut], op.verifier().clone()).is_err());
    }
}

#[test]
fn a_store_admits_under_its_trust_history_and_keeps_it() {
    let k = keys();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("trust-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.sqlite");
    let store = SqliteStore::create(&path, operator().verifier()).unwrap();
    assert!(matches!(
        SqliteStore::create(&path, operator().verifier()),
        Err(StoreError::Exists(_))
    ));
    assert!(matches!(
        SqliteStore::open(dir.join("typo.sqlite")),
        Err(StoreError::NotFound(_))
    ));
    let chain = pig_chain(&k);
    // No trust yet: refused.
    assert!(matches!(
        store.append(&chain[0]).unwrap_err().conflict(),
        Some(Conflict::Refused(Reason::UntrustedKey(_)))
    ));
    grant_all(&store, &k);
    store.append_batch(&chain[..5]).unwrap();
    // Revoke the gateway from day 5: its later records are refused from then on.
    store
        .update_trust(
            &operator(),
            at(5),
            vec![TrustChange::Revoke {
                key: k.gateway.public_key(),
                at: at(5),
            }],
        )
        .unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let h = store.trust_history().unwrap();
    assert_eq!(h.statements().len(), 2);
    assert_eq!(h.trust().revoked_at(&k.gateway.public_key()), Some(at(5)));
    let by_gateway = chain[5..]
        .iter()
        .find(|r| RecordBody::decode(r.body()).unwrap().signer() == &k.gateway.public_key());
    if let Some(r) = by_gateway {
        assert!(store.append(r).is_err());
    }
    // A statement signed by another key is refused and not kept.
    let stranger = LogSigner::new("log.example.org/test", Signer::from_seed([0x0D; 32])).unwrap();
    assert!(matches!(
        store.update_trust(
            &stranger,
            at(6),
            vec![TrustChange::Revoke {
                key: k.vet.public_key(),
                at: at(6)
            }]
        ),
        Err(StoreError::Trust(_))
    ));
    assert_eq!(store.trust_history().unwrap().statements().len(), 2);
}
