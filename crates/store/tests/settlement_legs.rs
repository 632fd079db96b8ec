//! Settlements and their legs on both engines: the legs ride in their
//! settlement's row (migration 11), round-trip through writes and lists,
//! and the legs of the earlier layout survive the migration; a pass's plan
//! reads only the documents that may hold what it looks for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceRow};
use store::{
    EngineKind, ItemSums, RunWrite, Settlement, SettlementLeg, SettlementQuery, SettlementRun,
    Store, WriteOp, WriteOutcome,
};

const NOW: u64 = 1_700_000_000_000_000_000;
const RUN: &str = "SR-20261124-T1";

store::on_both_engines!(
    legs_are_written_and_listed_with_their_settlement,
    legs_of_the_separate_table_survive_its_migration,
    plan_documents_are_narrowed_by_their_hint,
);

fn leg(account: &str, kind: &str, amount_minor: i64, transfer_id: u128) -> SettlementLeg {
    let suffix = if kind == "debit" { "-D" } else { "" };
    SettlementLeg {
        account: account.into(),
        kind: kind.into(),
        amount_minor,
        payout_id: format!("PO-20261124-T1-1-{account}{suffix}"),
        transfer_id,
        payout_status: String::new(),
    }
}

fn settlement(mid: &str, legs: Vec<SettlementLeg>) -> Settlement {
    Settlement {
        run_id: RUN.into(),
        pass: 1,
        mid: mid.into(),
        business_date: "2026-11-24".into(),
        cycle: "T1".into(),
        items: 3,
        sums: ItemSums {
            captures_minor: 1_000,
            refunds_minor: 100,
            fees_minor: 6,
            ..ItemSums::default()
        },
        net_minor: 894,
        outcome: if legs.is_empty() { "unbound" } else { "payout" }.into(),
        legs,
    }
}

fn run(settlements: u64, status: &str) -> SettlementRun {
    SettlementRun {
        run_id: RUN.into(),
        business_date: "2026-11-24".into(),
        cycle: "T1".into(),
        status: status.into(),
        passes: 1,
        covered_seq: 0,
        pass_to_seq: 9,
        pass_done_mid: String::new(),
        settlements,
        items: 3 * settlements,
        created_at_ns: NOW,
        updated_at_ns: NOW,
    }
}

fn payout(id: &str, status: &str) -> ResourcePut {
    ResourcePut::create(ResourceRow {
        kind: "payout".into(),
        id: id.into(),
        scope: String::new(),
        status: status.into(),
        version: 1,
        document: "{}".into(),
        created_at_ns: NOW,
        updated_at_ns: NOW,
    })
}

