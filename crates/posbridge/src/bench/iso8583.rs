//! `posbridge bench iso8583`: nanoseconds per decode, encode and round trip
//! (encode + decode) of a realistic 0200 chip sale (285 bytes, DE 55 of 125
//! bytes) and its 0210 response, against the `i8583` crate (0.1.0) on the
//! same field values in the same run.
//!
//! `i8583` cannot express the `iso87` wire exactly: it writes the bitmap as
//! 16/32 hex characters (not 8/16 binary bytes) and its 1987 table gives
//! DE 63 a 4-digit length. Its messages are therefore 8 bytes (+ 1 for DE 63)
//! longer; its unpack validates no field format, ours validates every one.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Context;
use iso8583::{ISO87, Message, MessageBuilder, samples};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Iterations of each measured operation.
    #[arg(long, default_value_t = 200_000)]
    iterations: u32,
}

/// Largest iteration count accepted.
const ITERATIONS_MAX: u32 = 100_000_000;

/// Tenths of a nanosecond per operation.
#[derive(Debug, Clone, Copy)]
struct Figures {
    decode_dns: u64,
    encode_dns: u64,
    roundtrip_dns: u64,
}

/// Times `operation` over `iterations` runs; tenths of ns per run.
fn time(iterations: u32, mut operation: impl FnMut()) -> u64 {
    for _ in 0..iterations / 10 {
        operation();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        operation();
    }
    let elapsed: Duration = start.elapsed();
    let total_dns = elapsed.as_nanos().saturating_mul(10);
    u64::try_from(total_dns / u128::from(iterations.max(1))).unwrap_or(u64::MAX)
}

fn measure_ours(builder: &MessageBuilder, iterations: u32) -> anyhow::Result<Figures> {
    let mut buffer = vec![0u8; iso8583::MESSAGE_LEN_MAX];
    let len = builder.encode(&mut buffer)?;
    let bytes = buffer.get(..len).unwrap_or_default().to_vec();
    Message::decode(&ISO87, &bytes)?;
    let decode_dns = time(iterations, || {
        let message = Message::decode(&ISO87, black_box(&bytes));
        black_box(message.map(|m| m.stan()).ok());
    });
    let encode_dns = time(iterations, || {
        black_box(black_box(builder).encode(&mut buffer).ok());
    });
    let roundtrip_dns = time(iterations, || {
        let len = black_box(builder).encode(&mut buffer).unwrap_or(0);
        let message = Message::decode(&ISO87, black_box(buffer.get(..len).unwrap_or_default()));
        black_box(message.map(|m| m.stan()).ok());
    });
    Ok(Figures {
        decode_dns,
        encode_dns,
        roundtrip_dns,
    })
}

/// The same field values in an `i8583` packer (binary values as bytes).
/// Fields a 0210 echoes from its 0200 (host-interface.md section 3).
const ECHOED: [usize; 14] = [2, 3, 4, 7, 11, 12, 13, 14, 22, 25, 41, 42, 49, 60];

/// Work the field setters do, which `encode_ns` leaves out because a builder
/// formats each value when it is set: the 0200 built from its field values
/// and encoded, and the host's whole path for one request — decode the 0200,
/// build its 0210 (echoed fields plus DE 37, 38, 39), encode it. Tenths of ns.
fn measure_building(sale_bytes: &[u8], iterations: u32) -> (u64, u64) {
    let mut buffer = vec![0u8; iso8583::MESSAGE_LEN_MAX];
    let build_dns = time(iterations, || {
        let built = samples::sale_request(&ISO87);
        black_box(built.and_then(|b| b.encode(&mut buffer)).ok());
    });
    let host_path_dns = time(iterations, || {
        let answered = Message::decode(&ISO87, black_box(sale_bytes)).and_then(|request| {
            let mut response = MessageBuilder::response_to(&request, &ECHOED)?;
            response
                .set_text(37, "633012000001")?
                .set_text(38, "A1B2C3")?
                .set_text(39, "00")?;
            response.encode(&mut buffer)
        });
        black_box(answered.ok());
    });
    (build_dns, host_path_dns)
}

fn i8583_packer(builder: &MessageBuilder) -> anyhow::Result<i8583::Packer<'static>> {
    let mut packer = i8583::Packer::new(&i8583::v1987::SPEC);
    packer
        .set_field(0, builder.mti().as_bytes().to_vec().into())
        .map_err(anyhow::Error::msg)?;
    for field in builder.fields() {
        let value = builder.get(field).unwrap_or_default().to_vec();
        packer
            .set_field(field, value.into())
            .map_err(|e| anyhow::anyhow!("i8583 DE {field}: {e}"))?;
    }
    Ok(packer)
}

