//! `posbridge reconcile --date D [--clearing FILE] [--out FILE] [--db URL]`:
//! matches the card network's clearing file of business date D against the
//! host's off-us captures of D and records every mismatch, and every 0500
//! batch out of balance, as a `reconciliation-exception` resource (listed by
//! `GET /v1/reconciliation/exceptions`). Running it again records only what
//! is new.
//!
//! Without `--clearing` the built-in network simulator's clearing file of D
//! is written (to `--out`, default `clearing-D.csv`) and used; with
//! `--clearing FILE` that file is read (layout: `host::reconcile`). It
//! writes to the database like the host does, so on PostgreSQL it waits for
//! (and then holds) the single-writer lock: run it while the host is
//! stopped, or after the day's traffic. Exit 0 when it ran (exceptions are
//! reported, not failures), 2 for bad input (a bad date, an unreadable
//! clearing file, a missing database), 1 for storage failures.

use std::path::PathBuf;

use anyhow::Context;
use domain::BusinessDate;
use host::reconcile::{format_clearing, parse_clearing, reconcile, simulated_clearing};
use host::state::HostState;

use crate::InputError;
use crate::ledger_cmd::open_existing;

/// Most bytes of a clearing file read.
const CLEARING_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Business date `YYYY-MM-DD` (platform time zone).
    #[arg(long)]
    date: String,
    /// The network's clearing file to read (default: the simulator's).
    #[arg(long)]
    clearing: Option<PathBuf>,
    /// Where the simulator's clearing file is written.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Database URL: `sqlite:PATH`, a path, or `postgres://…`.
    #[arg(long, default_value = "sqlite:posbridge.db")]
    db: String,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let date = BusinessDate::parse(&args.date)
        .ok_or_else(|| InputError(format!("--date {}: expected YYYY-MM-DD", args.date)))?;
    let clearing_text = match &args.clearing {
        Some(path) => Some(read_clearing(path)?),
        None => None,
    };
    let mut store = open_existing(&args.db)?;
    let clearing = match clearing_text {
        Some((path, text)) => parse_clearing(&text)
            .map_err(|error| InputError(format!("{}: {error}", path.display())))?,
        None => {
            let state = HostState::load(&mut store).context("reading the host records")?;
            let lines = simulated_clearing(&state, date);
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("clearing-{date}.csv")));
            std::fs::write(&out, format_clearing(&lines))
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "network clearing file of {date}: {} ({} lines)",
                out.display(),
                lines.len()
            );
            lines
        }
    };
    let now_ns = now_ns();
    let report = reconcile(&mut store, date, &clearing, now_ns).context("reconciling")?;
    println!(
        "reconciled {date}: {} clearing line(s), {} host capture(s) and refund(s); {} exception(s), {} new",
        report.clearing_lines,
        report.host_lines,
        report.exceptions.len(),
        report.created
    );
    for row in &report.exceptions {
        println!("  - {}", row.id);
    }
    Ok(())
}

fn read_clearing(path: &PathBuf) -> anyhow::Result<(PathBuf, String)> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| InputError(format!("{}: {error}", path.display())))?;
    if metadata.len() > CLEARING_BYTES_MAX {
        return Err(InputError(format!(
            "{}: larger than {CLEARING_BYTES_MAX} bytes",
            path.display()
        ))
        .into());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| InputError(format!("{}: {error}", path.display())))?;
    Ok((path.clone(), text))
}

fn now_ns() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}
