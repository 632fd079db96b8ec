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
    assert!(stdout.contains("summary: 12 approved, 6 declined, 1 unanswered and reversed"));
    assert!(stdout.contains("debits = credits"));
    assert!(
        !stdout.contains("6225880000000019"),
        "no clear PAN in the demo's output"
    );
}
