//! Helpers of the accounts, bindings, approvals and transactions tests
//! (included with `#[path]` after `api_support.rs`; in a folder so it is
//! not a test binary of its own).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use host::records::{MerchantRecord, Record, TerminalRecord, TransactionRecord};
use ledger::{AccountFlags, AccountId, LedgerId, NewAccount, NewTransfer, TransferId};
use serde_json::{Value, json};
use store::api::{ApiChange, ApiOutcome, ApiWrite, ResourcePut, ResourceRow};

use crate::support::{ADMIN, Harness};

pub const MID_1: &str = "100000000000001";
pub const MID_2: &str = "100000000000002";
pub const MID_3: &str = "100000000000003";

/// Writes resources directly (as the merchants' endpoints would).
pub async fn put_resources(h: &Harness, rows: Vec<ResourceRow>) {
    let write = ApiWrite {
        change: ApiChange::PutResources(rows.into_iter().map(ResourcePut::create).collect()),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    let outcomes = h
        .state
        .write(vec![store::WriteOp::Api(Box::new(write))])
        .await
        .unwrap();
    assert!(
        matches!(
            outcomes.first(),
            Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. }))
        ),
        "{outcomes:?}"
    );
}

fn resource(kind: &str, id: &str, scope: &str, status: &str, document: &Value) -> ResourceRow {
    ResourceRow {
        kind: kind.to_owned(),
        id: id.to_owned(),
        scope: scope.to_owned(),
        status: status.to_owned(),
        version: 0,
        document: document.to_string(),
        created_at_ns: crate::support::T0_NS,
        updated_at_ns: crate::support::T0_NS,
    }
}

/// The sandbox merchants and terminals are `merchant` and `terminal`
/// resources (seeded with the sandbox); checks they are there.
pub async fn seed_merchants(h: &Harness) {
    for merchant in domain::sandbox::merchants() {
        let path = format!("/v1/merchants/{}", merchant.mid);
        let reply = h.get(&path, ADMIN).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
}

/// A new API key of `role` and `scope`.
pub async fn new_key(h: &Harness, role: &str, scope: &str) -> String {
    let body = json!({"role": role, "scope": scope, "label": "test"}).to_string();
    let reply = h.post("/v1/api-keys", ADMIN, &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["key"].as_str().unwrap().to_owned()
}

/// Creates an account as the operator and returns its document.
pub async fn new_account(h: &Harness, body: &Value) -> Value {
    let reply = h.post("/v1/accounts", ADMIN, &body.to_string()).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

/// A joint account of `owners` needing `required` approvals for bindings.
pub fn joint(id: &str, owners: &[&str], required: usize) -> Value {
    let owners: Vec<Value> = owners
        .iter()
        .map(|o| json!({"party": o, "name": o}))
        .collect();
    json!({"id": id, "kind": "joint", "name": format!("{id} owners"), "bank": "DEMOBANK",
        "owners": owners,
        "policy": {"binding_approvals_required": required, "payout_threshold": null,
            "payout_approvals_required": 0}})
}

/// Requests a binding of `mid` as `key`.
pub async fn request_binding(
    h: &Harness,
    key: &str,
    mid: &str,
    body: &Value,
) -> crate::support::Reply {
    h.post(
        &format!("/v1/merchants/{mid}/bindings"),
        key,
        &body.to_string(),
    )
    .await
}

/// `{"splits": [{account, share_bps: 10000}]}`.
pub fn whole(account: &str) -> Value {
    json!({"splits": [{"account": account, "share_bps": 10000}]})
}

pub async fn decide(h: &Harness, key: &str, approval: &str, verb: &str) -> crate::support::Reply {
    h.post(&format!("/v1/approvals/{approval}/{verb}"), key, "{}")
        .await
}

/// The in-force answer for `mid` on `date`.
pub async fn in_force(h: &Harness, mid: &str, date: &str, terminal: Option<&str>) -> Value {
    let mut path = format!("/v1/merchants/{mid}/bindings/in-force?date={date}");
    if let Some(tid) = terminal {
        path.push_str(&format!("&terminal={tid}"));
    }
    let reply = h.get(&path, ADMIN).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

/// A transaction record.
pub fn transaction(
    rrn: &str,
    mid: &str,
    tid: &str,
    masked: &str,
    de7: &str,
    amount: i64,
) -> TransactionRecord {
    TransactionRecord {
        rrn: rrn.to_owned(),
        kind: "sale".to_owned(),
        tid: tid.to_owned(),
        mid: mid.to_owned(),
        request_key: format!("{tid}/0200/000001/{de7}"),
        token: String::new(),
        masked: masked.to_owned(),
        route: "onus".to_owned(),
        amount,
        code: "00".to_owned(),
        auth_code: "000001".to_owned(),
        state: "approved".to_owned(),
        batch: 1,
        refunded: 0,
        original: String::new(),
        certification: false,
        payer_account: 1,
        merchant_account: 2,
        pending_transfer: 0,
        discount: 0,
        points: 0,
        redeemed: 0,
        redeemed_value: 0,
        fee: 0,
        fee_share: 0,
        channel: String::new(),
        program: String::new(),
        at_s: 0,
    }
}

/// Writes host records (merchants, terminals, transactions).
pub async fn write_records(h: &Harness, records: Vec<Record>) {
    let rows = records.iter().map(Record::row).collect();
    h.state
        .write(vec![store::WriteOp::HostRows(rows)])
        .await
        .unwrap();
}

/// The host's merchant records of the sandbox.
pub fn merchant_records() -> Vec<Record> {
    domain::sandbox::merchants()
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            Record::Merchant(MerchantRecord {
                mid: m.mid.to_owned(),
                name: m.name.to_owned(),
                stage: m.stage.as_str().to_owned(),
                account: 1_000 + i as u128,
                participant: m.program_participant,
                mcc: m.mcc,
                fee_plan: "STANDARD".to_owned(),
                cycle: m.cycle.as_str().to_owned(),
                cutoff_minute: m.cutoff_minute,
            })
        })
        .chain(domain::sandbox::terminals().into_iter().map(|t| {
            Record::Terminal(TerminalRecord {
                tid: t.tid.to_owned(),
                mid: t.mid.to_owned(),
                initial_ksn: t.initial_ksn.to_owned(),
                mac_required: t.mac_required,
                active: true,
            })
        }))
        .collect()
}

/// Two ledger accounts (1, 2; 2 with history) and `amounts` moved 1 → 2.
pub async fn ledger_with_transfers(h: &Harness, amounts: &[u64]) {
    let ledger = LedgerId(156);
    let mut history = NewAccount::new(AccountId(2), ledger, 2);
    history.flags = AccountFlags::HISTORY;
    let mut ops = vec![store::WriteOp::CreateAccounts(vec![
        NewAccount::new(AccountId(1), ledger, 1),
        history,
    ])];
    let transfers = amounts
        .iter()
        .enumerate()
        .map(|(i, amount)| {
            NewTransfer::new(
                TransferId(100 + i as u128),
                AccountId(1),
                AccountId(2),
                *amount,
                ledger,
                1,
            )
        })
        .collect();
    ops.push(store::WriteOp::CreateTransfers(transfers));
    h.state.write(ops).await.unwrap();
}
