//! Capture accounting: what a capture, a refund, and the undoing of either
//! post to the ledgers and to the settlement items, beside the money legs.
//!
//! At capture (an on-us sale approved, an off-us sale the network approved,
//! a completion) the host computes the merchant fee with `domain::fees` for
//! the merchant's fee plan, the channel of the card product (credit or
//! debit; the QR channels are priced by the plan but no QR capture exists
//! on the ISO path) and the merchant's MCC, and in the SAME request as the
//! transaction record posts:
//!
//! | slot | ledger | debit → credit | amount |
//! |---|---|---|---|
//! | 0, 1 | CNY | card / network, program → merchant | the money legs: PAID, DISC |
//! | 5 | CNY | program → merchant | the value of the points redeemed |
//! | 6 | points | card's points account → points issuance | points redeemed |
//! | 2 | CNY | merchant → fee revenue | the fee |
//! | 3 | CNY | fee revenue → brand partner | the program's `fee_share_bps` of the fee (co-brand cards) |
//! | 4 | points | points issuance → card's points account | points earned |
//!
//! Slots 0, 1, 5 and 6 (those not zero) are one linked chain, in that order:
//! the card's money, the program's money and the points redeemed move
//! together or not at all.
//!
//! Transfer ids are `RRN << 8 | slot`; the undo of a transaction by a
//! reversal uses `RRN << 8 | 0x80 | slot`, so every undo happens once.
//! A refund gives back, under the plan's refund policy, nothing (`keep`) or
//! the refunded part of the fee and of the fee share (`proportional`, half
//! up, cumulative over partial refunds), and takes back the refunded part of
//! the points; a void or reversal of a capture gives back its whole fee, fee
//! share and points.
//!
//! Every capture, refund, void and reversal writes one
//! [`store::SettlementItem`] in the same request, signed from the merchant's
//! side: `capture` (+), `void` (− a capture undone by a void or a reversal),
//! `refund` (− ; + when a reversal undoes the refund). Its id is
//! `RRN/kind` of the transaction that moved the money (`RRN/reversal` for
//! the undo of transaction RRN by a reversal). Its business date follows
//! from the time of the decision and the merchant's cut-off in the platform
//! time zone; its cycle is the merchant's. Certification-mode transactions
//! are never settled: no fee, no fee share, no item (points still accrue:
//! the card's balance is real).
//!
//! A merchant without a fee plan (no contract yet) pays no fee. A merchant
//! whose plan code is unknown to the host gets `96` for captures and
//! refunds, and nothing changes: charging no fee silently would lose money.
//! Per-merchant rate overrides are not part of the contract document yet;
//! the plan's MCC overrides apply.
//!
//! The instant discount is funded by the program's funding account
//! (`seed::PROGRAM_ACCOUNT`).
//!
//! # Points redemption as part payment
//!
//! host-interface.md gives a terminal no field to ask for redemption (DE 63
//! exists only in responses), so it is the cardholder's standing choice held
//! by the issuer: a co-brand card set to pay with points
//! (`CardRecord::redeem_points`, set by `POST /v1/issuer/cards`; the sandbox
//! cards have it off). At an approved co-brand SALE at a participating
//! merchant such a card redeems as many points as its balance and the amount
//! left after the discount allow (`domain::benefits`; 1 point = 0.01 unless
//! the program says otherwise; no other cap, so PAID may be zero). The card
//! is charged and checked for PAID only; points are earned on PAID; DE 63
//! keeps section 9's keys (`PAID` is what the card paid, `BAL` the balance
//! after redemption and accrual). The merchant is still credited the full
//! DE 4: the redeemed value comes from the program's funding account (slot
//! 5), the points go from the card to points issuance (slot 6). Pre-
//! authorizations and completions redeem nothing (as they get no discount):
//! the hold is placed on the card's money before the final amount is known.
//! Settlement items are the merchant's figures and do not show redemption.
//!
//! A void or a reversal gives the card back its PAID and its redeemed
//! points, and the program its DISC and the redeemed value. A refund gives
//! back the redeemed points and their value in proportion to the part
//! refunded (`domain::benefits::RefundSplit`: cumulative, half up), the rest
//! to the card first, then to the program. Points are given back before the
//! points earned are taken back, and a take-back never exceeds the card's
//! balance at that moment (points the cardholder has spent meanwhile stay
//! spent: the points account never goes below zero, so a take-back larger
//! than the balance would fail the whole request). For the same reason, when
//! a reversal undoes a void or a refund, the points redeemed again are at
//! most the card's balance; the money legs move as recorded.

