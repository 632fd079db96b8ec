//! Settlement items commit with their request's transfers, once each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::{AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferId};
use store::{SettlementItem, Store, WriteOp, WriteOutcome};

const CNY: LedgerId = LedgerId(156);

fn item(item_id: &str, amount_minor: i64) -> SettlementItem {
    SettlementItem {
        item_id: item_id.into(),
        mid: "100000000000001".into(),
        tid: "T0000001".into(),
        rrn: item_id.split('/').next().unwrap_or_default().into(),
        business_date: "2026-11-24".into(),
        cycle: "T1".into(),
        channel: "credit".into(),
        kind: "capture".into(),
        amount_minor,
        fee_minor: amount_minor * 6 / 1000,
        discount_minor: 0,
        fee_share_minor: 0,
        points: 0,
        program: String::new(),
        created_at_ns: 9,
    }
}

fn transfer(id: u128, amount: u64) -> NewTransfer {
    NewTransfer::new(TransferId(id), AccountId(1), AccountId(2), amount, CNY, 1)
}

fn items_follow_their_transfers(url: &str) {
    let mut store = Store::open(url).unwrap();
    store
        .write(
            vec![WriteOp::CreateAccounts(vec![
                NewAccount::new(AccountId(1), CNY, 1),
                NewAccount::new(AccountId(2), CNY, 1),
            ])],
            1,
        )
        .unwrap();
    let outcomes = store
        .execute(
            vec![
                vec![
                    WriteOp::CreateTransfers(vec![transfer(10, 500)]),
                    WriteOp::SettlementItems(vec![item("000000000001/capture", 500)]),
                ],
                // The same item again: skipped, the first is kept.
                vec![WriteOp::SettlementItems(vec![item(
                    "000000000001/capture",
                    999,
                )])],
                // A failed transfer (unknown account) keeps its items out.
                vec![
                    WriteOp::CreateTransfers(vec![NewTransfer::new(
                        TransferId(11),
                        AccountId(1),
                        AccountId(99),
                        5,
                        CNY,
                        1,
                    )]),
                    WriteOp::SettlementItems(vec![item("000000000002/capture", 5)]),
                ],
                // An item over the length limit is refused with its request.
                vec![WriteOp::SettlementItems(vec![item(&"9".repeat(65), 1)])],
            ],
            2,
        )
        .unwrap();
    assert_eq!(
        outcomes[0],
        [
            WriteOutcome::Transfers(vec![CreateTransferResult::Ok]),
            WriteOutcome::SettlementItems(true),
        ]
    );
    assert_eq!(outcomes[1], [WriteOutcome::SettlementItems(true)]);
    assert_eq!(outcomes[2][1], WriteOutcome::SettlementItems(false));
    assert_eq!(outcomes[3], [WriteOutcome::SettlementItems(false)]);
    let stored = store.settlement_items_of("2026-11-24").unwrap();
    assert_eq!(stored, [item("000000000001/capture", 500)]);
    assert!(store.settlement_items_of("2026-11-25").unwrap().is_empty());
}

/// A bulk load writes every item once (an existing id is kept), in one
/// transaction: a bad item anywhere leaves nothing of the load, and the
/// date index is there again either way.
fn bulk_load_is_all_or_nothing(url: &str) {
    let mut store = Store::open(url).unwrap();
    store
        .write(
            vec![WriteOp::SettlementItems(vec![item(
                "000000000003/capture",
                777,
            )])],
            1,
        )
        .unwrap();
    // More than one statement's worth, with one id that exists.
    let count = 4_321;
    let mut items = (0..count).map(|n| {
        let mut it = item(&format!("{n:012}/capture"), 100 + n as i64);
        it.mid = format!("1000000000{:05}", n % 7);
        it
    });
    assert_eq!(
        store.load_settlement_items(&mut items).unwrap(),
        count as u64
    );
    let stored = store.settlement_items_of("2026-11-24").unwrap();
    assert_eq!(stored.len(), count);
    assert_eq!(stored[0], item("000000000003/capture", 777));
    let total: i64 = stored.iter().map(|i| i.amount_minor).sum();
    let expected: i64 = (0..count as i64)
        .filter(|n| *n != 3)
        .map(|n| 100 + n)
        .sum::<i64>()
        + 777;
    assert_eq!(total, expected);
    let sums = store
        .settlement_aggregate("2026-11-24", "T1", (0, i64::MAX))
        .unwrap();
    assert_eq!(sums.len(), 7);
    assert_eq!(sums.iter().map(|a| a.amount_minor).sum::<i64>(), expected);
    // A bad item at the end: nothing of this load is kept.
    let mut bad = (0..2_500).map(|n| {
        let id = if n == 2_499 {
            "9".repeat(65)
        } else {
            format!("{n:012}/refund")
        };
        item(&id, 1)
    });
    assert!(store.load_settlement_items(&mut bad).is_err());
    assert_eq!(
        store.settlement_items_of("2026-11-24").unwrap().len(),
        count
    );
    // The store still writes and aggregates (the index is back).
    let mut more = std::iter::once(item("000000999999/capture", 5));
    assert_eq!(store.load_settlement_items(&mut more).unwrap(), 1);
    assert_eq!(
        store
            .settlement_plain_aggregate("2026-11-24", "T1")
            .unwrap(),
        (7, count as u64 + 1)
    );
}

store::on_both_engines!(items_follow_their_transfers, bulk_load_is_all_or_nothing);
