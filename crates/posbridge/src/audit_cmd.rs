//! `posbridge audit ...`: audit log operator commands.
//!
//! - `verify --db URL [--head HEX]`: walks the hash chain; exit 0 with the
//!   event count and head hash when sound, exit 1 naming the first broken
//!   link when an event was edited, removed, inserted or reordered. With
//!   `--head`, the chain must also still contain the event whose hash was
//!   published earlier (catches truncation of the newest events).

use anyhow::Context;

use crate::InputError;
use crate::ledger_cmd::open_existing;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Verify the audit hash chain (exit 1 when it is broken).
    Verify {
        /// `sqlite:PATH`, a path, or `postgres://…`.
        #[arg(long)]
        db: String,
        /// A head hash published earlier that the chain must still reach.
        #[arg(long)]
        head: Option<String>,
    },
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Verify { db, head } => verify(&db, head.as_deref()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hash(text: &str) -> anyhow::Result<[u8; 32]> {
    let bad = || InputError("--head must be 64 hex digits".to_owned());
    if text.len() != 64 {
        return Err(bad().into());
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        let pair = text.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(hash)
}

fn verify(url: &str, head: Option<&str>) -> anyhow::Result<()> {
    if let Some(head) = head {
        parse_hash(head)?;
    }
    let mut store = open_existing(url)?;
    let report = store.verify_audit().context("reading the audit log")?;
    if let Some(broken) = report.broken {
        println!(
            "audit chain BROKEN at event {}: {} ({} events sound before it)",
            broken.seq, broken.reason, report.events
        );
        anyhow::bail!("the audit chain is broken");
    }
    let head_hex = hex(&report.head);
    if let Some(expected) = head {
        let found = store
            .audit_seq_of_hash(&parse_hash(expected)?)
            .context("reading the audit log")?;
        if found.is_none() {
            println!(
                "audit chain BROKEN: the published head {expected} is not in the chain (events were removed)"
            );
            anyhow::bail!("the audit chain is broken");
        }
    }
    println!(
        "audit chain sound: {} events, head {head_hex}",
        report.events
    );
    Ok(())
}
