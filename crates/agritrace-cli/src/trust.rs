//! `agritrace trust …`: the keys a store trusts, changed only by statements the operator
//! key signs (docs/FORMAT.md §10).

use agritrace::trust::TrustChange;
use agritrace::{KeyGrant, LogSigner, Role, Store as _, Text};
use clap::Subcommand;
use serde::Serialize;

use crate::output::{AnyStore, history, now, open_store, parse_time};
use crate::{Failure, Global, Outcome, keyfile};

#[derive(Subcommand)]
pub enum TrustCommand {
    /// Trust a key: whose it is, the role it signs in, and from when.
    #[command(
        after_help = "KEY is 64 hex digits or a key file.\n\nExample:\n  agritrace \
trust grant vet.key --party \"County animal clinic\" --role Vet --from 2026-01-01"
    )]
    Grant {
        /// The key: 64 hex digits, or a key file.
        key: String,
        /// Whose key it is (a person, company or device owner).
        #[arg(long)]
        party: String,
        /// The role it signs in: Farm, Device, Vet, Transporter, Slaughterhouse,
        /// Processor, Retailer or Regulator.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// First instant it may sign (RFC 3339 or YYYY-MM-DD) [default: now].
        #[arg(long, value_parser = parse_time)]
        from: Option<agritrace::Timestamp>,
        /// First instant it may no longer sign [default: open-ended].
        #[arg(long, value_parser = parse_time)]
        until: Option<agritrace::Timestamp>,
    },
    /// Stop trusting a key from an instant on (records it signed before stay valid).
    #[command(after_help = "Example:\n  agritrace trust revoke scale.key --at 2026-06-01")]
    Revoke {
        /// The key: 64 hex digits, or a key file.
        key: String,
        /// From when [default: now].
        #[arg(long, value_parser = parse_time)]
        at: Option<agritrace::Timestamp>,
    },
    /// Hand a key's party and role over to a new key from an instant on.
    #[command(
        after_help = "Example:\n  agritrace trust rotate scale.key scale-2027.key --at 2027-01-01"
    )]
    Rotate {
        /// The key that stops signing.
        old: String,
        /// The key that takes over.
        new: String,
        /// When [default: now].
        #[arg(long, value_parser = parse_time)]
        at: Option<agritrace::Timestamp>,
    },
    /// List the trusted keys.
    #[command(after_help = "Example:\n  agritrace trust list --json")]
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the signed trust history (the file `TrustHistory::from_text` reads).
    #[command(after_help = "Example:\n  agritrace trust history > coop.trust")]
    History,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_name(s)
        .or_else(|| {
            Role::ALL
                .into_iter()
                .find(|r| r.to_string().eq_ignore_ascii_case(s))
        })
        .ok_or_else(|| {
            let names: Vec<String> = Role::ALL.iter().map(ToString::to_string).collect();
            format!("unknown role {s:?}; one of: {}", names.join(", "))
        })
}

pub fn run(g: &Global, c: TrustCommand) -> Result<Outcome, Failure> {
    let store = open_store(&g.store)?;
    match c {
        TrustCommand::Grant {
            key,
            party,
            role,
            from,
            until,
        } => {
            let key = keyfile::public_key(&key)?;
            let party =
                Text::new(&party).map_err(|e| Failure::error(format!("--party {party:?}: {e}")))?;
            let mut grant = KeyGrant::new(party, role, from.unwrap_or_else(now));
            grant.valid_until = until;
            change(g, &store, vec![TrustChange::Grant { key, grant }])?;
            println!("granted {} ({key})", key.key_id());
        }
        TrustCommand::Revoke { key, at } => {
            let key = keyfile::public_key(&key)?;
            let at = at.unwrap_or_else(now);
            change(g, &store, vec![TrustChange::Revoke { key, at }])?;
            println!("revoked {} from {at}", key.key_id());
        }
        TrustCommand::Rotate { old, new, at } => {
            let (old, new) = (keyfile::public_key(&old)?, keyfile::public_key(&new)?);
            let at = at.unwrap_or_else(now);
            change(g, &store, vec![TrustChange::Rotate { old, new, at }])?;
            println!("rotated {} to {} at {at}", old.key_id(), new.key_id());
        }
        TrustCommand::List { json } => list(g, &store, json)?,
        TrustCommand::History => print!("{}", history(&store, &g.store)?.to_text()),
    }
    Ok(Outcome::Done)
}

/// Signs `changes` with the operator key and applies them to the store.
fn change(g: &Global, store: &AnyStore, changes: Vec<TrustChange>) -> Result<(), Failure> {
    let operator = operator(g, store)?;
    store.update_trust(&operator, now(), changes)?;
    Ok(())
}

/// The operator key, checked against the key the store pins.
pub fn operator(g: &Global, store: &AnyStore) -> Result<LogSigner, Failure> {
    let path = g.operator_key_path();
    let (origin, signer) = keyfile::read(&path)?;
    let log = LogSigner::new(&origin, signer)
        .map_err(|e| Failure::error(format!("{}: {e}", path.display())))?;
    let pinned = history(store, &g.store)?;
    if pinned.operator().vkey() != log.verifier().vkey() {
        return Err(Failure::error(format!(
            "{} is not the operator key of {} (it pins {})",
            path.display(),
            g.store.display(),
            pinned.operator().vkey()
        )));
    }
    Ok(log)
}

#[derive(Serialize)]
struct Listed {
    key: agritrace::PublicKey,
    key_id: String,
    party: String,
    role: String,
    valid_from: agritrace::Timestamp,
    valid_until: Option<agritrace::Timestamp>,
    revoked_at: Option<agritrace::Timestamp>,
}

fn list(g: &Global, store: &AnyStore, json: bool) -> Result<(), Failure> {
    let h = history(store, &g.store)?;
    let trust = h.trust();
    let keys: Vec<Listed> = trust
        .keys()
        .map(|(key, grant)| Listed {
            key: *key,
            key_id: key.key_id().to_string(),
            party: grant.party.to_string(),
            role: grant.role.to_string(),
            valid_from: grant.valid_from,
            valid_until: grant.valid_until,
            revoked_at: trust.revoked_at(key),
        })
        .collect();
    if json {
        let text = serde_json::to_string_pretty(&keys).map_err(Failure::error)?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{} keys, {} trust statements by {}",
        keys.len(),
        h.statements().len(),
        h.operator().name()
    );
    for k in &keys {
        let until = k
            .valid_until
            .map_or_else(String::new, |u| format!(" until {u}"));
        let revoked = k
            .revoked_at
            .map_or_else(String::new, |r| format!(", REVOKED from {r}"));
        println!(
            "{} {:<14} {} (from {}{until}{revoked})",
            k.key_id, k.role, k.party, k.valid_from
        );
    }
    Ok(())
}
