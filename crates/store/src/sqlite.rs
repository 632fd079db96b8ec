//! The SQLite engine: one file, WAL, `synchronous=FULL` (an acknowledged
//! commit survives kill -9 and power loss), prepared cached statements.
//! Under a [`crate::Writer`] commits run with `synchronous=NORMAL` and the
//! writer's sync thread fdatasyncs the WAL before anyone is answered (see
//! `Engine::defer_sync`): the same guarantee, with the disk's latency taken
//! off the commit path. That thread also checkpoints the WAL (passively,
//! through its own connection, after answering), so checkpoints leave the
//! commit path too; the writer's automatic checkpoint remains as a bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ledger::{
    Account, AccountFlags, AccountId, BalanceSnapshot, LedgerId, NewTransfer, Pending,
    PendingStatus, Transfer, TransferFlags, TransferId,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::codec::{id_bytes, id_from, narrow, to_i64, to_u64};
use crate::engine::{DurableSync, Engine, Staged};
use crate::hash::IdMap;
use crate::host_rows::{HostTable, latest_per_key};
use crate::migrate::{CREATE_SCHEMA_MIGRATIONS, MIGRATIONS, SQLITE, render};
pub(crate) use crate::sqlite_rows::last_per_key;
use crate::sqlite_rows::{write_staged, write_transfers};
use crate::sqlite_wal::{Checkpoints, WalSync};
use crate::{Result, StoreError};

/// How long a writer waits for a lock held by another connection.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Tries of [`busy_wait`] a short pause apart, then a long one apart.
const BUSY_SHORT_TRIES: i32 = 200;
const BUSY_SHORT_PAUSE: std::time::Duration = std::time::Duration::from_micros(100);
const BUSY_LONG_PAUSE_MS: u64 = 2;

/// Waits for a lock another connection holds (a presum step's short write
/// transaction, say): tries again every 100 µs for the first 200 tries
/// (about 20–30 ms), then every 2 ms, for about [`BUSY_TIMEOUT_MS`] in all.
/// SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20, 25… ms between
/// tries, so the single writer, held up for 30 ms, went on up to 20 ms after
/// the lock was free, with every terminal's commit waiting behind it.
fn busy_wait(tries: i32) -> bool {
    let long_tries = i32::try_from(BUSY_TIMEOUT_MS / BUSY_LONG_PAUSE_MS).unwrap_or(i32::MAX);
    if tries < BUSY_SHORT_TRIES {
        std::thread::sleep(BUSY_SHORT_PAUSE);
        true
    } else if tries < BUSY_SHORT_TRIES + long_tries {
        std::thread::sleep(std::time::Duration::from_millis(BUSY_LONG_PAUSE_MS));
        true
    } else {
        false
    }
}

/// WAL pages after which a commit checkpoints. Larger than SQLite's 1,000
/// so that hot account pages rewritten by many commits are copied to the
/// database once; under a writer the sync thread checkpoints well before.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_384;
/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;
/// Page cache of the writer's connection, KiB (SQLite's default is 2 MiB):
/// the pages a commit touches (the right edges of the append-mostly tables,
/// the accounts, the cards) stay in memory rather than being read back
/// through the WAL index. Not larger: SQLite walks the cache's hash table
/// at the end of every write transaction, and at 64 MiB that walk cost more
/// than the reads it saved (perf, `bench auth`).
const WRITER_CACHE_KIB: u32 = 16_384;

pub(crate) const ACCOUNT_COLUMNS: &str = "id, ledger, code, flags, user_data, debits_pending, debits_posted, \
     credits_pending, credits_posted, timestamp";
pub(crate) const TRANSFER_COLUMNS: &str = "id, debit_account_id, credit_account_id, amount, pending_id, user_data, code, ledger, flags, timeout_s, timestamp";

