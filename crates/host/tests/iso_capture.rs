//! Fees, co-brand points and fee share posted at capture, and the
//! settlement items written with them, over real TCP on both engines. The
//! expected figures are computed here from the sandbox plan and program as
//! sandbox.md states them, not with `domain::fees`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;

use std::time::Duration;

use capture_support::*;
use host::records::Record;
use host::seed::{
    BRAND_PARTNER_ACCOUNT, FEE_REVENUE_ACCOUNT, MERCHANT_ACCOUNT_BASE, points_account,
};
use iso_support::*;
use iso8583::de;
use store::{HostTable, WriteOp};

both_engines!(
    fees_for_every_card_kind_and_boundary,
    refunds_keep_or_return_the_fee_by_the_plan,
    cobrand_discount_points_and_fee_share_and_their_undo,
    reversal_of_a_void_captures_the_fee_again,
);

/// One capture the test expects.
struct Expected {
    rrn: String,
    mid: &'static str,
    tid: &'static str,
    amount: i64,
    fee: i64,
    channel: &'static str,
}

async fn fees_for_every_card_kind_and_boundary(server: TestServer) {
    let start = now_s();
    let cases: [(&str, &str, &str, i64, &str); 13] = [
        ("T0000001", MID1, DEBIT, 99, "debit"),      // 0.495 fen → 0
        ("T0000001", MID1, DEBIT, 100, "debit"),     // 0.5 fen → 1 (half up)
        ("T0000001", MID1, DEBIT, 499_800, "debit"), // 24.99
        ("T0000001", MID1, DEBIT, 499_900, "debit"), // 24.995 → 25.00
        ("T0000003", MID2, MASTERCARD, 500_000, "debit"), // the cap reached at 5,000.00
        ("T0000003", MID2, MASTERCARD, 1_000_000, "debit"), // capped
        ("T0000003", MID2, MASTERCARD, 25, "debit"), // 0.125 → 0
        ("T0000003", MID2, COBRAND, 83, "credit"),   // 0.498 → 0
        ("T0000003", MID2, COBRAND, 84, "credit"),   // 0.504 → 1
        ("T0000003", MID2, VISA, 10_000, "credit"),  // 60
        ("T0000003", MID2, VISA, 8_333, "credit"),   // 49.998 → 50
        ("T0000003", MID2, VISA, 12_345, "credit"),  // 74.07 → 74
        ("T0000003", MID2, VISA, 250, "credit"),     // 1.5 → 2
    ];
    let mut t1 = server.client("T0000001").await;
    let mut t3 = server.client("T0000003").await;
    let mut expected = Vec::new();
    for (tid, mid, pan, amount, channel) in cases {
        let client = if tid == "T0000001" { &mut t1 } else { &mut t3 };
        let sale = client.sale(pan, amount as u64, mid);
        let answer = client.call(&sale).await;
        assert_eq!(answer.code(), "00", "{pan} {amount}");
        expected.push(Expected {
            rrn: answer.rrn(),
            mid,
            tid,
            amount,
            fee: expected_fee(amount, standard_rate(channel)),
            channel,
        });
    }
    let dates = candidate_dates(start);
    let (items, revenue, merchant1, merchant2, report) = server
        .stop_and(move |s| {
            (
                items_of(s, &dates),
                balance(s, FEE_REVENUE_ACCOUNT),
                balance(s, MERCHANT_ACCOUNT_BASE + 1),
                balance(s, MERCHANT_ACCOUNT_BASE + 2),
                s.verify_ledger().unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!(items.len(), expected.len());
    for e in &expected {
        let item = &items[&format!("{}/capture", e.rrn)];
        let cycle = if e.mid == MID1 { "T1" } else { "T0" };
        assert_eq!(
            (
                item.kind.as_str(),
                item.mid.as_str(),
                item.tid.as_str(),
                item.cycle.as_str()
            ),
            ("capture", e.mid, e.tid, cycle)
        );
        assert_eq!(
            (item.amount_minor, item.fee_minor, item.channel.as_str()),
            (e.amount, e.fee, e.channel),
            "{} {}",
            e.channel,
            e.amount
        );
        assert_eq!((item.fee_share_minor, item.discount_minor), (0, 0));
    }
    let fees: i64 = expected.iter().map(|e| e.fee).sum();
    assert_eq!(
        revenue,
        i128::from(fees),
        "every fee is posted to fee revenue"
    );
    let net = |mid: &str| -> i128 {
        expected
            .iter()
            .filter(|e| e.mid == mid)
            .map(|e| i128::from(e.amount - e.fee))
            .sum()
    };
    assert_eq!((merchant1, merchant2), (net(MID1), net(MID2)));
    assert_eq!(expected[3].fee, 2_500);
    assert_eq!(expected[4].fee, 2_500);
}

/// A fee plan with `refund_policy`, debit 0.40% and credit 0.70%.
fn plan_body(code: &str, refund_policy: &str) -> String {
    format!(
        r#"{{"code":"{code}","channels":{{"credit":{{"rate_bps":70}},"debit":{{"rate_bps":40}},
        "wallet_qr":{{"rate_bps":38}},"unionpay_qr":{{"rate_bps":60}}}},
        "refund_policy":"{refund_policy}"}}"#
    )
}

