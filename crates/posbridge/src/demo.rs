//! `posbridge demo`: the whole story with real ISO 8583 traffic over
//! loopback. A host starts in-process on a fresh embedded SQLite database
//! seeded with the sandbox; sandbox terminals sign on and run chip,
//! contactless, swipe and keyed sales with PIN, a co-brand sale with discount
//! and points, a decline of each kind, a void, a refund, a pre-authorization
//! and its completion, a reversal after a timeout, and batch settlement;
//! then the day is settled through the HTTP API (T+1 into Lucky Coffee's
//! joint account, T+0 for Corner Grocery) with a short daily report
//! (`demo_settlement`), and the ledger is verified.

use std::time::Duration;

use anyhow::Context;
use host::server::{ServeConfig, start};
use terminal::clock::SystemClock;
use terminal::{Outcome, Terminal, TerminalConfig};

use crate::terminal_cmd::{Presented, render, sandbox_terminal};

/// How long a demo terminal waits for an answer. Shorter than the host's
/// wait for the card network, so that the "no answer" step times out.
const TERMINAL_TIMEOUT: Duration = Duration::from_millis(1_000);
/// How long the host waits for the simulated card network.
const NETWORK_TIMEOUT: Duration = Duration::from_millis(2_500);

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the summary, not every receipt.
    #[arg(long)]
    quiet: bool,
}

/// Tallies what the story did.
#[derive(Default)]
struct Tally {
    approved: usize,
    declined: usize,
    unanswered: usize,
}

struct Story {
    quiet: bool,
    tally: Tally,
}

impl Story {
    fn title(&self, text: &str) {
        println!("\n== {text}");
    }

    /// Prints an outcome and checks it is the one the story expects.
    fn show(&mut self, outcome: &Outcome, expected: &str) -> anyhow::Result<()> {
        let code = outcome.response_code.as_deref().unwrap_or("no answer");
        match outcome.response_code.as_deref() {
            Some("00") => self.tally.approved += 1,
            Some(_) => self.tally.declined += 1,
            None => self.tally.unanswered += 1,
        }
        if !self.quiet {
            print!("{}", render(outcome));
        }
        println!("   -> {} {code} {}", outcome.operation, outcome.reason);
        anyhow::ensure!(
            code == expected,
            "{} answered {code}, the story expects {expected}",
            outcome.operation
        );
        Ok(())
    }
}

fn terminal(tid: &str, host: &str) -> anyhow::Result<Terminal> {
    let (state, key) = sandbox_terminal(tid)?;
    let ipek = key.ipek(&state.initial_ksn)?;
    let mut config = TerminalConfig::new(host);
    config.response_timeout = TERMINAL_TIMEOUT;
    config.random_seed = u64::from(std::process::id());
    Terminal::new(state, ipek, config, Box::new(SystemClock)).context("terminal")
}

fn card(name: &str, entry: &str, pin: Option<&str>) -> anyhow::Result<Presented> {
    Presented::sandbox(name, entry, pin)
}

