//! Settlement runs: captured items → merchant nets → legs to the bound
//! accounts → ledger transfers and payout instructions.
//!
//! A run is one per business date and cycle (`SR-YYYYMMDD-T1`), so asking
//! again finds the same run. It settles in passes: a pass covers the items
//! whose `seq` lies between the run's covered watermark and the item
//! watermark read when the pass started (the one writer commits items in
//! `seq` order, so every item up to it is there). A T+1 run normally has
//! one pass; the T+0 job ([`t0`]) adds a pass every few seconds while items
//! come in; the T+1 job ([`t1`]) starts a date's T+1 run once the date has
//! closed; a late item of a settled date is settled by the next pass.
//!
//! A pass:
//! 1. sums the items by merchant, terminal and kind in the engine: from the
//!    partial sums presummed during the day ([`presum`], run by the T+0 and
//!    T+1 jobs and `posbridge settle`; `store::Store::presum_settlement_items`)
//!    of the seq ranges wholly inside the pass, plus the raw items of the
//!    rest (`store::Store::settlement_aggregate_presummed`), exactly what
//!    a scan of the items gives, without scanning the day at cut-off;
//! 2. reads the plan ([`plan::Plan`]) once: risk holds, approved bindings
//!    grouped by merchant, account policies, merchants' payable ledger
//!    accounts and the clearing account of every split account;
//! 3. settles merchants in MID order, in chunks of
//!    [`RunOptions::chunk_merchants`]: per merchant the binding in force for
//!    each terminal (`domain::payouts::binding_in_force`), the legs
//!    (`domain::payouts::merchant_legs`: net split into credits, held
//!    credits, or an auto-debit), and a ledger transfer per leg between the
//!    merchant's payable account and the account's payout clearing account.
//!    A chunk is ONE commit: its clearing accounts, its transfers, its
//!    settlement rows and the run's progress (the last MID done). The next
//!    chunk is built on a thread of its own while one commits (it depends
//!    only on the plan and the sums, not on the commits before);
//! 4. ends with one commit creating a `payout` resource per account and
//!    kind (amounts summed from the legs as the chunks commit, or read from
//!    the stored legs when the pass was resumed; the same sums either way)
//!    (and an `approval` when the account's threshold is passed) and
//!    marking the pass settled: the resources ride on that run step
//!    (`store::RunWrite::resources`, many rows to a statement), so they
//!    are created exactly when the pass is marked settled, and the pass's
//!    audit event follows only if the step applied.
//!
//! Restart: a run found `running` resumes its open pass after the last MID
//! done; the same seq range sums to the same groups, so merchant ordinals,
//! transfer ids and payout ids are the same. Transfer ids are idempotency
//! keys and every run write names the progress it expects, so nothing is
//! paid twice and no item is skipped.
//!
//! Decisions: a merchant with no binding in force is recorded as `unbound`
//! and one without a payable ledger account as `no_ledger_account`; their
//! money stays in the payable account. A risk-held merchant is settled
//! (transfers posted to clearing) but its payout is `held` and cannot be
//! sent. Auto-debits are payouts of kind `debit`, approved at once.

mod build;
pub mod documents;
pub mod plan;
pub mod run;
pub mod t0;
pub mod t1;

use domain::BusinessDate;
use domain::settlement::Cycle;
use store::{Store, WriteOp, WriteOutcome};

pub use run::{RunOptions, RunReport, settle};

/// Why a settlement run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// Storage failed; the run resumes where it stopped when asked again.
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    /// The run was advanced by someone else meanwhile.
    #[error("settlement run {0} was advanced by another runner; ask again")]
    Raced(String),
    /// A stored resource could not be read.
    #[error("{0}")]
    Corrupt(String),
    /// Stopped on purpose after a number of commits (crash tests).
    #[error("stopped after {0} commits")]
    Stopped(usize),
}

