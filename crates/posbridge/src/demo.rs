//! `posbridge demo` (provisional, until the terminal simulator exists): the
//! ledger's money movements of a card-present day on a fresh SQLite file,
//! through the real write path (store + group-commit writer), then verify.

use anyhow::Context;
use ledger::{
    AccountFlags, AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer,
    TransferFlags, TransferId,
};
use store::{Store, WriteOp, WriteOutcome, Writer, WriterConfig, WriterHandle};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The platform currency, CNY (ISO 4217 156).
const CNY: LedgerId = LedgerId(156);
const BANK: AccountId = AccountId(1);
const CARDHOLDER: AccountId = AccountId(2);
const MERCHANT: AccountId = AccountId(3);
const FEES: AccountId = AccountId(4);
const NAMES: [(AccountId, &str); 4] = [
    (BANK, "issuer bank funding"),
    (CARDHOLDER, "cardholder funding"),
    (MERCHANT, "merchant settlement"),
    (FEES, "acquirer fee income"),
];

/// Runs the demo.
pub fn run(_args: Args) -> anyhow::Result<()> {
    let directory = std::env::temp_dir().join(format!("posbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&directory).context("creating the demo directory")?;
    let url = format!("sqlite:{}", directory.join("demo.db").display());
    println!("posbridge demo — ledger on {url}\n");
    let store = Store::open(&url).context("opening the demo database")?;
    let writer = Writer::start(store, WriterConfig::default())?;
    let handle = writer.handle();
    create_accounts(&handle)?;
    for (title, transfers) in steps() {
        let results = transfers_of(handle.write(vec![WriteOp::CreateTransfers(transfers)])?)?;
        let names: Vec<&str> = results.iter().map(|r| r.name()).collect();
        println!("  {title:<58} → {}", names.join(", "));
    }
    drop(handle);
    let mut store = writer.stop()?;
    print_balances(&mut store)?;
    let report = store.verify_ledger()?;
    if !report.violations.is_empty() {
        anyhow::bail!("ledger verify failed: {:?}", report.violations);
    }
    println!(
        "\nledger verify: sound — {} accounts, {} transfers, {} hold(s) open, debits = credits = {}",
        report.accounts,
        report.transfers,
        report.pending_open,
        money(i128::try_from(report.debits_total).unwrap_or(i128::MAX))
    );
    drop(store);
    // The demo database is scratch: nothing of it is kept.
    let _ = std::fs::remove_dir_all(&directory);
    Ok(())
}

fn create_accounts(handle: &WriterHandle) -> anyhow::Result<()> {
    let flags = |id| {
        if id == CARDHOLDER {
            AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS
        } else {
            AccountFlags::default()
        }
    };
    let accounts = NAMES
        .iter()
        .map(|(id, _)| NewAccount {
            flags: flags(*id),
            ..NewAccount::new(*id, CNY, 1)
        })
        .collect();
    let outcomes = handle.write(vec![WriteOp::CreateAccounts(accounts)])?;
    let created = match outcomes.as_slice() {
        [WriteOutcome::Accounts(results)] => results.iter().filter(|r| r.is_success()).count(),
        _ => 0,
    };
    anyhow::ensure!(
        created == NAMES.len(),
        "creating the demo accounts failed: {outcomes:?}"
    );
    println!("  created {created} CNY accounts (the cardholder's may not go below zero)\n");
    Ok(())
}

fn transfer(id: u128, debit: AccountId, credit: AccountId, amount: u64) -> NewTransfer {
    NewTransfer::new(TransferId(id), debit, credit, amount, CNY, 1)
}

fn resolve(id: u128, pending: u128, flags: TransferFlags, amount: u64) -> NewTransfer {
    let mut t = transfer(id, AccountId(0), AccountId(0), amount)
        .with_flags(flags)
        .with_pending_id(TransferId(pending));
    (t.ledger, t.code) = (LedgerId(0), 0);
    t
}

fn steps() -> Vec<(&'static str, Vec<NewTransfer>)> {
    let hold = |id, amount| {
        NewTransfer {
            timeout_s: 3_600,
            ..transfer(id, CARDHOLDER, MERCHANT, amount)
        }
        .with_flags(TransferFlags::PENDING)
    };
    let sale = transfer(40, CARDHOLDER, MERCHANT, 2_500).with_flags(TransferFlags::LINKED);
    let fee = NewTransfer {
        code: 2,
        ..transfer(41, MERCHANT, FEES, 50)
    };
    vec![
        (
            "fund the cardholder with 100.00",
            vec![transfer(10, BANK, CARDHOLDER, 10_000)],
        ),
        (
            "pre-authorization: hold 60.00 (expires in 1 h)",
            vec![hold(20, 6_000)],
        ),
        (
            "completion: post 45.00 of the 60.00 hold",
            vec![resolve(21, 20, TransferFlags::POST_PENDING, 4_500)],
        ),
        ("second hold of 20.00", vec![hold(30, 2_000)]),
        (
            "void the second hold",
            vec![resolve(31, 30, TransferFlags::VOID_PENDING, 0)],
        ),
        (
            "sale 25.00 linked with its 0.50 merchant fee",
            vec![sale, fee],
        ),
        (
            "sale 999.00: more than the cardholder has",
            vec![transfer(50, CARDHOLDER, MERCHANT, 99_900)],
        ),
        (
            "the same sale and fee sent again (idempotent replay)",
            vec![sale, fee],
        ),
        (
            "post the voided hold again",
            vec![resolve(32, 30, TransferFlags::POST_PENDING, 0)],
        ),
    ]
}

fn transfers_of(outcome: Vec<WriteOutcome>) -> anyhow::Result<Vec<CreateTransferResult>> {
    match outcome.into_iter().next() {
        Some(WriteOutcome::Transfers(results)) => Ok(results),
        other => anyhow::bail!("unexpected outcome {other:?}"),
    }
}

fn money(minor: impl Into<i128>) -> String {
    let minor = minor.into();
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

fn print_balances(store: &mut Store) -> anyhow::Result<()> {
    println!(
        "\n  {:<22} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "account (CNY)", "debits", "credits", "held (dr)", "held (cr)", "balance"
    );
    for (id, name) in NAMES {
        let a = store.account(id)?.context("demo account missing")?;
        let balance = i128::from(a.credits_posted) - i128::from(a.debits_posted);
        println!(
            "  {name:<22} {:>12} {:>12} {:>12} {:>12} {:>12}",
            money(a.debits_posted),
            money(a.credits_posted),
            money(a.debits_pending),
            money(a.credits_pending),
            money(balance)
        );
    }
    Ok(())
}
