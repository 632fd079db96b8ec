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
use crate::host_rows::{HostRow, HostTable, latest_per_key};
use crate::migrate::{CREATE_SCHEMA_MIGRATIONS, MIGRATIONS, SQLITE, render};
use crate::sqlite_wal::{Checkpoints, WalSync};
use crate::{Result, StoreError};

/// The rows a batch must write: of several rows of one table and key (a
/// card changed by many requests of the batch), the last, which is what
/// writing them one after another would leave. In batch order.
pub(crate) fn last_per_key(rows: &[HostRow]) -> Vec<&HostRow> {
    let mut last: std::collections::HashMap<(HostTable, &str), usize> =
        std::collections::HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        last.insert((row.table, row.key.as_str()), index);
    }
    rows.iter()
        .enumerate()
        .filter(|(index, row)| last.get(&(row.table, row.key.as_str())) == Some(index))
        .map(|(_, row)| row)
        .collect()
}

/// The upsert of one host record, per table (prepared once per connection
/// and reused from its statement cache).
fn host_upsert_sql(table: HostTable) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<(HostTable, String)>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        HostTable::ALL
            .iter()
            .map(|table| {
                (
                    *table,
                    format!(
                        "INSERT INTO {} (key, body) VALUES (?1, ?2){}",
                        table.name(),
                        table.on_conflict()
                    ),
                )
            })
            .collect()
    });
    all.iter()
        .find(|(t, _)| *t == table)
        .map_or("", |(_, sql)| sql.as_str())
}

fn write_host_rows(tx: &rusqlite::Transaction<'_>, rows: &[HostRow]) -> Result<()> {
    for row in last_per_key(rows) {
        tx.prepare_cached(host_upsert_sql(row.table))?
            .execute(params![row.key, row.body])?;
    }
    Ok(())
}

/// Settlement items, one cached statement per row: on an embedded engine a
/// statement is no round trip, and one fixed statement is prepared once,
/// where a statement of as many rows as the batch has would be compiled
/// afresh for almost every batch (and push the others out of the cache).
fn write_settlement_items(
    tx: &rusqlite::Transaction<'_>,
    items: &[crate::settlement_items::SettlementItem],
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO settlement_items (item_id, mid, tid, rrn, business_date, cycle, channel, \
         kind, amount_minor, fee_minor, discount_minor, fee_share_minor, points, program, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
         ON CONFLICT (item_id) DO NOTHING",
    )?;
    for item in items {
        insert.execute(params![
            item.item_id,
            item.mid,
            item.tid,
            item.rrn,
            item.business_date,
            item.cycle,
            item.channel,
            item.kind,
            item.amount_minor,
            item.fee_minor,
            item.discount_minor,
            item.fee_share_minor,
            item.points,
            item.program,
            to_i64(item.created_at_ns),
        ])?;
    }
    Ok(())
}

/// How long a writer waits for a lock held by another connection.
const BUSY_TIMEOUT_MS: u64 = 5_000;
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
}