/// Where a run reads and writes: a store of its own (`posbridge settle`)
/// or read connections plus the server's writer.
pub trait SettleIo {
    /// Runs `read` on a store.
    ///
    /// # Errors
    /// Storage errors.
    fn read<T>(&mut self, read: impl FnOnce(&mut Store) -> store::Result<T>) -> store::Result<T>;
    /// Commits one request.
    ///
    /// # Errors
    /// Storage errors.
    fn write(&mut self, ops: Vec<WriteOp>, now_ns: u64) -> store::Result<Vec<WriteOutcome>>;
    /// From now on, writes may return before they are durable, until
    /// [`SettleIo::end_sync_behind`] (see [`Store::sync_behind`]). The
    /// default does nothing: every write stays durable on return (the
    /// server's writer answers after its own sync).
    ///
    /// # Errors
    /// Storage errors.
    fn sync_behind(&mut self) -> store::Result<()> {
        Ok(())
    }
    /// Writes are durable on return again; the next one makes every write
    /// before it durable too.
    ///
    /// # Errors
    /// A sync that failed; storage errors.
    fn end_sync_behind(&mut self) -> store::Result<()> {
        Ok(())
    }
    /// A store of its own on the same database, for reads on another
    /// thread; `None` (the default) when there is none.
    ///
    /// # Errors
    /// Storage errors.
    fn open_beside(&mut self) -> store::Result<Option<Store>> {
        Ok(None)
    }
}

impl SettleIo for Store {
    fn read<T>(&mut self, read: impl FnOnce(&mut Store) -> store::Result<T>) -> store::Result<T> {
        read(self)
    }

    fn write(&mut self, ops: Vec<WriteOp>, now_ns: u64) -> store::Result<Vec<WriteOutcome>> {
        Store::write(self, ops, now_ns)
    }

    fn sync_behind(&mut self) -> store::Result<()> {
        Store::sync_behind(self).map(drop)
    }

    fn end_sync_behind(&mut self) -> store::Result<()> {
        Store::end_sync_behind(self)
    }

    fn open_beside(&mut self) -> store::Result<Option<Store>> {
        Store::open_beside(self).map(Some)
    }
}

/// A read connection and the server's writer.
#[derive(Debug)]
pub struct WriterIo {
    /// Read connection.
    pub reads: Store,
    /// The database's writer.
    pub writer: store::WriterHandle,
}

impl SettleIo for WriterIo {
    fn read<T>(&mut self, read: impl FnOnce(&mut Store) -> store::Result<T>) -> store::Result<T> {
        read(&mut self.reads)
    }

    fn write(&mut self, ops: Vec<WriteOp>, _now_ns: u64) -> store::Result<Vec<WriteOutcome>> {
        self.writer.write(ops)
    }

    fn open_beside(&mut self) -> store::Result<Option<Store>> {
        self.reads.open_beside().map(Some)
    }
}

/// Presums the items written since the last step (see
/// `store::Store::presum_settlement_items`), so passes read partial sums
/// instead of the day's items. An optimization only: a failure is logged
/// and the passes read the items not presummed themselves.
pub fn presum<I: SettleIo>(io: &mut I, now_ns: u64) -> Option<store::PresumReport> {
    match io.read(|store| store.presum_settlement_items(now_ns)) {
        Ok(report) => Some(report),
        Err(error) => {
            tracing::warn!(%error, "presum of settlement items failed; passes read the items");
            None
        }
    }
}

/// Page cache of a store that runs settlement on its own connection
/// (`posbridge settle`), KiB: a chunk's commit touches the right edges of
/// the settlement, ledger and resource B-trees and every account it moves;
/// with SQLite's default 2 MiB the pages spill to the WAL mid-transaction
/// and are read back. (The server's writer has its own cache.)
pub const RUN_CACHE_KIB: u32 = 65_536;

/// WAL pages after which a commit of a store that runs settlement on its
/// own connection checkpoints (SQLite's automatic checkpoint; the store's
/// usual bound is 16 384). A pass of 100 000 merchants writes about 30 000
/// pages: under the usual bound two of its commits (the last one, with
/// its 100 000 payouts, always) would copy the whole WAL into the database
/// and sync it before returning. A checkpoint makes nothing more durable
/// (every commit is synced to the WAL), so the run's commits leave it to
/// the store's close (`posbridge settle` ends there) or to a later commit
/// past this bound: the WAL stays bounded, at about 512 MiB plus one
/// commit. (The server's writer checkpoints on a thread of its own.)
pub const RUN_WAL_AUTOCHECKPOINT_PAGES: u32 = 131_072;

