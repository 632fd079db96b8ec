//! Versioned resources through the writer path, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store::api::{
    ApiChange, ApiOutcome, ApiWrite, IdempotencyRecord, ResourcePut, ResourceQuery, ResourceRow,
};
use store::{Store, WriteOp, WriteOutcome};

fn row(kind: &str, id: &str, scope: &str, status: &str, document: &str) -> ResourceRow {
    ResourceRow {
        kind: kind.into(),
        id: id.into(),
        scope: scope.into(),
        status: status.into(),
        version: 0,
        document: document.into(),
        created_at_ns: 5,
        updated_at_ns: 7,
    }
}

fn put(puts: Vec<ResourcePut>, idempotency_key: Option<&str>) -> Vec<WriteOp> {
    vec![WriteOp::Api(Box::new(ApiWrite {
        change: ApiChange::PutResources(puts),
        audit: None,
        idempotency: idempotency_key.map(|key| IdempotencyRecord {
            key_id: "key_1".into(),
            idempotency_key: key.into(),
            fingerprint: [1; 32],
            status: 201,
            body: "{}".into(),
            created_at_ns: 5,
        }),
        only_after_success: false,
    }))]
}

fn outcomes(store: &mut Store, requests: Vec<Vec<WriteOp>>) -> Vec<ApiOutcome> {
    store
        .execute(requests, 1)
        .unwrap()
        .into_iter()
        .map(|outcomes| match outcomes.as_slice() {
            [WriteOutcome::Api(outcome)] => *outcome,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn versions_guard_every_change(url: &str) {
    let mut store = Store::open(url).unwrap();
    let merchant = || row("merchant", "M1", "M1", "negotiation", r#"{"v":1}"#);
    let first = outcomes(
        &mut store,
        vec![
            put(vec![ResourcePut::create(merchant())], None),
            // Created twice in one batch: the second is refused.
            put(vec![ResourcePut::create(merchant())], None),
            // Replacing version 1, created just before in the same batch.
            put(
                vec![ResourcePut::replace(
                    row("merchant", "M1", "M1", "assessment", r#"{"v":2}"#),
                    1,
                )],
                None,
            ),
            // A second writer that also read version 1 loses.
            put(
                vec![ResourcePut::replace(
                    row("merchant", "M1", "M1", "live", r#"{"v":"lost"}"#),
                    1,
                )],
                Some("k1"),
            ),
        ],
    );
    assert_eq!(
        first,
        [
            ApiOutcome::Applied { audit_seq: None },
            ApiOutcome::Exists,
            ApiOutcome::Applied { audit_seq: None },
            ApiOutcome::Conflict,
        ]
    );
    let stored = store.resource("merchant", "M1").unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, "assessment");
    assert_eq!(stored.document, r#"{"v":2}"#);
    // The refused request's idempotency key was not taken.
    assert!(store.idempotency_record("key_1", "k1").unwrap().is_none());

    // In a later batch, version 2 is current; replacing a missing resource
    // is a conflict.
    let later = outcomes(
        &mut store,
        vec![
            put(
                vec![ResourcePut::replace(
                    row("merchant", "M1", "M1", "live", "{}"),
                    2,
                )],
                None,
            ),
            put(
                vec![ResourcePut::replace(
                    row("merchant", "M9", "", "x", "{}"),
                    1,
                )],
                None,
            ),
        ],
    );
    assert_eq!(
        later,
        [
            ApiOutcome::Applied { audit_seq: None },
            ApiOutcome::Conflict
        ]
    );
    assert_eq!(
        store.resource("merchant", "M1").unwrap().unwrap().version,
        3
    );
    assert!(store.resource("merchant", "M9").unwrap().is_none());
}

fn puts_apply_all_or_none(url: &str) {
    let mut store = Store::open(url).unwrap();
    let created = outcomes(
        &mut store,
        vec![put(
            vec![ResourcePut::create(row(
                "account", "A1", "A1", "open", "{}",
            ))],
            None,
        )],
    );
    assert_eq!(created, [ApiOutcome::Applied { audit_seq: None }]);
    // A new binding and a stale account version: neither is written.
    let refused = outcomes(
        &mut store,
        vec![put(
            vec![
                ResourcePut::create(row("binding", "B1", "M1", "approved", "{}")),
                ResourcePut::replace(row("account", "A1", "A1", "closed", "{}"), 7),
            ],
            None,
        )],
    );
    assert_eq!(refused, [ApiOutcome::Conflict]);
    assert!(store.resource("binding", "B1").unwrap().is_none());
    assert_eq!(
        store.resource("account", "A1").unwrap().unwrap().status,
        "open"
    );
}

fn lists_filter_and_page(url: &str) {
    let mut store = Store::open(url).unwrap();
    let puts = (0..5)
        .map(|i| {
            let scope = if i % 2 == 0 { "M1" } else { "M2" };
            let status = if i < 3 { "pending" } else { "approved" };
            ResourcePut::create(row("binding", &format!("B{i}"), scope, status, "{}"))
        })
        .chain([ResourcePut::create(row(
            "account", "B9", "M1", "pending", "{}",
        ))])
        .collect();
    outcomes(&mut store, vec![put(puts, None)]);
    let ids = |store: &mut Store, query: ResourceQuery| -> Vec<String> {
        store
            .resources(&query)
            .unwrap()
            .into_iter()
            .map(|row| row.id)
            .collect()
    };
    let all = ResourceQuery {
        kind: "binding".into(),
        limit: 100,
        ..ResourceQuery::default()
    };
    assert_eq!(ids(&mut store, all.clone()), ["B0", "B1", "B2", "B3", "B4"]);
    let scoped = ResourceQuery {
        scope: Some("M1".into()),
        ..all.clone()
    };
    assert_eq!(ids(&mut store, scoped), ["B0", "B2", "B4"]);
    let pending_m1 = ResourceQuery {
        scope: Some("M1".into()),
        status: Some("pending".into()),
        ..all.clone()
    };
    assert_eq!(ids(&mut store, pending_m1), ["B0", "B2"]);
    let page = ResourceQuery {
        after_id: "B1".into(),
        limit: 2,
        ..all
    };
    assert_eq!(ids(&mut store, page), ["B2", "B3"]);
}

/// A refused resource change keeps the host records of its request out:
/// the API's view of a merchant and the host's never disagree.
fn a_refused_change_keeps_its_host_rows_out(url: &str) {
    let mut store = Store::open(url).unwrap();
    let merchant = || row("merchant", "M1", "M1", "live", "{}");
    let host_row = |body: &str| store::HostRow {
        table: store::HostTable::Merchants,
        key: "M1".into(),
        body: body.into(),
    };
    let request = |put: ResourcePut, body: &str| {
        let mut ops = put_op(vec![put]);
        ops.push(WriteOp::HostRows(vec![host_row(body)]));
        ops
    };
    let outcomes = store
        .execute(
            vec![
                request(ResourcePut::create(merchant()), "stage=live"),
                // Stale version: neither the resource nor the record.
                request(ResourcePut::replace(merchant(), 7), "stage=lost"),
            ],
            1,
        )
        .unwrap();
    assert_eq!(outcomes[0][1], WriteOutcome::HostRows(true));
    assert_eq!(
        outcomes[1],
        [
            WriteOutcome::Api(ApiOutcome::Conflict),
            WriteOutcome::HostRows(false)
        ]
    );
    let rows = store.host_rows(store::HostTable::Merchants).unwrap();
    assert_eq!(rows, [("M1".to_owned(), "stage=live".to_owned())]);
}

fn put_op(puts: Vec<ResourcePut>) -> Vec<WriteOp> {
    put(puts, None)
}

store::on_both_engines!(
    versions_guard_every_change,
    puts_apply_all_or_none,
    lists_filter_and_page,
    a_refused_change_keeps_its_host_rows_out
);
