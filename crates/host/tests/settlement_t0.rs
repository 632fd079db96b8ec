//! The T+0 job settles T+0 items within its interval, pass after pass, as
//! they are written through the writer, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "settlement_support.rs"]
mod support;

use std::time::{Duration, Instant};

use host::settlement::t0;
use store::testing::TestDatabase;
use store::{Store, WriteOp, Writer, WriterConfig};
use support::*;

fn wait_for(url: &str, what: &str, done: impl Fn(&mut Store) -> bool) {
    let mut store = Store::open(url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&mut store) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn passes(store: &mut Store) -> u64 {
    store
        .settlement_run("SR-20261124-T0")
        .unwrap()
        .map_or(0, |r| if r.status == "settled" { r.passes } else { 0 })
}

fn t0_items_are_settled_as_they_come(url: &str) {
    let writer = Writer::start(Store::open(url).unwrap(), WriterConfig::default()).unwrap();
    let handle = writer.handle();
    for request in setup() {
        handle.write(request).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let job = runtime.spawn(t0::job(
        url.to_owned(),
        writer.handle(),
        stopped,
        Duration::from_millis(100),
    ));
    // The day's one T+0 item (M1, 999 − 5), then two more later.
    wait_for(url, "the first pass", |s| passes(s) == 1);
    let more = vec![
        item_on(
            "000000000911/capture",
            M1,
            "T0000002",
            "capture",
            3_000,
            18,
            DATE,
            "T0",
        ),
        item_on(
            "000000000912/capture",
            M2,
            "T0000003",
            "capture",
            2_000,
            12,
            DATE,
            "T0",
        ),
    ];
    handle.write(vec![WriteOp::SettlementItems(more)]).unwrap();
    wait_for(url, "the second pass", |s| passes(s) == 2);
    stop.send(true).unwrap();
    runtime.block_on(job).unwrap();
    drop(runtime);
    drop(handle); // the writer stops when every handle is gone
    let mut store = writer.stop().unwrap();
    let settlements = store
        .settlements(&store::SettlementQuery {
            run_id: Some("SR-20261124-T0".into()),
            limit: 10,
            ..store::SettlementQuery::default()
        })
        .unwrap();
    let nets: Vec<(u64, &str, i64)> = settlements
        .iter()
        .map(|s| (s.pass, s.mid.as_str(), s.net_minor))
        .collect();
    assert_eq!(nets, vec![(1, M1, 994), (2, M1, 2_982), (2, M2, 1_988)]);
    assert_eq!(settlements[1].legs[0].account, "ACC-JOINT-1"); // T0000002's binding
    assert!(store.settlement_run("SR-20261124-T1").unwrap().is_none());
    assert!(store.verify_ledger().unwrap().violations.is_empty());
}

#[test]
fn sqlite() {
    let database = TestDatabase::sqlite("t0_job");
    t0_items_are_settled_as_they_come(database.url());
}

#[test]
fn postgres() {
    let Some(database) = TestDatabase::postgres("t0_job") else {
        return;
    };
    t0_items_are_settled_as_they_come(database.url());
}
