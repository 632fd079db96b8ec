//! The authorization state machine over [`HostState`]: from a request and
//! the outcomes of its cryptography (checked before), the answer, the
//! records to write and the ledger transfers — committed together by the
//! caller, applied to the state only after the commit. Business rules are
//! `domain`'s; this module translates between them and the records.

use domain::batch::{BatchSide, BatchTotals};
use domain::benefits::{ProgramRules, PurchaseBenefits};
use domain::fees::Channel;
use domain::issuing::{
    self, AuthKind, CardStatus, CryptogramCheck, IssuedCard, OnUsRequest, PinCheck,
};
use domain::lifecycle::{Original, OriginalKind, OriginalState};
use domain::routing::{CardProduct, Route};
use domain::{AmountMinor, Currency, ResponseCode, YearMonth};
use ledger::{NewTransfer, TransferFlags, TransferId};
use store::SettlementItem;

use crate::capture::{Charges, Payment, channel_of, new_transfer, payment_transfers};
use crate::records::{
    AnswerRecord, BatchRecord, CardRecord, MerchantRecord, Record, TransactionRecord,
};
use crate::request::Request;
use crate::seed::NETWORK_ACCOUNT;
use crate::state::{HostState, answer_key, request_key};
use crate::wire::{BenefitsField, RequestKind, format_available_balance};

/// How long a pre-authorization hold lasts before it expires, in seconds.
pub const HOLD_TIMEOUT_S: u32 = 7 * 24 * 3600;

/// What the host learnt about the card before deciding.
#[derive(Debug, Clone)]
pub struct CardFacts {
    /// Where the BIN routes (`None`: unknown BIN or bad Luhn → `14`).
    pub route: Option<Route>,
    /// Vault token of the PAN.
    pub token: String,
    /// Masked PAN.
    pub masked: String,
    /// PIN outcome.
    pub pin: PinCheck,
    /// ARQC outcome.
    pub cryptogram: CryptogramCheck,
    /// The network's answer for off-us sale / pre-authorization.
    pub network: Option<ResponseCode>,
}

/// The host's decision on one request.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// The response fields.
    pub answer: AnswerRecord,
    /// Records to write (empty: nothing changes).
    pub records: Vec<Record>,
    /// Ledger transfers, committed with the records.
    pub transfers: Vec<NewTransfer>,
    /// DE 74/76/86/88 of a 0510 out of balance.
    pub host_totals: Option<BatchTotals>,
    /// Settlement items, committed with the records (see `capture`).
    pub items: Vec<SettlementItem>,
}

impl Decision {
    fn code(code: ResponseCode) -> Decision {
        Decision {
            answer: AnswerRecord {
                code: code.as_str().to_owned(),
                ..AnswerRecord::default()
            },
            ..Decision::default()
        }
    }
}

/// A decision that changes nothing and is not remembered.
#[must_use]
pub fn plain(code: ResponseCode) -> Decision {
    Decision::code(code)
}

/// What one decision works with.
pub(crate) struct Context<'a> {
    pub(crate) state: &'a HostState,
    pub(crate) request: &'a Request,
    pub(crate) today: YearMonth,
    pub(crate) now_s: i64,
    pub(crate) program: Option<&'a ProgramRules>,
    pub(crate) merchant: Option<&'a MerchantRecord>,
    pub(crate) participant: bool,
    pub(crate) rrn: String,
    pub(crate) rrn_number: u128,
    pub(crate) certification: bool,
    pub(crate) merchant_account: u128,
}

/// When a request is decided.
#[derive(Clone, Copy, Debug)]
pub struct DecisionTime {
    /// The current month in the platform's time zone (card expiry).
    pub today: YearMonth,
    /// Now, seconds since the Unix epoch (business dates, records).
    pub now_s: i64,
}

