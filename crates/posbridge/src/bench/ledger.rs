//! `posbridge bench ledger`: durable balanced transfers per second through the
//! real write path (writer thread, ledger core, engine, one durable commit per
//! batch), against a baseline measured in the same run: the same number of
//! plain rows of a transfer's width inserted by the same engine, with the same
//! durability and batch size.
//!
//! `--hot`: every payment is a linked pair — customer → merchant, then
//! merchant → one fee account — so every batch also updates one hot account.
//! `--transfers` and `--batch` count ledger transfers (both legs).

use std::time::{Duration, Instant};

use anyhow::Context;
use ledger::{
    AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferFlags, TransferId,
};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome, Writer, WriterConfig};

use crate::InputError;

/// The default PostgreSQL server when `POSBRIDGE_TEST_PG_URL` is unset.
const PG_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Requests waiting for the writer; the bench keeps at most this many in flight.
const QUEUE_DEPTH_MAX: usize = 4;
/// The largest batch accepted.
const BATCH_MAX: usize = 100_000;
const EUR: LedgerId = LedgerId(978);

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// Transfers per batch (one commit each).
    #[arg(long, default_value_t = 8_189)]
    batch: usize,
    /// Transfers in total.
    #[arg(long, default_value_t = 100_000)]
    transfers: usize,
    /// Accounts the transfers are spread over.
    #[arg(long, default_value_t = 10_000)]
    accounts: u64,
    /// Every payment also moves a fee to one hot account (linked pair).
    #[arg(long)]
    hot: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Database URL (default: a temporary SQLite file, or a fresh schema in
    /// `POSBRIDGE_TEST_PG_URL` / the local test database).
    #[arg(long)]
    db: Option<String>,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.batch == 0 || args.batch > BATCH_MAX || args.transfers == 0 || args.accounts < 3 {
        return Err(InputError(format!(
            "need 1 <= --batch <= {BATCH_MAX}, --transfers >= 1, --accounts >= 3"
        ))
        .into());
    }
    if args.hot && (args.batch % 2 != 0 || args.transfers % 2 != 0) {
        return Err(InputError(
            "--hot needs an even --batch and --transfers (payments are pairs)".into(),
        )
        .into());
    }
    let (url, _scratch) = database(&args)?;
    let mut store = Store::open(&url).with_context(|| format!("opening {url}"))?;
    create_accounts(&mut store, args.accounts)?;
    let requests = generate(&args);
    let (store, elapsed, mut latencies) = run_writer(store, requests, args.batch)?;
    let mut store = store;
    let baseline_started = Instant::now();
    store::insert_plain_rows(&mut store, args.transfers as u64, args.batch as u64)?;
    let baseline = baseline_started.elapsed();
    latencies.sort_unstable();
    report(&args, elapsed, baseline, &latencies);
    Ok(())
}

fn database(args: &Args) -> anyhow::Result<(String, Option<TestDatabase>)> {
    if let Some(url) = &args.db {
        return Ok((url.clone(), None));
    }
    let scratch = match args.engine.as_str() {
        "sqlite" => TestDatabase::sqlite("bench"),
        "postgres" => {
            let base = std::env::var(store::testing::PG_URL_VARIABLE)
                .unwrap_or_else(|_| PG_URL_DEFAULT.into());
            TestDatabase::postgres_at(&base, "bench")
                .with_context(|| format!("PostgreSQL at {base}"))?
        }
        other => {
            return Err(
                InputError(format!("unknown engine {other}: use sqlite or postgres")).into(),
            );
        }
    };
    Ok((scratch.url().to_string(), Some(scratch)))
}

