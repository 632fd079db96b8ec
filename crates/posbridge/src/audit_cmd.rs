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

fn verify(url: &str, head: Option<&str>) -> anyhow::Result<()> {
    if let Some(head) = head {
        if head.len() != 64 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InputError("--head must be 64 hex digits".to_owned()).into());
        }
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
            .audit_events(&store::api::AuditFilter {
                after_seq: 0,
                limit: u64::MAX >> 1,
                ..Default::default()
            })
            .context("reading the audit log")?
            .iter()
            .any(|event| hex(&event.hash).eq_ignore_ascii_case(expected));
        if !found {
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
