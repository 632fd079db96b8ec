//! QR payments captured by the running host (the HTTP API's
//! `POST /v1/qr/payments` and the payment of a `qr-order`).
//!
//! A QR payment is authorized synchronously by the wallet network
//! (`domain::wallet`: the sandbox simulator answers by the amount's last
//! two digits) and, approved, captured like a card sale, in ONE store
//! request with the API's resource write:
//!
//! | slot | debit → credit | amount |
//! |---|---|---|
//! | 0 | wallet network ([`WALLET_NETWORK_ACCOUNT`]) or card network (UnionPay QR, `seed::NETWORK_ACCOUNT`) → merchant | the amount |
//! | 2 | merchant → fee revenue | the fee of the merchant's plan for `wallet_qr` / `unionpay_qr` |
//!
//! Transfer ids are `RRN << 8 | slot`, as on the ISO path; the RRN comes
//! from the same counter. The transaction record (kind `sale`, route `qr`,
//! channel `wallet_qr` or `unionpay_qr`, request key `qr/RRN`) keeps only
//! the masked payment code; a `capture` settlement item is written with it
//! (none in certification mode, which charges no fee either). A decline is
//! recorded as a declined transaction and moves no money.
//!
//! Like `crate::admin`, the change is built and queued under the state
//! lock and its records are applied only once the commit is durable and
//! only if the API write applied too; its RRN is taken from the counter at
//! once, so no authorization decided meanwhile can use it.
//! The wallet network's settlement account is created (idempotently) by
//! the first QR payment's request, so databases seeded before it exist
//! need no migration. QR refunds are not offered yet; route `qr` keeps QR
//! captures out of the card network's clearing reconciliation.

use std::collections::HashMap;

use domain::fees::{self, Channel};
use domain::settlement::business_date;
use domain::{AmountMinor, ResponseCode};
use ledger::{AccountFlags, AccountId, NewAccount, TransferId};
use store::{SettlementItem, WriteOp};

use crate::admin::{AdminChange, AdminError, AdminOutcome};
use crate::capture::{Charges, charge_transfers, new_transfer};
use crate::records::{MerchantRecord, Record, TransactionRecord};
use crate::seed::{LEDGER_CNY, LEDGER_CODE, NETWORK_ACCOUNT};
use crate::service::Host;
use crate::state::HostState;

/// The wallet network's settlement account (Alipay-style and
/// WeChat-style wallet QR captures are paid from it).
pub const WALLET_NETWORK_ACCOUNT: u128 = 7;

/// One QR payment to authorize and capture. It holds the payment code
/// only masked: the clear code never reaches the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPayment {
    /// The merchant paid.
    pub mid: String,
    /// The till's terminal, empty if none was named.
    pub tid: String,
    /// Amount, minor units (CNY).
    pub amount: AmountMinor,
    /// `wallet_qr` or `unionpay_qr`.
    pub channel: Channel,
    /// The masked payment code (empty for a merchant-presented order).
    pub masked: String,
}

/// Why a QR payment cannot be taken at all (nothing is recorded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrRefusal {
    /// The host knows no such merchant.
    #[error("no such merchant")]
    UnknownMerchant,
    /// The merchant is neither live nor in certification.
    #[error("the merchant does not accept payments in onboarding stage {0}")]
    NotAccepting(String),
    /// The terminal is unknown, inactive, or another merchant's.
    #[error("no active terminal of this merchant with this TID")]
    UnknownTerminal,
    /// The merchant's fee plan is unknown to the host.
    #[error("the merchant's fee plan {0} is unknown to the host")]
    UnknownFeePlan(String),
    /// The amount is not positive.
    #[error("the amount must be positive")]
    BadAmount,
}

/// The host's decision on a QR payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrDecision {
    /// RRN, 12 digits: the payment's id.
    pub rrn: String,
    /// `00` approved, `51` / `05` declined.
    pub code: ResponseCode,
    /// The merchant fee, minor units (0 when declined).
    pub fee: i64,
    /// The business date of the settlement item, if one is written.
    pub business_date: Option<String>,
    /// When it was decided, seconds since the Unix epoch.
    pub at_s: i64,
    /// The transaction record.
    pub record: TransactionRecord,
    /// Ledger transfers (empty when declined).
    pub transfers: Vec<ledger::NewTransfer>,
    /// The settlement item (approved outside certification).
    pub item: Option<SettlementItem>,
}

impl QrDecision {
    /// Whether the payment was approved.
    #[must_use]
    pub fn approved(&self) -> bool {
        self.code.is_approved()
    }
}

