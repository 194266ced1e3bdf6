//! The `agritrace` binary, run as an operator runs it: every command's happy path, every
//! documented exit status, and bad input refused with a clear message and the store
//! unchanged (its log size and root compared before and after).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const PIG: &str = "eartag:161083000000301";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/data")
        .join(name)
}

/// A scratch directory with a store in it (a file there, or a PostgreSQL database named by
/// `AGRITRACE_STORE`), removed when dropped.
struct Site {
    dir: PathBuf,
    store: Option<String>,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    fn says(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "expected {text:?}\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl Site {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "agritrace-cli-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir, store: None }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_agritrace"));
        c.current_dir(&self.dir)
            .args(args)
            .env_remove("AGRITRACE_STORE")
            .stdin(Stdio::null());
        if let Some(store) = &self.store {
            c.env("AGRITRACE_STORE", store);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        finish(self.command(args).output().unwrap())
    }

    fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that refuses before reading its input closes the pipe early: the
        // write then fails with a broken pipe, and the command's own answer is what counts.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        finish(child.wait_with_output().unwrap())
    }

    /// The log's size and root, from a fresh checkpoint.
    fn head(&self) -> String {
        let note = self.run(&["checkpoint"]).ok().stdout;
        note.lines().take(3).collect::<Vec<_>>().join("\n")
    }

    /// A store with a farm, a scale and a vet trusted, and the example week appended.
    fn with_week(name: &str) -> (Self, String) {
        Self::with_week_in(name, None)
    }

    /// As [`Site::with_week`], in the store `store` names when given.
    fn with_week_in(name: &str, store: Option<String>) -> (Self, String) {
        let mut s = Self::new(name);
        s.store = store;
        let vkey = s
            .run(&["init", "--origin", "log.test-coop.example/pigs"])
            .ok()
            .stdout
            .trim()
            .to_owned();
        for (who, role, file) in [
            ("farm", "Farm", "farm.key"),
            ("scale", "Device", "scale.key"),
            ("vet", "Vet", "vet.key"),
        ] {
            s.run(&["keygen", "--name", who, "--out", file]).ok();
            s.run(&[
                "trust",
                "grant",
                file,
                "--party",
                who,
                "--role",
                role,
                "--from",
                "2026-01-01",
            ])
            .ok()
            .says("granted");
        }
        let farm = std::fs::read_to_string(data("farm.jsonl")).unwrap();
        s.run_with_input(&["append", "--key", "farm.key"], &farm)
            .ok()
            .says("appended 2 records");
        s.run(&[
            "append",
            "--key",
            "scale.key",
            data("week.jsonl").to_str().unwrap(),
        ])
        .ok()
        .says("appended 16 records");
        s.run(&[
            "append",
            "--key",
            "vet.key",
            data("vet.jsonl").to_str().unwrap(),
        ])
        .ok()
        .says("appended 1 record ");
        (s, vkey)
    }
}

