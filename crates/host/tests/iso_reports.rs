//! `GET /v1/reports/daily` after real traffic, on both engines: every
//! figure is computed here from the sandbox plan and program and compared
//! with the report, for each role's view.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;

use std::collections::BTreeMap;

use capture_support::*;
use iso_support::*;
use serde_json::Value;

both_engines!(daily_report_by_merchant_terminal_and_channel);

/// One movement the test expects in the report.
#[derive(Clone, Debug)]
struct Movement {
    mid: &'static str,
    tid: &'static str,
    channel: &'static str,
    program: bool,
    sales: i64,
    refunds: i64,
    fee: i64,
    share: i64,
    discount: i64,
    points: i64,
}

/// Sums: items, sales, refunds, fees, fee share, discounts, points.
type Sums = [i64; 7];

fn add(sums: &mut Sums, m: &Movement) {
    let values = [1, m.sales, m.refunds, m.fee, m.share, m.discount, m.points];
    for (sum, value) in sums.iter_mut().zip(values) {
        *sum += value;
    }
}

fn sums_of(line: &Value) -> Sums {
    let money = |name: &str| line[name]["amount_minor"].as_i64().unwrap();
    [
        line["items"].as_i64().unwrap(),
        money("sales"),
        money("refunds"),
        money("fees"),
        money("fee_share"),
        money("discounts"),
        line["points"].as_i64().unwrap(),
    ]
}

fn by<K: Ord>(movements: &[Movement], key: impl Fn(&Movement) -> K) -> BTreeMap<K, Sums> {
    let mut out = BTreeMap::new();
    for m in movements {
        add(out.entry(key(m)).or_insert([0; 7]), m);
    }
    out
}

fn table(report: &Value, name: &str, keys: &[&str]) -> BTreeMap<Vec<String>, Sums> {
    report[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let key = keys
                .iter()
                .map(|k| line[*k].as_str().unwrap().to_owned())
                .collect();
            (key, sums_of(line))
        })
        .collect()
}

/// Compares a report with the movements it should sum.
fn check(report: &Value, movements: &[Movement]) {
    let merchants: BTreeMap<Vec<String>, Sums> = by(movements, |m| vec![m.mid.to_owned()])
        .into_iter()
        .collect();
    assert_eq!(table(report, "by_merchant", &["mid"]), merchants);
    let terminals = by(movements, |m| vec![m.mid.to_owned(), m.tid.to_owned()]);
    assert_eq!(table(report, "by_terminal", &["mid", "tid"]), terminals);
    let channels = by(movements, |m| vec![m.channel.to_owned()]);
    assert_eq!(table(report, "by_channel", &["channel"]), channels);
    let mut total = [0; 7];
    movements.iter().for_each(|m| add(&mut total, m));
    assert_eq!(sums_of(&report["total"]), total);
}

fn sale(mid: &'static str, tid: &'static str, channel: &'static str, amount: i64) -> Movement {
    Movement {
        mid,
        tid,
        channel,
        program: false,
        sales: amount,
        refunds: 0,
        fee: expected_fee(amount, standard_rate(channel)),
        share: 0,
        discount: 0,
        points: 0,
    }
}

/// A DBCOFFEE card's sale: 10% off at participating merchants (half up, at
/// most 20.00), 2 points per 1.00 paid there and 1 elsewhere, 20% of the fee
/// to the brand partner.
fn cobrand_sale(
    mid: &'static str,
    tid: &'static str,
    amount: i64,
    participating: bool,
) -> Movement {
    let discount = if participating {
        ((amount * 2 + 10) / 20).min(2_000)
    } else {
        0
    };
    let points = (amount - discount) / 100 * if participating { 2 } else { 1 };
    let mut m = sale(mid, tid, "credit", amount);
    m.program = true;
    m.discount = discount;
    m.points = points;
    m.share = (m.fee * 2 * 2_000 + 10_000) / 20_000;
    m
}

fn negated(m: &Movement) -> Movement {
    Movement {
        sales: -m.sales,
        refunds: -m.refunds,
        fee: -m.fee,
        share: -m.share,
        discount: -m.discount,
        points: -m.points,
        ..m.clone()
    }
}

