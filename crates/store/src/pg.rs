//! The PostgreSQL engine (the synchronous `postgres` crate: call it from
//! dedicated threads or `spawn_blocking`, never from inside an async task).
//! Transfers are written with binary COPY, balances with one
//! `UPDATE … FROM unnest(…)`, so a batch costs a handful of round trips.
//! Each connection prepares a statement's text once ([`Statements`]) and
//! reuses it: a statement then costs one round trip, not two (parse, then
//! bind and execute).

use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

use ledger::{Account, AccountId, BalanceSnapshot, Pending, Transfer, TransferId};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, CopyInWriter, GenericClient, NoTls, Row, SimpleQueryMessage, Statement};

use crate::codec::{id_bytes, to_i64};
use crate::engine::{BatchStart, DurableSync, Engine, Staged};
use crate::host_rows::{HostRow, HostTable, latest_per_key};
use crate::migrate::{CREATE_SCHEMA_MIGRATIONS, MIGRATIONS, POSTGRES, render};
use crate::sqlite::{
    ACCOUNT_COLUMNS, TRANSFER_COLUMNS, decode_account, decode_pending, decode_snapshot,
    decode_transfer, last_per_key,
};
use crate::{Result, StoreError};

/// A connection's prepared statements by SQL text. A prepared statement
/// lives as long as its connection (PostgreSQL re-plans it itself when a
/// table it reads changes); the cache is emptied when arbitrary SQL runs
/// (migrations, [`Engine::execute_sql`]), so that no statement outlives
/// the schema it was prepared for.
#[derive(Default)]
struct Statements(HashMap<String, Statement>);

impl Statements {
    /// `sql` prepared on `client`'s connection, once per connection.
    fn get(&mut self, client: &mut impl GenericClient, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// A connection (or a transaction on it) with its prepared statements.
struct Cached<'a, C> {
    client: &'a mut C,
    statements: &'a mut Statements,
}

impl<C: GenericClient> Cached<'_, C> {
    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let statement = self.statements.get(self.client, sql)?;
        Ok(self.client.execute(&statement, params)?)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let statement = self.statements.get(self.client, sql)?;
        Ok(self.client.query(&statement, params)?)
    }

    fn copy_in(&mut self, sql: &str) -> Result<CopyInWriter<'_>> {
        let statement = self.statements.get(self.client, sql)?;
        Ok(self.client.copy_in(&statement)?)
    }
}

/// One statement per table for the whole batch (a round trip per row made
/// PostgreSQL the host's bottleneck); of several rows of one key, the last
/// (one statement may not update a row twice).
fn write_host_rows(tx: &mut Cached<'_, impl GenericClient>, rows: &[HostRow]) -> Result<()> {
    let rows = last_per_key(rows);
    for table in HostTable::ALL {
        let (keys, bodies): (Vec<&str>, Vec<&str>) = rows
            .iter()
            .filter(|row| row.table == table)
            .map(|row| (row.key.as_str(), row.body.as_str()))
            .unzip();
        if keys.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO {} (key, body) SELECT * FROM unnest($1::text[], $2::text[]){}",
            table.name(),
            table.on_conflict()
        );
        tx.execute(sql.as_str(), &[&keys, &bodies])?;
    }
    Ok(())
}

pub(crate) struct Postgres {
    client: Client,
    /// For the writer's sync connection.
    url: String,
    /// A batch's transaction is open ([`Engine::begin_batch`]).
    in_batch: bool,
    statements: Statements,
}

/// Makes the writer's asynchronous commits durable: a transaction with an id
/// commits with a WAL flush up to its own commit record, which follows the
/// commit record of every commit that returned before it.
struct FlushSync(Client);

impl DurableSync for FlushSync {
    fn sync(&mut self) -> Result<()> {
        self.0
            .batch_execute("BEGIN; SELECT pg_current_xact_id(); COMMIT")?;
        Ok(())
    }
}

impl Postgres {
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The connection with its prepared statements.
    fn cached(&mut self) -> Cached<'_, Client> {
        Cached {
            client: &mut self.client,
            statements: &mut self.statements,
        }
    }

    pub fn connect(url: &str) -> Result<Self> {
        let client = Client::connect(url, NoTls)
            .map_err(|e| StoreError::Database(format!("connect: {e}")))?;
        Ok(Self {
            client,
            url: url.to_owned(),
            in_batch: false,
            statements: Statements::default(),
        })
    }
}

