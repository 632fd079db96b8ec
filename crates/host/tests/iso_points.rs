//! Points redemption as part payment over real TCP on both engines: cards
//! issued through the sandbox API set to pay with points, sales at a
//! participating merchant redeeming them (DE 63 exact), a void and a
//! reversal giving everything back, a partial refund giving points back in
//! proportion, no redemption at a non-participating merchant or for a card
//! with the choice off, and the sandbox cards unchanged. Every expected
//! figure is computed here from sandbox.md's DBCOFFEE rules (10% off, half
//! up, at most 20.00; 2 points per full 1.00 paid at participating
//! merchants, 1 elsewhere) and 1 point = 0.01, not with `domain::benefits`;
//! the ledgers are read from the store after the server stops.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;

use capture_support::*;
use host::api::ISSUED_CARD_ACCOUNT_BASE;
use host::seed::{MERCHANT_ACCOUNT_BASE, POINTS_ISSUANCE_ACCOUNT, PROGRAM_ACCOUNT, points_account};
use iso_support::*;
use iso8583::de;
use serde_json::json;

both_engines!(
    redeeming_cards_pay_with_points_and_get_them_back,
    reversals_of_a_void_and_of_a_refund_redeem_again,
    issuing_asks_for_a_cobrand_card,
);

const ADMIN: &str = "sk_sandbox_admin";
/// Co-brand test cards (BIN 622588, Luhn-valid).
const CARD_A: &str = "6225887777770013";
const CARD_B: &str = "6225887777770021";
const CARD_C: &str = "6225887777770039";
const CARD_D: &str = "6225887777770047";
const LIMIT: i64 = 100_000;

/// What a DBCOFFEE sale gives, computed from the program's published rules:
/// (DISC, points redeemed, PAID, PTS earned).
fn expected_sale(amount: i64, participating: bool, offered: i64) -> (i64, i64, i64, i64) {
    let discount = if participating {
        ((amount * 2 + 10) / 20).min(2_000)
    } else {
        0
    };
    let redeemed = if participating {
        offered.min(amount - discount)
    } else {
        0
    };
    let paid = amount - discount - redeemed;
    let points = paid / 100 * if participating { 2 } else { 1 };
    (discount, redeemed, paid, points)
}

fn de63(discount: i64, paid: i64, points: i64, balance: i64) -> String {
    format!("PROG=DBCOFFEE;DISC={discount:012};PAID={paid:012};PTS={points};BAL={balance}")
}

async fn issue(server: &TestServer, pan: &str, points: i64, redeem: bool) {
    let body = json!({"pan": pan, "expiry": "3012", "pin": "1234",
        "limit": {"amount_minor": LIMIT, "currency": "CNY"},
        "points": points, "redeem_points": redeem})
    .to_string();
    let addr = server.running.http_addr;
    let reply = http(
        addr,
        "POST",
        "/v1/issuer/cards",
        ADMIN,
        "application/json",
        Some(&body),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["redeem_points"], redeem);
    assert_eq!(answer["points"], points);
    assert!(!reply.body.contains(pan));
}

/// Sells `amount` and checks the answer's DE 63; returns the request and RRN.
async fn sell(
    client: &mut Client,
    pan: &str,
    amount: i64,
    mid: &str,
    field: &str,
) -> (iso8583::MessageBuilder, String) {
    let sale = client.sale(pan, amount as u64, mid);
    let answer = client.call(&sale).await;
    assert_eq!(answer.code(), "00", "{pan} {amount}");
    assert_eq!(answer.text(de::BENEFITS).unwrap(), field, "{pan} {amount}");
    (sale, answer.rrn())
}

