//! The WebAssembly verifier against the native one, in headless Chromium (and Node when it
//! is installed): every C2SP/CCTV Ed25519 vector and the 12 "Taming the many `EdDSAs`" cases,
//! and the demo pig's bundle intact and tampered part by part (checkpoint, cosignature,
//! trust statement, inclusion proof, record body and signature, truncation, and bit flips
//! spread over the whole file). Each must get the native verdict — for a refusal, the same
//! part and the same reason. Also measures, in the browser, the time to instantiate the
//! module and verify the demo pig's bundle.
//!
//! ```text
//! cargo build -p agritrace-wasm --target wasm32-unknown-unknown --profile wasm
//! cargo run --release -p agritrace-wasm --example browser_suite -- \
//!     target/wasm32-unknown-unknown/wasm/agritrace_wasm.wasm [--out DIR] [--chromium BIN]
//! ```
//! Exits 1 on any difference, 2 on a usage or setup error.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool prints its report"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use agritrace::demo::DemoConfig;
use agritrace::{
    LogPolicy, LogSigner, MerkleTree, Signer, Store, TraceBundle, TreeHash, Witness, sync_tree,
};
use agritrace_wasm::{Pins, check_bundle, check_signature};
use base64::Engine as _;
use serde_json::{Value, json};

const ORIGIN: &str = "log.qingjian-coop.example/v1";
const CCTV: &str = include_str!("../../../tests/data/c2sp-cctv-ed25519vectors.json");
const TAMING: &str = include_str!("../../../tests/data/taming-eddsa-cases.txt");
const GLUE: &str = include_str!("../js/agritrace-verify.js");

/// Runs every case through the module and returns the answers; shared by the Chromium page
/// and the Node run. Synchronous, so the page is done before its load event (when
/// `--dump-dom` reads it) and its clock is the real one (a virtual time budget would make
/// `performance.now()` virtual).
const RUNNER: &str = r"
function runSuite(wasm, cases) {
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const unhex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
  const bytes = unb64(wasm);
  const pig = unb64(cases.pig);
  // Cold: instantiate the module and verify the demo pig's bundle, as a page does.
  const t0 = performance.now();
  const v = agritrace.loadSync(bytes);
  const loaded = performance.now() - t0;
  const first = v.checkBundle(pig, cases.pins);
  const cold = performance.now() - t0;
  const warm = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    v.checkBundle(pig, cases.pins);
    warm.push(performance.now() - t);
  }
  const signatures = cases.signatures.map((s) =>
    v.checkSignature(unhex(s.key), unhex(s.sig), unhex(s.msg)));
  const bundles = cases.bundles.map((b) => v.checkBundle(unb64(b.bytes), cases.pins));
  // And with signatures checked one by one (no entropy given to the module).
  const single = agritrace.loadSync(bytes, { entropy: false });
  const unbatched = [pig, ...cases.bundles.map((b) => unb64(b.bytes))]
    .map((b) => single.checkBundle(b, cases.pins));
  return { cold, loaded, warm: Math.min(...warm), first, signatures, bundles, unbatched };
}
";

struct Args {
    wasm: PathBuf,
    out: PathBuf,
    chromium: String,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut wasm = None;
    let mut out = PathBuf::from("target/browser");
    let mut chromium = "chromium".to_owned();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().ok_or("--out needs a directory")?.into(),
            "--chromium" => chromium = it.next().ok_or("--chromium needs a program")?,
            s if !s.starts_with('-') && wasm.is_none() => wasm = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    let wasm = wasm.ok_or("usage: browser_suite WASM [--out DIR] [--chromium BIN]")?;
    Ok(Args {
        wasm,
        out,
        chromium,
    })
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad hex {s}"))
        })
        .collect()
}

/// The signature vectors as `(key, sig, msg)` hex triples.
fn vectors() -> Result<Vec<(String, String, String)>, String> {
    let json: Value = serde_json::from_str(CCTV).map_err(|e| e.to_string())?;
    let mut out: Vec<(String, String, String)> = json
        .as_array()
        .ok_or("CCTV vectors: not a list")?
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let msg = s("msg").bytes().fold(String::new(), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            });
            (s("key"), s("sig"), msg)
        })
        .collect();
    let lines: Vec<&str> = TAMING
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    for c in lines.chunks(3) {
        let field = |i: usize, p: &str| {
            c.get(i)
                .and_then(|l| l.strip_prefix(p))
                .map(str::to_owned)
                .ok_or_else(|| format!("taming case: missing {p}"))
        };
        out.push((field(1, "pbk=")?, field(2, "sig=")?, field(0, "msg=")?));
    }
    Ok(out)
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Replaces the base64 character at `at` by another base64 character.
fn other_b64(bytes: &mut [u8], at: usize) {
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
}

