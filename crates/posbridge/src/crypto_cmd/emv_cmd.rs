//! `posbridge crypto emv`: ARQC and ARPC of EMV cryptogram versions 10
//! and 18 (`cardsec::emv`).

use cardsec::emv::{self, CardData, CryptogramVersion};
use cardsec::{Pan, TdesKey, hex};
use clap::Subcommand;

use super::commands::{CmdResult, bad, input, subtle_eq, tdes_key};
use super::output::Output;

/// `crypto emv` arguments.
#[derive(Debug, clap::Args)]
pub struct EmvArgs {
    #[command(subcommand)]
    which: EmvWhich,
}

#[derive(Debug, Subcommand)]
enum EmvWhich {
    /// Compute (or with --verify check) an ARQC.
    Arqc(ArqcArgs),
    /// Compute an ARPC (CVN 10: method 1 with --arc; CVN 18: method 2 with --csu).
    Arpc(ArpcArgs),
}

#[derive(Debug, clap::Args)]
struct CardArgs {
    /// Issuer master key for application cryptograms (32 hex digits).
    #[arg(long)]
    imk: String,
    /// Card number.
    #[arg(long)]
    pan: String,
    /// PAN sequence number, 2 digits.
    #[arg(long, default_value = "00")]
    psn: String,
    /// Application transaction counter, 4 hex digits.
    #[arg(long)]
    atc: String,
    /// Cryptogram version: 10 or 18.
    #[arg(long)]
    cvn: u8,
}

#[derive(Debug, clap::Args)]
struct ArqcArgs {
    #[command(flatten)]
    card: CardArgs,
    /// Cryptogram input in hex: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36,
    /// then the CVR (CVN 10) or the whole 9F10 (CVN 18).
    #[arg(long)]
    data: String,
    /// ARQC received, to verify.
    #[arg(long)]
    verify: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ArpcArgs {
    #[command(flatten)]
    card: CardArgs,
    /// The ARQC (16 hex digits).
    #[arg(long)]
    arqc: String,
    /// Authorisation response code for CVN 10, 4 hex digits (`3030` is "00").
    #[arg(long)]
    arc: Option<String>,
    /// Card status update for CVN 18, 8 hex digits.
    #[arg(long)]
    csu: Option<String>,
}

struct Card {
    imk: TdesKey,
    pan: Pan,
    psn: u8,
    atc: [u8; 2],
    cvn: CryptogramVersion,
}

fn card(args: &CardArgs) -> anyhow::Result<Card> {
    let psn = if args.psn.len() <= 2
        && !args.psn.is_empty()
        && args.psn.bytes().all(|c| c.is_ascii_digit())
    {
        args.psn
            .parse::<u8>()
            .map_err(|_| bad("--psn must be 2 digits"))?
    } else {
        return Err(bad("--psn must be 2 digits"));
    };
    Ok(Card {
        imk: tdes_key(&args.imk, "IMK", false)?,
        pan: input(Pan::new(&args.pan))?,
        psn,
        atc: input(hex::decode_array::<2>(&args.atc, "ATC"))?,
        cvn: input(CryptogramVersion::from_number(args.cvn))?,
    })
}

/// Runs `crypto emv`.
pub fn emv(args: EmvArgs) -> CmdResult {
    match args.which {
        EmvWhich::Arqc(a) => {
            let c = card(&a.card)?;
            let data = input(hex::decode(&a.data, "data"))?;
            let card_data = CardData {
                pan: &c.pan,
                psn: c.psn,
                atc: c.atc,
            };
            let mk = input(emv::icc_master_key(&c.imk, &c.pan, c.psn))?;
            let ac_key = input(emv::ac_key(&c.imk, c.cvn, &card_data))?;
            let arqc = input(emv::arqc(&c.imk, c.cvn, &card_data, &data))?;
            let mut out = Output::default()
                .hex("arqc", &arqc)
                .hex("icc_master_key_kcv", &mk.kcv())
                .hex("ac_key_kcv", &ac_key.kcv());
            if let Some(expected) = &a.verify {
                let expected = input(hex::decode_array::<8>(expected, "ARQC"))?;
                out = out.flag("valid", subtle_eq(&arqc, &expected));
            }
            Ok(out)
        }
        EmvWhich::Arpc(a) => {
            let c = card(&a.card)?;
            let arqc = input(hex::decode_array::<8>(&a.arqc, "ARQC"))?;
            let card_data = CardData {
                pan: &c.pan,
                psn: c.psn,
                atc: c.atc,
            };
            match c.cvn {
                CryptogramVersion::Cvn10 => {
                    let arc = a.arc.as_deref().ok_or_else(|| bad("CVN 10 needs --arc"))?;
                    let arc = input(hex::decode_array::<2>(arc, "ARC"))?;
                    let arpc = input(emv::arpc_cvn10(&c.imk, &card_data, &arqc, arc))?;
                    Ok(Output::default().hex("arpc", &arpc))
                }
                CryptogramVersion::Cvn18 => {
                    let csu = a.csu.as_deref().ok_or_else(|| bad("CVN 18 needs --csu"))?;
                    let csu = input(hex::decode_array::<4>(csu, "CSU"))?;
                    let arpc = input(emv::arpc_cvn18(&c.imk, &card_data, &arqc, csu))?;
                    let mut tag91 = arpc.to_vec();
                    tag91.extend_from_slice(&csu);
                    Ok(Output::default().hex("arpc", &arpc).hex("tag_91", &tag91))
                }
            }
        }
    }
}
