//! The host's records and their text form in the store's host tables
//! (`name=value` pairs joined by `;`). Values never contain `;` or `=`.
//! Cards are keyed by vault token; a clear PAN is never in a record.

use std::collections::HashMap;

use store::{HostRow, HostTable};

/// Reads a record body.
struct Fields(HashMap<String, String>);

impl Fields {
    fn parse(body: &str) -> Self {
        Self(
            body.split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(name, value)| (name.to_owned(), unescape(value)))
                .collect(),
        )
    }

    fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.0.get(name)?.parse().ok()
    }

    fn flag(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| v == "1")
    }
}

/// Values escape `%`, `;` and `=` as `%25`, `%3B`, `%3D`.
fn unescape(value: &str) -> String {
    value
        .replace("%3B", ";")
        .replace("%3D", "=")
        .replace("%25", "%")
}

/// Writes a record body into one string (this runs for every record of
/// every decision, under the state lock: no allocation per field).
struct Body(String);

impl Body {
    fn new() -> Body {
        Body(String::with_capacity(BODY_CAPACITY_BYTES))
    }

    fn name(&mut self, name: &str) {
        if !self.0.is_empty() {
            self.0.push(';');
        }
        self.0.push_str(name);
        self.0.push('=');
    }

    /// A text value, escaped.
    fn text(mut self, name: &str, value: &str) -> Body {
        self.name(name);
        if !value.contains(['%', ';', '=']) {
            self.0.push_str(value);
            return self;
        }
        for c in value.chars() {
            match c {
                '%' => self.0.push_str("%25"),
                ';' => self.0.push_str("%3B"),
                '=' => self.0.push_str("%3D"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// A number (never needs escaping), in decimal without the formatting
    /// machinery (account ids are `u128`, whose `Display` is slow).
    fn number(mut self, name: &str, value: impl Into<Decimal>) -> Body {
        self.name(name);
        match value.into() {
            Decimal::Unsigned(value) => push_unsigned(&mut self.0, value),
            Decimal::Signed(value) => {
                if value < 0 {
                    self.0.push('-');
                }
                push_unsigned(&mut self.0, u128::from(value.unsigned_abs()));
            }
        }
        self
    }

    fn flag(self, name: &str, value: bool) -> Body {
        self.text(name, if value { "1" } else { "0" })
    }

    fn done(self) -> String {
        self.0
    }
}

/// A number of a record body.
enum Decimal {
    Unsigned(u128),
    Signed(i64),
}

macro_rules! unsigned_decimal {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            fn from(value: $t) -> Decimal {
                Decimal::Unsigned(u128::from(value))
            }
        }
    )*};
}
unsigned_decimal!(u8, u16, u32, u64, u128);

impl From<i64> for Decimal {
    fn from(value: i64) -> Decimal {
        Decimal::Signed(value)
    }
}

/// Appends `value` in decimal; values that fit 64 bits (all of them in
/// practice) take the fast 64-bit path.
fn push_unsigned(out: &mut String, value: u128) {
    let mut digits = [b'0'; 39];
    let mut at = digits.len();
    let mut rest = value;
    let mut small = u64::try_from(rest).ok();
    loop {
        let digit = match small.as_mut() {
            Some(v) => {
                let d = *v % 10;
                *v /= 10;
                d
            }
            None => {
                let d = u64::try_from(rest % 10).unwrap_or(0);
                rest /= 10;
                small = u64::try_from(rest).ok();
                d
            }
        };
        at -= 1;
        if let Some(slot) = digits.get_mut(at) {
            *slot = b'0' + u8::try_from(digit).unwrap_or(0);
        }
        if small == Some(0) || at == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(digits.get(at..).unwrap_or_default()).unwrap_or_default());
}

/// Room reserved for a record body (a transaction's is about 300 bytes).
const BODY_CAPACITY_BYTES: usize = 384;

/// A merchant as the host needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantRecord {
    /// MID.
    pub mid: String,
    /// Name.
    pub name: String,
    /// Onboarding stage: `live`, `certification`, or another stage name.
    pub stage: String,
    /// Ledger account the merchant's captures are credited to.
    pub account: u128,
    /// Participates in the co-brand program (instant discounts, double points).
    pub participant: bool,
    /// Merchant category code.
    pub mcc: u16,
    /// Code of the fee plan of its contract (empty before a contract).
    pub fee_plan: String,
    /// Settlement cycle of its contract: `T0` or `T1`.
    pub cycle: String,
    /// T+1 cut-off, minutes after local midnight in the platform time zone.
    pub cutoff_minute: u16,
}

