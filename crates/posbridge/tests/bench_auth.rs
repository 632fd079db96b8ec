//! `posbridge bench auth`: a short run of the real binary against an
//! in-process host and the echo server. No timing assertions: performance is
//! measured by the benchmark, never by a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn run(extra: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args([
            "bench",
            "auth",
            "--terminals",
            "4",
            "--duration",
            "1",
            "--json",
        ])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn check(json: &serde_json::Value, engine: &str, mode: &str) {
    for key in [
        "approved_per_s",
        "p50_ms",
        "p99_ms",
        "p999_ms",
        "echo_per_s",
        "ratio_to_echo",
        "engine",
        "terminals",
        "errors",
        "ledger_sound",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["engine"], engine, "{json}");
    assert_eq!(json["terminals"], 4, "{json}");
    assert_eq!(json["mode"], mode, "{json}");
    assert!(json["approved"].as_u64().unwrap() > 0, "{json}");
    assert!(json["approved_per_s"].as_f64().unwrap() > 0.0, "{json}");
    assert!(json["echo_per_s"].as_f64().unwrap() > 0.0, "{json}");
    assert!(json["ratio_to_echo"].as_f64().unwrap() > 0.0, "{json}");
    assert_eq!(json["errors"], 0, "{json}");
    assert_eq!(json["echo_errors"], 0, "{json}");
    assert_eq!(json["ledger_sound"], true, "{json}");
}

#[test]
fn closed_loop_against_the_sqlite_host_and_the_echo_server() {
    check(&run(&[]), "sqlite", "closed");
}

#[test]
fn open_loop_at_a_fixed_rate() {
    check(&run(&["--rate", "200"]), "sqlite", "open");
}

/// With `POSBRIDGE_TEST_PG_URL` set, against a fresh schema there (the
/// bench creates and drops it); skipped otherwise.
#[test]
fn closed_loop_against_the_postgres_host() {
    if std::env::var(store::testing::PG_URL_VARIABLE).is_err() {
        eprintln!("note: POSBRIDGE_TEST_PG_URL is unset; skipping the PostgreSQL bench test");
        return;
    }
    check(&run(&["--engine", "postgres"]), "postgres", "closed");
}
