//! The agritrace verifier for a shopper's browser.
//!
//! A consumer page that only *shows* a verdict asks the shopper to trust the server. This
//! crate is the library's own bundle verifier — ZIP-215 Ed25519 through `ed25519-zebra`,
//! not the browser's `WebCrypto`, which follows other rules on the edge cases — compiled to
//! `wasm32-unknown-unknown`, so the page can check a [trace bundle](agritrace::TraceBundle)
//! on the phone against the log and witness keys the page pins, and give the same verdict,
//! for the same reason, as the native crate.
//!
//! The same functions run natively (this crate is also an `rlib`): the browser suite
//! (`examples/browser_suite.rs`) compares the WebAssembly answers with these, computed by
//! the native engine (threads, batch verification) on the same inputs.
//!
//! # Build
//! ```text
//! cargo build -p agritrace-wasm --target wasm32-unknown-unknown --profile wasm
//! # target/wasm32-unknown-unknown/wasm/agritrace_wasm.wasm
//! ```
//! `js/agritrace-verify.js` loads it: `agritrace.load(bytes)` gives a verifier with
//! `checkBundle(bundle, pins)` and `checkSignature(key, signature, message)`.
//!
//! # Example
//! ```
//! use agritrace::{LogSigner, Signer};
//! use agritrace_wasm::{Pins, check_bundle};
//! let log = LogSigner::new("log.example.org/coop", Signer::from_seed([1; 32]))?;
//! let pins = format!(r#"{{"origin": "log.example.org/coop", "log": "{}"}}"#, log.verifier().vkey());
//! let pins = Pins::parse(&pins)?;
//! // Not a bundle: refused, with the part that failed named.
//! let verdict = check_bundle(b"not a bundle", Ok(&pins));
//! assert!(!verdict.verified);
//! assert_eq!(verdict.part, "bundle");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use agritrace::{
    BundleError, LogPolicy, Policy, SubjectId, VerifierKey, VerifyErrors, verify_bundle,
    verify_signature,
};
use serde::{Deserialize, Serialize};

#[cfg(target_arch = "wasm32")]
mod abi;

/// The keys a page pins: the log (origin and note verifier key) and its witnesses, with the
/// number of witness cosignatures required; optionally the subject the page is about, so a
/// valid bundle of another animal is not shown as this one's.
#[derive(Clone, Debug)]
pub struct Pins {
    policy: LogPolicy,
    subject: Option<SubjectId>,
}

/// The JSON form of [`Pins`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinsJson {
    origin: String,
    log: String,
    #[serde(default)]
    witnesses: Vec<String>,
    #[serde(default)]
    quorum: usize,
    #[serde(default)]
    subject: Option<String>,
}

impl Pins {
    /// Reads pins from JSON:
    /// `{"origin": "...", "log": "<vkey>", "witnesses": ["<vkey>", ...], "quorum": n,
    /// "subject": "eartag:..."}` (`witnesses`, `quorum` and `subject` optional).
    ///
    /// # Errors
    /// A message naming the field that is wrong.
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("pins are not JSON: {e}"))?;
        if let Some(fields) = value.as_object() {
            for (field, want) in [
                ("origin", "a string"),
                ("log", "a string"),
                ("witnesses", "a list of strings"),
                ("quorum", "a number"),
                ("subject", "a string"),
            ] {
                let ok = match fields.get(field) {
                    None => true,
                    Some(v) => match field {
                        "witnesses" => v
                            .as_array()
                            .is_some_and(|a| a.iter().all(serde_json::Value::is_string)),
                        "quorum" => v.is_u64(),
                        _ => v.is_string(),
                    },
                };
                if !ok {
                    return Err(format!("pins: \"{field}\" must be {want}"));
                }
            }
        }
        let p: PinsJson =
            serde_json::from_value(value).map_err(|e| format!("pins are not valid: {e}"))?;
        let log = VerifierKey::parse(&p.log).map_err(|e| format!("pinned log key: {e}"))?;
        let witnesses = p
            .witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| {
                VerifierKey::parse(w).map_err(|e| format!("pinned witness key {}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let policy = LogPolicy::new(&p.origin, log)
            .witnesses(witnesses, p.quorum)
            .map_err(|e| format!("pinned witnesses: {e}"))?;
        let subject = p
            .subject
            .map(|s| {
                s.parse::<SubjectId>()
                    .map_err(|e| format!("pinned subject: {e}"))
            })
            .transpose()?;
        Ok(Self { policy, subject })
    }
}

/// A verdict on a bundle, with what a page shows: on success the records, chains,
/// checkpoint and witnesses; on failure the part that failed and each record at fault.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Verdict {
    /// Whether every part verified.
    pub verified: bool,
    /// The bundle's subject, when it verified (or when only the pinned subject differs).
    pub subject: Option<String>,
    /// Records verified.
    pub records: usize,
    /// Chains verified (the subject's and its lineage's).
    pub chains: usize,
    /// The verified checkpoint: log origin, size and root.
    pub checkpoint: Option<CheckpointView>,
    /// Names of the witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
    /// Which part refused the bundle (`pins`, `bundle`, `checkpoint`, `trust`, `proof`,
    /// `records`, `subject`); empty when verified.
    pub part: &'static str,
    /// The reason, as the native crate words it; empty when verified.
    pub error: String,
    /// The records at fault, when records were refused.
    pub faults: Vec<Fault>,
}