/// A terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalRecord {
    /// TID.
    pub tid: String,
    /// MID of its merchant.
    pub mid: String,
    /// Initial KSN (20 hex characters).
    pub initial_ksn: String,
    /// Requests and responses carry DE 64.
    pub mac_required: bool,
    /// Active (inactive terminals get `58`).
    pub active: bool,
}

/// An on-us card (never the clear PAN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRecord {
    /// Vault token.
    pub token: String,
    /// Vault ciphertext of the PAN.
    pub encrypted_pan: String,
    /// First 6 and last 4 digits.
    pub masked: String,
    /// `debit` or `credit`.
    pub product: String,
    /// `active`, `lost` or `stolen`.
    pub status: String,
    /// Expiry YYMM.
    pub expiry: String,
    /// What may still be spent, minor units.
    pub available: i64,
    /// Wrong PINs in a row.
    pub pin_failures: u8,
    /// PIN verification value.
    pub pvv: String,
    /// Chip card of the program (ARQC verified).
    pub chip: bool,
    /// Co-brand program code, empty if none.
    pub program: String,
    /// Ledger account of the card.
    pub account: u128,
    /// Points balance (co-brand cards).
    pub points: u64,
    /// The cardholder's standing choice to pay with points at participating
    /// merchants (co-brand cards; set by the issuer).
    pub redeem_points: bool,
}

/// One transaction (every answered financial request gets one, declines too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionRecord {
    /// RRN, 12 digits.
    pub rrn: String,
    /// `sale`, `preauth`, `completion`, `void`, `refund`, `balance`.
    pub kind: String,
    /// TID.
    pub tid: String,
    /// MID.
    pub mid: String,
    /// `tid/mti/stan/de7` of the request (reversals find it by this).
    pub request_key: String,
    /// Vault token of the card, empty for off-us cards.
    pub token: String,
    /// Masked PAN.
    pub masked: String,
    /// `onus` or `network`.
    pub route: String,
    /// Amount, minor units.
    pub amount: i64,
    /// Response code.
    pub code: String,
    /// Authorization code (approved only).
    pub auth_code: String,
    /// `approved`, `declined`, `voided`, `reversed`, `completed`.
    pub state: String,
    /// Batch number.
    pub batch: u32,
    /// Refunded so far.
    pub refunded: i64,
    /// RRN of the original (void, refund, completion).
    pub original: String,
    /// Processed in certification mode (never settled).
    pub certification: bool,
    /// Ledger account debited (card or network) for captures.
    pub payer_account: u128,
    /// Ledger account credited (merchant).
    pub merchant_account: u128,
    /// The pending transfer of a pre-authorization, 0 if none.
    pub pending_transfer: u128,
    /// The part of the amount funded by the co-brand program (a sale's
    /// instant discount; a refund's share returned to the program).
    pub discount: i64,
    /// Points earned (a sale) or taken back (a refund).
    pub points: u64,
    /// Points redeemed as part payment (a sale) or given back (a refund).
    pub redeemed: u64,
    /// Their value, funded by the program (a sale) or returned to it (a
    /// refund), minor units.
    pub redeemed_value: i64,
    /// Merchant fee charged at capture (a refund: the fee it returned).
    pub fee: i64,
    /// Brand partner's share of the fee (a refund: the share returned).
    pub fee_share: i64,
    /// Fee channel (`credit`, `debit`, ...), empty when not a payment.
    pub channel: String,
    /// Co-brand program of the card, empty if none.
    pub program: String,
    /// When it was decided, seconds since the Unix epoch (0: unknown).
    pub at_s: i64,
}

/// The response fields of an answered request, replayed for duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnswerRecord {
    /// DE 39.
    pub code: String,
    /// DE 37.
    pub rrn: String,
    /// DE 38.
    pub auth_code: String,
    /// DE 54.
    pub additional_amounts: String,
    /// DE 55 as hex.
    pub icc_hex: String,
    /// DE 63.
    pub benefits: String,
}

/// A terminal batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    /// TID.
    pub tid: String,
    /// Batch number.
    pub number: u32,
    /// Closed by a 0500.
    pub closed: bool,
}

