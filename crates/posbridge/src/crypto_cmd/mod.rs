//! `posbridge crypto ...`: a cryptographic calculator for payment engineers
//! (DUKPT, PIN blocks, MACs, KCVs, EMV cryptograms, PVV, TR-31, Luhn).
//!
//! Input and output are uppercase hex (lowercase accepted); `--json` prints
//! one JSON object. Bad input is reported with exit code 2.

mod commands;
mod emv_cmd;
mod output;

use clap::Subcommand;

pub use commands::*;
pub use emv_cmd::{EmvArgs, emv};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of `name: value` lines.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// DUKPT key derivation (TDES X9.24-1; `--aes` for X9.24-3).
    Dukpt(DukptArgs),
    /// ISO 9564 PIN blocks, formats 0, 1, 3 and 4.
    #[command(name = "pin-block")]
    PinBlock(PinBlockArgs),
    /// MACs: ISO 9797-1 algorithm 3 (retail), algorithm 1, AES-CMAC.
    Mac(MacArgs),
    /// Key check value of a TDES or AES key.
    Kcv(KcvArgs),
    /// EMV ARQC and ARPC, cryptogram versions 10 and 18.
    Emv(EmvArgs),
    /// Visa PIN verification value.
    Pvv(PvvArgs),
    /// TR-31 key blocks.
    Tr31(Tr31Args),
    /// Luhn check (and check digit) of a card number.
    Luhn(LuhnArgs),
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let out = match args.command {
        Command::Dukpt(a) => dukpt(a)?,
        Command::PinBlock(a) => pin_block(a)?,
        Command::Mac(a) => mac(a)?,
        Command::Kcv(a) => kcv(a)?,
        Command::Emv(a) => emv(a)?,
        Command::Pvv(a) => pvv(a)?,
        Command::Tr31(a) => tr31(a)?,
        Command::Luhn(a) => luhn(a)?,
    };
    out.print(args.json)
}
