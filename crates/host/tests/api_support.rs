//! Shared helpers of the API tests (included with `#[path]`; as its own
//! test binary it holds no tests).
#![allow(
    dead_code,
    unused_macros,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use host::api::{ApiConfig, ApiState, ManualClock, router, seed_sandbox};
use http_body_util::BodyExt;
use serde_json::Value;
use store::testing::TestDatabase;
use store::{Store, Writer, WriterConfig};
use tower::ServiceExt;

/// 2026-01-01T00:00:00Z.
pub const T0_NS: u64 = 1_767_225_600_000_000_000;

pub const ADMIN: &str = "sk_sandbox_admin";
pub const BANK: &str = "sk_sandbox_bank";
pub const BRAND: &str = "sk_sandbox_brand";
pub const MERCHANT_1: &str = "sk_sandbox_merchant_1";
pub const MERCHANT_2: &str = "sk_sandbox_merchant_2";
pub const OWNER_LIWEI: &str = "sk_sandbox_owner_liwei";
pub const OWNER_ZHANGMIN: &str = "sk_sandbox_owner_zhangmin";

/// Every sandbox key, in the column order of the matrix.
pub const KEYS: [&str; 7] = [
    ADMIN,
    BANK,
    BRAND,
    MERCHANT_1,
    MERCHANT_2,
    OWNER_LIWEI,
    OWNER_ZHANGMIN,
];

pub struct Harness {
    pub state: ApiState,
    pub router: axum::Router,
    pub clock: Arc<ManualClock>,
    pub url: String,
    writer: Option<Writer>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        // The writer thread returns its Store; dropping it closes a sync
        // PostgreSQL client, which must not happen inside an async task.
        if let Some(writer) = self.writer.take() {
            std::thread::spawn(move || drop(writer));
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Runs a blocking call (the sync PostgreSQL client) from a test task.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Runs `test` on a sandbox-seeded API over `database`, then drops it.
pub async fn run<F, Fut>(database: TestDatabase, test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let h = harness(database.url()).await;
    let _database = DropOnThread(Some(database));
    test(h).await;
}

/// Drops a test database on a plain thread (the sync PostgreSQL client may
/// not run inside an async task), also while a failed test unwinds.
struct DropOnThread(Option<TestDatabase>);

impl Drop for DropOnThread {
    fn drop(&mut self) {
        if let Some(database) = self.0.take() {
            let _ = std::thread::spawn(move || drop(database)).join();
        }
    }
}

/// A sandbox-seeded API over the database at `url`.
pub async fn harness(url: &str) -> Harness {
    let url = url.to_owned();
    let store = blocking(|| Store::open(&url)).expect("open store");
    let writer = Writer::start(store, WriterConfig::default()).expect("writer");
    let clock = Arc::new(ManualClock::new(T0_NS));
    let config = ApiConfig {
        database_url: url.clone(),
        key_pepper: b"test pepper".to_vec(),
        sandbox: true,
    };
    let state = ApiState::new(config, writer.handle(), clock.clone());
    seed_sandbox(&state).await.expect("seed");
    Harness {
        router: router(state.clone()),
        state,
        clock,
        url,
        writer: Some(writer),
    }
}

/// A request with optional key, body (JSON content type) and headers.
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub key: Option<&'a str>,
    pub body: Option<&'a str>,
    pub headers: Vec<(&'a str, &'a str)>,
}

pub fn call<'a>(method: &'a str, path: &'a str, key: Option<&'a str>) -> Call<'a> {
    Call {
        method,
        path,
        key,
        body: None,
        headers: Vec::new(),
    }
}

impl<'a> Call<'a> {
    pub fn body(mut self, body: &'a str) -> Self {
        self.body = Some(body);
        self.headers.push(("content-type", "application/json"));
        self
    }
    pub fn raw_body(mut self, body: &'a str) -> Self {
        self.body = Some(body);
        self
    }
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl Harness {
    pub async fn send(&self, call: Call<'_>) -> Reply {
        let mut request = Request::builder().method(call.method).uri(call.path);
        if let Some(key) = call.key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in &call.headers {
            request = request.header(*name, *value);
        }
        let body = call
            .body
            .map_or_else(Body::empty, |b| Body::from(b.to_owned()));
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(call("GET", path, Some(key))).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &str) -> Reply {
        self.send(call("POST", path, Some(key)).body(body)).await
    }

    /// A state and router over the same database, NOT in sandbox mode.
    pub fn production(&self) -> (ApiState, axum::Router) {
        let config = ApiConfig {
            database_url: self.url.clone(),
            key_pepper: b"test pepper".to_vec(),
            sandbox: false,
        };
        let handle = self.writer.as_ref().unwrap().handle();
        let state = ApiState::new(config, handle, self.clock.clone());
        (state.clone(), router(state))
    }

    /// Sends `call` to another router.
    pub async fn send_to(&self, router: &axum::Router, call: Call<'_>) -> Reply {
        let other = Harness {
            state: self.state.clone(),
            router: router.clone(),
            clock: self.clock.clone(),
            url: self.url.clone(),
            writer: None,
        };
        other.send(call).await
    }

    /// Audit events stored.
    pub async fn audit_count(&self) -> u64 {
        self.state
            .read(|store| store.verify_audit())
            .await
            .unwrap()
            .events
    }

    /// Runs raw SQL on a second connection (tampering).
    pub fn sql(&self, sql: &str) {
        blocking(|| {
            let mut store = Store::open(&self.url).unwrap();
            store.execute_sql(sql).unwrap();
        });
    }
}

/// A valid fee plan body with `code`.
pub fn fee_plan(code: &str) -> String {
    format!(
        r#"{{"code":"{code}","channels":{{"credit":{{"rate_bps":60}},
        "debit":{{"rate_bps":50,"cap":{{"amount_minor":2500,"currency":"CNY"}}}},
        "wallet_qr":{{"rate_bps":38}},"unionpay_qr":{{"rate_bps":60}}}},
        "mcc_overrides":[{{"mcc":"5814","channel":"credit","rate_bps":45}}],
        "refund_policy":"keep"}}"#
    )
}

/// A valid program body.
pub fn program(code: &str, bank: &str, brand: &str) -> String {
    format!(
        r#"{{"code":"{code}","name":"Test program","bank":"{bank}","brand_partner":"{brand}",
        "bin_ranges":["622588","62258801"],
        "discount":{{"rate_bps":1000,"cap":{{"amount_minor":2000,"currency":"CNY"}}}},
        "points":{{"unit":{{"amount_minor":100,"currency":"CNY"}},"points_per_unit":1,"points_per_unit_participating":2}},
        "fee_share_bps":2000}}"#
    )
}

/// Asserts `reply` is a problem document with `status`.
pub fn assert_problem(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert!(
        reply.content_type().starts_with("application/problem+json"),
        "content type {} of {}",
        reply.content_type(),
        reply.text
    );
    let body = reply.json();
    assert_eq!(body["status"], status, "{body}");
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
}

/// Generates `mod sqlite` and `mod postgres` with one test per name.
macro_rules! engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let database = store::testing::TestDatabase::sqlite(stringify!($name));
                crate::support::run(database, super::$name).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let database = crate::support::blocking(|| {
                    store::testing::TestDatabase::postgres(stringify!($name))
                });
                let Some(database) = database else { return };
                crate::support::run(database, super::$name).await;
            })*
        }
    };
}