/// The ledger account QR captures of `channel` are paid from.
#[must_use]
pub fn payer_account(channel: Channel) -> u128 {
    match channel {
        Channel::UnionPayQr => NETWORK_ACCOUNT,
        _ => WALLET_NETWORK_ACCOUNT,
    }
}

/// The wallet network's settlement account, as every QR request creates it.
#[must_use]
pub fn wallet_network_account() -> NewAccount {
    NewAccount {
        flags: AccountFlags::default(),
        ..NewAccount::new(AccountId(WALLET_NETWORK_ACCOUNT), LEDGER_CNY, LEDGER_CODE)
    }
}

/// Decides `payment` over `state` at `now_s`: the wallet network's
/// answer, and for an approval the capture's fee, transfers and item.
///
/// # Errors
/// [`QrRefusal`] when the payment cannot be taken.
pub fn decide(state: &HostState, payment: &QrPayment, now_s: i64) -> Result<QrDecision, QrRefusal> {
    let merchant = state
        .merchants
        .get(&payment.mid)
        .ok_or(QrRefusal::UnknownMerchant)?;
    if merchant.stage != "live" && merchant.stage != "certification" {
        return Err(QrRefusal::NotAccepting(merchant.stage.clone()));
    }
    if !payment.tid.is_empty()
        && !state
            .terminals
            .get(&payment.tid)
            .is_some_and(|t| t.active && t.mid == payment.mid)
    {
        return Err(QrRefusal::UnknownTerminal);
    }
    if payment.amount <= AmountMinor::ZERO {
        return Err(QrRefusal::BadAmount);
    }
    let certification = merchant.stage == "certification";
    let fee = fee_of(state, merchant, payment, certification)?;
    let code = domain::wallet::simulated_answer(payment.amount);
    let rrn_number = u128::from(state.next_rrn);
    let record = transaction(state.next_rrn, merchant, payment, code, now_s);
    let mut decision = QrDecision {
        rrn: record.rrn.clone(),
        code,
        fee: if code.is_approved() { fee } else { 0 },
        business_date: None,
        at_s: now_s,
        record,
        transfers: Vec::new(),
        item: None,
    };
    decision.record.fee = decision.fee;
    if code.is_approved() {
        capture(&mut decision, merchant, rrn_number << 8, now_s);
    }
    Ok(decision)
}

/// The transaction record of `payment` answered `code` (its fee is set by
/// the caller).
fn transaction(
    rrn_number: u64,
    merchant: &MerchantRecord,
    payment: &QrPayment,
    code: ResponseCode,
    now_s: i64,
) -> TransactionRecord {
    let rrn = format!("{rrn_number:012}");
    let approved = code.is_approved();
    TransactionRecord {
        request_key: format!("qr/{rrn}"),
        rrn,
        kind: "sale".to_owned(),
        tid: payment.tid.clone(),
        mid: payment.mid.clone(),
        token: String::new(),
        masked: payment.masked.clone(),
        route: "qr".to_owned(),
        amount: payment.amount.0,
        code: code.as_str().to_owned(),
        auth_code: if approved {
            format!("{:06}", rrn_number % 1_000_000)
        } else {
            String::new()
        },
        state: if approved { "approved" } else { "declined" }.to_owned(),
        batch: 0,
        refunded: 0,
        original: String::new(),
        certification: merchant.stage == "certification",
        payer_account: if approved {
            payer_account(payment.channel)
        } else {
            0
        },
        merchant_account: merchant.account,
        pending_transfer: 0,
        discount: 0,
        points: 0,
        redeemed: 0,
        redeemed_value: 0,
        fee: 0,
        fee_share: 0,
        channel: payment.channel.as_str().to_owned(),
        program: String::new(),
        at_s: now_s,
    }
}

/// The fee of `payment` under the merchant's plan (none without a plan or
/// in certification mode).
fn fee_of(
    state: &HostState,
    merchant: &MerchantRecord,
    payment: &QrPayment,
    certification: bool,
) -> Result<i64, QrRefusal> {
    if merchant.fee_plan.is_empty() || certification {
        return Ok(0);
    }
    let plan = state
        .fee_plans
        .get(&merchant.fee_plan)
        .ok_or_else(|| QrRefusal::UnknownFeePlan(merchant.fee_plan.clone()))?;
    Ok(plan
        .rate_for(payment.channel, merchant.mcc, &HashMap::new())
        .map_or(0, |rate| fees::fee_for(payment.amount, &rate).0))
}

