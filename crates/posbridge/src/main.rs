//! `posbridge`: the one binary of the posbridge acquiring platform.
//!
//! Exit codes: 0 success; 1 a failure while running (storage, network, an
//! invariant found broken); 2 bad input or bad usage (the message says what).

mod audit_cmd;
mod bench;
mod crypto_cmd;
mod demo;
mod demo_settlement;
mod exit;
mod iso8583_cmd;
mod ledger_cmd;
mod reconcile_cmd;
mod serve;
mod settle_cmd;
mod terminal_cmd;

use clap::{Parser, Subcommand};

pub use exit::InputError;

/// The allocator of the whole process. The host and the settlement run
/// allocate and free many small buffers across threads (frames, records,
/// rows); mimalloc's per-thread pages serve that with less locking and no
/// heap trimming. Built without transparent huge pages (`no_thp`: the
/// process opts out at start): with them, the first touch of each 2 MiB of
/// a fresh arena zeroes the whole 2 MiB, which the settlement run paid for
/// every chunk's new maps and vectors (11–21% of its samples in two
/// profiles), while the host's working set is small and steady.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// posbridge — an acquiring platform for card-present payments.
#[derive(Debug, Parser)]
#[command(name = "posbridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the end-to-end demo on a fresh embedded SQLite database.
    Demo(demo::Args),
    /// Decode and encode ISO 8583 messages.
    #[command(name = "iso8583")]
    Iso8583(iso8583_cmd::Args),
    /// Cryptographic calculator for payment engineers.
    Crypto(crypto_cmd::Args),
    /// Ledger operator commands.
    Ledger(ledger_cmd::Args),
    /// Benchmarks.
    Bench(bench::Args),
    /// The POS terminal simulator.
    Terminal(terminal_cmd::Args),
    /// Run the ISO 8583 terminal host and the HTTP base routes.
    Serve(serve::Args),
    /// Audit log operator commands.
    Audit(audit_cmd::Args),
    /// Match the network's clearing file of a date against the host's captures.
    Reconcile(reconcile_cmd::Args),
    /// Run settlement for a business date and cycle; write its settlement file.
    Settle(settle_cmd::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Iso8583(args) => iso8583_cmd::run(args),
        Command::Crypto(args) => crypto_cmd::run(args),
        Command::Ledger(args) => ledger_cmd::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Terminal(args) => terminal_cmd::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Reconcile(args) => reconcile_cmd::run(args),
        Command::Settle(args) => settle_cmd::run(args),
    };
    exit::report(outcome)
}
