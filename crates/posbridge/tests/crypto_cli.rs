//! `posbridge crypto ...` run as a real process: success paths with the
//! published vectors, failure paths with exit code 2 and a clear message.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

const BDK: &str = "0123456789ABCDEFFEDCBA9876543210";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .arg("crypto")
        .args(args)
        .output()
        .unwrap()
}

/// Runs with `--json` and returns the parsed object.
fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(args: &[&str], field: &str, expected: &str) {
    assert_eq!(json(args)[field], expected, "{args:?}");
}

/// Bad input: exit code 2, a message on stderr that contains `needle`.
fn check_rejected(args: &[&str], needle: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn dukpt_keys() {
    check(
        &[
            "dukpt",
            "ipek",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00000",
        ],
        "key",
        "6AC292FAA1315B4D858AB3A3D7D5933A",
    );
    check(
        &[
            "dukpt",
            "key",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00001",
        ],
        "key",
        "042666B49184CFA368DE9628D0397BC9",
    );
    check(
        &[
            "dukpt",
            "pin-key",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00001",
        ],
        "key",
        "042666B49184CF5C68DE9628D0397B36",
    );
    check(
        &[
            "dukpt",
            "mac-key",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00001",
        ],
        "key",
        "042666B4918430A368DE9628D03984C9",
    );
    check(
        &[
            "dukpt",
            "mac-key",
            "--response",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00001",
        ],
        "key",
        "042666B46E84CFA368DE96282F397BC9",
    );
}

#[test]
fn aes_dukpt_keys() {
    let bdk = "FEDCBA9876543210F1F1F1F1F1F1F1F1";
    check(
        &[
            "dukpt",
            "ipek",
            "--aes",
            "--bdk",
            bdk,
            "--ksn",
            "123456789012345600000000",
        ],
        "key",
        "1273671EA26AC29AFA4D1084127652A1",
    );
    check(
        &[
            "dukpt",
            "key",
            "--aes",
            "--bdk",
            bdk,
            "--ksn",
            "123456789012345600000001",
        ],
        "key",
        "4F21B565BAD9835E112B6465635EAE44",
    );
    check(
        &[
            "dukpt",
            "key",
            "--aes",
            "--bdk",
            bdk,
            "--ksn",
            "1234567890123456FFFF0000",
        ],
        "key",
        "F6BA59389BD14A9855BE9727E7C52E3C",
    );
    let ksn1 = "123456789012345600000001";
    check(
        &["dukpt", "pin-key", "--aes", "--bdk", bdk, "--ksn", ksn1],
        "key",
        "AF8CB133A78F8DC2D1359F18527593FB",
    );
    check(
        &[
            "dukpt",
            "mac-key",
            "--aes",
            "--key-type",
            "aes128",
            "--bdk",
            bdk,
            "--ksn",
            ksn1,
        ],
        "key",
        "A2DC23DE6FDE0824A2BC321E08E4B8B7",
    );
    check_rejected(
        &[
            "dukpt",
            "pin-key",
            "--aes",
            "--key-type",
            "aes256",
            "--bdk",
            bdk,
            "--ksn",
            ksn1,
        ],
        "stronger than the BDK",
    );
}

#[test]
fn pin_blocks() {
    check(
        &[
            "pin-block",
            "encode",
            "--format",
            "0",
            "--pin",
            "1234",
            "--pan",
            "4012345678909",
        ],
        "block",
        "041274EDCBA9876F",
    );
    check(
        &[
            "pin-block",
            "decode",
            "--format",
            "0",
            "--block",
            "0592789FFFEDCBA9",
            "--pan",
            "4000001234562",
        ],
        "pin",
        "92389",
    );
    check(
        &[
            "pin-block",
            "encrypt",
            "--format",
            "0",
            "--pin",
            "1234",
            "--pan",
            "4012345678909",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00015",
        ],
        "block",
        "72105C22EBC791E6",
    );
    check(
        &[
            "pin-block",
            "decrypt",
            "--format",
            "0",
            "--block",
            "33365F5CC6F23C35",
            "--pan",
            "4012345678909",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210EFF800",
        ],
        "pin",
        "1234",
    );
    let aes = "00112233445566778899AABBCCDDEEFF";
    let pan = "1234567890123456789";
    check(
        &[
            "pin-block",
            "encrypt",
            "--format",
            "4",
            "--pin",
            "1234",
            "--pan",
            pan,
            "--key",
            aes,
            "--fill",
            "FFFFFFFFFFFFFFFF",
        ],
        "block",
        "28B41FDDD29B743E93124BD8E32D921E",
    );
    check(
        &[
            "pin-block",
            "decrypt",
            "--format",
            "4",
            "--block",
            "28B41FDDD29B743E93124BD8E32D921E",
            "--pan",
            pan,
            "--key",
            aes,
        ],
        "pin",
        "1234",
    );
    // Format 4 under an AES DUKPT PIN key, both ways.
    let aes_dukpt = [
        "--bdk",
        "FEDCBA9876543210F1F1F1F1F1F1F1F1",
        "--ksn",
        "123456789012345600000001",
    ];
    let mut encrypt = vec![
        "pin-block",
        "encrypt",
        "--format",
        "4",
        "--pin",
        "4321",
        "--pan",
        pan,
    ];
    encrypt.extend(aes_dukpt);
    let block = json(&encrypt)["block"].as_str().unwrap().to_owned();
    let mut decrypt = vec![
        "pin-block",
        "decrypt",
        "--format",
        "4",
        "--block",
        &block,
        "--pan",
        pan,
    ];
    decrypt.extend(aes_dukpt);
    check(&decrypt, "pin", "4321");
    // Formats 1 and 3 with random fill decode back.
    for format in ["1", "3"] {
        let block = json(&[
            "pin-block",
            "encode",
            "--format",
            format,
            "--pin",
            "55501",
            "--pan",
            "4012345678909",
        ]);
        let block = block["block"].as_str().unwrap().to_owned();
        check(
            &[
                "pin-block",
                "decode",
                "--format",
                format,
                "--block",
                &block,
                "--pan",
                "4012345678909",
            ],
            "pin",
            "55501",
        );
    }
}

#[test]
fn macs_and_kcvs() {
    check(
        &[
            "mac",
            "retail",
            "--key",
            "7CA110454A1A6E570131D9619DC1376E",
            "--text",
            "Hello World !!!!",
        ],
        "mac",
        "F09B856213BAB83B",
    );
    check(
        &[
            "mac",
            "retail",
            "--key",
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB",
            "--data",
            "68656C6C6F20776F726C64",
        ],
        "mac",
        "78DA3D3DEB48FD4D",
    );
    check(
        &[
            "mac",
            "cmac",
            "--key",
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "--data",
            "6BC1BEE22E409F96E93D7E117393172A",
        ],
        "mac",
        "070A16B46B4D4144F79BDD9DD04A287C",
    );
    let verified = json(&[
        "mac",
        "retail",
        "--key",
        "7CA110454A1A6E570131D9619DC1376E",
        "--text",
        "Hello World !!!!",
        "--verify",
        "F09B8562",
    ]);
    assert_eq!(verified["valid"], true);
    check(
        &["kcv", "--key", "0123456789ABCDEFFEDCBA9876543210"],
        "kcv",
        "08D7B4",
    );
}

const EMV_DATA: &str = "0000000040000000000000000124800004800001241911050152BF45851800001C";

#[test]
fn emv_cryptograms() {
    let common = [
        "--imk",
        BDK,
        "--pan",
        "1234567890123456",
        "--psn",
        "00",
        "--atc",
        "001C",
    ];
    let mut arqc10 = vec!["emv", "arqc", "--cvn", "10"];
    arqc10.extend(common);
    let data10 = format!("{EMV_DATA}03A06010");
    arqc10.extend(["--data", &data10]);
    let out = json(&arqc10);
    assert_eq!(out["arqc"], "29CCA15AE665FA2E");
    assert!(
        out["icc_master_key_kcv"]
            .as_str()
            .unwrap()
            .starts_with("BAB0")
    );
    let mut arpc10 = vec![
        "emv",
        "arpc",
        "--cvn",
        "10",
        "--arqc",
        "29CCA15AE665FA2E",
        "--arc",
        "3030",
    ];
    arpc10.extend(common);
    check(&arpc10, "arpc", "28993816AFAE4AEB");

    let data18 = format!("{EMV_DATA}06011203A0B800");
    let mut arqc18 = vec![
        "emv",
        "arqc",
        "--cvn",
        "18",
        "--verify",
        "7A788EA6B8A3E733",
        "--data",
        &data18,
    ];
    arqc18.extend(common);
    let out = json(&arqc18);
    assert_eq!(out["arqc"], "7A788EA6B8A3E733");
    assert_eq!(out["valid"], true);
    assert!(out["ac_key_kcv"].as_str().unwrap().starts_with("22C8"));
    let mut arpc18 = vec![
        "emv",
        "arpc",
        "--cvn",
        "18",
        "--arqc",
        "7A788EA6B8A3E733",
        "--csu",
        "00000000",
    ];
    arpc18.extend(common);
    check(&arpc18, "arpc", "9AF514C1");
}

#[test]
fn pvv_tr31_luhn() {
    check(
        &[
            "pvv",
            "--pvk",
            "5CA64B3C22BEC347CA7E6609904BAAED",
            "--pan",
            "4564320000980369",
            "--pvki",
            "1",
            "--pin",
            "2205",
        ],
        "pvv",
        "3856",
    );
    let block = "A0072P0TE00E0000F5161ED902807AF26F1D62263644BD24D52C8D44AAEDA6D81752022B";
    check(
        &[
            "tr31",
            "unwrap",
            "--kbpk",
            "89E88CF7931444F334BD7547FC3F380C",
            "--block",
            block,
        ],
        "key",
        "F039121BEC83D26B169BDCD5B22AAF8F",
    );
    for (version, kbpk) in [("B", BDK), ("D", "00112233445566778899AABBCCDDEEFF")] {
        let wrapped = json(&[
            "tr31",
            "wrap",
            "--version",
            version,
            "--kbpk",
            kbpk,
            "--key",
            "F039121BEC83D26B169BDCD5B22AAF8F",
        ]);
        let wrapped = wrapped["block"].as_str().unwrap().to_owned();
        assert!(wrapped.starts_with(version));
        check(
            &["tr31", "unwrap", "--kbpk", kbpk, "--block", &wrapped],
            "key",
            "F039121BEC83D26B169BDCD5B22AAF8F",
        );
    }
    assert_eq!(json(&["luhn", "4242424242424242"])["valid"], true);
    assert_eq!(json(&["luhn", "4242424242424241"])["valid"], false);
}

#[test]
fn plain_output_is_name_value_lines() {
    let out = run(&[
        "dukpt",
        "key",
        "--bdk",
        BDK,
        "--ksn",
        "FFFF9876543210E00001",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("key: 042666B49184CFA368DE9628D0397BC9\n"),
        "{text}"
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    check_rejected(
        &[
            "dukpt",
            "key",
            "--bdk",
            "0123",
            "--ksn",
            "FFFF9876543210E00001",
        ],
        "16 or 24 bytes",
    );
    check_rejected(
        &[
            "dukpt",
            "key",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E0000G",
        ],
        "not hexadecimal",
    );
    check_rejected(
        &["dukpt", "key", "--bdk", BDK, "--ksn", "FFFF9876543210E0000"],
        "KSN",
    );
    check_rejected(
        &[
            "dukpt",
            "key",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E00000",
        ],
        "counter is zero",
    );
    check_rejected(
        &[
            "dukpt",
            "key",
            "--bdk",
            BDK,
            "--ksn",
            "FFFF9876543210E007FF",
        ],
        "more than 10 one-bits",
    );
    check_rejected(
        &[
            "dukpt",
            "key",
            "--bdk",
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB",
            "--check-parity",
            "--ksn",
            "FFFF9876543210E00001",
        ],
        "parity",
    );
    check_rejected(
        &[
            "pin-block",
            "encode",
            "--format",
            "2",
            "--pin",
            "1234",
            "--pan",
            "4012345678909",
        ],
        "format must be",
    );
    check_rejected(
        &[
            "pin-block",
            "encode",
            "--format",
            "0",
            "--pin",
            "12",
            "--pan",
            "4012345678909",
        ],
        "PIN must be 4 to 12",
    );
    check_rejected(
        &["pin-block", "encode", "--format", "0", "--pin", "1234"],
        "--pan",
    );
    check_rejected(
        &[
            "pin-block",
            "decode",
            "--format",
            "0",
            "--block",
            "041274EDCBA9876F",
            "--pan",
            "4000001234562",
        ],
        "malformed PIN block",
    );
    check_rejected(
        &[
            "mac",
            "retail",
            "--key",
            "0123456789ABCDEFFEDCBA98765432100123456789ABCDEF",
            "--text",
            "x",
        ],
        "retail MAC key",
    );
    check_rejected(
        &[
            "emv",
            "arqc",
            "--cvn",
            "11",
            "--imk",
            BDK,
            "--pan",
            "1234567890123456",
            "--atc",
            "001C",
            "--data",
            "00",
        ],
        "10 or 18",
    );
    check_rejected(
        &[
            "tr31",
            "unwrap",
            "--kbpk",
            "00112233445566778899AABBCCDDEEFF",
            "--block",
            "A0072P0TE00E0000F5161ED902807AF26F1D62263644BD24D52C8D44AAEDA6D81752022B",
        ],
        "MAC does not verify",
    );
    check_rejected(&["luhn", "4242x"], "digits");
    // Usage errors from the argument parser are exit code 2 too.
    let out = run(&["dukpt", "key", "--bdk", BDK]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn errors_do_not_echo_keys() {
    let out = run(&[
        "dukpt",
        "key",
        "--bdk",
        "0123456789ABCDEFFEDCBA987654321",
        "--ksn",
        "FFFF9876543210E00001",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("0123456789ABCDEF"), "{stderr}");
}