/// Decides a request of a known, active terminal whose MAC (if any) verified.
#[must_use]
pub fn decide(
    state: &HostState,
    request: &Request,
    card: Option<&CardFacts>,
    time: DecisionTime,
    program: Option<&ProgramRules>,
) -> Decision {
    let key = answer_key(&request.tid, request.stan, request.transmission);
    if let Some(answer) = state.answers.get(&key) {
        return Decision {
            answer: answer.clone(),
            ..Decision::default()
        };
    }
    if let Some(ksn) = &request.ksn {
        if state.ksn_usage.get(ksn).is_some_and(|used| *used != key) {
            return plain(ResponseCode::SecurityViolation);
        }
    }
    let Some(terminal) = state.terminals.get(&request.tid) else {
        return plain(ResponseCode::NotPermittedToTerminal);
    };
    let merchant = state.merchants.get(&terminal.mid);
    let rrn_number = u128::from(state.next_rrn);
    let mut context = Context {
        state,
        request,
        today: time.today,
        now_s: time.now_s,
        program,
        merchant,
        participant: merchant.is_some_and(|m| m.participant),
        rrn: format!("{:012}", state.next_rrn),
        rrn_number,
        certification: merchant.is_some_and(|m| m.stage == "certification"),
        merchant_account: merchant.map_or(0, |m| m.account),
    };
    let mut decision = match merchant {
        _ if request.mid != terminal.mid => context.declined(ResponseCode::InvalidMerchant),
        None => context.declined(ResponseCode::InvalidMerchant),
        Some(m) if m.stage != "live" && m.stage != "certification" => {
            context.declined(ResponseCode::NotPermittedToTerminal)
        }
        Some(_) => context.by_kind(card),
    };
    let network_approved = card.and_then(|c| c.network) == Some(ResponseCode::Approved);
    if network_approved && decision.answer.code != ResponseCode::Approved.as_str() {
        // The network approved what the host declines: owe it a reversal.
        decision.records.push(Record::NetworkReversal(
            context.rrn.clone(),
            format!("reason=declined_by_host;code={}", decision.answer.code),
        ));
    }
    decision.answer.rrn = context.rrn.clone();
    decision
        .records
        .push(Record::Answer(key.clone(), decision.answer.clone()));
    if let Some(ksn) = &request.ksn {
        decision.records.push(Record::KsnUse(ksn.clone(), key));
    }
    decision
}

