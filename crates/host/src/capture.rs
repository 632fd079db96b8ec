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
//! | 0, 1 | CNY | card / network, program → merchant | the money legs |
//! | 2 | CNY | merchant → fee revenue | the fee |
//! | 3 | CNY | fee revenue → brand partner | the program's `fee_share_bps` of the fee (co-brand cards) |
//! | 4 | points | points issuance → card's points account | points earned |
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
//! Points redemption as part payment is not offered on the ISO path:
//! host-interface.md gives a terminal no field to ask for it (DE 63 exists
//! only in responses), and redeeming without the cardholder asking is not
//! an option. The points ledger supports it (card → issuance) once a channel
//! to ask exists. The instant discount is funded by the program's funding
//! account (`seed::PROGRAM_ACCOUNT`).

use std::collections::HashMap;

use domain::benefits::points_taken_back;
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

/// Money from a payer and the program to `merchant` (`towards_merchant`),
/// or back from the merchant to them: linked, only the non-zero legs.
pub(crate) fn split_transfers(
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
                new_transfer(id, account, merchant, amount.0)
            } else {
                new_transfer(id, merchant, account, amount.0)
            }
        })
        .collect();
    if let [first, _second] = transfers.as_mut_slice() {
        first.flags = TransferFlags::LINKED;
    }
    transfers
}

/// Gives back a captured sale: the card its PAID, the program its DISC.
pub(crate) fn reverse_capture(
    original: &TransactionRecord,
    ids: [TransferId; 2],
) -> Vec<NewTransfer> {
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
        let mut back = reverse_capture(original, [self.transfer_id(0), self.transfer_id(1)]);
        back.extend(charge_transfers(
            self.rrn_number << 8,
            original.merchant_account,
            card_of(original),
            Charges::of(original),
            false,
        ));
        let item = self.item((&self.rrn, "void"), "void", original, -1);
        let mut records = vec![Record::Transaction(voided)];
        records.extend(self.card_restore(original, 1));
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
        let charges = Charges {
            fee: back(original.fee),
            fee_share: back(original.fee_share),
            points: points_taken_back(original.points, whole, before, amount),
        };
        // The card gets back what it paid first; the rest goes to the program.
        let paid = original.amount - original.discount;
        let card_share = (original.refunded + amount.0).min(paid) - original.refunded.min(paid);
        txn.discount = amount.0 - card_share;
        txn.fee = charges.fee;
        txn.fee_share = charges.fee_share;
        txn.points = charges.points;
        let mut transfers = split_transfers(
            [self.transfer_id(0), self.transfer_id(1)],
            (original.payer_account, AmountMinor(card_share)),
            (PROGRAM_ACCOUNT, AmountMinor(txn.discount)),
            original.merchant_account,
            false,
        );
        transfers.extend(charge_transfers(
            self.rrn_number << 8,
            original.merchant_account,
            card_of(original),
            charges,
            false,
        ));
        let item = self.item((&self.rrn, "refund"), "refund", &txn, -1);
        let mut records = vec![Record::Transaction(refunded)];
        records.extend(self.card_change(original, card_share, -i128::from(charges.points)));
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

    /// The on-us card of a sale with what it paid and the points it earned
    /// given back (`direction` 1) or taken again (`direction` -1).
    pub(crate) fn card_restore(&self, sale: &TransactionRecord, direction: i64) -> Option<Record> {
        let points = -i128::from(direction) * i128::from(sale.points);
        self.card_change(sale, direction * (sale.amount - sale.discount), points)
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
        let ids = [TransferId(base), TransferId(base | 1)];
        let mut reversed = original.clone();
        reversed.state = "reversed".to_owned();
        decision.records.push(Record::Transaction(reversed));
        let key = (original.rrn.as_str(), "reversal");
        match original.kind.as_str() {
            "sale" | "completion" => {
                decision.transfers = reverse_capture(original, ids);
                decision.transfers.extend(charge_transfers(
                    base,
                    original.merchant_account,
                    card_of(original),
                    Charges::of(original),
                    false,
                ));
                decision.records.extend(self.card_restore(original, 1));
                decision.items.extend(self.item(key, "void", original, -1));
            }
            "preauth" => {
                let mut void = new_transfer(
                    ids[0],
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

    /// A refund undone: the money, fee, fee share and points go as before it.
    fn undo_refund(&self, refund: &TransactionRecord, base: u128, decision: &mut Decision) {
        let card_share = refund.amount - refund.discount;
        decision.transfers = split_transfers(
            [TransferId(base), TransferId(base | 1)],
            (refund.payer_account, AmountMinor(card_share)),
            (PROGRAM_ACCOUNT, AmountMinor(refund.discount)),
            refund.merchant_account,
            true,
        );
        decision.transfers.extend(charge_transfers(
            base,
            refund.merchant_account,
            card_of(refund),
            Charges::of(refund),
            true,
        ));
        decision
            .records
            .extend(self.card_change(refund, -card_share, i128::from(refund.points)));
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
        decision.transfers = split_transfers(
            [TransferId(base), TransferId(base | 1)],
            (sale.payer_account, AmountMinor(sale.amount - sale.discount)),
            (PROGRAM_ACCOUNT, AmountMinor(sale.discount)),
            sale.merchant_account,
            true,
        );
        decision.transfers.extend(charge_transfers(
            base,
            sale.merchant_account,
            card_of(sale),
            Charges::of(sale),
            true,
        ));
        decision.records.extend(self.card_restore(sale, -1));
        let key = (void.rrn.as_str(), "reversal");
        decision.items.extend(self.item(key, "capture", sale, 1));
        let mut sale = sale.clone();
        sale.state = "approved".to_owned();
        decision.records.push(Record::Transaction(sale));
    }
}
