//! Every financial flow of the host interface over real TCP, with real
//! cryptography, against the sandbox data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use iso_support::*;
use iso8583::de;
use store::HostTable;

both_engines!(
    on_us_sales_decide_by_card,
    wrong_pins_then_blocked,
    unknown_bin_and_bad_luhn_get_14,
    off_us_sales_follow_the_network,
    duplicates_get_the_same_answer_and_change_nothing,
    void_refund_and_their_limits,
    preauthorization_and_completion,
    reversal_undoes_once_and_early_reversal_declines_the_original,
    batch_settlement_balances_or_records_an_exception,
    certification_merchant_is_processed_and_marked,
    merchant_mismatch_gets_03,
    mac_is_required_and_checked,
    ksn_replay_gets_63,
    chip_arqc_is_verified_and_arpc_returned,
    ledger_verifies_after_a_day_of_traffic,
    reversal_of_a_void_restores_the_sale,
    zero_amount_gets_13,
    cobrand_benefits_in_de63,
);

async fn cobrand_benefits_in_de63(server: TestServer) {
    let mut c = server.client("T0000001").await;
    // Participating merchant: 10% off (at most 20.00), 2 points per 1.00 paid.
    let sale = c.sale(COBRAND, 5_000, MID1);
    let first = c.call(&sale).await;
    assert_eq!(first.code(), "00");
    assert_eq!(
        first.message().amount_minor(),
        Some(5_000),
        "DE 4 echoes the request"
    );
    assert_eq!(
        first.text(de::BENEFITS).unwrap(),
        "PROG=DBCOFFEE;DISC=000000000500;PAID=000000004500;PTS=90;BAL=590"
    );
    let big = c.sale(COBRAND, 30_000, MID1);
    let capped = c.call(&big).await;
    assert_eq!(
        capped.text(de::BENEFITS).unwrap(),
        "PROG=DBCOFFEE;DISC=000000002000;PAID=000000028000;PTS=560;BAL=1150"
    );
    assert_eq!(
        available(&mut c, COBRAND, MID1).await,
        5_000_000 - 4_500 - 28_000
    );
    // A duplicate replays DE 63 unchanged.
    assert_eq!(
        c.call(&sale).await.text(de::BENEFITS),
        first.text(de::BENEFITS)
    );
    // Voiding gives back the card's payment and the points.
    let void = follow_up(
        &mut c,
        "0200",
        "020000",
        COBRAND,
        30_000,
        MID1,
        &capped.rrn(),
    );
    assert_eq!(c.call(&void).await.code(), "00");
    assert_eq!(available(&mut c, COBRAND, MID1).await, 5_000_000 - 4_500);
    // A refund returns the card's part first (45.00), then the program's.
    let refund = follow_up(&mut c, "0200", "200000", COBRAND, 5_000, MID1, &first.rrn());
    assert_eq!(c.call(&refund).await.code(), "00");
    assert_eq!(available(&mut c, COBRAND, MID1).await, 5_000_000);
    // Not participating: no discount, 1 point per 1.00 (the full refund took
    // back the 90 points of the first sale).
    let mut t3 = server.client("T0000003").await;
    let sale = t3.sale(COBRAND, 1_250, MID2);
    assert_eq!(
        t3.call(&sale).await.text(de::BENEFITS).unwrap(),
        "PROG=DBCOFFEE;DISC=000000000000;PAID=000000001250;PTS=12;BAL=512"
    );
    let (report, program) = server
        .stop_and(|s| {
            let program = s.account(ledger::AccountId(3)).unwrap().unwrap();
            (s.verify_ledger().unwrap(), program)
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    // The program funded 5.00 and 20.00, got 20.00 back by the void and 5.00 by the refund.
    assert_eq!(program.debits_posted, 2_500);
    assert_eq!(program.credits_posted, 2_500);
}

async fn reversal_of_a_void_restores_the_sale(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let sale = c.sale(DEBIT, 6_000, MID1);
    let sold = c.call(&sale).await;
    let void = follow_up(&mut c, "0200", "020000", DEBIT, 6_000, MID1, &sold.rrn());
    assert_eq!(c.call(&void).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
    let reversal = reversal_of(&mut c, &void, "0400");
    assert_eq!(c.call(&reversal).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000 - 6_000);
    // The sale is in force again: it can be voided once more.
    let void = follow_up(&mut c, "0200", "020000", DEBIT, 6_000, MID1, &sold.rrn());
    assert_eq!(c.call(&void).await.code(), "00");
    let report = server.stop_and(|s| s.verify_ledger().unwrap()).await;
    assert!(report.violations.is_empty(), "{report:?}");
}

async fn zero_amount_gets_13(server: TestServer) {
    let mut c = server.client("T0000001").await;
    for pan in [DEBIT, VISA] {
        let sale = c.sale(pan, 0, MID1);
        assert_eq!(c.call(&sale).await.code(), "13", "{pan}");
    }
}

async fn on_us_sales_decide_by_card(server: TestServer) {
    let mut c = server.client("T0000003").await;
    let cases = [
        (DEBIT, 12_345, "00"),
        (DEBIT_LOW, 1_001, "51"),
        (DEBIT_LOW, 1_000, "00"),
        (DEBIT_LOST, 100, "41"),
        (DEBIT_EXPIRED, 100, "54"),
        (COBRAND, 100, "00"),
    ];
    for (pan, amount, expected) in cases {
        let mut sale = c.sale(pan, amount, MID2);
        c.with_pin(&mut sale, pan, "1234");
        let response = c.call(&sale).await;
        assert_eq!(response.code(), expected, "{pan} {amount}");
        assert_eq!(response.rrn().len(), 12);
        assert_eq!(
            response.auth_code().len(),
            if expected == "00" { 6 } else { 0 }
        );
    }
    assert_eq!(available(&mut c, DEBIT, MID2).await, 1_000_000 - 12_345);
    assert_eq!(available(&mut c, DEBIT_LOW, MID2).await, 0);
}

async fn wrong_pins_then_blocked(server: TestServer) {
    let mut c = server.client("T0000001").await;
    for expected in ["55", "55", "75"] {
        let mut sale = c.sale(DEBIT, 100, MID1);
        c.with_pin(&mut sale, DEBIT, "9999");
        assert_eq!(c.call(&sale).await.code(), expected);
    }
    let mut sale = c.sale(DEBIT, 100, MID1);
    c.with_pin(&mut sale, DEBIT, "1234");
    assert_eq!(c.call(&sale).await.code(), "75", "blocked until reset");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
}

async fn unknown_bin_and_bad_luhn_get_14(server: TestServer) {
    let mut c = server.client("T0000001").await;
    for pan in ["6217000000000015", "4242424242424242", "6217009999999996"] {
        let sale = c.sale(pan, 100, MID1);
        assert_eq!(c.call(&sale).await.code(), "14", "{pan}");
    }
}

async fn off_us_sales_follow_the_network(server: TestServer) {
    let mut c = server.client("T0000001").await;
    for (pan, amount, expected) in [
        (VISA, 10_000, "00"),
        (MASTERCARD, 10_051, "51"),
        (VISA, 10_005, "05"),
        (MASTERCARD, 10_054, "54"),
        (VISA, 10_091, "91"),
    ] {
        let sale = c.sale(pan, amount, MID1);
        assert_eq!(c.call(&sale).await.code(), expected, "{pan} {amount}");
    }
    let (reversals, transactions) = server
        .stop_and(|s| {
            (
                s.host_rows(HostTable::NetworkReversals).unwrap(),
                s.host_rows(HostTable::Transactions).unwrap(),
            )
        })
        .await;
    assert_eq!(
        reversals.len(),
        1,
        "a reversal toward the network is recorded"
    );
    assert!(
        transactions
            .iter()
            .all(|(_, body)| !body.contains("4761739001010010")),
        "PAN stored in clear"
    );
    assert!(
        transactions
            .iter()
            .any(|(_, body)| body.contains("masked=476173******0010"))
    );
}

async fn duplicates_get_the_same_answer_and_change_nothing(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let sale = c.sale(DEBIT, 2_500, MID1);
    let first = c.call(&sale).await;
    assert_eq!(first.code(), "00");
    let again = c.call(&sale).await;
    assert_eq!(
        (again.code(), again.rrn(), again.auth_code()),
        (first.code(), first.rrn(), first.auth_code())
    );
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000 - 2_500);
    // A declined request is replayed as declined.
    let low = c.sale(DEBIT_LOW, 5_000, MID1);
    let declined = c.call(&low).await;
    assert_eq!(declined.code(), "51");
    assert_eq!(c.call(&low).await.rrn(), declined.rrn());
}

fn follow_up(
    c: &mut Client,
    mti: &str,
    processing: &str,
    pan: &str,
    amount: u64,
    mid: &str,
    rrn: &str,
) -> iso8583::MessageBuilder {
    let mut b = c.financial(mti, processing, pan, amount, mid);
    b.set_text(de::RRN, rrn).unwrap();
    b
}

async fn void_refund_and_their_limits(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let sale = c.sale(DEBIT, 5_000, MID1);
    let sold = c.call(&sale).await;
    assert_eq!(sold.code(), "00");
    // Void with a wrong amount → 13; unknown RRN → 25; right → 00; again → 12.
    let wrong = follow_up(&mut c, "0200", "020000", DEBIT, 4_000, MID1, &sold.rrn());
    assert_eq!(c.call(&wrong).await.code(), "13");
    let unknown = follow_up(&mut c, "0200", "020000", DEBIT, 5_000, MID1, "999999999999");
    assert_eq!(c.call(&unknown).await.code(), "25");
    let void = follow_up(&mut c, "0200", "020000", DEBIT, 5_000, MID1, &sold.rrn());
    assert_eq!(c.call(&void).await.code(), "00");
    let void_again = follow_up(&mut c, "0200", "020000", DEBIT, 5_000, MID1, &sold.rrn());
    assert_eq!(c.call(&void_again).await.code(), "12");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);

    let sale = c.sale(DEBIT, 8_000, MID1);
    let sold = c.call(&sale).await;
    for (amount, expected) in [(3_000, "00"), (5_000, "00"), (1, "13")] {
        let refund = follow_up(&mut c, "0200", "200000", DEBIT, amount, MID1, &sold.rrn());
        assert_eq!(c.call(&refund).await.code(), expected, "refund {amount}");
    }
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
    // Another merchant's RRN is not found.
    let mut other = server.client("T0000003").await;
    let foreign = follow_up(&mut other, "0200", "200000", DEBIT, 100, MID2, &sold.rrn());
    assert_eq!(other.call(&foreign).await.code(), "25");
}

async fn preauthorization_and_completion(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let preauth = c.financial("0100", "000000", COBRAND, 30_000, MID1);
    let held = c.call(&preauth).await;
    assert_eq!(held.code(), "00");
    assert_eq!(available(&mut c, COBRAND, MID1).await, 5_000_000 - 30_000);
    let mut too_much = follow_up(&mut c, "0220", "000000", COBRAND, 30_001, MID1, &held.rrn());
    too_much
        .set_text(de::AUTHORIZATION_CODE, &held.auth_code())
        .unwrap();
    assert_eq!(c.call(&too_much).await.code(), "13");
    let mut wrong_code = follow_up(&mut c, "0220", "000000", COBRAND, 20_000, MID1, &held.rrn());
    wrong_code
        .set_text(de::AUTHORIZATION_CODE, "ZZZZZZ")
        .unwrap();
    assert_eq!(c.call(&wrong_code).await.code(), "25");
    let mut completion = follow_up(&mut c, "0220", "000000", COBRAND, 20_000, MID1, &held.rrn());
    completion
        .set_text(de::AUTHORIZATION_CODE, &held.auth_code())
        .unwrap();
    let completed = c.call(&completion).await;
    assert_eq!(completed.mti(), "0230");
    assert_eq!(completed.code(), "00");
    assert_eq!(available(&mut c, COBRAND, MID1).await, 5_000_000 - 20_000);
    let mut twice = follow_up(&mut c, "0220", "000000", COBRAND, 20_000, MID1, &held.rrn());
    twice
        .set_text(de::AUTHORIZATION_CODE, &held.auth_code())
        .unwrap();
    assert_eq!(c.call(&twice).await.code(), "12");
    // Balance inquiry answers DE 54: credit account, available, CNY.
    let inquiry = c.financial("0100", "310000", COBRAND, 0, MID1);
    let answer = c.call(&inquiry).await;
    assert_eq!(
        answer.text(de::ADDITIONAL_AMOUNTS).unwrap(),
        format!("3002156C{:012}", 5_000_000 - 20_000)
    );
}

fn reversal_of(
    c: &mut Client,
    original: &iso8583::MessageBuilder,
    mti: &str,
) -> iso8583::MessageBuilder {
    let mut b = c.base(mti);
    for field in [3, 4, 22, 25, 42, 49] {
        if let Some(value) = original.get(field) {
            b.set(field, value).unwrap();
        }
    }
    let stan = std::str::from_utf8(original.get(de::STAN).unwrap())
        .unwrap()
        .to_owned();
    let de7 = std::str::from_utf8(original.get(de::TRANSMISSION_DATE_TIME).unwrap())
        .unwrap()
        .to_owned();
    let original_mti = original.mti().as_str().to_owned();
    b.set_text(
        de::ORIGINAL_DATA,
        &format!("{original_mti}{stan}{de7}{}", "0".repeat(22)),
    )
    .unwrap();
    b
}

async fn reversal_undoes_once_and_early_reversal_declines_the_original(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let sale = c.sale(DEBIT, 7_000, MID1);
    assert_eq!(c.call(&sale).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000 - 7_000);
    let reversal = reversal_of(&mut c, &sale, "0400");
    let answer = c.call(&reversal).await;
    assert_eq!(
        (answer.mti().as_str(), answer.code().as_str()),
        ("0410", "00")
    );
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
    for mti in ["0420", "0420", "0400"] {
        let advice = reversal_of(&mut c, &sale, mti);
        assert_eq!(c.call(&advice).await.code(), "00");
    }
    assert_eq!(
        available(&mut c, DEBIT, MID1).await,
        1_000_000,
        "undone exactly once"
    );
    // The pre-authorization's hold is released.
    let preauth = c.financial("0100", "000000", DEBIT, 9_000, MID1);
    assert_eq!(c.call(&preauth).await.code(), "00");
    let reversal = reversal_of(&mut c, &preauth, "0400");
    assert_eq!(c.call(&reversal).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
    // A reversal before its original: 00, then the original gets 94.
    let late = c.sale(DEBIT, 3_000, MID1);
    let early = reversal_of(&mut c, &late, "0400");
    assert_eq!(c.call(&early).await.code(), "00");
    assert_eq!(c.call(&late).await.code(), "94");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
    // A reversal of a declined original is answered 00 and changes nothing.
    let declined = c.sale(DEBIT_LOW, 99_999, MID1);
    assert_eq!(c.call(&declined).await.code(), "51");
    let reversal = reversal_of(&mut c, &declined, "0400");
    assert_eq!(c.call(&reversal).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT_LOW, MID1).await, 1_000);
}

fn settlement(
    c: &mut Client,
    mid: &str,
    batch: &str,
    debits: (u64, u64),
    credits: (u64, u64),
) -> iso8583::MessageBuilder {
    let mut b = c.base("0500");
    b.set_text(de::PROCESSING_CODE, "920000").unwrap();
    b.set_text(de::MERCHANT_ID, mid).unwrap();
    b.set_text(de::BATCH_NUMBER, batch).unwrap();
    b.set_number(de::CREDITS_NUMBER, credits.0).unwrap();
    b.set_number(de::CREDITS_AMOUNT, credits.1).unwrap();
    b.set_number(de::DEBITS_NUMBER, debits.0).unwrap();
    b.set_number(de::DEBITS_AMOUNT, debits.1).unwrap();
    b
}

async fn batch_settlement_balances_or_records_an_exception(server: TestServer) {
    let mut t1 = server.client("T0000001").await;
    let mut sold = Vec::new();
    for amount in [1_000, 2_000, 3_000] {
        let sale = t1.sale(DEBIT, amount, MID1);
        sold.push(t1.call(&sale).await.rrn());
    }
    let void = follow_up(&mut t1, "0200", "020000", DEBIT, 2_000, MID1, &sold[1]);
    assert_eq!(t1.call(&void).await.code(), "00");
    let refund = follow_up(&mut t1, "0200", "200000", DEBIT, 500, MID1, &sold[2]);
    assert_eq!(t1.call(&refund).await.code(), "00");
    let balanced = settlement(&mut t1, MID1, "000001", (2, 4_000), (1, 500));
    let answer = t1.call(&balanced).await;
    assert_eq!(
        (answer.mti().as_str(), answer.code().as_str()),
        ("0510", "00")
    );
    // The batch is closed: a transaction in it gets 12; the next batch works.
    let late = t1.sale(DEBIT, 100, MID1);
    assert_eq!(t1.call(&late).await.code(), "12");
    let mut next = t1.sale(DEBIT, 100, MID1);
    next.set_text(de::BATCH_NUMBER, "000002").unwrap();
    assert_eq!(t1.call(&next).await.code(), "00");
    // Another terminal out of balance: 95 with the host's totals, and an exception.
    let mut t3 = server.client("T0000003").await;
    let sale = t3.sale(DEBIT, 700, MID2);
    assert_eq!(t3.call(&sale).await.code(), "00");
    let unbalanced = settlement(&mut t3, MID2, "000001", (2, 1_400), (0, 0));
    let answer = t3.call(&unbalanced).await;
    assert_eq!(answer.code(), "95");
    assert_eq!(answer.message().number(de::DEBITS_NUMBER), Some(1));
    assert_eq!(answer.message().number(de::DEBITS_AMOUNT), Some(700));
    assert_eq!(answer.message().number(de::CREDITS_NUMBER), Some(0));
    let late = t3.sale(DEBIT, 100, MID2);
    assert_eq!(t3.call(&late).await.code(), "12", "closed either way");
    let exceptions = server
        .stop_and(|s| s.host_rows(HostTable::Exceptions).unwrap())
        .await;
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0].0, "T0000003/000001");
}