use std::collections::HashMap;

use domain::benefits::{RefundSplit, SaleParts, points_taken_back};
use domain::fees::{self, Channel, FeePlan, RefundPolicy};
use domain::routing::CardProduct;
use domain::settlement::business_date;
use domain::{AmountMinor, ResponseCode};
use ledger::{AccountId, LedgerId, NewTransfer, TransferFlags, TransferId};
use store::SettlementItem;

use crate::authorize::{Context, Decision};
use crate::records::{Record, TransactionRecord};
use crate::seed::{
    BRAND_PARTNER_ACCOUNT, FEE_REVENUE_ACCOUNT, LEDGER_CNY, LEDGER_CODE, LEDGER_POINTS,
    POINTS_ISSUANCE_ACCOUNT, PROGRAM_ACCOUNT, points_account,
};

/// Transfer slot of the merchant fee.
pub const SLOT_FEE: u128 = 2;
/// Transfer slot of the brand partner's fee share.
pub const SLOT_FEE_SHARE: u128 = 3;
/// Transfer slot of the points accrued.
pub const SLOT_POINTS: u128 = 4;
/// Transfer slot of the value of the points redeemed (program → merchant).
pub const SLOT_REDEEM_VALUE: u128 = 5;
/// Transfer slot of the points redeemed (card's points → points issuance).
pub const SLOT_REDEEM_POINTS: u128 = 6;
/// Added to the slots of a transaction undone by a reversal.
pub const SLOT_UNDO: u128 = 0x80;
/// Most fee plans loaded at start (pages of the store's plan list).
pub const FEE_PLANS_MAX: u64 = 10_000;
const FEE_PLANS_PAGE: u64 = 500;

/// What a capture charges beside the money legs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Charges {
    /// Merchant fee, minor units.
    pub fee: i64,
    /// Brand partner's share of the fee, minor units.
    pub fee_share: i64,
    /// Points.
    pub points: u64,
}

impl Charges {
    /// The charges a transaction record holds.
    #[must_use]
    pub fn of(txn: &TransactionRecord) -> Charges {
        Charges {
            fee: txn.fee,
            fee_share: txn.fee_share,
            points: txn.points,
        }
    }
}

/// The fee channel of a card product.
#[must_use]
pub fn channel_of(product: CardProduct) -> Channel {
    match product {
        CardProduct::Credit => Channel::Credit,
        CardProduct::Debit => Channel::Debit,
    }
}

/// Every fee plan document of the store, as domain plans (unreadable
/// documents are left out: the host then answers `96` for their merchants).
///
/// # Errors
/// Database errors.
pub fn load_fee_plans(store: &mut store::Store) -> store::Result<HashMap<String, FeePlan>> {
    let mut plans = HashMap::new();
    let mut after = String::new();
    while (plans.len() as u64) < FEE_PLANS_MAX {
        let rows = store.fee_plans(&after, FEE_PLANS_PAGE)?;
        let Some(last) = rows.last() else { break };
        after = last.code.clone();
        for row in &rows {
            if let Some(plan) = crate::api::plan_from_document(&row.document) {
                plans.insert(row.code.clone(), plan);
            }
        }
        if (rows.len() as u64) < FEE_PLANS_PAGE {
            break;
        }
    }
    Ok(plans)
}

