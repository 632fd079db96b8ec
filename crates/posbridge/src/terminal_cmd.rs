//! `posbridge terminal`: the POS terminal simulator on the command line.
//!
//! `init` provisions a terminal (from the sandbox by TID, or from TID, MID,
//! KSN and an IPEK or BDK) into a state file and a key file beside it
//! (`FILE.key`, owner-only: the simulator's stand-in for the terminal's
//! secure key storage); every other command loads both, runs one operation
//! against the host and saves the state. Cards are given by sandbox name
//! (`--card cobrand-chip`) or by `--pan` and `--expiry`. Prints the receipt,
//! or with `--json` the outcome as one JSON object.
//!
//! Exit codes: 0 when the host answered (approved or declined); 1 when it
//! did not (a reversal is queued) or could not be reached; 2 for bad input.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use cardsec::{Pin, TdesKey};
use clap::Subcommand;
use domain::sandbox;
use terminal::amount::parse_amount;
use terminal::card::{Card, EntryMode};
use terminal::clock::SystemClock;
use terminal::keys::{InitialKey, key_file_path, load_key_file, save_key_file};
use terminal::receipt::format_minor;
use terminal::state::{StateError, TerminalState, Totals};
use terminal::{CardRead, Outcome, Terminal, TerminalConfig};

use crate::InputError;

/// Host address when neither `--host` nor the state names one.
const HOST_DEFAULT: &str = "127.0.0.1:8583";
/// BIN range of the sandbox co-brand program, whose chip cards use its IMK.
const PROGRAM_BIN: &str = "622588";

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The terminal's state file (created by `init`).
    #[arg(long)]
    state: PathBuf,
    /// Host address `host:port` (default: the one given to `init`, else
    /// 127.0.0.1:8583).
    #[arg(long, global = true)]
    host: Option<String>,
    /// How long to wait for each answer, milliseconds.
    #[arg(long, global = true, default_value_t = 20_000)]
    timeout_ms: u64,
    /// Print the outcome as one JSON object.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Provision the terminal: `--sandbox T0000001`, or TID, MID, KSN and key.
    Init(InitArgs),
    /// 0800 sign-on.
    #[command(name = "sign-on")]
    SignOn,
    /// 0800 sign-off.
    #[command(name = "sign-off")]
    SignOff,
    /// 0800 echo test.
    Echo,
    /// 0200 sale.
    Sale(AmountArgs),
    /// 0100 pre-authorization.
    Preauth(AmountArgs),
    /// 0220 completion of a pre-authorization.
    Complete(CompleteArgs),
    /// 0200 void of a sale of the open batch.
    Void(VoidArgs),
    /// 0200 refund against an original sale.
    Refund(RefundArgs),
    /// 0100 balance inquiry.
    Balance(CardArgs),
    /// 0500 batch settlement; opens the next batch.
    Settle,
    /// Send the queued reversals now.
    Reversals,
    /// Show the terminal's state (STAN, batch, totals, queued reversals).
    Status,
    /// Prompt for operations on stdin, one answer per line.
    Interactive,
}

/// `init` arguments.
#[derive(Debug, clap::Args)]
struct InitArgs {
    /// Take everything from the sandbox terminal with this TID.
    #[arg(long, conflicts_with_all = ["tid", "mid", "ksn", "ipek", "bdk", "mac"])]
    sandbox: Option<String>,
    /// Terminal id (DE 41, 8 characters).
    #[arg(long, required_unless_present = "sandbox")]
    tid: Option<String>,
    /// Merchant id (DE 42, 15 characters).
    #[arg(long, required_unless_present = "sandbox")]
    mid: Option<String>,
    /// Initial KSN (20 hex digits, counter zero).
    #[arg(long, required_unless_present = "sandbox")]
    ksn: Option<String>,
    /// The terminal's IPEK (32 hex digits).
    #[arg(long, conflicts_with = "bdk")]
    ipek: Option<String>,
    /// A BDK to derive the IPEK from (sandbox convenience; not kept).
    #[arg(long)]
    bdk: Option<String>,
    /// Requests and responses carry a MAC (DE 64).
    #[arg(long)]
    mac: bool,
    /// Merchant name on receipts.
    #[arg(long)]
    merchant_name: Option<String>,
    /// Replace an existing state file (its STAN and KSN counter restart).
    #[arg(long)]
    force: bool,
}