fn ids(values: impl Iterator<Item = u128>) -> Vec<Vec<u8>> {
    values.map(|id| id_bytes(id).to_vec()).collect()
}

fn account_from(row: &Row) -> Result<Account> {
    let id: Vec<u8> = row.try_get(0)?;
    let user_data: Vec<u8> = row.try_get(4)?;
    let code: i32 = row.try_get(2)?;
    let flags: i32 = row.try_get(3)?;
    let ints = [
        row.try_get(1)?,
        i64::from(code),
        i64::from(flags),
        row.try_get(5)?,
        row.try_get(6)?,
        row.try_get(7)?,
        row.try_get(8)?,
        row.try_get(9)?,
    ];
    decode_account(&id, &user_data, ints)
}

fn transfer_from(row: &Row) -> Result<Transfer> {
    let ids: [Vec<u8>; 4] = [
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(5)?,
    ];
    let pending_id: Option<Vec<u8>> = row.try_get(4)?;
    let code: i32 = row.try_get(6)?;
    let flags: i32 = row.try_get(8)?;
    let ints = [
        row.try_get(3)?,
        i64::from(code),
        row.try_get(7)?,
        i64::from(flags),
        row.try_get(9)?,
        row.try_get(10)?,
    ];
    decode_transfer(&ids, pending_id.as_deref(), ints)
}

fn pending_from(row: &Row) -> Result<Pending> {
    let id: Vec<u8> = row.try_get(0)?;
    let status: i16 = row.try_get(1)?;
    decode_pending(&id, i64::from(status), row.try_get(2)?)
}

/// Binary COPY of transfer rows into `table`.
fn copy_transfers(
    tx: &mut Cached<'_, impl GenericClient>,
    table: &str,
    transfers: &[Transfer],
) -> Result<()> {
    if transfers.is_empty() {
        return Ok(());
    }
    const FIELDS: i16 = 11;
    let mut buffer = Vec::with_capacity(32 + transfers.len() * 160);
    buffer.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buffer.extend_from_slice(&0i32.to_be_bytes()); // flags
    buffer.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    let bytes = |buffer: &mut Vec<u8>, value: &[u8]| {
        buffer.extend_from_slice(&i32::try_from(value.len()).unwrap_or(i32::MAX).to_be_bytes());
        buffer.extend_from_slice(value);
    };
    for t in transfers {
        let b = &t.body;
        buffer.extend_from_slice(&FIELDS.to_be_bytes());
        bytes(&mut buffer, &id_bytes(b.id.0));
        bytes(&mut buffer, &id_bytes(b.debit_account_id.0));
        bytes(&mut buffer, &id_bytes(b.credit_account_id.0));
        bytes(&mut buffer, &to_i64(b.amount).to_be_bytes());
        if b.pending_id.0 == 0 {
            buffer.extend_from_slice(&(-1i32).to_be_bytes());
        } else {
            bytes(&mut buffer, &id_bytes(b.pending_id.0));
        }
        bytes(&mut buffer, &id_bytes(b.user_data));
        bytes(&mut buffer, &i32::from(b.code).to_be_bytes());
        bytes(&mut buffer, &i64::from(b.ledger.0).to_be_bytes());
        bytes(&mut buffer, &i32::from(b.flags.0).to_be_bytes());
        bytes(&mut buffer, &i64::from(b.timeout_s).to_be_bytes());
        bytes(&mut buffer, &to_i64(t.timestamp).to_be_bytes());
    }
    buffer.extend_from_slice(&(-1i16).to_be_bytes());
    let sql = format!("COPY {table} ({TRANSFER_COLUMNS}) FROM STDIN (FORMAT binary)");
    let mut writer = tx.copy_in(&sql)?;
    writer
        .write_all(&buffer)
        .map_err(|e| StoreError::Database(format!("copy: {e}")))?;
    writer.finish()?;
    Ok(())
}

