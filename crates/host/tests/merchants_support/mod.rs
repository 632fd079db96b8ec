//! Test support of the merchant tests: the real server (`iso_support`),
//! an HTTP/1.1 client over TCP, the `terminal` crate's POS terminal for
//! registered terminals, and direct resource writes through the host.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use cardsec::{Pin, TdesKey};
use domain::sandbox;
use host::admin::{AdminChange, AdminError};
use host::service::Host;
use serde_json::Value;
use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceRow};
use terminal::card::{Card, EntryMode};
use terminal::clock::SystemClock;
use terminal::keys::InitialKey;
use terminal::state::TerminalState;
use terminal::{CardRead, Outcome, Terminal, TerminalConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const ADMIN: &str = "sk_sandbox_admin";
pub const BANK: &str = "sk_sandbox_bank";
pub const BRAND: &str = "sk_sandbox_brand";
pub const MERCHANT_1: &str = "sk_sandbox_merchant_1";
pub const MERCHANT_2: &str = "sk_sandbox_merchant_2";

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    /// Field names of a 422's `errors`.
    pub fn fields(&self) -> Vec<String> {
        assert_eq!(self.status, 422, "{}", self.text);
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The `missing` list of a refused onboarding gate (409).
    pub fn missing(&self) -> Vec<String> {
        assert_eq!(self.status, 409, "{}", self.text);
        assert!(
            self.head
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{}",
            self.head
        );
        self.json()["missing"]
            .as_array()
            .unwrap_or_else(|| panic!("no missing list: {}", self.text))
            .iter()
            .map(|e| e.as_str().unwrap().to_owned())
            .collect()
    }
}

/// A client of the server's HTTP API over real TCP connections.
#[derive(Clone, Copy, Debug)]
pub struct Http(pub SocketAddr);

impl Http {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        self.send_with(method, path, key, body, &[]).await
    }

    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        if let Some(key) = key {
            request.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method != "GET" {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let mut stream = tokio::net::TcpStream::connect(self.0).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            stream.read_to_string(&mut response),
        )
        .await
        .expect("the server answers")
        .unwrap();
        let (head, text) = response.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        Reply {
            status,
            head: head.to_owned(),
            text: text.to_owned(),
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send("GET", path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &str) -> Reply {
        self.send("POST", path, Some(key), Some(body)).await
    }

    pub async fn put(&self, path: &str, key: &str, body: &str) -> Reply {
        self.send("PUT", path, Some(key), Some(body)).await
    }
}

/// A merchant application body.
pub fn merchant_body(mid: &str, name: &str) -> String {
    format!(
        r#"{{"mid":"{mid}","name":"{name}","mcc":"5812",
        "address":{{"line1":"8 Noodle Lane","city":"Shanghai","postal_code":"200001","country":"CN"}},
        "legal_entity":{{"name":"{name} Ltd","registration_number":"91310000MA1K"}}}}"#
    )
}

/// A contract body.
pub fn contract_body(cycle: &str, programs: &str) -> String {
    format!(
        r#"{{"fee_plan":"STANDARD","settlement_cycle":"{cycle}","cut_off":"22:30",
        "liability_split":{{"merchant_bps":7000,"acquirer_bps":3000}},"programs":{programs}}}"#
    )
}

/// The key set id of the sandbox BDK.
pub fn sandbox_key_set() -> String {
    host::admin::key_set_id(&TdesKey::from_hex(sandbox::BDK_HEX).unwrap())
}

/// A terminal registration body (model PAX A920).
pub fn terminal_body(tid: &str, mid: &str, ksn: &str, mac: bool) -> String {
    terminal_body_of_model(tid, mid, ksn, mac, "PAX A920")
}

/// A terminal registration body of `model`.
pub fn terminal_body_of_model(tid: &str, mid: &str, ksn: &str, mac: bool, model: &str) -> String {
    format!(
        r#"{{"tid":"{tid}","mid":"{mid}","model":"{model}","capabilities":["chip","contactless","swipe","pin"],
        "key_set":"{}","initial_ksn":"{ksn}","mac_required":{mac}}}"#,
        sandbox_key_set()
    )
}

/// Writes a `binding` resource as the accounts endpoints shape it.
pub async fn put_binding(host: &Host, id: &str, mid: &str, status: &str) {
    let document = serde_json::json!({"id": id, "mid": mid, "terminals": [],
        "splits": [{"account": "ACC-SINGLE-3", "share_bps": 10000}],
        "effective_from": "2026-01-01", "requested_by": {"role": "operator"},
        "created_at": "2026-01-01T00:00:00.000Z"});
    let row = ResourceRow {
        kind: "binding".into(),
        id: id.into(),
        scope: mid.into(),
        status: status.into(),
        version: 0,
        document: document.to_string(),
        created_at_ns: 1,
        updated_at_ns: 1,
    };
    let write = ApiWrite {
        change: ApiChange::PutResources(vec![ResourcePut::create(row)]),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    let op = store::WriteOp::Api(Box::new(write));
    let outcome = host
        .admin_change(|_| {
            Ok::<_, AdminError>(AdminChange {
                api: Some(op),
                ..AdminChange::default()
            })
        })
        .await
        .unwrap();
    assert!(outcome.applied(), "{outcome:?}");
}

/// A POS terminal of the `terminal` crate for a registered terminal: its
/// IPEK derived from the sandbox BDK and the initial KSN registered.
pub fn pos(address: SocketAddr, tid: &str, mid: &str, ksn: &str, timeout: Duration) -> Terminal {
    let state = TerminalState::new(tid, mid, ksn).unwrap();
    let bdk = TdesKey::from_hex(sandbox::BDK_HEX).unwrap();
    let ipek = InitialKey::Bdk(bdk).ipek(ksn).unwrap();
    let mut config = TerminalConfig::new(&address.to_string());
    config.response_timeout = timeout;
    Terminal::new(state, ipek, config, Box::new(SystemClock)).unwrap()
}

/// The sandbox's co-brand chip card.
pub fn chip_card() -> Card {
    let imk = TdesKey::from_hex(sandbox::PROGRAM_IMK_AC_HEX).unwrap();
    Card::new("6225880000000019", "3012")
        .unwrap()
        .with_chip(Some(imk), 0)
}

/// The sandbox's well-funded debit card.
pub fn debit_card() -> Card {
    Card::new("6217000000000014", "3012").unwrap()
}

/// The sandbox's off-us Visa card.
pub fn visa_card() -> Card {
    Card::new("4761739001010010", "3012").unwrap()
}

pub fn pin() -> Pin {
    Pin::new(sandbox::CARD_PIN).unwrap()
}

/// A sale on `terminal`.
pub fn sale(
    terminal: &mut Terminal,
    card: &Card,
    entry: EntryMode,
    pin: Option<&Pin>,
    amount: u64,
) -> Outcome {
    terminal
        .sale(CardRead { card, entry, pin }, amount)
        .unwrap()
}

/// Runs blocking terminal traffic off the async runtime.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}
