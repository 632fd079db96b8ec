//! The terminal: operations that build the messages of host-interface.md
//! section 4, send them, match and check the answers, keep the batch and
//! the reversal queue, and make receipts.

use std::path::PathBuf;
use std::time::Duration;

use cardsec::dukpt::{KeyVariant, TransactionKeyCache, variant_key};
use cardsec::mac::{self, Padding};
use cardsec::{Ksn, Pin, TdesKey, pin};
use iso8583::tlv::{Tag, TlvIter};
use iso8583::{ISO87, MESSAGE_LEN_MAX, Message, MessageBuilder, Mti, de};
use serde::Serialize;

use crate::Error;
use crate::card::{Card, EntryMode, IccTransaction};
use crate::clock::{Clock, DateTime};
use crate::receipt::{Receipt, ReceiptBenefits};
use crate::response::{parse_available_balance, parse_benefits, reason};
use crate::state::{BatchEntry, QueuedReversal, TerminalState, Totals};
use crate::transport::Link;

mod answer;

use answer::card_verdict;

/// Default time the terminal waits for an answer.
pub const RESPONSE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(20);
/// Most transactions one batch holds; settle to open a new one.
pub const BATCH_ENTRIES_MAX: usize = 500;
/// Timezone offset of the sandbox (Asia/Shanghai), seconds.
pub const UTC_OFFSET_S_DEFAULT: i64 = 8 * 3_600;

/// How the terminal runs (not persisted; the profile is in the state).
#[derive(Clone, Debug)]
pub struct TerminalConfig {
    /// Host address, `host:port`.
    pub host: String,
    /// How long to wait for each answer.
    pub response_timeout: Duration,
    /// Local time offset from UTC for DE 12/13, tag 9A and receipts, seconds.
    pub utc_offset_s: i64,
    /// Whether the terminal has a PIN pad (DE 22 third digit 1, else 2).
    pub pin_capable: bool,
    /// ISO 4217 numeric currency (DE 49; also the country in tag 9F1A).
    pub currency: u16,
    /// Alphabetic currency for receipts.
    pub currency_alpha: String,
    /// Seed of the unpredictable numbers (tag 9F37).
    pub random_seed: u64,
}

impl TerminalConfig {
    /// Defaults for a terminal of the sandbox talking to `host`.
    #[must_use]
    pub fn new(host: &str) -> TerminalConfig {
        TerminalConfig {
            host: host.to_owned(),
            response_timeout: RESPONSE_TIMEOUT_DEFAULT,
            utc_offset_s: UTC_OFFSET_S_DEFAULT,
            pin_capable: true,
            currency: 156,
            currency_alpha: "CNY".into(),
            random_seed: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

/// A card presented to the terminal.
#[derive(Clone, Copy, Debug)]
pub struct CardRead<'a> {
    /// The card.
    pub card: &'a Card,
    /// How it was read.
    pub entry: EntryMode,
    /// The PIN the cardholder typed, if any.
    pub pin: Option<&'a Pin>,
}

/// The financial transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionKind {
    /// 0200 000000.
    Sale,
    /// 0100 000000, DE 25 = 06.
    Preauth,
    /// 0220 000000 with DE 37 + 38 of the pre-authorization.
    Completion,
    /// 0200 020000 with DE 37 of the sale.
    Void,
    /// 0200 200000 with DE 37 of the original.
    Refund,
    /// 0100 310000.
    Balance,
}

impl TransactionKind {
    fn mti(self) -> &'static str {
        match self {
            Self::Preauth | Self::Balance => "0100",
            Self::Completion => "0220",
            Self::Sale | Self::Void | Self::Refund => "0200",
        }
    }

    fn processing_code(self) -> &'static str {
        match self {
            Self::Sale | Self::Preauth | Self::Completion => "000000",
            Self::Void => "020000",
            Self::Refund => "200000",
            Self::Balance => "310000",
        }
    }

    fn condition_code(self) -> &'static str {
        match self {
            Self::Preauth | Self::Completion => "06",
            _ => "00",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Sale => "SALE",
            Self::Preauth => "PRE-AUTH",
            Self::Completion => "COMPLETION",
            Self::Void => "VOID",
            Self::Refund => "REFUND",
            Self::Balance => "BALANCE",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Preauth => "preauth",
            Self::Completion => "completion",
            Self::Void => "void",
            Self::Refund => "refund",
            Self::Balance => "balance",
        }
    }
}

