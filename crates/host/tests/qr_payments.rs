//! QR payments and sandbox issuer cards against the real server (HTTP and
//! ISO 8583 over TCP), on both engines: consumer-presented wallet and
//! UnionPay QR payments captured with the plan's fee, declines that move
//! nothing, merchant-presented orders paid once, settlement items, the
//! ledger verified, a card issued through the API used by a real terminal
//! sale, 422 on bad bodies, and no clear payment code, PAN or PIN in any
//! answer, record, resource or audit event. Expected fees are computed
//! here from sandbox.md's rates (wallet QR 0.38%, UnionPay QR 0.60%).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;
mod merchants_support;

use std::time::Duration;

use capture_support::{balance, candidate_dates, expected_fee, items_of, now_s, standard_rate};
use host::qr::WALLET_NETWORK_ACCOUNT;
use host::seed::{FEE_REVENUE_ACCOUNT, MERCHANT_ACCOUNT_BASE, NETWORK_ACCOUNT};
use iso_support::{MID1, TestServer};
use merchants_support::*;
use serde_json::{Value, json};
use store::HostTable;
use store::api::ResourceQuery;
use terminal::card::{Card, EntryMode};

both_engines!(
    wallet_and_unionpay_payments_capture_with_the_plan_fee,
    orders_are_paid_once,
    bad_bodies_are_422_and_change_nothing,
    an_issued_card_sells_on_a_real_terminal,
);

const WALLET_CODE: &str = "281234567890123456";
const UNIONPAY_CODE: &str = "6212345678901234567";
const ISSUED_PAN: &str = "6217009999999995";
const COBRAND_PAN: &str = "6225889999999990";

fn payment(code: &str, amount: i64, tid: Option<&str>) -> String {
    let mut body = json!({"mid": MID1, "amount": {"amount_minor": amount, "currency": "CNY"},
        "payment_code": code, "order_reference": "till-42"});
    if let Some(tid) = tid {
        body["tid"] = json!(tid);
    }
    body.to_string()
}

/// Every host row, resource document of the QR and card kinds, and the
/// audit log, as one text to search for secrets.
fn everything_stored(store: &mut store::Store) -> String {
    let mut text = String::new();
    for table in HostTable::ALL {
        for (key, body) in store.host_rows(table).unwrap() {
            text.push_str(&format!("{key} {body}\n"));
        }
    }
    for kind in ["qr-payment", "qr-order", "issuer-card"] {
        let query = ResourceQuery {
            kind: kind.to_owned(),
            scope: None,
            status: None,
            after_id: String::new(),
            limit: 1_000,
        };
        for row in store.resources(&query).unwrap() {
            text.push_str(&row.document);
        }
    }
    text
}

/// code, amount, tid, status, reason, channel.
type Case = (
    &'static str,
    i64,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    &'static str,
);

