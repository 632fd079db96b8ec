//! Group commit: many concurrent terminals share durable commits, and a
//! duplicate of a request still committing gets the original's answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use std::collections::{HashMap, HashSet};

use iso_support::*;
use store::HostTable;

both_engines!(
    concurrent_terminals_share_commits,
    duplicates_in_flight_get_the_original_answer,
    a_failed_commit_stops_the_host_until_a_restart,
);

const CONNECTIONS: u32 = 16;
const SALES: u32 = 20;

/// Pipelines `requests` on one connection and returns the answers by STAN.
async fn pipelined(client: &mut Client, requests: &[iso8583::MessageBuilder]) -> Vec<Response> {
    let mut wire = Vec::new();
    for request in requests {
        let mut buffer = [0u8; 1024];
        let n = request.encode_framed(&mut buffer).unwrap();
        wire.extend_from_slice(&buffer[..n]);
    }
    client.send_raw(&wire).await;
    let mut answers = Vec::new();
    for _ in requests {
        answers.push(Response(client.recv().await.expect("answered")));
    }
    answers
}

async fn concurrent_terminals_share_commits(server: TestServer) {
    let commits_before = server.running.store_commits();
    let addr = server.running.iso_addr;
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        tasks.push(tokio::spawn(async move {
            let (tid, mid) = if connection % 2 == 0 {
                ("T0000001", MID1)
            } else {
                ("T0000003", MID2)
            };
            let mut client = Client::connect(addr, tid).await;
            // Distinct STANs per connection of the same terminal.
            client.stan = connection * 1_000;
            let requests: Vec<_> = (0..SALES)
                .map(|i| {
                    if i % 2 == 0 {
                        client.sale(DEBIT, 100, mid)
                    } else {
                        client.sale(VISA, 200, mid)
                    }
                })
                .collect();
            let answers = pipelined(&mut client, &requests).await;
            answers
                .iter()
                .map(|a| {
                    assert_eq!(a.code(), "00", "{tid}");
                    a.rrn()
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut rrns = HashSet::new();
    for task in tasks {
        for rrn in task.await.unwrap() {
            assert!(rrns.insert(rrn), "every sale has its own RRN");
        }
    }
    let requests = u64::from(CONNECTIONS * SALES);
    assert_eq!(rrns.len() as u64, requests);
    let commits = server.running.store_commits() - commits_before;
    eprintln!("group commit: {requests} sales in {commits} commits");
    assert!(
        commits * 3 <= requests,
        "{requests} sales should share commits, got {commits} commits"
    );
    let mut c = server.client("T0000001").await;
    c.stan = 900_000;
    assert_eq!(
        available(&mut c, DEBIT, MID1).await,
        1_000_000 - i64::from(CONNECTIONS * SALES / 2) * 100
    );
    let (report, transactions) = server
        .stop_and(|s| {
            (
                s.verify_ledger().unwrap(),
                s.host_rows(HostTable::Transactions).unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    let stored: HashSet<String> = transactions.into_iter().map(|(rrn, _)| rrn).collect();
    assert!(rrns.is_subset(&stored), "every approved sale is durable");
}

async fn duplicates_in_flight_get_the_original_answer(server: TestServer) {
    const PAIRS: u32 = 10;
    const DUPLICATE_CONNECTIONS: u32 = 8;
    let addr = server.running.iso_addr;
    let mut tasks = Vec::new();
    for connection in 0..DUPLICATE_CONNECTIONS {
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr, "T0000001").await;
            client.stan = connection * 1_000;
            let mut requests = Vec::new();
            for i in 0..PAIRS {
                let sale = if i % 2 == 0 {
                    client.sale(DEBIT, 300, MID1)
                } else {
                    client.sale(DEBIT_LOW, 900_000, MID1)
                };
                // The original and its duplicate back to back: the duplicate
                // is decided while the original's commit is pending.
                requests.push(sale.clone());
                requests.push(sale);
            }
            let answers = pipelined(&mut client, &requests).await;
            let mut by_stan: HashMap<u32, Vec<(String, String, String)>> = HashMap::new();
            for answer in &answers {
                by_stan
                    .entry(answer.message().stan().unwrap())
                    .or_default()
                    .push((answer.code(), answer.rrn(), answer.auth_code()));
            }
            assert_eq!(by_stan.len() as u32, PAIRS);
            for pair in by_stan.values() {
                assert_eq!(pair.len(), 2);
                assert_eq!(pair[0], pair[1], "the duplicate gets the original's answer");
                assert!(pair[0].0 == "00" || pair[0].0 == "51", "{pair:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut c = server.client("T0000001").await;
    c.stan = 900_000;
    assert_eq!(
        available(&mut c, DEBIT, MID1).await,
        1_000_000 - i64::from(DUPLICATE_CONNECTIONS * PAIRS / 2) * 300,
        "each original charged once"
    );
    let report = server.stop_and(|s| s.verify_ledger().unwrap()).await;
    assert!(report.violations.is_empty(), "{report:?}");
}

/// Runs raw SQL on the server's database from a second connection.
async fn sql(url: &str, statement: &'static str) {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut store = store::Store::open(&url).unwrap();
        store.execute_sql(statement).unwrap();
    })
    .await
    .unwrap();
}

/// `GET /v1/health` on the server: (status, content type, body).
async fn health(addr: std::net::SocketAddr) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = "GET /v1/health HTTP/1.1\r\nHost: posbridge\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

async fn a_failed_commit_stops_the_host_until_a_restart(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let first = c.sale(DEBIT, 1_000, MID1);
    let approved = c.call(&first).await;
    assert_eq!(approved.code(), "00");
    assert!(server.running.host.healthy());
    assert_eq!(health(server.running.http_addr).await.0, 200);
    // The next commit fails: the host's state would run ahead of the database.
    sql(
        &server.url,
        "ALTER TABLE host_transactions RENAME TO host_transactions_away",
    )
    .await;
    // Each sale with its duplicate back to back: a duplicate decided while
    // its original's commit is pending must not be answered from memory.
    let failing: Vec<_> = (0..8).map(|i| c.sale(DEBIT, 2_000 + i, MID1)).collect();
    let pairs: Vec<_> = failing
        .iter()
        .flat_map(|s| [s.clone(), s.clone()])
        .collect();
    for answer in pipelined(&mut c, &pairs).await {
        assert_eq!(answer.code(), "96", "nothing durable, nothing approved");
    }
    assert!(!server.running.host.healthy());
    let (status, content_type, body) = health(server.running.http_addr).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(content_type, "application/problem+json");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 503);
    assert!(problem["type"].as_str().unwrap().ends_with("/host-stopped"));
    // Fail-stop: nothing is decided any more, not even a duplicate.
    sql(
        &server.url,
        "ALTER TABLE host_transactions_away RENAME TO host_transactions",
    )
    .await;
    let other = c.sale(DEBIT, 3_000, MID1);
    assert_eq!(c.call(&other).await.code(), "96");
    assert_eq!(c.call(&first).await.code(), "96");
    let echo = c.network(301);
    assert_eq!(
        c.call(&echo).await.code(),
        "00",
        "network management still answered"
    );
    let url = server.url.clone();
    server.running.shutdown().await.unwrap();
    // A restart reloads the durable state: the failed sale never happened.
    let server = TestServer::start_with(TestServer::config(&url)).await;
    assert!(server.running.host.healthy());
    assert_eq!(health(server.running.http_addr).await.0, 200);
    let mut c = Client::connect(server.running.iso_addr, "T0000001").await;
    let again = c.call(&first).await;
    assert_eq!(
        (again.code(), again.rrn(), again.auth_code()),
        (approved.code(), approved.rrn(), approved.auth_code())
    );
    for sale in &failing {
        assert_eq!(c.call(sale).await.code(), "00", "decided afresh");
    }
    c.stan = 900_000;
    assert_eq!(
        available(&mut c, DEBIT, MID1).await,
        1_000_000 - 1_000 - (8 * 2_000 + 28)
    );
    let report = server.stop_and(|s| s.verify_ledger().unwrap()).await;
    assert!(report.violations.is_empty(), "{report:?}");
}