fn put_payouts(store: &mut Store) {
    let api = ApiWrite {
        change: ApiChange::PutResources(vec![
            payout("PO-20261124-T1-1-ACC,%;B", "approved"),
            payout("PO-20261124-T1-1-ACC-A-D", "sent"),
        ]),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    store.write(vec![WriteOp::Api(Box::new(api))], NOW).unwrap();
}

fn all(store: &mut Store, query: SettlementQuery) -> Vec<Settlement> {
    store
        .settlements(&SettlementQuery {
            limit: 100,
            ..query
        })
        .unwrap()
}

fn expected() -> Vec<Settlement> {
    let mut first = settlement(
        "100000000000001",
        vec![
            leg("ACC-A", "debit", 70, 0x5E << 120 | 1 << 16),
            leg("ACC,%;B", "credit", 964, 0x5E << 120 | 1 << 16 | 1),
        ],
    );
    first.legs.sort_by(|a, b| a.account.cmp(&b.account));
    first.legs[0].payout_status = "approved".into();
    first.legs[1].payout_status = "sent".into();
    vec![first, settlement("100000000000002", Vec::new())]
}

fn check_lists(store: &mut Store) {
    let want = expected();
    assert_eq!(all(store, SettlementQuery::default()), want);
    let by_run = SettlementQuery {
        run_id: Some(RUN.into()),
        ..SettlementQuery::default()
    };
    assert_eq!(all(store, by_run), want);
    let by_mid = SettlementQuery {
        mid: Some("100000000000002".into()),
        business_date: Some("2026-11-24".into()),
        ..SettlementQuery::default()
    };
    assert_eq!(all(store, by_mid), want[1..]);
    let totals = store.settlement_payout_totals(RUN, 1).unwrap();
    let summed: Vec<(&str, i64, u64)> = totals
        .iter()
        .map(|t| (t.payout_id.as_str(), t.amount_minor, t.merchants))
        .collect();
    assert_eq!(
        summed,
        [
            ("PO-20261124-T1-1-ACC,%;B", 964, 1),
            ("PO-20261124-T1-1-ACC-A-D", 70, 1)
        ]
    );
    assert!(store.settlement_payout_totals(RUN, 2).unwrap().is_empty());
}

fn legs_are_written_and_listed_with_their_settlement(url: &str) {
    let mut store = Store::open(url).unwrap();
    let mut settlements = expected();
    for leg in &mut settlements[0].legs {
        leg.payout_status.clear();
    }
    let write = RunWrite {
        run: run(2, "running"),
        expected: None,
        settlements,
        resources: Vec::new(),
    };
    let outcomes = store
        .write(vec![WriteOp::SettlementRun(Box::new(write))], NOW)
        .unwrap();
    assert_eq!(outcomes, vec![WriteOutcome::SettlementRun(true)]);
    put_payouts(&mut store);
    check_lists(&mut store);
    drop(store);
    check_lists(&mut Store::open(url).unwrap());
}

/// Migration 11 packs the rows of `settlement_legs` into their
/// settlement's `legs`, escaping what needs it.
fn legs_of_the_separate_table_survive_its_migration(url: &str) {
    let mut store = Store::open(url).unwrap();
    let (id, hex): (&str, fn(&str) -> String) = match store.kind() {
        EngineKind::Sqlite => ("BLOB", |h| format!("X'{h}'")),
        EngineKind::Postgres => ("BYTEA", |h| format!("decode('{h}', 'hex')")),
    };
    let sums = "3, 1000, 100, 6, 0, 0, 0, 0, 0, 894";
    let key = |mid: &str| format!("{RUN}/000001/{mid}");
    let sql = format!(
        "DROP TABLE settlements; \
         CREATE TABLE settlements (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, \
         pass BIGINT NOT NULL, mid TEXT NOT NULL, business_date TEXT NOT NULL, \
         cycle TEXT NOT NULL, items BIGINT NOT NULL, captures_minor BIGINT NOT NULL, \
         refunds_minor BIGINT NOT NULL, fees_minor BIGINT NOT NULL, \
         chargebacks_minor BIGINT NOT NULL, adjustments_minor BIGINT NOT NULL, \
         discounts_minor BIGINT NOT NULL, fee_share_minor BIGINT NOT NULL, \
         points BIGINT NOT NULL, net_minor BIGINT NOT NULL, outcome TEXT NOT NULL); \
         CREATE TABLE settlement_legs (key TEXT NOT NULL, account TEXT NOT NULL, \
         kind TEXT NOT NULL, amount_minor BIGINT NOT NULL, payout_id TEXT NOT NULL, \
         transfer_id {id} NOT NULL, PRIMARY KEY (key, account, kind)); \
         INSERT INTO settlements VALUES ('{k1}', '{RUN}', 1, '100000000000001', '2026-11-24', \
         'T1', {sums}, 'payout'); \
         INSERT INTO settlements VALUES ('{k2}', '{RUN}', 1, '100000000000002', '2026-11-24', \
         'T1', {sums}, 'unbound'); \
         INSERT INTO settlement_legs VALUES ('{k1}', 'ACC-A', 'debit', 70, \
         'PO-20261124-T1-1-ACC-A-D', {t1}); \
         INSERT INTO settlement_legs VALUES ('{k1}', 'ACC,%;B', 'credit', 964, \
         'PO-20261124-T1-1-ACC,%;B', {t2}); \
         DELETE FROM schema_migrations WHERE version = 11;",
        k1 = key("100000000000001"),
        k2 = key("100000000000002"),
        t1 = hex("5E000000000000000000000000010000"),
        t2 = hex("5e000000000000000000000000010001"),
    );
    store.execute_sql(&sql).unwrap();
    put_payouts(&mut store);
    drop(store);
    check_lists(&mut Store::open(url).unwrap());
}

/// The engine's text filter only narrows: every document that could hold
/// the key (spelled plainly or with a `\u` escape) is returned.
fn plan_documents_are_narrowed_by_their_hint(url: &str) {
    let mut store = Store::open(url).unwrap();
    let merchant = |id: &str, status: &str, document: &str| {
        ResourcePut::create(ResourceRow {
            kind: "merchant".into(),
            id: id.into(),
            scope: id.into(),
            status: status.into(),
            version: 1,
            document: document.into(),
            created_at_ns: NOW,
            updated_at_ns: NOW,
        })
    };
    let api = ApiWrite {
        change: ApiChange::PutResources(vec![
            merchant("M1", "live", r#"{"risk_hold":true}"#),
            merchant("M2", "live", r#"{"name":"plain"}"#),
            merchant("M3", "live", r#"{"risk\u005fhold":true}"#),
            merchant("M4", "closed", r#"{"RISK_HOLD":false,"name":"100%_!"}"#),
            merchant("M5", "live", r#"{"name":"risk"}"#),
        ]),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    store.write(vec![WriteOp::Api(Box::new(api))], NOW).unwrap();
    let ids = |store: &mut Store, status: Option<&str>, hint: Option<&str>| -> Vec<String> {
        store
            .settlement_plan_documents("merchant", status, hint)
            .unwrap()
            .into_iter()
            .map(|(id, scope, _)| {
                assert_eq!(id, scope);
                id
            })
            .collect()
    };
    assert_eq!(ids(&mut store, None, None), ["M1", "M2", "M3", "M4", "M5"]);
    assert_eq!(
        ids(&mut store, Some("live"), None),
        ["M1", "M2", "M3", "M5"]
    );
    let hinted = ids(&mut store, None, Some("risk_hold"));
    // M4 only on an engine whose LIKE ignores case (SQLite): a wider
    // match, never a narrower one.
    assert!(
        hinted == ["M1", "M3"] || hinted == ["M1", "M3", "M4"],
        "{hinted:?}"
    );
    assert_eq!(
        ids(&mut store, Some("live"), Some("risk_hold")),
        ["M1", "M3"]
    );
    let (_, _, document) = store
        .settlement_plan_documents("merchant", None, Some("risk_hold"))
        .unwrap()
        .remove(1);
    assert_eq!(document, r#"{"risk\u005fhold":true}"#);
}
