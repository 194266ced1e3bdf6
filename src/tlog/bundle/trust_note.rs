//! A bundle's trust note: the log's signed statement of what the trust store says of each
//! key that signed the bundle's records, and reading it back under the pinned log key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::event::Text;
use crate::signing::PublicKey;
use crate::time::Timestamp;
use crate::tlog::checkpoint::{LogPolicy, LogSigner};
use crate::tlog::note::Note;
use crate::trust::{KeyGrant, Role, TrustStore};

use super::BundleError;

/// First line of a trust note.
const TRUST_HEADER: &str = "agritrace/v1/trust";

/// Most keys one trust note may list.
const MAX_TRUST_KEYS: usize = 1024;

/// The log's signed statement of what `trust` says of `keys`:
///
/// ```text
/// agritrace/v1/trust
/// <origin>
/// key <hex key> <role> <valid from ms> <valid until ms or -> <revoked at ms or -> <party>
/// ```
pub(super) fn trust_note(
    log: &LogSigner,
    trust: &TrustStore,
    keys: &BTreeSet<PublicKey>,
) -> Result<String, BundleError> {
    let mut text = format!("{TRUST_HEADER}\n{}\n", log.origin());
    let opt = |t: Option<Timestamp>| t.map_or("-".to_owned(), |t| t.as_millis().to_string());
    for key in keys {
        let Some(g) = trust.grant(key) else {
            return Err(BundleError::KeyNotTrusted(key.key_id()));
        };
        let _ = writeln!(
            text,
            "key {key} {} {} {} {} {}",
            g.role,
            g.valid_from.as_millis(),
            opt(g.valid_until),
            opt(trust.revoked_at(key)),
            g.party
        );
    }
    let mut note = Note::new(&text).map_err(BundleError::TrustNote)?;
    log.sign_note(&mut note);
    Ok(note.to_string())
}

/// Verifies a trust note with the log key and rebuilds the trust store it states.
pub(super) fn read_trust_note(note: &str, log: &LogPolicy) -> Result<TrustStore, BundleError> {
    let bad = |line: usize, what: &str| BundleError::TrustLine {
        line,
        what: what.to_owned(),
    };
    let parsed = Note::parse(note).map_err(BundleError::TrustNote)?;
    parsed
        .verify(std::slice::from_ref(log.log_key()))
        .map_err(BundleError::TrustNote)?;
    let mut lines = parsed.text().lines();
    if lines.next() != Some(TRUST_HEADER) {
        return Err(bad(1, "not a trust note"));
    }
    if lines.next() != Some(log.origin()) {
        return Err(bad(2, "origin is not the pinned log's"));
    }
    let mut entries: BTreeMap<PublicKey, (KeyGrant, Option<Timestamp>)> = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let n = i + 3;
        if entries.len() == MAX_TRUST_KEYS {
            return Err(bad(n, "too many keys"));
        }
        let mut f = line.splitn(7, ' ');
        let (
            Some("key"),
            Some(key),
            Some(role),
            Some(from),
            Some(until),
            Some(revoked),
            Some(party),
        ) = (
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
        )
        else {
            return Err(bad(
                n,
                "expected: key <key> <role> <from> <until> <revoked> <party>",
            ));
        };
        let key: PublicKey = key
            .parse()
            .map_err(|_| bad(n, "key is not 64 hex digits"))?;
        let role = Role::from_name(role).ok_or_else(|| bad(n, "unknown role"))?;
        let millis = |s: &str| -> Result<Option<Timestamp>, BundleError> {
            if s == "-" {
                return Ok(None);
            }
            s.parse::<i64>()
                .map(|m| Some(Timestamp::from_millis(m)))
                .map_err(|_| bad(n, "time is not integer milliseconds or -"))
        };
        let valid_from = millis(from)?.ok_or_else(|| bad(n, "key has no start time"))?;
        let party = Text::new(party).map_err(|e| bad(n, &e.to_string()))?;
        let grant = KeyGrant {
            party,
            role,
            valid_from,
            valid_until: millis(until)?,
        };
        if entries
            .last_key_value()
            .is_some_and(|(last, _)| *last >= key)
        {
            return Err(bad(n, "keys out of order or listed twice"));
        }
        entries.insert(key, (grant, millis(revoked)?));
    }
    let mut trust = TrustStore::new();
    for (key, (grant, revoked)) in entries {
        trust.add(key, grant).map_err(BundleError::TrustKey)?;
        if let Some(at) = revoked {
            trust.revoke(&key, at).map_err(BundleError::TrustKey)?;
        }
    }
    Ok(trust)
}
