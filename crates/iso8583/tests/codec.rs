//! Integration tests of the codec: hand-derived known answers, realistic
//! samples, errors, salvage, MAC input, and property tests.

use iso8583::tlv::{self, TlvIter};
use iso8583::{
    CUP, Content, Dialect, Disposition, Error, ISO87, LengthKind, Message, MessageBuilder, Mti,
    Part, decode_frame, salvage, samples,
};
use proptest::prelude::*;

fn hex(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A field's value as text: characters, or uppercase hex for binary fields.
fn field_text(message: &Message<'_>, field: usize) -> String {
    let value = message.field(field).expect("present");
    let def = message.dialect().field(field).expect("defined");
    if def.content == Content::Binary {
        to_hex(value.as_bytes())
    } else {
        String::from_utf8(value.chars().collect()).expect("ASCII")
    }
}

/// Decodes `input` and compares the MTI and every field with `expected`;
/// then checks that encoding it again gives the same bytes.
fn check(dialect: &'static Dialect, input: &[u8], mti: &str, expected: &[(usize, &str)]) {
    let message = Message::decode(dialect, input).expect("valid message");
    assert_eq!(message.mti().as_str(), mti);
    let actual: Vec<(usize, String)> = message
        .fields()
        .map(|field| (field, field_text(&message, field)))
        .collect();
    let expected: Vec<(usize, String)> =
        expected.iter().map(|(f, v)| (*f, v.to_string())).collect();
    assert_eq!(actual, expected);
    let mut buffer = [0u8; 4096];
    let len = message.encode(&mut buffer).expect("fits");
    assert_eq!(to_hex(&buffer[..len]), to_hex(input), "decode→encode");
    let builder = MessageBuilder::from_message(&message).expect("valid");
    let len = builder.encode(&mut buffer).expect("fits");
    assert_eq!(to_hex(&buffer[..len]), to_hex(input), "builder encode");
}

fn check_error(dialect: &'static Dialect, input: &[u8], expected: &str) {
    let error = Message::decode(dialect, input).expect_err("invalid message");
    assert_eq!(error.to_string(), expected);
}

// Layout by hand: MTI "0800"; primary bitmap with DE 1 (0x80) and DE 7
// (0x02) in byte 1, DE 11 in byte 2 (0x20), DE 41 in byte 6 (0x80);
// secondary bitmap with DE 70 in byte 1 (0x04).
const ECHO_0800: &str = "30383030 8220000000800000 0400000000000000
    31313234323031353330 303030303432 5445524D30303031 333031";

#[test]
fn echo_0800_known_answer() {
    let input = hex(ECHO_0800);
    check(
        &ISO87,
        &input,
        "0800",
        &[
            (7, "1124201530"),
            (11, "000042"),
            (41, "TERM0001"),
            (70, "301"),
        ],
    );
    let built = samples::echo_request(&ISO87).expect("sample");
    let mut buffer = [0u8; 128];
    let len = built.encode(&mut buffer).expect("fits");
    assert_eq!(&buffer[..len], &input[..]);
    let message = Message::decode(&ISO87, &input).expect("valid");
    assert_eq!(message.network_management_code(), Some(301));
    assert_eq!(message.stan(), Some(42));
}

// DE 2, 3, 4 in byte 1 (0x70), DE 11 in byte 2 (0x20), DE 52 and 55 in
// byte 7 (0x10 | 0x02). DE 2 is "16" + PAN, DE 55 is "008" + 8 bytes of TLV.
const SALE_SMALL: &str = "30323030 7020000000001200
    3136 34373631373339303031303130313139
    303030303030 303030303030303031303030 303030303031
    0102030405060708
    303038 9F270180 82021C00";

#[test]
fn small_sale_known_answer() {
    let input = hex(SALE_SMALL);
    check(
        &ISO87,
        &input,
        "0200",
        &[
            (2, "4761739001010119"),
            (3, "000000"),
            (4, "000000001000"),
            (11, "000001"),
            (52, "0102030405060708"),
            (55, "9F27018082021C00"),
        ],
    );
    let message = Message::decode(&ISO87, &input).expect("valid");
    assert_eq!(message.amount_minor(), Some(1000));
    assert_eq!(message.pin_block(), Some(&[1, 2, 3, 4, 5, 6, 7, 8]));
    let tags: Vec<String> = message
        .icc_tlv()
        .expect("DE 55")
        .map(|t| t.expect("valid").tag.to_string())
        .collect();
    assert_eq!(tags, ["9F27", "82"]);
}

// cup: TPDU 6000030000, header 603100311000, BCD MTI 0200; DE 2, 3 in byte
// 1 (0x60), DE 11 in byte 2 (0x20), DE 41 in byte 6 (0x80), DE 60 in byte 8
// (0x10). DE 2: BCD length 0x19, 19 digits with a leading 0 nibble. DE 60:
// length 0011 in 2 BCD bytes, 11 digits in 6 bytes.
const CUP_SALE: &str = "6000030000 603100311000 0200 6020000000800010
    19 06212345678901234567 000000 000042 5445524D30303031
    0011 022000001000";

#[test]
fn cup_known_answer() {
    let input = hex(CUP_SALE);
    check(
        &CUP,
        &input,
        "0200",
        &[
            (2, "6212345678901234567"),
            (3, "000000"),
            (11, "000042"),
            (41, "TERM0001"),
            (60, "22000001000"),
        ],
    );
    let message = Message::decode(&CUP, &input).expect("valid");
    assert_eq!(to_hex(message.header()), "6000030000603100311000");
    assert_eq!(message.stan(), Some(42));
    assert_eq!(message.terminal_id(), Some("TERM0001"));
}

fn encode(builder: &MessageBuilder) -> Vec<u8> {
    let mut buffer = [0u8; 4096];
    let len = builder.encode(&mut buffer).expect("fits");
    buffer[..len].to_vec()
}

#[test]
fn samples_round_trip_in_both_dialects() {
    type Sample = fn(&'static Dialect) -> Result<MessageBuilder, Error>;
    let all: [(&str, Sample); 5] = [
        ("0200", samples::sale_request),
        ("0210", samples::sale_response),
        ("0800", samples::echo_request),
        ("0500", samples::settlement_request),
        ("0400", samples::reversal_request),
    ];
    for dialect in [&ISO87, &CUP] {
        for (mti, sample) in all {
            let mut builder = sample(dialect).expect("sample");
            if dialect.header_len > 0 {
                builder
                    .set_header(&hex("6000030000603100311000"))
                    .expect("11 bytes");
            }
            let bytes = encode(&builder);
            let message = Message::decode(dialect, &bytes).expect("valid");
            assert_eq!(message.mti().as_str(), mti);
            let again = MessageBuilder::from_message(&message).expect("valid");
            for field in 2..=128 {
                assert_eq!(builder.get(field), again.get(field), "DE {field}");
            }
            assert_eq!(encode(&again), bytes);
        }
    }
}

#[test]
fn chip_sale_is_about_280_bytes_and_typed() {
    let bytes = encode(&samples::sale_request(&ISO87).expect("sample"));
    assert_eq!(bytes.len(), 285);
    let sale = Message::decode(&ISO87, &bytes).expect("valid");
    assert_eq!(sale.processing_code(), Some(0));
    assert_eq!(sale.amount_minor(), Some(12345));
    assert_eq!(sale.transmission_date_time(), Some(1_124_201_530));
    assert_eq!(sale.local_time(), Some(201_530));
    assert_eq!(sale.local_date(), Some(1124));
    assert_eq!(sale.expiration_date(), Some(2812));
    assert_eq!(sale.pos_entry_mode(), Some(51));
    assert_eq!(sale.pos_condition_code(), Some(0));
    assert_eq!(
        sale.pan().and_then(|p| p.as_text()),
        Some("4761739001010119")
    );
    assert_eq!(sale.merchant_id(), Some("MERCHANT0000001"));
    assert_eq!(sale.currency_code(), Some(156));
    assert_eq!(sale.batch_number(), Some(1));
    assert_eq!(sale.ksn(), Some("FFFF9876543210E00001"));
    assert!(sale.mac().is_some());
    let icc = sale.icc_data().expect("DE 55");
    assert_eq!(icc.len(), 125);
    tlv::validate(icc).expect("valid TLV");
    let tags: Vec<String> = TlvIter::new(icc)
        .map(|t| t.expect("valid").tag.to_string())
        .collect();
    for required in [
        "9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A",
        "9F03",
    ] {
        assert!(tags.iter().any(|t| t == required), "{required}");
    }
}

#[test]
fn response_settlement_reversal_accessors() {
    let bytes = encode(&samples::sale_response(&ISO87).expect("sample"));
    let response = Message::decode(&ISO87, &bytes).expect("valid");
    assert_eq!(response.rrn(), Some("633012000123"));
    assert_eq!(response.authorization_code(), Some("A1B2C3"));
    assert_eq!(response.response_code(), Some("00"));
    assert_eq!(
        response.benefits(),
        Some("PROG=CB01;DISC=000000000500;PAID=000000011845")
    );

    let bytes = encode(&samples::settlement_request(&ISO87).expect("sample"));
    let settlement = Message::decode(&ISO87, &bytes).expect("valid");
    assert!(settlement.has(1), "secondary bitmap");
    assert_eq!(settlement.credits_number(), Some(2));
    assert_eq!(settlement.debits_number(), Some(57));
    assert_eq!(settlement.credits_amount(), Some(4500));
    assert_eq!(settlement.debits_amount(), Some(1_234_567));
    assert_eq!(settlement.text(86), Some("0000000000004500"));

    let bytes = encode(&samples::reversal_request(&ISO87).expect("sample"));
    let reversal = Message::decode(&ISO87, &bytes).expect("valid");
    let original = reversal.original_data().expect("DE 90");
    assert_eq!(original.mti.as_str(), "0200");
    assert_eq!(original.stan, 123);
    assert_eq!(original.transmission_date_time, 1_124_201_530);
}

#[test]
fn decode_errors_say_what_and_where() {
    let echo = hex(ECHO_0800);
    let with = |offset: usize, byte: u8| {
        let mut bytes = echo.clone();
        bytes[offset] = byte;
        bytes
    };
    check_error(&ISO87, b"02", "MTI at byte 0: needs 4 bytes, only 2 left");
    check_error(&ISO87, b"02X0", "MTI at byte 0: expected 4 decimal digits");
    check_error(
        &ISO87,
        &echo[..10],
        "primary bitmap at byte 4: needs 8 bytes, only 6 left",
    );
    check_error(
        &ISO87,
        &echo[..12],
        "secondary bitmap at byte 12: needs 8 bytes, only 0 left",
    );
    check_error(
        &ISO87,
        &with(20, b'A'),
        "DE 7 at byte 20: byte 0x41 is not valid in format n",
    );
    check_error(
        &ISO87,
        &echo[..40],
        "DE 41 at byte 36: needs 8 bytes, only 4 left",
    );
    let mut trailing = echo.clone();
    trailing.push(b'0');
    check_error(
        &ISO87,
        &trailing,
        "1 unexpected bytes after the last field, at byte 47",
    );
    // DE 2 length 20 > 19.
    let mut long_pan = hex("30323030 4000000000000000 3230");
    long_pan.extend_from_slice(b"47617390010101191234");
    check_error(
        &ISO87,
        &long_pan,
        "DE 2 at byte 12: length 20 does not fit format n..19",
    );
    check_error(
        &ISO87,
        &hex("30323030 4000000000000000 3A39"),
        "DE 2 at byte 12: length prefix is not 2 decimal digits",
    );
    // DE 1 set with an empty secondary bitmap.
    check_error(
        &ISO87,
        &hex("30383030 8000000000000000 0000000000000000"),
        "DE 1 at byte 12: not allowed in dialect iso87",
    );
}

#[test]
fn salvage_tells_format_error_from_close() {
    let echo = hex(ECHO_0800);
    let valid = salvage(&ISO87, &echo);
    assert_eq!(valid.disposition(), Disposition::Process);

    // Bad character in DE 7: MTI, DE 11 and DE 41 still readable → 30.
    let mut bad_date = echo.clone();
    bad_date[20] = b'A';
    let salvaged = salvage(&ISO87, &bad_date);
    assert_eq!(salvaged.disposition(), Disposition::FormatError);
    assert_eq!(salvaged.mti, Mti::parse("0800"));
    assert_eq!(salvaged.stan, Some(42));
    assert_eq!(salvaged.terminal_id, Some(*b"TERM0001"));
    assert!(matches!(
        salvaged.error,
        Some(Error::InvalidCharacter { field: 7, .. })
    ));

    // Truncated inside DE 41: MTI only → close.
    let truncated = salvage(&ISO87, &echo[..40]);
    assert_eq!(truncated.disposition(), Disposition::Close);
    assert_eq!(truncated.mti, Mti::parse("0800"));
    assert_eq!(truncated.stan, Some(42));
    assert_eq!(truncated.terminal_id, None);

    // No MTI → close.
    let garbage = salvage(&ISO87, b"\xFF\xFF\xFF\xFF");
    assert_eq!(garbage.mti, None);
    assert_eq!(garbage.disposition(), Disposition::Close);
}

#[test]
fn mac_input_covers_mti_to_the_field_before_de_64() {
    let builder = samples::sale_request(&ISO87).expect("sample");
    let bytes = encode(&builder);
    let message = Message::decode(&ISO87, &bytes).expect("valid");
    let from_message = message.mac_input().expect("DE 64 present");
    assert_eq!(from_message, &bytes[..bytes.len() - 8]);

    let mut without_mac = builder.clone();
    without_mac.remove(64);
    let mut buffer = [0u8; 4096];
    let from_builder = without_mac.mac_input(&mut buffer).expect("fits");
    assert_eq!(
        from_builder, from_message,
        "bitmap bit 64 set even before DE 64 is"
    );
    assert_eq!(from_builder[4 + 7] & 0x01, 0x01, "DE 64 bit");

    // With a secondary bitmap, fields after DE 64 are not covered.
    let mut settlement = samples::settlement_request(&ISO87).expect("sample");
    settlement.set(64, &[0; 8]).expect("b8");
    let bytes = encode(&settlement);
    let message = Message::decode(&ISO87, &bytes).expect("valid");
    let covered = message.mac_input().expect("DE 64");
    // MTI 4 + bitmaps 16 + DE 3, 7, 11, 41, 42, 60 (6+10+6+8+15+9) = 74;
    // then DE 64 (8) and DE 74, 76, 86, 88 (10+10+16+16).
    assert_eq!(bytes.len(), 74 + 8 + 52);
    assert_eq!(covered, &bytes[..74]);
}

#[test]
fn builder_rejects_bad_values() {
    let mut builder = MessageBuilder::new(&ISO87, Mti::parse("0210").expect("digits"));
    let check = |result: Result<&mut MessageBuilder, Error>, expected: &str| {
        assert_eq!(result.expect_err("invalid").to_string(), expected);
    };
    check(
        builder.set_text(3, "00000"),
        "DE 3 at byte 0: length 5 does not fit format n6",
    );
    check(
        builder.set_text(4, "00000000100A"),
        "DE 4 at byte 11: byte 0x41 is not valid in format n",
    );
    check(
        builder.set_number(11, 1_000_000),
        "DE 11 at byte 0: length 7 does not fit format n6",
    );
    check(
        builder.set_text(1, "x"),
        "field number 1 is not a data element (2..=128)",
    );
    check(
        builder.set_text(129, "x"),
        "field number 129 is not a data element (2..=128)",
    );
    assert!(builder.set(55, &[0u8; 256]).is_err());
    assert!(builder.set_text(41, "TERM\u{7F}001").is_err());
    // Setting a field many times never grows past the frame limit.
    for _ in 0..100 {
        builder
            .set(55, &[0xAB; 255])
            .expect("fits after compaction");
    }
    builder.set_text(39, "00").expect("an2");
    assert_eq!(builder.get(55), Some(&[0xAB; 255][..]));
    let def = ISO87.field(55).expect("defined");
    assert_eq!((def.length, def.len_max), (LengthKind::LllVar, 255));
}

#[test]
fn framed_stream_of_two_messages() {
    let mut stream = Vec::new();
    let mut buffer = [0u8; 4098];
    for builder in [
        samples::echo_request(&ISO87).expect("sample"),
        samples::sale_request(&ISO87).expect("sample"),
    ] {
        let len = builder.encode_framed(&mut buffer).expect("fits");
        stream.extend_from_slice(&buffer[..len]);
    }
    assert_eq!(&stream[..2], &[0x00, 47]);
    let mut mtis = Vec::new();
    let mut rest = &stream[..];
    // Feed byte by byte: every prefix is "need more" until a frame is whole.
    let mut seen = 0;
    while !rest.is_empty() {
        seen += 1;
        let Some(frame) = decode_frame(&rest[..seen.min(rest.len())]).expect("valid") else {
            continue;
        };
        mtis.push(Message::decode(&ISO87, frame.body).expect("valid").mti());
        rest = &rest[frame.consumed..];
        seen = 0;
    }
    assert_eq!(
        mtis,
        [Mti::parse("0800").unwrap(), Mti::parse("0200").unwrap()]
    );
    let error = decode_frame(&[0x10, 0x01]).expect_err("too long");
    assert_eq!(
        error,
        Error::FrameTooLong {
            length_bytes: 4097,
            max_bytes: 4096
        }
    );
    assert!(matches!(
        Message::decode(&ISO87, b"02"),
        Err(Error::Truncated {
            part: Part::Mti,
            ..
        })
    ));
}

// ---- property tests ----

/// A random valid value for `field` of `dialect`, as characters.
fn value_strategy(dialect: &'static Dialect, field: usize) -> BoxedStrategy<Vec<u8>> {
    let def = *dialect.field(field).expect("defined");
    let max = usize::from(def.len_max);
    let len = match def.length {
        LengthKind::Fixed => (max..=max).boxed(),
        LengthKind::LlVar | LengthKind::LllVar => (0..=max).boxed(),
    };
    let chars: Vec<u8> = match def.content {
        Content::Numeric => b"0123456789".to_vec(),
        Content::Track => b"0123456789D".to_vec(),
        Content::Alpha => b"ABCxyz ".to_vec(),
        Content::AlphaNumeric => b"09AZaz ".to_vec(),
        Content::AlphaNumericSpecial => (0x20..=0x7E).collect(),
        Content::SignedNumeric => b"0123456789".to_vec(),
        Content::Binary => (0..=255).collect(),
    };
    let signed = def.content == Content::SignedNumeric;
    len.prop_flat_map(move |len| {
        proptest::collection::vec(proptest::sample::select(chars.clone()), len)
    })
    .prop_map(move |mut value| {
        if signed && !value.is_empty() {
            value[0] = b'C';
        }
        value
    })
    .boxed()
}

fn message_strategy(dialect: &'static Dialect) -> impl Strategy<Value = MessageBuilder> {
    let fields = proptest::collection::btree_set(2usize..=128, 0..12);
    (0u16..10000, fields)
        .prop_flat_map(move |(mti, fields)| {
            let values: Vec<_> = fields
                .iter()
                .map(|&f| value_strategy(dialect, f).prop_map(move |v| (f, v)))
                .collect();
            (Just(mti), values)
        })
        .prop_map(move |(mti, values)| {
            let mti = Mti::parse(&format!("{mti:04}")).expect("digits");
            let mut builder = MessageBuilder::new(dialect, mti);
            if dialect.header_len > 0 {
                builder.set_header(&[0x60; 11]).expect("11 bytes");
            }
            for (field, value) in values {
                match builder.set(field, &value) {
                    Err(Error::BufferTooSmall { .. }) => break, // over 4096 bytes
                    other => {
                        other.expect("valid value");
                    }
                }
            }
            builder
        })
}

fn round_trip(builder: &MessageBuilder) -> Result<(), TestCaseError> {
    let mut buffer = [0u8; 4096];
    let Ok(len) = builder.encode(&mut buffer) else {
        return Ok(()); // over the frame limit: nothing to check
    };
    let bytes = &buffer[..len];
    let message = Message::decode(builder.dialect(), bytes)
        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(message.mti(), builder.mti());
    let decoded = MessageBuilder::from_message(&message).expect("valid");
    for field in 2..=128 {
        prop_assert_eq!(decoded.get(field), builder.get(field), "DE {}", field);
    }
    let mut again = [0u8; 4096];
    let len = message.encode(&mut again).expect("fits");
    prop_assert_eq!(&again[..len], bytes);
    let len = decoded.encode(&mut again).expect("fits");
    prop_assert_eq!(&again[..len], bytes);
    // Fields set out of order (and one replaced) encode the same.
    let fields: Vec<usize> = builder.fields().collect();
    let mut reversed = MessageBuilder::new(builder.dialect(), builder.mti());
    reversed.set_header(builder.header()).expect("same dialect");
    for &field in fields.iter().rev() {
        reversed
            .set(field, builder.get(field).expect("set"))
            .expect("valid");
    }
    if let Some(&first) = fields.first() {
        reversed
            .set(first, builder.get(first).expect("set"))
            .expect("valid");
    }
    let len = reversed.encode(&mut again).expect("fits");
    prop_assert_eq!(&again[..len], bytes);
    Ok(())
}

proptest! {
    #[test]
    fn encode_decode_identity_iso87(builder in message_strategy(&ISO87)) {
        round_trip(&builder)?;
    }

    #[test]
    fn encode_decode_identity_cup(builder in message_strategy(&CUP)) {
        round_trip(&builder)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_frame(&bytes);
        for dialect in [&ISO87, &CUP] {
            if let Ok(message) = Message::decode(dialect, &bytes) {
                let mut buffer = [0u8; 4096];
                let len = message.encode(&mut buffer).expect("fits");
                prop_assert_eq!(&buffer[..len], &bytes[..]);
            }
            let _ = salvage(dialect, &bytes);
        }
        let _ = tlv::validate(&bytes);
        for tlv in TlvIter::new(&bytes).flatten() {
            let _ = tlv.children().count();
        }
    }

    #[test]
    fn mutated_messages_never_panic(
        index in 0usize..285,
        byte in any::<u8>(),
        cut in 0usize..300,
    ) {
        let mut bytes = encode(&samples::sale_request(&ISO87).expect("sample"));
        bytes[index] = byte;
        bytes.truncate(cut);
        if let Ok(message) = Message::decode(&ISO87, &bytes) {
            let mut buffer = [0u8; 4096];
            let len = message.encode(&mut buffer).expect("fits");
            prop_assert_eq!(&buffer[..len], &bytes[..]);
            if let Some(icc) = message.icc_tlv() {
                let _ = icc.count();
            }
        }
        let _ = salvage(&ISO87, &bytes);
    }
}

#[test]
fn cup_bcd_errors() {
    let valid = hex(CUP_SALE);
    let with = |offset: usize, byte: u8| {
        let mut bytes = valid.clone();
        bytes[offset] = byte;
        bytes
    };
    // Header 11 bytes, MTI at 11, bitmap at 13, DE 2 prefix at 21, value at 22.
    check_error(
        &CUP,
        &with(11, 0x0A),
        "MTI at byte 11: expected 4 decimal digits",
    );
    check_error(
        &CUP,
        &with(21, 0x1A),
        "DE 2 at byte 21: length prefix is not 2 decimal digits",
    );
    check_error(
        &CUP,
        &with(22, 0x16),
        "DE 2 at byte 22: byte 0x16 is not valid in format n",
    );
    check_error(
        &CUP,
        &with(25, 0x4F),
        "DE 2 at byte 25: byte 0x4F is not valid in format n",
    );
    let salvaged = salvage(&CUP, &with(25, 0x4F));
    assert_eq!(salvaged.disposition(), Disposition::FormatError);
    assert_eq!(salvaged.stan, Some(42));
}

#[test]
fn response_to_echoes_chosen_fields() {
    let bytes = encode(&samples::sale_request(&ISO87).expect("sample"));
    let request = Message::decode(&ISO87, &bytes).expect("valid");
    let mut response =
        MessageBuilder::response_to(&request, &[3, 4, 7, 11, 41, 42, 49, 99]).expect("valid");
    response.set_text(39, "00").expect("an2");
    let bytes = encode(&response);
    let decoded = Message::decode(&ISO87, &bytes).expect("valid");
    assert_eq!(decoded.mti().as_str(), "0210");
    let fields: Vec<usize> = decoded.fields().collect();
    assert_eq!(fields, [3, 4, 7, 11, 39, 41, 42, 49]);
    assert_eq!(decoded.amount_minor(), Some(12345));
    let mut reversal = MessageBuilder::new(&ISO87, Mti::parse("0400").expect("digits"));
    reversal
        .set_number(90, 2000001231124201530)
        .expect("n42 zero-filled");
    assert_eq!(
        reversal.get(90),
        Some(&b"000000000000000000000002000001231124201530"[..])
    );
}