/// A record of any host table, with its key.
// A transaction record is the largest variant; records are built once per
// decision and moved into the state, so boxing it would only add an
// allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A merchant.
    Merchant(MerchantRecord),
    /// A terminal.
    Terminal(TerminalRecord),
    /// A card.
    Card(CardRecord),
    /// A transaction.
    Transaction(TransactionRecord),
    /// An answered request, by `tid/stan/de7`.
    Answer(String, AnswerRecord),
    /// A reversal received, by the original's `tid/mti/stan/de7`; the body
    /// names the reversed RRN (empty when the original was not received).
    Reversal(String, String),
    /// A batch.
    Batch(BatchRecord),
    /// A KSN used, with the `tid/stan/de7` of its request.
    KsnUse(String, String),
    /// A reconciliation exception, by `tid/batch`.
    Exception(String, String),
    /// A reversal owed to the network, by RRN.
    NetworkReversal(String, String),
    /// A setting.
    Setting(String, String),
}

impl Record {
    /// The store row of this record.
    #[must_use]
    pub fn row(&self) -> HostRow {
        let (table, key, text) = match self {
            Record::Merchant(m) => (
                HostTable::Merchants,
                m.mid.clone(),
                Body::new()
                    .text("name", &m.name)
                    .text("stage", &m.stage)
                    .number("account", m.account)
                    .flag("participant", m.participant)
                    .number("mcc", m.mcc)
                    .text("fee_plan", &m.fee_plan)
                    .text("cycle", &m.cycle)
                    .number("cutoff_minute", m.cutoff_minute)
                    .done(),
            ),
            Record::Terminal(t) => (
                HostTable::Terminals,
                t.tid.clone(),
                Body::new()
                    .text("mid", &t.mid)
                    .text("initial_ksn", &t.initial_ksn)
                    .flag("mac_required", t.mac_required)
                    .flag("active", t.active)
                    .done(),
            ),
            Record::Card(c) => (HostTable::Cards, c.token.clone(), card_body(c)),
            Record::Transaction(t) => (HostTable::Transactions, t.rrn.clone(), transaction_body(t)),
            Record::Answer(key, a) => (
                HostTable::Duplicates,
                key.clone(),
                Body::new()
                    .text("code", &a.code)
                    .text("rrn", &a.rrn)
                    .text("auth_code", &a.auth_code)
                    .text("de54", &a.additional_amounts)
                    .text("de55", &a.icc_hex)
                    .text("de63", &a.benefits)
                    .done(),
            ),
            Record::Reversal(key, rrn) => (
                HostTable::Reversals,
                key.clone(),
                Body::new().text("rrn", rrn).done(),
            ),
            Record::Batch(b) => (
                HostTable::Batches,
                format!("{}/{:06}", b.tid, b.number),
                Body::new().flag("closed", b.closed).done(),
            ),
            Record::KsnUse(ksn, request) => (
                HostTable::KsnUsage,
                ksn.clone(),
                Body::new().text("request", request).done(),
            ),
            Record::Exception(key, text) => (HostTable::Exceptions, key.clone(), text.clone()),
            Record::NetworkReversal(rrn, text) => {
                (HostTable::NetworkReversals, rrn.clone(), text.clone())
            }
            Record::Setting(key, value) => (HostTable::Settings, key.clone(), value.clone()),
        };
        HostRow {
            table,
            key,
            body: text,
        }
    }

    /// Reads a stored row back; `None` for an unreadable one.
    #[must_use]
    pub fn from_row(table: HostTable, key: &str, text: &str) -> Option<Record> {
        let f = Fields::parse(text);
        let key = key.to_owned();
        Some(match table {
            HostTable::Merchants => Record::Merchant(MerchantRecord {
                mid: key,
                name: f.text("name")?,
                stage: f.text("stage")?,
                account: f.number("account")?,
                participant: f.flag("participant"),
                mcc: f.number("mcc").unwrap_or(0),
                fee_plan: f.text("fee_plan").unwrap_or_default(),
                cycle: f.text("cycle").unwrap_or_else(|| "T1".to_owned()),
                cutoff_minute: f.number("cutoff_minute").unwrap_or(0),
            }),
            HostTable::Terminals => Record::Terminal(TerminalRecord {
                tid: key,
                mid: f.text("mid")?,
                initial_ksn: f.text("initial_ksn")?,
                mac_required: f.flag("mac_required"),
                active: f.flag("active"),
            }),
            HostTable::Cards => Record::Card(card_from(key, &f)?),
            HostTable::Transactions => Record::Transaction(transaction_from(key, &f)?),
            HostTable::Duplicates => Record::Answer(
                key,
                AnswerRecord {
                    code: f.text("code")?,
                    rrn: f.text("rrn")?,
                    auth_code: f.text("auth_code").unwrap_or_default(),
                    additional_amounts: f.text("de54").unwrap_or_default(),
                    icc_hex: f.text("de55").unwrap_or_default(),
                    benefits: f.text("de63").unwrap_or_default(),
                },
            ),
            HostTable::Reversals => Record::Reversal(key, f.text("rrn").unwrap_or_default()),
            HostTable::Batches => {
                let (tid, number) = key.split_once('/')?;
                Record::Batch(BatchRecord {
                    tid: tid.to_owned(),
                    number: number.parse().ok()?,
                    closed: f.flag("closed"),
                })
            }
            HostTable::KsnUsage => Record::KsnUse(key, f.text("request")?),
            HostTable::Exceptions => Record::Exception(key, text.to_owned()),
            HostTable::NetworkReversals => Record::NetworkReversal(key, text.to_owned()),
            HostTable::Settings => Record::Setting(key, text.to_owned()),
        })
    }
}

