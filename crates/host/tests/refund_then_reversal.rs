//! A reversal of a sale already refunded in part, over real TCP on both
//! engines: it is acknowledged and undoes nothing, so the refunded part is
//! not given back a second time, and the rest of the sale can still be
//! refunded, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;

use capture_support::*;
use iso_support::*;

both_engines!(a_refunded_sale_is_not_reversed_whole);

async fn a_refunded_sale_is_not_reversed_whole(server: TestServer) {
    let mut till = server.client("T0000001").await;
    let before = available(&mut till, DEBIT, MID1).await;
    let sale = till.sale(DEBIT, 10_000, MID1);
    let answer = till.call(&sale).await;
    assert_eq!(answer.code(), "00");
    let rrn = answer.rrn();
    let refund = follow_up(&mut till, "200000", DEBIT, 3_000, MID1, &rrn);
    assert_eq!(till.call(&refund).await.code(), "00");
    assert_eq!(available(&mut till, DEBIT, MID1).await, before - 7_000);

    // Acknowledged (a reversal always is), and nothing comes back.
    let reversal = reversal_of(&mut till, &sale);
    assert_eq!(till.call(&reversal).await.code(), "00");
    assert_eq!(available(&mut till, DEBIT, MID1).await, before - 7_000);

    // The sale stands: what is left of it can be refunded, and no more.
    let refund = follow_up(&mut till, "200000", DEBIT, 7_001, MID1, &rrn);
    assert_eq!(till.call(&refund).await.code(), "13");
    let refund = follow_up(&mut till, "200000", DEBIT, 7_000, MID1, &rrn);
    assert_eq!(till.call(&refund).await.code(), "00");
    assert_eq!(available(&mut till, DEBIT, MID1).await, before);

    let sound = server
        .stop_and(|store| store.verify_ledger().unwrap().violations.is_empty())
        .await;
    assert!(sound);
}