fn write_accounts(tx: &mut Cached<'_, impl GenericClient>, staged: &Staged) -> Result<()> {
    let column = |f: fn(&Account) -> u64, accounts: &[Account]| -> Vec<i64> {
        accounts.iter().map(|a| to_i64(f(a))).collect()
    };
    if !staged.accounts_new.is_empty() {
        let a = &staged.accounts_new;
        let ledgers: Vec<i64> = a.iter().map(|a| i64::from(a.ledger.0)).collect();
        let codes: Vec<i32> = a.iter().map(|a| i32::from(a.code)).collect();
        let flags: Vec<i32> = a.iter().map(|a| i32::from(a.flags.0)).collect();
        let sql = format!(
            "INSERT INTO ledger_accounts ({ACCOUNT_COLUMNS}) SELECT * FROM unnest($1::bytea[], $2::int8[], \
             $3::int4[], $4::int4[], $5::bytea[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[])"
        );
        let params: [&(dyn ToSql + Sync); 10] = [
            &ids(a.iter().map(|a| a.id.0)),
            &ledgers,
            &codes,
            &flags,
            &ids(a.iter().map(|a| a.user_data)),
            &column(|a| a.debits_pending, a),
            &column(|a| a.debits_posted, a),
            &column(|a| a.credits_pending, a),
            &column(|a| a.credits_posted, a),
            &column(|a| a.timestamp, a),
        ];
        tx.execute(&sql, &params)?;
    }
    if !staged.accounts_changed.is_empty() {
        let a = &staged.accounts_changed;
        tx.execute(
            "UPDATE ledger_accounts AS a SET debits_pending = v.dp, debits_posted = v.dpo, credits_pending = v.cp, \
             credits_posted = v.cpo FROM unnest($1::bytea[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) \
             AS v(id, dp, dpo, cp, cpo) WHERE a.id = v.id",
            &[
                &ids(a.iter().map(|a| a.id.0)),
                &column(|a| a.debits_pending, a),
                &column(|a| a.debits_posted, a),
                &column(|a| a.credits_pending, a),
                &column(|a| a.credits_posted, a),
            ],
        )?;
    }
    Ok(())
}

fn write_pendings(tx: &mut Cached<'_, impl GenericClient>, staged: &Staged) -> Result<()> {
    let status =
        |p: &[Pending]| -> Vec<i16> { p.iter().map(|p| i16::from(p.status.code())).collect() };
    if !staged.pendings_new.is_empty() {
        let p = &staged.pendings_new;
        let expires: Vec<i64> = p.iter().map(|p| to_i64(p.expires_at)).collect();
        tx.execute(
            "INSERT INTO ledger_pending (id, status, expires_at) SELECT * FROM unnest($1::bytea[], $2::int2[], $3::int8[])",
            &[&ids(p.iter().map(|p| p.id.0)), &status(p), &expires],
        )?;
    }
    if !staged.pendings_changed.is_empty() {
        let p = &staged.pendings_changed;
        tx.execute(
            "UPDATE ledger_pending AS p SET status = v.status FROM unnest($1::bytea[], $2::int2[]) AS v(id, status) \
             WHERE p.id = v.id",
            &[&ids(p.iter().map(|p| p.id.0)), &status(p)],
        )?;
    }
    Ok(())
}

fn write_history(
    tx: &mut Cached<'_, impl GenericClient>,
    history: &[BalanceSnapshot],
) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&BalanceSnapshot) -> u64| -> Vec<i64> {
        history.iter().map(|h| to_i64(f(h))).collect()
    };
    tx.execute(
        "INSERT INTO ledger_account_history (account_id, timestamp, transfer_id, debits_pending, debits_posted, \
         credits_pending, credits_posted) SELECT * FROM unnest($1::bytea[], $2::int8[], $3::bytea[], $4::int8[], \
         $5::int8[], $6::int8[], $7::int8[])",
        &[
            &ids(history.iter().map(|h| h.account_id.0)),
            &column(|h| h.timestamp),
            &ids(history.iter().map(|h| h.transfer_id.0)),
            &column(|h| h.debits_pending),
            &column(|h| h.debits_posted),
            &column(|h| h.credits_pending),
            &column(|h| h.credits_posted),
        ],
    )?;
    Ok(())
}

/// Opens a batch: the transaction, the batch lock (a transaction-level
/// advisory lock per schema: every writer process's batches run one at a
/// time, and a takeover, itself a batch, waits for an in-flight one), the
/// last writer's token and the lease. One round trip, as the plain `BEGIN`
/// it replaces, and nothing written while one writer works alone. The
/// lease row needs no row lock (`FOR UPDATE`): only batches change it, and
/// they hold the batch lock.
const BEGIN_BATCH: &str = "BEGIN; \
     SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.posbridge.ledger_writer', 0)); \
     SELECT w.token AS last_writer, l.holder, l.epoch FROM ledger_writer w CROSS JOIN host_lease l \
     WHERE w.id = 1 AND l.id = 1";

