//! Runs over presummed items settle exactly as runs over the items alone,
//! on both engines: a presum covering part of the day (the pass reads the
//! tail raw), a run stopped between chunks and resumed, a late item
//! presummed in a range straddling the first pass's end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "settlement_support.rs"]
mod support;

use domain::BusinessDate;
use domain::settlement::Cycle;
use host::settlement::{RunOptions, presum, settle};
use store::api::ResourceQuery;
use store::{Settlement, SettlementQuery, Store, WriteOp};
use support::*;

fn options(chunk: usize, stop_after_commits: Option<usize>) -> RunOptions {
    RunOptions {
        chunk_merchants: chunk,
        stop_after_commits,
        ..RunOptions::at(1_767_225_600_000_000_000)
    }
}

/// Everything a run leaves: settlements with legs, ledger balances,
/// payouts.
type Outcome = (
    Vec<Settlement>,
    Vec<(u128, u64, u64)>,
    Vec<(String, String)>,
);

fn outcome(store: &mut Store) -> Outcome {
    let settlements = store
        .settlements(&SettlementQuery {
            limit: 500,
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
            limit: 100,
            ..ResourceQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.document))
        .collect();
    (settlements, balances, payouts)
}

/// The scripted day in two halves, a first run, a late item, a second
/// run; `presums` says whether the items are presummed on the way.
fn day(url: &str, presums: bool) -> Outcome {
    let date = BusinessDate::parse(DATE).unwrap();
    let mut store = Store::open(url).unwrap();
    let mut requests = setup();
    let Some(WriteOp::SettlementItems(all)) = requests.pop().and_then(|mut r| r.pop()) else {
        panic!("the setup ends with the items");
    };
    for request in requests {
        store.write(request, 1).unwrap();
    }
    let half = all.len() / 2;
    store
        .write(vec![WriteOp::SettlementItems(all[..half].to_vec())], 1)
        .unwrap();
    if presums {
        let report = presum(&mut store, 2).unwrap();
        assert_eq!(report.items, half as u64);
    }
    store
        .write(vec![WriteOp::SettlementItems(all[half..].to_vec())], 1)
        .unwrap();
    // Stopped after a chunk, resumed: both read the first half's range and
    // the second half raw.
    let stopped = settle(
        &mut store,
        date,
        Cycle::T1,
        &options(1, Some(1)),
        &mut |_| {},
    );
    assert!(stopped.is_err());
    let first = settle(&mut store, date, Cycle::T1, &options(1, None), &mut |_| {}).unwrap();
    assert_eq!(first.run.passes, 1);
    let late = item("000000000105/capture", M1, "T0000002", "capture", 4_000, 24);
    store
        .write(vec![WriteOp::SettlementItems(vec![late])], 1)
        .unwrap();
    if presums {
        presum(&mut store, 4).unwrap();
        let ranges = store.settlement_presum_ranges().unwrap();
        assert!(
            ranges
                .iter()
                .any(|r| r.from_seq < first.run.covered_seq && r.to_seq > first.run.covered_seq)
        );
    }
    let second = settle(&mut store, date, Cycle::T1, &options(2, None), &mut |_| {}).unwrap();
    assert_eq!((second.run.passes, second.settlements_written), (2, 1));
    assert!(store.verify_ledger().unwrap().violations.is_empty());
    outcome(&mut store)
}

fn presummed_runs_settle_as_the_items_do(url: &str) {
    let reference = {
        let database = if url.starts_with("postgres") {
            store::testing::TestDatabase::postgres("presum_reference").unwrap()
        } else {
            store::testing::TestDatabase::sqlite("presum_reference")
        };
        day(database.url(), false)
    };
    let presummed = day(url, true);
    assert!(!reference.0.is_empty());
    assert_eq!(presummed, reference);
}

store::on_both_engines!(presummed_runs_settle_as_the_items_do);
