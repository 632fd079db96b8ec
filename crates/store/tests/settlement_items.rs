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

store::on_both_engines!(items_follow_their_transfers);
