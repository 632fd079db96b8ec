//! The real server on an injected clock, on both engines: the T+1 run of a
//! business date starts by itself once the date's cut-off has passed (and
//! not before), a server started after the cut-off runs the missed date,
//! and chargebacks and adjustments posted over HTTP are settled exactly,
//! once, by that run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::BusinessDate;
use host::api::ManualClock;
use host::server::{Running, Timing, start_with_timing};
use iso_support::*;
use ledger::AccountId;
use serde_json::{Value, json};
use store::testing::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "sk_sandbox_admin";
/// The test's business date: far from the machine's, so captures the host
/// dates by its own clock never fall on it.
const DATE: &str = "2030-01-15";
const RUN: &str = "/v1/settlement-runs/SR-20300115-T1";
const SECOND_NS: u64 = 1_000_000_000;

macro_rules! engines {
    ($($name:ident),*) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::on(super::TestDatabase::sqlite(stringify!($name)), super::$name);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                if let Some(database) = super::TestDatabase::postgres(stringify!($name)) {
                    super::on(database, super::$name);
                }
            })*
        }
    };
}

engines!(
    the_day_is_settled_at_its_cut_off_with_chargebacks_and_adjustments,
    a_server_started_after_the_cut_off_runs_the_missed_day
);

fn on<F, Fut>(database: TestDatabase, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(test(database.url().to_owned()));
    drop(runtime);
    drop(database);
}

/// `hh:mm` local (Asia/Shanghai) on `date`, ns since the epoch.
fn local_ns(date: &str, hour: u64, minute: u64) -> u64 {
    let days = BusinessDate::parse(date).unwrap().days_since_epoch();
    let midnight_utc_s = u64::try_from(days * 86_400 - 8 * 3600).unwrap();
    (midnight_utc_s + hour * 3600 + minute * 60) * SECOND_NS
}

async fn serve(url: &str, clock: &Arc<ManualClock>) -> Running {
    let timing = Timing {
        clock: Arc::clone(clock) as Arc<dyn host::api::Clock>,
        t1_interval: Duration::from_millis(50),
    };
    start_with_timing(TestServer::config(url), timing)
        .await
        .expect("server starts")
}

async fn stop(running: Running) -> (bool, u64, u64) {
    running
        .shutdown_and(|store| {
            let sound = store.verify_ledger().unwrap().violations.is_empty();
            let account = store
                .account(AccountId(host::seed::ADJUSTMENTS_ACCOUNT))
                .unwrap()
                .unwrap();
            (sound, account.debits_posted, account.credits_posted)
        })
        .await
        .unwrap()
}

/// One HTTP/1.1 request: status and JSON body.
async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    idempotency_key: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n"
    );
    if let Some(idempotency_key) = idempotency_key {
        request.push_str(&format!("Idempotency-Key: {idempotency_key}\r\n"));
    }
    if !text.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            text.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(&text);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let (_, text) = response.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(text).unwrap_or(Value::Null))
}

async fn get(address: SocketAddr, path: &str) -> (u16, Value) {
    http(address, "GET", path, ADMIN, None, &Value::Null).await
}

fn money(amount_minor: i64) -> Value {
    json!({"amount_minor": amount_minor, "currency": "CNY"})
}

fn chargeback(rrn: &str, amount_minor: i64) -> Value {
    json!({"kind": "chargeback", "amount": money(amount_minor), "transaction_id": rrn,
        "reason": "goods not received"})
}

fn adjustment(amount_minor: i64) -> Value {
    json!({"kind": "adjustment", "amount": money(amount_minor), "reason": "terminal rental"})
}

