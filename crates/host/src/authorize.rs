//! The authorization state machine over [`HostState`]: from a request and
//! the outcomes of its cryptography (checked before), the answer, the
//! records to write and the ledger transfers — committed together by the
//! caller, applied to the state only after the commit. Business rules are
//! `domain`'s; this module translates between them and the records.

use domain::batch::{BatchSide, BatchTotals};
use domain::benefits::{ProgramRules, PurchaseBenefits};
use domain::issuing::{
    self, AuthKind, CardStatus, CryptogramCheck, IssuedCard, OnUsRequest, PinCheck,
};
use domain::lifecycle::{self, Original, OriginalKind, OriginalState};
use domain::routing::{CardProduct, Route};
use domain::{AmountMinor, Currency, ResponseCode, YearMonth};
use ledger::{AccountId, NewTransfer, TransferFlags, TransferId};

use crate::records::{AnswerRecord, BatchRecord, CardRecord, Record, TransactionRecord};
use crate::request::Request;
use crate::seed::{LEDGER_CNY, LEDGER_CODE, NETWORK_ACCOUNT, PROGRAM_ACCOUNT};
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

struct Context<'a> {
    state: &'a HostState,
    request: &'a Request,
    today: YearMonth,
    program: Option<&'a ProgramRules>,
    participant: bool,
    rrn: String,
    rrn_number: u128,
    certification: bool,
    merchant_account: u128,
}

