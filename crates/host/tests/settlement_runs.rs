//! Settlement runs over a scripted day, on both engines: exact nets and
//! splits, payouts and approvals, auto-debit, risk hold, unbound
//! merchants, idempotent re-runs, late items, a run stopped between chunks
//! and resumed, the ledger verified after all of it, the settlement file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "settlement_support.rs"]
mod support;

use std::collections::BTreeMap;

use domain::BusinessDate;
use domain::settlement::Cycle;
use host::settlement::documents::{CSV_HEADER, csv_lines};
use host::settlement::{RunOptions, SettleError, clearing_account, settle};
use ledger::AccountId;
use store::api::ResourceQuery;
use store::{Settlement, SettlementQuery, Store, WriteOp};
use support::*;

fn date() -> BusinessDate {
    BusinessDate::parse(DATE).unwrap()
}

fn prepared(url: &str) -> Store {
    let mut store = Store::open(url).unwrap();
    for request in setup() {
        store.write(request, 1).unwrap();
    }
    store
}

fn options(chunk: usize) -> RunOptions {
    RunOptions {
        chunk_merchants: chunk,
        ..RunOptions::at(1_767_225_600_000_000_000)
    }
}

fn all_settlements(store: &mut Store) -> Vec<Settlement> {
    store
        .settlements(&SettlementQuery {
            limit: 500,
            ..SettlementQuery::default()
        })
        .unwrap()
}

fn legs_of(settlements: &[Settlement]) -> BTreeMap<(String, String, String), i64> {
    let mut legs = BTreeMap::new();
    for s in settlements {
        for leg in &s.legs {
            let key = (s.mid.clone(), leg.account.clone(), leg.kind.clone());
            *legs.entry(key).or_insert(0) += leg.amount_minor;
        }
    }
    legs
}

