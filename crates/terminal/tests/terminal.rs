//! The terminal against a scripted host: every message it sends is decoded
//! and checked field by field against host-interface.md, the PIN block,
//! MAC and ARQC are checked exactly as the host will check them, and the
//! transport, reversal and batch rules are driven through the script.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use cardsec::emv::{self, CardData, CryptogramVersion, TransactionData};
use cardsec::{Ksn, Pan, Pin, TdesKey, dukpt};
use iso8583::tlv::TlvIter;
use iso8583::{ISO87, Message};
use terminal::card::{Card, EntryMode};
use terminal::clock::FixedClock;
use terminal::keys::InitialKey;
use terminal::state::TerminalState;
use terminal::testing::{Reply, ScriptedHost};
use terminal::{CardRead, Error, Terminal, TerminalConfig};

const BDK: &str = "0123456789ABCDEFFEDCBA9876543210";
const IMK: &str = "9E15204313F7318ACB79B90BD986AD29";
/// 2026-11-24 15:30:45 UTC (23:30:45 in Shanghai).
const NOW: i64 = 1_795_534_245;
const MID: &str = "100000000000001";

fn bdk() -> TdesKey {
    TdesKey::from_hex(BDK).unwrap()
}

fn terminal_for(host: &ScriptedHost, tid: &str, ksn: &str, mac: bool) -> Terminal {
    let mut state = TerminalState::new(tid, MID, ksn).unwrap();
    state.mac_required = mac;
    state.merchant_name = "Lucky Coffee Store #1".into();
    let ipek = InitialKey::Bdk(bdk()).ipek(ksn).unwrap();
    let mut config = TerminalConfig::new(&host.address());
    config.response_timeout = Duration::from_millis(300);
    Terminal::new(state, ipek, config, Box::new(FixedClock(NOW))).unwrap()
}

fn terminal(host: &ScriptedHost) -> Terminal {
    terminal_for(host, "T0000001", "FFFF9876543210E00000", false)
}

fn chip_card() -> Card {
    let imk = TdesKey::from_hex(IMK).unwrap();
    Card::new("6225880000000019", "3012")
        .unwrap()
        .with_chip(Some(imk), 0)
}

fn debit_card() -> Card {
    Card::new("6217000000000014", "3012").unwrap()
}

fn read(card: &Card, entry: EntryMode) -> CardRead<'_> {
    CardRead {
        card,
        entry,
        pin: None,
    }
}

fn decode(bytes: &[u8]) -> Message<'_> {
    Message::decode(&ISO87, bytes).unwrap()
}

fn fields(message: &Message<'_>) -> Vec<usize> {
    message.fields().collect()
}

fn text(message: &Message<'_>, field: usize) -> String {
    message.field(field).unwrap().as_text().unwrap().to_owned()
}

/// Checks DE 7, 11, 41 (and 42 when `mid`) of a request.
fn check_header(message: &Message<'_>, mti: &str, stan: &str, mid: bool) {
    assert_eq!(message.mti().as_str(), mti);
    assert_eq!(text(message, 7), "1124153045", "DE 7 is UTC MMDDhhmmss");
    assert_eq!(text(message, 11), stan);
    assert_eq!(text(message, 41), "T0000001");
    assert_eq!(message.has(42), mid);
    if mid {
        assert_eq!(text(message, 42), MID);
    }
}

/// Checks the fields every financial request carries.
fn check_financial(message: &Message<'_>, processing_code: &str, amount: &str, de22: &str) {
    assert_eq!(text(message, 3), processing_code);
    assert_eq!(text(message, 4), amount);
    assert_eq!(
        text(message, 12),
        "233045",
        "DE 12 is local (Shanghai) time"
    );
    assert_eq!(text(message, 13), "1124");
    assert_eq!(text(message, 22), de22);
    assert_eq!(text(message, 49), "156");
    assert_eq!(text(message, 60), "000001");
}