/// Runs the demo.
pub fn run(args: Args) -> anyhow::Result<()> {
    let directory = std::env::temp_dir().join(format!("posbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&directory).context("creating the demo directory")?;
    let url = format!("sqlite:{}", directory.join("demo.db").display());
    let outcome = run_story(&url, args.quiet);
    // The demo database is scratch: nothing of it is kept.
    let _ = std::fs::remove_dir_all(&directory);
    outcome
}

fn run_story(url: &str, quiet: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let config = ServeConfig {
        database_url: url.to_owned(),
        sandbox: true,
        iso_listen: "127.0.0.1:0".to_owned(),
        http_listen: "127.0.0.1:0".to_owned(),
        network_timeout: NETWORK_TIMEOUT,
        ..ServeConfig::default()
    };
    let running = runtime
        .block_on(start(config))
        .context("starting the host")?;
    let host = running.iso_addr.to_string();
    println!("posbridge demo — host on {host} (ISO 8583), database {url}, sandbox data");
    let mut story = Story {
        quiet,
        tally: Tally::default(),
    };
    let told = tell(&mut story, &host)
        .and_then(|()| crate::demo_settlement::settle_day(running.http_addr));
    let verified = runtime.block_on(running.shutdown_and(|store| store.verify_ledger()));
    told?;
    let report = verified.context("stopping the host")??;
    anyhow::ensure!(
        report.violations.is_empty(),
        "ledger verify found violations: {:?}",
        report.violations
    );
    let Tally {
        approved,
        declined,
        unanswered,
    } = story.tally;
    println!(
        "\nsummary: {approved} approved, {declined} declined, {unanswered} unanswered and reversed; \
         ledger sound: {} accounts, {} transfers, debits = credits",
        report.accounts, report.transfers
    );
    Ok(())
}

fn tell(story: &mut Story, host: &str) -> anyhow::Result<()> {
    let mut coffee = terminal("T0000001", host)?;
    let mut grocery = terminal("T0000003", host)?;
    story.title("Terminals sign on");
    story.show(&coffee.sign_on()?, "00")?;
    story.show(&grocery.sign_on()?, "00")?;

    story.title("Lucky Coffee: co-brand chip sale with PIN (10% off, double points)");
    let chip = card("cobrand-chip", "chip", Some("1234"))?;
    story.show(&coffee.sale(chip.read(), 3_800)?, "00")?;
    story.title("Lucky Coffee: contactless co-brand sale");
    let tap = card("cobrand", "contactless", None)?;
    story.show(&coffee.sale(tap.read(), 2_500)?, "00")?;

    story.title("Corner Grocery: swipe with PIN, keyed off-us card");
    let swipe = card("debit", "swipe", Some("1234"))?;
    let groceries = grocery.sale(swipe.read(), 12_000)?;
    story.show(&groceries, "00")?;
    let keyed = card("visa", "keyed", None)?;
    let visa_sale = grocery.sale(keyed.read(), 6_600)?;
    story.show(&visa_sale, "00")?;

    declines(story, &mut grocery)?;
    follow_ups(story, &mut coffee, &mut grocery, &groceries, &visa_sale)?;
    timeout_and_reversal(story, &mut grocery)?;

    story.title("Batch settlement (0500): terminal totals against the host's");
    story.show(&coffee.settle()?, "00")?;
    story.show(&grocery.settle()?, "00")?;
    Ok(())
}

fn declines(story: &mut Story, grocery: &mut Terminal) -> anyhow::Result<()> {
    story.title("A decline of each kind");
    let cases = [
        ("debit-low", "swipe", Some("1234"), 5_000, "51"),
        ("debit-lost", "swipe", Some("1234"), 1_000, "41"),
        ("debit-expired", "swipe", Some("1234"), 1_000, "54"),
        ("debit", "swipe", Some("9999"), 1_000, "55"),
        ("visa", "keyed", None, 10_005, "05"),
        ("mastercard", "swipe", None, 10_051, "51"),
    ];
    for (name, entry, pin, amount, expected) in cases {
        let presented = card(name, entry, pin)?;
        story.show(&grocery.sale(presented.read(), amount)?, expected)?;
    }
    Ok(())
}

fn follow_ups(
    story: &mut Story,
    coffee: &mut Terminal,
    grocery: &mut Terminal,
    groceries: &Outcome,
    visa_sale: &Outcome,
) -> anyhow::Result<()> {
    story.title("Void of the swipe sale, refund of part of the keyed sale");
    let swipe = card("debit", "swipe", Some("1234"))?;
    let rrn = groceries.rrn.as_deref().context("the sale has an RRN")?;
    story.show(&grocery.void(swipe.read(), rrn, None)?, "00")?;
    let keyed = card("visa", "keyed", None)?;
    let rrn = visa_sale.rrn.as_deref().context("the sale has an RRN")?;
    story.show(&grocery.refund(keyed.read(), rrn, 2_000)?, "00")?;

    story.title("Pre-authorization of 200.00 and its completion for 150.00");
    let tap = card("cobrand", "contactless", None)?;
    let hold = coffee.preauth(tap.read(), 20_000)?;
    story.show(&hold, "00")?;
    let rrn = hold.rrn.as_deref().context("the hold has an RRN")?;
    let auth = hold
        .auth_code
        .as_deref()
        .context("the hold has an auth code")?;
    story.show(&coffee.complete(tap.read(), 15_000, rrn, auth)?, "00")?;
    Ok(())
}

fn timeout_and_reversal(story: &mut Story, grocery: &mut Terminal) -> anyhow::Result<()> {
    story.title("No answer in time: the terminal reverses (0400) before its next transaction");
    let keyed = card("visa", "keyed", None)?;
    let silent = grocery.sale(keyed.read(), 8_891)?;
    story.show(&silent, "no answer")?;
    anyhow::ensure!(silent.reversal_queued, "a timed-out sale queues a reversal");
    // Let the host finish the original (it times the network out) first.
    std::thread::sleep(NETWORK_TIMEOUT);
    let report = grocery.send_reversals()?;
    println!(
        "   -> reversals sent {}, answered {}, still queued {}",
        report.sent, report.answered, report.pending
    );
    anyhow::ensure!(report.pending == 0, "the host answers every reversal");
    Ok(())
}