/// How the card is presented.
#[derive(Debug, Clone, clap::Args)]
struct CardArgs {
    /// Sandbox card name (debit, debit-low, cobrand-chip, visa, …).
    #[arg(long, conflicts_with = "pan")]
    card: Option<String>,
    /// Card number.
    #[arg(long, requires = "expiry")]
    pan: Option<String>,
    /// Expiry `YYMM` (with `--pan`).
    #[arg(long)]
    expiry: Option<String>,
    /// chip, contactless, swipe or keyed (default: chip for chip cards,
    /// else swipe).
    #[arg(long)]
    entry: Option<String>,
    /// PIN typed by the cardholder.
    #[arg(long)]
    pin: Option<String>,
}

/// Sale and pre-authorization arguments.
#[derive(Debug, clap::Args)]
struct AmountArgs {
    /// Amount, e.g. 38.00.
    #[arg(long)]
    amount: String,
    #[command(flatten)]
    card: CardArgs,
}

/// Completion arguments.
#[derive(Debug, clap::Args)]
struct CompleteArgs {
    /// RRN of the pre-authorization.
    #[arg(long)]
    rrn: String,
    /// Authorization code of the pre-authorization.
    #[arg(long)]
    auth: String,
    /// Amount to capture (at most the authorized amount).
    #[arg(long)]
    amount: String,
    #[command(flatten)]
    card: CardArgs,
}

/// Void arguments.
#[derive(Debug, clap::Args)]
struct VoidArgs {
    /// RRN of the sale.
    #[arg(long)]
    rrn: String,
    /// Amount, only for a sale the open batch does not hold.
    #[arg(long)]
    amount: Option<String>,
    #[command(flatten)]
    card: CardArgs,
}

/// Refund arguments.
#[derive(Debug, clap::Args)]
struct RefundArgs {
    /// RRN of the original sale.
    #[arg(long)]
    rrn: String,
    /// Amount to refund.
    #[arg(long)]
    amount: String,
    #[command(flatten)]
    card: CardArgs,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Command::Init(init_args) = &args.command {
        return init(&args, init_args);
    }
    let mut terminal = open(&args)?;
    let stdin = std::io::stdin();
    match args.command {
        Command::Status => status(terminal.state(), args.json),
        Command::Reversals => {
            let report = terminal.send_reversals().map_err(failure)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "reversals: sent {}, answered {}, still queued {}",
                    report.sent, report.answered, report.pending
                );
            }
            Ok(())
        }
        Command::Interactive => interactive(&mut terminal, args.json, stdin.lock()),
        command => {
            let outcome = operation(&mut terminal, command)?;
            print_outcome(&outcome, args.json)?;
            answered(&outcome)
        }
    }
}

/// Maps terminal errors: refusals are bad input (exit 2), the rest failures.
fn failure(error: terminal::Error) -> anyhow::Error {
    match error {
        terminal::Error::Card(_) | terminal::Error::Input(_) => {
            InputError(error.to_string()).into()
        }
        other => anyhow::Error::new(other),
    }
}

fn input(message: impl Into<String>) -> anyhow::Error {
    InputError(message.into()).into()
}

fn amount(text: &str) -> anyhow::Result<u64> {
    parse_amount(text).map_err(|error| input(error.to_string()))
}

fn answered(outcome: &Outcome) -> anyhow::Result<()> {
    if outcome.response_code.is_some() {
        return Ok(());
    }
    if outcome.reversal_queued {
        anyhow::bail!("no answer from the host; a reversal is queued for the next connection")
    }
    anyhow::bail!("no answer from the host")
}

fn operation(terminal: &mut Terminal, command: Command) -> anyhow::Result<Outcome> {
    let outcome = match command {
        Command::SignOn => terminal.sign_on(),
        Command::SignOff => terminal.sign_off(),
        Command::Echo => terminal.echo(),
        Command::Settle => terminal.settle(),
        Command::Sale(args) => {
            let presented = Presented::resolve(&args.card)?;
            let amount = amount(&args.amount)?;
            terminal.sale(presented.read(), amount)
        }
        Command::Preauth(args) => {
            let presented = Presented::resolve(&args.card)?;
            let amount = amount(&args.amount)?;
            terminal.preauth(presented.read(), amount)
        }
        Command::Complete(args) => {
            let presented = Presented::resolve(&args.card)?;
            let amount = amount(&args.amount)?;
            terminal.complete(presented.read(), amount, &args.rrn, &args.auth)
        }
        Command::Void(args) => {
            let presented = Presented::resolve(&args.card)?;
            let amount = args.amount.as_deref().map(amount).transpose()?;
            terminal.void(presented.read(), &args.rrn, amount)
        }
        Command::Refund(args) => {
            let presented = Presented::resolve(&args.card)?;
            let amount = amount(&args.amount)?;
            terminal.refund(presented.read(), &args.rrn, amount)
        }
        Command::Balance(args) => {
            let presented = Presented::resolve(&args)?;
            terminal.balance(presented.read())
        }
        Command::Init(_) | Command::Reversals | Command::Status | Command::Interactive => {
            return Err(input("not an operation"));
        }
    };
    outcome.map_err(failure)
}

