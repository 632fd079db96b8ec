//! The write operations a batch is made of, and their outcomes.

use crate::host_rows::HostRow;
use ledger::{CreateAccountResult, CreateTransferResult, NewAccount, NewTransfer, TransferId};

/// One write operation. A request is a `Vec<WriteOp>`, applied in order and
/// committed in the same database transaction.
///
/// To add an operation (e.g. an authorization record with its duplicate key):
/// add a variant here and in [`WriteOutcome`], a migration for its table, its
/// validation in `Store::apply_op` (a pure core decides; the store stages
/// rows), and its rows in both engines' `write` — all within the one
/// transaction that also writes the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Create ledger accounts.
    CreateAccounts(Vec<NewAccount>),
    /// Create ledger transfers (plain, pending, post, void, linked chains).
    CreateTransfers(Vec<NewTransfer>),
    /// Expire up to `limit` open pending transfers whose timeout has passed.
    ExpirePending {
        /// The most pending transfers to expire in this operation.
        limit: usize,
    },
    /// Insert or replace terminal-host records. Written only when every
    /// transfer of the same request (`Vec<WriteOp>`) was created and every
    /// API write of it applied: a request's records, its transfers and its
    /// resources commit together or not at all.
    HostRows(Vec<HostRow>),
    /// An HTTP API change with its audit event and idempotency record
    /// (see [`crate::api`]).
    Api(Box<crate::api::ApiWrite>),
    /// Insert settlement items (see [`crate::SettlementItem`]); like
    /// `HostRows`, written only when every transfer of the same request was
    /// created; an item whose id exists is skipped.
    SettlementItems(Vec<crate::SettlementItem>),
    /// A step of a settlement run (see [`crate::RunWrite`]): written only
    /// when the run's stored progress is the one expected and every
    /// transfer before it in the same request was created or existed.
    SettlementRun(Box<crate::RunWrite>),
    /// The host lease epoch this request's decisions were made under (see
    /// migration 8). When the lease has moved on to another epoch the
    /// whole request is refused: none of its operations is applied, this
    /// one's outcome is `Fence(false)` and every other's `Fenced`.
    Fence {
        /// The epoch the deciding host holds.
        epoch: u64,
    },
    /// Takes the host lease over for `holder`: the lease's epoch + 1,
    /// answered as [`WriteOutcome::Lease`]. Requests later in the batch
    /// are fenced against the new epoch.
    TakeLease {
        /// Who takes the lease (for operators; fencing compares epochs).
        holder: String,
    },
}

impl WriteOp {
    /// The number of events, counted against the writer's batch limit.
    pub fn events(&self) -> usize {
        match self {
            Self::CreateAccounts(accounts) => accounts.len(),
            Self::CreateTransfers(transfers) => transfers.len(),
            Self::ExpirePending { limit } => *limit,
            Self::HostRows(rows) => rows.len(),
            Self::SettlementItems(items) => items.len(),
            Self::SettlementRun(write) => write.settlements.len().max(1),
            Self::Api(_) | Self::Fence { .. } | Self::TakeLease { .. } => 1,
        }
    }
}

/// The outcome of one [`WriteOp`], in the same position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// One result per account.
    Accounts(Vec<CreateAccountResult>),
    /// One result per transfer.
    Transfers(Vec<CreateTransferResult>),
    /// The pending transfers that expired.
    Expired(Vec<TransferId>),
    /// Whether the records were written (`false`: a transfer of the same
    /// request failed, or a record broke a length limit).
    HostRows(bool),
    /// The outcome of an API write.
    Api(crate::api::ApiOutcome),
    /// Whether the items were written (`false`: a transfer of the same
    /// request failed, or an item broke a length limit).
    SettlementItems(bool),
    /// Whether the run step was written (`false`: the run had moved on, or
    /// a transfer of the same request failed).
    SettlementRun(bool),
    /// Whether the request's fence held (`false`: the lease has moved on;
    /// nothing of the request was applied).
    Fence(bool),
    /// An operation of a request whose fence did not hold: not applied.
    Fenced,
    /// The lease was taken: its new epoch.
    Lease {
        /// The epoch now held.
        epoch: u64,
    },
}

impl WriteOutcome {
    /// Whether a request's outcomes say it was refused by its fence.
    pub fn fenced(outcomes: &[WriteOutcome]) -> bool {
        outcomes.iter().any(|o| matches!(o, Self::Fence(false)))
    }
}
