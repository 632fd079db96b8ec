//! The calculator's commands: parse arguments, call `cardsec`, name results.

use cardsec::aes_dukpt::{self, AesKsn, KeyType, KeyUsage};
use cardsec::mac::Padding;
use cardsec::{AesKey, ClearPinBlock, Ksn, Pan, Pin, PinBlockFormat, Secret, TdesKey, dukpt, hex};
use clap::{Subcommand, ValueEnum};

use super::output::Output;
use crate::InputError;

pub(super) type CmdResult = anyhow::Result<Output>;

/// Turns a `cardsec` error about the user's input into exit code 2.
pub(super) fn input<T>(result: cardsec::Result<T>) -> anyhow::Result<T> {
    result.map_err(|e| InputError(e.to_string()).into())
}

pub(super) fn bad(message: &str) -> anyhow::Error {
    InputError(message.to_owned()).into()
}

pub(super) fn tdes_key(text: &str, what: &str, odd_parity: bool) -> anyhow::Result<TdesKey> {
    let bytes = hex::decode(text, "key").map_err(|e| InputError(format!("{what}: {e}")))?;
    let key = if odd_parity {
        TdesKey::new_odd_parity(&bytes)
    } else {
        TdesKey::new(&bytes)
    };
    key.map_err(|e| InputError(format!("{what}: {e}")).into())
}

fn aes_key(text: &str, what: &str) -> anyhow::Result<AesKey> {
    AesKey::from_hex(text).map_err(|e| InputError(format!("{what}: {e}")).into())
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| anyhow::anyhow!("system random source failed: {e}"))?;
    Ok(out)
}

// ---------------------------------------------------------------- dukpt

/// `crypto dukpt` arguments.
#[derive(Debug, clap::Args)]
pub struct DukptArgs {
    #[command(subcommand)]
    which: DukptWhich,
}

#[derive(Debug, Subcommand)]
enum DukptWhich {
    /// Initial key (TDES: IPEK; AES: initial key).
    Ipek(DukptKeyArgs),
    /// Transaction key (AES: the intermediate derivation key).
    Key(DukptKeyArgs),
    /// PIN encryption key.
    PinKey(DukptKeyArgs),
    /// MAC key (request / generation; `--response` for the response key).
    MacKey(DukptMacArgs),
    /// Data encryption key (request; `--response` for the response key).
    DataKey(DukptMacArgs),
}

#[derive(Debug, clap::Args)]
struct DukptKeyArgs {
    /// Base derivation key (32 hex digits; AES: 32, 48 or 64).
    #[arg(long)]
    bdk: String,
    /// Key serial number (TDES: 20 hex digits; AES: 24).
    #[arg(long)]
    ksn: String,
    /// AES DUKPT (ANSI X9.24-3-2017) instead of TDES.
    #[arg(long)]
    aes: bool,
    /// Reject a BDK without odd parity.
    #[arg(long)]
    check_parity: bool,
    /// AES DUKPT working key type (default: the BDK's AES type).
    #[arg(long, value_enum, requires = "aes")]
    key_type: Option<WorkingKeyType>,
}

/// X9.24-3 working key types.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum WorkingKeyType {
    /// Double-length TDES.
    Tdes2,
    /// Triple-length TDES.
    Tdes3,
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
}

#[derive(Debug, clap::Args)]
struct DukptMacArgs {
    #[command(flatten)]
    key: DukptKeyArgs,
    /// The response key (TDES) / verification or decryption key (AES).
    #[arg(long)]
    response: bool,
}