impl Context<'_> {
    fn by_kind(&mut self, card: Option<&CardFacts>) -> Decision {
        let request = self.request;
        if let Some(batch) = request.batch {
            if self.state.batch_closed(&request.tid, batch)
                && request.kind != RequestKind::BatchSettlement
            {
                return self.declined(ResponseCode::InvalidTransaction);
            }
        }
        let own_key = request_key(
            &request.tid,
            &request.mti,
            request.stan,
            request.transmission,
        );
        if request.kind.is_financial() && self.state.reversals.contains_key(&own_key) {
            return self.declined(ResponseCode::Duplicate);
        }
        let spends = matches!(
            request.kind,
            RequestKind::Sale
                | RequestKind::PreAuthorization
                | RequestKind::Refund
                | RequestKind::Completion
        );
        if spends && request.amount <= AmountMinor::ZERO {
            return self.declined(ResponseCode::InvalidAmount);
        }
        let captures = matches!(
            request.kind,
            RequestKind::Sale | RequestKind::Refund | RequestKind::Completion
        );
        if let (true, Err(code)) = (captures, self.fee_plan()) {
            // A capture whose fee cannot be computed is not taken.
            return self.declined(code);
        }
        match request.kind {
            RequestKind::Sale | RequestKind::PreAuthorization | RequestKind::BalanceInquiry => {
                match card {
                    Some(card) => self.authorization(card),
                    None => self.declined(ResponseCode::InvalidCardNumber),
                }
            }
            RequestKind::Void => self.void(),
            RequestKind::Refund => self.refund(),
            RequestKind::Completion => self.completion(),
            RequestKind::Reversal | RequestKind::ReversalAdvice => self.reversal(),
            RequestKind::BatchSettlement => self.settlement(),
            RequestKind::SignOn | RequestKind::SignOff | RequestKind::Echo => {
                plain(ResponseCode::Approved)
            }
        }
    }

    pub(crate) fn transaction(&self, kind: &str, code: ResponseCode) -> TransactionRecord {
        let request = self.request;
        TransactionRecord {
            rrn: self.rrn.clone(),
            kind: kind.to_owned(),
            tid: request.tid.clone(),
            mid: request.mid.clone(),
            request_key: request_key(
                &request.tid,
                &request.mti,
                request.stan,
                request.transmission,
            ),
            token: String::new(),
            masked: request.pan.as_ref().map(|p| p.masked()).unwrap_or_default(),
            route: String::new(),
            amount: request.amount.0,
            code: code.as_str().to_owned(),
            auth_code: if code.is_approved() {
                self.auth_code()
            } else {
                String::new()
            },
            state: if code.is_approved() {
                "approved"
            } else {
                "declined"
            }
            .to_owned(),
            batch: request.batch.unwrap_or(0),
            refunded: 0,
            original: String::new(),
            certification: self.certification,
            payer_account: 0,
            merchant_account: self.merchant_account,
            pending_transfer: 0,
            discount: 0,
            points: 0,
            redeemed: 0,
            redeemed_value: 0,
            fee: 0,
            fee_share: 0,
            channel: String::new(),
            program: String::new(),
            at_s: self.now_s,
        }
    }

    fn auth_code(&self) -> String {
        format!("{:06}", self.rrn_number % 1_000_000)
    }

    fn kind_name(&self) -> &'static str {
        match self.request.kind {
            RequestKind::Sale => "sale",
            RequestKind::PreAuthorization => "preauth",
            RequestKind::BalanceInquiry => "balance",
            RequestKind::Void => "void",
            RequestKind::Refund => "refund",
            RequestKind::Completion => "completion",
            RequestKind::Reversal | RequestKind::ReversalAdvice => "reversal",
            RequestKind::BatchSettlement => "settlement",
            RequestKind::SignOn | RequestKind::SignOff | RequestKind::Echo => "network",
        }
    }

    /// A recorded decline (a transaction row with the code, nothing else).
    pub(crate) fn declined(&self, code: ResponseCode) -> Decision {
        let mut decision = Decision::code(code);
        if self.request.kind.is_financial() {
            decision.records.push(Record::Transaction(
                self.transaction(self.kind_name(), code),
            ));
        }
        decision
    }

    /// An approval with its transaction record and transfers.
    pub(crate) fn approved(
        &self,
        txn: TransactionRecord,
        mut extra: Vec<Record>,
        transfers: Vec<NewTransfer>,
    ) -> Decision {
        let mut decision = Decision::code(ResponseCode::Approved);
        decision.answer.auth_code = txn.auth_code.clone();
        decision.records.push(Record::Transaction(txn));
        decision.records.append(&mut extra);
        decision.transfers = transfers;
        self.open_batch(&mut decision);
        decision
    }

    fn open_batch(&self, decision: &mut Decision) {
        if let Some(number) = self.request.batch {
            let key = format!("{}/{number:06}", self.request.tid);
            if !self.state.batches.contains_key(&key) {
                decision.records.push(Record::Batch(BatchRecord {
                    tid: self.request.tid.clone(),
                    number,
                    closed: false,
                }));
            }
        }
    }

    pub(crate) fn transfer_id(&self, slot: u128) -> TransferId {
        TransferId((self.rrn_number << 8) | slot)
    }

    fn authorization(&self, card: &CardFacts) -> Decision {
        match &card.route {
            None => self.declined(ResponseCode::InvalidCardNumber),
            Some(Route::OnUs { .. }) => match self.state.cards.get(&card.token) {
                Some(record) => self.on_us(card, record),
                None => self.declined(ResponseCode::InvalidCardNumber),
            },
            Some(Route::Network { .. }) => self.off_us(card),
        }
    }

    fn on_us(&self, facts: &CardFacts, record: &CardRecord) -> Decision {
        let request = self.request;
        let kind = match request.kind {
            RequestKind::PreAuthorization => AuthKind::PreAuthorization,
            RequestKind::BalanceInquiry => AuthKind::BalanceInquiry,
            _ => AuthKind::Purchase,
        };
        let Some(issued) = issued_card(record) else {
            return self.declined(ResponseCode::ExpiredCard);
        };
        let benefits = self.benefits(record);
        let charged = benefits.map_or(request.amount, |b| b.paid);
        // A sale paid wholly with points and the discount spends nothing of
        // the card: the issuer checks the card (status, expiry, PIN,
        // cryptogram) as for an inquiry.
        let check = if kind == AuthKind::Purchase && charged == AmountMinor::ZERO {
            AuthKind::BalanceInquiry
        } else {
            kind
        };
        let decision = issuing::decide(
            &issued,
            &OnUsRequest {
                kind: check,
                amount: charged,
                expiry: request.expiry.unwrap_or(issued.expiry),
                today: self.today,
                pin: facts.pin,
                cryptogram: facts.cryptogram,
            },
        );
        let mut card = record.clone();
        card.pin_failures = decision.pin_failures;
        let mut txn = self.transaction(self.kind_name(), decision.code);
        txn.token = record.token.clone();
        txn.route = "onus".to_owned();
        txn.payer_account = record.account;
        txn.channel = channel_of(issued.product).as_str().to_owned();
        txn.program = record.program.clone();
        if !decision.code.is_approved() {
            let mut declined = self.declined(decision.code);
            if card.pin_failures != record.pin_failures {
                declined.records.push(Record::Card(card));
            }
            return declined;
        }
        card.available -= decision.spend.0;
        let mut transfers = Vec::new();
        let mut items = Vec::new();
        match kind {
            AuthKind::BalanceInquiry => {
                let mut approved = self.approved(txn, vec![Record::Card(card.clone())], Vec::new());
                approved.answer.additional_amounts = format_available_balance(
                    issued.product,
                    Currency::CNY,
                    AmountMinor(card.available),
                );
                return approved;
            }
            AuthKind::Purchase => {
                let charges =
                    self.capture_charges(channel_of(issued.product), request.amount, &card.program);
                if let Some(benefits) = benefits {
                    return self.benefit_sale(txn, card, benefits, charges);
                }
                transfers.push(self.capture(record.account, request.amount));
                let (posted, item) = self.post_capture(&mut txn, charges);
                transfers.extend(posted);
                items.extend(item);
            }
            AuthKind::PreAuthorization => {
                let hold = self.hold(record.account, request.amount);
                txn.pending_transfer = hold.id.0;
                transfers.push(hold);
            }
        }
        let mut approved = self.approved(txn, vec![Record::Card(card)], transfers);
        approved.items = items;
        approved
    }

    /// The program's benefits of a sale on a card of the program: with the
    /// card's points redeemed when the card is set to pay with points (only
    /// at participating merchants; see `capture`).
    fn benefits(&self, card: &CardRecord) -> Option<PurchaseBenefits> {
        let program = self.program.filter(|p| p.code == card.program)?;
        let offered = if card.redeem_points { card.points } else { 0 };
        (self.request.kind == RequestKind::Sale)
            .then(|| program.purchase_with_points(self.request.amount, self.participant, offered))
    }

    /// A sale with benefits: the card pays PAID, the program funds DISC and
    /// the value of the points redeemed, the merchant gets the full amount,
    /// the points redeemed go to points issuance (one linked chain), the
    /// card's points account earns PTS; DE 63 reports it.
    fn benefit_sale(
        &self,
        mut txn: TransactionRecord,
        mut card: CardRecord,
        benefits: PurchaseBenefits,
        charges: Charges,
    ) -> Decision {
        txn.discount = benefits.discount.0;
        txn.redeemed = benefits.redeemed_points;
        txn.redeemed_value = benefits.redeemed_value.0;
        card.points = card
            .points
            .saturating_sub(benefits.redeemed_points)
            .saturating_add(benefits.points);
        let charges = Charges {
            points: benefits.points,
            ..charges
        };
        let mut transfers = payment_transfers(
            self.rrn_number << 8,
            card.account,
            self.merchant_account,
            card.account,
            Payment::of(&txn),
            true,
        );
        let (posted, item) = self.post_capture(&mut txn, charges);
        transfers.extend(posted);
        let field = BenefitsField {
            program: card.program.clone(),
            discount: benefits.discount,
            paid: benefits.paid,
            points: benefits.points,
            balance: card.points,
        };
        let mut approved = self.approved(txn, vec![Record::Card(card)], transfers);
        approved.answer.benefits = field.format();
        approved.items.extend(item);
        approved
    }

    fn off_us(&self, facts: &CardFacts) -> Decision {
        let request = self.request;
        if request.kind == RequestKind::BalanceInquiry {
            return self.declined(ResponseCode::NotPermittedToCardholder);
        }
        let code = facts.network.unwrap_or(ResponseCode::IssuerInoperative);
        let mut txn = self.transaction(self.kind_name(), code);
        txn.route = "network".to_owned();
        txn.payer_account = NETWORK_ACCOUNT;
        if let Some(Route::Network { product, .. }) = &facts.route {
            txn.channel = channel_of(*product).as_str().to_owned();
        }
        if !code.is_approved() {
            let mut declined = self.declined(code);
            if code == ResponseCode::IssuerInoperative {
                declined.records.push(Record::NetworkReversal(
                    self.rrn.clone(),
                    format!("reason=timeout;masked={}", facts.masked),
                ));
            }
            return declined;
        }
        if request.kind == RequestKind::PreAuthorization {
            let hold = self.hold(NETWORK_ACCOUNT, request.amount);
            txn.pending_transfer = hold.id.0;
            return self.approved(txn, Vec::new(), vec![hold]);
        }
        let charges = Channel::parse(&txn.channel).map_or(Charges::default(), |channel| {
            self.capture_charges(channel, request.amount, "")
        });
        let mut transfers = vec![self.capture(NETWORK_ACCOUNT, request.amount)];
        let (posted, item) = self.post_capture(&mut txn, charges);
        transfers.extend(posted);
        let mut approved = self.approved(txn, Vec::new(), transfers);
        approved.items.extend(item);
        approved
    }

    fn capture(&self, payer: u128, amount: AmountMinor) -> NewTransfer {
        let mut transfer =
            new_transfer(self.transfer_id(0), payer, self.merchant_account, amount.0);
        transfer.user_data = self.rrn_number;
        transfer
    }

    fn hold(&self, payer: u128, amount: AmountMinor) -> NewTransfer {
        let mut transfer = self.capture(payer, amount);
        transfer.flags = TransferFlags::PENDING;
        transfer.timeout_s = HOLD_TIMEOUT_S;
        transfer
    }

    /// The original named by DE 37, of this merchant.
    pub(crate) fn original(&self) -> Option<&TransactionRecord> {
        let rrn = self.request.rrn.as_deref()?;
        self.state
            .transactions
            .get(rrn)
            .filter(|t| t.mid == self.request.mid)
    }

    pub(crate) fn lifecycle(&self, original: &TransactionRecord) -> Original {
        Original {
            kind: match original.kind.as_str() {
                "preauth" => OriginalKind::PreAuthorization,
                "completion" => OriginalKind::Completion,
                "refund" => OriginalKind::Refund,
                "sale" => OriginalKind::Sale,
                // Anything else (a void, an inquiry) is no original for follow-ups.
                _ => OriginalKind::Refund,
            },
            state: match original.state.as_str() {
                "approved" => OriginalState::Approved,
                "voided" => OriginalState::Voided,
                "reversed" => OriginalState::Reversed,
                "completed" => OriginalState::Completed,
                _ => OriginalState::Declined,
            },
            amount: AmountMinor(original.amount),
            // Chargebacks gave money back too: none of it can be refunded
            // or voided again (see `chargebacks`).
            refunded: AmountMinor(
                original.refunded.saturating_add(
                    self.state
                        .charged_back
                        .get(&original.rrn)
                        .copied()
                        .unwrap_or(0),
                ),
            ),
            batch_closed: self.state.batch_closed(&original.tid, original.batch),
        }
    }

    fn reversal(&self) -> Decision {
        let request = self.request;
        let Some(data) = &request.original else {
            return plain(ResponseCode::FormatError);
        };
        let (stan, transmission) = (
            data.stan.parse::<u32>().unwrap_or(0),
            data.transmission.parse::<u64>().unwrap_or(0),
        );
        let key = request_key(&request.tid, &data.mti, stan, transmission);
        let mut decision = Decision::code(ResponseCode::Approved);
        if self.state.reversals.contains_key(&key) {
            return decision;
        }
        let original = self
            .state
            .by_request
            .get(&key)
            .and_then(|rrn| self.state.transactions.get(rrn));
        let Some(original) = original else {
            // Remembered: the late original is declined with 94.
            decision.records.push(Record::Reversal(key, String::new()));
            return decision;
        };
        decision
            .records
            .push(Record::Reversal(key, original.rrn.clone()));
        // Acknowledged, nothing undone: an original that is not approved,
        // one charged back (the chargeback gave its money back already;
        // see `chargebacks`), or one refunded in part (the refund proves
        // the terminal had the sale's answer, so the reversal is stale, and
        // undoing the whole sale would give back the refunded part twice).
        if original.state != "approved"
            || original.refunded > 0
            || self.state.charged_back.contains_key(&original.rrn)
        {
            return decision;
        }
        self.undo(original, &mut decision);
        decision
    }

    fn settlement(&self) -> Decision {
        let request = self.request;
        let (Some(number), Some(terminal_totals)) = (request.batch, request.totals) else {
            return plain(ResponseCode::FormatError);
        };
        let host = host_totals(self.state, &request.tid, number);
        let code = BatchTotals::reconcile(&terminal_totals, &host);
        let mut decision = Decision::code(code);
        decision.records.push(Record::Batch(BatchRecord {
            tid: request.tid.clone(),
            number,
            closed: true,
        }));
        if !code.is_approved() {
            decision.host_totals = Some(host);
            decision.records.push(Record::Exception(
                format!("{}/{number:06}", request.tid),
                format!(
                    "terminal={}/{}/{}/{};host={}/{}/{}/{};mid={};at={}",
                    terminal_totals.debit_count,
                    terminal_totals.debit_amount.0,
                    terminal_totals.credit_count,
                    terminal_totals.credit_amount.0,
                    host.debit_count,
                    host.debit_amount.0,
                    host.credit_count,
                    host.credit_amount.0,
                    request.mid,
                    self.now_s
                ),
            ));
        }
        decision
    }
}

