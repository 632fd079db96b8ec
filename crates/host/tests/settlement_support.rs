//! A scripted settlement day shared by the settlement tests (included with
//! `#[path]`), and the expected figures computed independently from its
//! items and plan (plain arithmetic, not the settlement code).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use host::records::{MerchantRecord, Record};
use host::seed::{LEDGER_CNY, LEDGER_CODE};
use ledger::{AccountId, NewAccount};
use serde_json::json;
use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceRow};
use store::{SettlementItem, WriteOp};

pub const DATE: &str = "2026-11-24";
pub const M1: &str = "100000000000001";
pub const M2: &str = "100000000000002";
pub const M3: &str = "100000000000003";
pub const M4: &str = "100000000000004";
pub const M5: &str = "100000000000005";
/// Payable ledger account of merchant `n` (M1 = 1).
pub fn payable(n: u128) -> u128 {
    5_000 + n
}

pub fn item(id: &str, mid: &str, tid: &str, kind: &str, amount: i64, fee: i64) -> SettlementItem {
    item_on(id, mid, tid, kind, amount, fee, DATE, "T1")
}

#[allow(clippy::too_many_arguments)]
pub fn item_on(
    id: &str,
    mid: &str,
    tid: &str,
    kind: &str,
    amount: i64,
    fee: i64,
    date: &str,
    cycle: &str,
) -> SettlementItem {
    SettlementItem {
        item_id: id.into(),
        mid: mid.into(),
        tid: tid.into(),
        rrn: id.split('/').next().unwrap().into(),
        business_date: date.into(),
        cycle: cycle.into(),
        channel: "credit".into(),
        kind: kind.into(),
        amount_minor: amount,
        fee_minor: fee,
        discount_minor: 0,
        fee_share_minor: 0,
        points: 0,
        program: String::new(),
        created_at_ns: 7,
    }
}

/// The day's items: the T+1 items of the date, plus items of another
/// cycle and another date that the run must leave alone.
pub fn items() -> Vec<SettlementItem> {
    vec![
        item(
            "000000000101/capture",
            M1,
            "T0000001",
            "capture",
            100_000,
            600,
        ),
        item(
            "000000000102/capture",
            M1,
            "T0000001",
            "capture",
            250_001,
            1_500,
        ),
        item("000000000102/refund", M1, "T0000001", "refund", -20_000, 0),
        item("000000000103/void", M1, "T0000001", "void", -5_000, -30),
        item(
            "000000000104/capture",
            M1,
            "T0000002",
            "capture",
            6_000_000,
            36_000,
        ),
        item(
            "000000000201/capture",
            M2,
            "T0000003",
            "capture",
            10_000,
            60,
        ),
        item("000000000202/refund", M2, "T0000003", "refund", -50_000, 0),
        item(
            "000000000203/chargeback",
            M2,
            "T0000003",
            "chargeback",
            -3_000,
            0,
        ),
        item(
            "000000000301/capture",
            M3,
            "T0000004",
            "capture",
            70_000,
            420,
        ),
        item(
            "000000000302/adjustment",
            M3,
            "T0000004",
            "adjustment",
            500,
            0,
        ),
        item("000000000401/capture", M4, "T0000005", "capture", 1_000, 6),
        item("000000000501/capture", M5, "T0000006", "capture", 2_000, 12),
        item_on(
            "000000000901/capture",
            M1,
            "T0000001",
            "capture",
            999,
            5,
            DATE,
            "T0",
        ),
        item_on(
            "000000000902/capture",
            M1,
            "T0000001",
            "capture",
            777,
            4,
            "2026-11-23",
            "T1",
        ),
    ]
}

fn resource(
    kind: &str,
    id: &str,
    scope: &str,
    status: &str,
    document: serde_json::Value,
) -> ResourcePut {
    ResourcePut::create(ResourceRow {
        kind: kind.into(),
        id: id.into(),
        scope: scope.into(),
        status: status.into(),
        version: 1,
        document: document.to_string(),
        created_at_ns: 1,
        updated_at_ns: 1,
    })
}

fn account(id: &str, owners: &[&str], threshold: Option<i64>, required: u64) -> ResourcePut {
    let owners: Vec<_> = owners
        .iter()
        .map(|o| json!({"party": o, "name": o}))
        .collect();
    let threshold = threshold.map(|t| json!({"amount_minor": t, "currency": "CNY"}));
    resource(
        "account",
        id,
        id,
        "open",
        json!({"id": id, "kind": "single", "name": id,
        "bank": "DEMOBANK", "owners": owners, "policy": {"binding_approvals_required": 1,
        "payout_threshold": threshold, "payout_approvals_required": required}}),
    )
}

fn binding(
    id: &str,
    mid: &str,
    status: &str,
    terminals: &[&str],
    splits: serde_json::Value,
    from: &str,
) -> ResourcePut {
    resource(
        "binding",
        id,
        mid,
        status,
        json!({"id": id, "mid": mid, "terminals": terminals,
        "splits": splits, "effective_from": from}),
    )
}

fn merchant(mid: &str, risk_hold: bool) -> ResourcePut {
    resource(
        "merchant",
        mid,
        mid,
        "live",
        json!({"mid": mid, "name": mid, "mcc": "5814",
        "stage": "live", "risk_hold": risk_hold, "contract": {"fee_plan": "STANDARD",
        "settlement_cycle": "T1", "cut_off": "23:00"}}),
    )
}