pub(crate) struct Sqlite {
    connection: Connection,
    /// Account id → `seq` (the rowid alias), so balance updates seek an
    /// integer key rather than a 16-byte blob (filled by `accounts()` and by
    /// committed inserts).
    rowids: IdMap<u128, i64>,
    /// Set by the checkpoint thread after a checkpoint that copied every
    /// frame of a long enough WAL: the writer then copies the few committed since,
    /// itself, before its next transaction, which then starts the WAL over
    /// (see [`Checkpoints`]).
    checkpoint_caught_up: Option<Arc<AtomicBool>>,
    /// While writes are held ([`Engine::write_held`]): the accounts they
    /// inserted, whose `rowids` go if the held transaction does not commit.
    held: Option<Vec<u128>>,
    /// A held write failed: the held transaction was rolled back.
    held_failed: bool,
}

impl Sqlite {
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The database's path and its WAL file, opened for syncing. The WAL
    /// exists once the connection has read or written in WAL mode
    /// (migrations have); `None` without one (an in-memory database).
    fn wal_file(&self) -> Option<(String, std::fs::File)> {
        let path = self.connection.path().filter(|p| !p.is_empty())?;
        let wal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("{path}-wal"))
            .ok()?;
        Some((path.to_owned(), wal))
    }

    pub fn open(path: &str) -> Result<Self> {
        let mut connection = Connection::open(path)?;
        connection.busy_handler(Some(busy_wait))?;
        let mode: String = connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "{path}: journal_mode is {mode}, not wal"
            )));
        }
        connection.execute_batch(&format!(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};"
        ))?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        Ok(Self {
            connection,
            rowids: IdMap::default(),
            checkpoint_caught_up: None,
            held: None,
            held_failed: false,
        })
    }
}

fn account_from(row: &Row<'_>) -> rusqlite::Result<std::result::Result<Account, StoreError>> {
    let id: Vec<u8> = row.get(0)?;
    let user_data: Vec<u8> = row.get(4)?;
    let ints: [i64; 8] = [
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ];
    Ok(decode_account(&id, &user_data, ints))
}

/// `ints`: ledger, code, flags, four balances, timestamp.
pub(crate) fn decode_account(
    id: &[u8],
    user_data: &[u8],
    ints: [i64; 8],
) -> std::result::Result<Account, StoreError> {
    Ok(Account {
        id: AccountId(id_from(id)?),
        ledger: LedgerId(narrow(ints[0], "ledger")?),
        code: narrow(ints[1], "code")?,
        flags: AccountFlags(narrow(ints[2], "flags")?),
        user_data: id_from(user_data)?,
        debits_pending: to_u64(ints[3])?,
        debits_posted: to_u64(ints[4])?,
        credits_pending: to_u64(ints[5])?,
        credits_posted: to_u64(ints[6])?,
        timestamp: to_u64(ints[7])?,
    })
}

fn transfer_from(row: &Row<'_>) -> rusqlite::Result<std::result::Result<Transfer, StoreError>> {
    let ids: [Vec<u8>; 4] = [row.get(0)?, row.get(1)?, row.get(2)?, row.get(5)?];
    let pending_id: Option<Vec<u8>> = row.get(4)?;
    let ints: [i64; 6] = [
        row.get(3)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ];
    Ok(decode_transfer(&ids, pending_id.as_deref(), ints))
}

/// `ids`: id, debit, credit, user_data; `ints`: amount, code, ledger, flags,
/// timeout, timestamp.
pub(crate) fn decode_transfer(
    ids: &[Vec<u8>; 4],
    pending_id: Option<&[u8]>,
    ints: [i64; 6],
) -> std::result::Result<Transfer, StoreError> {
    let body = NewTransfer {
        id: TransferId(id_from(&ids[0])?),
        debit_account_id: AccountId(id_from(&ids[1])?),
        credit_account_id: AccountId(id_from(&ids[2])?),
        amount: to_u64(ints[0])?,
        pending_id: TransferId(pending_id.map(id_from).transpose()?.unwrap_or(0)),
        user_data: id_from(&ids[3])?,
        code: narrow(ints[1], "code")?,
        ledger: LedgerId(narrow(ints[2], "ledger")?),
        flags: TransferFlags(narrow(ints[3], "flags")?),
        timeout_s: narrow(ints[4], "timeout_s")?,
    };
    Ok(Transfer {
        body,
        timestamp: to_u64(ints[5])?,
    })
}