async fn certification_merchant_is_processed_and_marked(server: TestServer) {
    let mut t4 = server.client("T0000004").await;
    let sale = t4.sale(DEBIT, 1_234, MID3);
    let answer = t4.call(&sale).await;
    assert_eq!(answer.code(), "00");
    let rrn = answer.rrn();
    let transactions = server
        .stop_and(|s| s.host_rows(HostTable::Transactions).unwrap())
        .await;
    let (_, body) = transactions.iter().find(|(key, _)| *key == rrn).unwrap();
    assert!(body.contains("certification=1"), "{body}");
}

async fn merchant_mismatch_gets_03(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let sale = c.sale(DEBIT, 100, MID2);
    assert_eq!(c.call(&sale).await.code(), "03");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000);
}

async fn mac_is_required_and_checked(server: TestServer) {
    let mut c = server.client("T0000002").await;
    // Missing MAC → 63, nothing changes.
    let sale = c.sale(DEBIT, 1_000, MID1);
    assert_eq!(c.call(&sale).await.code(), "63");
    // A correct MAC → 00, and the response MAC verifies under the response key.
    let mut sale = c.sale(DEBIT, 1_000, MID1);
    c.with_mac(&mut sale);
    let response = c.call(&sale).await;
    assert_eq!(response.code(), "00");
    let message = response.message();
    let ksn = cardsec::Ksn::from_hex(message.text(de::KSN).unwrap()).unwrap();
    let expected =
        cardsec::dukpt::response_mac(&bdk(), &ksn, message.mac_input().unwrap()).unwrap();
    assert_eq!(message.field(de::MAC).unwrap().as_bytes(), expected);
    // Every single-bit flip of a MACed request changes nothing: 63, 30 or closed.
    let mut sale = c.sale(DEBIT, 2_000, MID1);
    c.with_mac(&mut sale);
    let mut wire = [0u8; 1024];
    let n = sale.encode_framed(&mut wire).unwrap();
    let mut codes = std::collections::BTreeMap::new();
    for bit in 16..n * 8 {
        let mut flipped = wire[..n].to_vec();
        flipped[bit / 8] ^= 0x80 >> (bit % 8);
        let mut probe = server.client("T0000002").await;
        probe.send_raw(&flipped).await;
        let code = match probe.recv().await {
            Some(body) => Response(body).code(),
            None => "closed".to_owned(),
        };
        assert!(
            ["63", "30", "58", "closed"].contains(&code.as_str()),
            "bit {bit}: {code}"
        );
        *codes.entry(code).or_insert(0) += 1;
    }
    assert!(codes.get("63").copied().unwrap_or(0) > 100, "{codes:?}");
    let mut t1 = server.client("T0000001").await;
    assert_eq!(available(&mut t1, DEBIT, MID1).await, 1_000_000 - 1_000);
}