/// Stops the server, gives merchant `mid` the fee plan `code` in the
/// host's records, and starts it again on the same database.
async fn restart_with_plan(
    server: TestServer,
    mid: &'static str,
    code: &'static str,
) -> TestServer {
    let url = server.url.clone();
    server
        .stop_and(move |s| {
            let rows = s.host_rows(HostTable::Merchants).unwrap();
            let (key, body) = rows.iter().find(|(key, _)| key == mid).unwrap();
            let Some(Record::Merchant(mut merchant)) =
                Record::from_row(HostTable::Merchants, key, body)
            else {
                panic!("a merchant row");
            };
            merchant.fee_plan = code.to_owned();
            let row = Record::Merchant(merchant).row();
            s.write(vec![WriteOp::HostRows(vec![row])], 0).unwrap();
        })
        .await;
    TestServer::start_with(TestServer::config(&url)).await
}

async fn refunds_keep_or_return_the_fee_by_the_plan(server: TestServer) {
    let start = now_s();
    // STANDARD keeps the fee.
    let mut t1 = server.client("T0000001").await;
    let sale = t1.sale(DEBIT, 10_000, MID1);
    let kept = t1.call(&sale).await;
    assert_eq!(kept.code(), "00");
    let refund = follow_up(&mut t1, "200000", DEBIT, 4_000, MID1, &kept.rrn());
    let kept_refund = t1.call(&refund).await;
    assert_eq!(kept_refund.code(), "00");
    // MID2 moves to a plan the host does not know yet: captures get 96.
    let server = restart_with_plan(server, MID2, "PROPORTIONAL").await;
    let mut t3 = server.client("T0000003").await;
    let sale = t3.sale(DEBIT, 10_001, MID2);
    assert_eq!(t3.call(&sale).await.code(), "96", "no fee plan, no capture");
    let created = http(
        server.running.http_addr,
        "POST",
        "/v1/fee-plans",
        "sk_sandbox_admin",
        "application/json",
        Some(&plan_body("PROPORTIONAL", "proportional")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // The plan created later is read on the next miss.
    tokio::time::sleep(host::plans::FEE_PLAN_RETRY + Duration::from_millis(200)).await;
    let sale = t3.sale(DEBIT, 10_001, MID2);
    let sold = t3.call(&sale).await;
    assert_eq!(sold.code(), "00");
    let mut refunds = Vec::new();
    for part in [3_333, 6_668] {
        let refund = follow_up(&mut t3, "200000", DEBIT, part, MID2, &sold.rrn());
        let answer = t3.call(&refund).await;
        assert_eq!(answer.code(), "00");
        refunds.push(answer.rrn());
    }
    let dates = candidate_dates(start);
    let (items, revenue, report) = server
        .stop_and(move |s| {
            (
                items_of(s, &dates),
                balance(s, FEE_REVENUE_ACCOUNT),
                s.verify_ledger().unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    let keep = &items[&format!("{}/refund", kept_refund.rrn())];
    assert_eq!((keep.amount_minor, keep.fee_minor), (-4_000, 0), "keep");
    let fee = expected_fee(10_001, (40, None));
    assert_eq!(fee, 40);
    assert_eq!(items[&format!("{}/capture", sold.rrn())].fee_minor, fee);
    let first = cumulative_part(fee, 10_001, 3_333);
    let second = cumulative_part(fee, 10_001, 10_001) - first;
    assert_eq!((first, second), (13, 27));
    let returned: Vec<(i64, i64)> = refunds
        .iter()
        .map(|rrn| {
            let item = &items[&format!("{rrn}/refund")];
            (item.amount_minor, item.fee_minor)
        })
        .collect();
    assert_eq!(returned, [(-3_333, -first), (-6_668, -second)]);
    assert_eq!(revenue, i128::from(50 + fee - first - second));
}

/// The DE 63 the DBCOFFEE program gives, computed from its rules: 10% off
/// (half up, at most 20.00) and 2 points per full 1.00 paid at participating
/// merchants; 1 point elsewhere.
fn benefits(amount: i64, participating: bool, balance: i64) -> (String, i64) {
    let discount = if participating {
        ((amount * 2 + 10) / 20).min(2_000)
    } else {
        0
    };
    let paid = amount - discount;
    let points = paid / 100 * if participating { 2 } else { 1 };
    let field = format!(
        "PROG=DBCOFFEE;DISC={discount:012};PAID={paid:012};PTS={points};BAL={}",
        balance + points
    );
    (field, points)
}

/// The brand partner's 20% of a fee, half up.
fn share(fee: i64) -> i64 {
    (fee * 2 * 2_000 + 10_000) / 20_000
}

async fn cobrand_discount_points_and_fee_share_and_their_undo(server: TestServer) {
    let start = now_s();
    let mut t1 = server.client("T0000001").await;
    let mut balance_points = 500;
    let mut sales = Vec::new();
    for amount in [5_000, 12_345, 3_000] {
        let sale = t1.sale(COBRAND, amount as u64, MID1);
        let answer = t1.call(&sale).await;
        let (field, points) = benefits(amount, true, balance_points);
        assert_eq!(answer.text(de::BENEFITS).unwrap(), field);
        balance_points += points;
        sales.push((sale, answer, amount, points));
    }
    // Void the second sale, reverse the third: their points go back.
    let void = follow_up(&mut t1, "020000", COBRAND, 12_345, MID1, &sales[1].1.rrn());
    let voided = t1.call(&void).await;
    assert_eq!(voided.code(), "00");
    let reversal = reversal_of(&mut t1, &sales[2].0);
    assert_eq!(t1.call(&reversal).await.code(), "00");
    balance_points -= sales[1].3 + sales[2].3;
    // Refund 20.00 of the first (keep): 36 of its 90 points go back.
    let refund = follow_up(&mut t1, "200000", COBRAND, 2_000, MID1, &sales[0].1.rrn());
    let refunded = t1.call(&refund).await;
    assert_eq!(refunded.code(), "00");
    let taken_back = cumulative_part(sales[0].3, 5_000, 2_000);
    assert_eq!(taken_back, 36);
    balance_points -= taken_back;
    // Not participating: no discount, 1 point per 1.00; a refund reversed.
    let mut t3 = server.client("T0000003").await;
    let sale = t3.sale(COBRAND, 1_000, MID2);
    let other = t3.call(&sale).await;
    let (field, points) = benefits(1_000, false, balance_points);
    assert_eq!(other.text(de::BENEFITS).unwrap(), field);
    balance_points += points;
    let refund = follow_up(&mut t3, "200000", COBRAND, 500, MID2, &other.rrn());
    let other_refund = t3.call(&refund).await;
    assert_eq!(other_refund.code(), "00");
    let reversal = reversal_of(&mut t3, &refund);
    assert_eq!(t3.call(&reversal).await.code(), "00");
    let dates = candidate_dates(start);
    let points_account = points_account(card_account(COBRAND));
    let (items, points_ledger, brand, revenue, report) = server
        .stop_and(move |s| {
            (
                items_of(s, &dates),
                balance(s, points_account),
                balance(s, BRAND_PARTNER_ACCOUNT),
                balance(s, FEE_REVENUE_ACCOUNT),
                s.verify_ledger().unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!(
        points_ledger,
        i128::from(balance_points),
        "DE 63 BAL is the points ledger"
    );
    let fee = |amount| expected_fee(amount, standard_rate("credit"));
    let first = &items[&format!("{}/capture", sales[0].1.rrn())];
    assert_eq!(
        (
            first.amount_minor,
            first.fee_minor,
            first.discount_minor,
            first.fee_share_minor,
            first.points
        ),
        (5_000, fee(5_000), 500, share(fee(5_000)), 90)
    );
    assert_eq!(first.program, "DBCOFFEE");
    let void_item = &items[&format!("{}/void", voided.rrn())];
    let second = &items[&format!("{}/capture", sales[1].1.rrn())];
    assert_eq!(
        (
            void_item.amount_minor,
            void_item.fee_minor,
            void_item.discount_minor,
            void_item.fee_share_minor,
            void_item.points
        ),
        (
            -second.amount_minor,
            -second.fee_minor,
            -second.discount_minor,
            -second.fee_share_minor,
            -second.points
        )
    );
    assert_eq!(second.fee_share_minor, share(fee(12_345)));
    let reversed = &items[&format!("{}/reversal", sales[2].1.rrn())];
    assert_eq!(
        (
            reversed.kind.as_str(),
            reversed.amount_minor,
            reversed.points
        ),
        ("void", -3_000, -54)
    );
    let refund_item = &items[&format!("{}/refund", refunded.rrn())];
    assert_eq!(
        (
            refund_item.amount_minor,
            refund_item.fee_minor,
            refund_item.fee_share_minor,
            refund_item.points
        ),
        (-2_000, 0, 0, -36),
        "keep: the fee and its share stay"
    );
    let undone = &items[&format!("{}/reversal", other_refund.rrn())];
    assert_eq!(
        (undone.kind.as_str(), undone.amount_minor, undone.points),
        ("refund", 500, 5)
    );
    // Fee shares in force: the first sale's and the non-participating sale's.
    let shares = share(fee(5_000)) + share(fee(1_000));
    assert_eq!(brand, i128::from(shares));
    assert_eq!(revenue, i128::from(fee(5_000) + fee(1_000) - shares));
    let points: i64 = items.values().map(|i| i.points).sum();
    assert_eq!(
        points,
        balance_points - 500,
        "items carry every point moved"
    );
}

async fn reversal_of_a_void_captures_the_fee_again(server: TestServer) {
    let start = now_s();
    let mut t1 = server.client("T0000001").await;
    let sale = t1.sale(DEBIT, 7_777, MID1);
    let sold = t1.call(&sale).await;
    assert_eq!(sold.code(), "00");
    let void = follow_up(&mut t1, "020000", DEBIT, 7_777, MID1, &sold.rrn());
    let voided = t1.call(&void).await;
    assert_eq!(voided.code(), "00");
    let reversal = reversal_of(&mut t1, &void);
    assert_eq!(t1.call(&reversal).await.code(), "00");
    // The same reversal again changes nothing.
    assert_eq!(t1.call(&reversal).await.code(), "00");
    let dates = candidate_dates(start);
    let (items, revenue, report) = server
        .stop_and(move |s| {
            (
                items_of(s, &dates),
                balance(s, FEE_REVENUE_ACCOUNT),
                s.verify_ledger().unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    let fee = expected_fee(7_777, standard_rate("debit"));
    assert_eq!(fee, 39); // 38.885 → 39
    let figures: Vec<(String, String, i64, i64)> = items
        .values()
        .map(|i| {
            (
                i.item_id.clone(),
                i.kind.clone(),
                i.amount_minor,
                i.fee_minor,
            )
        })
        .collect();
    let mut expected = vec![
        (
            format!("{}/capture", sold.rrn()),
            "capture".to_owned(),
            7_777,
            fee,
        ),
        (
            format!("{}/void", voided.rrn()),
            "void".to_owned(),
            -7_777,
            -fee,
        ),
        (
            format!("{}/reversal", voided.rrn()),
            "capture".to_owned(),
            7_777,
            fee,
        ),
    ];
    expected.sort();
    assert_eq!(figures, expected);
    assert_eq!(
        revenue,
        i128::from(fee),
        "the sale is in force with its fee"
    );
}