/// The result of one operation, as printed or emitted as JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// `sale`, `sign-on`, `settle`, ….
    pub operation: String,
    /// MTI of the request.
    pub mti: String,
    /// DE 11 of the request.
    pub stan: String,
    /// DE 39; `None` when no valid answer came in time.
    pub response_code: Option<String>,
    /// Whether the host approved (`00`).
    pub approved: bool,
    /// The reason in words.
    pub reason: String,
    /// DE 37 of the answer.
    pub rrn: Option<String>,
    /// DE 38 of the answer.
    pub auth_code: Option<String>,
    /// Amount, minor units.
    pub amount_minor: u64,
    /// Benefits (DE 63).
    pub benefits: Option<ReceiptBenefits>,
    /// Available balance (DE 54), minor units.
    pub available_balance_minor: Option<i64>,
    /// The terminal's totals sent in a 0500.
    pub terminal_totals: Option<Totals>,
    /// The host's totals from a 0510.
    pub host_totals: Option<Totals>,
    /// DE 60 of the request.
    pub batch: String,
    /// Whether a reversal of this request now waits in the queue.
    pub reversal_queued: bool,
    /// Whether the host approved but the chip card refused the issuer's
    /// answer (tag 91): the transaction is reversed.
    pub card_declined: bool,
    /// The receipt of a financial transaction.
    pub receipt: Option<Receipt>,
}

/// What [`Terminal::send_reversals`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReversalReport {
    /// Reversals sent (0400 or 0420).
    pub sent: usize,
    /// Of those, answered and removed from the queue.
    pub answered: usize,
    /// Still queued.
    pub pending: usize,
}

/// A POS terminal.
pub struct Terminal {
    state: TerminalState,
    state_path: Option<PathBuf>,
    keys: TransactionKeyCache,
    config: TerminalConfig,
    clock: Box<dyn Clock>,
    link: Link,
    random: u64,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("tid", &self.state.tid)
            .field("host", &self.config.host)
            .finish_non_exhaustive()
    }
}

/// A request on its way: the message, its STAN and the KSN it used.
struct Pending {
    message: MessageBuilder,
    stan: String,
    transmission: String,
    ksn: Option<Ksn>,
}

impl Terminal {
    /// A terminal with its state and its IPEK.
    ///
    /// # Errors
    /// [`Error::Key`] when the state's initial KSN is not valid.
    pub fn new(
        state: TerminalState,
        ipek: TdesKey,
        config: TerminalConfig,
        clock: Box<dyn Clock>,
    ) -> Result<Terminal, Error> {
        let initial_ksn = Ksn::from_hex(&state.initial_ksn)?;
        Ok(Terminal {
            keys: TransactionKeyCache::from_ipek(ipek, &initial_ksn),
            link: Link::new(&config.host),
            random: config.random_seed | 1,
            state,
            state_path: None,
            config,
            clock,
        })
    }