/// Waits until the run is settled; its document.
async fn settled_run(address: SocketAddr) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, run) = get(address, RUN).await;
        // A run is created settled with no pass, then its first pass
        // starts in a second commit: wait for a settled pass.
        if status == 200 && run["status"] == "settled" && run["passes"].as_u64() >= Some(1) {
            return run;
        }
        assert!(Instant::now() < deadline, "no settled run: {status} {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lucky Coffee's settlement in the run.
fn lucky_coffee(run: &Value) -> Value {
    let settlements = run["settlements"].as_array().unwrap();
    assert_eq!(settlements.len(), 1, "{run}");
    assert_eq!(settlements[0]["mid"], MID1);
    settlements[0].clone()
}

async fn the_day_is_settled_at_its_cut_off_with_chargebacks_and_adjustments(url: String) {
    let clock = Arc::new(ManualClock::new(local_ns(DATE, 12, 0)));
    let running = serve(&url, &clock).await;
    let api = running.http_addr;
    // A real sale of Lucky Coffee (T+1, cut-off 23:00), on-us card.
    let mut till = Client::connect(running.iso_addr, "T0000001").await;
    let sale = till.sale(DEBIT, 10_000, MID1);
    let sold = till.call(&sale).await;
    assert_eq!(sold.code(), "00");
    let rrn = sold.rrn();
    let path = format!("/v1/merchants/{MID1}/adjustments");

    let (status, first) = http(
        api,
        "POST",
        &path,
        ADMIN,
        Some("cb-1"),
        &chargeback(&rrn, 3_000),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (first["business_date"].as_str(), first["cycle"].as_str()),
        (Some(DATE), Some("T1"))
    );
    assert!(
        first["id"].as_str().unwrap().starts_with("ADJ-K"),
        "{first}"
    );
    // Merchant payable → the issuer's funding account (an on-us card).
    assert_eq!(first["ledger"]["debit_account"], "101");
    assert_eq!(first["ledger"]["credit_account"], "1");
    let (status, again) = http(
        api,
        "POST",
        &path,
        ADMIN,
        Some("cb-1"),
        &chargeback(&rrn, 3_000),
    )
    .await;
    assert_eq!(
        (status, &again),
        (201, &first),
        "a repeat is answered, not posted"
    );
    let (status, other) = http(
        api,
        "POST",
        &path,
        ADMIN,
        Some("cb-1"),
        &chargeback(&rrn, 2_000),
    )
    .await;
    assert_eq!(status, 422, "a key used with another body: {other}");
    for (body, field) in [
        (chargeback(&rrn, 7_001), "amount.amount_minor"),
        (chargeback("999999999999", 100), "transaction_id"),
        (chargeback("12345", 100), "transaction_id"),
        (chargeback(&rrn, 0), "amount.amount_minor"),
        (adjustment(0), "amount.amount_minor"),
        (
            json!({"kind": "refund", "amount": money(1), "reason": "x"}),
            "kind",
        ),
        (
            json!({"kind": "adjustment", "amount": money(5), "reason": " "}),
            "reason",
        ),
    ] {
        let (status, problem) = http(api, "POST", &path, ADMIN, None, &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let mid2 = format!("/v1/merchants/{MID2}/adjustments");
    let (status, _) = http(api, "POST", &mid2, ADMIN, None, &chargeback(&rrn, 100)).await;
    assert_eq!(status, 422, "another merchant's transaction");
    let unknown = "/v1/merchants/199999999999999/adjustments";
    assert_eq!(
        http(api, "POST", unknown, ADMIN, None, &adjustment(5))
            .await
            .0,
        404
    );
    let merchant_key = "sk_sandbox_merchant_1";
    assert_eq!(
        http(api, "POST", &path, merchant_key, None, &adjustment(5))
            .await
            .0,
        403
    );

    // An off-us card: back to the card network's settlement account.
    let sale = till.sale(VISA, 5_000, MID1);
    let off_us = till.call(&sale).await;
    assert_eq!(off_us.code(), "00");
    let body = chargeback(&off_us.rrn(), 1_000);
    let (status, network) = http(api, "POST", &path, ADMIN, None, &body).await;
    assert_eq!(status, 201, "{network}");
    assert_eq!(network["ledger"]["credit_account"], "2");

    let (status, debit) = http(api, "POST", &path, ADMIN, None, &adjustment(-1_200)).await;
    assert_eq!(status, 201, "{debit}");
    assert_eq!(debit["ledger"]["credit_account"], "8");

    // Noon, then a second before the cut-off: nothing runs.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(get(api, RUN).await.0, 404);
    clock.advance(local_ns(DATE, 22, 59) + 59 * SECOND_NS - local_ns(DATE, 12, 0));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(get(api, RUN).await.0, 404, "the day has not closed");

    // Past the cut-off the run starts by itself.
    clock.advance(30 * SECOND_NS);
    let run = settled_run(api).await;
    assert_eq!(run["passes"], 1);
    let settlement = lucky_coffee(&run);
    assert_eq!(settlement["items"], 3);
    assert_eq!(settlement["captures"], money(0));
    assert_eq!(settlement["chargebacks"], money(4_000));
    assert_eq!(settlement["adjustments"], money(-1_200));
    assert_eq!(settlement["net"], money(-5_200));
    // The sale is dated by the host's own clock, years before: outside the
    // look-back, it is left to an operator.
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let today = domain::settlement::business_date(i64::try_from(now_s).unwrap(), 8 * 3600, 23 * 60)
        .unwrap();
    let today_run = format!(
        "/v1/settlement-runs/SR-{}-T1",
        today.to_string().replace('-', "")
    );
    assert_eq!(get(api, &today_run).await.0, 404);
    // The job keeps looking: nothing new, nothing run again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(api, RUN).await.1["passes"], 1);
    let (sound, debits, credits) = stop(running).await;
    assert!(sound, "ledger verify");
    assert_eq!((debits, credits), (0, 1_200));
}

async fn a_server_started_after_the_cut_off_runs_the_missed_day(url: String) {
    let clock = Arc::new(ManualClock::new(local_ns(DATE, 12, 0)));
    let running = serve(&url, &clock).await;
    let path = format!("/v1/merchants/{MID1}/adjustments");
    let (status, credit) = http(
        running.http_addr,
        "POST",
        &path,
        ADMIN,
        None,
        &adjustment(500),
    )
    .await;
    assert_eq!(status, 201, "{credit}");
    assert_eq!(credit["ledger"]["debit_account"], "8");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(get(running.http_addr, RUN).await.0, 404);
    stop(running).await;

    // Down over the cut-off; started the next morning.
    let clock = Arc::new(ManualClock::new(local_ns("2030-01-16", 9, 0)));
    let running = serve(&url, &clock).await;
    let run = settled_run(running.http_addr).await;
    let settlement = lucky_coffee(&run);
    assert_eq!(
        (settlement["adjustments"].clone(), settlement["net"].clone()),
        (money(500), money(500))
    );
    assert_eq!(
        get(running.http_addr, "/v1/settlement-runs/SR-20300116-T1")
            .await
            .0,
        404
    );
    stop(running).await;

    // Started again later: the run is not run twice.
    let clock = Arc::new(ManualClock::new(local_ns("2030-01-17", 9, 0)));
    let running = serve(&url, &clock).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, run) = get(running.http_addr, RUN).await;
    assert_eq!(
        (run["passes"].as_u64(), run["status"].as_str()),
        (Some(1), Some("settled"))
    );
    let (sound, debits, credits) = stop(running).await;
    assert!(sound);
    assert_eq!((debits, credits), (500, 0));
}
