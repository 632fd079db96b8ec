//! `posbridge audit verify` on sound and tampered audit logs, both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use store::api::{ApiChange, ApiWrite, AuditEntry};
use store::testing::TestDatabase;
use store::{Store, WriteOp};

fn verify(url: &str, head: Option<&str>) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_posbridge"));
    command.args(["audit", "verify", "--db", url]);
    if let Some(head) = head {
        command.args(["--head", head]);
    }
    let output: Output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// Five events, seq 1..=5; returns the head hash (hex).
fn populate(url: &str) -> String {
    let mut store = Store::open(url).unwrap();
    for i in 1..=5u64 {
        let entry = AuditEntry {
            time_ns: 1_000 * i,
            actor_role: "operator".into(),
            actor_scope: String::new(),
            action: "fee_plan.create".into(),
            resource: format!("fee-plans/P{i}"),
            details: format!(r#"{{"code":"P{i}"}}"#),
        };
        let write = ApiWrite {
            change: ApiChange::None,
            audit: Some(entry),
            idempotency: None,
            only_after_success: false,
        };
        store.write(vec![WriteOp::Api(Box::new(write))], 1).unwrap();
    }
    let report = store.verify_audit().unwrap();
    assert_eq!(report.events, 5);
    report.head.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tampering statements and the words the report must contain.
const TAMPERING: &[(&str, &str, &str)] = &[
    (
        "edit",
        "UPDATE audit_events SET details = '{\"code\":\"EVIL\"}' WHERE seq = 3",
        "event 3 does not match its hash",
    ),
    (
        "delete",
        "DELETE FROM audit_events WHERE seq = 2",
        "expected event 2, found event 3",
    ),
    (
        "reorder",
        "UPDATE audit_events SET seq = 100 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 4; \
         UPDATE audit_events SET seq = 4 WHERE seq = 100",
        "BROKEN at event 2",
    ),
    (
        "actor",
        "UPDATE audit_events SET actor_role = 'bank' WHERE seq = 5",
        "event 5 does not match its hash",
    ),
];

fn sound_then_tampered(url_of: &dyn Fn(&str) -> Option<TestDatabase>) {
    for (name, sql, expected) in TAMPERING {
        let Some(database) = url_of(name) else { return };
        let url = database.url();
        let head = populate(url);
        let (code, text) = verify(url, Some(&head));
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("audit chain sound: 5 events"), "{text}");
        Store::open(url).unwrap().execute_sql(sql).unwrap();
        let (code, text) = verify(url, None);
        assert_eq!(code, Some(1), "{name}: {text}");
        assert!(text.contains(expected), "{name}: {text}");
    }
}

fn truncation_caught_with_published_head(database: &TestDatabase) {
    let url = database.url();
    let head = populate(url);
    Store::open(url)
        .unwrap()
        .execute_sql("DELETE FROM audit_events WHERE seq = 5")
        .unwrap();
    // Without the published head, a truncated chain is still a sound chain.
    assert_eq!(verify(url, None).0, Some(0));
    let (code, text) = verify(url, Some(&head));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("is not in the chain"), "{text}");
    let (code, text) = verify(url, Some("xyz"));
    assert_eq!(code, Some(2), "{text}");
}

#[test]
fn sqlite_tampering_is_detected() {
    sound_then_tampered(&|name| Some(TestDatabase::sqlite(&format!("audit_{name}"))));
}

#[test]
fn postgres_tampering_is_detected() {
    sound_then_tampered(&|name| TestDatabase::postgres(&format!("audit_{name}")));
}

#[test]
fn sqlite_truncation_caught_with_published_head() {
    truncation_caught_with_published_head(&TestDatabase::sqlite("audit_truncate"));
}

#[test]
fn postgres_truncation_caught_with_published_head() {
    if let Some(database) = TestDatabase::postgres("audit_truncate") {
        truncation_caught_with_published_head(&database);
    }
}

#[test]
fn empty_log_is_sound_and_missing_file_is_bad_input() {
    let database = TestDatabase::sqlite("audit_empty");
    Store::open(database.url()).unwrap();
    let (code, text) = verify(database.url(), None);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("audit chain sound: 0 events"), "{text}");
    let (code, _) = verify("sqlite:/nonexistent/dir/none.db", None);
    assert_eq!(code, Some(2));
}