    /// Saves the state to `path` at every step (before a request goes out
    /// and after its answer), so that a crash loses no STAN, KSN counter or
    /// reversal.
    #[must_use]
    pub fn with_state_file(mut self, path: PathBuf) -> Terminal {
        self.state_path = Some(path);
        self
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> &TerminalState {
        &self.state
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &TerminalConfig {
        &self.config
    }

    fn persist(&self) -> Result<(), Error> {
        match &self.state_path {
            Some(path) => Ok(self.state.save(path)?),
            None => Ok(()),
        }
    }

    /// 0800 sign-on (DE 70 = 001).
    ///
    /// # Errors
    /// As [`Terminal::echo`].
    pub fn sign_on(&mut self) -> Result<Outcome, Error> {
        self.network("sign-on", 1)
    }

    /// 0800 sign-off (DE 70 = 002).
    ///
    /// # Errors
    /// As [`Terminal::echo`].
    pub fn sign_off(&mut self) -> Result<Outcome, Error> {
        self.network("sign-off", 2)
    }

    /// 0800 echo test (DE 70 = 301).
    ///
    /// # Errors
    /// [`Error::Connect`] when the host cannot be reached; [`Error::State`]
    /// when the state cannot be saved or the key is exhausted.
    pub fn echo(&mut self) -> Result<Outcome, Error> {
        self.network("echo", 301)
    }

    /// 0200 sale.
    ///
    /// # Errors
    /// [`Error::Connect`], [`Error::Card`], [`Error::Input`] (batch full),
    /// [`Error::State`].
    pub fn sale(&mut self, read: CardRead<'_>, amount_minor: u64) -> Result<Outcome, Error> {
        self.financial(TransactionKind::Sale, read, amount_minor, None)
    }

    /// 0100 pre-authorization (DE 25 = 06).
    ///
    /// # Errors
    /// As [`Terminal::sale`].
    pub fn preauth(&mut self, read: CardRead<'_>, amount_minor: u64) -> Result<Outcome, Error> {
        self.financial(TransactionKind::Preauth, read, amount_minor, None)
    }

    /// 0220 completion of the pre-authorization `rrn` / `auth_code`; the
    /// amount may be at most the authorized one.
    ///
    /// # Errors
    /// [`Error::Input`] when the pre-authorization is in the open batch
    /// with a smaller amount; otherwise as [`Terminal::sale`].
    pub fn complete(
        &mut self,
        read: CardRead<'_>,
        amount_minor: u64,
        rrn: &str,
        auth_code: &str,
    ) -> Result<Outcome, Error> {
        let authorized = self
            .state
            .entries
            .iter()
            .find(|entry| entry.rrn == rrn && entry.kind == "preauth")
            .and_then(|entry| u64::try_from(entry.amount_minor).ok());
        if authorized.is_some_and(|authorized| amount_minor > authorized) {
            return Err(Error::Input(format!(
                "the completion exceeds the amount authorized by {rrn}"
            )));
        }
        let original = (rrn, Some(auth_code));
        self.financial(
            TransactionKind::Completion,
            read,
            amount_minor,
            Some(original),
        )
    }

    /// 0200 void of the sale `rrn`. Its amount comes from the open batch;
    /// `amount_minor` is needed only for a sale the batch does not hold.
    ///
    /// # Errors
    /// [`Error::Input`] when the sale is not in the batch and no amount is
    /// given, or it was voided already; otherwise as [`Terminal::sale`].
    pub fn void(
        &mut self,
        read: CardRead<'_>,
        rrn: &str,
        amount_minor: Option<u64>,
    ) -> Result<Outcome, Error> {
        let entry =
            self.state.entries.iter().find(|entry| {
                entry.rrn == rrn && matches!(entry.kind.as_str(), "sale" | "completion")
            });
        if entry.is_some_and(|entry| entry.voided) {
            return Err(Error::Input(format!("sale {rrn} is voided already")));
        }
        let batch_amount = entry.and_then(|entry| u64::try_from(entry.amount_minor).ok());
        let amount = batch_amount.or(amount_minor).ok_or_else(|| {
            Error::Input(format!(
                "sale {rrn} is not in the open batch; give its amount"
            ))
        })?;
        self.financial(TransactionKind::Void, read, amount, Some((rrn, None)))
    }

    /// 0200 refund of `amount_minor` against the original `rrn`.
    ///
    /// # Errors
    /// As [`Terminal::sale`].
    pub fn refund(
        &mut self,
        read: CardRead<'_>,
        rrn: &str,
        amount_minor: u64,
    ) -> Result<Outcome, Error> {
        self.financial(
            TransactionKind::Refund,
            read,
            amount_minor,
            Some((rrn, None)),
        )
    }

    /// 0100 balance inquiry; the available balance comes from DE 54.
    ///
    /// # Errors
    /// As [`Terminal::sale`].
    pub fn balance(&mut self, read: CardRead<'_>) -> Result<Outcome, Error> {
        self.financial(TransactionKind::Balance, read, 0, None)
    }

    /// Takes the next STAN, the DUKPT KSN when the request needs one, and
    /// the transmission time; starts the message.
    fn start(&mut self, mti: &str, needs_ksn: bool) -> Result<(Pending, DateTime), Error> {
        let stan = self.state.next_stan();
        let ksn = if needs_ksn || self.state.mac_required {
            Some(Ksn::from_hex(&self.state.next_ksn()?)?)
        } else {
            None
        };
        let now = self.clock.now_unix_s();
        let transmission = DateTime::from_unix(now, 0).mmddhhmmss();
        let local = DateTime::from_unix(now, self.config.utc_offset_s);
        // MTIs here are literals of four digits.
        let mti = Mti::parse(mti).ok_or_else(|| Error::Input(format!("MTI {mti}")))?;
        let message = MessageBuilder::new(&ISO87, mti);
        let pending = Pending {
            message,
            stan,
            transmission,
            ksn,
        };
        Ok((pending, local))
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: unpredictable enough for a simulated card, and
        // reproducible from the seed in tests.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random
    }

    fn network(&mut self, operation: &str, code: u64) -> Result<Outcome, Error> {
        let (mut pending, _) = self.start("0800", false)?;
        pending
            .message
            .set_text(de::TRANSMISSION_DATE_TIME, &pending.transmission)?
            .set_text(de::STAN, &pending.stan)?
            .set_text(de::TERMINAL_ID, &self.state.tid)?
            .set_number(de::NETWORK_MANAGEMENT_CODE, code)?;
        self.persist()?;
        let answer = self.exchange(&mut pending)?;
        let mut outcome = self.outcome(operation, &pending, answer.as_deref(), 0);
        outcome.batch = self.state.batch_field();
        Ok(outcome)
    }

    fn financial(
        &mut self,
        kind: TransactionKind,
        read: CardRead<'_>,
        amount_minor: u64,
        original: Option<(&str, Option<&str>)>,
    ) -> Result<Outcome, Error> {
        let adds_entry = !matches!(kind, TransactionKind::Balance | TransactionKind::Void);
        if adds_entry && self.state.entries.len() >= BATCH_ENTRIES_MAX {
            return Err(Error::Input(format!(
                "batch full ({BATCH_ENTRIES_MAX} transactions); settle first"
            )));
        }
        self.send_reversals()?;
        let (mut pending, local) = self.start(kind.mti(), read.pin.is_some())?;
        self.fill_financial(&mut pending, kind, read, amount_minor, original, &local)?;
        let reversal = QueuedReversal {
            original_mti: kind.mti().to_owned(),
            processing_code: kind.processing_code().to_owned(),
            original_stan: pending.stan.clone(),
            original_transmission: pending.transmission.clone(),
            amount_minor: i64::try_from(amount_minor).unwrap_or(i64::MAX),
            attempts: 0,
        };
        // Queued before the request leaves: a crash or a silent host leaves
        // it queued; an answer removes it.
        self.state.queue_reversal(reversal.clone())?;
        self.persist()?;
        let answer = match self.exchange(&mut pending) {
            Ok(answer) => answer,
            Err(error) => {
                self.state.reversals.retain(|queued| *queued != reversal);
                self.persist()?;
                return Err(error);
            }
        };
        let mut outcome = self.outcome(kind.name(), &pending, answer.as_deref(), amount_minor);
        let card_declined = outcome.approved
            && read.entry.is_chip()
            && answer
                .as_deref()
                .and_then(|body| card_verdict(read.card, &pending, body))
                == Some(false);
        if card_declined {
            // Approved by the host, declined by the card: the reversal stays.
            outcome.approved = false;
            outcome.card_declined = true;
            outcome.reason =
                "approved by the host, declined by the card (issuer authentication failed)".into();
        } else if answer.is_some() {
            self.state.reversals.retain(|queued| *queued != reversal);
        }
        if outcome.approved {
            self.record(kind, read.card, &outcome, original.map(|(rrn, _)| rrn));
        }
        outcome.reversal_queued = answer.is_none() || card_declined;
        outcome.batch = self.state.batch_field();
        outcome.receipt = Some(self.receipt(kind, read, &outcome, &local));
        self.persist()?;
        Ok(outcome)
    }

    fn fill_financial(
        &mut self,
        pending: &mut Pending,
        kind: TransactionKind,
        read: CardRead<'_>,
        amount_minor: u64,
        original: Option<(&str, Option<&str>)>,
        local: &DateTime,
    ) -> Result<(), Error> {
        let card = read.card;
        // Keyed entry prompts for no PIN unless one was given.
        let pin_capable =
            self.config.pin_capable && (read.entry != EntryMode::Keyed || read.pin.is_some());
        let message = &mut pending.message;
        if read.entry == EntryMode::Keyed {
            message
                .set_text(de::PAN, card.pan().expose_digits())?
                .set_text(de::EXPIRATION_DATE, card.expiry())?;
        }
        message
            .set_text(de::PROCESSING_CODE, kind.processing_code())?
            .set_number(de::AMOUNT, amount_minor)?
            .set_text(de::TRANSMISSION_DATE_TIME, &pending.transmission)?
            .set_text(de::STAN, &pending.stan)?
            .set_text(de::LOCAL_TIME, &local.hhmmss())?
            .set_text(de::LOCAL_DATE, &local.mmdd())?
            .set_text(de::POS_ENTRY_MODE, &read.entry.pos_entry_mode(pin_capable))?
            .set_text(de::POS_CONDITION_CODE, kind.condition_code())?;
        if read.entry != EntryMode::Keyed {
            message.set_text(de::TRACK2, &card.track2())?;
        }
        if let Some((rrn, auth_code)) = original {
            message.set_text(de::RRN, rrn)?;
            if let Some(auth_code) = auth_code {
                message.set_text(de::AUTHORIZATION_CODE, auth_code)?;
            }
        }
        message
            .set_text(de::TERMINAL_ID, &self.state.tid)?
            .set_text(de::MERCHANT_ID, &self.state.mid)?
            .set_number(de::CURRENCY_CODE, u64::from(self.config.currency))?;
        if let (Some(pin), Some(ksn)) = (read.pin, &pending.ksn) {
            let key = variant_key(&self.keys.transaction_key(ksn)?, KeyVariant::Pin);
            let block = pin::encrypt_tdes(&key, &pin::encode_iso0(pin, card.pan()))?;
            pending.message.set(de::PIN_BLOCK, &block)?;
        }
        if read.entry.is_chip() {
            let stan: u64 = pending.stan.parse().unwrap_or(1);
            let icc = IccTransaction {
                amount_minor,
                currency: self.config.currency,
                date: local.yymmdd_bcd(),
                transaction_type: transaction_type(kind.processing_code()),
                unpredictable_number: (self.next_random() as u32).to_be_bytes(),
                // The simulated card has no memory between runs: its ATC
                // follows the terminal's STAN, which also only grows.
                atc: u16::try_from(stan % 0xFFFF).unwrap_or(1).max(1),
            };
            pending.message.set(de::ICC_DATA, &card.icc_data(&icc)?)?;
        }
        pending
            .message
            .set_text(de::BATCH_NUMBER, &self.state.batch_field())?;
        Ok(())
    }

    /// Adds DE 62 (when a KSN was taken) and DE 64 (when the profile wants
    /// a MAC), encodes, sends and waits for the matching answer. A missing
    /// or wrong response MAC counts as no answer.
    fn exchange(&mut self, pending: &mut Pending) -> Result<Option<Vec<u8>>, Error> {
        if let Some(ksn) = &pending.ksn {
            pending.message.set_text(de::KSN, &ksn.to_string())?;
        }
        if self.state.mac_required {
            let ksn = pending.ksn.as_ref().ok_or(Error::Input("no KSN".into()))?;
            let key = variant_key(&self.keys.transaction_key(ksn)?, KeyVariant::MacRequest);
            let mut buffer = [0u8; MESSAGE_LEN_MAX];
            let input = pending.message.mac_input(&mut buffer)?;
            let mac = mac::retail_mac(&key, input, Padding::Method1)?;
            pending.message.set(de::MAC, &mac)?;
        }
        let mut wire = vec![0u8; MESSAGE_LEN_MAX + 2];
        let len = pending.message.encode_framed(&mut wire)?;
        self.link.send(wire.get(..len).unwrap_or_default())?;
        let stan: u32 = pending.stan.parse().unwrap_or(0);
        let answer = self
            .link
            .receive(stan, &self.state.tid, self.config.response_timeout);
        Ok(answer.filter(|body| self.answer_valid(pending, body)))
    }

    fn answer_valid(&mut self, pending: &Pending, body: &[u8]) -> bool {
        let Ok(message) = Message::decode(&ISO87, body) else {
            return false;
        };
        if message.mti() != pending.message.mti().response() || message.response_code().is_none() {
            return false;
        }
        if !self.state.mac_required {
            return true;
        }
        let (Some(ksn), Some(input), Some(received)) =
            (&pending.ksn, message.mac_input(), message.mac())
        else {
            return false;
        };
        let Ok(transaction_key) = self.keys.transaction_key(ksn) else {
            return false;
        };
        let key = variant_key(&transaction_key, KeyVariant::MacResponse);
        mac::verify_retail_mac(&key, input, Padding::Method1, received).unwrap_or(false)
    }

    /// 0500 batch settlement with the terminal's own totals; on any 0510 the
    /// next batch opens (the host closed this one either way).
    ///
    /// # Errors
    /// As [`Terminal::echo`].
    pub fn settle(&mut self) -> Result<Outcome, Error> {
        self.send_reversals()?;
        let (mut pending, _) = self.start("0500", false)?;
        let totals = self.state.totals;
        let unsigned = |amount: i64| u64::try_from(amount).unwrap_or(0);
        pending
            .message
            .set_text(de::PROCESSING_CODE, "920000")?
            .set_text(de::TRANSMISSION_DATE_TIME, &pending.transmission)?
            .set_text(de::STAN, &pending.stan)?
            .set_text(de::TERMINAL_ID, &self.state.tid)?
            .set_text(de::MERCHANT_ID, &self.state.mid)?
            .set_text(de::BATCH_NUMBER, &self.state.batch_field())?
            .set_number(de::CREDITS_NUMBER, totals.credit_count)?
            .set_number(de::DEBITS_NUMBER, totals.debit_count)?
            .set_number(de::CREDITS_AMOUNT, unsigned(totals.credit_amount_minor))?
            .set_number(de::DEBITS_AMOUNT, unsigned(totals.debit_amount_minor))?;
        self.persist()?;
        let answer = self.exchange(&mut pending)?;
        let mut outcome = self.outcome("settle", &pending, answer.as_deref(), 0);
        outcome.batch = self.state.batch_field();
        outcome.terminal_totals = Some(totals);
        if answer.is_some() {
            self.state.close_batch();
            self.persist()?;
        }
        Ok(outcome)
    }

    /// Sends the queued reversals, oldest first: 0400 the first time, 0420
    /// for every repeat; an answered one leaves the queue. Stops at the
    /// first that gets no answer (it stays queued for the next try).
    ///
    /// # Errors
    /// [`Error::Connect`] when the host cannot be reached; [`Error::State`].
    pub fn send_reversals(&mut self) -> Result<ReversalReport, Error> {
        let mut report = ReversalReport::default();
        while let Some(queued) = self.state.reversals.first().cloned() {
            let (mut pending, _) = self.start(queued.mti(), false)?;
            pending
                .message
                .set_text(de::PROCESSING_CODE, &queued.processing_code)?
                .set_number(de::AMOUNT, u64::try_from(queued.amount_minor).unwrap_or(0))?
                .set_text(de::TRANSMISSION_DATE_TIME, &pending.transmission)?
                .set_text(de::STAN, &pending.stan)?
                .set_text(de::TERMINAL_ID, &self.state.tid)?
                .set_text(de::MERCHANT_ID, &self.state.mid)?
                .set_number(de::CURRENCY_CODE, u64::from(self.config.currency))?
                .set_text(de::ORIGINAL_DATA, &queued.original_data())?;
            // Counted before it leaves: after a crash it is repeated as 0420.
            if let Some(first) = self.state.reversals.first_mut() {
                first.attempts += 1;
            }
            self.persist()?;
            let answer = match self.exchange(&mut pending) {
                Ok(answer) => answer,
                Err(error) => {
                    // Not sent after all: the next try is still a first one.
                    if let Some(first) = self.state.reversals.first_mut() {
                        first.attempts -= 1;
                    }
                    self.persist()?;
                    return Err(error);
                }
            };
            report.sent += 1;
            if answer.is_none() {
                break;
            }
            self.state.reversals.remove(0);
            self.persist()?;
            report.answered += 1;
        }
        report.pending = self.state.reversals.len();
        Ok(report)
    }
}

/// Tag 9C from DE 3: its first two digits as one BCD byte.
fn transaction_type(processing_code: &str) -> u8 {
    let digits = processing_code.as_bytes();
    match (digits.first(), digits.get(1)) {
        (Some(high), Some(low)) => ((high - b'0') << 4) | (low - b'0'),
        _ => 0,
    }
}