/// Gives a store's own SQLite connection the page cache of
/// [`RUN_CACHE_KIB`] and the checkpoint bound of
/// [`RUN_WAL_AUTOCHECKPOINT_PAGES`] for the runs it will carry out
/// (nothing on PostgreSQL, whose cache and checkpoints are the server's).
///
/// # Errors
/// Storage errors.
pub fn prepare_store(store: &mut Store) -> store::Result<()> {
    if store.kind() != store::EngineKind::Sqlite {
        return Ok(());
    }
    store.execute_sql(&format!(
        "PRAGMA cache_size=-{RUN_CACHE_KIB}; \
         PRAGMA wal_autocheckpoint={RUN_WAL_AUTOCHECKPOINT_PAGES};"
    ))
}

/// The run id of a date and cycle: `SR-YYYYMMDD-T1`.
#[must_use]
pub fn run_id(date: BusinessDate, cycle: Cycle) -> String {
    format!(
        "SR-{}-{}",
        date.to_string().replace('-', ""),
        cycle.as_str()
    )
}

/// Parses a run id back into its date and cycle.
#[must_use]
pub fn parse_run_id(id: &str) -> Option<(BusinessDate, Cycle)> {
    let rest = id.strip_prefix("SR-")?;
    let (digits, cycle) = rest.split_once('-')?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]);
    Some((BusinessDate::parse(&date)?, Cycle::parse(cycle)?))
}

/// Serializes runs within a process: the server's T+0 job and the
/// endpoint take it, so two runners never race on one run.
pub static RUNNER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Tag of settlement transfer ids (top byte), above every host id.
const TRANSFER_TAG: u128 = 0x5E;
/// Tag of payout clearing ledger accounts (top byte).
const CLEARING_TAG: u128 = 0x5C;

/// The ledger transfer of leg `leg` of the merchant at `ordinal` (its
/// place in MID order in the pass) of pass `pass` of the run of `date` and
/// `cycle`: the same on every attempt, unique across runs, and larger than
/// the host's ids, so the ledger need not look it up on a first attempt.
#[must_use]
pub fn transfer_id(date: BusinessDate, cycle: Cycle, pass: u64, ordinal: u64, leg: u16) -> u128 {
    let day = u128::try_from(date.days_since_epoch()).unwrap_or(0) & 0x7FFF_FFFF;
    let run = (day << 1) | u128::from(cycle == Cycle::T1);
    (TRANSFER_TAG << 120)
        | (run << 88)
        | ((u128::from(pass) & 0xFF_FFFF) << 64)
        | ((u128::from(ordinal) & 0xFFFF_FFFF_FFFF) << 16)
        | u128::from(leg)
}

/// The payout clearing ledger account of a settlement account.
#[must_use]
pub fn clearing_account(account: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("payout-clearing/{account}").as_bytes());
    let mut low = [0u8; 8];
    low.copy_from_slice(&digest[..8]);
    (CLEARING_TAG << 120) | u128::from(u64::from_be_bytes(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_round_trip_and_transfer_ids_are_distinct() {
        let date = BusinessDate::parse("2026-11-24").unwrap();
        let id = run_id(date, Cycle::T1);
        assert_eq!(id, "SR-20261124-T1");
        assert_eq!(parse_run_id(&id), Some((date, Cycle::T1)));
        for bad in [
            "SR-2026112-T1",
            "SR-20261124-T2",
            "XX-20261124-T1",
            "SR-20261324-T0",
        ] {
            assert_eq!(parse_run_id(bad), None, "{bad}");
        }
        let ids = [
            transfer_id(date, Cycle::T1, 1, 0, 0),
            transfer_id(date, Cycle::T0, 1, 0, 0),
            transfer_id(date, Cycle::T1, 2, 0, 0),
            transfer_id(date, Cycle::T1, 1, 1, 0),
            transfer_id(date, Cycle::T1, 1, 0, 1),
            transfer_id(date.next_day().unwrap(), Cycle::T1, 1, 0, 0),
        ];
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(
            ids.iter()
                .all(|id| *id > crate::seed::FUNDING_TRANSFER_BASE << 8)
        );
        assert_ne!(clearing_account("ACC-A"), clearing_account("ACC-B"));
    }
}