/// The host's totals of a terminal batch: approved captures still in force
/// (voided and reversed excluded).
#[must_use]
pub fn host_totals(state: &HostState, tid: &str, batch: u32) -> BatchTotals {
    let mut totals = BatchTotals::default();
    for txn in state.transactions.values() {
        if txn.tid != tid
            || txn.batch != batch
            || txn.state != "approved" && txn.state != "completed"
        {
            continue;
        }
        let side = match (txn.kind.as_str(), txn.state.as_str()) {
            ("sale" | "completion", "approved") => BatchSide::Debit,
            ("refund", "approved") => BatchSide::Credit,
            _ => continue,
        };
        totals = totals.with(side, AmountMinor(txn.amount)).unwrap_or(totals);
    }
    totals
}

/// The issuer's view of a card record.
#[must_use]
pub fn issued_card(record: &CardRecord) -> Option<IssuedCard> {
    Some(IssuedCard {
        product: if record.product == "credit" {
            CardProduct::Credit
        } else {
            CardProduct::Debit
        },
        status: match record.status.as_str() {
            "lost" => CardStatus::Lost,
            "stolen" => CardStatus::Stolen,
            _ => CardStatus::Active,
        },
        expiry: YearMonth::parse_yymm(&record.expiry)?,
        available: AmountMinor(record.available),
        pin_failures: record.pin_failures,
    })
}
