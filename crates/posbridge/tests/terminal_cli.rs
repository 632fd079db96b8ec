//! `posbridge terminal …` run as a real process against a scripted host:
//! provisioning, receipts and JSON, state persistence across runs, the
//! reversal queue across runs, settlement rollover, the interactive mode,
//! and bad input (exit code 2).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cardsec::{Ksn, Pan, TdesKey, dukpt};
use iso8583::{ISO87, Message};
use terminal::testing::{Reply, ScriptedHost};

const BDK: &str = "0123456789ABCDEFFEDCBA9876543210";

struct Sandbox {
    dir: PathBuf,
    host: ScriptedHost,
}

impl Sandbox {
    fn new(name: &str, script: Vec<Reply>, mac: bool) -> Sandbox {
        let dir = std::env::temp_dir().join(format!(
            "posbridge-terminal-cli-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bdk = mac.then(|| TdesKey::from_hex(BDK).unwrap());
        let host = ScriptedHost::start(script, bdk).unwrap();
        Sandbox { dir, host }
    }

    fn state(&self) -> PathBuf {
        self.dir.join("terminal.json")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_posbridge"));
        command
            .arg("terminal")
            .arg("--state")
            .arg(self.state())
            .args(["--host", &self.host.address(), "--timeout-ms", "300"])
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn saved(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.state()).unwrap()).unwrap()
    }

    fn mtis(&self) -> Vec<String> {
        self.host
            .received()
            .iter()
            .map(|bytes| {
                Message::decode(&ISO87, bytes)
                    .unwrap()
                    .mti()
                    .as_str()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(message: &Message<'_>, field: usize) -> String {
    message.field(field).unwrap().as_text().unwrap().to_owned()
}

fn pin_of(bytes: &[u8], pan: &str) -> String {
    let message = Message::decode(&ISO87, bytes).unwrap();
    let ksn = Ksn::from_hex(&text(&message, 62)).unwrap();
    let bdk = TdesKey::from_hex(BDK).unwrap();
    let pan = Pan::new(pan).unwrap();
    let pin = dukpt::decrypt_pin_iso0(&bdk, &ksn, message.pin_block().unwrap(), &pan).unwrap();
    pin.expose_digits().to_owned()
}

fn file_has(path: &Path, needle: &str) -> bool {
    std::fs::read_to_string(path).unwrap().contains(needle)
}

#[test]
fn sandbox_terminal_state_persists_across_runs() {
    let benefits = "PROG=DBCOFFEE;DISC=000000000380;PAID=000000003420;PTS=68;BAL=68";
    let sandbox = Sandbox::new(
        "persist",
        vec![
            Reply::approve("633012000001", "A1B2C3").with(63, benefits),
            Reply::decline("51", "633012000002"),
        ],
        false,
    );
    let init = sandbox.ok(&["init", "--sandbox", "T0000001"]);
    assert!(
        init.contains("T0000001") && init.contains("Lucky Coffee Store #1"),
        "{init}"
    );
    let receipt = sandbox.ok(&[
        "sale",
        "--amount",
        "38.00",
        "--card",
        "cobrand-chip",
        "--pin",
        "1234",
    ]);
    for needle in [
        "Lucky Coffee Store #1",
        "TID T0000001",
        "622588******0019",
        "CHIP",
        "CNY 38.00",
        "CNY 34.20",
        "POINTS +68",
        "A1B2C3",
        "633012000001",
        "APPROVED",
    ] {
        assert!(receipt.contains(needle), "{needle} missing from\n{receipt}");
    }
    let saved = sandbox.saved();
    assert_eq!(
        (saved["stan"].as_u64(), saved["ksn_counter"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(saved["totals"]["debit_amount_minor"], 3_800);
    assert_eq!(saved["entries"][0]["masked_pan"], "622588******0019");

    // A second process goes on from the saved STAN and KSN counter.
    let declined = sandbox.json(&[
        "sale",
        "--amount",
        "51.51",
        "--pan",
        "6217000000000014",
        "--expiry",
        "3012",
        "--entry",
        "keyed",
        "--pin",
        "1234",
    ]);
    assert_eq!(declined["stan"], "000002");
    assert_eq!(declined["response_code"], "51");
    assert_eq!(declined["approved"], false);
    assert_eq!(declined["receipt"]["reason"], "insufficient funds");
    let received = sandbox.host.received();
    let second = Message::decode(&ISO87, &received[1]).unwrap();
    assert_eq!(text(&second, 62), "FFFF9876543210E00002");
    assert_eq!(text(&second, 22), "011");
    assert_eq!(pin_of(&received[1], "6217000000000014"), "1234");
    assert_eq!(sandbox.saved()["totals"]["debit_amount_minor"], 3_800);

    // Neither file shows a clear PAN; only the key file holds the key.
    for pan in ["6225880000000019", "6217000000000014"] {
        assert!(!file_has(&sandbox.state(), pan));
    }
    let key = std::fs::read_to_string(sandbox.dir.join("terminal.key")).unwrap();
    assert_eq!(key.len(), 32);
    assert!(!file_has(&sandbox.state(), &key));
    assert!(!file_has(&sandbox.state(), BDK));
}

#[test]
fn a_reversal_queued_by_one_run_is_sent_by_the_next() {
    let sandbox = Sandbox::new(
        "reversal",
        vec![
            Reply::Silent,
            Reply::Silent,
            Reply::ok(),
            Reply::approve("000000000009", "OK0009"),
        ],
        false,
    );
    sandbox.ok(&["init", "--sandbox", "T0000003"]);
    let out = sandbox.run(&["sale", "--amount", "10.00", "--card", "debit"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reversal is queued"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DECLINED -- no answer"));
    let queued = &sandbox.saved()["reversals"];
    assert_eq!(queued.as_array().unwrap().len(), 1);
    assert_eq!(queued[0]["original_stan"], "000001");

    let first = sandbox.json(&["reversals"]);
    assert_eq!(
        (first["sent"].as_u64(), first["pending"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(sandbox.saved()["reversals"][0]["attempts"], 1);
    let second = sandbox.json(&["reversals"]);
    assert_eq!(
        (second["answered"].as_u64(), second["pending"].as_u64()),
        (Some(1), Some(0))
    );
    sandbox.ok(&["sale", "--amount", "10.00", "--card", "debit"]);
    assert_eq!(sandbox.mtis(), ["0200", "0400", "0420", "0200"]);
    let received = sandbox.host.received();
    let repeat = Message::decode(&ISO87, &received[2]).unwrap();
    assert_eq!(&text(&repeat, 90)[..10], "0200000001");
    assert_eq!(text(&repeat, 4), "000000001000");
}

#[test]
fn settle_closes_the_batch_and_the_next_run_uses_the_next() {
    let sandbox = Sandbox::new(
        "settle",
        vec![
            Reply::approve("000000000001", "S00001"),
            Reply::ok(),
            Reply::approve("000000000002", "S00002"),
        ],
        false,
    );
    sandbox.ok(&["init", "--sandbox", "T0000003"]);
    sandbox.ok(&[
        "sale",
        "--amount",
        "25",
        "--card",
        "visa",
        "--entry",
        "contactless",
    ]);
    let settled = sandbox.ok(&["settle"]);
    assert!(
        settled.contains("SETTLE 0500") && settled.contains("00 approved"),
        "{settled}"
    );
    assert!(settled.contains("sales 1 / 25.00"), "{settled}");
    assert_eq!(sandbox.saved()["batch"], 2);
    sandbox.ok(&["sale", "--amount", "1", "--card", "visa"]);
    let received = sandbox.host.received();
    let settlement = Message::decode(&ISO87, &received[1]).unwrap();
    assert_eq!(text(&settlement, 60), "000001");
    assert_eq!(text(&settlement, 88), "0000000000002500");
    assert_eq!(
        text(&Message::decode(&ISO87, &received[2]).unwrap(), 60),
        "000002"
    );
}

#[test]
fn own_terminal_with_an_ipek_and_a_mac() {
    let sandbox = Sandbox::new("ipek", vec![Reply::approve("000000000001", "M00001")], true);
    let ksn = "FFFF9876543211000000";
    let bdk = TdesKey::from_hex(BDK).unwrap();
    let ipek = dukpt::ipek(&bdk, &Ksn::from_hex(ksn).unwrap()).unwrap();
    let ipek_hex = cardsec::hex::encode(ipek.expose_bytes());
    sandbox.ok(&[
        "init",
        "--tid",
        "T0000002",
        "--mid",
        "100000000000001",
        "--ksn",
        ksn,
        "--ipek",
        &ipek_hex,
        "--mac",
        "--merchant-name",
        "Test Shop",
    ]);
    let out = sandbox.json(&[
        "sale", "--amount", "5.00", "--card", "debit", "--pin", "1234",
    ]);
    assert_eq!(out["approved"], true, "{out}");
    let received = sandbox.host.received();
    let message = Message::decode(&ISO87, &received[0]).unwrap();
    let ksn = Ksn::from_hex(&text(&message, 62)).unwrap();
    assert!(
        dukpt::verify_request_mac(
            &bdk,
            &ksn,
            message.mac_input().unwrap(),
            message.mac().unwrap()
        )
        .unwrap()
    );
    assert_eq!(pin_of(&received[0], "6217000000000014"), "1234");
}

#[test]
fn interactive_mode_reads_stdin() {
    let sandbox = Sandbox::new(
        "interactive",
        vec![Reply::ok(), Reply::approve("000000000001", "I00001")],
        false,
    );
    sandbox.ok(&["init", "--sandbox", "T0000001"]);
    let mut child = sandbox
        .command(&["interactive"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let script = "echo\nbogus\nsale\n12.50\ndebit\nswipe\n\nsale\n1.234\ndebit\n\n\nquit\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "ECHO 0800 (STAN 000001): 00 approved",
        "error: unknown command \"bogus\"",
        "CNY 12.50",
        "SWIPE",
        "I00001",
        "error: amount \"1.234\": at most two decimals",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from\n{stdout}");
    }
    assert_eq!(sandbox.mtis(), ["0800", "0200"]);
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let sandbox = Sandbox::new("input", vec![], false);
    let check = |args: &[&str], needle: &str| {
        let out = sandbox.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    check(&["echo"], "run `posbridge terminal");
    check(&["init", "--sandbox", "T9"], "no sandbox terminal");
    check(
        &[
            "init",
            "--tid",
            "T1",
            "--mid",
            "100000000000001",
            "--ksn",
            "FFFF9876543210E00000",
            "--bdk",
            BDK,
        ],
        "--tid must be 8 characters",
    );
    check(
        &[
            "init",
            "--tid",
            "T0000001",
            "--mid",
            "100000000000001",
            "--ksn",
            "FFFF9876543210E00001",
            "--bdk",
            BDK,
        ],
        "zero counter",
    );
    check(
        &[
            "init",
            "--tid",
            "T0000001",
            "--mid",
            "100000000000001",
            "--ksn",
            "FFFF9876543210E00000",
        ],
        "--ipek HEX or --bdk HEX",
    );
    check(
        &[
            "init",
            "--tid",
            "T0000001",
            "--mid",
            "100000000000001",
            "--ksn",
            "FFFF9876543210E00000",
            "--ipek",
            "12",
        ],
        "32 hex digits",
    );
    sandbox.ok(&["init", "--sandbox", "T0000001"]);
    check(&["init", "--sandbox", "T0000001"], "--force");
    check(&["sale", "--amount", "-1", "--card", "debit"], "amount");
    check(
        &["sale", "--amount", "1", "--card", "nope"],
        "no sandbox card",
    );
    check(
        &["sale", "--amount", "1", "--card", "debit", "--entry", "tap"],
        "entry mode",
    );
    check(
        &["sale", "--amount", "1", "--card", "debit", "--pin", "12"],
        "PIN",
    );
    check(
        &["sale", "--amount", "1", "--pan", "1234", "--expiry", "3012"],
        "PAN must be",
    );
    check(
        &[
            "sale",
            "--amount",
            "1",
            "--pan",
            "6217000000000014",
            "--expiry",
            "3013",
        ],
        "expiry",
    );
    check(&["sale", "--amount", "1"], "give a card");
    check(
        &["void", "--rrn", "000000000001", "--card", "debit"],
        "not in the open batch",
    );
    // Nothing was sent and no counter moved.
    assert!(sandbox.host.received().is_empty());
    assert_eq!(sandbox.saved()["stan"], 0);
}
