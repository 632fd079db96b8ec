//! Terminal-host records on both engines: written with their request's
//! transfers or not at all, replaced by key, kept across reopening.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::*;
use store::{HOST_BODY_LEN_MAX, HostRow, HostTable, Store, WriteOp, WriteOutcome};

const CNY: LedgerId = LedgerId(156);
const NOW: u64 = 1_700_000_000_000_000_000;

store::on_both_engines!(
    rows_commit_with_their_transfers,
    rows_are_replaced_by_key_and_survive_reopen,
    oversized_rows_are_refused,
    rows_of_the_unclustered_layout_survive_its_migration,
    logs_keep_each_keys_last_row,
);

fn row(table: HostTable, key: &str, body: &str) -> HostRow {
    HostRow {
        table,
        key: key.to_owned(),
        body: body.to_owned(),
    }
}

fn open_with_card(url: &str) -> Store {
    let mut store = Store::open(url).unwrap();
    let accounts = vec![
        NewAccount {
            flags: AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
            ..NewAccount::new(AccountId(1), CNY, 1)
        },
        NewAccount::new(AccountId(2), CNY, 1),
    ];
    store
        .write(vec![WriteOp::CreateAccounts(accounts)], NOW)
        .unwrap();
    // Fund the card with 100.
    let funding = NewTransfer::new(TransferId(1), AccountId(2), AccountId(1), 100, CNY, 1);
    store
        .write(vec![WriteOp::CreateTransfers(vec![funding])], NOW)
        .unwrap();
    store
}

fn rows_commit_with_their_transfers(url: &str) {
    let mut store = open_with_card(url);
    let spend =
        |id, amount| NewTransfer::new(TransferId(id), AccountId(1), AccountId(2), amount, CNY, 1);
    let ok = vec![
        WriteOp::CreateTransfers(vec![spend(10, 60)]),
        WriteOp::HostRows(vec![row(
            HostTable::Transactions,
            "000000000001",
            "amount=60",
        )]),
    ];
    let refused = vec![
        WriteOp::CreateTransfers(vec![spend(11, 60)]),
        WriteOp::HostRows(vec![row(
            HostTable::Transactions,
            "000000000002",
            "amount=60",
        )]),
    ];
    let outcomes = store.execute(vec![ok, refused], NOW).unwrap();
    assert_eq!(outcomes[0][1], WriteOutcome::HostRows(true));
    assert_eq!(outcomes[1][1], WriteOutcome::HostRows(false));
    let rows = store.host_rows(HostTable::Transactions).unwrap();
    assert_eq!(
        rows,
        vec![("000000000001".to_owned(), "amount=60".to_owned())]
    );
    assert!(store.transfer(TransferId(11)).unwrap().is_none());
}

fn rows_are_replaced_by_key_and_survive_reopen(url: &str) {
    let mut store = open_with_card(url);
    for body in ["state=approved", "state=voided"] {
        let ops = vec![WriteOp::HostRows(vec![row(
            HostTable::Terminals,
            "T0000001",
            body,
        )])];
        assert_eq!(
            store.write(ops, NOW).unwrap(),
            vec![WriteOutcome::HostRows(true)]
        );
    }
    drop(store);
    let mut store = Store::open(url).unwrap();
    for table in HostTable::ALL {
        let expected = match table {
            HostTable::Terminals => vec![("T0000001".to_owned(), "state=voided".to_owned())],
            _ => Vec::new(),
        };
        assert_eq!(store.host_rows(table).unwrap(), expected, "{table:?}");
    }
}

fn oversized_rows_are_refused(url: &str) {
    let mut store = open_with_card(url);
    let body = "x".repeat(HOST_BODY_LEN_MAX + 1);
    let ops = vec![WriteOp::HostRows(vec![
        row(HostTable::Cards, "a", "fine"),
        row(HostTable::Cards, "b", &body),
    ])];
    assert_eq!(
        store.write(ops, NOW).unwrap(),
        vec![WriteOutcome::HostRows(false)]
    );
    assert!(store.host_rows(HostTable::Cards).unwrap().is_empty());
}

/// Migration 9 rebuilds the host tables clustered on their key, and
/// migration 12 turns two of them into logs: rows written in the earliest
/// layout (a rowid table and a key index) are kept through both.
fn rows_of_the_unclustered_layout_survive_its_migration(url: &str) {
    let mut store = open_with_card(url);
    let mut sql = String::new();
    for table in HostTable::ALL {
        let name = table.name();
        sql.push_str(&format!(
            "DROP TABLE {name}; CREATE TABLE {name} (key TEXT PRIMARY KEY, body TEXT NOT NULL); "
        ));
    }
    sql.push_str("DELETE FROM schema_migrations WHERE version IN (9, 12);");
    store.execute_sql(&sql).unwrap();
    let rows: Vec<HostRow> = HostTable::ALL
        .iter()
        .flat_map(|table| [row(*table, "k2", "b=2;x=%3B"), row(*table, "k1", "b=1")])
        .collect();
    assert_eq!(
        store.write(vec![WriteOp::HostRows(rows)], NOW).unwrap(),
        vec![WriteOutcome::HostRows(true)]
    );
    drop(store);
    let mut store = Store::open(url).unwrap();
    for table in HostTable::ALL {
        assert_eq!(
            store.host_rows(table).unwrap(),
            vec![
                ("k1".to_owned(), "b=1".to_owned()),
                ("k2".to_owned(), "b=2;x=%3B".to_owned()),
            ],
            "{table:?}"
        );
    }
    // Replacing by key still works on the rebuilt tables.
    let ops = vec![WriteOp::HostRows(vec![row(HostTable::Cards, "k1", "b=3")])];
    assert_eq!(
        store.write(ops, NOW).unwrap(),
        vec![WriteOutcome::HostRows(true)]
    );
    assert_eq!(
        store.host_rows(HostTable::Cards).unwrap()[0],
        ("k1".to_owned(), "b=3".to_owned())
    );
}

/// The logs (answered requests, KSNs used) append every row; a reader gets
/// each key's last row, by key, as from a keyed table, across batches,
/// within one batch and after reopening.
fn logs_keep_each_keys_last_row(url: &str) {
    let mut store = open_with_card(url);
    let logs: Vec<HostTable> = HostTable::ALL.into_iter().filter(|t| t.logged()).collect();
    assert_eq!(logs, vec![HostTable::Duplicates, HostTable::KsnUsage]);
    for table in &logs {
        let batches = [
            vec![row(*table, "k2", "b=1"), row(*table, "k3", "b=1")],
            vec![row(*table, "k2", "b=2"), row(*table, "k1", "b=1")],
            vec![row(*table, "k3", "b=2"), row(*table, "k3", "b=3")],
        ];
        for rows in batches {
            assert_eq!(
                store.write(vec![WriteOp::HostRows(rows)], NOW).unwrap(),
                vec![WriteOutcome::HostRows(true)]
            );
        }
    }
    drop(store);
    let mut store = Store::open(url).unwrap();
    for table in logs {
        assert_eq!(
            store.host_rows(table).unwrap(),
            vec![
                ("k1".to_owned(), "b=1".to_owned()),
                ("k2".to_owned(), "b=2".to_owned()),
                ("k3".to_owned(), "b=3".to_owned()),
            ],
            "{table:?}"
        );
    }
}
