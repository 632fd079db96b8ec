//! `posbridge bench settle`: a T+1 settlement run end to end (aggregation,
//! plan, legs, ledger transfers, settlement rows, payouts; every commit
//! durable) over N items of M merchants, against the engine's own plain
//! aggregation of the same rows (`SELECT mid, SUM(..) .. GROUP BY mid`)
//! timed in the same run (the fastest of three): the limit.
//!
//! JSON: `seconds` (the run), `transactions_per_second`,
//! `aggregation_seconds`, `ratio_to_aggregation`, `load_seconds` (the
//! untimed setup), `presum_seconds` (the presum of the loaded items, timed
//! apart: the work the server's jobs do during the day as items come, see
//! `store::Store::presum_settlement_items`; the run then reads partial sums,
//! not the day's items), `presum_ranges`, `payouts`, `ledger_sound`
//! (verified after the run), `checkpoint_seconds` (on SQLite, the copy of
//! the WAL the run's commits left into the database, timed after the run:
//! the run's commits are durable in the WAL and leave the checkpoint to
//! the store's close, see `host::settlement::RUN_WAL_AUTOCHECKPOINT_PAGES`;
//! shown so that the cost is not hidden).
//! Stderr: the seconds of each phase — the load, the run's aggregation and
//! plan timed alone, each chunk commit of the run, the payouts — to see
//! where a run spends its time.
//!
//! Outside the timed part: a fresh database, per merchant a payable ledger
//! account, a host merchant record, a settlement account and an approved
//! binding to it, and the items (bulk-loaded in one transaction by
//! `Store::load_settlement_items`). Items are captures with a 0.6% fee,
//! every tenth a refund.
// Rates and ratios of measured times (not money).
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::time::Instant;

use anyhow::Context;
use domain::BusinessDate;
use domain::settlement::Cycle;
use host::records::{MerchantRecord, Record};
use host::seed::{LEDGER_CNY, LEDGER_CODE};
use host::settlement::{RunOptions, settle};
use ledger::{AccountId, NewAccount};
use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceRow};
use store::testing::TestDatabase;
use store::{SettlementItem, Store, WriteOp};

use crate::InputError;

