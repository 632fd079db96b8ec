//! A decoded request's facts, owned and checked for the fields its kind
//! requires (host-interface.md sections 3 and 4). A request missing a
//! required field, or with an unusable one, gets `30`.

use cardsec::Pan;
use domain::YearMonth;
use domain::batch::BatchTotals;
use domain::{AmountMinor, Currency};
use iso8583::{Message, de};

use crate::wire::{EntryMode, OriginalData, RequestKind, parse_track2};

/// The facts of one request. `Debug` shows neither the PIN block nor the
/// ICC data; the PAN's own `Debug` is masked.
#[derive(Clone)]
pub struct Request {
    /// What it asks for.
    pub kind: RequestKind,
    /// MTI.
    pub mti: String,
    /// DE 41.
    pub tid: String,
    /// DE 42 (empty for 0800).
    pub mid: String,
    /// DE 11.
    pub stan: u32,
    /// DE 7.
    pub transmission: u64,
    /// DE 4 (zero when absent).
    pub amount: AmountMinor,
    /// DE 2 or the PAN of DE 35.
    pub pan: Option<Pan>,
    /// DE 14 or the expiry of DE 35.
    pub expiry: Option<YearMonth>,
    /// DE 22.
    pub entry: Option<EntryMode>,
    /// DE 37 (the original's RRN).
    pub rrn: Option<String>,
    /// DE 38 (the pre-authorization's code in a completion).
    pub auth_code: Option<String>,
    /// DE 60.
    pub batch: Option<u32>,
    /// DE 62.
    pub ksn: Option<String>,
    /// DE 52.
    pub pin_block: Option<[u8; 8]>,
    /// DE 55.
    pub icc: Option<Vec<u8>>,
    /// DE 90.
    pub original: Option<OriginalData>,
    /// DE 74/76/86/88 of a 0500.
    pub totals: Option<BatchTotals>,
    /// DE 64 present.
    pub has_mac: bool,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("kind", &self.kind)
            .field("mti", &self.mti)
            .field("tid", &self.tid)
            .field("mid", &self.mid)
            .field("stan", &self.stan)
            .field("amount", &self.amount)
            .field("pan", &self.pan.as_ref().map(Pan::masked))
            .field("pin_block", &self.pin_block.map(|_| "<redacted>"))
            .field("icc", &self.icc.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Why a request gets `30`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatError(pub &'static str);

fn need<T>(value: Option<T>, what: &'static str) -> Result<T, FormatError> {
    value.ok_or(FormatError(what))
}

impl Request {
    /// Reads and checks a decoded message. `Ok(None)` when the kind is not
    /// served (the caller answers `12`).
    ///
    /// # Errors
    /// [`FormatError`] naming the first missing or unusable field.
    pub fn parse(message: &Message<'_>) -> Result<Option<Request>, FormatError> {
        let mti = message.mti().as_str().to_owned();
        let processing = message.text(de::PROCESSING_CODE);
        let network = message.text(de::NETWORK_MANAGEMENT_CODE);
        let Some(kind) = RequestKind::classify(&mti, processing, network) else {
            return Ok(None);
        };
        let tid = need(message.terminal_id(), "DE 41")?.to_owned();
        let stan = need(message.stan(), "DE 11")?;
        let transmission = need(message.transmission_date_time(), "DE 7")?;
        let mid = match kind {
            RequestKind::SignOn | RequestKind::SignOff | RequestKind::Echo => String::new(),
            _ => need(message.merchant_id(), "DE 42")?.to_owned(),
        };
        let mut request = Request {
            kind,
            mti,
            tid,
            mid,
            stan,
            transmission,
            amount: AmountMinor(i64::try_from(message.amount_minor().unwrap_or(0)).unwrap_or(0)),
            pan: None,
            expiry: None,
            entry: None,
            rrn: message.rrn().map(|r| r.trim().to_owned()),
            auth_code: message.authorization_code().map(str::to_owned),
            batch: message
                .number(de::BATCH_NUMBER)
                .and_then(|b| u32::try_from(b).ok()),
            ksn: message.text(de::KSN).map(str::to_ascii_uppercase),
            pin_block: message.pin_block().copied(),
            icc: message.field(de::ICC_DATA).map(|v| v.as_bytes().to_vec()),
            original: None,
            totals: None,
            has_mac: message.has(de::MAC),
        };
        if (request.pin_block.is_some() || request.has_mac) && request.ksn.is_none() {
            return Err(FormatError("DE 62 required with DE 52 or DE 64"));
        }
        if kind.is_financial() {
            request.financial_fields(message)?;
        }
        match kind {
            RequestKind::Void | RequestKind::Refund => {
                need(request.rrn.as_ref(), "DE 37")?;
            }
            RequestKind::Completion => {
                need(request.rrn.as_ref(), "DE 37")?;
                need(request.auth_code.as_ref(), "DE 38")?;
            }
            RequestKind::Reversal | RequestKind::ReversalAdvice => {
                let text = need(message.text(de::ORIGINAL_DATA), "DE 90")?;
                request.original = Some(need(OriginalData::parse(text), "DE 90")?);
            }
            RequestKind::BatchSettlement => {
                need(request.batch, "DE 60")?;
                request.totals = Some(batch_totals(message)?);
            }
            _ => {}
        }
        Ok(Some(request))
    }

    fn financial_fields(&mut self, message: &Message<'_>) -> Result<(), FormatError> {
        for (field, what) in [
            (de::AMOUNT, "DE 4"),
            (de::LOCAL_TIME, "DE 12"),
            (de::LOCAL_DATE, "DE 13"),
            (de::POS_ENTRY_MODE, "DE 22"),
            (de::POS_CONDITION_CODE, "DE 25"),
            (de::CURRENCY_CODE, "DE 49"),
        ] {
            if !message.has(field) {
                return Err(FormatError(what));
            }
        }
        let currency = need(message.currency_code(), "DE 49")?;
        need(Currency::from_numeric(currency), "DE 49 currency")?;
        if self.kind != RequestKind::PreAuthorization
            && self.kind != RequestKind::BalanceInquiry
            && self.batch.is_none()
        {
            return Err(FormatError("DE 60"));
        }
        let entry = need(
            message.text(de::POS_ENTRY_MODE).and_then(EntryMode::parse),
            "DE 22",
        )?;
        if entry.requires_icc() && self.icc.is_none() {
            return Err(FormatError("DE 55 required for chip"));
        }
        self.entry = Some(entry);
        let (pan, expiry) = if let Some(track) = message.text(de::TRACK2) {
            let card = need(parse_track2(track), "DE 35")?;
            (card.pan, card.expiry)
        } else {
            let pan = need(message.text(de::PAN), "DE 2")?.to_owned();
            let expiry = need(message.text(de::EXPIRATION_DATE), "DE 14")?;
            (pan, need(YearMonth::parse_yymm(expiry), "DE 14")?)
        };
        self.pan = Some(Pan::new(&pan).map_err(|_| FormatError("PAN"))?);
        self.expiry = Some(expiry);
        Ok(())
    }
}

fn batch_totals(message: &Message<'_>) -> Result<BatchTotals, FormatError> {
    let number = |field, what| need(message.number(field), what);
    let amount = |field, what| -> Result<AmountMinor, FormatError> {
        let value = number(field, what)?;
        Ok(AmountMinor(need(i64::try_from(value).ok(), what)?))
    };
    Ok(BatchTotals {
        credit_count: number(de::CREDITS_NUMBER, "DE 74")?,
        credit_amount: amount(de::CREDITS_AMOUNT, "DE 86")?,
        debit_count: number(de::DEBITS_NUMBER, "DE 76")?,
        debit_amount: amount(de::DEBITS_AMOUNT, "DE 88")?,
    })
}