/// Runs `crypto dukpt`.
pub fn dukpt(args: DukptArgs) -> CmdResult {
    use dukpt::KeyVariant as V;
    let (key_args, kind) = match &args.which {
        DukptWhich::Ipek(a) => (a, "ipek"),
        DukptWhich::Key(a) => (a, "key"),
        DukptWhich::PinKey(a) => (a, "pin"),
        DukptWhich::MacKey(a) if a.response => (&a.key, "mac-response"),
        DukptWhich::MacKey(a) => (&a.key, "mac-request"),
        DukptWhich::DataKey(a) if a.response => (&a.key, "data-response"),
        DukptWhich::DataKey(a) => (&a.key, "data-request"),
    };
    if key_args.aes {
        return dukpt_aes(key_args, kind);
    }
    let bdk = tdes_key(&key_args.bdk, "BDK", key_args.check_parity)?;
    let ksn = input(Ksn::from_hex(&key_args.ksn))?;
    let key = match kind {
        "ipek" => input(dukpt::ipek(&bdk, &ksn))?,
        "key" => input(dukpt::transaction_key(&bdk, &ksn))?,
        "pin" => input(dukpt::working_key(&bdk, &ksn, V::Pin))?,
        "mac-request" => input(dukpt::working_key(&bdk, &ksn, V::MacRequest))?,
        "mac-response" => input(dukpt::working_key(&bdk, &ksn, V::MacResponse))?,
        "data-request" => input(dukpt::working_key(&bdk, &ksn, V::DataRequest))?,
        _ => input(dukpt::working_key(&bdk, &ksn, V::DataResponse))?,
    };
    Ok(Output::default()
        .text("ksn", ksn.to_string())
        .text("counter", format!("{:X}", ksn.counter()))
        .hex("key", key.expose_bytes())
        .hex("kcv", &key.kcv()))
}

fn dukpt_aes(args: &DukptKeyArgs, kind: &str) -> CmdResult {
    let bdk = aes_key(&args.bdk, "BDK")?;
    let ksn = input(AesKsn::from_hex(&args.ksn))?;
    let initial = aes_dukpt::initial_key(&bdk, &ksn.initial_key_id());
    let out = Output::default()
        .text("ksn", ksn.to_string())
        .text("counter", format!("{:X}", ksn.counter()));
    let usage = match kind {
        "ipek" => {
            return Ok(out
                .hex("key", initial.expose_bytes())
                .hex("kcv", &initial.kcv_cmac()));
        }
        "key" => {
            let key = input(aes_dukpt::derivation_key(&initial, &ksn))?;
            return Ok(out
                .hex("key", key.expose_bytes())
                .hex("kcv", &key.kcv_cmac()));
        }
        "pin" => KeyUsage::PinEncryption,
        "mac-request" => KeyUsage::MacGeneration,
        "mac-response" => KeyUsage::MacVerification,
        "data-request" => KeyUsage::DataEncrypt,
        _ => KeyUsage::DataDecrypt,
    };
    let key_type = match args.key_type {
        None => match bdk.len() {
            32 => KeyType::Aes256,
            24 => KeyType::Aes192,
            _ => KeyType::Aes128,
        },
        Some(WorkingKeyType::Tdes2) => KeyType::Tdes2,
        Some(WorkingKeyType::Tdes3) => KeyType::Tdes3,
        Some(WorkingKeyType::Aes128) => KeyType::Aes128,
        Some(WorkingKeyType::Aes192) => KeyType::Aes192,
        Some(WorkingKeyType::Aes256) => KeyType::Aes256,
    };
    let key = input(aes_dukpt::working_key(&bdk, &ksn, usage, key_type))?;
    let kcv = match key_type {
        KeyType::Tdes2 | KeyType::Tdes3 => input(TdesKey::new(key.expose()))?.kcv().to_vec(),
        _ => input(AesKey::new(key.expose()))?.kcv_cmac().to_vec(),
    };
    Ok(out.hex("key", key.expose()).hex("kcv", &kcv))
}

// ---------------------------------------------------------------- pin-block

/// `crypto pin-block` arguments.
#[derive(Debug, clap::Args)]
pub struct PinBlockArgs {
    #[command(subcommand)]
    which: PinBlockWhich,
}

#[derive(Debug, Subcommand)]
enum PinBlockWhich {
    /// Build a clear PIN block (format 4: the plaintext PIN field).
    Encode(PinEncodeArgs),
    /// Read the PIN out of a clear PIN block.
    Decode(PinDecodeArgs),
    /// Build and encrypt a PIN block (TDES key or DUKPT; AES for format 4).
    Encrypt(PinEncryptArgs),
    /// Decrypt a PIN block and read the PIN.
    Decrypt(PinDecryptArgs),
}

