//! Key files: a signing key and its name, readable by its owner only.
//!
//! ```text
//! agritrace-key/v1
//! name <name>
//! public <64 hex digits>
//! secret <64 hex digits>
//! ```

use std::fs::OpenOptions;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use agritrace::{PublicKey, Signer};
use clap::Args;

use crate::{Failure, Outcome};

const HEADER: &str = "agritrace-key/v1";
/// Key files are a few hundred bytes; anything longer is not one.
const MAX_KEY_FILE: u64 = 4096;

#[derive(Args)]
pub struct KeygenArgs {
    /// Whose key: a party or device name, e.g. `vet.county-clinic` or `scale.pen3`.
    #[arg(long)]
    name: String,
    /// The key file to create (mode 0600; never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn keygen(a: &KeygenArgs) -> Result<Outcome, Failure> {
    let signer = Signer::generate();
    write(&a.out, &a.name, &signer)?;
    let key = signer.public_key();
    println!("{key}");
    eprintln!(
        "key {} for {} written to {} (mode 0600); grant it with: agritrace trust grant {key} --party NAME --role ROLE",
        key.key_id(),
        a.name,
        a.out.display()
    );
    Ok(Outcome::Done)
}

/// Creates `path` (mode 0600, never overwriting) holding `signer` under `name`.
pub fn write(path: &Path, name: &str, signer: &Signer) -> Result<(), Failure> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Failure::error(format!(
            "key name {name:?} must be non-empty, without spaces"
        )));
    }
    let seed = signer.seed();
    let text = format!(
        "{HEADER}\nname {name}\npublic {}\nsecret {}\n",
        signer.public_key(),
        hex(&*seed)
    );
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Failure::error(format!(
                    "{} already exists; a key file is never overwritten",
                    path.display()
                ))
            } else {
                Failure::error(format!("cannot create {}: {e}", path.display()))
            }
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))
}

/// Reads a key file: refuses one that others may read, or that is not a key file.
pub fn read(path: &Path) -> Result<(String, Signer), Failure> {
    let fail = |what: &str| Failure::error(format!("{}: {what}", path.display()));
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::error(format!("cannot read key file {}: {e}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(|e| Failure::error(format!("cannot read key file {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(fail("not a key file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure::error(format!(
            "key file {} has mode {mode:04o}: others can read or change it",
            path.display()
        ))
        .with(format!("fix it with: chmod 600 {}", path.display())));
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|_| fail("not a key file (not UTF-8 text)"))?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(fail(&format!(
            "not a key file (it does not start with {HEADER})"
        )));
    }
    let mut field = |name: &str| -> Result<String, Failure> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .map(str::to_owned)
            .ok_or_else(|| fail(&format!("line `{name} …` missing or out of order")))
    };
    let name = field("name")?;
    let public: PublicKey = field("public")?
        .parse()
        .map_err(|_| fail("the public key is not 64 hex digits"))?;
    let secret = field("secret")?;
    let seed = unhex32(&secret).ok_or_else(|| fail("the secret is not 64 hex digits"))?;
    let signer = Signer::from_seed(seed);
    if signer.public_key() != public {
        return Err(fail("the public key does not match the secret"));
    }
    Ok((name, signer))
}

/// A public key given on the command line: 64 hex digits, or a key file.
pub fn public_key(arg: &str) -> Result<PublicKey, Failure> {
    if arg.len() == 64
        && let Ok(key) = arg.parse::<PublicKey>()
    {
        return Ok(key);
    }
    let path = Path::new(arg);
    if !path.exists() {
        return Err(Failure::error(format!(
            "{arg:?} is neither a public key (64 hex digits) nor a key file"
        )));
    }
    read(path).map(|(_, s)| s.public_key())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