fn finish(o: Output) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = o;
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[test]
fn a_ledger_from_init_to_an_offline_bundle() {
    let (s, vkey) = Site::with_week("walk");
    assert!(vkey.starts_with("log.test-coop.example/pigs+"), "{vkey}");
    let mode = std::fs::metadata(s.path("agritrace.operator.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let list = s.run(&["trust", "list", "--json"]).ok().stdout;
    let keys: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 3);
    assert_eq!(keys[0]["valid_from"], "2026-01-01T00:00:00.000Z");
    s.run(&["trust", "list"])
        .ok()
        .says("3 keys, 3 trust statements");
    s.run(&["trust", "history"]).ok().says("agritrace-trust/v1");

    s.run(&["verify"])
        .ok()
        .says("VERIFIED agritrace.sqlite: 19 records in 1 chains");
    s.run(&["verify", "--threads", "1"]).ok();
    let v: serde_json::Value =
        serde_json::from_str(&s.run(&["verify", "--json"]).ok().stdout).unwrap();
    assert_eq!(
        (v["verified"].as_bool(), v["records"].as_u64()),
        (Some(true), Some(19))
    );

    s.run(&["trace", "161083000000301"])
        .ok()
        .says("ANIMAL eartag:161083000000301")
        .says("at or above 15,000")
        .says("classical swine fever vaccine")
        .says("VERIFICATION: VERIFIED — 19 records in 1 chains");
    let t: serde_json::Value = serde_json::from_str(
        &s.run(&["trace", "--json", "--svg", "pig.svg", PIG])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(t["animal"]["breed"], "Bamei 八眉猪");
    assert!(
        std::fs::read_to_string(s.path("pig.svg"))
            .unwrap()
            .contains("<svg")
    );

    // An offline bundle, verified against the pinned log key only.
    s.run(&["bundle", "export", PIG, "pig.bundle"])
        .ok()
        .says("wrote pig.bundle");
    s.run(&["bundle", "verify", "pig.bundle", "--log-key", &vkey])
        .ok()
        .says("VERIFIED pig.bundle: eartag:161083000000301");
    let other_vkey = s
        .run(&[
            "--store",
            "third.sqlite",
            "init",
            "--origin",
            "log.test-coop.example/pigs",
        ])
        .ok()
        .stdout;
    s.run(&[
        "bundle",
        "verify",
        "pig.bundle",
        "--log-key",
        other_vkey.trim(),
    ])
    .code(1)
    .says("REJECTED pig.bundle");
}

#[path = "../../agritrace-postgres/tests/support/mod.rs"]
mod pg;

/// The same commands on a PostgreSQL store (`--store postgres://…`, here through
/// `AGRITRACE_STORE`), when the tests have a server.
#[test]
fn a_postgres_store_takes_the_same_commands() {
    let Some(url) = pg::fresh_db("cli") else {
        return;
    };
    let (s, vkey) = Site::with_week_in("pg", Some(url.clone()));
    assert!(s.path("agritrace_test_cli.operator.key").exists());
    s.run(&["verify"])
        .ok()
        .says("/agritrace_test_cli: 19 records in 1 chains");
    s.run(&["trace", PIG])
        .ok()
        .says("VERIFICATION: VERIFIED — 19 records in 1 chains");
    s.run(&["trust", "list"])
        .ok()
        .says("3 keys, 3 trust statements");
    s.run(&["bundle", "export", PIG, "pig.bundle"]).ok();
    s.run(&["bundle", "verify", "pig.bundle", "--log-key", &vkey])
        .ok()
        .says("VERIFIED pig.bundle");
    // Out of PostgreSQL, into a SQLite file that trusts the same keys.
    s.run(&["export", "all.ledger"])
        .ok()
        .says("exported 19 records");
    s.run(&["init"]).code(2).says("already exists");
    let mut file = Site::new("pg-file");
    file.store = Some(s.path("copy.sqlite").display().to_string());
    file.run(&["init"]).ok();
    for (key, role) in [
        ("farm.key", "Farm"),
        ("scale.key", "Device"),
        ("vet.key", "Vet"),
    ] {
        let key = s.path(key).display().to_string();
        file.run(&[
            "trust",
            "grant",
            &key,
            "--party",
            "p",
            "--role",
            role,
            "--from",
            "2026-01-01",
        ])
        .ok();
    }
    file.run(&["import", s.path("all.ledger").to_str().unwrap()])
        .ok()
        .says("imported 19 of 19 records");
    file.run(&["verify"]).ok().says("19 records in 1 chains");
    // A database without a store says so, and how to make one.
    let mut missing = Site::new("pg-missing");
    missing.store = Some(pg::with_db(&url, "postgres"));
    missing
        .run(&["verify"])
        .code(2)
        .says("no store at postgres://")
        .says("agritrace init --store postgres://");
}

#[test]
fn ledger_files_out_and_into_another_store() {
    let (s, _) = Site::with_week("files");
    // Ledger files out and into a second store that trusts the same keys.
    s.run(&["export", "all.ledger"])
        .ok()
        .says("exported 19 records");
    s.run(&["export", "--subject", "161083000000301", "pig.ledger"])
        .ok()
        .says("exported 19 records");
    s.run(&["verify", "all.ledger"])
        .ok()
        .says("VERIFIED all.ledger: 19 records");
    let other = ["--store", "other.sqlite"];
    s.run(&[&other[..], &["init"]].concat()).ok();
    for file in ["farm.key", "scale.key", "vet.key"] {
        let role = match file {
            "farm.key" => "Farm",
            "scale.key" => "Device",
            _ => "Vet",
        };
        s.run(
            &[
                &other[..],
                &[
                    "trust",
                    "grant",
                    file,
                    "--party",
                    "p",
                    "--role",
                    role,
                    "--from",
                    "2026-01-01",
                ],
            ]
            .concat(),
        )
        .ok();
    }
    s.run(&[&other[..], &["import", "all.ledger"]].concat())
        .ok()
        .says("imported 19 of 19 records");
    s.run(&[&other[..], &["import", "all.ledger"]].concat())
        .ok()
        .says("imported 0 of 19 records from all.ledger (19 already stored)");
    s.run(&[&other[..], &["verify"]].concat()).ok();
}

#[test]
fn checkpoints_and_a_witness_that_refuses_rollback() {
    let (s, vkey) = Site::with_week("witness");
    s.run(&[
        "keygen",
        "--name",
        "witness.county-bureau",
        "--out",
        "w.key",
    ])
    .ok();
    s.run(&["checkpoint", "--out", "cp19"]).ok().says("size 19");
    let cosign = |cp: &str, proof: Option<&str>| {
        let mut args = vec![
            "witness",
            "cosign",
            "--key",
            "w.key",
            "--log-key",
            &vkey,
            "--state",
            "w.state",
        ];
        if let Some(p) = proof {
            args.extend(["--proof", p]);
        }
        args.push(cp);
        s.run(&args)
    };
    cosign("cp19", None).ok().says("— witness.county-bureau ");
    // The log grows; the witness cosigns the new head with a consistency proof.
    let more = "{\"subject\": \"eartag:161083000000301\", \"time\": \"2026-11-10T10:00:00+08:00\", \"event\": {\"Weighing\": {\"grams\": 23500}}}\n";
    s.run_with_input(&["append", "--key", "scale.key"], more)
        .ok();
    s.run(&[
        "checkpoint",
        "--out",
        "cp20",
        "--proof-from",
        "19",
        "--proof-out",
        "p20",
    ])
    .ok();
    cosign("cp20", Some("p20")).ok();
    // Going back to size 19 is a rollback: refused, status 1.
    cosign("cp19", None).code(1).says("not cosigned");
    // The same head again is cosigned again.
    cosign("cp20", None).ok();
}

#[test]
fn revoked_keys_and_rotations() {
    let (s, _) = Site::with_week("revoke");
    let before = s.head();
    s.run(&["trust", "revoke", "scale.key", "--at", "2026-11-10"])
        .ok()
        .says("revoked");
    let late = "{\"subject\": \"eartag:161083000000301\", \"time\": \"2026-11-11T10:00:00+08:00\", \"event\": {\"Weighing\": {\"grams\": 23500}}}\n";
    s.run_with_input(&["append", "--key", "scale.key"], late)
        .code(1)
        .says("line 1: refused")
        .says("revoked")
        .says("nothing was appended");
    assert_eq!(s.head(), before);
    // The farm hands over to a new key.
    s.run(&["keygen", "--name", "farm2", "--out", "farm2.key"])
        .ok();
    s.run(&[
        "trust",
        "rotate",
        "farm.key",
        "farm2.key",
        "--at",
        "2026-11-10",
    ])
    .ok();
    s.run_with_input(&["append", "--key", "farm2.key"], late)
        .ok()
        .says("appended 1 record");
    s.run(&["verify"]).ok();
    s.run(&["trust", "list"]).ok().says("REVOKED");
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let (s, _) = Site::with_week("bad");
    let before = s.head();
    let weigh = |g: &str| {
        format!(
            "{{\"subject\": \"{PIG}\", \"time\": \"2026-11-10T10:00:00+08:00\", \"event\": {{\"Weighing\": {{{g}}}}}}}\n"
        )
    };
    // A malformed ID: usage error.
    s.run(&["trace", "16108300000030"])
        .code(2)
        .says("must be 15 digits");
    // A line of invalid JSON, after a good one: nothing appended.
    s.run_with_input(
        &["append", "--key", "scale.key"],
        &format!(
            "{}{{\"subject\": \"{PIG}\", \"time\"\n",
            weigh("\"grams\": 1")
        ),
    )
    .code(1)
    .says("standard input line 2: ")
    .says("nothing was appended");
    // An unknown field, named.
    s.run_with_input(&["append", "--key", "scale.key"], &weigh("\"gram\": 1"))
        .code(1)
        .says("line 1: unknown field `gram`, expected `grams`");
    s.run_with_input(
        &["append", "--key", "scale.key"],
        &format!("{{\"subject\": \"{PIG}\", \"time\": 1, \"event\": {{\"Weighing\": {{\"grams\": 1}}}}, \"note\": 1}}\n"),
    )
    .code(1)
    .says("unknown field `note`");
    // A malformed ID inside a line.
    s.run_with_input(
        &["append", "--key", "scale.key"],
        "{\"subject\": \"eartag:1610830000003\", \"time\": 1, \"event\": {\"Weighing\": {\"grams\": 1}}}\n",
    )
    .code(1)
    .says("line 1: ear tag must be 15 digits");
    // A record signed by a key the store does not trust.
    s.run(&["keygen", "--name", "stranger", "--out", "stranger.key"])
        .ok();
    s.run_with_input(&["append", "--key", "stranger.key"], &weigh("\"grams\": 1"))
        .code(1)
        .says("line 1: refused")
        .says("not trusted");
    // A key file others can read.
    std::fs::set_permissions(s.path("scale.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    s.run_with_input(&["append", "--key", "scale.key"], &weigh("\"grams\": 1"))
        .code(2)
        .says("has mode 0644")
        .says("chmod 600");
    std::fs::set_permissions(s.path("scale.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    // A truncated ledger file: refused whole by import, and it does not verify.
    s.run(&["export", "all.ledger"]).ok();
    let bytes = std::fs::read(s.path("all.ledger")).unwrap();
    std::fs::write(s.path("cut.ledger"), &bytes[..bytes.len() - 7]).unwrap();
    s.run(&["import", "cut.ledger"])
        .code(1)
        .says("truncated")
        .says("nothing was imported");
    s.run(&["verify", "cut.ledger"])
        .code(1)
        .says("VERIFICATION FAILED cut.ledger: not a whole ledger file");
    // The store path is a directory; there is no store; a flag that does not exist.
    std::fs::create_dir(s.path("dir.sqlite")).unwrap();
    s.run(&["--store", "dir.sqlite", "verify"])
        .code(2)
        .says("is a directory");
    s.run(&["--store", "none.sqlite", "verify"])
        .code(2)
        .says("agritrace init");
    assert!(!s.path("none.sqlite").exists());
    s.run(&["verify", "--fast"]).code(2).says("--fast");
    assert_eq!(s.head(), before, "the store changed");
    // --keep-going appends the good lines and reports the bad one.
    s.run_with_input(
        &["append", "--keep-going", "--key", "scale.key"],
        &format!("{}{}", weigh("\"gram\": 1"), weigh("\"grams\": 23600")),
    )
    .code(1)
    .says("appended 1 of 2 records")
    .says("line 1: unknown field");
    assert_ne!(s.head(), before);
}

#[test]
fn a_tampered_ledger_file_names_the_record() {
    let (s, _) = Site::with_week("tamper");
    s.run(&["export", "all.ledger"]).ok();
    let mut bytes = std::fs::read(s.path("all.ledger")).unwrap();
    let at = bytes.len() - 70; // inside the last record's body
    bytes[at] ^= 1;
    std::fs::write(s.path("all.ledger"), &bytes).unwrap();
    let r = s.run(&["verify", "all.ledger"]).code(1);
    assert!(
        r.stdout
            .contains("VERIFICATION FAILED all.ledger: 1 record(s) rejected"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("position 18 {PIG} record ")),
        "{}",
        r.stdout
    );
    let v: serde_json::Value =
        serde_json::from_str(&s.run(&["verify", "--json", "all.ledger"]).code(1).stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["failures"][0]["position"], 18);
    assert_eq!(v["failures"][0]["subject"], PIG);
}

#[test]
fn the_demo_and_a_progress_bar_only_on_a_terminal() {
    let s = Site::new("demo");
    s.run(&["--store", "demo.sqlite", "demo", "--pigs", "3"])
        .ok()
        .says("demo cooperative: 3 pigs");
    s.run(&["--store", "demo.sqlite", "demo", "--pigs", "3"])
        .code(2)
        .says("exists");
    s.run(&["--store", "demo.sqlite", "trace", "161083000001001"])
        .ok()
        .says("MADE FROM IT");
    s.run(&["--store", "demo.sqlite", "export", "demo.ledger"])
        .ok();
    let records = s
        .run(&["--store", "demo.sqlite", "verify", "--json", "demo.ledger"])
        .ok()
        .stdout;
    let n = serde_json::from_str::<serde_json::Value>(&records).unwrap()["records"]
        .as_u64()
        .unwrap();
    // Under a pipe: no bar.
    let piped = s
        .run(&["--store", "demo.sqlite", "verify", "demo.ledger"])
        .ok();
    assert!(
        !piped.stderr.contains("ETA") && !piped.stderr.contains('\r'),
        "{}",
        piped.stderr
    );
    // Under a pseudo terminal: the bar's last line shows the record count.
    let bin = env!("CARGO_BIN_EXE_agritrace");
    let out = Command::new("script")
        .current_dir(&s.dir)
        .args([
            "-qec",
            &format!("{bin} --store demo.sqlite verify demo.ledger"),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let count = format!("verified: {} records", agritrace::thousands(n));
    let last_bar = text
        .split(['\r', '\n'])
        .rfind(|l| l.contains("ETA") || l.contains("verified:"))
        .unwrap_or_default();
    assert!(
        last_bar.contains(&count),
        "{count:?} not in the bar's last line {last_bar:?}\n{text}"
    );
}

fn epcis_data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agritrace-epcis/tests/data")
        .join(path)
}

#[test]
fn epcis_hash_and_validate_follow_the_reference_and_name_broken_rules() {
    let s = Site::new("epcis-hash");
    let doc = epcis_data("hash-vectors/documents/epcisDocWithVariousEventTypes.jsonld");
    for (cbv, dir) in [("2.0", "CBV2.0"), ("2.1", "CBV2.1")] {
        let want = std::fs::read_to_string(epcis_data(&format!(
            "hash-vectors/{dir}/epcisDocWithVariousEventTypes.hashes"
        )))
        .unwrap();
        let got = s
            .run(&["epcis", "hash", "--cbv", cbv, doc.to_str().unwrap()])
            .ok()
            .stdout;
        assert_eq!(got.trim_end(), want.trim_end(), "CBV {cbv}");
    }
    s.run(&["epcis", "hash", "--cbv", "3.0", doc.to_str().unwrap()])
        .code(2);
    s.run(&["epcis", "validate", doc.to_str().unwrap()])
        .ok()
        .says("valid EPCIS 2.0");
    let bad = epcis_data("examples/invalid/ObjectEvent_with_invalid_action.json");
    s.run(&["epcis", "validate", bad.to_str().unwrap()])
        .code(1)
        .says("eventList[0].action")
        .says("[rule: action]");
    std::fs::write(s.path("broken.json"), "{\"type\": \n").unwrap();
    s.run(&["epcis", "validate", "broken.json"])
        .code(1)
        .says("line 2");
    s.run(&["epcis", "hash", "missing.json"])
        .code(2)
        .says("cannot read missing.json");
}

#[test]
fn epcis_export_and_import_through_the_cli() {
    let (s, _) = Site::with_week("epcis-export");
    s.run(&["epcis", "export", "eartag:161083000009999"])
        .code(2)
        .says("no records for eartag:161083000009999");
    assert!(!s.path("none.jsonld").exists());
    s.run(&[
        "epcis", "export", "--all", "--base", "ftp://x", "-o", "x.jsonld",
    ])
    .code(2)
    .says("https://");
    s.run(&[
        "epcis",
        "export",
        PIG,
        "--base",
        "https://coop.example",
        "-o",
        "pig.jsonld",
    ])
    .ok()
    .says("exported 19 events to pig.jsonld");
    s.run(&["epcis", "validate", "pig.jsonld"])
        .ok()
        .says("19 events");
    let before = s.head();
    // The store already holds every carried record: nothing is appended.
    s.run(&["epcis", "import", "--key", "farm.key", "pig.jsonld"])
        .ok()
        .says("0 records appended")
        .says("19 already stored");
    // An edited event is refused, naming it, and the store is unchanged.
    let text = std::fs::read_to_string(s.path("pig.jsonld")).unwrap();
    let edited = text.replacen("\"value\":", "\"value\":1", 1);
    assert_ne!(edited, text);
    std::fs::write(s.path("edited.jsonld"), edited).unwrap();
    s.run(&["epcis", "import", "--key", "farm.key", "edited.jsonld"])
        .code(1)
        .says("nothing imported")
        .says("disagrees with its carried record");
    // A partner's plain events, signed by the farm key; a second import appends nothing.
    let partner = data("partner-epcis.jsonld");
    let import = [
        "epcis",
        "import",
        "--key",
        "farm.key",
        partner.to_str().unwrap(),
    ];
    s.run(&import).ok().says("3 records appended");
    s.run(&import).ok().says("3 already stored");
    assert_ne!(s.head(), before);
    s.run(&["verify"]).ok().says("22 records");
}