async fn ksn_replay_gets_63(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let mut first = c.sale(DEBIT, 100, MID1);
    c.with_pin(&mut first, DEBIT, "1234");
    assert_eq!(c.call(&first).await.code(), "00");
    let used = first.get(de::KSN).unwrap().to_vec();
    let block = first.get(de::PIN_BLOCK).unwrap().to_vec();
    let mut replay = c.sale(DEBIT, 200, MID1);
    replay.set(de::KSN, &used).unwrap();
    replay.set(de::PIN_BLOCK, &block).unwrap();
    assert_eq!(c.call(&replay).await.code(), "63");
    // The same request again is a duplicate, answered as before.
    assert_eq!(c.call(&first).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT, MID1).await, 1_000_000 - 100);
}

async fn chip_arqc_is_verified_and_arpc_returned(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let icc = icc_data(COBRAND_CHIP, 4_000, false);
    let mut sale = c.sale(COBRAND_CHIP, 4_000, MID1);
    sale.set_text(de::POS_ENTRY_MODE, "051").unwrap();
    sale.set(de::ICC_DATA, &icc).unwrap();
    let response = c.call(&sale).await;
    assert_eq!(response.code(), "00");
    let de55 = response
        .message()
        .field(de::ICC_DATA)
        .unwrap()
        .as_bytes()
        .to_vec();
    let mut expected = vec![0x91, 0x08];
    expected.extend_from_slice(&expected_arpc(COBRAND_CHIP, &icc));
    expected.extend_from_slice(&[0; 4]);
    assert_eq!(de55, expected);
    let bad = icc_data(COBRAND_CHIP, 4_000, true);
    let mut sale = c.sale(COBRAND_CHIP, 4_000, MID1);
    sale.set_text(de::POS_ENTRY_MODE, "051").unwrap();
    sale.set(de::ICC_DATA, &bad).unwrap();
    assert_eq!(c.call(&sale).await.code(), "05");
    // Chip entry without DE 55 is a format error.
    let mut sale = c.sale(COBRAND_CHIP, 4_000, MID1);
    sale.set_text(de::POS_ENTRY_MODE, "051").unwrap();
    assert_eq!(c.call(&sale).await.code(), "30");
    assert_eq!(
        available(&mut c, COBRAND_CHIP, MID1).await,
        5_000_000 - 3_600 // 10% instant discount at a participating merchant
    );
}

async fn ledger_verifies_after_a_day_of_traffic(server: TestServer) {
    let mut c = server.client("T0000003").await;
    for i in 0..30u64 {
        let pan = [DEBIT, COBRAND, VISA, MASTERCARD][(i % 4) as usize];
        let sale = c.sale(pan, 1_000 + i, MID2);
        let answer = c.call(&sale).await;
        if i % 5 == 0 && answer.code() == "00" {
            let void = follow_up(
                &mut c,
                "0200",
                "020000",
                pan,
                1_000 + i,
                MID2,
                &answer.rrn(),
            );
            assert_eq!(c.call(&void).await.code(), "00");
        }
    }
    let report = server.stop_and(|s| s.verify_ledger().unwrap()).await;
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!(report.debits_total, report.credits_total);
}