async fn redeeming_cards_pay_with_points_and_get_them_back(server: TestServer) {
    // A: 10.00 of points, fewer than a sale; B: 50.00 of points, more than
    // a sale; C: points but the choice off.
    issue(&server, CARD_A, 1_000, true).await;
    issue(&server, CARD_B, 5_000, true).await;
    issue(&server, CARD_C, 800, false).await;
    let mut t1 = server.client("T0000001").await; // participating merchant
    let mut t3 = server.client("T0000003").await; // not participating
    let (mut points_a, mut points_b, mut points_c) = (1_000, 5_000, 800);

    // A, 50.00: 5.00 off, all 10.00 of points, 35.00 charged, 70 earned.
    let (discount, redeemed, paid, earned) = expected_sale(5_000, true, points_a);
    assert_eq!((discount, redeemed, paid, earned), (500, 1_000, 3_500, 70));
    let after = points_a - redeemed + earned;
    let (_, first_a) = sell(&mut t1, CARD_A, 5_000, MID1, &de63(500, 3_500, 70, after)).await;
    assert_eq!(available(&mut t1, CARD_A, MID1).await, LIMIT - paid);
    // Its void gives back the money and the points, and takes the 70.
    let void = follow_up(&mut t1, "020000", CARD_A, 5_000, MID1, &first_a);
    assert_eq!(t1.call(&void).await.code(), "00");
    assert_eq!(available(&mut t1, CARD_A, MID1).await, LIMIT);

    // B, 20.00: 2.00 off, the other 18.00 wholly in points, nothing charged.
    let (discount, redeemed, paid, earned) = expected_sale(2_000, true, points_b);
    assert_eq!((discount, redeemed, paid, earned), (200, 1_800, 0, 0));
    points_b -= redeemed;
    let (sale_b, _) = sell(&mut t1, CARD_B, 2_000, MID1, &de63(200, 0, 0, points_b)).await;
    assert_eq!(available(&mut t1, CARD_B, MID1).await, LIMIT);
    // B at a merchant outside the program: no discount, no redemption.
    let (discount, redeemed, paid_b, earned) = expected_sale(3_000, false, points_b);
    assert_eq!((discount, redeemed, paid_b, earned), (0, 0, 3_000, 30));
    points_b += earned;
    sell(&mut t3, CARD_B, 3_000, MID2, &de63(0, 3_000, 30, points_b)).await;
    // The reversal of B's first sale gives its 18.00 of points back.
    let reversal = reversal_of(&mut t1, &sale_b);
    assert_eq!(t1.call(&reversal).await.code(), "00");
    points_b += 1_800;

    // C has points but pays with money: discount and points as ever.
    let (discount_c, redeemed, paid_c, earned) = expected_sale(1_000, true, 0);
    assert_eq!((discount_c, redeemed, paid_c, earned), (100, 0, 900, 18));
    points_c += earned;
    sell(&mut t1, CARD_C, 1_000, MID1, &de63(100, 900, 18, points_c)).await;

    // A again, 80.00, its points back after the void: 8.00 off, 10.00 in
    // points, 62.00 charged, 124 earned.
    let (discount_a, redeemed_a, paid_a, earned_a) = expected_sale(8_000, true, points_a);
    assert_eq!(
        (discount_a, redeemed_a, paid_a, earned_a),
        (800, 1_000, 6_200, 124)
    );
    points_a += earned_a - redeemed_a;
    let field = de63(discount_a, paid_a, earned_a, points_a);
    let (_, second_a) = sell(&mut t1, CARD_A, 8_000, MID1, &field).await;
    // Refund 40.00 of it: half the points (500) and their value go back,
    // the rest (35.00) to the card; half the points earned (62) are taken.
    let refund = follow_up(&mut t1, "200000", CARD_A, 4_000, MID1, &second_a);
    assert_eq!(t1.call(&refund).await.code(), "00");
    let points_back = cumulative_part(redeemed_a, 8_000, 4_000);
    let value_back = points_back; // 1 point = 0.01
    let earned_back = cumulative_part(earned_a, 8_000, 4_000);
    assert_eq!((points_back, earned_back), (500, 62));
    let card_back = (4_000 - value_back).min(paid_a);
    let program_back = 4_000 - value_back - card_back;
    assert_eq!((card_back, program_back), (3_500, 0));
    points_a += points_back - earned_back;
    let available_a = LIMIT - paid_a + card_back;
    assert_eq!(available(&mut t1, CARD_A, MID1).await, available_a);

    // The sandbox co-brand card keeps paying with money.
    sell(&mut t1, COBRAND, 3_800, MID1, &de63(380, 3_420, 68, 568)).await;

    let card = |n: u128| ISSUED_CARD_ACCOUNT_BASE + n;
    let sandbox_points = points_account(card_account(COBRAND));
    let (balances, report) = server
        .stop_and(move |s| {
            let ids = [
                card(1),
                card(2),
                card(3),
                points_account(card(1)),
                points_account(card(2)),
                points_account(card(3)),
                sandbox_points,
                PROGRAM_ACCOUNT,
                POINTS_ISSUANCE_ACCOUNT,
                MERCHANT_ACCOUNT_BASE + 1,
            ];
            let balances: Vec<i128> = ids.iter().map(|id| balance(s, *id)).collect();
            (balances, s.verify_ledger().unwrap())
        })
        .await;
    assert!(
        report.violations.is_empty() && report.transfers > 0,
        "{report:?}"
    );
    let [a, b, c, pa, pb, pc, sandbox, program, issuance, merchant] =
        <[i128; 10]>::try_from(balances).unwrap();
    // The cards were charged what they paid only.
    assert_eq!(
        (a, b, c),
        (
            i128::from(available_a),
            i128::from(LIMIT - paid_b),
            i128::from(LIMIT - paid_c)
        )
    );
    assert_eq!((points_a, points_b, points_c), (562, 5_030, 818));
    assert_eq!(
        (pa, pb, pc, sandbox),
        (
            i128::from(points_a),
            i128::from(points_b),
            i128::from(points_c),
            568
        ),
        "DE 63 BAL is the points ledger"
    );
    // Issuance gave every card point (the sandbox card's 500 included).
    assert_eq!(issuance, -(pa + pb + pc + sandbox));
    // The program funded the discounts and the points redeemed in force.
    let funded = discount_a + redeemed_a - value_back - program_back + discount_c + 380;
    assert_eq!(program, -i128::from(funded));
    // The merchant was credited every full amount in force, less its fees
    // (the plan keeps the fee of a refund).
    let fee = |amount| expected_fee(amount, standard_rate("credit"));
    let credited = 8_000 - 4_000 + 1_000 + 3_800 - fee(8_000) - fee(1_000) - fee(3_800);
    assert_eq!(merchant, i128::from(credited));
}