/// A card, how it is read and the PIN typed.
pub(crate) struct Presented {
    card: Card,
    entry: EntryMode,
    pin: Option<Pin>,
}

impl Presented {
    pub(crate) fn read(&self) -> CardRead<'_> {
        CardRead {
            card: &self.card,
            entry: self.entry,
            pin: self.pin.as_ref(),
        }
    }

    /// A sandbox card by name, read with `entry`, with the PIN typed if any.
    pub(crate) fn sandbox(name: &str, entry: &str, pin: Option<&str>) -> anyhow::Result<Presented> {
        Presented::resolve(&CardArgs {
            card: Some(name.to_owned()),
            pan: None,
            expiry: None,
            entry: Some(entry.to_owned()),
            pin: pin.map(str::to_owned),
        })
    }

    fn resolve(args: &CardArgs) -> anyhow::Result<Presented> {
        let (pan, expiry, chip) = match (&args.card, &args.pan) {
            (Some(name), _) => {
                let cards = sandbox::cards();
                let card = cards.iter().find(|card| card.name == name).ok_or_else(|| {
                    let names: Vec<&str> = cards.iter().map(|card| card.name).collect();
                    input(format!(
                        "no sandbox card {name:?}; one of: {}",
                        names.join(", ")
                    ))
                })?;
                (card.pan.to_owned(), card.expiry.to_owned(), card.chip)
            }
            (None, Some(pan)) => {
                let expiry = args.expiry.clone().unwrap_or_default();
                (pan.clone(), expiry, false)
            }
            (None, None) => return Err(input("give a card: --card NAME or --pan P --expiry YYMM")),
        };
        let entry = match args.entry.as_deref() {
            None if chip => EntryMode::Chip,
            None => EntryMode::Swipe,
            Some(text) => EntryMode::parse(text).ok_or_else(|| {
                input(format!(
                    "entry mode {text:?}: one of chip, contactless, swipe, keyed"
                ))
            })?,
        };
        let pin = args
            .pin
            .as_deref()
            .map(|digits| Pin::new(digits).map_err(|_| input("the PIN must be 4 to 12 digits")))
            .transpose()?;
        let card = card(&pan, &expiry, chip || entry.is_chip())?;
        Ok(Presented { card, entry, pin })
    }
}

/// A card; a chip card of the program's BIN range gets the program's IMK so
/// that the host can verify its ARQC.
fn card(pan: &str, expiry: &str, chip: bool) -> anyhow::Result<Card> {
    let card = Card::new(pan, expiry).map_err(failure)?;
    if !chip {
        return Ok(card);
    }
    let imk = if pan.starts_with(PROGRAM_BIN) {
        Some(TdesKey::from_hex(sandbox::PROGRAM_IMK_AC_HEX).context("program IMK")?)
    } else {
        None
    };
    Ok(card.with_chip(imk, 0))
}

