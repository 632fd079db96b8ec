//! The API tables through the writer path, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store::api::{ApiChange, ApiOutcome, ApiWrite, AuditEntry, DocumentRow, IdempotencyRecord};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome};

fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        time_ns: 5,
        actor_role: "operator".into(),
        actor_scope: String::new(),
        action: action.into(),
        resource: "fee-plans/A".into(),
        details: "{}".into(),
    }
}

fn plan(code: &str) -> ApiChange {
    ApiChange::CreateFeePlan(DocumentRow {
        code: code.into(),
        bank: String::new(),
        brand_partner: String::new(),
        document: format!(r#"{{"code":"{code}"}}"#),
        created_at_ns: 5,
    })
}

fn record(key: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        key_id: "key_1".into(),
        idempotency_key: key.into(),
        fingerprint: [7; 32],
        status: 201,
        body: "{}".into(),
        created_at_ns: 5,
    }
}

fn op(change: ApiChange, idempotency: Option<IdempotencyRecord>) -> Vec<WriteOp> {
    vec![WriteOp::Api(Box::new(ApiWrite {
        change,
        audit: Some(audit("fee_plan.create")),
        idempotency,
        only_after_success: false,
    }))]
}

fn outcome(outcomes: &[WriteOutcome]) -> ApiOutcome {
    match outcomes {
        [WriteOutcome::Api(outcome)] => *outcome,
        other => panic!("{other:?}"),
    }
}

fn one_batch_decides_each_request(url: &str) {
    let mut store = Store::open(url).unwrap();
    let outcomes = store
        .execute(
            vec![
                op(plan("A"), Some(record("k1"))),
                op(plan("A"), None),
                op(plan("B"), Some(record("k1"))),
                op(plan("B"), Some(record("k2"))),
            ],
            1,
        )
        .unwrap();
    let outcomes: Vec<ApiOutcome> = outcomes.iter().map(|o| outcome(o)).collect();
    assert_eq!(
        outcomes,
        [
            ApiOutcome::Applied { audit_seq: Some(1) },
            ApiOutcome::Exists,
            ApiOutcome::IdempotencyTaken,
            ApiOutcome::Applied { audit_seq: Some(2) },
        ]
    );
    drop(store);
    // A new store continues the chain from the stored head.
    let mut store = Store::open(url).unwrap();
    let again = store.write(op(plan("A"), None), 2).unwrap();
    assert_eq!(outcome(&again), ApiOutcome::Exists);
    let next = store.write(op(plan("C"), None), 2).unwrap();
    assert_eq!(outcome(&next), ApiOutcome::Applied { audit_seq: Some(3) });
    let report = store.verify_audit().unwrap();
    assert_eq!((report.events, report.broken), (3, None));
    assert_eq!(store.fee_plans("", 10).unwrap().len(), 3);
    assert_eq!(store.fee_plans("A", 1).unwrap()[0].code, "B");
    let stored = store.idempotency_record("key_1", "k1").unwrap().unwrap();
    assert_eq!(stored, record("k1"));
    assert!(store.idempotency_record("key_2", "k1").unwrap().is_none());
}

#[test]
fn sqlite_one_batch_decides_each_request() {
    one_batch_decides_each_request(TestDatabase::sqlite("api_batch").url());
}

#[test]
fn postgres_one_batch_decides_each_request() {
    if let Some(database) = TestDatabase::postgres("api_batch") {
        one_batch_decides_each_request(database.url());
    }
}