/// Decides a request of a known, active terminal whose MAC (if any) verified.
/// `today` is the current month in the platform's time zone.
#[must_use]
pub fn decide(
    state: &HostState,
    request: &Request,
    card: Option<&CardFacts>,
    today: YearMonth,
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
        today,
        program,
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
        match request.kind {
            RequestKind::Sale | RequestKind::PreAuthorization | RequestKind::BalanceInquiry => {
                match card {
                    Some(card) => self.authorization(card),
                    None => self.declined(ResponseCode::InvalidCardNumber),
                }
            }
            RequestKind::Void => self.void(),
            RequestKind::Refund => self.refund(card),
            RequestKind::Completion => self.completion(),
            RequestKind::Reversal | RequestKind::ReversalAdvice => self.reversal(),
            RequestKind::BatchSettlement => self.settlement(),
            RequestKind::SignOn | RequestKind::SignOff | RequestKind::Echo => {
                plain(ResponseCode::Approved)
            }
        }
    }

    fn transaction(&self, kind: &str, code: ResponseCode) -> TransactionRecord {
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
    fn declined(&self, code: ResponseCode) -> Decision {
        let mut decision = Decision::code(code);
        if self.request.kind.is_financial() {
            decision.records.push(Record::Transaction(
                self.transaction(self.kind_name(), code),
            ));
        }
        decision
    }

    /// An approval with its transaction record and transfers.
    fn approved(
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

    fn transfer_id(&self, slot: u128) -> TransferId {
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
        let decision = issuing::decide(
            &issued,
            &OnUsRequest {
                kind,
                amount: benefits.map_or(request.amount, |b| b.paid),
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
        if !decision.code.is_approved() {
            let mut declined = self.declined(decision.code);
            if card.pin_failures != record.pin_failures {
                declined.records.push(Record::Card(card));
            }
            return declined;
        }
        card.available -= decision.spend.0;
        let mut transfers = Vec::new();
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
                if let Some(benefits) = benefits {
                    return self.benefit_sale(txn, card, benefits);
                }
                transfers.push(self.capture(record.account, request.amount));
            }
            AuthKind::PreAuthorization => {
                let hold = self.hold(record.account, request.amount);
                txn.pending_transfer = hold.id.0;
                transfers.push(hold);
            }
        }
        self.approved(txn, vec![Record::Card(card)], transfers)
    }

    /// The program's benefits of a sale on a card of the program.
    fn benefits(&self, card: &CardRecord) -> Option<PurchaseBenefits> {
        let program = self.program.filter(|p| p.code == card.program)?;
        (self.request.kind == RequestKind::Sale)
            .then(|| program.purchase(self.request.amount, self.participant))
    }

    /// A sale with benefits: the card pays PAID, the program funds DISC, the
    /// merchant gets the full amount (linked transfers); DE 63 reports it.
    fn benefit_sale(
        &self,
        mut txn: TransactionRecord,
        mut card: CardRecord,
        benefits: PurchaseBenefits,
    ) -> Decision {
        txn.discount = benefits.discount.0;
        txn.points = benefits.points;
        card.points = card.points.saturating_add(benefits.points);
        let transfers = split_transfers(
            [self.transfer_id(0), self.transfer_id(1)],
            (card.account, benefits.paid),
            (PROGRAM_ACCOUNT, benefits.discount),
            self.merchant_account,
            true,
        );
        let field = BenefitsField {
            program: card.program.clone(),
            discount: benefits.discount,
            paid: benefits.paid,
            points: benefits.points,
            balance: card.points,
        };
        let mut approved = self.approved(txn, vec![Record::Card(card)], transfers);
        approved.answer.benefits = field.format();
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
        let transfer = if request.kind == RequestKind::PreAuthorization {
            let hold = self.hold(NETWORK_ACCOUNT, request.amount);
            txn.pending_transfer = hold.id.0;
            hold
        } else {
            self.capture(NETWORK_ACCOUNT, request.amount)
        };
        self.approved(txn, Vec::new(), vec![transfer])
    }

    fn capture(&self, payer: u128, amount: AmountMinor) -> NewTransfer {
        let mut transfer = new_transfer(self.transfer_id(0), payer, self.merchant_account, amount);
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
    fn original(&self) -> Option<&TransactionRecord> {
        let rrn = self.request.rrn.as_deref()?;
        self.state
            .transactions
            .get(rrn)
            .filter(|t| t.mid == self.request.mid)
    }

    fn void(&self) -> Decision {
        let Some(original) = self.original() else {
            return self.declined(ResponseCode::OriginalNotFound);
        };
        if let Err(code) = lifecycle::check_void(&self.lifecycle(original), self.request.amount) {
            return self.declined(code);
        }
        let mut voided = original.clone();
        voided.state = "voided".to_owned();
        let mut txn = self.transaction("void", ResponseCode::Approved);
        txn.original = original.rrn.clone();
        txn.route = original.route.clone();
        let back = reverse_capture(original, [self.transfer_id(0), self.transfer_id(1)]);
        let mut records = vec![Record::Transaction(voided)];
        records.extend(self.card_restore(original, 1));
        self.approved(txn, records, back)
    }

    fn refund(&self, _card: Option<&CardFacts>) -> Decision {
        let Some(original) = self.original() else {
            return self.declined(ResponseCode::OriginalNotFound);
        };
        if let Err(code) = lifecycle::check_refund(&self.lifecycle(original), self.request.amount) {
            return self.declined(code);
        }
        let mut refunded = original.clone();
        refunded.refunded += self.request.amount.0;
        let mut txn = self.transaction("refund", ResponseCode::Approved);
        txn.original = original.rrn.clone();
        txn.route = original.route.clone();
        txn.token = original.token.clone();
        txn.payer_account = original.payer_account;
        // The card gets back what it paid first; the rest goes to the program.
        let paid = original.amount - original.discount;
        let card_share =
            (original.refunded + self.request.amount.0).min(paid) - original.refunded.min(paid);
        txn.discount = self.request.amount.0 - card_share;
        let back = split_transfers(
            [self.transfer_id(0), self.transfer_id(1)],
            (original.payer_account, AmountMinor(card_share)),
            (PROGRAM_ACCOUNT, AmountMinor(txn.discount)),
            original.merchant_account,
            false,
        );
        let mut records = vec![Record::Transaction(refunded)];
        records.extend(self.card_credit(original, card_share));
        self.approved(txn, records, back)
    }

    fn completion(&self) -> Decision {
        let Some(original) = self.original() else {
            return self.declined(ResponseCode::OriginalNotFound);
        };
        if self.request.auth_code.as_deref() != Some(original.auth_code.as_str()) {
            return self.declined(ResponseCode::OriginalNotFound);
        }
        if let Err(code) =
            lifecycle::check_completion(&self.lifecycle(original), self.request.amount)
        {
            return self.declined(code);
        }
        let mut completed = original.clone();
        completed.state = "completed".to_owned();
        let mut txn = self.transaction("completion", ResponseCode::Approved);
        txn.original = original.rrn.clone();
        txn.route = original.route.clone();
        txn.token = original.token.clone();
        txn.payer_account = original.payer_account;
        let mut post = new_transfer(
            self.transfer_id(0),
            original.payer_account,
            original.merchant_account,
            self.request.amount,
        );
        post.flags = TransferFlags::POST_PENDING;
        post.pending_id = TransferId(original.pending_transfer);
        let mut records = vec![Record::Transaction(completed)];
        // The part of the hold not completed becomes available again.
        records.extend(self.card_credit(original, original.amount - self.request.amount.0));
        self.approved(txn, records, vec![post])
    }

    /// The on-us card of a sale with what it paid and the points it earned
    /// given back (`direction` 1) or taken again (`direction` -1).
    fn card_restore(&self, sale: &TransactionRecord, direction: i64) -> Option<Record> {
        let mut card = self.state.cards.get(&sale.token)?.clone();
        card.available += direction * (sale.amount - sale.discount);
        card.points = if direction > 0 {
            card.points.saturating_sub(sale.points)
        } else {
            card.points.saturating_add(sale.points)
        };
        Some(Record::Card(card))
    }

    /// The on-us card of `original` with `amount` more available.
    fn card_credit(&self, original: &TransactionRecord, amount: i64) -> Option<Record> {
        let mut card = self.state.cards.get(&original.token)?.clone();
        card.available += amount;
        Some(Record::Card(card))
    }

    fn lifecycle(&self, original: &TransactionRecord) -> Original {
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
            refunded: AmountMinor(original.refunded),
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
        if original.state != "approved" {
            return decision;
        }
        let (mut records, transfers) = self.undo(original);
        decision.records.append(&mut records);
        decision.transfers = transfers;
        decision
    }

    /// Undoes an approved original: its records and transfers. Transfer ids
    /// derive from the original's RRN, so the undo happens once.
    fn undo(&self, original: &TransactionRecord) -> (Vec<Record>, Vec<NewTransfer>) {
        let base = original.rrn.parse::<u128>().unwrap_or(0) << 8;
        let mut reversed = original.clone();
        reversed.state = "reversed".to_owned();
        let amount = AmountMinor(original.amount);
        let mut records = vec![Record::Transaction(reversed)];
        let mut transfers = Vec::new();
        match original.kind.as_str() {
            "sale" | "completion" => {
                transfers =
                    reverse_capture(original, [TransferId(base | 0x80), TransferId(base | 0x81)]);
                records.extend(self.card_restore(original, 1));
            }
            "preauth" => {
                let mut void = new_transfer(
                    TransferId(base | 0x80),
                    original.payer_account,
                    original.merchant_account,
                    amount,
                );
                void.flags = TransferFlags::VOID_PENDING;
                void.pending_id = TransferId(original.pending_transfer);
                transfers.push(void);
                records.extend(self.card_credit(original, original.amount));
            }
            "refund" => {
                let card_share = original.amount - original.discount;
                transfers = split_transfers(
                    [TransferId(base | 0x80), TransferId(base | 0x81)],
                    (original.payer_account, AmountMinor(card_share)),
                    (PROGRAM_ACCOUNT, AmountMinor(original.discount)),
                    original.merchant_account,
                    true,
                );
                records.extend(self.card_credit(original, -card_share));
                if let Some(sale) = self.state.transactions.get(&original.original) {
                    let mut sale = sale.clone();
                    sale.refunded -= original.amount;
                    records.push(Record::Transaction(sale));
                }
            }
            "void" => {
                // The voided sale is in force again: captured once more.
                if let Some(sale) = self.state.transactions.get(&original.original) {
                    transfers = split_transfers(
                        [TransferId(base | 0x80), TransferId(base | 0x81)],
                        (sale.payer_account, AmountMinor(sale.amount - sale.discount)),
                        (PROGRAM_ACCOUNT, AmountMinor(sale.discount)),
                        sale.merchant_account,
                        true,
                    );
                    records.extend(self.card_restore(sale, -1));
                    let mut sale = sale.clone();
                    sale.state = "approved".to_owned();
                    records.push(Record::Transaction(sale));
                }
            }
            _ => {}
        }
        (records, transfers)
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
                    "terminal={}/{}/{}/{};host={}/{}/{}/{}",
                    terminal_totals.debit_count,
                    terminal_totals.debit_amount.0,
                    terminal_totals.credit_count,
                    terminal_totals.credit_amount.0,
                    host.debit_count,
                    host.debit_amount.0,
                    host.credit_count,
                    host.credit_amount.0
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

/// Money from a payer and the program to `merchant` (`towards_merchant`),
/// or back from the merchant to them: linked, only the non-zero legs.
fn split_transfers(
    ids: [TransferId; 2],
    payer: (u128, AmountMinor),
    program: (u128, AmountMinor),
    merchant: u128,
    towards_merchant: bool,
) -> Vec<NewTransfer> {
    let mut transfers: Vec<NewTransfer> = [(ids[0], payer), (ids[1], program)]
        .into_iter()
        .filter(|(_, (_, amount))| amount.0 > 0)
        .map(|(id, (account, amount))| {
            if towards_merchant {
                new_transfer(id, account, merchant, amount)
            } else {
                new_transfer(id, merchant, account, amount)
            }
        })
        .collect();
    if let [first, _second] = transfers.as_mut_slice() {
        first.flags = TransferFlags::LINKED;
    }
    transfers
}

/// Gives back a captured sale: the card its PAID, the program its DISC.
fn reverse_capture(original: &TransactionRecord, ids: [TransferId; 2]) -> Vec<NewTransfer> {
    split_transfers(
        ids,
        (
            original.payer_account,
            AmountMinor(original.amount - original.discount),
        ),
        (PROGRAM_ACCOUNT, AmountMinor(original.discount)),
        original.merchant_account,
        false,
    )
}

fn new_transfer(id: TransferId, debit: u128, credit: u128, amount: AmountMinor) -> NewTransfer {
    NewTransfer::new(
        id,
        AccountId(debit),
        AccountId(credit),
        u64::try_from(amount.0).unwrap_or(0),
        LEDGER_CNY,
        LEDGER_CODE,
    )
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