fn open(args: &Args) -> anyhow::Result<Terminal> {
    let state = match TerminalState::load(&args.state) {
        Ok(state) => state,
        Err(StateError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(input(format!(
                "no terminal state at {}; run `posbridge terminal --state {} init …` first",
                args.state.display(),
                args.state.display()
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let ipek = load_key_file(&key_file_path(&args.state)).map_err(anyhow::Error::new)?;
    let host = args
        .host
        .clone()
        .or_else(|| state.host.clone())
        .unwrap_or_else(|| HOST_DEFAULT.to_owned());
    let mut config = TerminalConfig::new(&host);
    config.response_timeout = Duration::from_millis(args.timeout_ms);
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("system random source failed: {e}"))?;
    config.random_seed = u64::from_be_bytes(seed);
    let terminal = Terminal::new(state, ipek, config, Box::new(SystemClock)).map_err(failure)?;
    Ok(terminal.with_state_file(args.state.clone()))
}

fn init(args: &Args, init: &InitArgs) -> anyhow::Result<()> {
    if args.state.exists() && !init.force {
        return Err(input(format!(
            "{} exists; a re-initialized terminal restarts its STAN and KSN counter (use --force)",
            args.state.display()
        )));
    }
    let (mut state, key) = match &init.sandbox {
        Some(tid) => sandbox_terminal(tid)?,
        None => own_terminal(init)?,
    };
    if let Some(name) = &init.merchant_name {
        state.merchant_name.clone_from(name);
    }
    state.host.clone_from(&args.host);
    let ipek = key
        .ipek(&state.initial_ksn)
        .map_err(|error| input(error.to_string()))?;
    let key_path = key_file_path(&args.state);
    save_key_file(&key_path, &ipek).map_err(anyhow::Error::new)?;
    state.save(&args.state)?;
    if args.json {
        let summary = serde_json::json!({
            "tid": state.tid, "mid": state.mid, "merchant_name": state.merchant_name,
            "initial_ksn": state.initial_ksn, "mac_required": state.mac_required,
            "batch": state.batch_field(), "state": args.state, "key_file": key_path,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "terminal {} of merchant {} ({}) ready: KSN {}, batch {}, MAC {}\nstate {}, key {}",
            state.tid,
            state.mid,
            state.merchant_name,
            state.initial_ksn,
            state.batch_field(),
            if state.mac_required { "yes" } else { "no" },
            args.state.display(),
            key_path.display()
        );
    }
    Ok(())
}

pub(crate) fn sandbox_terminal(tid: &str) -> anyhow::Result<(TerminalState, InitialKey)> {
    let terminals = sandbox::terminals();
    let found = terminals.iter().find(|t| t.tid == tid).ok_or_else(|| {
        let tids: Vec<&str> = terminals.iter().map(|t| t.tid).collect();
        input(format!(
            "no sandbox terminal {tid:?}; one of: {}",
            tids.join(", ")
        ))
    })?;
    let mut state = TerminalState::new(found.tid, found.mid, found.initial_ksn)?;
    state.mac_required = found.mac_required;
    state.batch = found.open_batch;
    if let Some(merchant) = sandbox::merchants().iter().find(|m| m.mid == found.mid) {
        merchant.name.clone_into(&mut state.merchant_name);
    }
    let bdk = TdesKey::from_hex(sandbox::BDK_HEX).context("sandbox BDK")?;
    Ok((state, InitialKey::Bdk(bdk)))
}

fn own_terminal(init: &InitArgs) -> anyhow::Result<(TerminalState, InitialKey)> {
    let (Some(tid), Some(mid), Some(ksn)) = (&init.tid, &init.mid, &init.ksn) else {
        return Err(input("init needs --tid, --mid and --ksn, or --sandbox TID"));
    };
    let printable = |text: &str| text.bytes().all(|b| (0x20..0x7F).contains(&b));
    if tid.len() != 8 || !printable(tid) {
        return Err(input("--tid must be 8 characters (DE 41)"));
    }
    if mid.len() != 15 || !printable(mid) {
        return Err(input("--mid must be 15 characters (DE 42)"));
    }
    let state = TerminalState::new(tid, mid, ksn)
        .map_err(|_| input("--ksn must be 20 hex digits with a zero counter"))?;
    let key = |hex: &str, what: &str| {
        TdesKey::from_hex(hex).map_err(|_| input(format!("--{what} must be 32 hex digits")))
    };
    let initial = match (&init.ipek, &init.bdk) {
        (Some(ipek), None) => InitialKey::Ipek(key(ipek, "ipek")?),
        (None, Some(bdk)) => InitialKey::Bdk(key(bdk, "bdk")?),
        _ => return Err(input("give the initial key: --ipek HEX or --bdk HEX")),
    };
    let mut state = state;
    state.mac_required = init.mac;
    Ok((state, initial))
}

fn totals_line(totals: &Totals) -> String {
    format!(
        "sales {} / {}, refunds {} / {}",
        totals.debit_count,
        format_minor(totals.debit_amount_minor),
        totals.credit_count,
        format_minor(totals.credit_amount_minor)
    )
}

fn status(state: &TerminalState, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(state)?);
        return Ok(());
    }
    println!(
        "terminal {} merchant {}: STAN {:06}, KSN counter {}, batch {} ({}), {} transactions, {} reversals queued",
        state.tid,
        state.mid,
        state.stan,
        state.ksn_counter,
        state.batch_field(),
        totals_line(&state.totals),
        state.entries.len(),
        state.reversals.len()
    );
    Ok(())
}

pub(crate) fn render(outcome: &Outcome) -> String {
    if let Some(receipt) = &outcome.receipt {
        let mut text = receipt.render();
        if let Some(balance) = outcome.available_balance_minor {
            text.push_str(&format!("AVAILABLE BALANCE {}\n", format_minor(balance)));
        }
        return text;
    }
    let verdict = match &outcome.response_code {
        Some(code) => format!("{code} {}", outcome.reason),
        None => outcome.reason.clone(),
    };
    let mut text = format!(
        "{} {} (STAN {}): {verdict}\n",
        outcome.operation.to_uppercase(),
        outcome.mti,
        outcome.stan
    );
    if let Some(totals) = &outcome.terminal_totals {
        text.push_str(&format!(
            "batch {}: terminal {}\n",
            outcome.batch,
            totals_line(totals)
        ));
    }
    if let Some(totals) = &outcome.host_totals {
        text.push_str(&format!("host {}\n", totals_line(totals)));
    }
    text
}

fn print_outcome(outcome: &Outcome, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcome)?);
    } else {
        print!("{}", render(outcome));
    }
    Ok(())
}

