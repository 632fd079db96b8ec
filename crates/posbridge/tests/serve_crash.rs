//! `posbridge serve` killed with SIGKILL under load: after a restart the
//! ledger verifies and every approval the terminal received is stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iso8583::{ISO87, Message, MessageBuilder, Mti, de, decode_frame};
use store::testing::TestDatabase;
use store::{HostTable, Store};

fn serve(url: &str, sandbox: bool) -> (Child, String) {
    let mut args = vec![
        "serve",
        "--db",
        url,
        "--iso-listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
    ];
    if sandbox {
        args.push("--sandbox");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line
        .split_whitespace()
        .skip_while(|w| *w != "on")
        .nth(1)
        .unwrap()
        .trim_end_matches(',')
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn sale(stan: u32, pan: &str, amount: u64) -> Vec<u8> {
    let mut b = MessageBuilder::new(&ISO87, Mti::parse("0200").unwrap());
    b.set_text(de::PROCESSING_CODE, "000000").unwrap();
    b.set_number(de::AMOUNT, amount).unwrap();
    b.set_number(de::TRANSMISSION_DATE_TIME, 1124101010)
        .unwrap();
    b.set_number(de::STAN, u64::from(stan)).unwrap();
    b.set_text(de::LOCAL_TIME, "101010").unwrap();
    b.set_text(de::LOCAL_DATE, "1124").unwrap();
    b.set_text(de::PAN, pan).unwrap();
    b.set_text(de::EXPIRATION_DATE, "3012").unwrap();
    b.set_text(de::POS_ENTRY_MODE, "021").unwrap();
    b.set_text(de::POS_CONDITION_CODE, "00").unwrap();
    b.set_text(de::TERMINAL_ID, "T0000003").unwrap();
    b.set_text(de::MERCHANT_ID, "100000000000002").unwrap();
    b.set_number(de::CURRENCY_CODE, 156).unwrap();
    b.set_text(de::BATCH_NUMBER, "000001").unwrap();
    let mut wire = [0u8; 512];
    let n = b.encode_framed(&mut wire).unwrap();
    wire[..n].to_vec()
}

/// Sends sales until the connection breaks; returns the approved RRNs.
fn load(addr: &str, first_stan: u32, approved: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    let mut buffer = Vec::new();
    let mut stan = first_stan;
    while !stop.load(Ordering::Relaxed) {
        stan += 1;
        let pan = if stan % 2 == 0 {
            "6217000000000014"
        } else {
            "4761739001010010"
        };
        if stream
            .write_all(&sale(stan, pan, 100 + u64::from(stan % 50)))
            .is_err()
        {
            return;
        }
        loop {
            if let Ok(Some(frame)) = decode_frame(&buffer) {
                let message = Message::decode(&ISO87, frame.body).unwrap();
                if message.response_code() == Some("00") {
                    approved
                        .lock()
                        .unwrap()
                        .push(message.rrn().unwrap().to_owned());
                }
                let consumed = frame.consumed;
                buffer.drain(..consumed);
                break;
            }
            let mut chunk = [0u8; 1024];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

#[test]
fn killed_under_load_keeps_every_approval_and_a_sound_ledger() {
    let database = TestDatabase::sqlite("serve_crash");
    let url = database.url().to_owned();
    let approved = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (mut child, addr) = serve(&url, true);
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (addr, approved, stop) = (addr.clone(), Arc::clone(&approved), Arc::clone(&stop));
            std::thread::spawn(move || load(&addr, i * 100_000, &approved, &stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1_500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let approved = approved.lock().unwrap().clone();
    assert!(
        approved.len() > 10,
        "load ran: {} approvals",
        approved.len()
    );

    // Without --sandbox the host refuses a database holding sandbox data.
    let missing_keys = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args([
            "serve",
            "--db",
            &url,
            "--iso-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!missing_keys.status.success());
    let stderr = String::from_utf8_lossy(&missing_keys.stderr);
    assert!(stderr.contains("POSBRIDGE_BDK is not set"), "{stderr}");
    let hex32 = "11".repeat(32);
    let refused = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args([
            "serve",
            "--db",
            &url,
            "--iso-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .env("POSBRIDGE_BDK", "00112233445566778899AABBCCDDEEFF")
        .env("POSBRIDGE_PVK", "00112233445566778899AABBCCDDEEFF")
        .env("POSBRIDGE_IMK_AC", "00112233445566778899AABBCCDDEEFF")
        .env("POSBRIDGE_VAULT_TOKEN_KEY", &hex32)
        .env("POSBRIDGE_VAULT_ENCRYPTION_KEY", &hex32)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("holds sandbox data"), "{stderr}");

    let verify = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(["ledger", "verify", "--db", &url])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let mut store = Store::open(&url).unwrap();
    let stored = store.host_rows(HostTable::Transactions).unwrap();
    let stored: std::collections::HashMap<_, _> = stored.into_iter().collect();
    for rrn in &approved {
        let body = stored
            .get(rrn)
            .unwrap_or_else(|| panic!("approved {rrn} lost"));
        assert!(body.contains("code=00"), "{body}");
    }
    drop(store);

    // The restarted host continues with new RRNs.
    let (mut child, addr) = serve(&url, true);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(&sale(900_002, "6217000000000014", 100))
        .unwrap();
    let mut buffer = vec![0u8; 1024];
    let n = stream.read(&mut buffer).unwrap();
    let frame = decode_frame(&buffer[..n]).unwrap().unwrap();
    let message = Message::decode(&ISO87, frame.body).unwrap();
    assert_eq!(message.response_code(), Some("00"));
    assert!(
        !approved.contains(&message.rrn().unwrap().to_owned()),
        "RRN reused"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