fn create_accounts(store: &mut Store, count: u64) -> anyhow::Result<()> {
    let ids: Vec<u64> = (1..=count).collect();
    for chunk in ids.chunks(8_192) {
        let accounts = chunk
            .iter()
            .map(|id| NewAccount::new(AccountId((*id).into()), EUR, 1))
            .collect();
        store.write(vec![WriteOp::CreateAccounts(accounts)], 1)?;
    }
    Ok(())
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn generate(args: &Args) -> Vec<Vec<NewTransfer>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // With --hot, account 1 is the fee account; payments use the others.
    let first = if args.hot { 2 } else { 1 };
    let span = args.accounts - first + 1;
    let mut transfers = Vec::with_capacity(args.transfers);
    let mut id = 1u128;
    while transfers.len() < args.transfers {
        let debit = first + rng.next(span);
        let credit = first + (debit - first + 1 + rng.next(span - 1)) % span;
        let amount = 1 + rng.next(10_000);
        let payment = NewTransfer::new(
            TransferId(id),
            AccountId(debit.into()),
            AccountId(credit.into()),
            amount,
            EUR,
            1,
        );
        id += 1;
        if !args.hot {
            transfers.push(payment);
            continue;
        }
        transfers.push(payment.with_flags(TransferFlags::LINKED));
        let fee = 1 + amount / 100;
        transfers.push(NewTransfer::new(
            TransferId(id),
            AccountId(credit.into()),
            AccountId(1),
            fee,
            EUR,
            2,
        ));
        id += 1;
    }
    transfers.truncate(args.transfers);
    transfers
        .chunks(args.batch)
        .map(<[NewTransfer]>::to_vec)
        .collect()
}

/// Submits every request through the writer; returns the store, the total
/// time and each request's submit-to-acknowledgement latency in µs.
fn run_writer(
    store: Store,
    requests: Vec<Vec<NewTransfer>>,
    batch: usize,
) -> anyhow::Result<(Store, Duration, Vec<u64>)> {
    let config = WriterConfig {
        queue_depth_max: QUEUE_DEPTH_MAX,
        batch_transfers_max: batch,
    };
    let writer = Writer::start(store, config)?;
    let handle = writer.handle();
    let mut latencies = Vec::with_capacity(requests.len());
    let started = Instant::now();
    for request in requests {
        let submitted = Instant::now();
        let outcome = handle.write(vec![WriteOp::CreateTransfers(request)])?;
        latencies.push(u64::try_from(submitted.elapsed().as_micros()).unwrap_or(u64::MAX));
        check(&outcome)?;
    }
    let elapsed = started.elapsed();
    drop(handle);
    Ok((writer.stop()?, elapsed, latencies))
}

fn check(outcome: &[WriteOutcome]) -> anyhow::Result<()> {
    let [WriteOutcome::Transfers(results)] = outcome else {
        anyhow::bail!("unexpected outcome {outcome:?}");
    };
    match results.iter().find(|r| **r != CreateTransferResult::Ok) {
        Some(bad) => anyhow::bail!("a benchmark transfer failed: {}", bad.name()),
        None => Ok(()),
    }
}

#[allow(clippy::float_arithmetic, clippy::cast_precision_loss)]
fn report(args: &Args, elapsed: Duration, baseline: Duration, latencies_us: &[u64]) {
    let per_s = |count: usize, time: Duration| count as f64 / time.as_secs_f64().max(1e-9);
    let transfers_per_s = per_s(args.transfers, elapsed);
    let baseline_rows_per_s = per_s(args.transfers, baseline);
    let p99_index = (latencies_us.len() * 99).div_ceil(100).saturating_sub(1);
    let p99_batch_ms = latencies_us.get(p99_index).copied().unwrap_or(0) as f64 / 1_000.0;
    let summary = serde_json::json!({
        "engine": args.engine,
        "batch": args.batch,
        "transfers": args.transfers,
        "accounts": args.accounts,
        "hot": args.hot,
        "seconds": (elapsed.as_secs_f64() * 1_000.0).round() / 1_000.0,
        "transfers_per_s": transfers_per_s.round(),
        "p99_batch_ms": (p99_batch_ms * 100.0).round() / 100.0,
        "baseline_seconds": (baseline.as_secs_f64() * 1_000.0).round() / 1_000.0,
        "baseline_rows_per_s": baseline_rows_per_s.round(),
        "ratio_to_baseline": (transfers_per_s / baseline_rows_per_s * 100.0).round() / 100.0,
    });
    if args.json {
        println!("{summary}");
        return;
    }
    println!(
        "{} ledger: {} transfers in batches of {}{}: {:.0} transfers/s, p99 batch {:.2} ms; \
         plain rows {:.0}/s; ratio {:.2}",
        args.engine,
        args.transfers,
        args.batch,
        if args.hot { " (hot fee account)" } else { "" },
        transfers_per_s,
        p99_batch_ms,
        baseline_rows_per_s,
        transfers_per_s / baseline_rows_per_s
    );
}