/// Transfers posting `charges` (`forward`) or giving them back: the fee
/// (merchant → fee revenue), the fee share (fee revenue → brand partner) and
/// the points (issuance → the card's points account). `base` is
/// `RRN << 8`, with [`SLOT_UNDO`] for a reversal; `card` the card's money
/// account (0 for off-us cards, which earn no points).
#[must_use]
pub fn charge_transfers(
    base: u128,
    merchant: u128,
    card: u128,
    charges: Charges,
    forward: bool,
) -> Vec<NewTransfer> {
    let points = i64::try_from(charges.points).unwrap_or(i64::MAX);
    let card_points = if card == 0 { 0 } else { points };
    let legs: [(u128, LedgerId, u128, u128, i64); 3] = [
        (
            SLOT_FEE,
            LEDGER_CNY,
            merchant,
            FEE_REVENUE_ACCOUNT,
            charges.fee,
        ),
        (
            SLOT_FEE_SHARE,
            LEDGER_CNY,
            FEE_REVENUE_ACCOUNT,
            BRAND_PARTNER_ACCOUNT,
            charges.fee_share,
        ),
        (
            SLOT_POINTS,
            LEDGER_POINTS,
            POINTS_ISSUANCE_ACCOUNT,
            points_account(card),
            card_points,
        ),
    ];
    legs.into_iter()
        .filter(|leg| leg.4 > 0)
        .map(|(slot, ledger, from, to, amount)| {
            let (debit, credit) = if forward { (from, to) } else { (to, from) };
            let mut transfer = new_transfer(TransferId(base | slot), debit, credit, amount);
            transfer.ledger = ledger;
            transfer
        })
        .collect()
}

/// How the merchant's amount of a sale (or of a refund) is paid: by the
/// payer (card or network), by the program (the discount and the value of
/// the points redeemed), and the points redeemed from the card.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Payment {
    /// The payer's part (a sale's PAID; a refund's part for the card).
    pub(crate) paid: i64,
    /// The program's instant discount (or the part of it a refund returns).
    pub(crate) discount: i64,
    /// The value of the points redeemed (or given back), program-funded.
    pub(crate) redeemed_value: i64,
    /// The points redeemed (or given back).
    pub(crate) redeemed: u64,
}

impl Payment {
    /// The payment a sale's, a completion's or a refund's record holds.
    pub(crate) fn of(txn: &TransactionRecord) -> Payment {
        Payment {
            paid: txn.amount - txn.discount - txn.redeemed_value,
            discount: txn.discount,
            redeemed_value: txn.redeemed_value,
            redeemed: txn.redeemed,
        }
    }
}

/// The money of `payment` from the payer and the program to `merchant`
/// and its points from the card to points issuance (`towards_merchant`),
/// or all of it back: one linked chain of the non-zero legs. `base` is
/// `RRN << 8` (with [`SLOT_UNDO`] for a reversal); `card` the card's money
/// account (0 for off-us cards, which redeem nothing).
pub(crate) fn payment_transfers(
    base: u128,
    payer: u128,
    merchant: u128,
    card: u128,
    payment: Payment,
    towards_merchant: bool,
) -> Vec<NewTransfer> {
    let redeemed = if card == 0 {
        0
    } else {
        i64::try_from(payment.redeemed).unwrap_or(i64::MAX)
    };
    let legs: [(u128, LedgerId, u128, u128, i64); 4] = [
        (0, LEDGER_CNY, payer, merchant, payment.paid),
        (1, LEDGER_CNY, PROGRAM_ACCOUNT, merchant, payment.discount),
        (
            SLOT_REDEEM_VALUE,
            LEDGER_CNY,
            PROGRAM_ACCOUNT,
            merchant,
            payment.redeemed_value,
        ),
        (
            SLOT_REDEEM_POINTS,
            LEDGER_POINTS,
            points_account(card),
            POINTS_ISSUANCE_ACCOUNT,
            redeemed,
        ),
    ];
    let mut transfers: Vec<NewTransfer> = legs
        .into_iter()
        .filter(|leg| leg.4 > 0)
        .map(|(slot, ledger, from, to, amount)| {
            let (debit, credit) = if towards_merchant {
                (from, to)
            } else {
                (to, from)
            };
            let mut transfer = new_transfer(TransferId(base | slot), debit, credit, amount);
            transfer.ledger = ledger;
            transfer
        })
        .collect();
    let chained = transfers.len().saturating_sub(1);
    for transfer in &mut transfers[..chained] {
        transfer.flags = TransferFlags::LINKED;
    }
    transfers
}