fn scripted_day_settles_exactly(url: &str) {
    let mut store = prepared(url);
    let report = settle(&mut store, date(), Cycle::T1, &options(2), &mut |_| {}).unwrap();
    assert_eq!(report.run.run_id, "SR-20261124-T1");
    assert_eq!(
        (report.run.status.as_str(), report.run.passes),
        ("settled", 1)
    );
    let settlements = all_settlements(&mut store);
    let items = items();
    let outcomes: Vec<(&str, &str, i64)> = settlements
        .iter()
        .map(|s| (s.mid.as_str(), s.outcome.as_str(), s.net_minor))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (M1, "payout", net_of(&items, M1, None)),
            (M2, "auto_debit", net_of(&items, M2, None)),
            (M3, "held", net_of(&items, M3, None)),
            (M4, "unbound", net_of(&items, M4, None)),
            (M5, "no_ledger_account", net_of(&items, M5, None)),
        ]
    );
    assert_eq!(legs_of(&settlements), expected_legs(&items));
    // Items of the T+0 cycle and of another date are not in the run.
    let m1 = &settlements[0];
    assert_eq!(m1.items, 5);
    assert_eq!(
        m1.sums.captures_minor,
        100_000 + 250_001 - 5_000 + 6_000_000
    );
    assert_eq!(m1.sums.refunds_minor, 20_000);
    assert_eq!(settlements[1].sums.chargebacks_minor, 3_000);
    assert_eq!(report.run.items, 12);

    // Payouts: one per account and kind; the joint account's is above its
    // threshold and waits for one owner's approval.
    let payouts = store
        .resources(&ResourceQuery {
            kind: "payout".into(),
            limit: 100,
            ..ResourceQuery::default()
        })
        .unwrap();
    let statuses: Vec<(&str, &str)> = payouts
        .iter()
        .map(|p| (p.id.as_str(), p.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("PO-20261124-T1-1-ACC-A1", "approved"),
            ("PO-20261124-T1-1-ACC-B1", "approved"),
            ("PO-20261124-T1-1-ACC-H3-H", "held"),
            ("PO-20261124-T1-1-ACC-JOINT-1", "awaiting_approval"),
            ("PO-20261124-T1-1-ACC-RENT-9", "approved"),
            ("PO-20261124-T1-1-ACC-SINGLE-2-D", "approved"),
        ]
    );
    let joint: serde_json::Value = serde_json::from_str(&payouts[3].document).unwrap();
    let joint_net = net_of(&items, M1, Some("T0000002"));
    assert_eq!(joint["amount"]["amount_minor"], joint_net);
    assert_eq!(joint["approval_id"], "AP-PO-20261124-T1-1-ACC-JOINT-1");
    let approval = store
        .resource("approval", "AP-PO-20261124-T1-1-ACC-JOINT-1")
        .unwrap()
        .unwrap();
    assert_eq!(
        (approval.scope.as_str(), approval.status.as_str()),
        ("ACC-JOINT-1", "pending")
    );
    let approval: serde_json::Value = serde_json::from_str(&approval.document).unwrap();
    assert_eq!(approval["subject_kind"], "payout");
    assert_eq!(approval["subject_id"], "PO-20261124-T1-1-ACC-JOINT-1");
    assert_eq!(approval["required"], 1);

    // Ledger: payables → clearing; the auto-debit comes back to M2.
    let clearing = store
        .account(AccountId(clearing_account("ACC-JOINT-1")))
        .unwrap()
        .unwrap();
    assert_eq!(clearing.credits_posted, u64::try_from(joint_net).unwrap());
    let m2 = store.account(AccountId(payable(2))).unwrap().unwrap();
    assert_eq!(
        i64::try_from(m2.credits_posted).unwrap(),
        -net_of(&items, M2, None)
    );
    let m1 = store.account(AccountId(payable(1))).unwrap().unwrap();
    assert_eq!(
        i64::try_from(m1.debits_posted).unwrap(),
        net_of(&items, M1, None)
    );
    let report = store.verify_ledger().unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);

    // The settlement file.
    let mut csv = String::from(CSV_HEADER);
    for s in &settlements {
        csv_lines(s, &mut csv);
    }
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "business_date,cycle,mid,account,gross_minor,refunds_minor,fees_minor,net_minor,share_minor,kind,payout_id,status"
    );
    assert_eq!(lines.len(), 1 + 4 + 1 + 1 + 2 + 1); // header, M1 ×4, M2, M3, M4, M5, final ""
    assert!(lines.contains(&"2026-11-24,T1,100000000000002,ACC-SINGLE-2,10000,50000,60,-43060,-43060,debit,PO-20261124-T1-1-ACC-SINGLE-2-D,approved"));
    assert!(lines.contains(&"2026-11-24,T1,100000000000003,ACC-H3,70000,0,420,70080,70080,held,PO-20261124-T1-1-ACC-H3-H,held"));
    assert!(lines.contains(&"2026-11-24,T1,100000000000004,,1000,0,6,994,0,,,unbound"));
    let joint_line = format!(
        "2026-11-24,T1,100000000000001,ACC-JOINT-1,6345001,20000,38070,{},{joint_net},credit,PO-20261124-T1-1-ACC-JOINT-1,awaiting_approval",
        net_of(&items, M1, None)
    );
    assert!(lines.contains(&joint_line.as_str()), "{csv}");
}

