//! `posbridge iso8583 decode|encode` end to end.

use std::io::Write;
use std::process::{Command, Stdio};

const ECHO_0800: &str = "3038303082200000008000000400000000000000\
    313132343230313533303030303034325445524D30303031333031";

/// Runs posbridge with `args` and `stdin`; returns (exit code, stdout, stderr).
fn run(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("posbridge runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let output = child.wait_with_output().expect("posbridge exits");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8(output.stderr).expect("UTF-8"),
    )
}

fn check(args: &[&str], stdin: &[u8], expected_code: i32, expected_stdout: &str) {
    let (code, stdout, stderr) = run(args, stdin);
    assert_eq!(code, expected_code, "{args:?}: stderr {stderr}");
    assert_eq!(stdout.trim_end(), expected_stdout, "{args:?}");
}

fn check_input_error(args: &[&str], stdin: &[u8], expected_stderr: &str) {
    let (code, stdout, stderr) = run(args, stdin);
    assert_eq!(code, 2, "{args:?}: stdout {stdout}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(expected_stderr), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const ECHO_JSON: &str = r#"{"mti": "0800", "fields": {"7": "1124201530", "11": "000042", "41": "TERM0001", "70": "301"}}"#;

#[test]
fn decode_hex_stdin_flag_and_raw() {
    check(&["iso8583", "decode"], ECHO_0800.as_bytes(), 0, ECHO_JSON);
    check(
        &["iso8583", "decode", "--hex", ECHO_0800],
        b"",
        0,
        ECHO_JSON,
    );
    let raw: Vec<u8> = (0..ECHO_0800.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&ECHO_0800[i..i + 2], 16).expect("hex"))
        .collect();
    check(&["iso8583", "decode", "--raw"], &raw, 0, ECHO_JSON);
    let framed = format!("002F{ECHO_0800}");
    check(
        &["iso8583", "decode", "--framed", "--hex", &framed],
        b"",
        0,
        ECHO_JSON,
    );
}

#[test]
fn encode_round_trips() {
    check(&["iso8583", "encode"], ECHO_JSON.as_bytes(), 0, ECHO_0800);
    check(
        &["iso8583", "encode", "--framed", "--json", ECHO_JSON],
        b"",
        0,
        &format!("002F{ECHO_0800}"),
    );
}

#[test]
fn binary_fields_hex_tlv_and_numeric_key_order() {
    let json = r#"{"mti":"0200","fields":{"55":"9F2701807003820100","2":"4761739001010119","10":"12345678","52":"0102030405060708"}}"#;
    let (code, hex, stderr) = run(&["iso8583", "encode", "--json", json], b"");
    assert_eq!(code, 0, "{stderr}");
    check(
        &["iso8583", "decode", "--hex", hex.trim()],
        b"",
        0,
        r#"{"mti": "0200", "fields": {"2": "4761739001010119", "10": "12345678", "52": "0102030405060708", "55": "9F2701807003820100"}, "tlv": [{"tag": "9F27", "value": "80"}, {"tag": "70", "value": "820100", "children": [{"tag": "82", "value": "00"}]}]}"#,
    );
}

#[test]
fn cup_dialect() {
    let json = r#"{"mti":"0200","header":"6000030000603100311000","fields":{"2":"6212345678901234567","3":"000000","11":"000042","41":"TERM0001","60":"22000001000"}}"#;
    let expected = "60000300006031003110000200602000000080001019062123456789012345670000000000\
        425445524D303030310011022000001000";
    check(
        &["iso8583", "encode", "--dialect", "cup", "--json", json],
        b"",
        0,
        expected,
    );
    let (code, stdout, _) = run(
        &["iso8583", "decode", "--dialect", "cup", "--hex", expected],
        b"",
    );
    assert_eq!(code, 0);
    assert!(stdout.contains(r#""60": "22000001000""#), "{stdout}");
}

#[test]
fn invalid_input_exits_2_with_a_message() {
    check_input_error(
        &["iso8583", "decode", "--hex", "3032"],
        b"",
        "MTI at byte 0",
    );
    check_input_error(&["iso8583", "decode", "--hex", "zz"], b"", "not hex");
    check_input_error(&["iso8583", "decode"], b"303", "odd number of hex digits");
    check_input_error(
        &["iso8583", "decode", "--framed", "--hex", "FFFF00"],
        b"",
        "exceeds the maximum of 4096",
    );
    check_input_error(
        &["iso8583", "decode", "--hex", &format!("{ECHO_0800}00")],
        b"",
        "unexpected bytes after the last field",
    );
    check_input_error(&["iso8583", "encode", "--json", "{"], b"", "JSON");
    check_input_error(
        &[
            "iso8583",
            "encode",
            "--json",
            r#"{"mti":"02X0","fields":{}}"#,
        ],
        b"",
        "not 4 digits",
    );
    check_input_error(
        &[
            "iso8583",
            "encode",
            "--json",
            r#"{"mti":"0200","fields":{"4":"12"}}"#,
        ],
        b"",
        "DE 4",
    );
    check_input_error(
        &[
            "iso8583",
            "encode",
            "--json",
            r#"{"mti":"0200","fields":{"52":"0102"}}"#,
        ],
        b"",
        "DE 52",
    );
    check_input_error(
        &[
            "iso8583",
            "encode",
            "--json",
            r#"{"mti":"0200","fields":{"abc":"1"}}"#,
        ],
        b"",
        "not a number",
    );
}

#[test]
fn bench_json_has_the_figures() {
    let (code, stdout, stderr) = run(&["bench", "iso8583", "--json", "--iterations", "20"], b"");
    assert_eq!(code, 0, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    for key in [
        "decode_ns",
        "encode_ns",
        "roundtrip_ns",
        "i8583_decode_ns",
        "i8583_encode_ns",
        "i8583_roundtrip_ns",
        "ratio_roundtrip_vs_i8583",
    ] {
        assert!(value[key].is_number(), "{key} in {stdout}");
        assert!(value["response_0210"][key].is_number(), "{key} in {stdout}");
    }
    assert_eq!(value["message_bytes"], 285);
    check_input_error(
        &["bench", "iso8583", "--iterations", "0"],
        b"",
        "--iterations",
    );
}
