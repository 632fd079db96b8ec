//! Expiry of pre-authorization holds: a periodic job of the server
//! ([`run`]) that expires, in the ledger and in the host's state together,
//! the holds whose timeout (`authorize::HOLD_TIMEOUT_S`) has passed.
//!
//! One request to the writer, submitted under the state lock like a
//! decision: `WriteOp::ExpirePending` for exactly the holds found due, and
//! for each its pre-authorization record in state `expired` with the held
//! amount available on the card again. A completion decided after it sees
//! `expired` and is refused with `12` (not allowed in this state); one
//! decided before it posts the hold first (submission order), and the hold
//! is then no longer counted. A reversal of an expired pre-authorization
//! changes nothing but is remembered. The ledger expires the oldest due
//! holds first, and every hold due when the job looked is older than any
//! that falls due later, so the count names exactly the holds marked.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ledger::{PendingStatus, TransferId};
use store::{Store, WriteOp};
use tokio::sync::watch;

use crate::records::{Record, TransactionRecord};
use crate::service::Host;
use crate::state::HostState;

/// How often the server looks for due holds.
pub const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);
/// Most holds expired by one request.
pub const HOLDS_PER_RUN_MAX: usize = 1_000;

/// Why a run expired nothing it should have.
#[derive(Debug, thiserror::Error)]
pub enum ExpiryError {
    /// Reading the holds.
    #[error("reading the holds: {0}")]
    Store(#[from] store::StoreError),
    /// The commit failed (the host has stopped) or the host is stopped.
    #[error("the expiry was not committed")]
    NotCommitted,
}

/// Pre-authorizations whose hold may still be open in the ledger: the
/// pending transfer ids.
fn open_holds(state: &HostState) -> Vec<u128> {
    state
        .transactions
        .values()
        .filter(|t| t.kind == "preauth" && t.pending_transfer != 0)
        .filter(|t| matches!(t.state.as_str(), "approved" | "expired"))
        .map(|t| t.pending_transfer)
        .collect()
}

/// The records an expiry leaves: the pre-authorization `expired` and its
/// card's available amount given back.
fn expired(state: &HostState, hold: &TransactionRecord) -> Vec<Record> {
    let mut records = Vec::with_capacity(2);
    let mut txn = hold.clone();
    txn.state = "expired".to_owned();
    records.push(Record::Transaction(txn));
    if let Some(card) = state.cards.get(&hold.token) {
        let mut card = card.clone();
        card.available += hold.amount;
        records.push(Record::Card(card));
    }
    records
}

impl Host {
    /// Expires the holds due at `now_ns` (ns since the epoch), reading the
    /// ledger's pending records through a connection of its own to
    /// `database_url`; returns how many it expired.
    ///
    /// # Errors
    /// [`ExpiryError`]; nothing is expired then.
    pub async fn expire_holds(
        &self,
        database_url: &str,
        now_ns: u64,
    ) -> Result<usize, ExpiryError> {
        // Only the lease's holder expires holds; the job never takes the
        // lease over (see `crate::lease`).
        if !self.lease_held() {
            return Ok(0);
        }
        let candidates = open_holds(&self.state());
        if candidates.is_empty() {
            return Ok(0);
        }
        let url = database_url.to_owned();
        let due = tokio::task::spawn_blocking(move || -> store::Result<HashSet<u128>> {
            let mut store = Store::open(&url)?;
            let mut due = HashSet::new();
            for id in candidates {
                if let Some(pending) = store.pending(TransferId(id))?
                    && pending.status == PendingStatus::Pending
                    && pending.expires_at != 0
                    && pending.expires_at <= now_ns
                {
                    due.insert(id);
                }
            }
            Ok(due)
        })
        .await
        .map_err(|_| ExpiryError::NotCommitted)??;
        if due.is_empty() {
            return Ok(0);
        }
        let mut count = 0;
        let committed = self
            .submit_locked(|state| {
                let mut records = Vec::new();
                for hold in state.transactions.values() {
                    if count >= HOLDS_PER_RUN_MAX || !due.contains(&hold.pending_transfer) {
                        continue;
                    }
                    match hold.state.as_str() {
                        "approved" => records.extend(expired(state, hold)),
                        // Marked already; its ledger hold is still open.
                        "expired" => {}
                        // Completed or reversed since: posted or voided first.
                        _ => continue,
                    }
                    count += 1;
                }
                (count > 0).then(|| (vec![WriteOp::ExpirePending { limit: count }], records))
            })
            .await;
        match committed {
            None => Ok(0),
            Some(true) => Ok(count),
            Some(false) => Err(ExpiryError::NotCommitted),
        }
    }
}

/// The server's job: every [`EXPIRY_INTERVAL`] until shutdown.
pub async fn run(
    host: std::sync::Arc<Host>,
    database_url: String,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(EXPIRY_INTERVAL) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        match host.expire_holds(&database_url, now_ns).await {
            Ok(0) => {}
            Ok(n) => {
                for _ in 0..n {
                    host.metrics().event("hold_expired");
                }
            }
            Err(error) => eprintln!("posbridge serve: hold expiry: {error}"),
        }
    }
}
