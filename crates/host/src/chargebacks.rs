//! What the host knows of chargebacks, so that a terminal cannot refund or
//! void money a chargeback already gave back to the cardholder.
//!
//! Chargebacks are posted by operators over HTTP (`POST
//! /v1/merchants/{mid}/adjustments`), not by terminals, so the host's
//! transaction records do not carry them. The host keeps, by RRN, the
//! amount charged back ([`HostState::charged_back`]), and a follow-up's
//! checks count it as refunded (`Context::lifecycle`): a refund is limited
//! to the amount less refunds and chargebacks (else `13`), and a void of a
//! charged-back sale is refused (`12`). The refund's fee and benefit shares
//! are still computed from the refunds alone. A reversal (`0400`/`0420`) of
//! a charged-back transaction is acknowledged and undoes nothing.
//!
//! - **Loaded** with the rest of the state, from the `adjustment`
//!   resources of kind `chargeback` ([`load`]).
//! - **Reserved before the commit**: the API asks the host of its process
//!   ([`crate::service::Host::reserve_chargeback`]) under the state lock,
//!   where host decisions are made. The check there uses the host's view,
//!   which includes refunds and voids decided but not yet committed, and the
//!   reservation counts at once for every later decision. The chargeback
//!   is then committed by the API; when it is not (a refused transfer, an
//!   error), dropping the [`Reservation`] gives the amount back.
//!
//! A chargeback posted by another process (an API process without a host,
//! or the other host of a shared PostgreSQL database) reaches this host's
//! view at its next full reload (start, lease takeover); the API's own
//! check against the stored records still refuses more chargebacks than the
//! transaction has left.

use std::collections::HashMap;
use std::sync::Arc;

use store::Store;
use store::api::ResourceQuery;

use crate::service::Host;
use crate::state::HostState;

/// Kind of the resources chargebacks are recorded as.
const ADJUSTMENT: &str = "adjustment";
/// Resources read per page when loading.
const PAGE: u64 = 1_000;

/// The amounts charged back, by RRN, from the stored adjustments.
///
/// # Errors
/// Database errors.
pub fn load(store: &mut Store) -> store::Result<HashMap<String, i64>> {
    let mut charged_back: HashMap<String, i64> = HashMap::new();
    let mut query = ResourceQuery {
        kind: ADJUSTMENT.into(),
        limit: PAGE,
        ..ResourceQuery::default()
    };
    loop {
        let rows = store.resources(&query)?;
        for row in &rows {
            let Ok(document) = serde_json::from_str::<serde_json::Value>(&row.document) else {
                continue;
            };
            if document["kind"] != "chargeback" {
                continue;
            }
            let (Some(rrn), Some(amount)) = (
                document["transaction_id"].as_str(),
                document["amount"]["amount_minor"].as_i64(),
            ) else {
                continue;
            };
            let total = charged_back.entry(rrn.to_owned()).or_default();
            *total = total.saturating_add(amount);
        }
        match rows.last() {
            Some(last) if rows.len() as u64 == PAGE => query.after_id = last.id.clone(),
            _ => return Ok(charged_back),
        }
    }
}

/// Why a chargeback cannot be reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The host has no captured, approved transaction of that RRN and MID.
    NotCaptured,
    /// More than is left of it: the amount left (refunds, including those
    /// decided and not yet committed, and chargebacks counted).
    Exceeds(i64),
}

/// A chargeback counted in the host's view until it is committed; dropped
/// without [`Reservation::keep`], it gives the amount back.
#[derive(Debug)]
pub struct Reservation {
    host: Arc<Host>,
    rrn: String,
    amount: i64,
    kept: bool,
}

impl Reservation {
    /// The chargeback was committed: the amount stays counted.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let mut state = self.host.state();
        if let Some(total) = state.charged_back.get_mut(&self.rrn) {
            *total = total.saturating_sub(self.amount);
            if *total <= 0 {
                state.charged_back.remove(&self.rrn);
            }
        }
    }
}

/// Under the state lock: counts `amount` as charged back on `rrn` of `mid`
/// when the host's view has that much left of a captured transaction.
fn reserve(state: &mut HostState, mid: &str, rrn: &str, amount: i64) -> Result<(), Refused> {
    let txn = state
        .transactions
        .get(rrn)
        .filter(|t| t.mid == mid)
        .filter(|t| matches!(t.kind.as_str(), "sale" | "completion"))
        .filter(|t| t.code == "00" && t.state == "approved")
        .ok_or(Refused::NotCaptured)?;
    let charged = state.charged_back.get(rrn).copied().unwrap_or(0);
    let left = txn
        .amount
        .saturating_sub(txn.refunded)
        .saturating_sub(charged);
    if amount <= 0 || amount > left {
        return Err(Refused::Exceeds(left.max(0)));
    }
    state
        .charged_back
        .insert(rrn.to_owned(), charged.saturating_add(amount));
    Ok(())
}

impl Host {
    /// Counts a chargeback of `amount` on transaction `rrn` of merchant
    /// `mid` in the host's view before it is committed (see the module
    /// docs); refused when the host's view has less than that left.
    ///
    /// # Errors
    /// [`Refused`].
    pub fn reserve_chargeback(
        self: &Arc<Self>,
        mid: &str,
        rrn: &str,
        amount: i64,
    ) -> Result<Reservation, Refused> {
        reserve(&mut self.state(), mid, rrn, amount)?;
        Ok(Reservation {
            host: Arc::clone(self),
            rrn: rrn.to_owned(),
            amount,
            kept: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::TransactionRecord;

    fn state_with_sale(amount: i64, refunded: i64) -> HostState {
        let mut state = HostState::default();
        state.transactions.insert(
            "000000000007".into(),
            TransactionRecord {
                rrn: "000000000007".into(),
                kind: "sale".into(),
                mid: "M1".into(),
                code: "00".into(),
                state: "approved".into(),
                amount,
                refunded,
                ..TransactionRecord::default()
            },
        );
        state
    }

    #[test]
    fn a_reservation_is_limited_to_what_refunds_and_chargebacks_left() {
        let mut state = state_with_sale(10_000, 2_500);
        assert_eq!(reserve(&mut state, "M1", "000000000007", 3_000), Ok(()));
        assert_eq!(
            reserve(&mut state, "M1", "000000000007", 4_501),
            Err(Refused::Exceeds(4_500))
        );
        assert_eq!(reserve(&mut state, "M1", "000000000007", 4_500), Ok(()));
        assert_eq!(state.charged_back["000000000007"], 7_500);
        assert_eq!(
            reserve(&mut state, "M1", "000000000007", 1),
            Err(Refused::Exceeds(0))
        );
    }

    #[test]
    fn only_a_captured_transaction_of_the_merchant_can_be_charged_back() {
        let mut state = state_with_sale(10_000, 0);
        for (mid, rrn) in [("M2", "000000000007"), ("M1", "000000000008")] {
            assert_eq!(reserve(&mut state, mid, rrn, 1), Err(Refused::NotCaptured));
        }
        if let Some(t) = state.transactions.get_mut("000000000007") {
            t.state = "voided".into();
        }
        assert_eq!(
            reserve(&mut state, "M1", "000000000007", 1),
            Err(Refused::NotCaptured)
        );
        assert!(state.charged_back.is_empty());
    }
}