#[derive(Debug, clap::Args)]
struct FormatArgs {
    /// ISO 9564 format: 0, 1, 3 or 4.
    #[arg(long)]
    format: u8,
    /// Card number (formats 0, 3, 4).
    #[arg(long)]
    pan: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PinEncodeArgs {
    #[command(flatten)]
    format: FormatArgs,
    /// The PIN, 4 to 12 digits.
    #[arg(long)]
    pin: String,
    /// Fill / random bytes, 16 hex digits (default: random).
    #[arg(long)]
    fill: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PinDecodeArgs {
    #[command(flatten)]
    format: FormatArgs,
    /// Clear PIN block (16 hex digits; format 4: 32).
    #[arg(long)]
    block: String,
}

#[derive(Debug, clap::Args)]
struct KeySource {
    /// Encryption key: TDES (32/48 hex) for formats 0, 1, 3; AES for 4.
    #[arg(long, conflicts_with_all = ["bdk", "ksn"])]
    key: Option<String>,
    /// DUKPT BDK (with --ksn) instead of --key: TDES for formats 0, 1, 3;
    /// AES DUKPT (24-digit KSN) for format 4.
    #[arg(long, requires = "ksn")]
    bdk: Option<String>,
    /// DUKPT KSN (with --bdk).
    #[arg(long, requires = "bdk")]
    ksn: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PinEncryptArgs {
    #[command(flatten)]
    encode: PinEncodeArgs,
    #[command(flatten)]
    key: KeySource,
}

#[derive(Debug, clap::Args)]
struct PinDecryptArgs {
    #[command(flatten)]
    format: FormatArgs,
    /// Encrypted PIN block (16 hex digits; format 4: 32).
    #[arg(long)]
    block: String,
    #[command(flatten)]
    key: KeySource,
}

fn pan_of(format: PinBlockFormat, pan: Option<&String>) -> anyhow::Result<Option<Pan>> {
    match pan {
        Some(text) => Ok(Some(input(Pan::new(text))?)),
        None if format.needs_pan() => Err(bad("--pan is needed for this PIN block format")),
        None => Ok(None),
    }
}

fn encode_block(
    args: &PinEncodeArgs,
) -> anyhow::Result<(PinBlockFormat, ClearPinBlock, Option<Pan>)> {
    let format = input(PinBlockFormat::from_number(args.format.format))?;
    let pan = pan_of(format, args.format.pan.as_ref())?;
    let pin = input(Pin::new(&args.pin))?;
    let fill = match &args.fill {
        Some(text) => input(hex::decode_array::<8>(text, "fill"))?,
        None => random::<8>()?,
    };
    let block = match (format, &pan) {
        (PinBlockFormat::Iso0, Some(pan)) => cardsec::pin::encode_iso0(&pin, pan),
        (PinBlockFormat::Iso3, Some(pan)) => cardsec::pin::encode_iso3(&pin, pan, &fill),
        (PinBlockFormat::Iso4, _) => cardsec::pin::encode_iso4(&pin, &fill),
        _ => cardsec::pin::encode_iso1(&pin, &fill),
    };
    Ok((format, block, pan))
}

fn tdes_pin_key(source: &KeySource) -> anyhow::Result<TdesKey> {
    match (&source.key, &source.bdk, &source.ksn) {
        (Some(key), _, _) => tdes_key(key, "key", false),
        (None, Some(bdk), Some(ksn)) => {
            let bdk = tdes_key(bdk, "BDK", false)?;
            input(dukpt::pin_key(&bdk, &input(Ksn::from_hex(ksn))?))
        }
        _ => Err(bad("give --key, or --bdk and --ksn")),
    }
}

fn aes_pin_key(source: &KeySource) -> anyhow::Result<AesKey> {
    match (&source.key, &source.bdk, &source.ksn) {
        (Some(key), _, _) => aes_key(key, "key"),
        (None, Some(bdk), Some(ksn)) => {
            let bdk = aes_key(bdk, "BDK")?;
            input(aes_dukpt::pin_key(&bdk, &input(AesKsn::from_hex(ksn))?))
        }
        _ => Err(bad(
            "format 4 needs --key (an AES key), or --bdk and --ksn (AES DUKPT)",
        )),
    }
}

/// Runs `crypto pin-block`.
pub fn pin_block(args: PinBlockArgs) -> CmdResult {
    match args.which {
        PinBlockWhich::Encode(a) => {
            let (_, block, _) = encode_block(&a)?;
            Ok(Output::default().hex("block", block.expose_bytes()))
        }
        PinBlockWhich::Decode(a) => {
            let format = input(PinBlockFormat::from_number(a.format.format))?;
            let pan = pan_of(format, a.format.pan.as_ref())?;
            let bytes = input(hex::decode(&a.block, "PIN block"))?;
            let block = input(ClearPinBlock::new(&bytes))?;
            let pin = input(cardsec::pin::decode(format, &block, pan.as_ref()))?;
            Ok(Output::default().text("pin", pin.expose_digits()))
        }
        PinBlockWhich::Encrypt(a) => pin_encrypt(&a),
        PinBlockWhich::Decrypt(a) => pin_decrypt(&a),
    }
}

fn pin_encrypt(args: &PinEncryptArgs) -> CmdResult {
    let (format, block, pan) = encode_block(&args.encode)?;
    let out = Output::default().hex("clear_block", block.expose_bytes());
    if let (PinBlockFormat::Iso4, Some(pan)) = (format, &pan) {
        let key = aes_pin_key(&args.key)?;
        let encrypted = input(cardsec::pin::encrypt_iso4(&key, &block, pan))?;
        return Ok(out.hex("block", &encrypted));
    }
    let key = tdes_pin_key(&args.key)?;
    let encrypted = input(cardsec::pin::encrypt_tdes(&key, &block))?;
    Ok(out.hex("block", &encrypted))
}

fn pin_decrypt(args: &PinDecryptArgs) -> CmdResult {
    let format = input(PinBlockFormat::from_number(args.format.format))?;
    let pan = pan_of(format, args.format.pan.as_ref())?;
    if let (PinBlockFormat::Iso4, Some(pan)) = (format, &pan) {
        let key = aes_pin_key(&args.key)?;
        let encrypted = input(hex::decode_array::<16>(&args.block, "PIN block"))?;
        let clear = cardsec::pin::decrypt_iso4(&key, &encrypted, pan);
        let pin = input(cardsec::pin::decode(format, &clear, Some(pan)))?;
        return Ok(Output::default()
            .hex("clear_block", clear.expose_bytes())
            .text("pin", pin.expose_digits()));
    }
    let key = tdes_pin_key(&args.key)?;
    let encrypted = input(hex::decode_array::<8>(&args.block, "PIN block"))?;
    let clear = cardsec::pin::decrypt_tdes(&key, &encrypted);
    let pin = input(cardsec::pin::decode(format, &clear, pan.as_ref()))?;
    Ok(Output::default()
        .hex("clear_block", clear.expose_bytes())
        .text("pin", pin.expose_digits()))
}

// ---------------------------------------------------------------- mac

/// `crypto mac` arguments.
#[derive(Debug, clap::Args)]
pub struct MacArgs {
    #[command(subcommand)]
    which: MacWhich,
}

#[derive(Debug, Subcommand)]
enum MacWhich {
    /// ISO 9797-1 algorithm 3 / ANSI X9.19 retail MAC (double-length key).
    Retail(MacInput),
    /// ISO 9797-1 algorithm 1 (TDES CBC-MAC).
    Alg1(MacInput),
    /// AES-CMAC (RFC 4493).
    Cmac(MacInput),
}

#[derive(Debug, clap::Args)]
struct MacInput {
    /// MAC key in hex.
    #[arg(long)]
    key: String,
    /// Message in hex.
    #[arg(long, conflicts_with = "text", required_unless_present = "text")]
    data: Option<String>,
    /// Message as text (its UTF-8 bytes).
    #[arg(long)]
    text: Option<String>,
    /// ISO 9797-1 padding method, 1 or 2 (not for CMAC).
    #[arg(long, default_value_t = 1)]
    padding: u8,
    /// Expected MAC to verify (hex, may be truncated).
    #[arg(long)]
    verify: Option<String>,
}

/// Runs `crypto mac`.
pub fn mac(args: MacArgs) -> CmdResult {
    let (kind, a) = match args.which {
        MacWhich::Retail(a) => ("retail", a),
        MacWhich::Alg1(a) => ("alg1", a),
        MacWhich::Cmac(a) => ("cmac", a),
    };
    let message = match (&a.data, &a.text) {
        (Some(data), _) => input(hex::decode(data, "data"))?.to_vec(),
        (None, Some(text)) => text.as_bytes().to_vec(),
        (None, None) => return Err(bad("give --data or --text")),
    };
    let padding = match a.padding {
        1 => Padding::Method1,
        2 => Padding::Method2,
        _ => return Err(bad("--padding must be 1 or 2")),
    };
    let mac: Vec<u8> = match kind {
        "retail" => input(cardsec::mac::retail_mac(
            &tdes_key(&a.key, "key", false)?,
            &message,
            padding,
        ))?
        .to_vec(),
        "alg1" => cardsec::mac::mac_algorithm1(&tdes_key(&a.key, "key", false)?, &message, padding)
            .to_vec(),
        _ => cardsec::mac::aes_cmac(&aes_key(&a.key, "key")?, &message).to_vec(),
    };
    let out = Output::default().hex("mac", &mac);
    let Some(expected) = &a.verify else {
        return Ok(out);
    };
    let expected = input(hex::decode(expected, "expected MAC"))?;
    if expected.len() < 4 || expected.len() > mac.len() {
        return Err(bad("--verify must be 4 bytes up to the MAC's length"));
    }
    let valid: bool = subtle_eq(&mac[..expected.len()], &expected);
    Ok(out.flag("valid", valid))
}

pub(super) fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------- kcv

/// KCV methods for AES keys.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KcvMethod {
    /// AES-CMAC of 16 zero bytes, 5 bytes (X9.24-3 / TR-31).
    Cmac,
    /// Encrypt a zero block, 3 bytes (legacy).
    Zeros,
}

/// `crypto kcv` arguments.
#[derive(Debug, clap::Args)]
pub struct KcvArgs {
    /// The key in hex.
    #[arg(long)]
    key: String,
    /// Treat the key as AES (default TDES).
    #[arg(long)]
    aes: bool,
    /// AES KCV method.
    #[arg(long, value_enum, default_value_t = KcvMethod::Cmac)]
    method: KcvMethod,
    /// Reject a TDES key without odd parity.
    #[arg(long)]
    check_parity: bool,
}

/// Runs `crypto kcv`.
pub fn kcv(args: KcvArgs) -> CmdResult {
    if args.aes {
        let key = aes_key(&args.key, "key")?;
        let kcv: Vec<u8> = match args.method {
            KcvMethod::Cmac => key.kcv_cmac().to_vec(),
            KcvMethod::Zeros => key.kcv_encrypt_zeros().to_vec(),
        };
        return Ok(Output::default().hex("kcv", &kcv));
    }
    let key = tdes_key(&args.key, "key", args.check_parity)?;
    Ok(Output::default()
        .hex("kcv", &key.kcv())
        .flag("odd_parity", key.has_odd_parity()))
}

// ---------------------------------------------------------------- pvv

/// `crypto pvv` arguments.
#[derive(Debug, clap::Args)]
pub struct PvvArgs {
    /// PIN verification key (32 hex digits).
    #[arg(long)]
    pvk: String,
    /// Card number.
    #[arg(long)]
    pan: String,
    /// PIN verification key index, one digit.
    #[arg(long)]
    pvki: u8,
    /// The PIN.
    #[arg(long)]
    pin: String,
    /// PVV on file, to verify.
    #[arg(long)]
    verify: Option<String>,
}

/// Runs `crypto pvv`.
pub fn pvv(args: PvvArgs) -> CmdResult {
    let pvk = tdes_key(&args.pvk, "PVK", false)?;
    let pan = input(Pan::new(&args.pan))?;
    let pin = input(Pin::new(&args.pin))?;
    let value = input(cardsec::pinverify::pvv(&pvk, &pan, args.pvki, &pin))?;
    let out = Output::default().text("pvv", value.clone());
    Ok(match &args.verify {
        Some(expected) => out.flag("valid", subtle_eq(value.as_bytes(), expected.as_bytes())),
        None => out,
    })
}

// ---------------------------------------------------------------- tr31

/// `crypto tr31` arguments.
#[derive(Debug, clap::Args)]
pub struct Tr31Args {
    #[command(subcommand)]
    which: Tr31Which,
}

#[derive(Debug, Subcommand)]
enum Tr31Which {
    /// Verify and decrypt a key block (versions A, B, C, D).
    Unwrap(Tr31UnwrapArgs),
    /// Build a key block (versions B and D).
    Wrap(Tr31WrapArgs),
}

#[derive(Debug, clap::Args)]
struct Tr31UnwrapArgs {
    /// Key block protection key (TDES for A/B/C, AES for D).
    #[arg(long)]
    kbpk: String,
    /// The key block.
    #[arg(long)]
    block: String,
}

#[derive(Debug, clap::Args)]
struct Tr31WrapArgs {
    /// Key block protection key (TDES for B, AES for D).
    #[arg(long)]
    kbpk: String,
    /// The key to wrap, in hex.
    #[arg(long)]
    key: String,
    /// Version: B or D.
    #[arg(long, default_value = "D")]
    version: String,
    /// Key usage (2 characters), e.g. P0, B0, K0, M3, D0.
    #[arg(long, default_value = "P0")]
    usage: String,
    /// Algorithm: T (TDES) or A (AES).
    #[arg(long, default_value = "T")]
    algorithm: char,
    /// Mode of use: E, D, B, N, G, C, V, X, Y.
    #[arg(long, default_value = "E")]
    mode: char,
    /// Key version number (2 characters).
    #[arg(long, default_value = "00")]
    key_version: String,
    /// Exportability: E, N or S.
    #[arg(long, default_value = "E")]
    exportability: char,
}

/// Runs `crypto tr31`.
pub fn tr31(args: Tr31Args) -> CmdResult {
    use cardsec::tr31::{Header, Version};
    match args.which {
        Tr31Which::Unwrap(a) => {
            let kbpk = input(Secret::from_hex(&a.kbpk, "KBPK"))?;
            let unwrapped = input(cardsec::tr31::unwrap(&kbpk, &a.block))?;
            let h = &unwrapped.header;
            let mut out = Output::default()
                .hex("key", unwrapped.key.expose())
                .text("key_usage", h.key_usage.clone())
                .text("algorithm", h.algorithm.to_string())
                .text("mode_of_use", h.mode_of_use.to_string())
                .text("key_version", h.key_version.clone())
                .text("exportability", h.exportability.to_string());
            if let Ok(key) = TdesKey::new(unwrapped.key.expose()).map(|k| k.kcv()) {
                if h.algorithm == 'T' {
                    out = out.hex("kcv", &key);
                }
            }
            Ok(out)
        }
        Tr31Which::Wrap(a) => {
            let version = match a.version.as_str() {
                "B" | "b" => Version::B,
                "D" | "d" => Version::D,
                _ => return Err(bad("--version must be B or D")),
            };
            let kbpk = input(Secret::from_hex(&a.kbpk, "KBPK"))?;
            let key = input(Secret::from_hex(&a.key, "key"))?;
            let header = Header {
                version,
                key_usage: a.usage,
                algorithm: a.algorithm,
                mode_of_use: a.mode,
                key_version: a.key_version,
                exportability: a.exportability,
                optional_blocks: Vec::new(),
            };
            let padding = random::<64>()?;
            let block = input(cardsec::tr31::wrap_with_padding(
                &kbpk, &header, &key, &padding,
            ))?;
            Ok(Output::default().text("block", block))
        }
    }
}

// ---------------------------------------------------------------- luhn

/// `crypto luhn` arguments.
#[derive(Debug, clap::Args)]
pub struct LuhnArgs {
    /// The card number (digits).
    number: String,
}

/// Runs `crypto luhn`.
pub fn luhn(args: LuhnArgs) -> CmdResult {
    let number = args.number.trim();
    if number.is_empty() || !number.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad("the number must be decimal digits only"));
    }
    let check = input(cardsec::pan::luhn_check_digit(number))?;
    Ok(Output::default()
        .flag("valid", cardsec::luhn_valid(number))
        .text("check_digit_to_append", check.to_string())
        .text("masked", cardsec::mask_pan(number)))
}