const PG_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Merchants per loading commit.
const LOAD_MERCHANTS: usize = 10_000;
/// Timed plain aggregations; the fastest is the limit.
const AGGREGATION_TRIES: usize = 3;
/// Largest run accepted.
const TRANSACTIONS_MAX: usize = 100_000_000;
const DATE: &str = "2026-11-24";
/// Payable ledger accounts of bench merchants: this + index.
const PAYABLE_BASE: u128 = 1 << 64;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Items (transactions) to settle.
    #[arg(long, default_value_t = 1_000_000)]
    transactions: usize,
    /// Merchants they are spread over.
    #[arg(long, default_value_t = 10_000)]
    merchants: usize,
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn mid(index: usize) -> String {
    format!("9{index:014}")
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.merchants == 0
        || args.transactions < args.merchants
        || args.transactions > TRANSACTIONS_MAX
    {
        return Err(InputError(format!(
            "need 1 <= --merchants <= --transactions <= {TRANSACTIONS_MAX}"
        ))
        .into());
    }
    let scratch = match args.engine.as_str() {
        "sqlite" => TestDatabase::sqlite("bench_settle"),
        "postgres" => {
            let base = std::env::var(store::testing::PG_URL_VARIABLE)
                .unwrap_or_else(|_| PG_URL_DEFAULT.into());
            TestDatabase::postgres_at(&base, "bench_settle")
                .with_context(|| format!("PostgreSQL at {base}"))?
        }
        other => {
            return Err(
                InputError(format!("unknown engine {other}: use sqlite or postgres")).into(),
            );
        }
    };
    let mut store = Store::open(scratch.url()).context("opening the bench database")?;
    let mut phases = Phases::default();
    let load_started = Instant::now();
    load(&mut store, &args, &mut phases)?;
    let load_seconds = load_started.elapsed().as_secs_f64();
    let date = BusinessDate::parse(DATE).context("bench date")?;
    // The work the server does during the day (its jobs presum the items
    // as they come): timed apart, not part of the run.
    let presum_started = Instant::now();
    let presum = store.presum_settlement_items(1)?;
    let presum_seconds = presum_started.elapsed().as_secs_f64();
    anyhow::ensure!(
        presum.items == args.transactions as u64,
        "presummed {} items",
        presum.items
    );
    phases.time("warm aggregation", || {
        store.settlement_plain_aggregate(DATE, "T1") // warm the cache for both
    })?;
    // The limit: the fastest of a few plain aggregations (the machine may
    // be shared; the fastest is the least disturbed, and the ratio then
    // errs against the run).
    let mut aggregation = f64::INFINITY;
    let (mut groups, mut items) = (0, 0);
    for _ in 0..AGGREGATION_TRIES {
        let started = Instant::now();
        (groups, items) = store.settlement_plain_aggregate(DATE, "T1")?;
        aggregation = aggregation.min(started.elapsed().as_secs_f64());
    }
    anyhow::ensure!(
        items == args.transactions as u64,
        "aggregated {items} items"
    );
    anyhow::ensure!(
        groups == args.merchants as u64,
        "aggregated {groups} merchants"
    );
    // The run's own reads, alone (not part of the timed run).
    let watermark = store.settlement_items_watermark()?;
    phases.time("(alone) scan of the items (before presums)", || {
        store.settlement_aggregate(DATE, "T1", (0, watermark))
    })?;
    phases.time("(alone) run's aggregation of the partials", || {
        store.settlement_aggregate_presummed(DATE, "T1", (0, watermark))
    })?;
    phases.time("(alone) plan", || {
        host::settlement::plan::Plan::load(&mut store)
    })?;
    // As `posbridge settle` does before its run.
    host::settlement::prepare_store(&mut store)?;
    let started = Instant::now();
    let mut chunk_ends = Vec::new();
    let report = settle(&mut store, date, Cycle::T1, &RunOptions::at(2), &mut |_| {
        chunk_ends.push(started.elapsed().as_secs_f64());
    })?;
    let seconds = started.elapsed().as_secs_f64();
    phases.run(&chunk_ends, seconds);
    let checkpoint_seconds = {
        let started = Instant::now();
        if store.kind() == store::EngineKind::Sqlite {
            store.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        started.elapsed().as_secs_f64()
    };
    phases.push(
        "(after) checkpoint of the run's WAL".into(),
        checkpoint_seconds,
    );
    anyhow::ensure!(
        report.run.items == args.transactions as u64
            && report.run.settlements == args.merchants as u64,
        "the run settled {} items of {} merchants",
        report.run.items,
        report.run.settlements
    );
    let report_ledger = phases.time("(after) ledger verify", || store.verify_ledger())?;
    let ledger_sound = report_ledger.violations.is_empty()
        && report_ledger.debits_total == report_ledger.credits_total;
    let rate = args.transactions as f64 / seconds;
    let ratio = seconds / aggregation;
    if args.json {
        let figures = serde_json::json!({
            "bench": "settle", "engine": args.engine, "transactions": args.transactions,
            "merchants": args.merchants, "seconds": seconds, "transactions_per_second": rate,
            "aggregation_seconds": aggregation, "ratio_to_aggregation": ratio,
            "payouts": report.payouts_created, "load_seconds": load_seconds,
            "presum_seconds": presum_seconds, "presum_ranges": presum.ranges,
            "checkpoint_seconds": checkpoint_seconds,
            "ledger_sound": ledger_sound,
        });
        println!("{figures}");
    } else {
        println!(
            "settle ({}): {} transactions, {} merchants in {seconds:.3} s = {rate:.0} transactions/s; \
             plain aggregation {aggregation:.3} s; ratio {ratio:.2}; {} payouts; load {load_seconds:.1} s; \
             presum {presum_seconds:.1} s",
            args.engine, args.transactions, args.merchants, report.payouts_created
        );
    }
    Ok(())
}

/// Seconds spent in each phase, printed on stderr as each ends (a run of
/// 10 million items takes minutes to load), the run's own when it ends.
#[derive(Default)]
struct Phases(Vec<(String, f64)>);

impl Phases {
    fn time<T>(&mut self, name: &str, phase: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = phase();
        self.push(name.to_owned(), started.elapsed().as_secs_f64());
        out
    }

    fn push(&mut self, name: String, seconds: f64) {
        eprintln!("phase {name}: {seconds:.3} s");
        self.0.push((name, seconds));
    }

    /// The run's phases from the ends of its chunk commits: the first chunk
    /// includes the aggregation and the plan; the rest is the payouts.
    fn run(&mut self, chunk_ends: &[f64], seconds: f64) {
        let mut last = 0.0;
        for (index, end) in chunk_ends.iter().enumerate() {
            let name = if index == 0 {
                "run: aggregation, plan, chunk 1".to_owned()
            } else {
                format!("run: chunk {}", index + 1)
            };
            self.push(name, end - last);
            last = *end;
        }
        self.push("run: payouts and pass end".into(), seconds - last);
    }
}

/// Merchants, accounts, bindings and items.
fn load(store: &mut Store, args: &Args, phases: &mut Phases) -> anyhow::Result<()> {
    phases.time("load merchants", || load_merchants(store, args))?;
    phases.time("load items", || load_items(store, args))
}

fn load_merchants(store: &mut Store, args: &Args) -> anyhow::Result<()> {
    let merchants: Vec<usize> = (0..args.merchants).collect();
    for chunk in merchants.chunks(LOAD_MERCHANTS) {
        let mut accounts = Vec::new();
        let mut records = Vec::new();
        let mut puts = Vec::new();
        for &i in chunk {
            let payable = PAYABLE_BASE + i as u128;
            accounts.push(NewAccount::new(AccountId(payable), LEDGER_CNY, LEDGER_CODE));
            records.push(
                Record::Merchant(MerchantRecord {
                    mid: mid(i),
                    name: format!("Bench merchant {i}"),
                    stage: "live".into(),
                    account: payable,
                    participant: false,
                    mcc: 5814,
                    fee_plan: "STANDARD".into(),
                    cycle: "T1".into(),
                    cutoff_minute: 23 * 60,
                })
                .row(),
            );
            puts.extend(resources(i));
        }
        let api = ApiWrite {
            change: ApiChange::PutResources(puts),
            audit: None,
            idempotency: None,
            only_after_success: false,
        };
        store.write(
            vec![
                WriteOp::CreateAccounts(accounts),
                WriteOp::HostRows(records),
                WriteOp::Api(Box::new(api)),
            ],
            1,
        )?;
    }
    Ok(())
}

fn load_items(store: &mut Store, args: &Args) -> anyhow::Result<()> {
    let merchants = args.merchants;
    let mut items = (0..args.transactions).map(|n| item(n, merchants));
    let loaded = store.load_settlement_items(&mut items)?;
    anyhow::ensure!(loaded == args.transactions as u64, "loaded {loaded} items");
    Ok(())
}

fn resources(i: usize) -> [ResourcePut; 2] {
    let account = format!("ACC-B{i:07}");
    let resource = |kind: &str, id: &str, scope: &str, status: &str, document: String| {
        ResourcePut::create(ResourceRow {
            kind: kind.into(),
            id: id.into(),
            scope: scope.into(),
            status: status.into(),
            version: 1,
            document,
            created_at_ns: 1,
            updated_at_ns: 1,
        })
    };
    let account_document = serde_json::json!({"id": account, "kind": "single",
        "policy": {"binding_approvals_required": 1, "payout_threshold": null, "payout_approvals_required": 0}});
    let binding = format!("BND-B{i:07}");
    let binding_document = serde_json::json!({"id": binding, "mid": mid(i), "terminals": [],
        "splits": [{"account": account, "share_bps": 10_000}], "effective_from": "2026-01-01"});
    [
        resource(
            "account",
            &account,
            &account,
            "open",
            account_document.to_string(),
        ),
        resource(
            "binding",
            &binding,
            &mid(i),
            "approved",
            binding_document.to_string(),
        ),
    ]
}

fn item(n: usize, merchants: usize) -> SettlementItem {
    let refund = n % 10 == 9;
    let amount = 1_000 + (n % 97) as i64 * 100;
    SettlementItem {
        item_id: format!("{n:012}/{}", if refund { "refund" } else { "capture" }),
        mid: mid(n % merchants),
        tid: format!("B{:07}", n % merchants),
        rrn: format!("{n:012}"),
        business_date: DATE.into(),
        cycle: "T1".into(),
        channel: "credit".into(),
        kind: if refund { "refund" } else { "capture" }.into(),
        amount_minor: if refund { -amount / 2 } else { amount },
        fee_minor: if refund { 0 } else { amount * 6 / 1_000 },
        discount_minor: 0,
        fee_share_minor: 0,
        points: 0,
        program: String::new(),
        created_at_ns: 1,
    }
}