async fn reversals_of_a_void_and_of_a_refund_redeem_again(server: TestServer) {
    issue(&server, CARD_D, 2_000, true).await;
    let mut t1 = server.client("T0000001").await;
    // 30.00: 3.00 off, 20.00 in points, 7.00 charged, 14 earned.
    let (discount, redeemed, paid, earned) = expected_sale(3_000, true, 2_000);
    assert_eq!((discount, redeemed, paid, earned), (300, 2_000, 700, 14));
    let mut points = 2_000 - redeemed + earned;
    let (_, rrn) = sell(&mut t1, CARD_D, 3_000, MID1, &de63(300, 700, 14, points)).await;
    let void = follow_up(&mut t1, "020000", CARD_D, 3_000, MID1, &rrn);
    assert_eq!(t1.call(&void).await.code(), "00");
    assert_eq!(available(&mut t1, CARD_D, MID1).await, LIMIT);
    // The void reversed: the sale is in force again, its points redeemed again.
    let reversal = reversal_of(&mut t1, &void);
    assert_eq!(t1.call(&reversal).await.code(), "00");
    assert_eq!(available(&mut t1, CARD_D, MID1).await, LIMIT - paid);
    // Refund 15.00: 1 000 points back, 5.00 to the card, 7 points taken.
    let refund = follow_up(&mut t1, "200000", CARD_D, 1_500, MID1, &rrn);
    assert_eq!(t1.call(&refund).await.code(), "00");
    let (points_back, earned_back) = (
        cumulative_part(redeemed, 3_000, 1_500),
        cumulative_part(earned, 3_000, 1_500),
    );
    assert_eq!((points_back, earned_back), (1_000, 7));
    assert_eq!(
        available(&mut t1, CARD_D, MID1).await,
        LIMIT - paid + (1_500 - points_back)
    );
    // A 20.00 sale spends every point the card has, those given back too.
    let during = points + points_back - earned_back;
    let (next_discount, next_redeemed, next_paid, next_earned) = expected_sale(2_000, true, during);
    assert_eq!(
        (next_discount, next_redeemed, next_paid, next_earned),
        (200, 1_007, 793, 14)
    );
    points = during - next_redeemed + next_earned;
    sell(&mut t1, CARD_D, 2_000, MID1, &de63(200, 793, 14, points)).await;
    // The refund reversed: its money goes as before it and its 7 points
    // come back, but the 1 000 points it gave were spent: only what the
    // balance holds (14) is taken, never below zero.
    let reversal = reversal_of(&mut t1, &refund);
    assert_eq!(t1.call(&reversal).await.code(), "00");
    points = points + earned_back - points.min(points_back);
    assert_eq!(points, 7);
    let charged = paid + next_paid;
    assert_eq!(available(&mut t1, CARD_D, MID1).await, LIMIT - charged);
    let account = ISSUED_CARD_ACCOUNT_BASE + 1;
    let (balances, report) = server
        .stop_and(move |s| {
            let ids = [
                account,
                points_account(account),
                PROGRAM_ACCOUNT,
                MERCHANT_ACCOUNT_BASE + 1,
            ];
            let balances: Vec<i128> = ids.iter().map(|id| balance(s, *id)).collect();
            (balances, s.verify_ledger().unwrap())
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    let fee = |amount| expected_fee(amount, standard_rate("credit"));
    assert_eq!(
        balances,
        [
            i128::from(LIMIT - charged),
            i128::from(points),
            -i128::from(discount + redeemed + next_discount + next_redeemed),
            i128::from(3_000 - fee(3_000) + 2_000 - fee(2_000))
        ]
    );
}

async fn issuing_asks_for_a_cobrand_card(server: TestServer) {
    let addr = server.running.http_addr;
    let debit = json!({"pan": "6217007777770018", "expiry": "3012", "pin": "1234",
        "balance": {"amount_minor": 1_000, "currency": "CNY"},
        "points": 5, "redeem_points": true})
    .to_string();
    let reply = http(
        addr,
        "POST",
        "/v1/issuer/cards",
        ADMIN,
        "application/json",
        Some(&debit),
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let fields: Vec<String> = reply.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(fields, ["points", "redeem_points"], "{}", reply.body);
    assert!(!reply.body.contains("6217007777770018"));
    // Without the new fields a co-brand card neither has points nor redeems.
    let plain = json!({"pan": CARD_A, "expiry": "3012", "pin": "1234",
        "limit": {"amount_minor": LIMIT, "currency": "CNY"}})
    .to_string();
    let reply = http(
        addr,
        "POST",
        "/v1/issuer/cards",
        ADMIN,
        "application/json",
        Some(&plain),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        (&reply.json()["points"], &reply.json()["redeem_points"]),
        (&json!(0), &json!(false))
    );
    let mut t1 = server.client("T0000001").await;
    sell(&mut t1, CARD_A, 5_000, MID1, &de63(500, 4_500, 90, 90)).await;
    let (transactions, report) = server
        .stop_and(|s| {
            (
                s.host_rows(store::HostTable::Transactions).unwrap().len(),
                s.verify_ledger().unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!(transactions, 1, "the refused card left no trace");
}