fn measure_i8583(builder: &MessageBuilder, iterations: u32) -> anyhow::Result<Figures> {
    let packer = i8583_packer(builder)?;
    let bytes = packer
        .pack(Vec::with_capacity(1024))
        .map_err(anyhow::Error::msg)?;
    let mut check = i8583::Unpacker::new(&bytes);
    check
        .unpack(&i8583::v1987::SPEC)
        .map_err(|e| anyhow::anyhow!("i8583 unpack: {e}"))?;
    let decode_dns = time(iterations, || {
        let mut unpacker = i8583::Unpacker::new(black_box(&bytes));
        black_box(unpacker.unpack(&i8583::v1987::SPEC).map(|f| f.len()).ok());
    });
    let encode_dns = time(iterations, || {
        black_box(black_box(&packer).pack(Vec::with_capacity(1024)).ok());
    });
    let roundtrip_dns = time(iterations, || {
        let packed = black_box(&packer)
            .pack(Vec::with_capacity(1024))
            .unwrap_or_default();
        let mut unpacker = i8583::Unpacker::new(black_box(&packed));
        black_box(unpacker.unpack(&i8583::v1987::SPEC).map(|f| f.len()).ok());
    });
    Ok(Figures {
        decode_dns,
        encode_dns,
        roundtrip_dns,
    })
}

/// Tenths as a decimal number (`1234` → `123.4`).
fn tenths(value: u64) -> String {
    format!("{}.{}", value / 10, value % 10)
}

/// `numerator / denominator` with two decimals, in integers.
fn ratio(numerator: u64, denominator: u64) -> String {
    let hundredths = (numerator * 100 + denominator / 2) / denominator.max(1);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

fn figures_json(ours: Figures, theirs: Figures) -> String {
    format!(
        "\"decode_ns\": {}, \"encode_ns\": {}, \"roundtrip_ns\": {}, \
         \"i8583_decode_ns\": {}, \"i8583_encode_ns\": {}, \"i8583_roundtrip_ns\": {}, \
         \"ratio_roundtrip_vs_i8583\": {}",
        tenths(ours.decode_dns),
        tenths(ours.encode_dns),
        tenths(ours.roundtrip_dns),
        tenths(theirs.decode_dns),
        tenths(theirs.encode_dns),
        tenths(theirs.roundtrip_dns),
        ratio(theirs.roundtrip_dns, ours.roundtrip_dns),
    )
}

/// Runs the benchmark.
///
/// # Errors
///
/// [`crate::InputError`] for a bad iteration count; other errors if a sample
/// message cannot be built (a bug).
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.iterations == 0 || args.iterations > ITERATIONS_MAX {
        return Err(crate::InputError(format!("--iterations must be 1..={ITERATIONS_MAX}")).into());
    }
    let sale = samples::sale_request(&ISO87).context("0200 sample")?;
    let response = samples::sale_response(&ISO87).context("0210 sample")?;
    let mut buffer = vec![0u8; iso8583::MESSAGE_LEN_MAX];
    let sale_len = sale.encode(&mut buffer)?;
    let response_len = response.encode(&mut buffer)?;
    let sale_figures = (
        measure_ours(&sale, args.iterations)?,
        measure_i8583(&sale, args.iterations)?,
    );
    let response_figures = (
        measure_ours(&response, args.iterations)?,
        measure_i8583(&response, args.iterations)?,
    );
    let mut sale_bytes = vec![0u8; iso8583::MESSAGE_LEN_MAX];
    let sale_bytes_len = sale.encode(&mut sale_bytes)?;
    sale_bytes.truncate(sale_bytes_len);
    let (build_dns, host_path_dns) = measure_building(&sale_bytes, args.iterations);
    if args.json {
        println!(
            "{{\"message\": \"0200 chip sale\", \"message_bytes\": {sale_len}, \"iterations\": {}, {}, \
             \"build_and_encode_ns\": {}, \"host_request_to_response_ns\": {}, \
             \"response_0210\": {{\"message_bytes\": {response_len}, {}}}, \
             \"i8583_note\": \"i8583 0.1.0 on the same field values; its wire has a hex-text bitmap and a 4-digit DE 63 length, and its unpack validates no formats\"}}",
            args.iterations,
            figures_json(sale_figures.0, sale_figures.1),
            tenths(build_dns),
            tenths(host_path_dns),
            figures_json(response_figures.0, response_figures.1),
        );
        return Ok(());
    }
    println!("ns per operation ({} iterations)", args.iterations);
    println!("message            decode  encode  round trip | i8583: decode  encode  round trip");
    for (name, (ours, theirs)) in [
        ("0200 chip sale", sale_figures),
        ("0210 response", response_figures),
    ] {
        println!(
            "{name:<16} {:>8} {:>7} {:>11} | {:>14} {:>7} {:>11}  ({}x)",
            tenths(ours.decode_dns),
            tenths(ours.encode_dns),
            tenths(ours.roundtrip_dns),
            tenths(theirs.decode_dns),
            tenths(theirs.encode_dns),
            tenths(theirs.roundtrip_dns),
            ratio(theirs.roundtrip_dns, ours.roundtrip_dns),
        );
    }
    println!(
        "0200 built from field values and encoded: {} ns; host path (decode 0200, build and encode its 0210): {} ns",
        tenths(build_dns),
        tenths(host_path_dns)
    );
    Ok(())
}