/// Gives back a captured sale or completion: the card its PAID and its
/// redeemed points, the program its DISC and the redeemed value.
pub(crate) fn reverse_capture(original: &TransactionRecord, base: u128) -> Vec<NewTransfer> {
    payment_transfers(
        base,
        original.payer_account,
        original.merchant_account,
        card_of(original),
        Payment::of(original),
        false,
    )
}

/// A CNY transfer (the caller sets another ledger where needed).
pub(crate) fn new_transfer(id: TransferId, debit: u128, credit: u128, amount: i64) -> NewTransfer {
    NewTransfer::new(
        id,
        AccountId(debit),
        AccountId(credit),
        u64::try_from(amount).unwrap_or(0),
        LEDGER_CNY,
        LEDGER_CODE,
    )
}

/// How `sale` was paid, as `domain::benefits` splits a refund of it.
fn sale_parts(sale: &TransactionRecord) -> SaleParts {
    SaleParts {
        amount: AmountMinor(sale.amount),
        discount: AmountMinor(sale.discount),
        redeemed_points: sale.redeemed,
        redeemed_value: AmountMinor(sale.redeemed_value),
    }
}

/// The money account of an on-us card of `txn` (0 for off-us cards).
fn card_of(txn: &TransactionRecord) -> u128 {
    if txn.token.is_empty() {
        0
    } else {
        txn.payer_account
    }
}