async fn wallet_and_unionpay_payments_capture_with_the_plan_fee(server: TestServer) {
    let start = now_s();
    let http = Http(server.running.http_addr);
    let cases: [Case; 5] = [
        (WALLET_CODE, 12_345, None, "approved", None, "wallet_qr"),
        (
            UNIONPAY_CODE,
            10_000,
            Some("T0000001"),
            "approved",
            None,
            "unionpay_qr",
        ),
        (
            WALLET_CODE,
            10_051,
            None,
            "declined",
            Some("insufficient_funds"),
            "wallet_qr",
        ),
        (
            UNIONPAY_CODE,
            205,
            None,
            "declined",
            Some("declined"),
            "unionpay_qr",
        ),
        (
            WALLET_CODE,
            99,
            Some("T0000002"),
            "approved",
            None,
            "wallet_qr",
        ),
    ];
    let mut approved = Vec::new();
    for (code, amount, tid, status, reason, channel) in cases {
        let reply = http
            .post("/v1/qr/payments", MERCHANT_1, &payment(code, amount, tid))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert!(!reply.text.contains(code), "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["status"], status, "{amount}");
        assert_eq!(body["reason"], json!(reason), "{amount}");
        assert_eq!(body["channel"], channel, "{amount}");
        assert_eq!(
            body["payment_code_masked"],
            format!(
                "{}{}{}",
                &code[..4],
                "*".repeat(code.len() - 8),
                &code[code.len() - 4..]
            )
        );
        let fee = if status == "approved" {
            expected_fee(amount, standard_rate(channel))
        } else {
            0
        };
        assert_eq!(body["fee"]["amount_minor"], fee, "{amount}");
        assert_eq!(body["id"].as_str().unwrap().len(), 12);
        if status == "approved" {
            approved.push((
                body["id"].as_str().unwrap().to_owned(),
                amount,
                fee,
                channel,
            ));
        }
    }
    // A repeat with the same Idempotency-Key replays; nothing is captured twice.
    let key = [("Idempotency-Key", "qr-repeat-1")];
    let body = payment(WALLET_CODE, 700, None);
    let first = http
        .send_with(
            "POST",
            "/v1/qr/payments",
            Some(MERCHANT_1),
            Some(&body),
            &key,
        )
        .await;
    let again = http
        .send_with(
            "POST",
            "/v1/qr/payments",
            Some(MERCHANT_1),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!((first.status, again.status), (201, 201));
    assert_eq!(first.json(), again.json());
    approved.push((
        first.json()["id"].as_str().unwrap().to_owned(),
        700,
        3,
        "wallet_qr",
    ));
    assert_eq!(expected_fee(700, standard_rate("wallet_qr")), 3);
    let audit = http.get("/v1/audit?limit=500", ADMIN).await;
    assert!(!audit.text.contains(WALLET_CODE) && !audit.text.contains(UNIONPAY_CODE));
    let dates = candidate_dates(start);
    let (items, balances, report, stored) = server
        .stop_and(move |s| {
            let balances = [
                MERCHANT_ACCOUNT_BASE + 1,
                FEE_REVENUE_ACCOUNT,
                WALLET_NETWORK_ACCOUNT,
                NETWORK_ACCOUNT,
            ]
            .map(|id| balance(s, id));
            (
                items_of(s, &dates),
                balances,
                s.verify_ledger().unwrap(),
                everything_stored(s),
            )
        })
        .await;
    assert!(
        report.violations.is_empty() && report.transfers > 0,
        "{report:?}"
    );
    assert!(!stored.contains(WALLET_CODE) && !stored.contains(UNIONPAY_CODE));
    let wallet: i64 = approved
        .iter()
        .filter(|a| a.3 == "wallet_qr")
        .map(|a| a.1)
        .sum();
    let unionpay: i64 = approved
        .iter()
        .filter(|a| a.3 == "unionpay_qr")
        .map(|a| a.1)
        .sum();
    let fees: i64 = approved.iter().map(|a| a.2).sum();
    assert_eq!(
        balances,
        [
            i128::from(wallet + unionpay - fees),
            i128::from(fees),
            -i128::from(wallet),
            -i128::from(unionpay)
        ]
    );
    assert_eq!(
        items.len(),
        approved.len(),
        "declines write no item: {items:?}"
    );
    for (rrn, amount, fee, channel) in approved {
        let item = &items[&format!("{rrn}/capture")];
        assert_eq!(
            (
                item.amount_minor,
                item.fee_minor,
                item.channel.as_str(),
                item.kind.as_str()
            ),
            (amount, fee, channel, "capture")
        );
        assert_eq!(item.mid, MID1);
    }
}

async fn orders_are_paid_once(server: TestServer) {
    let start = now_s();
    let http = Http(server.running.http_addr);
    let order = |amount: i64| {
        json!({"mid": MID1, "tid": "T0000001", "amount": {"amount_minor": amount, "currency": "CNY"},
            "order_reference": "table 7"})
        .to_string()
    };
    let created = http.post("/v1/qr/orders", MERCHANT_1, &order(8_800)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json()["status"], "pending");
    assert_eq!(created.json()["payload"], format!("posbridge:qr:v1:{id}"));
    let path = format!("/v1/qr/orders/{id}");
    assert_eq!(http.get(&path, MERCHANT_2).await.status, 404);
    let pay = format!("{path}/pay");
    assert_eq!(http.post(&pay, MERCHANT_1, "{}").await.status, 403);
    let paid = http.post(&pay, ADMIN, r#"{"channel":"unionpay_qr"}"#).await;
    assert_eq!(paid.status, 201, "{}", paid.text);
    let payment = paid.json();
    assert_eq!(payment["status"], "approved");
    assert_eq!(payment["order"], id.as_str());
    let fee = expected_fee(8_800, standard_rate("unionpay_qr"));
    assert_eq!(payment["fee"]["amount_minor"], fee);
    let read = http.get(&path, MERCHANT_1).await.json();
    assert_eq!(read["status"], "paid");
    assert_eq!(read["payment"]["id"], payment["id"]);
    assert_eq!(read["version"], 2);
    let twice = http.post(&pay, ADMIN, "{}").await;
    assert_eq!(twice.status, 409, "{}", twice.text);
    // Two notifications at once: exactly one pays.
    let racing = http.post("/v1/qr/orders", MERCHANT_1, &order(4_200)).await;
    let racing_pay = format!(
        "/v1/qr/orders/{}/pay",
        racing.json()["id"].as_str().unwrap()
    );
    let (a, b) = tokio::join!(
        http.post(&racing_pay, ADMIN, "{}"),
        http.post(&racing_pay, ADMIN, "{}")
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} {}", a.text, b.text);
    let racing_fee = expected_fee(4_200, standard_rate("wallet_qr"));
    // A declined notification ends the order too.
    let declined = http.post("/v1/qr/orders", ADMIN, &order(1_051)).await;
    let declined_id = declined.json()["id"].as_str().unwrap().to_owned();
    let declined_pay = format!("/v1/qr/orders/{declined_id}/pay");
    let answer = http.post(&declined_pay, ADMIN, "{}").await.json();
    assert_eq!(
        (answer["status"].as_str(), answer["reason"].as_str()),
        (Some("declined"), Some("insufficient_funds"))
    );
    let read = http
        .get(&format!("/v1/qr/orders/{declined_id}"), ADMIN)
        .await;
    assert_eq!(read.json()["status"], "declined");
    assert_eq!(http.post(&declined_pay, ADMIN, "{}").await.status, 409);
    let rrn = payment["id"].as_str().unwrap().to_owned();
    let dates = candidate_dates(start);
    let (items, merchant, network, report) = server
        .stop_and(move |s| {
            (
                items_of(s, &dates),
                balance(s, MERCHANT_ACCOUNT_BASE + 1),
                balance(s, NETWORK_ACCOUNT),
                s.verify_ledger().unwrap(),
            )
        })
        .await;
    assert!(
        report.violations.is_empty() && report.transfers > 0,
        "{report:?}"
    );
    assert_eq!(items.len(), 2, "{items:?}");
    let item = &items[&format!("{rrn}/capture")];
    assert_eq!((item.amount_minor, item.fee_minor), (8_800, fee));
    assert_eq!(item.tid, "T0000001");
    assert_eq!(
        (merchant, network),
        (i128::from(8_800 - fee + 4_200 - racing_fee), -8_800)
    );
}

/// Per case: path, key, body, and the fields the 422 names.
const INVALID: &[(&str, &str, &str, &[&str])] = &[
    (
        "/v1/qr/payments",
        MERCHANT_1,
        r#"{"mid":"1","tid":"t","amount":{"amount_minor":0,"currency":"USD"},"payment_code":"12345"}"#,
        &[
            "mid",
            "tid",
            "amount.currency",
            "amount.amount_minor",
            "payment_code",
        ],
    ),
    (
        "/v1/qr/payments",
        MERCHANT_1,
        r#"{"mid":"100000000000001","amount":{"amount_minor":100,"currency":"CNY"},"payment_code":281234567890123456}"#,
        &["payment_code"],
    ),
    (
        "/v1/qr/payments",
        MERCHANT_2,
        r#"{"mid":"100000000000001","amount":{"amount_minor":100,"currency":"CNY"},"payment_code":"281234567890123456"}"#,
        &["mid"],
    ),
    (
        "/v1/qr/payments",
        ADMIN,
        r#"{"mid":"100000000000001","tid":"T0000003","amount":{"amount_minor":100,"currency":"CNY"},"payment_code":"2812345678901234567890123"}"#,
        &["payment_code"],
    ),
    (
        "/v1/qr/payments",
        ADMIN,
        r#"{"mid":"100000000000001","tid":"T0000003","amount":{"amount_minor":100,"currency":"CNY"},"payment_code":"281234567890123456"}"#,
        &["tid"],
    ),
    (
        "/v1/qr/payments",
        ADMIN,
        r#"{"mid":"100000000000999","amount":{"amount_minor":100,"currency":"CNY"},"payment_code":"281234567890123456"}"#,
        &["mid"],
    ),
    (
        "/v1/qr/orders",
        MERCHANT_1,
        r#"{"mid":"100000000000001","amount":{"amount_minor":-5,"currency":"CNY"},"expires_in_s":5}"#,
        &["amount.amount_minor", "expires_in_s"],
    ),
    (
        "/v1/issuer/cards",
        ADMIN,
        r#"{"pan":"6217009999999996","expiry":"3013","pin":"12","balance":{"amount_minor":1,"currency":"CNY"}}"#,
        &["pan", "expiry", "pin"],
    ),
    (
        "/v1/issuer/cards",
        ADMIN,
        r#"{"pan":"4761739001010010","expiry":"3012","pin":"1234"}"#,
        &["pan"],
    ),
    (
        "/v1/issuer/cards",
        ADMIN,
        r#"{"pan":"6225889999999990","expiry":"3012","pin":"1234","balance":{"amount_minor":1,"currency":"CNY"},"program":"OTHER"}"#,
        &["balance", "limit", "program"],
    ),
    (
        "/v1/issuer/cards",
        ADMIN,
        r#"{"pan":6217009999999995,"expiry":"3012","pin":1234,"balance":{"amount_minor":1,"currency":"CNY"},"status":"frozen"}"#,
        &["pan", "pin", "status"],
    ),
];

async fn bad_bodies_are_422_and_change_nothing(server: TestServer) {
    let http = Http(server.running.http_addr);
    for (path, key, body, fields) in INVALID {
        let reply = http.post(path, key, body).await;
        assert_eq!(&reply.fields(), fields, "{path} {body}: {}", reply.text);
        for secret in ["281234567890123456", "6217009999999995", "1234\""] {
            assert!(!reply.text.contains(secret), "{}", reply.text);
        }
    }
    let (stored, transactions) = server
        .stop_and(|s| {
            (
                everything_stored(s),
                s.host_rows(HostTable::Transactions).unwrap().len(),
            )
        })
        .await;
    assert_eq!(transactions, 0);
    assert!(!stored.contains("qr-payment") && !stored.contains("62170099"));
}

async fn an_issued_card_sells_on_a_real_terminal(server: TestServer) {
    let http = Http(server.running.http_addr);
    let address = server.running.iso_addr;
    let card = json!({"pan": ISSUED_PAN, "expiry": "3012", "pin": "4321",
        "balance": {"amount_minor": 50_000, "currency": "CNY"}})
    .to_string();
    assert_eq!(
        http.post("/v1/issuer/cards", MERCHANT_1, &card)
            .await
            .status,
        403
    );
    let issued = http.post("/v1/issuer/cards", ADMIN, &card).await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    assert!(!issued.text.contains(ISSUED_PAN) && !issued.text.contains("4321"));
    let body: Value = issued.json();
    assert_eq!(body["masked_pan"], "621700******9995");
    assert_eq!(body["product"], "debit");
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        http.post("/v1/issuer/cards", ADMIN, &card).await.status,
        409
    );
    let cobrand = json!({"pan": COBRAND_PAN, "expiry": "2912", "pin": "9876",
        "limit": {"amount_minor": 100_000, "currency": "CNY"}, "program": "DBCOFFEE"});
    let cobrand = http
        .post("/v1/issuer/cards", ADMIN, &cobrand.to_string())
        .await;
    assert_eq!(cobrand.status, 201, "{}", cobrand.text);
    assert_eq!(
        (
            cobrand.json()["product"].as_str(),
            cobrand.json()["program"].as_str()
        ),
        (Some("credit"), Some("DBCOFFEE"))
    );
    let codes = blocking(move || {
        let mut pos = pos(
            address,
            "T0000001",
            MID1,
            "FFFF9876543210E00000",
            Duration::from_secs(10),
        );
        let card = Card::new(ISSUED_PAN, "3012").unwrap();
        let pin = |digits| cardsec::Pin::new(digits).unwrap();
        let mut codes = Vec::new();
        for (digits, amount) in [("4321", 2_000), ("1111", 100), ("4321", 60_000)] {
            let outcome = sale(
                &mut pos,
                &card,
                EntryMode::Swipe,
                Some(&pin(digits)),
                amount,
            );
            codes.push(outcome.response_code.unwrap_or_default());
        }
        codes
    })
    .await;
    assert_eq!(codes, ["00", "55", "51"]);
    let (stored, report, accounts) = server
        .stop_and(|s| {
            let accounts = s.accounts().unwrap();
            (everything_stored(s), s.verify_ledger().unwrap(), accounts)
        })
        .await;
    assert!(
        report.violations.is_empty() && report.transfers > 0,
        "{report:?}"
    );
    assert!(!stored.contains(ISSUED_PAN) && !stored.contains(COBRAND_PAN));
    let base = host::api::ISSUED_CARD_ACCOUNT_BASE;
    let balance_of = |id: u128| {
        accounts
            .iter()
            .find(|a| a.id.0 == id)
            .map(|a| i128::from(a.credits_posted) - i128::from(a.debits_posted))
    };
    assert_eq!(balance_of(base + 1), Some(48_000));
    assert_eq!(balance_of(base + 2), Some(100_000));
    assert_eq!(balance_of(host::seed::points_account(base + 2)), Some(0));
}
