//! The SQLite engine's writes of a batch's rows, into the caller's
//! transaction (see `sqlite`).

use ledger::Transfer;
use rusqlite::{Connection, params};

use crate::codec::{id_bytes, to_i64};
use crate::engine::Staged;
use crate::hash::IdMap;
use crate::host_rows::{HostRow, HostTable};
use crate::sqlite::ACCOUNT_COLUMNS;
use crate::sqlite::TRANSFER_COLUMNS;
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

fn write_host_rows(tx: &Connection, rows: &[HostRow]) -> Result<()> {
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
    tx: &Connection,
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

fn pending_id_param(transfer: &Transfer) -> Option<[u8; 16]> {
    (transfer.body.pending_id.0 != 0).then(|| id_bytes(transfer.body.pending_id.0))
}

/// Writes accounts; returns the `seq` of the new ones.
fn write_accounts(
    tx: &Connection,
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

pub(crate) fn write_transfers(tx: &Connection, table: &str, transfers: &[Transfer]) -> Result<()> {
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

fn write_pendings_and_history(tx: &Connection, staged: &Staged) -> Result<()> {
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

/// Every row of a batch, in the caller's transaction; returns the rowids of
/// the accounts inserted.
pub(crate) fn write_staged(
    tx: &Connection,
    staged: &Staged,
    rowids: &IdMap<u128, i64>,
) -> Result<Vec<(u128, i64)>> {
    let inserted = write_accounts(tx, staged, rowids)?;
    write_transfers(tx, "ledger_transfers", &staged.transfers)?;
    write_pendings_and_history(tx, staged)?;
    write_host_rows(tx, &staged.host_rows)?;
    write_settlement_items(tx, &staged.settlement_items)?;
    crate::api::write_sqlite(tx, staged)?;
    if let Some((holder, epoch)) = &staged.lease {
        tx.execute(
            "UPDATE host_lease SET holder = ?1, epoch = ?2 WHERE id = 1",
            params![holder, to_i64(*epoch)],
        )?;
    }
    Ok(inserted)
}