impl Context<'_> {
    /// The merchant's fee plan: `Ok(None)` without a contract (no fee),
    /// `Err(96)` when its code is unknown.
    pub(crate) fn fee_plan(&self) -> Result<Option<&FeePlan>, ResponseCode> {
        let Some(merchant) = self.merchant else {
            return Ok(None);
        };
        if merchant.fee_plan.is_empty() {
            return Ok(None);
        }
        self.state
            .fee_plans
            .get(&merchant.fee_plan)
            .map(Some)
            .ok_or(ResponseCode::SystemMalfunction)
    }

    /// The fee and fee share of capturing `amount` on `channel` with a card
    /// of `program` (empty: none). Certification mode charges nothing.
    pub(crate) fn capture_charges(
        &self,
        channel: Channel,
        amount: AmountMinor,
        program: &str,
    ) -> Charges {
        let (Ok(Some(plan)), Some(merchant)) = (self.fee_plan(), self.merchant) else {
            return Charges::default();
        };
        if self.certification {
            return Charges::default();
        }
        let fee = plan
            .rate_for(channel, merchant.mcc, &HashMap::new())
            .map_or(AmountMinor::ZERO, |rate| fees::fee_for(amount, &rate));
        let fee_share = self
            .program
            .filter(|p| !program.is_empty() && p.code == program)
            .map_or(AmountMinor::ZERO, |p| p.fee_share(fee));
        Charges {
            fee: fee.0,
            fee_share: fee_share.0,
            points: 0,
        }
    }

    /// Sets `txn`'s charges and returns the transfers posting them and its
    /// `capture` item.
    pub(crate) fn post_capture(
        &self,
        txn: &mut TransactionRecord,
        charges: Charges,
    ) -> (Vec<NewTransfer>, Option<SettlementItem>) {
        txn.fee = charges.fee;
        txn.fee_share = charges.fee_share;
        txn.points = charges.points;
        let transfers = charge_transfers(
            self.rrn_number << 8,
            txn.merchant_account,
            card_of(txn),
            charges,
            true,
        );
        let item = self.item((&txn.rrn, "capture"), "capture", txn, 1);
        (transfers, item)
    }

    /// The settlement item of `source`'s figures times `sign`, with id
    /// `key.0/key.1`; `None` in certification mode.
    pub(crate) fn item(
        &self,
        key: (&str, &str),
        kind: &str,
        source: &TransactionRecord,
        sign: i64,
    ) -> Option<SettlementItem> {
        let merchant = self.merchant?;
        if source.certification || self.certification {
            return None;
        }
        let date = business_date(
            self.now_s,
            domain::sandbox::TIME_ZONE_OFFSET_S,
            merchant.cutoff_minute,
        )?;
        let points = i64::try_from(source.points).unwrap_or(i64::MAX);
        Some(SettlementItem {
            item_id: format!("{}/{}", key.0, key.1),
            mid: merchant.mid.clone(),
            tid: self.request.tid.clone(),
            rrn: key.0.to_owned(),
            business_date: date.to_string(),
            cycle: merchant.cycle.clone(),
            channel: source.channel.clone(),
            kind: kind.to_owned(),
            amount_minor: sign * source.amount,
            fee_minor: sign * source.fee,
            discount_minor: sign * source.discount,
            fee_share_minor: sign * source.fee_share,
            points: sign * points,
            program: source.program.clone(),
            created_at_ns: u64::try_from(self.now_s)
                .unwrap_or(0)
                .saturating_mul(1_000_000_000),
        })
    }

    pub(crate) fn void(&self) -> Decision {
        let Some(original) = self.original() else {
            return self.declined(ResponseCode::OriginalNotFound);
        };
        if let Err(code) =
            domain::lifecycle::check_void(&self.lifecycle(original), self.request.amount)
        {
            return self.declined(code);
        }
        let mut voided = original.clone();
        voided.state = "voided".to_owned();
        let mut txn = self.transaction("void", ResponseCode::Approved);
        txn.original = original.rrn.clone();
        txn.route = original.route.clone();
        txn.channel = original.channel.clone();
        txn.program = original.program.clone();
        let base = self.rrn_number << 8;
        let (back, card) = self.give_back(original, base);
        let item = self.item((&self.rrn, "void"), "void", original, -1);
        let mut records = vec![Record::Transaction(voided)];
        records.extend(card);
        let mut decision = self.approved(txn, records, back);
        decision.items.extend(item);
        decision
    }

    pub(crate) fn refund(&self) -> Decision {
        let Some(original) = self.original() else {
            return self.declined(ResponseCode::OriginalNotFound);
        };
        let amount = self.request.amount;
        if let Err(code) = domain::lifecycle::check_refund(&self.lifecycle(original), amount) {
            return self.declined(code);
        }
        let policy = match self.fee_plan() {
            Ok(plan) => plan.map_or(RefundPolicy::Keep, |p| p.refund_policy),
            Err(code) => return self.declined(code),
        };
        let mut refunded = original.clone();
        refunded.refunded += amount.0;
        let mut txn = self.transaction("refund", ResponseCode::Approved);
        txn.original = original.rrn.clone();
        txn.route = original.route.clone();
        txn.token = original.token.clone();
        txn.payer_account = original.payer_account;
        txn.channel = original.channel.clone();
        txn.program = original.program.clone();
        let (whole, before) = (AmountMinor(original.amount), AmountMinor(original.refunded));
        let back = |total: i64| {
            fees::fee_returned_by_refund(policy, whole, AmountMinor(total), before, amount).0
        };
        // The redeemed points and their value in proportion; of the rest,
        // the card gets back what it paid first, then the program its DISC.
        let split = RefundSplit::of(&sale_parts(original), before, amount);
        txn.discount = split.discount.0;
        txn.redeemed = split.redeemed_points;
        txn.redeemed_value = split.redeemed_value.0;
        // Points spent since cannot be taken back (see the module docs).
        let points_now = self
            .points_now(original)
            .saturating_add(split.redeemed_points);
        let charges = Charges {
            fee: back(original.fee),
            fee_share: back(original.fee_share),
            points: points_taken_back(original.points, whole, before, amount).min(points_now),
        };
        txn.fee = charges.fee;
        txn.fee_share = charges.fee_share;
        txn.points = charges.points;
        let base = self.rrn_number << 8;
        let mut transfers = payment_transfers(
            base,
            original.payer_account,
            original.merchant_account,
            card_of(original),
            Payment::of(&txn),
            false,
        );
        transfers.extend(charge_transfers(
            base,
            original.merchant_account,
            card_of(original),
            charges,
            false,
        ));
        let item = self.item((&self.rrn, "refund"), "refund", &txn, -1);
        let mut records = vec![Record::Transaction(refunded)];
        let points = i128::from(split.redeemed_points) - i128::from(charges.points);
        records.extend(self.card_change(original, split.card.0, points));
        let mut decision = self.approved(txn, records, transfers);
        decision.items.extend(item);
        decision
    }

    pub(crate) fn completion(&self) -> Decision {
        let Some(original) = self.original() else {
            return self.declined(ResponseCode::OriginalNotFound);
        };
        if self.request.auth_code.as_deref() != Some(original.auth_code.as_str()) {
            return self.declined(ResponseCode::OriginalNotFound);
        }
        if let Err(code) =
            domain::lifecycle::check_completion(&self.lifecycle(original), self.request.amount)
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
        txn.channel = original.channel.clone();
        txn.program = original.program.clone();
        let mut post = new_transfer(
            self.transfer_id(0),
            original.payer_account,
            original.merchant_account,
            self.request.amount.0,
        );
        post.flags = TransferFlags::POST_PENDING;
        post.pending_id = TransferId(original.pending_transfer);
        let charges = Channel::parse(&original.channel).map_or(Charges::default(), |channel| {
            self.capture_charges(channel, self.request.amount, &original.program)
        });
        let (mut transfers, item) = self.post_capture(&mut txn, charges);
        transfers.insert(0, post);
        let mut records = vec![Record::Transaction(completed)];
        // The part of the hold not completed becomes available again.
        records.extend(self.card_change(original, original.amount - self.request.amount.0, 0));
        let mut decision = self.approved(txn, records, transfers);
        decision.items.extend(item);
        decision
    }

    /// The points balance now of the on-us card of `txn` (0 if none).
    pub(crate) fn points_now(&self, txn: &TransactionRecord) -> u64 {
        self.state
            .cards
            .get(&txn.token)
            .map_or(0, |card| card.points)
    }

    /// A captured sale or completion given back (a void, or a reversal with
    /// `base` carrying [`SLOT_UNDO`]): its payment, then its charges, the
    /// points earned taken back at most down to a zero balance; and the
    /// card's record after it.
    fn give_back(
        &self,
        sale: &TransactionRecord,
        base: u128,
    ) -> (Vec<NewTransfer>, Option<Record>) {
        let mut transfers = reverse_capture(sale, base);
        let points_now = self.points_now(sale).saturating_add(sale.redeemed);
        let charges = Charges {
            points: sale.points.min(points_now),
            ..Charges::of(sale)
        };
        transfers.extend(charge_transfers(
            base,
            sale.merchant_account,
            card_of(sale),
            charges,
            false,
        ));
        let payment = Payment::of(sale);
        let points = i128::from(sale.redeemed) - i128::from(charges.points);
        (transfers, self.card_change(sale, payment.paid, points))
    }

    /// A sale captured again (a reversal undoing its void): its payment,
    /// the points redeemed again at most the card's balance, then its
    /// charges; and the card's record after it.
    fn capture_again(
        &self,
        sale: &TransactionRecord,
        base: u128,
    ) -> (Vec<NewTransfer>, Option<Record>) {
        let payment = Payment {
            redeemed: sale.redeemed.min(self.points_now(sale)),
            ..Payment::of(sale)
        };
        let mut transfers = payment_transfers(
            base,
            sale.payer_account,
            sale.merchant_account,
            card_of(sale),
            payment,
            true,
        );
        transfers.extend(charge_transfers(
            base,
            sale.merchant_account,
            card_of(sale),
            Charges::of(sale),
            true,
        ));
        let points = i128::from(sale.points) - i128::from(payment.redeemed);
        (transfers, self.card_change(sale, -payment.paid, points))
    }

    /// The on-us card of `original` with `amount` more available and
    /// `points` more points.
    pub(crate) fn card_change(
        &self,
        original: &TransactionRecord,
        amount: i64,
        points: i128,
    ) -> Option<Record> {
        let mut card = self.state.cards.get(&original.token)?.clone();
        card.available += amount;
        let balance = i128::from(card.points) + points;
        card.points = u64::try_from(balance.max(0)).unwrap_or(u64::MAX);
        Some(Record::Card(card))
    }

    /// Undoes an approved original: its records, transfers and item.
    /// Transfer ids derive from the original's RRN, so the undo happens once.
    pub(crate) fn undo(&self, original: &TransactionRecord, decision: &mut Decision) {
        let base = (original.rrn.parse::<u128>().unwrap_or(0) << 8) | SLOT_UNDO;
        let mut reversed = original.clone();
        reversed.state = "reversed".to_owned();
        decision.records.push(Record::Transaction(reversed));
        let key = (original.rrn.as_str(), "reversal");
        match original.kind.as_str() {
            "sale" | "completion" => {
                let (transfers, card) = self.give_back(original, base);
                decision.transfers = transfers;
                decision.records.extend(card);
                decision.items.extend(self.item(key, "void", original, -1));
            }
            "preauth" => {
                let mut void = new_transfer(
                    TransferId(base),
                    original.payer_account,
                    original.merchant_account,
                    original.amount,
                );
                void.flags = TransferFlags::VOID_PENDING;
                void.pending_id = TransferId(original.pending_transfer);
                decision.transfers.push(void);
                decision
                    .records
                    .extend(self.card_change(original, original.amount, 0));
            }
            "refund" => self.undo_refund(original, base, decision),
            "void" => self.undo_void(original, base, decision),
            _ => {}
        }
    }

    /// A refund undone: the money, fee, fee share and points go as before
    /// it (the points it gave back taken again, at most the card's balance).
    fn undo_refund(&self, refund: &TransactionRecord, base: u128, decision: &mut Decision) {
        let payment = Payment {
            redeemed: refund.redeemed.min(self.points_now(refund)),
            ..Payment::of(refund)
        };
        decision.transfers = payment_transfers(
            base,
            refund.payer_account,
            refund.merchant_account,
            card_of(refund),
            payment,
            true,
        );
        decision.transfers.extend(charge_transfers(
            base,
            refund.merchant_account,
            card_of(refund),
            Charges::of(refund),
            true,
        ));
        let points = i128::from(refund.points) - i128::from(payment.redeemed);
        decision
            .records
            .extend(self.card_change(refund, -payment.paid, points));
        if let Some(sale) = self.state.transactions.get(&refund.original) {
            let mut sale = sale.clone();
            sale.refunded -= refund.amount;
            decision.records.push(Record::Transaction(sale));
        }
        let key = (refund.rrn.as_str(), "reversal");
        decision.items.extend(self.item(key, "refund", refund, 1));
    }

    /// A void undone: the voided sale is in force again, captured once more
    /// with its fee, fee share and points.
    fn undo_void(&self, void: &TransactionRecord, base: u128, decision: &mut Decision) {
        let Some(sale) = self.state.transactions.get(&void.original) else {
            return;
        };
        let (transfers, card) = self.capture_again(sale, base);
        decision.transfers = transfers;
        decision.records.extend(card);
        let key = (void.rrn.as_str(), "reversal");
        decision.items.extend(self.item(key, "capture", sale, 1));
        let mut sale = sale.clone();
        sale.state = "approved".to_owned();
        decision.records.push(Record::Transaction(sale));
    }
}