/// Reads [`BEGIN_BATCH`]'s answer.
fn batch_start(messages: &[SimpleQueryMessage]) -> Result<BatchStart> {
    for message in messages {
        let SimpleQueryMessage::Row(row) = message else {
            continue;
        };
        let named = |name: &str| row.columns().iter().position(|c| c.name() == name);
        if let (Some(w), Some(h), Some(e)) = (named("last_writer"), named("holder"), named("epoch"))
        {
            let text = |i| row.get(i).unwrap_or_default().to_owned();
            if let Some(epoch) = row.get(e).and_then(|v| v.parse::<u64>().ok()) {
                return Ok(BatchStart {
                    last_writer: text(w),
                    lease: (text(h), epoch),
                });
            }
        }
    }
    Err(StoreError::Database(
        "the ledger_writer or host_lease row is missing".into(),
    ))
}

/// Writes a batch's rows on the open transaction.
fn write_staged(client: &mut Cached<'_, impl GenericClient>, staged: &Staged) -> Result<()> {
    write_accounts(client, staged)?;
    copy_transfers(client, "ledger_transfers", &staged.transfers)?;
    write_pendings(client, staged)?;
    write_history(client, &staged.history)?;
    write_host_rows(client, &staged.host_rows)?;
    crate::api::write_pg(client.client, staged)?;
    if let Some(token) = &staged.writer_token {
        client.execute("UPDATE ledger_writer SET token = $1 WHERE id = 1", &[token])?;
    }
    if let Some((holder, epoch)) = &staged.lease {
        client.execute(
            "UPDATE host_lease SET holder = $1, epoch = $2 WHERE id = 1",
            &[holder, &to_i64(*epoch)],
        )?;
    }
    Ok(())
}

impl Engine for Postgres {
    /// `synchronous_commit = off` for this session: a commit returns once
    /// its WAL is written, and the writer's sync thread flushes it through a
    /// connection of its own ([`FlushSync`]) before anyone is answered.
    fn defer_sync(&mut self) -> Result<Option<Box<dyn DurableSync>>> {
        let flush = Client::connect(&self.url, NoTls)
            .map_err(|e| StoreError::Database(format!("connect the sync connection: {e}")))?;
        self.client.batch_execute("SET synchronous_commit = off")?;
        Ok(Some(Box::new(FlushSync(flush))))
    }

    fn restore_sync(&mut self) -> Result<()> {
        self.client.batch_execute("RESET synchronous_commit")?;
        Ok(())
    }

    /// Several processes may write one PostgreSQL database: each batch
    /// takes the batch lock instead ([`BEGIN_BATCH`]), and a store reloads
    /// its cache when another process wrote since its last batch.
    fn lock_writer(&mut self) -> Result<()> {
        Ok(())
    }

    fn begin_batch(&mut self) -> Result<Option<BatchStart>> {
        self.in_batch = true;
        let messages = self.client.simple_query(BEGIN_BATCH)?;
        batch_start(&messages).map(Some)
    }

    fn abort_batch(&mut self) -> Result<()> {
        if std::mem::take(&mut self.in_batch) {
            self.client.batch_execute("ROLLBACK")?;
        }
        Ok(())
    }

    fn lease(&mut self) -> Result<(String, u64)> {
        let row = self
            .client
            .query_one("SELECT holder, epoch FROM host_lease WHERE id = 1", &[])?;
        Ok((row.try_get(0)?, crate::codec::to_u64(row.try_get(1)?)?))
    }

    fn migrate(&mut self) -> Result<()> {
        self.statements = Statements::default();
        self.client.batch_execute(CREATE_SCHEMA_MIGRATIONS)?;
        for (version, name, sql) in MIGRATIONS {
            let mut tx = self.client.transaction()?;
            let version_param = i64::from(*version);
            let applied = tx.query_opt(
                "SELECT version FROM schema_migrations WHERE version = $1",
                &[&version_param],
            )?;
            if applied.is_some() {
                continue;
            }
            let failed = |e: postgres::Error| StoreError::Migration {
                version: *version,
                message: e.to_string(),
            };
            tx.batch_execute(&render(sql, &POSTGRES)).map_err(failed)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&version_param, name],
            )
            .map_err(failed)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn write(&mut self, staged: &Staged) -> Result<()> {
        if !self.in_batch {
            self.client.batch_execute("BEGIN")?;
            self.in_batch = true;
        }
        let written = write_staged(&mut self.cached(), staged);
        if written.is_err() {
            let _ = self.abort_batch();
            return written;
        }
        self.in_batch = false;
        self.client.batch_execute("COMMIT")?;
        Ok(())
    }

