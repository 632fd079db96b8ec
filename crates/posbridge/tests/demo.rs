//! The README's first command: `posbridge demo` tells the whole story over
//! real ISO 8583 traffic and exits 0 only when every step answered as the
//! story expects and the ledger verified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn demo_tells_the_whole_story_and_verifies_the_ledger() {
    let output = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(["demo", "--quiet"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "co-brand chip sale",
        "contactless",
        "swipe with PIN",
        "keyed off-us",
        "sale 51 insufficient funds",
        "sale 41 lost card",
        "sale 54 expired card",
        "sale 55 incorrect PIN",
        "sale 05 do not honor",
        "void 00",
        "refund 00",
        "completion 00",
        "reversals sent 1, answered 1, still queued 0",
        "settle 00",
    ] {
        assert!(
            stdout.contains(step),
            "the demo did not show {step:?}:\n{stdout}"
        );
    }
    // The day settled: the fees are the STANDARD plan's (credit 0.60%,
    // half up): Lucky Coffee 38.00 → 0.23, 25.00 → 0.15, the 150.00
    // completion → 0.90; Corner Grocery's keyed 66.00 → 0.40, the refund
    // keeping its fee, the voided debit sale none.
    for line in [
        "Lucky Coffee Store #1: captures 213.00, refunds 0.00, fees 1.28, net 211.72 (payout)",
        "credit 211.72 → account ACC-JOINT-1",
        "Corner Grocery: captures 66.00, refunds 20.00, fees 0.40, net 45.60 (payout)",
        "credit 45.60 → account ACC-SINGLE-2",
    ] {
        assert!(
            stdout.contains(line),
            "the demo did not settle {line:?}:\n{stdout}"
        );
    }
    assert!(stdout.contains("summary: 12 approved, 6 declined, 1 unanswered and reversed"));
    assert!(stdout.contains("debits = credits"));
    assert!(
        !stdout.contains("6225880000000019"),
        "no clear PAN in the demo's output"
    );
}
