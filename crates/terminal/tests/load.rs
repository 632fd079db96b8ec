//! The load generator against a checking server: every sale carries a PIN
//! block that decrypts, under the DUKPT key of its own KSN, to the
//! cardholder's PIN; KSNs are never reused and STANs count up per terminal;
//! a full batch is settled with the terminal's own totals; an open loop
//! sends at the rate asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cardsec::dukpt::decrypt_pin_iso0;
use cardsec::{Ksn, Pin, TdesKey};
use iso8583::{ISO87, Message, MessageBuilder, de, decode_frame};
use terminal::card::Card;
use terminal::keys::InitialKey;
use terminal::load::{LoadSpec, LoadTerminal, Prepared, Window};

const BDK: &str = "0123456789ABCDEFFEDCBA9876543210";
const PAN: &str = "6217008888888889";
const AMOUNT_MINOR: u64 = 100;

/// What the server saw: per TID, the sales' (STAN, KSN) and settlements'
/// (debit count, debit amount).
#[derive(Default)]
struct Seen {
    sales: HashMap<String, Vec<(u32, String)>>,
    settlements: Vec<(u64, u64)>,
    bad_pins: usize,
}

fn serve(seen: Arc<Mutex<Seen>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || connection(stream.unwrap(), &seen));
        }
    });
    address
}

fn connection(mut stream: TcpStream, seen: &Mutex<Seen>) {
    let bdk = TdesKey::from_hex(BDK).unwrap();
    let pan = cardsec::Pan::new(PAN).unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(frame) = decode_frame(&buffer).unwrap() {
            let consumed = frame.consumed;
            let request = Message::decode(&ISO87, frame.body).unwrap();
            let tid = request.terminal_id().unwrap().to_owned();
            let mut seen = seen.lock().unwrap();
            match request.mti().as_str() {
                "0200" => {
                    let ksn = request.ksn().unwrap().to_owned();
                    let block = request.pin_block().unwrap();
                    let pin = decrypt_pin_iso0(&bdk, &Ksn::from_hex(&ksn).unwrap(), block, &pan);
                    if pin.map(|p| p.expose_digits() != "1234").unwrap_or(true) {
                        seen.bad_pins += 1;
                    }
                    let stan = request.stan().unwrap();
                    seen.sales.entry(tid).or_default().push((stan, ksn));
                }
                "0500" => {
                    let count = request.debits_number().unwrap();
                    let amount = request.debits_amount().unwrap();
                    seen.settlements.push((count, amount));
                }
                other => panic!("unexpected MTI {other}"),
            }
            drop(seen);
            let mut answer = MessageBuilder::response_to(&request, &[11, 41]).unwrap();
            answer.set_text(de::RESPONSE_CODE, "00").unwrap();
            let mut wire = [0u8; 4096];
            let len = answer.encode_framed(&mut wire).unwrap();
            stream.write_all(&wire[..len]).unwrap();
            buffer.drain(..consumed);
        }
    }
}

fn prepared(terminals: usize, steps: usize) -> Prepared {
    let bdk = TdesKey::from_hex(BDK).unwrap();
    let terminals = (0..terminals)
        .map(|i| {
            let initial_ksn = format!("FFFF98765432{i:02X}E00000");
            LoadTerminal {
                tid: format!("L{:07}", i + 1),
                mid: "100000000000002".into(),
                ipek: InitialKey::Bdk(bdk.clone()).ipek(&initial_ksn).unwrap(),
                initial_ksn,
                mac_required: false,
                batch: 1,
            }
        })
        .collect();
    let spec = LoadSpec {
        card: Card::new(PAN, "3012").unwrap(),
        pin: Pin::new("1234").unwrap(),
        amount_minor: AMOUNT_MINOR,
        currency: 156,
        utc_offset_s: 8 * 3_600,
        response_timeout: Duration::from_secs(5),
        threads: 2,
    };
    Prepared::new(terminals, spec, steps).unwrap()
}

#[test]
fn closed_loop_sales_carry_real_pin_blocks_fresh_ksns_and_settle_full_batches() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let address = serve(Arc::clone(&seen));
    // Fewer prepared requests than the run sends: the rest are derived inline.
    let load = prepared(3, 200);
    let window = Window {
        duration: Duration::from_secs(2),
        rate: None,
    };
    let report = load
        .run(&address, window, &Arc::new(AtomicU64::new(0)))
        .unwrap();
    let seen = seen.lock().unwrap();
    let sales: usize = seen.sales.values().map(Vec::len).sum();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.approved as usize, sales);
    assert_eq!(seen.bad_pins, 0);
    assert_eq!(seen.sales.len(), 3);
    assert!(report.derived_inline > 0, "{report:?}");
    for requests in seen.sales.values() {
        let stans: Vec<u32> = requests.iter().map(|(stan, _)| *stan).collect();
        let ksns: HashSet<&String> = requests.iter().map(|(_, ksn)| ksn).collect();
        assert_eq!(ksns.len(), requests.len(), "a KSN was used twice");
        // STANs count up by one per request, settlements included.
        assert!(stans.windows(2).all(|w| w[1] > w[0]), "{stans:?}");
    }
    assert_eq!(report.settlements as usize, seen.settlements.len());
    for (count, amount) in &seen.settlements {
        assert_eq!((*count, *amount), (500, 500 * AMOUNT_MINOR));
    }
    // Every terminal filled at least one batch (500 sales) in the window.
    assert!(report.settlements >= 3, "{sales} sales, {report:?}");
}

#[test]
fn open_loop_sends_at_the_rate_asked() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let address = serve(Arc::clone(&seen));
    let load = prepared(4, 400);
    let window = Window {
        duration: Duration::from_secs(1),
        rate: Some(400.0),
    };
    let report = load
        .run(&address, window, &Arc::new(AtomicU64::new(0)))
        .unwrap();
    let sales: usize = seen.lock().unwrap().sales.values().map(Vec::len).sum();
    assert_eq!(report.approved as usize, sales);
    assert!(
        (390..=410).contains(&sales),
        "{sales} sales at 400/s for 1 s"
    );
    assert_eq!(report.derived_inline, 0);
    assert!(report.late.len() as usize == sales);
}
