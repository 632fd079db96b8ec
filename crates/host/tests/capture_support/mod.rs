//! Helpers of the capture, reconciliation and report tests: follow-up
//! messages, a plain HTTP/1.1 client for the real server, the settlement
//! items and ledger balances of a stopped server's store, and the sandbox
//! fee plan computed independently of `domain::fees`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use iso8583::de;
use ledger::AccountId;
use store::{SettlementItem, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::iso_support::Client;

/// A void (`020000`) or refund (`200000`) naming `rrn` in DE 37.
pub fn follow_up(
    c: &mut Client,
    processing: &str,
    pan: &str,
    amount: u64,
    mid: &str,
    rrn: &str,
) -> iso8583::MessageBuilder {
    let mut b = c.financial("0200", processing, pan, amount, mid);
    b.set_text(de::RRN, rrn).unwrap();
    b
}

/// A 0400 reversal of `original`.
pub fn reversal_of(c: &mut Client, original: &iso8583::MessageBuilder) -> iso8583::MessageBuilder {
    let mut b = c.base("0400");
    for field in [3, 4, 22, 25, 42, 49] {
        if let Some(value) = original.get(field) {
            b.set(field, value).unwrap();
        }
    }
    let text = |field| {
        std::str::from_utf8(original.get(field).unwrap())
            .unwrap()
            .to_owned()
    };
    let (stan, de7) = (text(de::STAN), text(de::TRANSMISSION_DATE_TIME));
    let mti = original.mti().as_str().to_owned();
    b.set_text(
        de::ORIGINAL_DATA,
        &format!("{mti}{stan}{de7}{}", "0".repeat(22)),
    )
    .unwrap();
    b
}

/// The sandbox STANDARD plan as sandbox.md states it: (bps, cap).
pub fn standard_rate(channel: &str) -> (i64, Option<i64>) {
    match channel {
        "credit" => (60, None),
        "debit" => (50, Some(2_500)),
        "wallet_qr" => (38, None),
        "unionpay_qr" => (60, None),
        other => panic!("no channel {other}"),
    }
}

/// `amount × bps / 10 000` to the nearest fen, halves up, then capped:
/// floor((2·amount·bps + 10 000) / 20 000).
pub fn expected_fee(amount: i64, (bps, cap): (i64, Option<i64>)) -> i64 {
    let fee = (2 * amount * bps + 10_000) / 20_000;
    cap.map_or(fee, |cap| fee.min(cap))
}

/// The cumulative part of `total` returned after `refunded` of `whole`, to
/// the nearest unit, halves up.
pub fn cumulative_part(total: i64, whole: i64, refunded: i64) -> i64 {
    (2 * total * refunded + whole) / (2 * whole)
}

/// The business dates a transaction decided between `start_s` and now may
/// carry (cut-off 23:00 in UTC+8).
pub fn candidate_dates(start_s: i64) -> Vec<String> {
    let now = now_s();
    let mut dates: Vec<String> = [start_s, now]
        .iter()
        .filter_map(|s| domain::settlement::business_date(*s, 8 * 3600, 23 * 60))
        .map(|d| d.to_string())
        .collect();
    dates.dedup();
    dates
}

pub fn now_s() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Every settlement item of `dates`, by item id.
pub fn items_of(store: &mut Store, dates: &[String]) -> BTreeMap<String, SettlementItem> {
    let mut items = BTreeMap::new();
    for date in dates {
        for item in store.settlement_items_of(date).unwrap() {
            items.insert(item.item_id.clone(), item);
        }
    }
    items
}

/// Credits minus debits posted of a ledger account.
pub fn balance(store: &mut Store, id: u128) -> i128 {
    let account = store
        .account(AccountId(id))
        .unwrap()
        .expect("account exists");
    i128::from(account.credits_posted) - i128::from(account.debits_posted)
}

/// The ledger account of on-us sandbox card `pan`.
pub fn card_account(pan: &str) -> u128 {
    let position = domain::sandbox::cards()
        .into_iter()
        .filter(|c| c.on_us)
        .position(|c| c.pan == pan)
        .unwrap();
    host::seed::CARD_ACCOUNT_BASE + 1 + position as u128
}

/// A reply of the HTTP API.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl HttpReply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request over a new connection to the real server.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    accept: &str,
    body: Option<&str>,
) -> HttpReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
         Accept: {accept}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = if header("transfer-encoding").eq_ignore_ascii_case("chunked") {
        unchunk(rest)
    } else {
        rest.to_owned()
    };
    HttpReply {
        status,
        content_type: header("content-type"),
        body,
    }
}

fn unchunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}
