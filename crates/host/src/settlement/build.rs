//! Building a pass's chunks and payouts from the plan and the sums (see
//! `run`): on a thread of its own, ahead of the commits.

use std::collections::BTreeMap;

use domain::BusinessDate;
use domain::money::AmountMinor;
use domain::payouts::{Leg, LegKind, binding_in_force, merchant_legs};
use domain::settlement::{Cycle, MerchantTotals, SplitLine};
use ledger::{AccountId, NewAccount, NewTransfer, TransferId};
use store::api::ResourceRow;
use store::{ItemSums, MerchantAggregate, PayoutTotal, Settlement, SettlementLeg, SettlementRun};

use super::documents::{payout_id, payout_puts};
use super::plan::{MerchantPlan, Plan};
use super::{SettleError, transfer_id};
use crate::seed::{LEDGER_CNY, LEDGER_CODE};

/// The ledger writes of a chunk: its transfers and the clearing accounts
/// they move (created if missing).
pub(super) struct ChunkLedger {
    pub(super) transfers: Vec<NewTransfer>,
    pub(super) accounts: BTreeMap<u128, NewAccount>,
}

/// What the builder hands the committing side, in this order.
pub(super) enum Built {
    /// A chunk and the end of its range of merchants.
    Chunk(BuiltChunk, usize),
    /// The pass's payouts, after the last chunk (a whole pass only).
    Payouts(BuiltPayouts),
}

/// The payouts of a pass: their resources (with the approvals they wait
/// for) and how many there are.
pub(super) struct BuiltPayouts {
    pub(super) puts: Vec<ResourceRow>,
    pub(super) payouts: usize,
}

/// A chunk's settlements and ledger writes, built before its commit.
pub(super) struct BuiltChunk {
    pub(super) settlements: Vec<Settlement>,
    pub(super) ledger: ChunkLedger,
    pub(super) items: u64,
}

/// Builds the chunks of a pass: what a merchant's settlement is depends
/// only on the pass, the plan and its sums.
pub(super) struct Builder<'p> {
    pub(super) date: BusinessDate,
    pub(super) cycle: Cycle,
    /// The run as the pass began (its id, pass, date and cycle).
    pub(super) run: SettlementRun,
    pub(super) plan: &'p Plan,
    /// The run's time (the payouts' creation).
    pub(super) now_ns: u64,
    /// The pass is settled whole by this call: its payouts are summed from
    /// the chunks built.
    pub(super) whole: bool,
}