/// The money leg, the fee and the `capture` item of an approved payment.
fn capture(decision: &mut QrDecision, merchant: &MerchantRecord, base: u128, now_s: i64) {
    let txn = &decision.record;
    decision.transfers.push(new_transfer(
        TransferId(base),
        txn.payer_account,
        txn.merchant_account,
        txn.amount,
    ));
    decision.transfers.extend(charge_transfers(
        base,
        txn.merchant_account,
        0,
        Charges {
            fee: txn.fee,
            fee_share: 0,
            points: 0,
        },
        true,
    ));
    if txn.certification {
        return;
    }
    let Some(date) = business_date(
        now_s,
        domain::sandbox::TIME_ZONE_OFFSET_S,
        merchant.cutoff_minute,
    ) else {
        return;
    };
    decision.business_date = Some(date.to_string());
    decision.item = Some(SettlementItem {
        item_id: format!("{}/capture", txn.rrn),
        mid: txn.mid.clone(),
        tid: txn.tid.clone(),
        rrn: txn.rrn.clone(),
        business_date: date.to_string(),
        cycle: merchant.cycle.clone(),
        channel: txn.channel.clone(),
        kind: "capture".to_owned(),
        amount_minor: txn.amount,
        fee_minor: txn.fee,
        discount_minor: 0,
        fee_share_minor: 0,
        points: 0,
        program: String::new(),
        created_at_ns: u64::try_from(now_s)
            .unwrap_or(0)
            .saturating_mul(1_000_000_000),
    });
}

/// A change of the running host with ledger transfers and settlement
/// items beside an [`AdminChange`] (a QR capture, a sandbox issuer card).
#[derive(Debug, Clone, Default)]
pub struct HostChange {
    /// Accounts, the API's write and the records.
    pub admin: AdminChange,
    /// Ledger transfers, committed with the records.
    pub transfers: Vec<ledger::NewTransfer>,
    /// Settlement items, committed with the records.
    pub items: Vec<SettlementItem>,
}

impl HostChange {
    /// The store request: accounts, transfers, items, the API write, then
    /// the host records (the store writes the items, the API write and the
    /// records only if every transfer was created).
    #[must_use]
    pub fn ops(&self) -> Vec<WriteOp> {
        let mut ops = Vec::new();
        if !self.admin.accounts.is_empty() {
            ops.push(WriteOp::CreateAccounts(self.admin.accounts.clone()));
        }
        if !self.transfers.is_empty() {
            ops.push(WriteOp::CreateTransfers(self.transfers.clone()));
        }
        if !self.items.is_empty() {
            ops.push(WriteOp::SettlementItems(self.items.clone()));
        }
        ops.extend(self.admin.api.clone());
        ops.push(WriteOp::HostRows(
            self.admin.records.iter().map(Record::row).collect(),
        ));
        ops
    }

    /// The change of an approved or declined QR payment with `api`.
    #[must_use]
    pub fn of_decision(decision: &QrDecision, api: Option<WriteOp>) -> HostChange {
        HostChange {
            admin: AdminChange {
                accounts: vec![wallet_network_account()],
                api,
                records: vec![Record::Transaction(decision.record.clone())],
            },
            transfers: decision.transfers.clone(),
            items: decision.item.iter().cloned().collect(),
        }
    }
}

impl Host {
    /// Runs one [`HostChange`] built by `prepare` under the state lock:
    /// committed as one request, applied to the state once durable and
    /// only if everything applied (as `Host::admin_change`).
    ///
    /// # Errors
    /// `prepare`'s error (nothing written); [`AdminError::Store`] when the
    /// commit failed.
    pub async fn host_change<T, E, F>(&self, prepare: F) -> Result<(T, AdminOutcome), E>
    where
        E: From<AdminError>,
        F: FnOnce(&HostState) -> Result<(T, HostChange), E>,
    {
        if !self.hold_lease().await {
            return Err(AdminError::Store(crate::admin::LEASE_NOT_TAKEN.into()).into());
        }
        let slot = self
            .admin_parts()
            .writer
            .reserve()
            .await
            .map_err(|e| AdminError::Store(e.to_string()))?;
        let (value, change, ticket, epoch) = {
            let mut state = self.state();
            let (value, change) = prepare(&state)?;
            let mut ops: Vec<WriteOp> = self.lease().fence().into_iter().collect();
            ops.extend(change.ops());
            let ticket = slot
                .submit(ops)
                .map_err(|e| AdminError::Store(e.to_string()))?;
            let epoch = self.lease().epoch();
            // The RRNs are taken now, so no authorization decided before
            // the commit can use them; the records wait for the commit.
            for record in &change.admin.records {
                if let Record::Transaction(transaction) = record {
                    state.reserve_rrn(&transaction.rrn);
                }
            }
            (value, change, ticket, epoch)
        };
        let outcomes = ticket
            .recv()
            .await
            .map_err(|e| AdminError::Store(e.to_string()))?;
        if self.fenced_change(epoch, &outcomes) {
            return Err(AdminError::Store(crate::admin::LEASE_MOVED.into()).into());
        }
        let outcome = change.admin.outcome(outcomes);
        if outcome.applied() {
            let mut state = self.state();
            for record in change.admin.records {
                state.apply(record);
            }
        }
        Ok((value, outcome))
    }

