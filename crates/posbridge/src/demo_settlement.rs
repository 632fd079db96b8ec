//! The demo's last chapter: the day's money, through the HTTP API of the
//! same in-process server — the settlement runs of the business date (T+1
//! for Lucky Coffee into the joint account, T+0 for Corner Grocery), then a
//! short daily report.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

/// The sandbox operator key (a public test value).
const OPERATOR_KEY: &str = "sk_sandbox_admin";
/// How long one API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read.
const ANSWER_BYTES_MAX: u64 = 1 << 20;
/// The platform's time zone (Asia/Shanghai), seconds east of UTC.
const PLATFORM_OFFSET_S: i64 = 8 * 3_600;

/// Settles the day and prints what went where.
///
/// # Errors
/// An API call that fails or answers unexpectedly.
pub fn settle_day(http: SocketAddr) -> anyhow::Result<()> {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("reading the clock")?
        .as_secs();
    let now_s = i64::try_from(now_s).context("reading the clock")?;
    let mut dates = Vec::new();
    for merchant in domain::sandbox::merchants() {
        let date =
            domain::settlement::business_date(now_s, PLATFORM_OFFSET_S, merchant.cutoff_minute)
                .context("the business date")?
                .to_string();
        if !dates.contains(&date) {
            dates.push(date);
        }
    }
    for date in &dates {
        for cycle in ["T0", "T1"] {
            settle(http, date, cycle)?;
        }
        report(http, date)?;
    }
    Ok(())
}

fn settle(http: SocketAddr, date: &str, cycle: &str) -> anyhow::Result<()> {
    let body = format!(r#"{{"business_date":"{date}","cycle":"{cycle}"}}"#);
    let (status, run) = call(http, "POST", "/v1/settlement-runs", Some(&body))?;
    anyhow::ensure!(
        status == 200 || status == 201,
        "settlement run {date} {cycle}: {status} {run}"
    );
    let id = run["id"].as_str().context("the run's id")?;
    let (status, run) = call(http, "GET", &format!("/v1/settlement-runs/{id}"), None)?;
    anyhow::ensure!(status == 200, "reading run {id}: {status} {run}");
    let settlements = run["settlements"].as_array().cloned().unwrap_or_default();
    println!("\n== Settlement run {id} ({cycle}, business date {date}) ==");
    if settlements.is_empty() {
        println!("  nothing to settle");
    }
    for settlement in &settlements {
        print_settlement(settlement);
    }
    Ok(())
}

fn print_settlement(settlement: &Value) {
    let mid = settlement["mid"].as_str().unwrap_or("?");
    let name = domain::sandbox::merchants()
        .into_iter()
        .find(|m| m.mid == mid)
        .map_or(mid, |m| m.name);
    println!(
        "  {name}: captures {}, refunds {}, fees {}, net {} ({})",
        money(&settlement["captures"]),
        money(&settlement["refunds"]),
        money(&settlement["fees"]),
        money(&settlement["net"]),
        settlement["outcome"].as_str().unwrap_or("?"),
    );
    for leg in settlement["legs"].as_array().into_iter().flatten() {
        println!(
            "    {} {} → account {}, payout {} {}",
            leg["kind"].as_str().unwrap_or("?"),
            money(&leg["amount"]),
            leg["account"].as_str().unwrap_or("?"),
            leg["payout_id"].as_str().unwrap_or("-"),
            leg["payout_status"].as_str().unwrap_or(""),
        );
    }
}

fn report(http: SocketAddr, date: &str) -> anyhow::Result<()> {
    let (status, report) = call(http, "GET", &format!("/v1/reports/daily?date={date}"), None)?;
    anyhow::ensure!(status == 200, "daily report {date}: {status} {report}");
    println!("\n== Daily report {date} ==");
    for line in report["by_channel"].as_array().into_iter().flatten() {
        println!(
            "  {:<12} sales {:>10}  refunds {:>9}  fees {:>7}  fee share {:>6}  discounts {:>7}  points {}",
            line["channel"].as_str().unwrap_or("?"),
            money(&line["sales"]),
            money(&line["refunds"]),
            money(&line["fees"]),
            money(&line["fee_share"]),
            money(&line["discounts"]),
            line["points"].as_i64().unwrap_or(0),
        );
    }
    let total = &report["total"];
    println!(
        "  {:<12} sales {:>10}  refunds {:>9}  fees {:>7}  fee share {:>6}  discounts {:>7}  points {}",
        "total",
        money(&total["sales"]),
        money(&total["refunds"]),
        money(&total["fees"]),
        money(&total["fee_share"]),
        money(&total["discounts"]),
        total["points"].as_i64().unwrap_or(0),
    );
    Ok(())
}

/// `{"amount_minor": 1234, "currency": "CNY"}` as `12.34`.
fn money(value: &Value) -> String {
    let minor = value["amount_minor"].as_i64().unwrap_or(0);
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02}", minor / 100, minor % 100)
}

/// One HTTP/1.1 request with the operator key; the status and JSON body.
fn call(
    http: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    let mut stream = TcpStream::connect_timeout(&http, CALL_TIMEOUT)
        .with_context(|| format!("connecting to the API at {http}"))?;
    stream.set_read_timeout(Some(CALL_TIMEOUT))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {http}\r\nAuthorization: Bearer {OPERATOR_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.take(ANSWER_BYTES_MAX).read_to_end(&mut answer)?;
    let answer = String::from_utf8(answer).context("an answer that is not UTF-8")?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .context("an answer without a header")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("an answer without a status")?;
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    Ok((status, json))
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_is_printed_in_major_units() {
        for (minor, text) in [
            (0, "0.00"),
            (5, "0.05"),
            (123_456, "1234.56"),
            (-4_306, "-43.06"),
        ] {
            assert_eq!(money(&serde_json::json!({"amount_minor": minor})), text);
        }
    }
}
