//! The TCP server over real sockets: network management, framing, malformed
//! frames, pipelining, the HTTP base routes, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use std::time::Duration;

use iso_support::*;
use iso8583::de;

both_engines!(
    sign_on_echo_and_sign_off_are_answered,
    unknown_terminal_gets_58,
    malformed_frames_get_30_or_close_and_the_server_keeps_serving,
    slow_sender_is_answered,
    pipelined_requests_are_all_answered,
    health_and_metrics,
    shutdown_finishes_in_flight_requests,
);

async fn shutdown_finishes_in_flight_requests(server: TestServer) {
    let mut client = server.client("T0000001").await;
    // The network simulator does not answer amounts ending in 91: the host
    // waits 200 ms, so the request is in flight when shutdown starts.
    let sale = client.sale(VISA, 10_091, MID1);
    client.send(&sale).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let addr = server.running.iso_addr;
    let stopping = tokio::spawn(server.running.shutdown());
    let response = Response(client.recv().await.expect("answered before exit"));
    assert_eq!(response.code(), "91");
    assert!(stopping.await.unwrap().is_ok());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

async fn sign_on_echo_and_sign_off_are_answered(server: TestServer) {
    let mut client = server.client("T0000001").await;
    for code in [1, 301, 2] {
        let request = client.network(code);
        let response = client.call(&request).await;
        assert_eq!(response.mti(), "0810");
        assert_eq!(response.code(), "00");
        assert_eq!(
            response.text(de::STAN),
            request
                .get(de::STAN)
                .map(|s| String::from_utf8(s.to_vec()).unwrap())
        );
        assert_eq!(
            response.text(de::NETWORK_MANAGEMENT_CODE).unwrap(),
            format!("{code:03}")
        );
        assert_eq!(response.rrn().len(), 12, "DE 37 in every response");
    }
}

async fn unknown_terminal_gets_58(server: TestServer) {
    let mut client = server.client("T9999999").await;
    let request = client.network(301);
    assert_eq!(client.call(&request).await.code(), "58");
    let request = client.sale(DEBIT, 100, MID1);
    assert_eq!(client.call(&request).await.code(), "58");
}

fn encode(b: &iso8583::MessageBuilder) -> Vec<u8> {
    let mut wire = [0u8; 4200];
    let n = b.encode(&mut wire).unwrap();
    wire[..n].to_vec()
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

async fn assert_closed(client: &mut Client) {
    assert!(
        client.recv().await.is_none(),
        "the host closes the connection"
    );
}

async fn malformed_frames_get_30_or_close_and_the_server_keeps_serving(server: TestServer) {
    // A bad DE 4 (letters in a numeric field): MTI, 11, 41 readable → 30.
    let mut client = server.client("T0000001").await;
    let sale = client.sale(DEBIT, 4_321, MID1);
    let mut body = encode(&sale);
    let amount = body.windows(12).position(|w| w == b"000000004321").unwrap();
    body[amount] = b'X';
    client.send_raw(&framed(&body)).await;
    let response = Response(client.recv().await.unwrap());
    assert_eq!(response.mti(), "0210");
    assert_eq!(response.code(), "30");
    assert_eq!(response.text(de::TERMINAL_ID).unwrap(), "T0000001");
    // The connection still serves.
    let echo = client.network(301);
    assert_eq!(client.call(&echo).await.code(), "00");

    // Garbage: the MTI cannot be read → closed.
    let mut garbage = server.client("T0000001").await;
    garbage.send_raw(&framed(b"\xff\xfegarbage")).await;
    assert_closed(&mut garbage).await;

    // Oversized length header → closed.
    let mut oversized = server.client("T0000001").await;
    oversized.send_raw(&[0x10, 0x01, b'0', b'2']).await;
    assert_closed(&mut oversized).await;

    // Truncated (the frame is complete but the message stops inside the bitmap) → closed.
    let mut truncated = server.client("T0000001").await;
    truncated.send_raw(&framed(&body[..7])).await;
    assert_closed(&mut truncated).await;

    // Other connections were not disturbed.
    let echo = client.network(301);
    assert_eq!(client.call(&echo).await.code(), "00");
    let mut fresh = server.client("T0000003").await;
    let echo = fresh.network(301);
    assert_eq!(fresh.call(&echo).await.code(), "00");
    let transactions = server
        .stop_and(|store| store.host_rows(store::HostTable::Transactions).unwrap())
        .await;
    assert!(transactions.is_empty());
}

async fn slow_sender_is_answered(server: TestServer) {
    let mut client = server.client("T0000001").await;
    let echo = client.network(301);
    let mut wire = [0u8; 256];
    let n = echo.encode_framed(&mut wire).unwrap();
    for byte in &wire[..n] {
        client.send_raw(&[*byte]).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let response = Response(client.recv().await.unwrap());
    assert_eq!(response.code(), "00");
}

async fn pipelined_requests_are_all_answered(server: TestServer) {
    let mut client = server.client("T0000003").await;
    let mut stans = Vec::new();
    let mut wire = Vec::new();
    for i in 0..20u64 {
        let request = if i % 2 == 0 {
            client.network(301)
        } else {
            client.sale(DEBIT, 100 + i, MID2)
        };
        stans.push(client.stan);
        let mut buffer = [0u8; 1024];
        let n = request.encode_framed(&mut buffer).unwrap();
        wire.extend_from_slice(&buffer[..n]);
    }
    client.send_raw(&wire).await;
    let mut answered = Vec::new();
    for _ in 0..20 {
        let response = Response(client.recv().await.unwrap());
        assert_eq!(response.code(), "00", "{}", response.mti());
        answered.push(response.message().stan().unwrap());
    }
    answered.sort_unstable();
    assert_eq!(answered, stans);
}

async fn health_and_metrics(server: TestServer) {
    let mut client = server.client("T0000001").await;
    let echo = client.network(301);
    assert_eq!(client.call(&echo).await.code(), "00");
    let health = http_get(server.running.http_addr, "/v1/health").await;
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    assert!(
        health.contains("\"storage\":\"sqlite\"") || health.contains("\"storage\":\"postgres\""),
        "{health}"
    );
    let metrics = http_get(server.running.http_addr, "/metrics").await;
    assert!(
        metrics.contains("posbridge_iso_responses_total{mti=\"0800\",code=\"00\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("posbridge_iso_connections_open 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("posbridge_iso_latency_seconds_count 1"),
        "{metrics}"
    );
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[test]
fn idle_connections_are_closed() {
    run_with(
        Engine::Sqlite,
        "idle",
        |config| config.idle_timeout = Duration::from_millis(300),
        |server| async move {
            let mut client = server.client("T0000001").await;
            let echo = client.network(301);
            assert_eq!(client.call(&echo).await.code(), "00");
            let started = std::time::Instant::now();
            assert!(client.recv().await.is_none(), "closed when idle");
            assert!(started.elapsed() >= Duration::from_millis(250));
            assert_eq!(server.running.host.metrics().events("idle_timeout"), 1);
        },
    );
}

#[test]
fn connections_beyond_the_limit_wait_for_a_free_slot() {
    run_with(
        Engine::Sqlite,
        "limit",
        |config| config.connections_max = 1,
        |server| async move {
            let mut first = server.client("T0000001").await;
            let echo = first.network(301);
            assert_eq!(first.call(&echo).await.code(), "00");
            let mut second = server.client("T0000003").await;
            let echo = second.network(301);
            second.send(&echo).await;
            let waited = tokio::time::timeout(Duration::from_millis(300), second.recv()).await;
            assert!(
                waited.is_err(),
                "the second connection is not served while the first is open"
            );
            drop(first);
            let response = Response(second.recv().await.expect("served once a slot is free"));
            assert_eq!(response.code(), "00");
        },
    );
}