pub(crate) fn decode_pending(
    id: &[u8],
    status: i64,
    expires_at: i64,
) -> std::result::Result<Pending, StoreError> {
    let code: u8 = narrow(status, "status")?;
    let status = PendingStatus::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("pending status {code}")))?;
    Ok(Pending {
        id: TransferId(id_from(id)?),
        status,
        expires_at: to_u64(expires_at)?,
    })
}

fn pending_from(row: &Row<'_>) -> rusqlite::Result<std::result::Result<Pending, StoreError>> {
    let id: Vec<u8> = row.get(0)?;
    Ok(decode_pending(&id, row.get(1)?, row.get(2)?))
}

impl Sqlite {
    /// Before a transaction: after the checkpoint thread copied a long WAL,
    /// copies the few frames committed since, so that this transaction
    /// starts the WAL over (see [`Checkpoints`]). Best effort.
    fn catch_up_checkpoint(&mut self) {
        if self
            .checkpoint_caught_up
            .as_ref()
            .is_some_and(|caught_up| caught_up.swap(false, Ordering::AcqRel))
        {
            let _ = self
                .connection
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
    }

    /// Held writes that did not commit: their accounts have no rows.
    fn forget_held(&mut self, held: Vec<u128>) {
        for id in held {
            self.rowids.remove(&id);
        }
    }
}

impl Engine for Sqlite {
    fn lock_writer(&mut self) -> Result<()> {
        // An embedded file has one writing process: the host that opened it.
        Ok(())
    }

