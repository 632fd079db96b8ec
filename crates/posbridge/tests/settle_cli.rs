//! `posbridge settle`: the real binary killed with SIGKILL in the middle of
//! a run, then run again, ends exactly where a clean run ends (settlements,
//! ledger balances, payouts, settlement file), and `ledger verify` passes;
//! bad input exits 2. On both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use host::records::{MerchantRecord, Record};
use host::seed::{LEDGER_CNY, LEDGER_CODE};
use ledger::{AccountId, NewAccount};
use serde_json::json;
use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceQuery, ResourceRow};
use store::testing::TestDatabase;
use store::{SettlementItem, SettlementQuery, Store, WriteOp};

const MERCHANTS: usize = 120;
const ITEMS_PER_MERCHANT: usize = 5;
const CHUNK: &str = "10";
const DATE: &str = "2026-11-24";

fn mid(i: usize) -> String {
    format!("8{i:014}")
}

fn resource(
    kind: &str,
    id: &str,
    scope: &str,
    status: &str,
    document: serde_json::Value,
) -> ResourcePut {
    ResourcePut::create(ResourceRow {
        kind: kind.into(),
        id: id.into(),
        scope: scope.into(),
        status: status.into(),
        version: 1,
        document: document.to_string(),
        created_at_ns: 1,
        updated_at_ns: 1,
    })
}

/// Merchants with a payable account, a host record, and a binding split
/// 50/50 between their own account and a shared one; every seventh has a
/// negative day.
fn prepare(url: &str) {
    let mut store = Store::open(url).unwrap();
    let mut accounts = Vec::new();
    let mut records = Vec::new();
    let mut puts = vec![resource(
        "account",
        "ACC-SHARED",
        "ACC-SHARED",
        "open",
        json!({"id": "ACC-SHARED", "policy": {"payout_threshold": {"amount_minor": 100_000, "currency": "CNY"}, "payout_approvals_required": 1}}),
    )];
    let mut items = Vec::new();
    for i in 0..MERCHANTS {
        let payable = 10_000 + i as u128;
        accounts.push(NewAccount::new(AccountId(payable), LEDGER_CNY, LEDGER_CODE));
        records.push(
            Record::Merchant(MerchantRecord {
                mid: mid(i),
                name: mid(i),
                stage: "live".into(),
                account: payable,
                participant: false,
                mcc: 5411,
                fee_plan: "STANDARD".into(),
                cycle: "T1".into(),
                cutoff_minute: 23 * 60,
            })
            .row(),
        );
        let own = format!("ACC-M{i:04}");
        puts.push(resource(
            "account",
            &own,
            &own,
            "open",
            json!({"id": own, "policy": {"payout_threshold": null}}),
        ));
        puts.push(resource("binding", &format!("BND-{i:04}"), &mid(i), "approved", json!({"mid": mid(i),
            "terminals": [], "effective_from": "2026-11-01",
            "splits": [{"account": own, "share_bps": 5_000}, {"account": "ACC-SHARED", "share_bps": 5_000}]})));
        for k in 0..ITEMS_PER_MERCHANT {
            let negative = i % 7 == 0 && k == 0;
            let amount = if negative {
                -90_000
            } else {
                1_000 + (i * 37 + k * 11) as i64
            };
            items.push(SettlementItem {
                item_id: format!("{i:06}{k:06}/x"),
                mid: mid(i),
                tid: format!("T{i:07}"),
                rrn: format!("{i:06}{k:06}"),
                business_date: DATE.into(),
                cycle: "T1".into(),
                channel: "debit".into(),
                kind: if negative { "refund" } else { "capture" }.into(),
                amount_minor: amount,
                fee_minor: if negative { 0 } else { amount * 5 / 1_000 },
                discount_minor: 0,
                fee_share_minor: 0,
                points: 0,
                program: String::new(),
                created_at_ns: 1,
            });
        }
    }
    let api = ApiWrite {
        change: ApiChange::PutResources(puts),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    store
        .write(
            vec![
                WriteOp::CreateAccounts(accounts),
                WriteOp::HostRows(records),
                WriteOp::Api(Box::new(api)),
            ],
            1,
        )
        .unwrap();
    store
        .write(vec![WriteOp::SettlementItems(items)], 1)
        .unwrap();
}

fn posbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(args)
        .output()
        .unwrap()
}

/// What a run leaves: settlements, balances, payouts.
type Outcome = (
    Vec<store::Settlement>,
    Vec<(u128, u64, u64)>,
    Vec<(String, String, String)>,
);

