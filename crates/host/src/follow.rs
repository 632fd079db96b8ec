//! Following the submitted commits: the durable watermark, each request's
//! own commit outcome, and fail-stop (see the `service` module docs).

use std::sync::Arc;

use store::WriteOutcome;
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;

/// How far the submitted commits are durable.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Progress {
    /// Every commit numbered up to this one is durable.
    pub durable: u64,
    /// A commit failed: the host has stopped deciding (fail-stop).
    pub failed: bool,
    /// The latest commit refused by its lease fence (see `lease`): nothing
    /// of it was written, and the host does not stop.
    pub fenced: u64,
}

/// How a submitted commit ended, as told to its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Durable.
    Durable,
    /// Refused by its lease fence: nothing written, the lease is lost.
    Fenced,
    /// Failed (the host has stopped).
    Failed,
}

/// A commit submitted to the writer, followed in sequence order.
pub(crate) struct Submitted {
    pub seq: u64,
    pub ticket: store::Ticket,
    pub own: oneshot::Sender<Commit>,
    /// The lease epoch it was decided under (0: no lease).
    pub epoch: u64,
}

/// Follows the commits in sequence order, on one task (so that a dropped
/// request cannot stall the watermark): reports each commit's own outcome
/// to its request, advances the durable watermark past it, and on a failure
/// stops the host. The single writer commits in submission order, so the
/// tickets complete in this order too: one wake-up serves a whole batch,
/// and the watermark is contiguous by construction.
pub(crate) async fn follow_commits(
    mut commits: mpsc::UnboundedReceiver<Submitted>,
    progress: Arc<watch::Sender<Progress>>,
    metrics: Arc<Metrics>,
    lease_epoch: Arc<std::sync::atomic::AtomicU64>,
) {
    while let Some(Submitted {
        seq,
        ticket,
        own,
        epoch,
    }) = commits.recv().await
    {
        let committed = match ticket.recv().await {
            Ok(outcomes) if outcomes.last() == Some(&WriteOutcome::HostRows(true)) => Ok(()),
            Ok(outcomes) if WriteOutcome::fenced(&outcomes) => {
                // Another host holds the lease: nothing was written. No
                // fail-stop: the next request takes the lease back and
                // reloads the state (see `lease`).
                metrics.event("lease_fenced");
                crate::lease::lost(&lease_epoch, epoch);
                progress.send_modify(|p| {
                    p.fenced = p.fenced.max(seq);
                    p.durable = p.durable.max(seq);
                });
                let _ = own.send(Commit::Fenced);
                continue;
            }
            Ok(_) => Err("ledger_rejected"),
            Err(_) => Err("store_failed"),
        };
        match committed {
            Ok(()) => {
                // Every earlier commit was followed before this one.
                progress.send_if_modified(|p| {
                    let advance = !p.failed && p.durable < seq;
                    if advance {
                        p.durable = seq;
                    }
                    advance
                });
            }
            Err(event) => {
                // Fail-stop before anyone is answered: the state ran ahead.
                metrics.event(event);
                let first = !progress.borrow().failed;
                progress.send_modify(|p| p.failed = true);
                if first {
                    metrics.event("host_unhealthy");
                    eprintln!(
                        "posbridge host: commit {seq} failed ({event}); the host stops \
                         deciding and answers 96 until it is restarted"
                    );
                }
            }
        }
        // The request is answered by its own commit: once durable, its
        // answer agrees with the database even if an earlier commit failed.
        // A request that stopped waiting is not an error.
        let _ = own.send(if committed.is_ok() {
            Commit::Durable
        } else {
            Commit::Failed
        });
    }
}
