//! `posbridge bench ...`: benchmarks that report figures against a baseline
//! measured in the same run.

mod auth;
mod iso8583;
mod ledger;
mod settle;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    which: Which,
}

#[derive(Debug, clap::Subcommand)]
enum Which {
    /// Durable ledger transfers per second against the engine's plain-row baseline.
    Ledger(ledger::Args),
    /// ISO 8583 decode and encode cost against another codec in the same run.
    #[command(name = "iso8583")]
    Iso8583(iso8583::Args),
    /// End-to-end authorizations per second against an echo server's limit.
    Auth(auth::Args),
    /// A settlement run end to end against the engine's plain aggregation.
    Settle(settle::Args),
}

/// Runs the chosen benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.which {
        Which::Ledger(args) => ledger::run(args),
        Which::Iso8583(args) => iso8583::run(args),
        Which::Auth(args) => auth::run(args),
        Which::Settle(args) => settle::run(args),
    }
}