fn card_body(c: &CardRecord) -> String {
    Body::new()
        .text("pan", &c.encrypted_pan)
        .text("masked", &c.masked)
        .text("product", &c.product)
        .text("status", &c.status)
        .text("expiry", &c.expiry)
        .number("available", c.available)
        .number("pin_failures", c.pin_failures)
        .text("pvv", &c.pvv)
        .flag("chip", c.chip)
        .text("program", &c.program)
        .number("account", c.account)
        .number("points", c.points)
        .flag("redeem_points", c.redeem_points)
        .done()
}

fn card_from(token: String, f: &Fields) -> Option<CardRecord> {
    Some(CardRecord {
        token,
        encrypted_pan: f.text("pan")?,
        masked: f.text("masked")?,
        product: f.text("product")?,
        status: f.text("status")?,
        expiry: f.text("expiry")?,
        available: f.number("available")?,
        pin_failures: f.number("pin_failures")?,
        pvv: f.text("pvv")?,
        chip: f.flag("chip"),
        program: f.text("program").unwrap_or_default(),
        account: f.number("account")?,
        points: f.number("points").unwrap_or(0),
        redeem_points: f.flag("redeem_points"),
    })
}

fn transaction_body(t: &TransactionRecord) -> String {
    let body = Body::new()
        .text("kind", &t.kind)
        .text("tid", &t.tid)
        .text("mid", &t.mid)
        .text("request", &t.request_key)
        .text("token", &t.token)
        .text("masked", &t.masked)
        .text("route", &t.route)
        .number("amount", t.amount)
        .text("code", &t.code)
        .text("auth_code", &t.auth_code)
        .text("state", &t.state)
        .number("batch", t.batch)
        .number("refunded", t.refunded)
        .text("original", &t.original)
        .flag("certification", t.certification)
        .number("payer_account", t.payer_account)
        .number("merchant_account", t.merchant_account)
        .number("pending_transfer", t.pending_transfer)
        .number("discount", t.discount)
        .number("points", t.points)
        .number("fee", t.fee)
        .number("fee_share", t.fee_share)
        .text("channel", &t.channel)
        .text("program", &t.program)
        .number("at", t.at_s);
    // Only transactions with points redeemed carry them (absent reads as 0),
    // so every other row stays as short as before.
    if t.redeemed == 0 && t.redeemed_value == 0 {
        return body.done();
    }
    body.number("redeemed", t.redeemed)
        .number("redeemed_value", t.redeemed_value)
        .done()
}

