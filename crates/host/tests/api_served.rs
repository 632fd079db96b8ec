//! The accounts API against the real server (`host::server::start`, real
//! TCP, the system clock) on both engines: a joint binding approved by both
//! owners, and a real ISO 8583 sale read back through `/v1/transactions`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use std::net::SocketAddr;

use iso_support::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

both_engines!(
    joint_binding_over_the_real_server,
    a_real_sale_is_listed_masked_and_scoped
);

/// One HTTP/1.1 request; the status and the JSON body.
async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    body: &str,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n"
    );
    if !body.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let (_, text) = response.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(text).unwrap_or(Value::Null))
}

fn business_date_now() -> String {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    domain::settlement::bindings::effective_from(i64::try_from(now_s).unwrap(), 8 * 3600, 23 * 60)
        .unwrap()
        .to_string()
}

async fn joint_binding_over_the_real_server(server: TestServer) {
    let api = server.running.http_addr;
    let body = json!({"splits": [{"account": "ACC-JOINT-1", "share_bps": 10000}]}).to_string();
    let before = business_date_now();
    let (status, binding) = http(
        api,
        "POST",
        &format!("/v1/merchants/{MID1}/bindings"),
        "sk_sandbox_merchant_1",
        &body,
    )
    .await;
    assert_eq!(status, 201, "{binding}");
    assert_eq!(binding["status"], "pending_approval");
    let approval = binding["approvals"][0].as_str().unwrap().to_owned();
    let decide = async |key: &str| {
        http(
            api,
            "POST",
            &format!("/v1/approvals/{approval}/approve"),
            key,
            "{}",
        )
        .await
    };
    let (status, first) = decide("sk_sandbox_owner_liwei").await;
    assert_eq!(
        (status, first["status"].clone()),
        (200, json!("pending")),
        "{first}"
    );
    let (status, _) = decide("sk_sandbox_owner_liwei").await;
    assert_eq!(status, 409, "each owner counts once");
    let (status, second) = decide("sk_sandbox_owner_zhangmin").await;
    assert_eq!(
        (status, second["subject_status"].clone()),
        (200, json!("approved")),
        "{second}"
    );
    let after = business_date_now();
    let (status, history) = http(
        api,
        "GET",
        &format!("/v1/merchants/{MID1}/bindings"),
        "sk_sandbox_admin",
        "",
    )
    .await;
    assert_eq!(status, 200);
    let items = history["items"].as_array().unwrap();
    let new = items.iter().find(|b| b["id"] == binding["id"]).unwrap();
    let from = new["effective_from"].as_str().unwrap();
    assert!(
        from == before || from == after,
        "{from} is the next business date"
    );
    let sandbox = items
        .iter()
        .find(|b| b["id"] == "BND-SANDBOX-100000000000001")
        .unwrap();
    assert_eq!(sandbox["status"], "superseded");
    let (_, in_force) = http(
        api,
        "GET",
        &format!("/v1/merchants/{MID1}/bindings/in-force?date={from}"),
        "sk_sandbox_merchant_1",
        "",
    )
    .await;
    assert_eq!(in_force["binding"]["id"], binding["id"]);
    let (_, report) = http(api, "GET", "/v1/audit/verify", "sk_sandbox_admin", "").await;
    assert_eq!(report["ok"], true, "{report}");
    let (_, events) = http(
        api,
        "GET",
        "/v1/audit?action=approval.approve",
        "sk_sandbox_admin",
        "",
    )
    .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 2);
}

async fn a_real_sale_is_listed_masked_and_scoped(server: TestServer) {
    let mut client = server.client("T0000001").await;
    let sale = client.sale(COBRAND, 5_000, MID1);
    let answer = client.call(&sale).await;
    assert_eq!(answer.code(), "00");
    let rrn = answer.rrn();
    let api = server.running.http_addr;
    let path = format!("/v1/transactions/{rrn}");
    let (status, transaction) = http(api, "GET", &path, "sk_sandbox_merchant_1", "").await;
    assert_eq!(status, 200, "{transaction}");
    assert_eq!(transaction["masked_pan"], "622588******0027");
    assert_eq!(transaction["amount"]["amount_minor"], 5_000);
    assert_eq!(transaction["program"], "DBCOFFEE");
    assert_eq!(transaction["channel"], "credit");
    assert!(transaction["business_date"].is_string(), "{transaction}");
    assert!(!transaction.to_string().contains(COBRAND));
    assert_eq!(http(api, "GET", &path, "sk_sandbox_brand", "").await.0, 200);
    assert_eq!(http(api, "GET", &path, "sk_sandbox_bank", "").await.0, 200);
    assert_eq!(
        http(api, "GET", &path, "sk_sandbox_merchant_2", "").await.0,
        404
    );
    assert_eq!(
        http(api, "GET", &path, "sk_sandbox_owner_liwei", "")
            .await
            .0,
        403
    );
    let (_, list) = http(
        api,
        "GET",
        "/v1/transactions?merchant=100000000000001",
        "sk_sandbox_admin",
        "",
    )
    .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == rrn.as_str())
    );
    assert!(!list.to_string().contains(COBRAND));
}
