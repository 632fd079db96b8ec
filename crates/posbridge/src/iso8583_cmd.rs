//! `posbridge iso8583 decode|encode`: ISO 8583 messages to JSON and back.
//!
//! JSON shape (both directions):
//!
//! ```text
//! {"mti": "0200",
//!  "header": "6000030000603100311000",          (cup only: TPDU + header, hex)
//!  "fields": {"2": "4761739001010119", "3": "000000", ..., "52": "<HEX>", "55": "<HEX>"},
//!  "tlv": [{"tag": "9F26", "value": "<HEX>"},   (decode only, when DE 55 parses)
//!          {"tag": "70", "value": "<HEX>", "children": [...]}]}
//! ```
//!
//! Field keys are data element numbers in numeric order; binary (`b`) fields
//! are uppercase hex, all others their characters. `tlv` lists the BER-TLV
//! objects of DE 55 in order; constructed tags also carry `children`.
//! `encode` ignores `tlv` (DE 55 is authoritative); `header` defaults to zero
//! bytes.

use std::fmt::Write as _;
use std::io::{Read, Write};

use anyhow::Context;
use iso8583::tlv::{Tlv, TlvIter};
use iso8583::{Content, Dialect, Message, MessageBuilder, Mti, frame_header, unframe};

use crate::InputError;

/// Deepest nesting of constructed TLV shown in JSON.
const TLV_JSON_DEPTH_MAX: usize = 8;
/// Largest input accepted on stdin, in bytes (a framed message as hex).
const STDIN_LEN_MAX: usize = 64 * 1024;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Decode a message (hex on stdin, or --hex, or raw bytes with --raw) to JSON.
    Decode(DecodeArgs),
    /// Encode a message from JSON (stdin or --json) to hex.
    Encode(EncodeArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DialectName {
    /// ISO 8583:1987, ASCII (spec section 2).
    Iso87,
    /// China UnionPay POS: TPDU + header, BCD.
    Cup,
}

impl DialectName {
    fn dialect(self) -> &'static Dialect {
        match self {
            DialectName::Iso87 => &iso8583::ISO87,
            DialectName::Cup => &iso8583::CUP,
        }
    }
}

#[derive(Debug, clap::Args)]
struct DecodeArgs {
    /// The message as hex (instead of stdin).
    #[arg(long, conflicts_with = "raw")]
    hex: Option<String>,
    /// Read raw bytes from stdin instead of hex.
    #[arg(long)]
    raw: bool,
    /// The input starts with the 2-byte big-endian length header.
    #[arg(long)]
    framed: bool,
    /// Wire dialect.
    #[arg(long, value_enum, default_value = "iso87")]
    dialect: DialectName,
}

#[derive(Debug, clap::Args)]
struct EncodeArgs {
    /// The message as JSON (instead of stdin).
    #[arg(long)]
    json: Option<String>,
    /// Prepend the 2-byte big-endian length header.
    #[arg(long)]
    framed: bool,
    /// Wire dialect.
    #[arg(long, value_enum, default_value = "iso87")]
    dialect: DialectName,
}

/// Runs the command.
///
/// # Errors
///
/// [`InputError`] for bad input; other errors for I/O failures.
pub fn run(args: Args) -> anyhow::Result<()> {
    let output = match args.action {
        Action::Decode(args) => decode(&args)?,
        Action::Encode(args) => encode(&args)?,
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{output}").context("writing to stdout")?;
    Ok(())
}

fn input_error(message: impl Into<String>) -> anyhow::Error {
    InputError(message.into()).into()
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(STDIN_LEN_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .context("reading stdin")?;
    if bytes.len() > STDIN_LEN_MAX {
        return Err(input_error(format!(
            "input longer than {STDIN_LEN_MAX} bytes"
        )));
    }
    Ok(bytes)
}

fn decode(args: &DecodeArgs) -> anyhow::Result<String> {
    let bytes = match (&args.hex, args.raw) {
        (Some(text), _) => parse_hex(text, "--hex")?,
        (None, true) => read_stdin()?,
        (None, false) => {
            let text = String::from_utf8(read_stdin()?)
                .map_err(|_| input_error("stdin is not hex text (use --raw for bytes)"))?;
            parse_hex(&text, "stdin")?
        }
    };
    let body = if args.framed {
        unframe(&bytes).map_err(|e| input_error(format!("frame: {e}")))?
    } else {
        &bytes[..]
    };
    let message = Message::decode(args.dialect.dialect(), body)
        .map_err(|e| input_error(format!("decode: {e}")))?;
    Ok(message_json(&message))
}

/// The JSON of a decoded message, fields in numeric order.
pub(crate) fn message_json(message: &Message<'_>) -> String {
    let mut json = String::with_capacity(1024);
    json.push_str("{\"mti\": ");
    json.push_str(&quote(message.mti().as_str()));
    if !message.header().is_empty() {
        json.push_str(", \"header\": ");
        json.push_str(&quote(&to_hex(message.header())));
    }
    json.push_str(", \"fields\": {");
    for (index, field) in message.fields().enumerate() {
        if index > 0 {
            json.push_str(", ");
        }
        let _ = write!(json, "\"{field}\": {}", quote(&field_text(message, field)));
    }
    json.push('}');
    if let Some(icc) = message.icc_data() {
        if iso8583::tlv::validate(icc).is_ok() {
            json.push_str(", \"tlv\": ");
            tlv_json(TlvIter::new(icc), 0, &mut json);
        }
    }
    json.push('}');
    json
}

fn field_text(message: &Message<'_>, field: usize) -> String {
    let Some(value) = message.field(field) else {
        return String::new();
    };
    let binary = message
        .dialect()
        .field(field)
        .is_some_and(|def| def.content == Content::Binary);
    if binary {
        to_hex(value.as_bytes())
    } else {
        value.chars().map(char::from).collect()
    }
}

fn tlv_json(objects: TlvIter<'_>, depth: usize, json: &mut String) {
    json.push('[');
    for (index, tlv) in objects.flatten().enumerate() {
        if index > 0 {
            json.push_str(", ");
        }
        tlv_object_json(&tlv, depth, json);
    }
    json.push(']');
}

fn tlv_object_json(tlv: &Tlv<'_>, depth: usize, json: &mut String) {
    let _ = write!(
        json,
        "{{\"tag\": \"{}\", \"value\": \"{}\"",
        tlv.tag,
        to_hex(tlv.value)
    );
    if tlv.tag.is_constructed() && depth + 1 < TLV_JSON_DEPTH_MAX {
        json.push_str(", \"children\": ");
        tlv_json(tlv.children(), depth + 1, json);
    }
    json.push('}');
}

fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02X}");
    }
    text
}