    fn accounts(&mut self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY id");
        self.client
            .query(&sql, &[])?
            .iter()
            .map(account_from)
            .collect()
    }

    fn account(&mut self, id: AccountId) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1");
        let id = id_bytes(id.0).to_vec();
        self.client
            .query_opt(&sql, &[&id])?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    fn transfers(&mut self, wanted: &[TransferId]) -> Result<Vec<Transfer>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ANY($1)");
        let rows = self
            .cached()
            .query(&sql, &[&ids(wanted.iter().map(|id| id.0))])?;
        rows.iter().map(transfer_from).collect()
    }

    fn pendings(&mut self, wanted: &[TransferId]) -> Result<Vec<Pending>> {
        let rows = self.cached().query(
            "SELECT id, status, expires_at FROM ledger_pending WHERE id = ANY($1)",
            &[&ids(wanted.iter().map(|id| id.0))],
        )?;
        rows.iter().map(pending_from).collect()
    }

    fn pendings_due(&mut self, now: u64, limit: usize) -> Result<Vec<Pending>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client.query(
            "SELECT id, status, expires_at FROM ledger_pending WHERE status = 1 AND expires_at > 0 \
             AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
            &[&to_i64(now), &limit],
        )?;
        rows.iter().map(pending_from).collect()
    }

    fn begin_snapshot(&mut self) -> Result<()> {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        Ok(())
    }

    fn end_snapshot(&mut self) -> Result<()> {
        self.client.batch_execute("COMMIT")?;
        Ok(())
    }

    fn all_pendings(&mut self) -> Result<Vec<Pending>> {
        let rows = self
            .client
            .query("SELECT id, status, expires_at FROM ledger_pending", &[])?;
        rows.iter().map(pending_from).collect()
    }

    fn for_each_transfer(&mut self, visit: &mut dyn FnMut(Transfer)) -> Result<()> {
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers");
        let params: [&(dyn ToSql + Sync); 0] = [];
        let mut rows = self.client.query_raw(&sql, params)?;
        while let Some(row) = rows.next()? {
            visit(transfer_from(&row)?);
        }
        Ok(())
    }

    fn max_transfer_id_upto(&mut self, last: u128) -> Result<Option<u128>> {
        // No max(bytea) in PostgreSQL; the primary key index answers this.
        let row = self.client.query_opt(
            "SELECT id FROM ledger_transfers WHERE id <= $1 ORDER BY id DESC LIMIT 1",
            &[&id_bytes(last).to_vec()],
        )?;
        let max: Option<Vec<u8>> = row.map(|row| row.try_get(0)).transpose()?;
        max.map(|bytes| crate::codec::id_from(&bytes)).transpose()
    }

    fn max_timestamp(&mut self) -> Result<u64> {
        let row = self.client.query_one(
            "SELECT GREATEST(COALESCE((SELECT MAX(timestamp) FROM ledger_transfers), 0), \
             COALESCE((SELECT MAX(timestamp) FROM ledger_accounts), 0))::int8",
            &[],
        )?;
        crate::codec::to_u64(row.try_get(0)?)
    }

    fn history(&mut self, id: AccountId) -> Result<Vec<BalanceSnapshot>> {
        let rows = self.client.query(
            "SELECT transfer_id, timestamp, debits_pending, debits_posted, credits_pending, credits_posted \
             FROM ledger_account_history WHERE account_id = $1 ORDER BY timestamp",
            &[&id_bytes(id.0).to_vec()],
        )?;
        let mut snapshots = Vec::new();
        for row in rows {
            let transfer: Vec<u8> = row.try_get(0)?;
            let ints = [
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
            ];
            snapshots.push(decode_snapshot(id, &transfer, ints)?);
        }
        Ok(snapshots)
    }

    fn host_rows(&mut self, table: HostTable) -> Result<Vec<(String, String)>> {
        let rows = self.client.query(table.select_sql().as_str(), &[])?;
        let rows = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
        Ok(if table.logged() {
            latest_per_key(rows)
        } else {
            rows
        })
    }

    fn execute_sql(&mut self, sql: &str) -> Result<()> {
        self.statements = Statements::default();
        Ok(self.client.batch_execute(sql)?)
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
            let mut tx = self.client.transaction()?;
            let mut cached = Cached {
                client: &mut tx,
                statements: &mut self.statements,
            };
            copy_transfers(&mut cached, "bench_plain_rows", &transfers)?;
            tx.commit()?;
            latencies_us.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            next += count;
        }
        Ok(latencies_us)
    }
}