/// The resources of the day: merchants, accounts, bindings.
pub fn resources() -> Vec<ResourcePut> {
    let share = |account: &str, bps: u32| json!({"account": account, "share_bps": bps});
    vec![
        merchant(M1, false),
        merchant(M2, false),
        merchant(M3, true),
        merchant(M4, false),
        merchant(M5, false),
        account("ACC-JOINT-1", &["Li Wei", "Zhang Min"], Some(5_000_000), 1),
        account("ACC-SINGLE-2", &["Corner Grocery Ltd"], None, 0),
        account("ACC-A1", &["Li Wei"], None, 0),
        account("ACC-B1", &["Zhang Min"], None, 0),
        account("ACC-RENT-9", &["Landlord"], None, 0),
        account("ACC-H3", &["New Noodle Bar Ltd"], None, 0),
        binding(
            "BND-M1-OLD",
            M1,
            "approved",
            &[],
            json!([share("ACC-B1", 10_000)]),
            "2026-01-01",
        ),
        binding(
            "BND-M1",
            M1,
            "approved",
            &[],
            json!([
            {"account": "ACC-RENT-9", "fixed": {"amount_minor": 10_000, "currency": "CNY"}},
            share("ACC-A1", 3_333), share("ACC-B1", 6_667)]),
            "2026-11-01",
        ),
        binding(
            "BND-M1-NEXT",
            M1,
            "approved",
            &[],
            json!([share("ACC-A1", 10_000)]),
            "2026-11-25",
        ),
        binding(
            "BND-M1-ASKED",
            M1,
            "pending_approval",
            &[],
            json!([share("ACC-A1", 10_000)]),
            "2026-11-02",
        ),
        binding(
            "BND-M1-T2",
            M1,
            "approved",
            &["T0000002"],
            json!([share("ACC-JOINT-1", 10_000)]),
            "2026-11-20",
        ),
        binding(
            "BND-M2",
            M2,
            "approved",
            &[],
            json!([share("ACC-SINGLE-2", 10_000)]),
            "2026-11-01",
        ),
        binding(
            "BND-M3",
            M3,
            "approved",
            &[],
            json!([share("ACC-H3", 10_000)]),
            "2026-11-01",
        ),
        binding(
            "BND-M5",
            M5,
            "approved",
            &[],
            json!([share("ACC-A1", 10_000)]),
            "2026-11-01",
        ),
    ]
}

/// The requests that set the day up: ledger accounts and host records of
/// merchants 1 to 4 (5 has none), resources, items.
pub fn setup() -> Vec<Vec<WriteOp>> {
    let mut accounts = Vec::new();
    let mut records = Vec::new();
    for (n, mid) in (1..).zip([M1, M2, M3, M4]) {
        accounts.push(NewAccount::new(
            AccountId(payable(n)),
            LEDGER_CNY,
            LEDGER_CODE,
        ));
        records.push(
            Record::Merchant(MerchantRecord {
                mid: mid.into(),
                name: mid.into(),
                stage: "live".into(),
                account: payable(n),
                participant: false,
                mcc: 5814,
                fee_plan: "STANDARD".into(),
                cycle: "T1".into(),
                cutoff_minute: 23 * 60,
            })
            .row(),
        );
    }
    let api = ApiWrite {
        change: ApiChange::PutResources(resources()),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    vec![
        vec![
            WriteOp::CreateAccounts(accounts),
            WriteOp::HostRows(records),
            WriteOp::Api(Box::new(api)),
        ],
        vec![WriteOp::SettlementItems(items())],
    ]
}

/// Net of a merchant's items of the day and cycle: Σ amount − Σ fee
/// (amounts are signed from the merchant's side).
pub fn net_of(items: &[SettlementItem], mid: &str, tid: Option<&str>) -> i64 {
    items
        .iter()
        .filter(|i| i.business_date == DATE && i.cycle == "T1" && i.mid == mid)
        .filter(|i| tid.is_none_or(|t| i.tid == t))
        .map(|i| i.amount_minor - i.fee_minor)
        .sum()
}

/// The expected legs `(mid, account, kind) → amount` of the day's items.
pub fn expected_legs(items: &[SettlementItem]) -> BTreeMap<(String, String, String), i64> {
    let mut legs = BTreeMap::new();
    let mut put = |mid: &str, account: &str, kind: &str, amount: i64| {
        if amount != 0 {
            *legs
                .entry((mid.to_owned(), account.to_owned(), kind.to_owned()))
                .or_insert(0) += amount;
        }
    };
    // M1: T0000001 under BND-M1 (rent first, then 33.33% / the rest);
    // T0000002 under its terminal binding.
    let wide = net_of(items, M1, Some("T0000001"));
    let rent = wide.min(10_000);
    let rest = wide - rent;
    let a1 = rest * 3_333 / 10_000;
    put(M1, "ACC-RENT-9", "credit", rent);
    put(M1, "ACC-A1", "credit", a1);
    put(M1, "ACC-B1", "credit", rest - a1);
    put(
        M1,
        "ACC-JOINT-1",
        "credit",
        net_of(items, M1, Some("T0000002")),
    );
    // M2: negative → auto-debit of its account.
    put(M2, "ACC-SINGLE-2", "debit", -net_of(items, M2, None));
    // M3: held by risk.
    put(M3, "ACC-H3", "held", net_of(items, M3, None));
    legs
}