fn rerun_changes_nothing_and_late_items_get_a_pass(url: &str) {
    let mut store = prepared(url);
    let first = settle(&mut store, date(), Cycle::T1, &options(10), &mut |_| {}).unwrap();
    let transfers_before = count_transfers(&mut store);
    let again = settle(&mut store, date(), Cycle::T1, &options(10), &mut |_| {}).unwrap();
    assert_eq!(again.run, first.run);
    assert_eq!(
        (
            again.passes_finished,
            again.settlements_written,
            again.payouts_created
        ),
        (0, 0, 0)
    );
    assert_eq!(count_transfers(&mut store), transfers_before);
    // A late capture of the settled date: a second pass settles only it.
    let late = item("000000000105/capture", M1, "T0000002", "capture", 4_000, 24);
    store
        .write(vec![WriteOp::SettlementItems(vec![late])], 1)
        .unwrap();
    let top_up = settle(&mut store, date(), Cycle::T1, &options(10), &mut |_| {}).unwrap();
    assert_eq!((top_up.run.passes, top_up.settlements_written), (2, 1));
    let second = store
        .settlements(&SettlementQuery {
            run_id: Some("SR-20261124-T1".into()),
            mid: Some(M1.into()),
            limit: 10,
            ..SettlementQuery::default()
        })
        .unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!((second[1].pass, second[1].net_minor), (2, 3_976));
    let payout = store
        .resource("payout", "PO-20261124-T1-2-ACC-JOINT-1")
        .unwrap()
        .unwrap();
    assert_eq!(payout.status, "approved");
    assert!(store.verify_ledger().unwrap().violations.is_empty());
}

fn count_transfers(store: &mut Store) -> u64 {
    store
        .accounts()
        .unwrap()
        .iter()
        .map(|a| a.debits_posted)
        .sum()
}

fn stopped_run_resumes_to_the_same_result(url: &str) {
    // The reference: a clean run on a second database of the same engine.
    let reference = {
        let database = if url.starts_with("postgres") {
            store::testing::TestDatabase::postgres("resume_reference").unwrap()
        } else {
            store::testing::TestDatabase::sqlite("resume_reference")
        };
        let mut store = prepared(database.url());
        settle(&mut store, date(), Cycle::T1, &options(1), &mut |_| {}).unwrap();
        let settlements = all_settlements(&mut store);
        let balances = balances(&mut store);
        (settlements, balances, payouts_of(&mut store))
    };
    let mut store = prepared(url);
    let mut stop = options(1);
    stop.stop_after_commits = Some(2);
    let error = settle(&mut store, date(), Cycle::T1, &stop, &mut |_| {}).unwrap_err();
    assert!(matches!(error, SettleError::Stopped(2)), "{error}");
    let halfway = store.settlement_run("SR-20261124-T1").unwrap().unwrap();
    assert_eq!(
        (halfway.status.as_str(), halfway.pass_done_mid.as_str()),
        ("running", M2)
    );
    assert_eq!(all_settlements(&mut store).len(), 2);
    assert!(payouts_of(&mut store).is_empty());
    // Stopped again one chunk later, then finished.
    let mut stop = options(1);
    stop.stop_after_commits = Some(1);
    settle(&mut store, date(), Cycle::T1, &stop, &mut |_| {}).unwrap_err();
    let done = settle(&mut store, date(), Cycle::T1, &options(1), &mut |_| {}).unwrap();
    assert_eq!((done.run.status.as_str(), done.run.passes), ("settled", 1));
    assert_eq!(done.run.settlements, 5);
    assert_eq!(all_settlements(&mut store), reference.0);
    assert_eq!(balances(&mut store), reference.1);
    assert_eq!(payouts_of(&mut store), reference.2);
    assert!(store.verify_ledger().unwrap().violations.is_empty());
    stopped_among_payouts_resumes_to_the_same_result(url, &reference.2);
}

/// A pass stopped after some of its payouts committed ahead of its final
/// commit (one payout per commit) is finished by the next call: each
/// payout once, as a clean run makes them.
fn stopped_among_payouts_resumes_to_the_same_result(
    url: &str,
    reference: &[(String, String, String)],
) {
    assert!(reference.len() >= 3, "{reference:?}");
    let database = if url.starts_with("postgres") {
        store::testing::TestDatabase::postgres("resume_payouts").unwrap()
    } else {
        store::testing::TestDatabase::sqlite("resume_payouts")
    };
    let mut store = prepared(database.url());
    let mut stop = options(2);
    stop.payouts_per_commit = 1;
    // Three chunks of at most two merchants, then two payouts.
    stop.stop_after_commits = Some(5);
    let error = settle(&mut store, date(), Cycle::T1, &stop, &mut |_| {}).unwrap_err();
    assert!(matches!(error, SettleError::Stopped(5)), "{error}");
    let halfway = store.settlement_run("SR-20261124-T1").unwrap().unwrap();
    assert_eq!(halfway.status, "running");
    assert_eq!(payouts_of(&mut store), reference[..2]);
    let mut per_payout = options(2);
    per_payout.payouts_per_commit = 1;
    let done = settle(&mut store, date(), Cycle::T1, &per_payout, &mut |_| {}).unwrap();
    assert_eq!((done.run.status.as_str(), done.run.passes), ("settled", 1));
    assert_eq!(payouts_of(&mut store), reference);
    assert!(store.verify_ledger().unwrap().violations.is_empty());
}

