//! Baselines shared by `benches/verify.rs` and `examples/bench_verify.rs`: what a user would
//! write by hand, the raw crypto bound, and a ledger where every record has its own key.

use agritrace::{
    Chain, EarTag, Event, KeyGrant, RecordBody, Role, SignedRecord, Signer, Species, SubjectId,
    Text, Timestamp, TrustStore,
};
use rayon::prelude::*;

/// A precomputed (key, signature, signed message) triple.
pub type Triple = ([u8; 32], [u8; 64], [u8; 55]);

/// (a) What a user would write: decode, hash, then ed25519-dalek `verify_strict`, one by one.
pub fn naive(records: &[SignedRecord]) -> usize {
    let mut ok = 0;
    for r in records {
        let Ok(body) = RecordBody::decode(r.body()) else {
            continue;
        };
        let id = r.id();
        let mut msg = b"agritrace/v1/signature\0".to_vec();
        msg.extend_from_slice(id.as_bytes());
        let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(body.signer().as_bytes()) else {
            continue;
        };
        let sig = ed25519_dalek::Signature::from_bytes(r.signature());
        if vk.verify_strict(&msg, &sig).is_ok() {
            ok += 1;
        }
    }
    ok
}

/// (b) Raw crypto bound: zebra batches over precomputed (key, signature, message) triples,
/// in the library's chunk size, on all cores; no decode, hashing or chain logic.
pub fn raw_bound(triples: &[Triple], chunk: usize) -> bool {
    triples.par_chunks(chunk).all(|c| {
        let mut v = ed25519_zebra::batch::Verifier::new();
        for (k, s, m) in c {
            v.queue((
                ed25519_zebra::VerificationKeyBytes::from(*k),
                ed25519_zebra::Signature::from_bytes(s),
                &m[..],
            ));
        }
        v.verify(rand::rng()).is_ok()
    })
}

pub fn triples(records: &[SignedRecord]) -> Vec<Triple> {
    records
        .iter()
        .filter_map(|r| {
            let body = RecordBody::decode(r.body()).ok()?;
            let mut m = [0u8; 55];
            m[..23].copy_from_slice(b"agritrace/v1/signature\0");
            m[23..].copy_from_slice(r.id().as_bytes());
            Some((*body.signer().as_bytes(), *r.signature(), m))
        })
        .collect()
}

/// (e) A ledger where every record has its own device key.
pub fn distinct_key_ledger(n: u32) -> (TrustStore, Vec<SignedRecord>) {
    let per_pig = 50;
    let pigs = n.div_ceil(per_pig);
    let chains: Vec<(Vec<Signer>, Vec<SignedRecord>)> = (0..pigs)
        .into_par_iter()
        .map(|p| {
            let Ok(tag) = EarTag::new(Species::Pig, 610_830, 5_000_000 + p) else {
                return (vec![], vec![]);
            };
            let mut chain = Chain::new(SubjectId::EarTag(tag));
            let mut keys = Vec::new();
            let mut recs = Vec::new();
            for k in 0..per_pig {
                let mut seed = [0u8; 32];
                seed[..4].copy_from_slice(&p.to_le_bytes());
                seed[4..8].copy_from_slice(&k.to_le_bytes());
                seed[8] = 0xe5;
                let s = Signer::from_seed(seed);
                let t = Timestamp::from_millis(1_750_000_000_000 + i64::from(k) * 86_400_000);
                if let Ok(r) = chain.append(
                    &s,
                    t,
                    Event::Weighing {
                        grams: 30_000 + k * 500,
                    },
                ) {
                    recs.push(r);
                }
                keys.push(s);
            }
            (keys, recs)
        })
        .collect();
    let mut trust = TrustStore::new();
    let mut records = Vec::new();
    let Ok(party) = Text::new("scale fleet") else {
        return (trust, records);
    };
    for (keys, recs) in chains {
        for k in keys {
            let _ = trust.add(
                k.public_key(),
                KeyGrant::new(party.clone(), Role::Device, Timestamp::from_millis(0)),
            );
        }
        records.extend(recs);
    }
    (trust, records)
}

/// This process's peak resident set size (`VmHWM`), in bytes; 0 where /proc is absent.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// A log checkpoint over `records` (in order): the pinned policy and the signed note.
///
/// # Errors
/// Only if the fixed origin were not a valid key name.
pub fn checkpoint_for(
    records: &[SignedRecord],
) -> Result<(agritrace::LogPolicy, String), agritrace::CheckpointError> {
    use agritrace::tlog::RootBuilder;
    use agritrace::{LogPolicy, LogSigner, Signer, TreeHash};
    let mut root = RootBuilder::new();
    for r in records {
        root.push(TreeHash::of_signed(r));
    }
    let origin = "bench.example/log";
    let log = LogSigner::new(origin, Signer::from_seed([0xC0; 32]))?;
    let note = log.sign(root.len(), root.root())?;
    Ok((LogPolicy::new(origin, log.verifier().clone()), note))
}

/// Checkpoint-trusted verification of `records` from the signed note: the note's
/// signature, then every record re-hashed against its root.
pub fn checkpoint_verify(
    policy: &agritrace::LogPolicy,
    note: &str,
    records: &[SignedRecord],
    threads: Option<usize>,
) -> bool {
    let Ok(cp) = policy.verify(note) else {
        return false;
    };
    let v = agritrace::CheckpointVerifier::new(&cp);
    let v = match threads {
        Some(n) => v.threads(n),
        None => v,
    };
    v.verify(records).is_ok()
}

/// The records as a verifier receives them: written as a ledger file and read back, so the
/// bodies lie in memory in log order (as [`agritrace::LedgerReader`] allocates them), not in
/// the demo generator's pig-by-pig order, which scatters them across the heap.
///
/// # Errors
/// Only if the ledger just written did not read back.
pub fn as_read(records: &[SignedRecord]) -> Result<Vec<SignedRecord>, Box<dyn std::error::Error>> {
    let mut file = Vec::new();
    agritrace::write_ledger(&mut file, records)?;
    Ok(agritrace::LedgerReader::new(file.as_slice())?.collect::<Result<_, _>>()?)
}
