//! `posbridge ledger ...`: ledger operator commands.
//!
//! - `verify --db URL`: checks every ledger invariant; exit 0 with a summary
//!   when sound, exit 1 with one line per violation otherwise.
//! - `crash-writer` (hidden): writes batches through the real writer and
//!   prints `ack FIRST LAST` after each commit, for the crash test.

use std::io::Write;

use anyhow::Context;
use ledger::{AccountId, LedgerId, NewAccount, NewTransfer, TransferFlags, TransferId};
use store::{Store, StoreError, WriteOp, WriteOutcome, Writer, WriterConfig};

use crate::InputError;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check every invariant of a ledger database (exit 1 when one is broken).
    Verify {
        /// `sqlite:PATH`, a path, or `postgres://…`.
        #[arg(long)]
        db: String,
    },
    /// Write batches until killed, printing each acknowledged batch (testing).
    #[command(hide = true)]
    CrashWriter(CrashArgs),
}

#[derive(Debug, clap::Args)]
struct CrashArgs {
    #[arg(long)]
    db: String,
    /// The first transfer id; batch k uses the next `batch` ids.
    #[arg(long)]
    first_id: u128,
    #[arg(long, default_value_t = 50)]
    batch: u64,
    #[arg(long, default_value_t = 1_000_000)]
    batches: u64,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Verify { db } => verify(&db),
        Command::CrashWriter(args) => crash_writer(&args),
    }
}

/// Opens an existing database; a missing SQLite file is bad input (opening
/// would create it).
pub fn open_existing(url: &str) -> anyhow::Result<Store> {
    let is_postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_postgres {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if !std::path::Path::new(path).is_file() {
            return Err(InputError(format!("{url}: no such database file")).into());
        }
    }
    Store::open(url).map_err(|error| match error {
        StoreError::Url(message) => InputError(message).into(),
        other => anyhow::Error::new(other).context(format!("opening {url}")),
    })
}

fn verify(url: &str) -> anyhow::Result<()> {
    let mut store = open_existing(url)?;
    let report = store.verify_ledger().context("reading the ledger")?;
    if report.violations.is_empty() {
        println!(
            "ledger sound: {} accounts, {} transfers, {} pending open; debits = credits = {}",
            report.accounts, report.transfers, report.pending_open, report.debits_total
        );
        return Ok(());
    }
    println!("ledger BROKEN: {} violation(s)", report.violations.len());
    for violation in &report.violations {
        println!("  - {violation}");
    }
    anyhow::bail!(
        "{} ledger invariant violation(s) in {url}",
        report.violations.len()
    )
}

/// Accounts of the crash writer.
const CRASH_ACCOUNTS: u64 = 100;
const EUR: LedgerId = LedgerId(978);

fn crash_batch(first_id: u128, batch: u64) -> Vec<NewTransfer> {
    let mut transfers = Vec::new();
    for offset in 0..batch {
        let id = first_id + u128::from(offset);
        let debit = AccountId(1 + (id * 7919) % u128::from(CRASH_ACCOUNTS));
        let credit = AccountId(1 + (debit.0 % u128::from(CRASH_ACCOUNTS)));
        let mut transfer =
            NewTransfer::new(TransferId(id), debit, credit, 1 + (id % 500) as u64, EUR, 1);
        if offset % 5 == 3 && offset + 1 < batch {
            transfer = transfer.with_flags(TransferFlags::PENDING);
        } else if offset % 5 == 4 {
            // Posts half of the pending transfer just before it.
            transfer = transfer
                .with_flags(TransferFlags::POST_PENDING)
                .with_pending_id(TransferId(id - 1));
            (transfer.debit_account_id, transfer.credit_account_id) = (AccountId(0), AccountId(0));
            transfer.amount = 0;
        }
        transfers.push(transfer);
    }
    transfers
}

fn crash_writer(args: &CrashArgs) -> anyhow::Result<()> {
    let mut store = Store::open(&args.db)?;
    let accounts = (1..=CRASH_ACCOUNTS)
        .map(|id| NewAccount::new(AccountId(id.into()), EUR, 1))
        .collect();
    store.write(vec![WriteOp::CreateAccounts(accounts)], 1)?;
    let writer = Writer::start(store, WriterConfig::default())?;
    let handle = writer.handle();
    let mut waiting = std::collections::VecDeque::new();
    let mut stdout = std::io::stdout().lock();
    for k in 0..args.batches {
        let first = args.first_id + u128::from(k * args.batch);
        let ticket = handle.submit(vec![WriteOp::CreateTransfers(crash_batch(
            first, args.batch,
        ))])?;
        waiting.push_back((first, ticket));
        // Keep a few requests in flight so that batches group several of them.
        while waiting.len() > 3 {
            let Some((first, ticket)) = waiting.pop_front() else {
                break;
            };
            acknowledge(&mut stdout, first, args.batch, ticket.wait()?)?;
        }
    }
    while let Some((first, ticket)) = waiting.pop_front() {
        acknowledge(&mut stdout, first, args.batch, ticket.wait()?)?;
    }
    Ok(())
}

fn acknowledge(
    out: &mut impl Write,
    first: u128,
    batch: u64,
    outcome: Vec<WriteOutcome>,
) -> anyhow::Result<()> {
    let [WriteOutcome::Transfers(results)] = outcome.as_slice() else {
        anyhow::bail!("unexpected outcome {outcome:?}");
    };
    if let Some(bad) = results.iter().find(|r| !r.is_success()) {
        anyhow::bail!("batch at {first} failed: {}", bad.name());
    }
    writeln!(out, "ack {first} {}", first + u128::from(batch) - 1)?;
    out.flush()?;
    Ok(())
}