fn balances(store: &mut Store) -> Vec<(u128, u64, u64)> {
    let accounts = store.accounts().unwrap();
    accounts
        .iter()
        .map(|a| (a.id.0, a.debits_posted, a.credits_posted))
        .collect()
}

fn payouts_of(store: &mut Store) -> Vec<(String, String, String)> {
    store
        .resources(&ResourceQuery {
            kind: "payout".into(),
            limit: 100,
            ..ResourceQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| {
            let document: serde_json::Value = serde_json::from_str(&p.document).unwrap();
            (p.id, p.status, document["amount"].to_string())
        })
        .collect()
}

fn an_empty_day_makes_an_empty_run(url: &str) {
    let mut store = prepared(url);
    let day = BusinessDate::parse("2026-12-01").unwrap();
    let report = settle(&mut store, day, Cycle::T0, &options(10), &mut |_| {}).unwrap();
    assert_eq!(
        (
            report.run.status.as_str(),
            report.run.passes,
            report.run.settlements
        ),
        ("settled", 0, 0)
    );
    assert!(all_settlements(&mut store).is_empty());
}

/// A store prepared for settlement on its own connection leaves the WAL to
/// be checkpointed later: the files as they are when the run returns (a
/// crash then) hold the whole run, and the ledger is sound.
#[test]
fn a_run_on_a_prepared_store_is_whole_in_its_files_before_any_checkpoint() {
    let database = store::testing::TestDatabase::sqlite("prepared_run");
    let path = database.url().strip_prefix("sqlite:").unwrap().to_owned();
    let mut store = prepared(database.url());
    host::settlement::prepare_store(&mut store).unwrap();
    let report = settle(&mut store, date(), Cycle::T1, &options(2), &mut |_| {}).unwrap();
    assert_eq!(
        (report.run.status.as_str(), report.run.settlements),
        ("settled", 5)
    );
    let expected = (
        all_settlements(&mut store),
        balances(&mut store),
        payouts_of(&mut store),
    );
    // Copied while the store is open: no close has checkpointed the WAL.
    let copy = store::testing::TestDatabase::sqlite("prepared_run_copy");
    let copy_path = copy.url().strip_prefix("sqlite:").unwrap().to_owned();
    std::fs::copy(&path, &copy_path).unwrap();
    let wal = std::fs::read(format!("{path}-wal")).unwrap();
    assert!(!wal.is_empty(), "the run's commits are in the WAL");
    std::fs::write(format!("{copy_path}-wal"), wal).unwrap();
    drop(store);
    let mut reopened = Store::open(copy.url()).unwrap();
    let run = reopened.settlement_run("SR-20261124-T1").unwrap().unwrap();
    assert_eq!((run.status.as_str(), run.settlements), ("settled", 5));
    assert_eq!(all_settlements(&mut reopened), expected.0);
    assert_eq!(balances(&mut reopened), expected.1);
    assert_eq!(payouts_of(&mut reopened), expected.2);
    let ledger = reopened.verify_ledger().unwrap();
    assert!(ledger.violations.is_empty() && ledger.debits_total == ledger.credits_total);
}

store::on_both_engines!(
    scripted_day_settles_exactly,
    rerun_changes_nothing_and_late_items_get_a_pass,
    stopped_run_resumes_to_the_same_result,
    an_empty_day_makes_an_empty_run,
);
