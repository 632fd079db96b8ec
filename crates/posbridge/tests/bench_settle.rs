//! `posbridge bench settle`: a small run of the real binary on both
//! engines. No timing assertions: performance is measured by the
//! benchmark, never by a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn run(engine: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args([
            "bench",
            "settle",
            "--transactions",
            "3000",
            "--merchants",
            "120",
            "--engine",
            engine,
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        output.status.code(),
    );
    for phase in ["load items", "run: payouts and pass end"] {
        assert!(stderr.contains(&format!("phase {phase}: ")), "{stderr}");
    }
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn check(json: &serde_json::Value, engine: &str) {
    assert_eq!(json["engine"], engine, "{json}");
    assert_eq!(json["transactions"], 3000, "{json}");
    assert_eq!(json["merchants"], 120, "{json}");
    // One payout per merchant: each has an account of its own.
    assert_eq!(json["payouts"], 120, "{json}");
    assert_eq!(json["ledger_sound"], true, "{json}");
    // The loaded items were presummed before the run, in one range.
    assert_eq!(json["presum_ranges"], 1, "{json}");
    for key in [
        "seconds",
        "transactions_per_second",
        "aggregation_seconds",
        "ratio_to_aggregation",
        "load_seconds",
        "presum_seconds",
    ] {
        let value = json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {json}"));
        assert!(value > 0.0, "{key}: {json}");
    }
}

#[test]
fn settles_on_sqlite() {
    check(&run("sqlite"), "sqlite");
}

#[test]
fn settles_on_postgres() {
    if std::env::var(store::testing::PG_URL_VARIABLE).is_err() {
        eprintln!("POSBRIDGE_TEST_PG_URL unset: PostgreSQL bench not run");
        return;
    }
    check(&run("postgres"), "postgres");
}