fn outcome(url: &str) -> Outcome {
    let mut store = Store::open(url).unwrap();
    let settlements = store
        .settlements(&SettlementQuery {
            limit: 1_000,
            ..SettlementQuery::default()
        })
        .unwrap();
    let balances = store
        .accounts()
        .unwrap()
        .iter()
        .map(|a| (a.id.0, a.debits_posted, a.credits_posted))
        .collect();
    let payouts = store
        .resources(&ResourceQuery {
            kind: "payout".into(),
            limit: 1_000,
            ..ResourceQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| {
            let document: serde_json::Value = serde_json::from_str(&p.document).unwrap();
            (p.id, p.status, document["amount"].to_string())
        })
        .collect();
    (settlements, balances, payouts)
}

fn settle_args<'a>(url: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "settle",
        "--date",
        DATE,
        "--cycle",
        "T1",
        "--db",
        url,
        "--out",
        out,
        "--chunk-merchants",
        CHUNK,
    ]
}

fn killed_run_finishes_like_a_clean_one(url: &str, reference_url: &str) {
    prepare(url);
    prepare(reference_url);
    let dir = tempdir("settle-out");
    let (clean_dir, killed_dir) = (dir.join("clean"), dir.join("killed"));
    std::fs::create_dir_all(&clean_dir).unwrap();
    std::fs::create_dir_all(&killed_dir).unwrap();
    let clean = posbridge(&settle_args(reference_url, clean_dir.to_str().unwrap()));
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    let mut args = settle_args(url, killed_dir.to_str().unwrap());
    args.extend(["--pause-ms", "40"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Killed after the fifth chunk's commit, while the run is half done.
    let mut seen = 0;
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("progress ") {
            seen += 1;
            if seen == 5 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert_eq!(seen, 5);
    {
        let mut store = Store::open(url).unwrap();
        let run = store.settlement_run("SR-20261124-T1").unwrap().unwrap();
        assert_eq!(run.status, "running");
        assert!(
            run.settlements >= 50 && run.settlements < MERCHANTS as u64,
            "{}",
            run.settlements
        );
    }
    let again = posbridge(&settle_args(url, killed_dir.to_str().unwrap()));
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let (killed, reference) = (outcome(url), outcome(reference_url));
    assert_eq!(killed.0.len(), MERCHANTS);
    assert_eq!(
        killed
            .0
            .iter()
            .filter(|s| s.outcome == "auto_debit")
            .count(),
        MERCHANTS.div_ceil(7)
    );
    assert_eq!(killed, reference);
    let file = |d: &std::path::Path| std::fs::read_to_string(d.join("SR-20261124-T1.csv")).unwrap();
    assert_eq!(file(&killed_dir), file(&clean_dir));
    assert_eq!(
        file(&clean_dir).lines().count(),
        1 + 2 * MERCHANTS - MERCHANTS.div_ceil(7)
    );
    // Once more: nothing changes.
    let third = posbridge(&settle_args(url, killed_dir.to_str().unwrap()));
    assert!(
        String::from_utf8_lossy(&third.stdout)
            .contains("0 pass(es) finished, 0 settlements, 0 payouts")
    );
    assert_eq!(outcome(url), reference);
    let verify = posbridge(&["ledger", "verify", "--db", url]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "posbridge-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn sqlite_killed_run_finishes_like_a_clean_one() {
    let (a, b) = (
        TestDatabase::sqlite("settle_killed"),
        TestDatabase::sqlite("settle_clean"),
    );
    killed_run_finishes_like_a_clean_one(a.url(), b.url());
}

#[test]
fn postgres_killed_run_finishes_like_a_clean_one() {
    let (Some(a), Some(b)) = (
        TestDatabase::postgres("settle_killed"),
        TestDatabase::postgres("settle_clean"),
    ) else {
        return;
    };
    killed_run_finishes_like_a_clean_one(a.url(), b.url());
}

#[test]
fn bad_input_exits_2_and_changes_nothing() {
    let database = TestDatabase::sqlite("settle_bad");
    prepare(database.url());
    let dir = tempdir("settle-bad");
    let file = dir.join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let missing = format!("sqlite:{}", dir.join("none.db").display());
    let cases: [&[&str]; 5] = [
        &["settle", "--date", "2026-13-01", "--db", database.url()],
        &[
            "settle",
            "--date",
            DATE,
            "--cycle",
            "T5",
            "--db",
            database.url(),
        ],
        &["settle", "--date", DATE, "--db", &missing],
        &[
            "settle",
            "--date",
            DATE,
            "--db",
            database.url(),
            "--out",
            file.to_str().unwrap(),
        ],
        &["settle", "--db", database.url()],
    ];
    for args in cases {
        let output = posbridge(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(!dir.join("none.db").exists());
    let mut store = Store::open(database.url()).unwrap();
    assert!(store.settlement_run("SR-20261124-T1").unwrap().is_none());
    std::fs::remove_dir_all(dir).unwrap();
}
