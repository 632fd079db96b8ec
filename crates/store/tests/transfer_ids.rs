//! Idempotency of transfer ids whatever their order: the writer skips the
//! lookups of ids above every stored id of their region, and must still find
//! every id that exists, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::*;
use store::{Store, WriteOp, WriteOutcome};

use CreateTransferResult as R;

const EUR: LedgerId = LedgerId(978);
const NOW: u64 = 1_700_000_000_000_000_000;
/// An id far above the others (as the seed's funding transfers are).
const HIGH: u128 = (1 << 100) + 5;
/// The last id of the lowest region and the first of the next.
const LOW_LAST: u128 = (1 << 64) - 1;
const NEXT_FIRST: u128 = 1 << 64;

store::on_both_engines!(ids_of_every_region_stay_idempotent);

fn transfer(id: u128) -> NewTransfer {
    NewTransfer::new(TransferId(id), AccountId(1), AccountId(2), 1, EUR, 1)
}

fn transfers(store: &mut Store, ids: &[u128]) -> Vec<CreateTransferResult> {
    let batch = ids.iter().map(|id| transfer(*id)).collect();
    match store
        .write(vec![WriteOp::CreateTransfers(batch)], NOW)
        .unwrap()
        .pop()
    {
        Some(WriteOutcome::Transfers(results)) => results,
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn ids_of_every_region_stay_idempotent(url: &str) {
    let mut store = Store::open(url).unwrap();
    let accounts = (1..=2)
        .map(|id| NewAccount::new(AccountId(id), EUR, 10))
        .collect();
    store
        .write(vec![WriteOp::CreateAccounts(accounts)], NOW)
        .unwrap();
    // The high id first: the lower region is still empty after it.
    assert_eq!(transfers(&mut store, &[HIGH]), [R::Ok]);
    assert_eq!(transfers(&mut store, &[10, HIGH]), [R::Ok, R::Exists]);
    // Each region's largest id is raised by the commits of this store.
    assert_eq!(transfers(&mut store, &[10]), [R::Exists]);
    // Ids below a region's largest are new or found.
    assert_eq!(transfers(&mut store, &[7, HIGH - 1]), [R::Ok, R::Ok]);
    assert_eq!(
        transfers(&mut store, &[7, HIGH - 1, 10, HIGH]),
        [R::Exists; 4]
    );
    // Region boundaries.
    assert_eq!(
        transfers(&mut store, &[NEXT_FIRST, LOW_LAST]),
        [R::Ok, R::Ok]
    );
    assert_eq!(
        transfers(&mut store, &[LOW_LAST, NEXT_FIRST, 11]),
        [R::Exists, R::Exists, R::Ok]
    );
    drop(store);
    // A new writer reads the regions from the database.
    let mut store = Store::open(url).unwrap();
    let all = [7, 10, 11, LOW_LAST, NEXT_FIRST, HIGH - 1, HIGH];
    assert_eq!(transfers(&mut store, &all), [R::Exists; 7]);
    assert_eq!(transfers(&mut store, &[8, 12]), [R::Ok, R::Ok]);
    assert_eq!(transfers(&mut store, &[8, 12]), [R::Exists; 2]);
    let report = store.verify_ledger().unwrap();
    assert_eq!(report.violations, vec![], "{report:?}");
}
