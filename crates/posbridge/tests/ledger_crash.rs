//! Crash test: the real binary writes batches through the group-commit writer
//! and is killed with SIGKILL at seeded random points; afterwards the ledger
//! verifies and every acknowledged batch is present in full.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger::TransferId;
use store::Store;
use store::testing::TestDatabase;

const ITERATIONS: u64 = 4;
const SEED: u64 = 0x05ee_d0fc_4a54;
const KILL_AFTER_MS_MIN: u64 = 150;
const KILL_AFTER_MS_SPAN: u64 = 450;

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs the writer once, kills it, and returns the acknowledged id ranges.
fn run_and_kill(url: &str, first_id: u128, kill_after: Duration) -> Vec<(u128, u128)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args([
            "ledger",
            "crash-writer",
            "--db",
            url,
            "--first-id",
            &first_id.to_string(),
            "--batch",
            "50",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&acknowledged);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let ["ack", first, last] = parts.as_slice() {
                sink.lock()
                    .unwrap()
                    .push((first.parse().unwrap(), last.parse().unwrap()));
            }
        }
    });
    std::thread::sleep(kill_after);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    acknowledged.lock().unwrap().clone()
}

fn crash_and_recover(url: &str) {
    let mut seed = SEED;
    let mut acknowledged_total = 0;
    for iteration in 0..ITERATIONS {
        let kill_after =
            Duration::from_millis(KILL_AFTER_MS_MIN + next(&mut seed) % KILL_AFTER_MS_SPAN);
        let first_id = u128::from(iteration + 1) * 1_000_000_000;
        let acknowledged = run_and_kill(url, first_id, kill_after);
        acknowledged_total += acknowledged.len();
        let verify = Command::new(env!("CARGO_BIN_EXE_posbridge"))
            .args(["ledger", "verify", "--db", url])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&verify.stdout);
        assert!(
            verify.status.success(),
            "iteration {iteration}: verify failed after the kill: {report}"
        );
        let mut store = Store::open(url).unwrap();
        for (first, last) in acknowledged {
            for id in first..=last {
                assert!(
                    store.transfer(TransferId(id)).unwrap().is_some(),
                    "acknowledged transfer {id} lost"
                );
            }
        }
    }
    assert!(
        acknowledged_total > 0,
        "no batch was ever acknowledged: the test tested nothing"
    );
}

#[test]
fn sqlite_survives_sigkill() {
    let database = TestDatabase::sqlite("crash");
    crash_and_recover(database.url());
}

#[test]
fn postgres_survives_sigkill() {
    let Some(database) = TestDatabase::postgres("crash") else {
        return;
    };
    crash_and_recover(database.url());
}