fn parse_hex(text: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(input_error(format!(
            "{what}: odd number of hex digits ({})",
            digits.len()
        )));
    }
    digits
        .chunks_exact(2)
        .enumerate()
        .map(|(index, pair)| {
            let high = hex_value(pair[0]);
            let low = hex_value(pair[1]);
            match (high, low) {
                (Some(high), Some(low)) => Ok(high << 4 | low),
                _ => Err(input_error(format!(
                    "{what}: not hex at digit {}: {:?}",
                    index * 2,
                    String::from_utf8_lossy(pair)
                ))),
            }
        })
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

fn encode(args: &EncodeArgs) -> anyhow::Result<String> {
    let text = match &args.json {
        Some(text) => text.clone(),
        None => {
            String::from_utf8(read_stdin()?).map_err(|_| input_error("stdin is not UTF-8 JSON"))?
        }
    };
    let builder = builder_from_json(&text, args.dialect.dialect())?;
    let mut buffer = vec![0u8; iso8583::MESSAGE_LEN_MAX];
    let len = builder
        .encode(&mut buffer)
        .map_err(|e| input_error(format!("encode: {e}")))?;
    let body = buffer.get(..len).unwrap_or_default();
    let mut hex = String::new();
    if args.framed {
        let header = frame_header(len).map_err(|e| input_error(format!("frame: {e}")))?;
        hex.push_str(&to_hex(&header));
    }
    hex.push_str(&to_hex(body));
    Ok(hex)
}

/// Builds a message from the JSON shape of [`message_json`].
pub(crate) fn builder_from_json(
    text: &str,
    dialect: &'static Dialect,
) -> anyhow::Result<MessageBuilder> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| input_error(format!("JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(input_error("JSON: expected an object"));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "mti" | "header" | "fields" | "tlv"))
    {
        return Err(input_error(format!("JSON: unknown key {key:?}")));
    }
    let mti = object
        .get("mti")
        .and_then(|m| m.as_str())
        .ok_or_else(|| input_error("JSON: \"mti\" (a string) is missing"))?;
    let mti =
        Mti::parse(mti).ok_or_else(|| input_error(format!("JSON: MTI {mti:?} is not 4 digits")))?;
    let mut builder = MessageBuilder::new(dialect, mti);
    if let Some(header) = object.get("header") {
        let header = header
            .as_str()
            .ok_or_else(|| input_error("JSON: \"header\" must be a hex string"))?;
        builder
            .set_header(&parse_hex(header, "header")?)
            .map_err(|e| input_error(format!("header: {e}")))?;
    }
    let fields = object
        .get("fields")
        .and_then(|f| f.as_object())
        .ok_or_else(|| input_error("JSON: \"fields\" (an object) is missing"))?;
    for (key, value) in fields {
        set_field(&mut builder, dialect, key, value)?;
    }
    Ok(builder)
}

fn set_field(
    builder: &mut MessageBuilder,
    dialect: &Dialect,
    key: &str,
    value: &serde_json::Value,
) -> anyhow::Result<()> {
    let field: usize = key
        .parse()
        .map_err(|_| input_error(format!("field key {key:?} is not a number")))?;
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(number) if number.is_u64() => {
            let number = number.as_u64().unwrap_or_default();
            return builder
                .set_number(field, number)
                .map(|_| ())
                .map_err(|e| input_error(e.to_string()));
        }
        _ => {
            return Err(input_error(format!("DE {field}: value must be a string")));
        }
    };
    let binary = dialect
        .field(field)
        .is_some_and(|def| def.content == Content::Binary);
    let bytes = if binary {
        parse_hex(&text, &format!("DE {field}"))?
    } else {
        text.into_bytes()
    };
    builder
        .set(field, &bytes)
        .map(|_| ())
        .map_err(|e| input_error(e.to_string()))
}
