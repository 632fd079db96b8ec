//! `posbridge reconcile` against a database holding off-us captures, on
//! both engines: the simulator's clearing file, an edited one, idempotent
//! runs, and bad input (exit 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use host::records::{Record, TransactionRecord};
use host::seed::{HostKeys, NETWORK_ACCOUNT, sandbox_seed};
use store::testing::TestDatabase;
use store::{Store, WriteOp};

fn reconcile(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .arg("reconcile")
        .args(args)
        .output()
        .unwrap()
}

fn now_s() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// An approved off-us sale of merchant 2 decided now.
fn off_us_sale(rrn: &str, amount: i64) -> Record {
    Record::Transaction(TransactionRecord {
        rrn: rrn.into(),
        kind: "sale".into(),
        tid: "T0000003".into(),
        mid: "100000000000002".into(),
        request_key: format!("T0000003/0200/{rrn}"),
        token: String::new(),
        masked: "476173******0010".into(),
        route: "network".into(),
        amount,
        code: "00".into(),
        auth_code: "000001".into(),
        state: "approved".into(),
        batch: 1,
        refunded: 0,
        original: String::new(),
        certification: false,
        payer_account: NETWORK_ACCOUNT,
        merchant_account: 102,
        pending_transfer: 0,
        discount: 0,
        points: 0,
        redeemed: 0,
        redeemed_value: 0,
        fee: 0,
        fee_share: 0,
        channel: "credit".into(),
        program: String::new(),
        at_s: now_s(),
    })
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run_on(database: &TestDatabase, directory: &Path) {
    let url = database.url();
    let mut store = Store::open(url).unwrap();
    store
        .write(sandbox_seed(&HostKeys::sandbox().unwrap()).unwrap(), 1)
        .unwrap();
    let rows = [
        off_us_sale("000000000001", 10_000),
        off_us_sale("000000000002", 2_000),
    ];
    store
        .write(
            vec![WriteOp::HostRows(rows.iter().map(Record::row).collect())],
            2,
        )
        .unwrap();
    drop(store);
    let date = domain::settlement::business_date(now_s(), 8 * 3600, 24 * 60)
        .unwrap()
        .to_string();
    let file = directory.join("clearing.csv");
    let file_arg = file.to_str().unwrap();
    let output = reconcile(&["--date", &date, "--db", url, "--out", file_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("0 exception(s), 0 new"),
        "{}",
        text(&output)
    );
    let clearing = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        clearing,
        format!(
            "reference,amount_minor,currency,kind,business_date\n\
             000000000001,10000,CNY,capture,{date}\n000000000002,2000,CNY,capture,{date}\n"
        )
    );
    std::fs::write(&file, clearing.replace(",2000,", ",2500,")).unwrap();
    for new in ["1 new", "0 new"] {
        let output = reconcile(&["--date", &date, "--db", url, "--clearing", file_arg]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        let out = text(&output);
        assert!(out.contains(&format!("1 exception(s), {new}")), "{out}");
        assert!(
            out.contains(&format!("clearing-{date}-000000000002-amount_differs")),
            "{out}"
        );
    }
    // Bad input: exit 2, nothing written.
    std::fs::write(&file, "rrn,amount\n1,2\n").unwrap();
    let output = reconcile(&["--date", &date, "--db", url, "--clearing", file_arg]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("line 1: expected the header"),
        "{}",
        text(&output)
    );
    std::fs::write(
        &file,
        format!(
            "{}\n000000000001,-5,CNY,capture,{date}\n",
            host::reconcile::CLEARING_HEADER
        ),
    )
    .unwrap();
    let output = reconcile(&["--date", &date, "--db", url, "--clearing", file_arg]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("line 2: amount_minor"),
        "{}",
        text(&output)
    );
    let output = reconcile(&["--date", "2026-02-30", "--db", url]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let mut store = Store::open(url).unwrap();
    let query = store::api::ResourceQuery {
        kind: host::reconcile::EXCEPTION_KIND.into(),
        limit: 10,
        ..store::api::ResourceQuery::default()
    };
    assert_eq!(store.resources(&query).unwrap().len(), 1);
}

#[test]
fn reconcile_on_sqlite() {
    let database = TestDatabase::sqlite("reconcile_cli");
    let directory = tempdir("sqlite");
    run_on(&database, &directory);
}

#[test]
fn reconcile_on_postgres() {
    let Some(database) = TestDatabase::postgres("reconcile_cli") else {
        return;
    };
    let directory = tempdir("postgres");
    run_on(&database, &directory);
}

#[test]
fn missing_database_is_bad_input() {
    let output = reconcile(&[
        "--date",
        "2026-11-24",
        "--db",
        "sqlite:/nonexistent/posbridge.db",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

fn tempdir(engine: &str) -> std::path::PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "posbridge-reconcile-cli-{engine}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}