/// Reads one answer after printing `question`; `None` at end of input.
fn ask(lines: &mut impl BufRead, question: &str) -> anyhow::Result<Option<String>> {
    print!("{question}> ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    if lines.read_line(&mut line)? == 0 {
        println!();
        return Ok(None);
    }
    Ok(Some(line.trim().to_owned()))
}

/// Asks the questions of one operation and builds its command.
fn prompt_command(lines: &mut impl BufRead, name: &str) -> anyhow::Result<Option<Command>> {
    macro_rules! ask_or_stop {
        ($question:expr) => {
            match ask(lines, $question)? {
                Some(answer) => answer,
                None => return Ok(None),
            }
        };
    }
    let simple = match name {
        "sign-on" => Some(Command::SignOn),
        "sign-off" => Some(Command::SignOff),
        "echo" => Some(Command::Echo),
        "settle" => Some(Command::Settle),
        "sale" | "preauth" | "complete" | "void" | "refund" | "balance" => None,
        other => return Err(input(format!("unknown command {other:?}"))),
    };
    if simple.is_some() {
        return Ok(simple);
    }
    let (rrn, auth) = match name {
        "complete" => (ask_or_stop!("rrn"), ask_or_stop!("auth code")),
        "void" | "refund" => (ask_or_stop!("rrn"), String::new()),
        _ => (String::new(), String::new()),
    };
    let amount = match name {
        "balance" => String::new(),
        "void" => ask_or_stop!("amount (empty = from the batch)"),
        _ => ask_or_stop!("amount"),
    };
    let card_answer = ask_or_stop!("card (sandbox name or PAN)");
    let mut card = CardArgs {
        card: None,
        pan: None,
        expiry: None,
        entry: None,
        pin: None,
    };
    if !card_answer.is_empty() && card_answer.bytes().all(|b| b.is_ascii_digit()) {
        card.pan = Some(card_answer);
        card.expiry = Some(ask_or_stop!("expiry (YYMM)"));
    } else {
        card.card = Some(card_answer);
    }
    let entry = ask_or_stop!("entry (chip, contactless, swipe, keyed; empty = default)");
    card.entry = (!entry.is_empty()).then_some(entry);
    let pin = ask_or_stop!("PIN (empty = none)");
    card.pin = (!pin.is_empty()).then_some(pin);
    let command = match name {
        "sale" => Command::Sale(AmountArgs { amount, card }),
        "preauth" => Command::Preauth(AmountArgs { amount, card }),
        "complete" => Command::Complete(CompleteArgs {
            rrn,
            auth,
            amount,
            card,
        }),
        "void" => Command::Void(VoidArgs {
            rrn,
            amount: (!amount.is_empty()).then_some(amount),
            card,
        }),
        "refund" => Command::Refund(RefundArgs { rrn, amount, card }),
        _ => Command::Balance(card),
    };
    Ok(Some(command))
}

/// The interactive terminal: one operation after another until `quit` or
/// the end of input. A bad answer is reported and the next command asked.
fn interactive(terminal: &mut Terminal, json: bool, mut lines: impl BufRead) -> anyhow::Result<()> {
    let menu = "command (sale, preauth, complete, void, refund, balance, settle, echo, sign-on, sign-off, quit)";
    loop {
        let Some(name) = ask(&mut lines, menu)? else {
            return Ok(());
        };
        match name.as_str() {
            "" => continue,
            "quit" | "exit" => return Ok(()),
            _ => {}
        }
        let result = prompt_command(&mut lines, &name).and_then(|command| match command {
            Some(command) => operation(terminal, command).map(Some),
            None => Ok(None),
        });
        match result {
            Ok(Some(outcome)) => {
                print_outcome(&outcome, json)?;
                if let Err(error) = answered(&outcome) {
                    println!("{error}");
                }
            }
            Ok(None) => return Ok(()),
            Err(error) if error.downcast_ref::<InputError>().is_some() => {
                println!("error: {error}");
            }
            Err(error) => return Err(error),
        }
    }
}