    fn lease(&mut self) -> Result<(String, u64)> {
        let (holder, epoch): (String, i64) = self.connection.query_row(
            "SELECT holder, epoch FROM host_lease WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok((holder, crate::codec::to_u64(epoch)?))
    }

    /// `synchronous=NORMAL`: a commit writes its WAL frames without waiting
    /// for the disk (SQLite still syncs the WAL before and the database after
    /// each checkpoint); an fdatasync of the WAL file then makes every commit
    /// written before it durable, as `synchronous=FULL` would have.
    fn defer_sync(&mut self) -> Result<Option<Box<dyn DurableSync>>> {
        let Some((path, wal)) = self.wal_file() else {
            return Ok(None);
        };
        self.connection.execute_batch(&format!(
            "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-{WRITER_CACHE_KIB};"
        ))?;
        let caught_up = Arc::new(AtomicBool::new(false));
        self.checkpoint_caught_up = Some(Arc::clone(&caught_up));
        Ok(Some(Box::new(WalSync {
            wal,
            checkpoints: Checkpoints::start(&path, caught_up),
            last_checkpoint: Instant::now(),
        })))
    }

    /// `synchronous=NORMAL` only; the WAL's sync as [`Engine::defer_sync`]'s,
    /// which never checkpoints without a checkpoint thread.
    fn defer_sync_plain(&mut self) -> Result<Option<Box<dyn DurableSync>>> {
        let Some((_, wal)) = self.wal_file() else {
            return Ok(None);
        };
        self.connection
            .execute_batch("PRAGMA synchronous=NORMAL;")?;
        Ok(Some(Box::new(WalSync {
            wal,
            checkpoints: None,
            last_checkpoint: Instant::now(),
        })))
    }

    fn restore_sync(&mut self) -> Result<()> {
        self.checkpoint_caught_up = None;
        self.connection.execute_batch("PRAGMA synchronous=FULL")?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        self.connection.execute_batch(CREATE_SCHEMA_MIGRATIONS)?;
        for (version, name, sql) in MIGRATIONS {
            let tx = self.connection.transaction()?;
            let applied: Option<i64> = tx
                .query_row(
                    "SELECT version FROM schema_migrations WHERE version = ?1",
                    [version],
                    |row| row.get(0),
                )
                .optional()?;
            if applied.is_some() {
                continue;
            }
            let failed = |e: rusqlite::Error| StoreError::Migration {
                version: *version,
                message: e.to_string(),
            };
            tx.execute_batch(&render(sql, &SQLITE)).map_err(failed)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                params![version, name],
            )
            .map_err(failed)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn write(&mut self, staged: &Staged) -> Result<()> {
        self.catch_up_checkpoint();
        let tx = self.connection.transaction()?;
        let inserted = write_staged(&tx, staged, &self.rowids)?;
        tx.commit()?;
        self.rowids.extend(inserted);
        Ok(())
    }

    fn holds_commits(&self) -> bool {
        true
    }

    /// Held writes share one open transaction. A failed write rolls it back
    /// whole: every write held with it fails too (the writer answers them
    /// all with the error), as the requests of one batch do.
    fn write_held(&mut self, staged: &Staged) -> Result<()> {
        let held = match self.held.take() {
            // SQLite rolled the transaction back by itself (an I/O error,
            // say), or a held write failed: nothing more joins it.
            Some(held) if self.held_failed || self.connection.is_autocommit() => {
                self.held_failed = true;
                self.forget_held(held);
                self.held = Some(Vec::new());
                return Err(StoreError::Database(
                    "the transaction this write joins was rolled back".into(),
                ));
            }
            Some(held) => held,
            None => {
                self.catch_up_checkpoint();
                self.connection.execute_batch("BEGIN")?;
                Vec::new()
            }
        };
        match write_staged(&self.connection, staged, &self.rowids) {
            Ok(inserted) => {
                let held = self.held.insert(held);
                held.extend(inserted.iter().map(|(id, _)| *id));
                self.rowids.extend(inserted);
                Ok(())
            }
            Err(error) => {
                if !self.connection.is_autocommit() {
                    let _ = self.connection.execute_batch("ROLLBACK");
                }
                self.forget_held(held);
                self.held = Some(Vec::new());
                self.held_failed = true;
                Err(error)
            }
        }
    }

    fn commit_held(&mut self) -> Result<bool> {
        let Some(held) = self.held.take() else {
            return Ok(false);
        };
        if std::mem::take(&mut self.held_failed) {
            return Err(StoreError::Database(
                "a write of the transaction failed: it was rolled back".into(),
            ));
        }
        if let Err(error) = self.connection.execute_batch("COMMIT") {
            if !self.connection.is_autocommit() {
                let _ = self.connection.execute_batch("ROLLBACK");
            }
            self.forget_held(held);
            return Err(error.into());
        }
        Ok(true)
    }

    /// One scan of the table in its rowid order, sorted by id here: read by
    /// id, each row was a lookup of its own from the id index (100 000
    /// accounts took about 90 ms, a settlement run's first write).
    fn accounts(&mut self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS}, seq FROM ledger_accounts");
        let mut statement = self.connection.prepare_cached(&sql)?;
        let mut rows = statement.query([])?;
        let mut accounts = Vec::new();
        let mut rowids = IdMap::default();
        while let Some(row) = rows.next()? {
            let account = account_from(row)??;
            rowids.insert(account.id.0, row.get(10)?);
            accounts.push(account);
        }
        accounts.sort_unstable_by_key(|a| a.id.0);
        self.rowids = rowids;
        Ok(accounts)
    }

    fn account(&mut self, id: AccountId) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ?1");
        let mut statement = self.connection.prepare_cached(&sql)?;
        statement
            .query_row([id_bytes(id.0)], account_from)
            .optional()?
            .transpose()
    }

    fn transfers(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>> {
        // One read transaction for all lookups: autocommit would take and drop
        // the shared lock once per statement. (A savepoint: it nests in the
        // writer's held transaction, and writes nothing.)
        let tx = self.connection.savepoint()?;
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ?1");
        let mut statement = tx.prepare_cached(&sql)?;
        let mut found = Vec::new();
        for id in ids {
            if let Some(transfer) = statement
                .query_row([id_bytes(id.0)], transfer_from)
                .optional()?
            {
                found.push(transfer?);
            }
        }
        Ok(found)
    }

    fn pendings(&mut self, ids: &[TransferId]) -> Result<Vec<Pending>> {
        let tx = self.connection.savepoint()?;
        let mut statement =
            tx.prepare_cached("SELECT id, status, expires_at FROM ledger_pending WHERE id = ?1")?;
        let mut found = Vec::new();
        for id in ids {
            if let Some(pending) = statement
                .query_row([id_bytes(id.0)], pending_from)
                .optional()?
            {
                found.push(pending?);
            }
        }
        Ok(found)
    }

    fn pendings_due(&mut self, now: u64, limit: usize) -> Result<Vec<Pending>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT id, status, expires_at FROM ledger_pending WHERE status = 1 AND expires_at > 0 \
             AND expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![to_i64(now), limit], pending_from)?;
        rows.map(|row| row?).collect()
    }