#[test]
fn network_management_messages_carry_7_11_41_70_only() {
    let host =
        ScriptedHost::start(vec![Reply::ok(), Reply::ok(), Reply::code("96")], None).unwrap();
    let mut terminal = terminal(&host);
    assert!(terminal.sign_on().unwrap().approved);
    assert!(terminal.echo().unwrap().approved);
    let sign_off = terminal.sign_off().unwrap();
    assert_eq!(sign_off.response_code.as_deref(), Some("96"));
    assert_eq!(sign_off.reason, "system malfunction");
    let received = host.received();
    for (index, code) in ["001", "301", "002"].iter().enumerate() {
        let message = decode(&received[index]);
        check_header(&message, "0800", &format!("{:06}", index + 1), false);
        assert_eq!(fields(&message), [7, 11, 41, 70]);
        assert_eq!(text(&message, 70), *code);
    }
}

/// What the host does with DE 55: rebuild the CVN 18 data and verify the
/// ARQC with the program's IMK.
fn arqc_verifies(message: &Message<'_>, pan: &str) -> bool {
    let tags: HashMap<String, Vec<u8>> = TlvIter::new(message.icc_data().unwrap())
        .map(|tlv| {
            let tlv = tlv.unwrap();
            (tlv.tag.to_string(), tlv.value.to_vec())
        })
        .collect();
    for tag in [
        "9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A",
        "9F03",
    ] {
        assert!(tags.contains_key(tag), "DE 55 lacks {tag}");
    }
    let array = |tag: &str| tags[tag].clone();
    let data = TransactionData {
        amount: array("9F02").try_into().unwrap(),
        amount_other: array("9F03").try_into().unwrap(),
        terminal_country: array("9F1A").try_into().unwrap(),
        tvr: array("95").try_into().unwrap(),
        currency: array("5F2A").try_into().unwrap(),
        date: array("9A").try_into().unwrap(),
        transaction_type: tags["9C"][0],
        unpredictable_number: array("9F37").try_into().unwrap(),
        aip: array("82").try_into().unwrap(),
        atc: array("9F36").try_into().unwrap(),
        iad: array("9F10"),
    };
    assert_eq!(&tags["9F10"][..3], [0x06, 0x01, 0x12], "CVN 18 IAD");
    let pan = Pan::new(pan).unwrap();
    let card = CardData {
        pan: &pan,
        psn: 0,
        atc: data.atc,
    };
    let input = data.cryptogram_input(CryptogramVersion::Cvn18).unwrap();
    let arqc: [u8; 8] = array("9F26").try_into().unwrap();
    let imk = TdesKey::from_hex(IMK).unwrap();
    emv::authorize_cvn18(&imk, &card, &input, &arqc, [0; 4])
        .unwrap()
        .arqc_valid
}