/// The demo pig's bundle, the pins that check it, and its tampered copies.
struct Bundles {
    pig: Vec<u8>,
    pins: String,
    tampered: Vec<(String, Vec<u8>)>,
}

#[allow(clippy::too_many_lines, reason = "one tampering per paragraph")]
fn bundles() -> Result<Bundles, Box<dyn std::error::Error>> {
    let cfg = DemoConfig {
        pigs: 6,
        ..DemoConfig::new(2026)
    };
    let farm = cfg.generate();
    let store = cfg.create_store(None)?;
    for b in farm.records.chunks(1000) {
        store.append_batch(b)?;
    }
    let mut tree = MerkleTree::new();
    let size = sync_tree(&mut tree, &store)?;
    let log = LogSigner::new(
        ORIGIN,
        Signer::from_seed(agritrace::demo::DEMO_OPERATOR_SEED),
    )?;
    let mut witness = Witness::new("witness.example.net", Signer::from_seed([0xB0; 32]))?;
    let follow = LogPolicy::new(ORIGIN, log.verifier().clone());
    witness.follow(&follow);
    let note = witness.cosign(&log.sign(size, tree.root(size)?)?, &[], 1_780_000_000)?;
    let pig = cfg.pig(0).ok_or("no demo pig")?;
    let bundle = TraceBundle::export(&store, &tree, &note, &log, &farm.trust, &pig)?;
    let bytes = bundle.to_bytes()?;
    let pins = json!({
        "origin": ORIGIN,
        "log": log.verifier().vkey(),
        "witnesses": [witness.verifier().vkey()],
        "quorum": 1,
        "subject": pig.to_string(),
    })
    .to_string();

    let mut tampered: Vec<(String, Vec<u8>)> = Vec::new();
    let mut edit = |name: &str, at: usize, f: &dyn Fn(&mut Vec<u8>, usize)| {
        let mut b = bytes.clone();
        f(&mut b, at);
        tampered.push((name.to_owned(), b));
    };
    let xor = |b: &mut Vec<u8>, at: usize| b[at] ^= 0x01;
    let b64 = |b: &mut Vec<u8>, at: usize| other_b64(b, at);

    // The checkpoint: its size line and its root line.
    let cp = find(&bytes, note.as_bytes()).ok_or("checkpoint not found in the bundle")?;
    let lines: Vec<&str> = note.lines().collect();
    let size_at = cp + lines.first().map_or(0, |l| l.len() + 1);
    edit("checkpoint size", size_at, &|b, at| {
        b[at] = if b[at] == b'9' { b'8' } else { b'9' };
    });
    let root_at = size_at + lines.get(1).map_or(0, |l| l.len() + 1) + 4;
    edit("checkpoint root", root_at, &b64);
    // The log's signature and the witness's cosignature.
    let sig_line = |who: &str| -> Result<usize, String> {
        let needle = format!("\u{2014} {who} ");
        let at = find(&bytes[cp..], needle.as_bytes())
            .ok_or_else(|| format!("no signature line of {who}"))?;
        Ok(cp + at + needle.len() + 12)
    };
    edit("log signature", sig_line(ORIGIN)?, &b64);
    edit(
        "witness cosignature",
        sig_line("witness.example.net")?,
        &b64,
    );
    // The trust statement: a key line of the log-signed trust note, and its signature.
    let trust = find(&bytes, b"agritrace/v1/trust").ok_or("trust note not found")?;
    let key_line = trust + find(&bytes[trust..], b"\n").ok_or("trust note has one line")? + 1;
    let key_line = key_line + find(&bytes[key_line..], b"\n").ok_or("short trust note")? + 3;
    edit("trust statement", key_line, &xor);
    // The inclusion proof of the pig's chain tip.
    let chain = store.chain(&pig)?;
    let tip = chain.last().ok_or("empty chain")?;
    let leaf = TreeHash::of_signed(tip);
    let index = (0..size)
        .find(|&i| tree.leaf(i) == Some(leaf))
        .ok_or("tip not in the tree")?;
    let proof = tree.inclusion_proof(index, size)?;
    let first = unhex(&proof.first().ok_or("empty proof")?.to_string())?;
    let at = find(&bytes, &first).ok_or("proof not found in the bundle")?;
    edit("inclusion proof", at + 7, &xor);
    // A record's body (a byte in its middle) and signature.
    let record = chain.get(chain.len() / 2).ok_or("short chain")?;
    let at = find(&bytes, record.body()).ok_or("record body not found")?;
    edit("record body", at + record.body().len() / 2, &xor);
    let at = find(&bytes, record.signature()).ok_or("record signature not found")?;
    edit("record signature", at + 40, &xor);
    // Truncations.
    for keep in [0, 10, bytes.len() / 3, bytes.len() - 1] {
        tampered.push((format!("truncated to {keep} bytes"), bytes[..keep].to_vec()));
    }
    // Bit flips spread over the whole file.
    let flips = 48;
    for k in 0..flips {
        let bit = (k * bytes.len() * 8) / flips + 5;
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        tampered.push((format!("bit {bit} flipped"), b));
    }
    Ok(Bundles {
        pig: bytes,
        pins,
        tampered,
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn page(wasm: &[u8], cases: &Value) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><title>agritrace wasm suite</title>\n\
         <pre id=result>running</pre>\n<script>{GLUE}</script>\n<script>{RUNNER}\n\
         const WASM = \"{}\";\nconst CASES = {};\n\
         try {{ document.getElementById('result').textContent = 'RESULT ' + \
         JSON.stringify(runSuite(WASM, CASES)); }} catch (e) {{ \
         document.getElementById('result').textContent = 'ERROR ' + e; }}\n</script>\n",
        b64(wasm),
        cases
    )
}

/// The answers a run left behind: the text after `RESULT `, HTML entities undone.
fn answers(text: &str) -> Result<Value, String> {
    let start = text.find("RESULT ").ok_or_else(|| {
        let shown: String = text.chars().take(400).collect();
        format!("the suite left no result: {shown}")
    })?;
    let rest = &text[start + 7..];
    let end = rest.find("</pre>").unwrap_or(rest.len());
    let json = rest[..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(json.trim()).map_err(|e| format!("the suite's result: {e}"))
}

/// Compares one runtime's answers with the native ones; returns the differences.
fn compare(
    runtime: &str,
    got: &Value,
    native_sigs: &[bool],
    native_bundles: &[(String, Value)],
    pig: &Value,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let sigs = got["signatures"].as_array().cloned().unwrap_or_default();
    if sigs.len() != native_sigs.len() {
        diffs.push(format!(
            "{runtime}: {} signature answers for {} vectors",
            sigs.len(),
            native_sigs.len()
        ));
    }
    for (i, (g, n)) in sigs.iter().zip(native_sigs).enumerate() {
        if g.as_bool() != Some(*n) {
            diffs.push(format!("{runtime}: signature vector {i}: {g} natively {n}"));
        }
    }
    if &got["first"] != pig {
        diffs.push(format!(
            "{runtime}: the demo pig: {} natively {pig}",
            got["first"]
        ));
    }
    let bundles = got["bundles"].as_array().cloned().unwrap_or_default();
    if bundles.len() != native_bundles.len() {
        diffs.push(format!(
            "{runtime}: {} bundle answers for {} bundles",
            bundles.len(),
            native_bundles.len()
        ));
    }
    for (g, (name, n)) in bundles.iter().zip(native_bundles) {
        if g != n {
            diffs.push(format!("{runtime}: {name}: {g}\n    natively {n}"));
        }
    }
    let unbatched = got["unbatched"].as_array().cloned().unwrap_or_default();
    let expected = std::iter::once(pig).chain(native_bundles.iter().map(|(_, v)| v));
    if unbatched.len() != native_bundles.len() + 1 {
        diffs.push(format!("{runtime}: {} answers one by one", unbatched.len()));
    }
    for (i, (g, n)) in unbatched.iter().zip(expected).enumerate() {
        if g != n {
            diffs.push(format!(
                "{runtime}: bundle {i}, signatures one by one: {g}\n    natively {n}"
            ));
        }
    }
    diffs
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let a = args()?;
    let wasm = std::fs::read(&a.wasm).map_err(|e| format!("{}: {e}", a.wasm.display()))?;
    std::fs::create_dir_all(&a.out)?;

    let vectors = vectors()?;
    let native_sigs = vectors
        .iter()
        .map(|(k, s, m)| {
            let input = [unhex(k)?, unhex(s)?, unhex(m)?].concat();
            check_signature(&input).ok_or_else(|| "short vector".to_owned())
        })
        .collect::<Result<Vec<bool>, String>>()?;
    let b = bundles()?;
    let pins = Pins::parse(&b.pins)?;
    let verdict = |bytes: &[u8]| serde_json::to_value(check_bundle(bytes, Ok(&pins)));
    let native_pig = verdict(&b.pig)?;
    if native_pig["verified"] != json!(true) {
        return Err(format!("the demo pig's bundle does not verify natively: {native_pig}").into());
    }
    let native_bundles = b
        .tampered
        .iter()
        .map(|(name, bytes)| Ok((name.clone(), verdict(bytes)?)))
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    if let Some((name, v)) = native_bundles
        .iter()
        .find(|(_, v)| v["verified"] != json!(false))
    {
        return Err(format!("tampered bundle accepted natively: {name}: {v}").into());
    }

    let cases = json!({
        "pig": b64(&b.pig),
        "pins": b.pins,
        "signatures": vectors.iter().map(|(k, s, m)| json!({"key": k, "sig": s, "msg": m})).collect::<Vec<_>>(),
        "bundles": b.tampered.iter().map(|(name, bytes)| json!({"name": name, "bytes": b64(bytes)})).collect::<Vec<_>>(),
    });
    let html = a.out.join("wasm-suite.html");
    std::fs::write(&html, page(&wasm, &cases))?;
    let dom = chromium(&a.chromium, &html)?;
    let got = answers(&dom)?;
    let mut diffs = compare("chromium", &got, &native_sigs, &native_bundles, &native_pig);
    let accepted = native_sigs.iter().filter(|&&ok| ok).count();
    println!(
        "chromium: {} signature vectors ({accepted} valid) and {} tampered bundles, each with the native verdict (bundles with signatures in batches and one by one): {}",
        native_sigs.len(),
        native_bundles.len(),
        if diffs.is_empty() { "yes" } else { "NO" }
    );
    let parts: std::collections::BTreeMap<String, usize> =
        native_bundles
            .iter()
            .fold(std::collections::BTreeMap::default(), |mut m, (_, v)| {
                *m.entry(v["part"].as_str().unwrap_or("?").to_owned())
                    .or_default() += 1;
                m
            });
    println!("refused by part: {parts:?}");
    for (name, v) in native_bundles
        .iter()
        .filter(|(n, _)| !n.starts_with("bit "))
    {
        println!("  {name}: {}", v["error"].as_str().unwrap_or("?"));
    }
    println!(
        "chromium: demo pig bundle ({} records, {} bytes): {}",
        native_pig["records"],
        b.pig.len(),
        timing(&got)
    );
    println!(
        "wasm: {} bytes, {} gzip -9",
        wasm.len(),
        gzip_len(&a.wasm).map_or_else(|| "?".to_owned(), |n| n.to_string())
    );
    match node(&a.out, &wasm, &cases) {
        Some(Ok(got)) => {
            println!("node: demo pig bundle: {}", timing(&got));
            let d = compare("node", &got, &native_sigs, &native_bundles, &native_pig);
            println!(
                "node: the same cases, each with the native verdict: {}",
                if d.is_empty() { "yes" } else { "NO" }
            );
            diffs.extend(d);
        }
        Some(Err(e)) => diffs.push(format!("node: {e}")),
        None => println!("node: not installed, skipped"),
    }
    for d in &diffs {
        eprintln!("DIFFERENT {d}");
    }
    Ok(diffs.is_empty())
}

fn timing(got: &Value) -> String {
    let ms = |k: &str| got[k].as_f64().unwrap_or(f64::NAN);
    format!(
        "instantiate {:.1} ms, + verify {:.1} ms in all; verify again (best of 5) {:.1} ms",
        ms("loaded"),
        ms("cold"),
        ms("warm")
    )
}

fn chromium(bin: &str, html: &Path) -> Result<String, String> {
    let url = format!(
        "file://{}",
        std::fs::canonicalize(html)
            .map_err(|e| e.to_string())?
            .display()
    );
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .map_err(|e| format!("cannot run {bin}: {e}"))?;
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// The same suite under Node, when `node` is installed.
fn node(dir: &Path, wasm: &[u8], cases: &Value) -> Option<Result<Value, String>> {
    Command::new("node").arg("--version").output().ok()?;
    let script = dir.join("wasm-suite.js");
    let text = format!(
        "{GLUE}\n{RUNNER}\nconst WASM = \"{}\";\nconst CASES = {cases};\n\
         console.log('RESULT ' + JSON.stringify(runSuite(WASM, CASES)));\n",
        b64(wasm)
    );
    if let Err(e) = std::fs::write(&script, text) {
        return Some(Err(e.to_string()));
    }
    let out = match Command::new("node").arg(&script).output() {
        Ok(o) => o,
        Err(e) => return Some(Err(e.to_string())),
    };
    Some(answers(&String::from_utf8_lossy(&out.stdout)))
}

fn gzip_len(path: &Path) -> Option<usize> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout.len())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("browser_suite: {e}");
            ExitCode::from(2)
        }
    }
}