    fn begin_snapshot(&mut self) -> Result<()> {
        // In WAL mode a deferred transaction reads one snapshot from its
        // first read to its end.
        self.connection.execute_batch("BEGIN DEFERRED")?;
        Ok(())
    }

    fn end_snapshot(&mut self) -> Result<()> {
        self.connection.execute_batch("COMMIT")?;
        Ok(())
    }

    fn all_pendings(&mut self) -> Result<Vec<Pending>> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT id, status, expires_at FROM ledger_pending")?;
        let rows = statement.query_map([], pending_from)?;
        rows.map(|row| row?).collect()
    }

    fn for_each_transfer(&mut self, visit: &mut dyn FnMut(Transfer)) -> Result<()> {
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers");
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            visit(transfer_from(row)??);
        }
        Ok(())
    }

    fn max_transfer_id_upto(&mut self, last: u128) -> Result<Option<u128>> {
        let max: Option<Vec<u8>> = self
            .connection
            .query_row(
                "SELECT id FROM ledger_transfers WHERE id <= ?1 ORDER BY id DESC LIMIT 1",
                [id_bytes(last)],
                |row| row.get(0),
            )
            .optional()?;
        max.map(|bytes| id_from(&bytes)).transpose()
    }

    fn max_timestamp(&mut self) -> Result<u64> {
        let max: i64 = self.connection.query_row(
            "SELECT MAX(COALESCE((SELECT MAX(timestamp) FROM ledger_transfers), 0), \
             COALESCE((SELECT MAX(timestamp) FROM ledger_accounts), 0))",
            [],
            |row| row.get(0),
        )?;
        to_u64(max)
    }

    fn history(&mut self, id: AccountId) -> Result<Vec<BalanceSnapshot>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT transfer_id, timestamp, debits_pending, debits_posted, credits_pending, credits_posted \
             FROM ledger_account_history WHERE account_id = ?1 ORDER BY timestamp",
        )?;
        let rows = statement.query_map([id_bytes(id.0)], |row| {
            let transfer: Vec<u8> = row.get(0)?;
            let ints: [i64; 5] = [
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ];
            Ok((transfer, ints))
        })?;
        let mut snapshots = Vec::new();
        for row in rows {
            let (transfer, ints) = row?;
            snapshots.push(decode_snapshot(id, &transfer, ints)?);
        }
        Ok(snapshots)
    }

    fn host_rows(&mut self, table: HostTable) -> Result<Vec<(String, String)>> {
        let mut select = self.connection.prepare(&table.select_sql())?;
        let rows = select.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(if table.logged() {
            latest_per_key(rows)
        } else {
            rows
        })
    }

    fn execute_sql(&mut self, sql: &str) -> Result<()> {
        Ok(self.connection.execute_batch(sql)?)
    }

    fn insert_plain_rows(&mut self, rows: u64, batch: u64) -> Result<Vec<u64>> {
        let mut latencies_us = Vec::new();
        let mut next = 0u64;
        while next < rows {
            let count = batch.min(rows - next);
            let transfers: Vec<Transfer> = (next..next + count)
                .map(crate::baseline::plain_row)
                .collect();
            let started = Instant::now();
            let tx = self.connection.transaction()?;
            write_transfers(&tx, "bench_plain_rows", &transfers)?;
            tx.commit()?;
            latencies_us.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            next += count;
        }
        Ok(latencies_us)
    }
}

/// `ints`: timestamp, four balances.
pub(crate) fn decode_snapshot(
    account_id: AccountId,
    transfer: &[u8],
    ints: [i64; 5],
) -> std::result::Result<BalanceSnapshot, StoreError> {
    Ok(BalanceSnapshot {
        account_id,
        transfer_id: TransferId(id_from(transfer)?),
        timestamp: to_u64(ints[0])?,
        debits_pending: to_u64(ints[1])?,
        debits_posted: to_u64(ints[2])?,
        credits_pending: to_u64(ints[3])?,
        credits_posted: to_u64(ints[4])?,
    })
}
