//! What each engine implements. SQL lives in the engines only.

use ledger::{Account, AccountId, BalanceSnapshot, Pending, Transfer, TransferId};

use crate::Result;
use crate::host_rows::{HostRow, HostTable};

/// Rows to write in one transaction.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    pub accounts_new: Vec<Account>,
    pub accounts_changed: Vec<Account>,
    pub transfers: Vec<Transfer>,
    pub pendings_new: Vec<Pending>,
    pub pendings_changed: Vec<Pending>,
    pub history: Vec<BalanceSnapshot>,
    pub host_rows: Vec<HostRow>,
    pub api: crate::api::ApiStaged,
    pub settlement_items: Vec<crate::settlement_items::SettlementItem>,
    pub settlement_runs: Vec<crate::settlement_runs::RunWrite>,
    /// The host lease as taken in this batch (holder, epoch), if it was.
    pub lease: Option<(String, u64)>,
    /// This store's token, written as the last writer's when another
    /// process wrote the batch before ([`BatchStart::last_writer`]).
    pub writer_token: Option<String>,
}

/// What a batch found in the shared rows when it began (engines that other
/// processes may write concurrently: PostgreSQL).
#[derive(Debug, Clone)]
pub(crate) struct BatchStart {
    /// The token of the store that committed the last batch.
    pub last_writer: String,
    /// The host lease (holder, epoch); it cannot change before this batch
    /// ends (a takeover is a batch, under the same lock).
    pub lease: (String, u64),
}

/// Makes every commit returned so far durable (after
/// [`Engine::defer_sync`]); runs on the writer's sync thread.
pub(crate) trait DurableSync: Send {
    /// Returns once every commit that returned before the call is durable.
    fn sync(&mut self) -> Result<()>;
    /// Upkeep done after the synced commits were answered, off the commit
    /// path (SQLite: copying the WAL into the database). Best effort: a
    /// failure leaves it to the next call.
    fn upkeep(&mut self) {}
}

/// A storage engine: one connection.
pub(crate) trait Engine: Send + crate::api::ApiSql {
    /// Makes this connection the database's only ledger writer (the account
    /// cache is only correct then); fails when another writer holds it.
    fn lock_writer(&mut self) -> Result<()>;
    /// Opens the batch's transaction before anything is read, where other
    /// processes may write the same database: takes the batch lock (held
    /// to the commit) and reads the last writer's token and the lease. `None` (the default): this process is the only writer
    /// and the transaction is opened by [`Engine::write`].
    fn begin_batch(&mut self) -> Result<Option<BatchStart>> {
        Ok(None)
    }
    /// Rolls back a batch begun by [`Engine::begin_batch`] that will not
    /// be written.
    fn abort_batch(&mut self) -> Result<()> {
        Ok(())
    }
    /// The host lease (holder, epoch).
    fn lease(&mut self) -> Result<(String, u64)>;
    /// Applies migrations not yet recorded in `schema_migrations`.
    fn migrate(&mut self) -> Result<()>;
    /// Writes `staged` in one transaction and commits it durably.
    fn write(&mut self, staged: &Staged) -> Result<()>;
    /// All accounts.
    fn accounts(&mut self) -> Result<Vec<Account>>;
    /// One account.
    fn account(&mut self, id: AccountId) -> Result<Option<Account>>;
    /// Those of `ids` that exist.
    fn transfers(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>>;
    /// Pending records of those of `ids` that have one.
    fn pendings(&mut self, ids: &[TransferId]) -> Result<Vec<Pending>>;
    /// Open pending transfers due at `now`, oldest first.
    fn pendings_due(&mut self, now: u64, limit: usize) -> Result<Vec<Pending>>;
    /// Every pending record.
    fn all_pendings(&mut self) -> Result<Vec<Pending>>;
    /// Calls `visit` for every transfer.
    fn for_each_transfer(&mut self, visit: &mut dyn FnMut(Transfer)) -> Result<()>;
    /// The largest transfer id stored that is at most `last`, if any.
    fn max_transfer_id_upto(&mut self, last: u128) -> Result<Option<u128>>;
    /// The largest timestamp stored, 0 when empty.
    fn max_timestamp(&mut self) -> Result<u64>;
    /// Balance history of an account, oldest first.
    fn history(&mut self, id: AccountId) -> Result<Vec<BalanceSnapshot>>;
    /// Starts a read-only transaction whose reads all see one snapshot, so a
    /// commit landing between two reads (a live host, or a killed writer's
    /// last commit finishing on the server) cannot make them disagree.
    fn begin_snapshot(&mut self) -> Result<()>;
    /// Ends the snapshot started by [`Engine::begin_snapshot`].
    fn end_snapshot(&mut self) -> Result<()>;
    /// Every record of a host table, as (key, body), ordered by key.
    fn host_rows(&mut self, table: HostTable) -> Result<Vec<(String, String)>>;
    /// Runs raw SQL (operators' repair and tests' corruption only).
    fn execute_sql(&mut self, sql: &str) -> Result<()>;
    /// Lets commits return before they are durable, and returns what makes
    /// every commit so far durable, for a writer that syncs on a thread of
    /// its own and answers only after that sync. `None` (the default):
    /// commits stay durable on return.
    fn defer_sync(&mut self) -> Result<Option<Box<dyn DurableSync>>> {
        Ok(None)
    }
    /// As [`Engine::defer_sync`], for a connection of its own that commits
    /// large steps (a settlement run): nothing else of the connection
    /// changes (SQLite: its page cache stays, and no checkpoint thread
    /// starts).
    fn defer_sync_plain(&mut self) -> Result<Option<Box<dyn DurableSync>>> {
        self.defer_sync()
    }
    /// Makes commits durable on return again (after [`Engine::defer_sync`]).
    fn restore_sync(&mut self) -> Result<()> {
        Ok(())
    }
    /// Whether [`Engine::write_held`] can leave its transaction open for
    /// later batches to join (SQLite): the writer then commits once per
    /// sync of the WAL, so that the pages every batch touches (the ends of
    /// the tables, the balances) reach the WAL once per sync, not once per
    /// batch.
    fn holds_commits(&self) -> bool {
        false
    }
    /// Writes `staged` like [`Engine::write`] but leaves it uncommitted, in
    /// a transaction that later held writes join, until
    /// [`Engine::commit_held`]. A failed write rolls the whole held
    /// transaction back: `commit_held` then reports the failure for every
    /// write held with it.
    fn write_held(&mut self, staged: &Staged) -> Result<()> {
        self.write(staged)
    }
    /// Commits every held write; `false` when none was held. On an error,
    /// every held write is undone.
    fn commit_held(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Inserts `rows` plain rows of a transfer's width, `batch` per commit
    /// (the benchmark's baseline); returns each batch's commit latency in µs.
    fn insert_plain_rows(&mut self, rows: u64, batch: u64) -> Result<Vec<u64>>;
}