fn transaction_from(rrn: String, f: &Fields) -> Option<TransactionRecord> {
    Some(TransactionRecord {
        rrn,
        kind: f.text("kind")?,
        tid: f.text("tid")?,
        mid: f.text("mid")?,
        request_key: f.text("request")?,
        token: f.text("token").unwrap_or_default(),
        masked: f.text("masked").unwrap_or_default(),
        route: f.text("route")?,
        amount: f.number("amount")?,
        code: f.text("code")?,
        auth_code: f.text("auth_code").unwrap_or_default(),
        state: f.text("state")?,
        batch: f.number("batch")?,
        refunded: f.number("refunded")?,
        original: f.text("original").unwrap_or_default(),
        certification: f.flag("certification"),
        payer_account: f.number("payer_account")?,
        merchant_account: f.number("merchant_account")?,
        pending_transfer: f.number("pending_transfer")?,
        discount: f.number("discount").unwrap_or(0),
        points: f.number("points").unwrap_or(0),
        redeemed: f.number("redeemed").unwrap_or(0),
        redeemed_value: f.number("redeemed_value").unwrap_or(0),
        fee: f.number("fee").unwrap_or(0),
        fee_share: f.number("fee_share").unwrap_or(0),
        channel: f.text("channel").unwrap_or_default(),
        program: f.text("program").unwrap_or_default(),
        at_s: f.number("at").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_decimal() {
        let cases: [(Decimal, &str); 9] = [
            (0u8.into(), "0"),
            (7u16.into(), "7"),
            (10u32.into(), "10"),
            (u64::MAX.into(), "18446744073709551615"),
            (
                u128::from(u64::MAX).saturating_add(1).into(),
                "18446744073709551616",
            ),
            (u128::MAX.into(), "340282366920938463463374607431768211455"),
            (0i64.into(), "0"),
            ((-1205i64).into(), "-1205"),
            (i64::MIN.into(), "-9223372036854775808"),
        ];
        for (value, expected) in cases {
            let body = Body::new().number("n", value).done();
            assert_eq!(body, format!("n={expected}"));
        }
    }

    #[test]
    fn every_record_reads_back_as_written() {
        let records = vec![
            Record::Merchant(MerchantRecord {
                mid: "100000000000001".into(),
                name: "Lucky; Coffee = 100% %3B".into(),
                stage: "live".into(),
                account: 101,
                participant: true,
                mcc: 5814,
                fee_plan: "STANDARD".into(),
                cycle: "T1".into(),
                cutoff_minute: 23 * 60,
            }),
            Record::Batch(BatchRecord {
                tid: "T0000001".into(),
                number: 7,
                closed: true,
            }),
            Record::Answer(
                "T0000001/000001/1124101010".into(),
                AnswerRecord {
                    code: "00".into(),
                    rrn: "000000000001".into(),
                    auth_code: "000001".into(),
                    additional_amounts: String::new(),
                    icc_hex: "9108".into(),
                    benefits: "PROG=DBCOFFEE;DISC=000000000500".into(),
                },
            ),
        ];
        for record in records {
            let row = record.row();
            let back = Record::from_row(row.table, &row.key, &row.body).unwrap();
            assert_eq!(record, back);
        }
    }

    #[test]
    fn redemption_reads_back_and_is_absent_when_none() {
        let card = CardRecord {
            token: "tok".into(),
            encrypted_pan: "v1:abc".into(),
            masked: "622588******0013".into(),
            product: "credit".into(),
            status: "active".into(),
            expiry: "3012".into(),
            available: 100_000,
            pin_failures: 0,
            pvv: "1234".into(),
            chip: false,
            program: "DBCOFFEE".into(),
            account: 1_001,
            points: 562,
            redeem_points: true,
        };
        let sale = TransactionRecord {
            rrn: "000000000042".into(),
            kind: "sale".into(),
            tid: "T0000001".into(),
            mid: "100000000000001".into(),
            request_key: "T0000001/0200/000001/1124101010".into(),
            token: "tok".into(),
            masked: "622588******0013".into(),
            route: "onus".into(),
            amount: 8_000,
            code: "00".into(),
            auth_code: "000042".into(),
            state: "approved".into(),
            batch: 1,
            refunded: 4_000,
            original: String::new(),
            certification: false,
            payer_account: 1_001,
            merchant_account: 101,
            pending_transfer: 0,
            discount: 800,
            points: 124,
            redeemed: 1_000,
            redeemed_value: 1_000,
            fee: 48,
            fee_share: 10,
            channel: "credit".into(),
            program: "DBCOFFEE".into(),
            at_s: 1_764_000_000,
        };
        let plain = TransactionRecord {
            redeemed: 0,
            redeemed_value: 0,
            ..sale.clone()
        };
        assert!(
            !Record::Transaction(plain.clone())
                .row()
                .body
                .contains("redeemed")
        );
        let off = CardRecord {
            redeem_points: false,
            ..card.clone()
        };
        for record in [
            Record::Card(card),
            Record::Card(off),
            Record::Transaction(sale),
            Record::Transaction(plain),
        ] {
            let row = record.row();
            let back = Record::from_row(row.table, &row.key, &row.body).unwrap();
            assert_eq!(record, back);
        }
    }
}