impl Sqlite {
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn open(path: &str) -> Result<Self> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
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

fn pending_id_param(transfer: &Transfer) -> Option<[u8; 16]> {
    (transfer.body.pending_id.0 != 0).then(|| id_bytes(transfer.body.pending_id.0))
}

/// Writes accounts; returns the `seq` of the new ones.
fn write_accounts(
    tx: &rusqlite::Transaction<'_>,
    staged: &Staged,
    rowids: &IdMap<u128, i64>,
) -> Result<Vec<(u128, i64)>> {
    let mut inserted = Vec::with_capacity(staged.accounts_new.len());
    let sql = format!(
        "INSERT INTO ledger_accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    );
    let mut insert = tx.prepare_cached(&sql)?;
    for a in &staged.accounts_new {
        insert.execute(params![
            id_bytes(a.id.0),
            i64::from(a.ledger.0),
            a.code,
            a.flags.0,
            id_bytes(a.user_data),
            to_i64(a.debits_pending),
            to_i64(a.debits_posted),
            to_i64(a.credits_pending),
            to_i64(a.credits_posted),
            to_i64(a.timestamp),
        ])?;
        inserted.push((a.id.0, tx.last_insert_rowid()));
    }
    let mut update_by_rowid = tx.prepare_cached(
        "UPDATE ledger_accounts SET debits_pending = ?2, debits_posted = ?3, credits_pending = ?4, \
         credits_posted = ?5 WHERE seq = ?1",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE ledger_accounts SET debits_pending = ?2, debits_posted = ?3, credits_pending = ?4, \
         credits_posted = ?5 WHERE id = ?1",
    )?;
    for a in &staged.accounts_changed {
        let balances = [
            a.debits_pending,
            a.debits_posted,
            a.credits_pending,
            a.credits_posted,
        ]
        .map(to_i64);
        let [dp, dpo, cp, cpo] = balances;
        let changed = match rowids.get(&a.id.0) {
            Some(rowid) => update_by_rowid.execute(params![rowid, dp, dpo, cp, cpo])?,
            None => update.execute(params![id_bytes(a.id.0), dp, dpo, cp, cpo])?,
        };
        if changed != 1 {
            return Err(StoreError::Corrupt(format!(
                "account {:#x}: {changed} rows updated",
                a.id.0
            )));
        }
    }
    Ok(inserted)
}

fn write_transfers(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    transfers: &[Transfer],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {table} ({TRANSFER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    );
    let mut insert = tx.prepare_cached(&sql)?;
    for t in transfers {
        let b = &t.body;
        insert.execute(params![
            id_bytes(b.id.0),
            id_bytes(b.debit_account_id.0),
            id_bytes(b.credit_account_id.0),
            to_i64(b.amount),
            pending_id_param(t),
            id_bytes(b.user_data),
            b.code,
            i64::from(b.ledger.0),
            b.flags.0,
            b.timeout_s,
            to_i64(t.timestamp),
        ])?;
    }
    Ok(())
}

fn write_pendings_and_history(tx: &rusqlite::Transaction<'_>, staged: &Staged) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO ledger_pending (id, status, expires_at) VALUES (?1, ?2, ?3)",
    )?;
    for p in &staged.pendings_new {
        insert.execute(params![
            id_bytes(p.id.0),
            p.status.code(),
            to_i64(p.expires_at)
        ])?;
    }
    let mut update = tx.prepare_cached("UPDATE ledger_pending SET status = ?2 WHERE id = ?1")?;
    for p in &staged.pendings_changed {
        update.execute(params![id_bytes(p.id.0), p.status.code()])?;
    }
    let mut history = tx.prepare_cached(
        "INSERT INTO ledger_account_history (account_id, timestamp, transfer_id, debits_pending, debits_posted, \
         credits_pending, credits_posted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for h in &staged.history {
        let balances = [
            h.debits_pending,
            h.debits_posted,
            h.credits_pending,
            h.credits_posted,
        ]
        .map(to_i64);
        history.execute(params![
            id_bytes(h.account_id.0),
            to_i64(h.timestamp),
            id_bytes(h.transfer_id.0),
            balances[0],
            balances[1],
            balances[2],
            balances[3],
        ])?;
    }
    Ok(())
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
        let Some(path) = self.connection.path().filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        // The WAL exists once the connection has read or written in WAL
        // mode (migrations have); without it, commits stay synchronous.
        let Ok(wal) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("{path}-wal"))
        else {
            return Ok(None);
        };
        self.connection.execute_batch(&format!(
            "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-{WRITER_CACHE_KIB};"
        ))?;
        let caught_up = Arc::new(AtomicBool::new(false));
        self.checkpoint_caught_up = Some(Arc::clone(&caught_up));
        Ok(Some(Box::new(WalSync {
            wal,
            checkpoints: Checkpoints::start(path, caught_up),
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
        if self
            .checkpoint_caught_up
            .as_ref()
            .is_some_and(|caught_up| caught_up.swap(false, Ordering::AcqRel))
        {
            // Best effort: the WAL then starts over with this transaction.
            let _ = self
                .connection
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
        let tx = self.connection.transaction()?;
        let inserted = write_accounts(&tx, staged, &self.rowids)?;
        write_transfers(&tx, "ledger_transfers", &staged.transfers)?;
        write_pendings_and_history(&tx, staged)?;
        write_host_rows(&tx, &staged.host_rows)?;
        write_settlement_items(&tx, &staged.settlement_items)?;
        crate::api::write_sqlite(&tx, staged)?;
        if let Some((holder, epoch)) = &staged.lease {
            tx.execute(
                "UPDATE host_lease SET holder = ?1, epoch = ?2 WHERE id = 1",
                params![holder, to_i64(*epoch)],
            )?;
        }
        tx.commit()?;
        self.rowids.extend(inserted);
        Ok(())
    }

    fn accounts(&mut self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY id");
        let mut statement = self.connection.prepare_cached(&sql)?;
        let rows = statement.query_map([], account_from)?;
        let accounts: Vec<Account> = rows.map(|row| row?).collect::<Result<_>>()?;
        let mut statement = self
            .connection
            .prepare_cached("SELECT id, seq FROM ledger_accounts")?;
        let mut rows = statement.query([])?;
        self.rowids.clear();
        while let Some(row) = rows.next()? {
            let id: Vec<u8> = row.get(0)?;
            self.rowids.insert(id_from(&id)?, row.get(1)?);
        }
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
        // the shared lock once per statement.
        let tx = self.connection.transaction()?;
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
        let tx = self.connection.transaction()?;
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
