//! Reconciliation over real traffic on both engines: the simulated
//! network's clearing file agrees with the host; an edited one gives every
//! kind of clearing exception; a 0500 out of balance gives a batch
//! exception; all listed by `GET /v1/reconciliation/exceptions`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;

use capture_support::*;
use domain::AmountMinor;
use host::reconcile::{
    ClearingLine, format_clearing, parse_clearing, reconcile, simulated_clearing,
};
use host::state::HostState;
use iso_support::*;
use iso8583::de;

both_engines!(clearing_and_batch_exceptions_are_listed);

/// The network's date of now: the local calendar date (UTC+8).
fn network_date() -> domain::BusinessDate {
    domain::settlement::business_date(now_s(), 8 * 3600, 24 * 60).unwrap()
}

async fn clearing_and_batch_exceptions_are_listed(server: TestServer) {
    let date = network_date();
    let mut t3 = server.client("T0000003").await;
    let mut rrns = Vec::new();
    for (pan, amount) in [
        (VISA, 10_000),
        (MASTERCARD, 2_000),
        (VISA, 3_000),
        (DEBIT, 700),
    ] {
        let sale = t3.sale(pan, amount, MID2);
        let answer = t3.call(&sale).await;
        assert_eq!(answer.code(), "00");
        rrns.push(answer.rrn());
    }
    let refund = follow_up(&mut t3, "200000", MASTERCARD, 500, MID2, &rrns[1]);
    let refunded = t3.call(&refund).await;
    assert_eq!(refunded.code(), "00");
    let void = follow_up(&mut t3, "020000", VISA, 3_000, MID2, &rrns[2]);
    assert_eq!(t3.call(&void).await.code(), "00");
    // A 0500 the host's totals disagree with.
    let mut close = t3.base("0500");
    close.set_text(de::PROCESSING_CODE, "920000").unwrap();
    close.set_text(de::MERCHANT_ID, MID2).unwrap();
    close.set_text(de::BATCH_NUMBER, "000001").unwrap();
    for (field, value) in [(74, 9), (76, 0), (86, 99_999), (88, 0)] {
        close.set_number(field, value).unwrap();
    }
    assert_eq!(t3.call(&close).await.code(), "95");
    let url = server.url.clone();
    let now_ns = 1_800_000_000_000_000_000;
    let (simulated, agreed, edited, again) = server
        .stop_and(move |s| {
            let state = HostState::load(s).unwrap();
            let simulated = simulated_clearing(&state, date);
            let agreed = reconcile(s, date, &simulated, now_ns).unwrap();
            // Through the file layout: drop one, change one, add one.
            let mut text = format_clearing(&simulated);
            let mut lines = parse_clearing(&text).unwrap();
            lines.retain(|l| l.amount != AmountMinor(10_000));
            for line in &mut lines {
                if line.amount == AmountMinor(2_000) {
                    line.amount = AmountMinor(2_100);
                }
            }
            lines.push(ClearingLine {
                reference: "999999999999".into(),
                amount: AmountMinor(4_200),
                refund: false,
                date,
            });
            text = format_clearing(&lines);
            let edited = reconcile(s, date, &parse_clearing(&text).unwrap(), now_ns).unwrap();
            let again = reconcile(s, date, &parse_clearing(&text).unwrap(), now_ns).unwrap();
            (simulated, agreed, edited, again)
        })
        .await;
    // The simulator clears the off-us sales in force and the refund.
    let cleared: Vec<(String, i64, bool)> = simulated
        .iter()
        .map(|l| (l.reference.clone(), l.amount.0, l.refund))
        .collect();
    assert_eq!(
        cleared,
        [
            (rrns[0].clone(), 10_000, false),
            (rrns[1].clone(), 2_000, false),
            (refunded.rrn(), 500, true),
        ]
    );
    let ids = |report: &host::reconcile::ReconcileReport| -> Vec<String> {
        report.exceptions.iter().map(|r| r.id.clone()).collect()
    };
    assert_eq!(ids(&agreed), ["batch-T0000003-000001"], "only the batch");
    let mut expected = vec![
        "batch-T0000003-000001".to_owned(),
        format!("clearing-{date}-999999999999-missing_at_host"),
        format!("clearing-{date}-{}-amount_differs", rrns[1]),
        format!("clearing-{date}-{}-missing_in_clearing", rrns[0]),
    ];
    expected.sort();
    assert_eq!(ids(&edited), expected);
    assert_eq!((edited.created, again.created), (3, 0), "idempotent");

    let server = TestServer::start_with(TestServer::config(&url)).await;
    let addr = server.running.http_addr;
    let get = |path: String, key: &'static str, accept: &'static str| async move {
        http(addr, "GET", &path, key, accept, None).await
    };
    let admin = "sk_sandbox_admin";
    let all = get(
        "/v1/reconciliation/exceptions".into(),
        admin,
        "application/json",
    )
    .await;
    assert_eq!(all.status, 200, "{}", all.body);
    let items = all.json()["items"].as_array().unwrap().clone();
    let listed: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(listed, expected);
    let differs = items
        .iter()
        .find(|i| i["reason"] == "amount_differs")
        .unwrap();
    assert_eq!(differs["host_amount"]["amount_minor"], 2_000);
    assert_eq!(differs["network_amount"]["amount_minor"], 2_100);
    assert_eq!(differs["mid"], MID2);
    let batch = get(
        "/v1/reconciliation/exceptions?kind=batch".into(),
        admin,
        "application/json",
    )
    .await;
    let batch = batch.json()["items"].as_array().unwrap().clone();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0]["reason"], "batch_out_of_balance");
    assert!(
        batch[0]["detail"]
            .as_str()
            .unwrap()
            .contains("terminal totals 0/0/9/99999 differ")
    );
    let dated = format!("/v1/reconciliation/exceptions?kind=clearing&date={date}");
    assert_eq!(
        get(dated, admin, "application/json").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let other_day = get(
        "/v1/reconciliation/exceptions?date=2001-01-01".into(),
        admin,
        "application/json",
    )
    .await;
    assert_eq!(other_day.json()["items"], serde_json::json!([]));
    // Pagination and CSV.
    let first = get(
        "/v1/reconciliation/exceptions?limit=3".into(),
        admin,
        "application/json",
    )
    .await
    .json();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = get(
        format!("/v1/reconciliation/exceptions?limit=3&cursor={cursor}"),
        admin,
        "application/json",
    )
    .await
    .json();
    assert_eq!(second["items"][0]["id"], expected[3]);
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
    let csv = get("/v1/reconciliation/exceptions".into(), admin, "text/csv").await;
    assert!(csv.content_type.starts_with("text/csv"));
    assert_eq!(csv.body.lines().count(), 5, "{}", csv.body);
    // Operators only; bad filters are 422.
    assert_eq!(
        get(
            "/v1/reconciliation/exceptions".into(),
            "sk_sandbox_merchant_2",
            "application/json"
        )
        .await
        .status,
        403
    );
    assert_eq!(
        get(
            "/v1/reconciliation/exceptions?kind=other".into(),
            admin,
            "application/json"
        )
        .await
        .status,
        422
    );
    assert_eq!(
        get(
            "/v1/reconciliation/exceptions?date=2026-13-01".into(),
            admin,
            "application/json"
        )
        .await
        .status,
        422
    );
    server.stop_and(|_| ()).await;
}