impl Builder<'_> {
    /// Builds the chunks of `ranges` and sends each, then (for a whole
    /// pass) the payouts. Stops at the first error, sent too, or when the
    /// committing side has stopped (a send fails).
    pub(super) fn build(
        &self,
        groups: &[&[MerchantAggregate]],
        ranges: Vec<(usize, usize)>,
        sender: &std::sync::mpsc::SyncSender<Result<Built, SettleError>>,
    ) {
        let mut payouts = self.whole.then(BTreeMap::new);
        for (first, end) in ranges {
            let chunk = self.chunk(&groups[first..end], first).and_then(|chunk| {
                if let Some(payouts) = payouts.as_mut() {
                    add_payouts(payouts, &chunk.settlements)?;
                }
                Ok(Built::Chunk(chunk, end))
            });
            let failed = chunk.is_err();
            if sender.send(chunk).is_err() || failed {
                return;
            }
        }
        if let Some(payouts) = payouts {
            let totals: Vec<PayoutTotal> = payouts.into_values().collect();
            let puts = payout_puts(&self.run, &totals, self.plan, self.now_ns);
            let payouts = totals.len();
            let _ = sender.send(Ok(Built::Payouts(BuiltPayouts { puts, payouts })));
        }
    }

    /// The settlements of `groups`, the first at `first_ordinal` in the pass.
    fn chunk(
        &self,
        groups: &[&[MerchantAggregate]],
        first_ordinal: usize,
    ) -> Result<BuiltChunk, SettleError> {
        let mut settlements = Vec::with_capacity(groups.len());
        let mut ledger = ChunkLedger {
            transfers: Vec::with_capacity(groups.len()),
            accounts: BTreeMap::new(),
        };
        let mut items = 0;
        let mut cursor = 0;
        for (offset, group) in groups.iter().enumerate() {
            let ordinal = (first_ordinal + offset) as u64;
            let merchant = self.plan.merchant(&group[0].mid, &mut cursor);
            let settlement = self.merchant(merchant, group, ordinal, &mut ledger)?;
            items += settlement.items;
            settlements.push(settlement);
        }
        Ok(BuiltChunk {
            settlements,
            ledger,
            items,
        })
    }

    /// One merchant's settlement, its transfers and the clearing accounts
    /// they move added to `ledger`.
    fn merchant(
        &self,
        merchant: Option<&MerchantPlan>,
        group: &[MerchantAggregate],
        ordinal: u64,
        ledger: &mut ChunkLedger,
    ) -> Result<Settlement, SettleError> {
        let mid = group[0].mid.clone();
        let overflow = || SettleError::Corrupt(format!("merchant {mid}: totals overflow"));
        let mut sums = ItemSums::default();
        let mut items = 0;
        for aggregate in group {
            sums = add_sums(sums, sums_of(aggregate)).ok_or_else(overflow)?;
            items += aggregate.items;
        }
        let net = totals_of(&sums).net().ok_or_else(overflow)?;
        let (legs, outcome) = self.legs(merchant, &mid, group)?;
        let payable = merchant.and_then(|m| m.payable);
        let (legs, outcome) = match payable {
            None => (Vec::new(), "no_ledger_account"),
            Some(_) => (legs, outcome),
        };
        let mut stored = Vec::with_capacity(legs.len());
        for (index, leg) in legs.iter().enumerate() {
            let id = transfer_id(
                self.date,
                self.cycle,
                self.run.passes,
                ordinal,
                index as u16,
            );
            let clearing = self.plan.clearing_account(merchant, &leg.account);
            ledger
                .accounts
                .entry(clearing)
                .or_insert_with(|| NewAccount::new(AccountId(clearing), LEDGER_CNY, LEDGER_CODE));
            let payable = payable.unwrap_or_default();
            let (debit, credit) = match leg.kind {
                LegKind::Debit => (clearing, payable),
                LegKind::Credit | LegKind::Held => (payable, clearing),
            };
            let amount = u64::try_from(leg.amount.0).map_err(|_| overflow())?;
            ledger.transfers.push(NewTransfer::new(
                TransferId(id),
                AccountId(debit),
                AccountId(credit),
                amount,
                LEDGER_CNY,
                LEDGER_CODE,
            ));
            stored.push(SettlementLeg {
                account: leg.account.clone(),
                kind: leg.kind.as_str().to_owned(),
                amount_minor: leg.amount.0,
                payout_id: payout_id(&self.run.run_id, self.run.passes, &leg.account, leg.kind),
                transfer_id: id,
                payout_status: String::new(),
            });
        }
        Ok(Settlement {
            run_id: self.run.run_id.clone(),
            pass: self.run.passes,
            mid,
            business_date: self.run.business_date.clone(),
            cycle: self.run.cycle.clone(),
            items,
            sums,
            net_minor: net.0,
            outcome: outcome.to_owned(),
            legs: stored,
        })
    }

    /// The legs of a merchant by the bindings in force for its terminals;
    /// `unbound` (no legs) when a terminal has none.
    fn legs(
        &self,
        merchant: Option<&MerchantPlan>,
        mid: &str,
        group: &[MerchantAggregate],
    ) -> Result<(Vec<Leg>, &'static str), SettleError> {
        let Some(bindings) = merchant
            .map(|m| m.bindings.clone())
            .filter(|b| !b.is_empty())
        else {
            return Ok((Vec::new(), "unbound"));
        };
        let candidates = self
            .plan
            .candidates
            .get(bindings.clone())
            .unwrap_or_default();
        let candidate_lines = self.plan.candidate_lines.get(bindings).unwrap_or_default();
        // Totals by binding, in the order of the candidates (a merchant has
        // one or a few bindings: a short list, no map).
        let mut parts: Vec<(usize, MerchantTotals)> = Vec::with_capacity(1);
        for aggregate in group {
            let Some(chosen) = binding_in_force(candidates, &aggregate.tid, self.date) else {
                return Ok((Vec::new(), "unbound"));
            };
            let index = candidates
                .iter()
                .position(|c| c.id == chosen.id)
                .unwrap_or_default();
            let at = match parts.binary_search_by_key(&index, |(i, _)| *i) {
                Ok(at) => at,
                Err(at) => {
                    parts.insert(at, (index, MerchantTotals::default()));
                    at
                }
            };
            let part = &mut parts[at].1;
            *part = domain::payouts::add_totals(*part, totals_of(&sums_of(aggregate)))
                .ok_or_else(|| SettleError::Corrupt(format!("merchant {mid}: overflow")))?;
        }
        let split_parts: Vec<(MerchantTotals, &[SplitLine])> = parts
            .iter()
            .map(|(index, totals)| {
                let lines = candidate_lines
                    .get(*index)
                    .and_then(|range| self.plan.lines.get(range.clone()))
                    .unwrap_or_default();
                (*totals, lines)
            })
            .collect();
        let held = self.plan.held.contains(mid);
        let legs = merchant_legs(&split_parts, held)
            .map_err(|e| SettleError::Corrupt(format!("merchant {mid}: {e}")))?;
        let outcome = if legs.is_empty() {
            "nothing"
        } else if legs.iter().any(|l| l.kind == LegKind::Held) {
            "held"
        } else if legs.iter().all(|l| l.kind == LegKind::Debit) {
            "auto_debit"
        } else {
            "payout"
        };
        Ok((legs, outcome))
    }
}