#[test]
fn chip_sale_with_pin_carries_track2_icc_pin_block_and_ksn() {
    let benefits = "PROG=DBCOFFEE;DISC=000000000380;PAID=000000003420;PTS=68;BAL=68";
    let host = ScriptedHost::start(
        vec![Reply::approve("633012000001", "A1B2C3").with(63, benefits)],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = chip_card();
    let pin = Pin::new("1234").unwrap();
    let outcome = terminal
        .sale(
            CardRead {
                card: &card,
                entry: EntryMode::Chip,
                pin: Some(&pin),
            },
            3_800,
        )
        .unwrap();
    let received = host.received();
    let message = decode(&received[0]);
    check_header(&message, "0200", "000001", true);
    check_financial(&message, "000000", "000000003800", "051");
    assert_eq!(
        fields(&message),
        [3, 4, 7, 11, 12, 13, 22, 25, 35, 41, 42, 49, 52, 55, 60, 62]
    );
    assert_eq!(text(&message, 25), "00");
    assert_eq!(text(&message, 35), "6225880000000019=3012201000000000");
    let ksn_text = text(&message, 62);
    assert_eq!(ksn_text, "FFFF9876543210E00001");
    let ksn = Ksn::from_hex(&ksn_text).unwrap();
    let pan = Pan::new("6225880000000019").unwrap();
    let clear = dukpt::decrypt_pin_iso0(&bdk(), &ksn, message.pin_block().unwrap(), &pan).unwrap();
    assert_eq!(clear.expose_digits(), "1234");
    assert!(arqc_verifies(&message, "6225880000000019"));

    assert!(outcome.approved);
    let receipt = outcome.receipt.unwrap().render();
    for needle in [
        "622588******0019",
        "CHIP",
        "CNY 38.00",
        "DISCOUNT DBCOFFEE",
        "CNY 34.20",
        "A1B2C3",
        "633012000001",
        "2026-11-24 23:30:45",
        "APPROVED",
    ] {
        assert!(receipt.contains(needle), "{needle} missing from\n{receipt}");
    }
    let state = terminal.state();
    assert_eq!((state.stan, state.ksn_counter), (1, 1));
    assert_eq!(
        (state.totals.debit_count, state.totals.debit_amount_minor),
        (1, 3_800)
    );
    assert!(state.reversals.is_empty());
    let saved = serde_json::to_string(state).unwrap();
    assert!(
        !saved.contains("6225880000000019"),
        "clear PAN in the state: {saved}"
    );
}

#[test]
fn a_tampered_icc_field_fails_the_host_check() {
    let host = ScriptedHost::start(vec![Reply::approve("000000000001", "AUTH01")], None).unwrap();
    let mut terminal = terminal(&host);
    let card = chip_card();
    terminal
        .sale(read(&card, EntryMode::Contactless), 100)
        .unwrap();
    let mut bytes = host.received()[0].clone();
    let message = decode(&bytes);
    assert_eq!(text(&message, 22), "071");
    assert!(arqc_verifies(&message, "6225880000000019"));
    // The same request as another card: the ARQC no longer verifies.
    assert!(!arqc_verifies(&message, "6225880000000027"));
    let at = bytes
        .windows(3)
        .position(|w| w == [0x9F, 0x02, 0x06])
        .unwrap();
    bytes[at + 8] ^= 0x01;
    assert!(!arqc_verifies(&decode(&bytes), "6225880000000019"));
}

#[test]
fn swipe_and_keyed_reads() {
    let host = ScriptedHost::start(
        vec![
            Reply::approve("000000000001", "AUTH01"),
            Reply::approve("000000000002", "AUTH02"),
        ],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = debit_card();
    terminal.sale(read(&card, EntryMode::Swipe), 1_234).unwrap();
    terminal.sale(read(&card, EntryMode::Keyed), 1_234).unwrap();
    let received = host.received();
    let swipe = decode(&received[0]);
    check_financial(&swipe, "000000", "000000001234", "021");
    assert_eq!(text(&swipe, 35), "6217000000000014=3012101000000000");
    assert_eq!(
        fields(&swipe),
        [3, 4, 7, 11, 12, 13, 22, 25, 35, 41, 42, 49, 60]
    );
    let keyed = decode(&received[1]);
    check_financial(&keyed, "000000", "000000001234", "012");
    assert_eq!(text(&keyed, 2), "6217000000000014");
    assert_eq!(text(&keyed, 14), "3012");
    assert_eq!(
        fields(&keyed),
        [2, 3, 4, 7, 11, 12, 13, 14, 22, 25, 41, 42, 49, 60]
    );
}

#[test]
fn preauth_completion_void_refund_and_balance() {
    let host = ScriptedHost::start(
        vec![
            Reply::approve("000000000011", "PA0001"),
            Reply::approve("000000000012", "PA0002"),
            Reply::approve("000000000013", "S00003"),
            Reply::approve("000000000014", "V00004"),
            Reply::approve("000000000015", "R00005"),
            Reply::approve("000000000016", "B00006").with(54, "1002156C000001000000"),
        ],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = debit_card();
    let swipe = read(&card, EntryMode::Swipe);
    terminal.preauth(swipe, 10_000).unwrap();
    terminal
        .complete(swipe, 9_000, "000000000011", "PA0001")
        .unwrap();
    terminal.sale(swipe, 2_500).unwrap();
    terminal.void(swipe, "000000000013", None).unwrap();
    terminal.refund(swipe, "000000000012", 1_000).unwrap();
    let balance = terminal.balance(swipe).unwrap();
    assert_eq!(balance.available_balance_minor, Some(1_000_000));

    let received = host.received();
    let preauth = decode(&received[0]);
    check_financial(&preauth, "000000", "000000010000", "021");
    assert_eq!(preauth.mti().as_str(), "0100");
    assert_eq!(text(&preauth, 25), "06");
    let completion = decode(&received[1]);
    assert_eq!(completion.mti().as_str(), "0220");
    check_financial(&completion, "000000", "000000009000", "021");
    assert_eq!(
        (text(&completion, 37), text(&completion, 38)),
        ("000000000011".into(), "PA0001".into())
    );
    let void = decode(&received[3]);
    assert_eq!(void.mti().as_str(), "0200");
    check_financial(&void, "020000", "000000002500", "021");
    assert_eq!(text(&void, 37), "000000000013");
    assert!(!void.has(38));
    let refund = decode(&received[4]);
    check_financial(&refund, "200000", "000000001000", "021");
    assert_eq!(text(&refund, 37), "000000000012");
    let inquiry = decode(&received[5]);
    assert_eq!(inquiry.mti().as_str(), "0100");
    check_financial(&inquiry, "310000", "000000000000", "021");

    // Completion 90.00 counts; the voided sale does not; the refund is a credit.
    let state = terminal.state();
    assert_eq!(
        (state.totals.debit_count, state.totals.debit_amount_minor),
        (1, 9_000)
    );
    assert_eq!(
        (state.totals.credit_count, state.totals.credit_amount_minor),
        (1, 1_000)
    );
    assert!(matches!(
        terminal.void(swipe, "000000000013", None),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        terminal.void(swipe, "999999999999", None),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        terminal.complete(swipe, 10_001, "000000000011", "PA0001"),
        Err(Error::Input(_))
    ));
    assert_eq!(host.received().len(), 6, "refused locally, nothing sent");
}

#[test]
fn mac_terminal_signs_requests_and_checks_answers() {
    let host = ScriptedHost::start(
        vec![
            Reply::approve("000000000021", "M00001"),
            Reply::approve("000000000022", "M00002").with_bad_mac(),
            Reply::ok(),
        ],
        Some(bdk()),
    )
    .unwrap();
    let mut terminal = terminal_for(&host, "T0000001", "FFFF9876543211000000", true);
    let card = debit_card();
    let first = terminal.sale(read(&card, EntryMode::Swipe), 500).unwrap();
    assert!(first.approved, "{first:?}");
    let second = terminal.sale(read(&card, EntryMode::Swipe), 700).unwrap();
    assert!(!second.approved);
    assert!(
        second.response_code.is_none(),
        "a bad response MAC is no answer"
    );
    assert!(second.reversal_queued);
    assert_eq!(terminal.state().reversals.len(), 1);
    assert_eq!(terminal.state().totals.debit_amount_minor, 500);

    let received = host.received();
    for (index, counter) in [(0, "000001"), (1, "000002")] {
        let message = decode(&received[index]);
        let ksn = text(&message, 62);
        assert_eq!(ksn, format!("FFFF98765432110{}", &counter[1..]));
        assert_eq!(*fields(&message).last().unwrap(), 64);
        let ksn = Ksn::from_hex(&ksn).unwrap();
        let input = message.mac_input().unwrap();
        assert!(dukpt::verify_request_mac(&bdk(), &ksn, input, message.mac().unwrap()).unwrap());
        let mut tampered = input.to_vec();
        tampered[20] ^= 1;
        assert!(
            !dukpt::verify_request_mac(&bdk(), &ksn, &tampered, message.mac().unwrap()).unwrap()
        );
    }
    // The reversal goes first on the next operation, with its own KSN and MAC.
    terminal.send_reversals().unwrap();
    let received = host.received();
    let reversal = decode(&received[2]);
    assert_eq!(reversal.mti().as_str(), "0400");
    let ksn = Ksn::from_hex(&text(&reversal, 62)).unwrap();
    assert_eq!(ksn.counter(), 3);
    assert!(
        dukpt::verify_request_mac(
            &bdk(),
            &ksn,
            reversal.mac_input().unwrap(),
            reversal.mac().unwrap()
        )
        .unwrap()
    );
    assert!(terminal.state().reversals.is_empty());
}

#[test]
fn timeout_queues_a_reversal_sent_as_0400_then_0420_until_answered() {
    let host = ScriptedHost::start(
        vec![
            Reply::Silent,                            // 0200 sale: no answer
            Reply::Silent,                            // 0400: no answer
            Reply::approve("000000000032", "B00002"), // next sale goes on
            Reply::Silent,                            // 0420: no answer
            Reply::ok(),                              // 0420 again: answered
            Reply::ok(),                              // 0500
        ],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = debit_card();
    let swipe = read(&card, EntryMode::Swipe);
    let lost = terminal.sale(swipe, 3_800).unwrap();
    assert!(lost.reversal_queued && lost.response_code.is_none());
    assert!(
        lost.receipt
            .unwrap()
            .render()
            .contains("DECLINED -- no answer; reversal queued")
    );
    assert_eq!(terminal.state().reversals.len(), 1);
    assert_eq!(terminal.state().totals.debit_count, 0);

    let next = terminal.sale(swipe, 1_000).unwrap();
    assert!(next.approved);
    assert_eq!(terminal.state().reversals[0].attempts, 1);
    let report = terminal.send_reversals().unwrap();
    assert_eq!((report.sent, report.answered, report.pending), (1, 0, 1));
    let settled = terminal.settle().unwrap();
    assert!(settled.approved);
    assert!(terminal.state().reversals.is_empty());

    let received = host.received();
    let mtis: Vec<String> = received
        .iter()
        .map(|m| decode(m).mti().as_str().to_owned())
        .collect();
    assert_eq!(mtis, ["0200", "0400", "0200", "0420", "0420", "0500"]);
    for index in [1, 3, 4] {
        let reversal = decode(&received[index]);
        assert_eq!(fields(&reversal), [3, 4, 7, 11, 41, 42, 49, 90]);
        assert_eq!(text(&reversal, 3), "000000");
        assert_eq!(text(&reversal, 4), "000000003800");
        assert_eq!(
            text(&reversal, 90),
            format!("0200000001{}{}", "1124153045", "0".repeat(22))
        );
        assert_ne!(text(&reversal, 11), "000001", "a reversal has its own STAN");
    }
    // The 0500 counts only the approved sale.
    let settlement = decode(&received[5]);
    assert_eq!(
        (text(&settlement, 76), text(&settlement, 88)),
        ("0000000001".into(), "0000000000001000".into())
    );
}

#[test]
fn settlement_sends_own_totals_and_opens_the_next_batch_either_way() {
    let host = ScriptedHost::start(
        vec![
            Reply::approve("000000000041", "C00001"),
            Reply::approve("000000000042", "C00002"),
            Reply::code("95")
                .with(74, "0000000000")
                .with(76, "0000000001")
                .with(86, "0000000000000000")
                .with(88, "0000000000001000"),
            Reply::Silent,
            Reply::ok(),
        ],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = debit_card();
    let swipe = read(&card, EntryMode::Swipe);
    terminal.sale(swipe, 1_000).unwrap();
    terminal.refund(swipe, "000000000041", 250).unwrap();
    let settled = terminal.settle().unwrap();
    assert_eq!(settled.response_code.as_deref(), Some("95"));
    assert_eq!(settled.reason, "reconciliation error");
    assert_eq!(settled.host_totals.unwrap().debit_amount_minor, 1_000);
    let received = host.received();
    let message = decode(&received[2]);
    check_header(&message, "0500", "000003", true);
    assert_eq!(fields(&message), [3, 7, 11, 41, 42, 60, 74, 76, 86, 88]);
    assert_eq!(text(&message, 3), "920000");
    assert_eq!(text(&message, 60), "000001");
    assert_eq!(text(&message, 74), "0000000001");
    assert_eq!(text(&message, 76), "0000000001");
    assert_eq!(text(&message, 86), "0000000000000250");
    assert_eq!(text(&message, 88), "0000000000001000");
    let state = terminal.state();
    assert_eq!(state.batch, 2);
    assert!(state.entries.is_empty());
    assert_eq!(state.totals, Default::default());

    // No answer: the batch stays open; a 0500 is not reversed.
    let silent = terminal.settle().unwrap();
    assert!(silent.response_code.is_none());
    assert_eq!(terminal.state().batch, 2);
    assert!(terminal.state().reversals.is_empty());
    terminal.settle().unwrap();
    assert_eq!(terminal.state().batch, 3);
    assert_eq!(text(&decode(&host.received()[4]), 60), "000002");
}

#[test]
fn answers_are_matched_by_stan_and_tid_not_by_order() {
    let host = ScriptedHost::start(
        vec![Reply::approve("000000000051", "D00001").after_stray()],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = debit_card();
    let outcome = terminal.sale(read(&card, EntryMode::Swipe), 100).unwrap();
    assert_eq!(outcome.rrn.as_deref(), Some("000000000051"));
}

#[test]
fn an_unreachable_host_is_an_error_and_queues_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let mut state = TerminalState::new("T0000001", MID, "FFFF9876543210E00000").unwrap();
    state.merchant_name = "x".into();
    let ipek = InitialKey::Bdk(bdk()).ipek("FFFF9876543210E00000").unwrap();
    let mut terminal = Terminal::new(
        state,
        ipek,
        TerminalConfig::new(&address),
        Box::new(FixedClock(NOW)),
    )
    .unwrap();
    let card = debit_card();
    let result = terminal.sale(read(&card, EntryMode::Swipe), 100);
    assert!(matches!(result, Err(Error::Connect { .. })), "{result:?}");
    assert!(terminal.state().reversals.is_empty());
}

#[test]
fn the_chip_card_checks_the_issuer_answer_and_declines_a_false_one() {
    let imk = TdesKey::from_hex(IMK).unwrap();
    let other = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let host = ScriptedHost::start(
        vec![
            Reply::approve("000000000061", "E00001").with_arpc(imk),
            Reply::approve("000000000062", "E00002").with_arpc(other),
            Reply::ok(),
        ],
        None,
    )
    .unwrap();
    let mut terminal = terminal(&host);
    let card = chip_card();
    let genuine = terminal.sale(read(&card, EntryMode::Chip), 1_000).unwrap();
    assert!(genuine.approved && !genuine.card_declined && !genuine.reversal_queued);
    let forged = terminal.sale(read(&card, EntryMode::Chip), 2_000).unwrap();
    assert!(!forged.approved && forged.card_declined && forged.reversal_queued);
    assert!(
        forged
            .receipt
            .unwrap()
            .render()
            .contains("DECLINED -- declined by card")
    );
    assert_eq!(terminal.state().totals.debit_amount_minor, 1_000);
    assert_eq!(terminal.state().reversals.len(), 1);
    assert_eq!(terminal.state().reversals[0].amount_minor, 2_000);
    terminal.send_reversals().unwrap();
    assert!(terminal.state().reversals.is_empty());
}

/// A one-shot host written with `iso8583` alone: it answers the first
/// request with `00`, dribbling the frame out one byte at a time, then
/// closes the connection on the second without answering.
fn dribbling_host() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buffer = vec![0u8; 4096];
        let read = stream.read(&mut buffer).unwrap();
        let frame = iso8583::decode_frame(&buffer[..read]).unwrap().unwrap();
        let request = decode(frame.body);
        let mut response =
            iso8583::MessageBuilder::response_to(&request, &[3, 4, 7, 11, 41, 42]).unwrap();
        response
            .set_text(37, "000000000071")
            .unwrap()
            .set_text(39, "00")
            .unwrap();
        let mut wire = [0u8; 512];
        let len = response.encode_framed(&mut wire).unwrap();
        for byte in &wire[..len] {
            stream.write_all(&[*byte]).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = stream.read(&mut buffer).unwrap();
        drop(stream);
    });
    address
}

#[test]
fn frames_arrive_in_pieces_and_a_closed_connection_is_no_answer() {
    let address = dribbling_host();
    let state = TerminalState::new("T0000001", MID, "FFFF9876543210E00000").unwrap();
    let ipek = InitialKey::Bdk(bdk()).ipek("FFFF9876543210E00000").unwrap();
    let mut config = TerminalConfig::new(&address);
    config.response_timeout = Duration::from_secs(5);
    let mut terminal = Terminal::new(state, ipek, config, Box::new(FixedClock(NOW))).unwrap();
    let card = debit_card();
    let first = terminal.sale(read(&card, EntryMode::Swipe), 100).unwrap();
    assert_eq!(first.rrn.as_deref(), Some("000000000071"));
    let started = std::time::Instant::now();
    let second = terminal.sale(read(&card, EntryMode::Swipe), 200).unwrap();
    assert!(second.response_code.is_none() && second.reversal_queued);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a close is not waited out"
    );
}