async fn daily_report_by_merchant_terminal_and_channel(server: TestServer) {
    let date = domain::settlement::business_date(now_s(), 8 * 3600, 23 * 60)
        .unwrap()
        .to_string();
    let mut t1 = server.client("T0000001").await;
    let mut t2 = server.client("T0000002").await;
    let mut t3 = server.client("T0000003").await;
    let mut t4 = server.client("T0000004").await;
    let mut movements = Vec::new();
    let mut rrn = BTreeMap::new();
    let sales: [(&str, u64, Movement); 6] = [
        (DEBIT, 10_000, sale(MID1, "T0000001", "debit", 10_000)),
        (COBRAND, 5_000, cobrand_sale(MID1, "T0000001", 5_000, true)),
        (VISA, 8_333, sale(MID1, "T0000001", "credit", 8_333)),
        (COBRAND, 1_000, cobrand_sale(MID2, "T0000003", 1_000, false)),
        (
            MASTERCARD,
            600_000,
            sale(MID2, "T0000003", "debit", 600_000),
        ),
        (VISA, 250, sale(MID2, "T0000003", "credit", 250)),
    ];
    for (pan, amount, movement) in sales {
        let mid = movement.mid;
        let client = if movement.tid == "T0000001" {
            &mut t1
        } else {
            &mut t3
        };
        let request = client.sale(pan, amount, mid);
        let answer = client.call(&request).await;
        assert_eq!(answer.code(), "00");
        rrn.insert((pan, amount), answer.rrn());
        movements.push(movement);
    }
    // A MAC terminal of the first merchant.
    let mut request = t2.sale(MASTERCARD, 1_000, MID1);
    t2.with_mac(&mut request);
    assert_eq!(t2.call(&request).await.code(), "00");
    movements.push(sale(MID1, "T0000002", "debit", 1_000));
    // A refund under keep: the fee stays, nothing else moves but the amount.
    let refund = follow_up(
        &mut t1,
        "200000",
        DEBIT,
        2_000,
        MID1,
        &rrn[&(DEBIT, 10_000)],
    );
    assert_eq!(t1.call(&refund).await.code(), "00");
    movements.push(Movement {
        sales: 0,
        refunds: 2_000,
        fee: 0,
        ..sale(MID1, "T0000001", "debit", 0)
    });
    // A void takes the whole sale out.
    let void = follow_up(&mut t1, "020000", VISA, 8_333, MID1, &rrn[&(VISA, 8_333)]);
    assert_eq!(t1.call(&void).await.code(), "00");
    movements.push(negated(&sale(MID1, "T0000001", "credit", 8_333)));
    // Certification mode is never settled: not in the report.
    let request = t4.sale(DEBIT, 1_234, MID3);
    assert_eq!(t4.call(&request).await.code(), "00");

    let addr = server.running.http_addr;
    let get = |key: &'static str, query: String, accept: &'static str| async move {
        http(
            addr,
            "GET",
            &format!("/v1/reports/daily{query}"),
            key,
            accept,
            None,
        )
        .await
    };
    let json = "application/json";
    for key in ["sk_sandbox_admin", "sk_sandbox_bank"] {
        let reply = get(key, format!("?date={date}"), json).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let report = reply.json();
        assert_eq!(report["date"], date.as_str());
        check(&report, &movements);
    }
    let own: Vec<Movement> = movements
        .iter()
        .filter(|m| m.mid == MID1)
        .cloned()
        .collect();
    check(
        &get("sk_sandbox_merchant_1", format!("?date={date}"), json)
            .await
            .json(),
        &own,
    );
    let program: Vec<Movement> = movements.iter().filter(|m| m.program).cloned().collect();
    assert_eq!(program.len(), 2);
    check(
        &get("sk_sandbox_brand", format!("?date={date}"), json)
            .await
            .json(),
        &program,
    );
    // Another day is empty; CSV has one row per line.
    let empty = get("sk_sandbox_admin", "?date=2001-01-01".into(), json)
        .await
        .json();
    check(&empty, &[]);
    let csv = get("sk_sandbox_admin", format!("?date={date}"), "text/csv").await;
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let report = get("sk_sandbox_admin", format!("?date={date}"), json)
        .await
        .json();
    let lines: usize = ["by_merchant", "by_terminal", "by_channel"]
        .iter()
        .map(|t| report[*t].as_array().unwrap().len())
        .sum();
    assert_eq!(csv.body.lines().count(), lines + 1, "{}", csv.body);
    // Owners may not; a missing or bad date is 422.
    assert_eq!(
        get("sk_sandbox_owner_liwei", format!("?date={date}"), json)
            .await
            .status,
        403
    );
    assert_eq!(
        get("sk_sandbox_admin", String::new(), json).await.status,
        422
    );
    assert_eq!(
        get("sk_sandbox_admin", "?date=2026-02-30".into(), json)
            .await
            .status,
        422
    );
    assert_eq!(
        get("sk_sandbox_admin", format!("?date={date}&x=1"), json)
            .await
            .status,
        422
    );
    let report = server.stop_and(|s| s.verify_ledger().unwrap()).await;
    assert!(report.violations.is_empty(), "{report:?}");
}