/// A verified checkpoint, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointView {
    /// The log's origin line.
    pub origin: String,
    /// Log size the checkpoint commits to.
    pub size: u64,
    /// Root hash, hex.
    pub root: String,
}

/// One refused record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// The record's subject, when its body decoded.
    pub subject: Option<String>,
    /// The record's ID (hex).
    pub record: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

impl Verdict {
    pub(crate) fn refused(part: &'static str, error: String) -> Self {
        Self {
            verified: false,
            subject: None,
            records: 0,
            chains: 0,
            checkpoint: None,
            witnesses: Vec::new(),
            part,
            error,
            faults: Vec::new(),
        }
    }

    /// The verdict as JSON (what the WebAssembly module hands the page).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"verified":false,"part":"output","error":"{e}","faults":[]}}"#)
        })
    }
}

/// Which part of a bundle an error is about.
fn part(e: &BundleError) -> &'static str {
    match e {
        BundleError::Checkpoint(_) => "checkpoint",
        BundleError::TrustNote(_) | BundleError::TrustLine { .. } | BundleError::TrustKey(_) => {
            "trust"
        }
        BundleError::Inclusion { .. } | BundleError::Unproven(_) => "proof",
        BundleError::Records(_) | BundleError::EmptyChain { .. } => "records",
        BundleError::MissingSubject(_) => "subject",
        // The format, and what only building a bundle can fail with.
        _ => "bundle",
    }
}

fn faults(e: &VerifyErrors) -> Vec<Fault> {
    e.errors
        .iter()
        .map(|f| Fault {
            subject: f.subject.as_ref().map(ToString::to_string),
            record: f.record.as_ref().map(ToString::to_string),
            reason: f.reason.to_string(),
        })
        .collect()
}

/// Verifies `bundle` against `pins` (or reports why the pins themselves are unusable) under
/// the livestock policy, as [`agritrace::verify_bundle`] does.
pub fn check_bundle(bundle: &[u8], pins: Result<&Pins, &str>) -> Verdict {
    let pins = match pins {
        Ok(p) => p,
        Err(e) => return Verdict::refused("pins", e.to_owned()),
    };
    match verify_bundle(bundle, &pins.policy, &Policy::livestock()) {
        Ok(v) => {
            let subject = v.subject().to_string();
            if let Some(want) = pins.subject.as_ref().filter(|w| *w != v.subject()) {
                let mut out = Verdict::refused(
                    "subject",
                    format!("the bundle verifies, but it is for {subject}, not {want}"),
                );
                out.subject = Some(subject);
                return out;
            }
            let cp = v.checkpoint();
            Verdict {
                verified: true,
                subject: Some(subject),
                records: v.set().record_count(),
                chains: v.set().len(),
                checkpoint: Some(CheckpointView {
                    origin: cp.checkpoint().origin().to_owned(),
                    size: cp.size(),
                    root: cp.root().to_string(),
                }),
                witnesses: cp.cosigners().iter().map(|c| c.name.clone()).collect(),
                part: "",
                error: String::new(),
                faults: Vec::new(),
            }
        }
        Err(e) => {
            let mut out = Verdict::refused(part(&e), e.to_string());
            if let BundleError::Records(errors) = &e {
                out.faults = faults(errors);
            }
            out
        }
    }
}

/// [`check_bundle`] with the pins as JSON, the verdict as JSON: the module's whole job.
pub fn check_bundle_json(bundle: &[u8], pins_json: &str) -> String {
    let pins = Pins::parse(pins_json);
    check_bundle(bundle, pins.as_ref().map_err(String::as_str)).to_json()
}

/// One Ed25519 signature under the crate's rule (ZIP-215), from `key (32) ‖ signature (64)
/// ‖ message`; `None` when the input is shorter than 96 bytes.
pub fn check_signature(input: &[u8]) -> Option<bool> {
    let (key, rest) = input.split_first_chunk::<32>()?;
    let (signature, message) = rest.split_first_chunk::<64>()?;
    Some(verify_signature(key, signature, message))
}