/// Adds the legs of `settlements` to the payouts they belong to, as
/// `store::Store::settlement_payout_totals` sums the stored legs (one leg
/// per merchant and payout).
fn add_payouts(
    payouts: &mut BTreeMap<String, PayoutTotal>,
    settlements: &[Settlement],
) -> Result<(), SettleError> {
    for leg in settlements.iter().flat_map(|s| &s.legs) {
        let total = payouts
            .entry(leg.payout_id.clone())
            .or_insert_with(|| PayoutTotal {
                payout_id: leg.payout_id.clone(),
                account: leg.account.clone(),
                kind: leg.kind.clone(),
                amount_minor: 0,
                merchants: 0,
            });
        total.amount_minor = total
            .amount_minor
            .checked_add(leg.amount_minor)
            .ok_or_else(|| SettleError::Corrupt(format!("payout {}: overflow", leg.payout_id)))?;
        total.merchants += 1;
    }
    Ok(())
}

/// The sums of one kind of items, by the sign convention of settlement
/// items (amounts signed from the merchant's side): captures and voids add
/// to captures, refunds and chargebacks are taken off, adjustments (and any
/// other kind, so no money is dropped) are added as signed.
#[must_use]
pub(super) fn sums_of(aggregate: &MerchantAggregate) -> ItemSums {
    let amount = aggregate.amount_minor;
    let mut sums = ItemSums {
        fees_minor: aggregate.fee_minor,
        discounts_minor: aggregate.discount_minor,
        fee_share_minor: aggregate.fee_share_minor,
        points: aggregate.points,
        ..ItemSums::default()
    };
    match aggregate.kind.as_str() {
        "capture" | "void" => sums.captures_minor = amount,
        "refund" => sums.refunds_minor = amount.saturating_neg(),
        "chargeback" => sums.chargebacks_minor = amount.saturating_neg(),
        _ => sums.adjustments_minor = amount,
    }
    sums
}

fn add_sums(a: ItemSums, b: ItemSums) -> Option<ItemSums> {
    Some(ItemSums {
        captures_minor: a.captures_minor.checked_add(b.captures_minor)?,
        refunds_minor: a.refunds_minor.checked_add(b.refunds_minor)?,
        fees_minor: a.fees_minor.checked_add(b.fees_minor)?,
        chargebacks_minor: a.chargebacks_minor.checked_add(b.chargebacks_minor)?,
        adjustments_minor: a.adjustments_minor.checked_add(b.adjustments_minor)?,
        discounts_minor: a.discounts_minor.checked_add(b.discounts_minor)?,
        fee_share_minor: a.fee_share_minor.checked_add(b.fee_share_minor)?,
        points: a.points.checked_add(b.points)?,
    })
}

/// Stored sums → the domain's totals.
#[must_use]
pub(super) fn totals_of(sums: &ItemSums) -> MerchantTotals {
    MerchantTotals {
        captures: AmountMinor(sums.captures_minor),
        refunds: AmountMinor(sums.refunds_minor),
        fees: AmountMinor(sums.fees_minor),
        chargebacks: AmountMinor(sums.chargebacks_minor),
        adjustments: AmountMinor(sums.adjustments_minor),
    }
}
