//! `posbridge settle --date D [--cycle T1] [--db URL] [--out DIR]`: runs (or
//! finishes, or tops up) the settlement run of a business date and cycle on
//! a database no server is writing, and writes its settlement file.
//! It first presums the items not presummed yet, as the server does during
//! the day, so the pass reads partial sums.
//!
//! A progress bar is drawn on stderr when it is a terminal. The run commits
//! in chunks; killed in the middle, the same command finishes it. Exit 0
//! when the run is settled; 1 on a failure while running; 2 for bad input.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use domain::BusinessDate;
use domain::settlement::Cycle;
use host::settlement::documents::{CSV_HEADER, csv_lines};
use host::settlement::run::{CHUNK_MERCHANTS_DEFAULT, Progress};
use host::settlement::{RunOptions, settle};
use store::{SettlementQuery, Store};

use crate::InputError;

/// Settlements read per query when writing the file.
const FILE_PAGE: u64 = 5_000;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Business date, `YYYY-MM-DD`.
    #[arg(long)]
    date: String,
    /// `T1` (daily, at the cut-off) or `T0`.
    #[arg(long, default_value = "T1")]
    cycle: String,
    /// `sqlite:PATH`, a path, or `postgres://…`.
    #[arg(long, default_value = "sqlite:posbridge.db")]
    db: String,
    /// Write the run's settlement file (`RUN_ID.csv`) into this directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Merchants per commit.
    #[arg(long, default_value_t = CHUNK_MERCHANTS_DEFAULT, hide = true)]
    chunk_merchants: usize,
    /// Pause after each chunk and print `progress DONE/TOTAL` (crash tests).
    #[arg(long, hide = true)]
    pause_ms: Option<u64>,
}

fn now_ns() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let date = BusinessDate::parse(&args.date)
        .ok_or_else(|| InputError(format!("--date {}: expected YYYY-MM-DD", args.date)))?;
    let cycle = Cycle::parse(&args.cycle)
        .ok_or_else(|| InputError(format!("--cycle {}: expected T0 or T1", args.cycle)))?;
    if args.chunk_merchants == 0 {
        return Err(InputError("--chunk-merchants must be at least 1".into()).into());
    }
    if let Some(out) = &args.out {
        if !out.is_dir() {
            return Err(InputError(format!("--out {}: not a directory", out.display())).into());
        }
    }
    let mut store = crate::ledger_cmd::open_existing(&args.db)?;
    host::settlement::prepare_store(&mut store).context("preparing the database")?;
    let options = RunOptions {
        chunk_merchants: args.chunk_merchants,
        ..RunOptions::at(now_ns())
    };
    let bar = std::io::stderr().is_terminal();
    let pause = args.pause_ms.map(Duration::from_millis);
    let mut progress = |p: Progress| {
        if let Some(pause) = pause {
            println!("progress {}/{}", p.done, p.total);
            let _ = std::io::stdout().flush();
            std::thread::sleep(pause);
        }
        if bar {
            draw(p);
        }
    };
    // What the server does during the day; here it catches up first (a
    // failure only means the pass reads more items itself).
    host::settlement::presum(&mut store, options.now_ns);
    let report = settle(&mut store, date, cycle, &options, &mut progress)
        .with_context(|| format!("settling {date} {}", cycle.as_str()))?;
    if bar {
        eprintln!();
    }
    let run = &report.run;
    println!(
        "{} {}: {} pass(es), {} merchant settlements, {} items; this call: {} pass(es) finished, {} settlements, {} payouts",
        run.run_id,
        run.status,
        run.passes,
        run.settlements,
        run.items,
        report.passes_finished,
        report.settlements_written,
        report.payouts_created
    );
    if let Some(out) = &args.out {
        let path = out.join(format!("{}.csv", run.run_id));
        write_file(&mut store, &run.run_id, &path)?;
        println!("settlement file: {}", path.display());
    }
    Ok(())
}

fn draw(p: Progress) {
    const WIDTH: usize = 40;
    let filled = (p.done * WIDTH).checked_div(p.total).unwrap_or(WIDTH);
    let bar: String = "#".repeat(filled) + &"-".repeat(WIDTH - filled.min(WIDTH));
    eprint!("\r[{bar}] {}/{} merchants", p.done, p.total);
    let _ = std::io::stderr().flush();
}

/// Writes the whole settlement file of a run.
fn write_file(store: &mut Store, run_id: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let mut text = String::from(CSV_HEADER);
    let mut query = SettlementQuery {
        run_id: Some(run_id.to_owned()),
        limit: FILE_PAGE,
        ..SettlementQuery::default()
    };
    loop {
        let page = store.settlements(&query).context("reading settlements")?;
        for settlement in &page {
            csv_lines(settlement, &mut text);
        }
        match page.last() {
            Some(last) if page.len() as u64 == FILE_PAGE => query.after_key = last.key(),
            _ => break,
        }
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
