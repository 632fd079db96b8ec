//! The host lease: several hosts on one PostgreSQL database, one active.
//!
//! Hosts decide from their in-memory [`HostState`], so two hosts deciding
//! for one terminal at once would each miss the other's effects (the same
//! RRNs, a duplicate or reversal not recognized). One host is therefore
//! active at a time: the holder of the lease row of migration 8
//! (`host_lease`: holder, epoch).
//!
//! - **Takeover on demand.** A host that gets an ISO request, an admin
//!   change or a QR payment while it does not hold the lease takes it over:
//!   its writer commits `WriteOp::TakeLease` (`epoch + 1`, under the batch
//!   lock, so after every batch in flight anywhere), then the host reloads
//!   its whole state from the database — after that commit, so it sees
//!   every commit made under the old epoch — and serves. Takeovers of one
//!   host run one at a time; requests arriving meanwhile wait for it.
//! - **Fencing.** Every request carrying the host's decisions starts with
//!   `WriteOp::Fence { epoch }`, the epoch read under the state lock where
//!   the decision was made. The writer checks it against the lease row
//!   inside the batch's transaction (under the batch lock every writer
//!   takes, so the lease cannot move before the commit) and refuses, with nothing written, a request whose
//!   epoch is no longer the lease's.
//! - **A fenced host** marks its lease lost and does not fail-stop: its
//!   in-memory state may hold the fenced request's effects, but the next
//!   request takes the lease back and replaces the whole state by a
//!   reload. The fenced ISO request itself wrote nothing, so it is decided
//!   once more after that takeover (a host learns it lost the lease only
//!   from a fenced write: answering `96` would cost the terminal a failed
//!   request on every switch of host); fenced a second time, it is
//!   answered `96`. A request that
//!   wrote nothing (a duplicate answered from memory) after a fenced
//!   commit of the same era is answered `96` too, since its answer may
//!   rest on the fenced effects.
//! - **Expiry** runs only while the host holds the lease; it never takes
//!   it over (an idle host's job would otherwise steal the lease from the
//!   active one every minute).
//! - **SQLite** has one process per file: the lease is not used there (no
//!   fence op, no takeover, no reload), so its hot path costs one branch.
//!
//! Counted in `GET /metrics` as the events `lease_takeover` and
//! `lease_fenced` (one per fenced request).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use store::{Store, WriteOp, WriteOutcome};

use crate::service::Host;
use crate::state::HostState;

/// A host's view of the lease.
#[derive(Debug)]
pub(crate) struct Lease {
    /// The database to reload from; `None`: the lease is not used.
    url: Option<String>,
    /// Who this host is, written into the lease row.
    holder: String,
    /// The epoch held, 0 when not held. Set under the state lock (with the
    /// reloaded state); cleared by whoever sees a request fenced.
    epoch: Arc<AtomicU64>,
    /// Commits submitted when the state was last reloaded.
    reloaded_at: AtomicU64,
    /// One takeover at a time.
    takeover: tokio::sync::Mutex<()>,
}

impl Lease {
    /// A lease that is not used (SQLite, or a host without a database URL).
    pub(crate) fn unused() -> Self {
        Self {
            url: None,
            holder: String::new(),
            epoch: Arc::new(AtomicU64::new(0)),
            reloaded_at: AtomicU64::new(0),
            takeover: tokio::sync::Mutex::new(()),
        }
    }

    /// The lease for a host over `database_url`: used on PostgreSQL only.
    pub(crate) fn for_database(database_url: &str) -> Self {
        let shared =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        if !shared {
            return Self::unused();
        }
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            url: Some(database_url.to_owned()),
            holder: format!("host-{}-{started}", std::process::id()),
            ..Self::unused()
        }
    }

    /// The epoch cell, for the commit follower.
    pub(crate) fn epoch_cell(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.epoch)
    }

    /// The epoch a decision is made under (read under the state lock); 0
    /// when the lease is not used.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The fence op of a request decided now (under the state lock), or
    /// `None` when the lease is not used. A host that lost the lease in the
    /// meantime names an epoch no lease has.
    pub(crate) fn fence(&self) -> Option<WriteOp> {
        self.url.as_ref()?;
        let epoch = match self.epoch() {
            0 => u64::MAX,
            held => held,
        };
        Some(WriteOp::Fence { epoch })
    }

    /// Commits submitted at the last reload (read under the state lock).
    pub(crate) fn reloaded_at(&self) -> u64 {
        self.reloaded_at.load(Ordering::Acquire)
    }

    /// Whether the host may serve without a takeover.
    pub(crate) fn held(&self) -> bool {
        self.url.is_none() || self.epoch() != 0
    }
}

/// Marks the lease lost after a request decided under `epoch` was fenced,
/// unless the host has taken it again since.
pub(crate) fn lost(epoch_cell: &AtomicU64, epoch: u64) {
    let _ = epoch_cell.compare_exchange(epoch, 0, Ordering::AcqRel, Ordering::Acquire);
}

impl Host {
    /// Makes sure this host holds the lease, taking it over and reloading
    /// the state when it does not; `false` when that failed (the request is
    /// answered `96`, nothing changed).
    pub(crate) async fn hold_lease(&self) -> bool {
        let lease = self.lease();
        if lease.held() {
            return true;
        }
        let _takeover = lease.takeover.lock().await;
        if lease.held() {
            return true;
        }
        let Some(url) = lease.url.clone() else {
            return true;
        };
        let take = vec![WriteOp::TakeLease {
            holder: lease.holder.clone(),
        }];
        let epoch = match self.writer().submit_async(take).await {
            Ok(ticket) => match ticket.recv().await.as_deref() {
                Ok([WriteOutcome::Lease { epoch }]) => *epoch,
                _ => return false,
            },
            Err(_) => return false,
        };
        // After the takeover commit: every commit of the old epoch is in.
        let loaded = tokio::task::spawn_blocking(move || -> store::Result<HostState> {
            let mut store = Store::open(&url)?;
            HostState::load(&mut store)
        })
        .await;
        let Ok(Ok(fresh)) = loaded else {
            self.metrics().event("lease_reload_failed");
            return false;
        };
        let mut state = self.state();
        *state = fresh;
        lease
            .reloaded_at
            .store(self.submitted_count(), Ordering::Release);
        lease.epoch.store(epoch, Ordering::Release);
        drop(state);
        self.metrics().event("lease_takeover");
        true
    }

    /// Whether this host may run its background jobs (expiry) now: it holds
    /// the lease, or the lease is not used.
    pub(crate) fn lease_held(&self) -> bool {
        self.lease().held()
    }

    /// Reads a fenced admin or QR change: marks the lease lost (it was
    /// decided under `epoch`).
    pub(crate) fn fenced_change(&self, epoch: u64, outcomes: &[WriteOutcome]) -> bool {
        let fenced = WriteOutcome::fenced(outcomes);
        if fenced {
            self.metrics().event("lease_fenced");
            lost(&self.lease().epoch, epoch);
        }
        fenced
    }
}