    /// The code of merchant `mid`'s fee plan when the host does not hold
    /// it yet (a plan created after the start; see `crate::plans`).
    pub fn missing_fee_plan(&self, mid: &str) -> Option<String> {
        let state = self.state();
        let code = &state.merchants.get(mid)?.fee_plan;
        (!code.is_empty() && !state.fee_plans.contains_key(code)).then(|| code.clone())
    }

    /// Adds a fee plan read from the store (plans are immutable: one the
    /// host holds already is kept).
    pub fn add_fee_plan(&self, code: String, plan: domain::fees::FeePlan) {
        let mut state = self.state();
        state.fee_plans.entry(code).or_insert(plan);
    }

    /// Authorizes and captures a QR payment: decided under the state lock,
    /// written with the API's write (built by `api` from the decision) as
    /// one request.
    ///
    /// # Errors
    /// `api`'s error or a [`QrRefusal`] mapped by `E` (nothing written);
    /// [`AdminError::Store`] when the commit failed.
    pub async fn qr_capture<E, F>(
        &self,
        payment: &QrPayment,
        now_s: i64,
        api: F,
    ) -> Result<(QrDecision, AdminOutcome), E>
    where
        E: From<AdminError> + From<QrRefusal>,
        F: FnOnce(&HostState, &QrDecision) -> Result<Option<WriteOp>, E>,
    {
        self.host_change(|state| {
            let decision = decide(state, payment, now_s)?;
            let write = api(state, &decision)?;
            let change = HostChange::of_decision(&decision, write);
            Ok((decision, change))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::fees::FeePlan;

    fn state() -> HostState {
        let mut state = HostState {
            next_rrn: 41,
            ..HostState::default()
        };
        state.merchants.insert(
            "100000000000001".into(),
            MerchantRecord {
                mid: "100000000000001".into(),
                name: "N".into(),
                stage: "live".into(),
                account: 101,
                participant: false,
                mcc: 5812,
                fee_plan: domain::sandbox::FEE_PLAN.into(),
                cycle: "T1".into(),
                cutoff_minute: 23 * 60,
            },
        );
        let plan: FeePlan = domain::sandbox::fee_plan();
        state
            .fee_plans
            .insert(domain::sandbox::FEE_PLAN.into(), plan);
        state
    }

    fn payment(amount: i64, channel: Channel) -> QrPayment {
        QrPayment {
            mid: "100000000000001".into(),
            tid: String::new(),
            amount: AmountMinor(amount),
            channel,
            masked: "2812**********3456".into(),
        }
    }

    #[test]
    fn approvals_capture_with_the_plan_fee_and_declines_move_nothing() {
        let state = state();
        // 0.38% of 100.00 = 0.38; 0.60% of 123.45 = 0.7407 → 0.74.
        let check = |amount: i64, channel, code: ResponseCode, fee: i64, transfers: usize| {
            let decision = decide(&state, &payment(amount, channel), 1_764_000_000).unwrap();
            assert_eq!(decision.code, code, "{amount}");
            assert_eq!(decision.fee, fee, "{amount}");
            assert_eq!(decision.transfers.len(), transfers, "{amount}");
            assert_eq!(decision.item.is_some(), code.is_approved(), "{amount}");
            assert_eq!(decision.rrn, "000000000041");
        };
        check(10_000, Channel::WalletQr, ResponseCode::Approved, 38, 2);
        check(12_345, Channel::UnionPayQr, ResponseCode::Approved, 74, 2);
        check(
            10_051,
            Channel::WalletQr,
            ResponseCode::InsufficientFunds,
            0,
            0,
        );
        check(10_005, Channel::UnionPayQr, ResponseCode::DoNotHonor, 0, 0);
        check(100, Channel::WalletQr, ResponseCode::Approved, 0, 1);
    }

    #[test]
    fn refusals_record_nothing() {
        let state = state();
        let mut bad = payment(100, Channel::WalletQr);
        bad.mid = "100000000000009".into();
        assert_eq!(decide(&state, &bad, 0), Err(QrRefusal::UnknownMerchant));
        let mut bad = payment(100, Channel::WalletQr);
        bad.tid = "T0000001".into();
        assert_eq!(decide(&state, &bad, 0), Err(QrRefusal::UnknownTerminal));
        assert_eq!(
            decide(&state, &payment(0, Channel::WalletQr), 0),
            Err(QrRefusal::BadAmount)
        );
    }
}
