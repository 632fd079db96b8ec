//! The write side of settlement runs: a run step's row, its settlements,
//! their legs and the resources it creates, many rows to a statement.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::Result;
use crate::api::{ResourceRow, Value};
use crate::codec::{id_bytes, to_i64};
use crate::settlement_runs::{
    ItemSums, RUN_COLUMNS, RunWrite, Settlement, SettlementLeg, SettlementRun,
};

fn run_values(run: &SettlementRun) -> Vec<Value> {
    vec![
        Value::Text(run.run_id.clone()),
        Value::Text(run.business_date.clone()),
        Value::Text(run.cycle.clone()),
        Value::Text(run.status.clone()),
        Value::Int(to_i64(run.passes)),
        Value::Int(run.covered_seq),
        Value::Int(run.pass_to_seq),
        Value::Text(run.pass_done_mid.clone()),
        Value::Int(to_i64(run.settlements)),
        Value::Int(to_i64(run.items)),
        Value::Int(to_i64(run.created_at_ns)),
        Value::Int(to_i64(run.updated_at_ns)),
    ]
}

fn sums_values(sums: &ItemSums) -> [Value; 8] {
    [
        sums.captures_minor,
        sums.refunds_minor,
        sums.fees_minor,
        sums.chargebacks_minor,
        sums.adjustments_minor,
        sums.discounts_minor,
        sums.fee_share_minor,
        sums.points,
    ]
    .map(Value::Int)
}

/// Writes accepted run steps with `execute`.
pub(crate) fn write_runs(
    writes: &[RunWrite],
    execute: &mut dyn FnMut(&str, &[Value]) -> Result<()>,
) -> Result<()> {
    for write in writes {
        let sql = format!(
            "INSERT INTO settlement_runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
             ?9, ?10, ?11, ?12) ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, \
             passes = excluded.passes, covered_seq = excluded.covered_seq, \
             pass_to_seq = excluded.pass_to_seq, pass_done_mid = excluded.pass_done_mid, \
             settlements = excluded.settlements, items = excluded.items, \
             updated_at = excluded.updated_at"
        );
        execute(&sql, &run_values(&write.run))?;
        write_settlements(&write.settlements, execute)?;
        write_resources(&write.resources, execute)?;
    }
    Ok(())
}

/// Inserts the resources a run step creates, at version 1; one that exists
/// is kept as it is (it may have moved on: approved, sent).
fn write_resources(
    resources: &[ResourceRow],
    execute: &mut dyn FnMut(&str, &[Value]) -> Result<()>,
) -> Result<()> {
    const COLUMNS: &str = "kind, id, scope, status, version, document, created_at, updated_at";
    for chunk in resources.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(chunk.len() * 8);
        for row in chunk {
            values.extend([
                Value::Text(row.kind.clone()),
                Value::Text(row.id.clone()),
                Value::Text(row.scope.clone()),
                Value::Text(row.status.clone()),
                Value::Int(1),
                Value::Text(row.document.clone()),
                Value::Int(to_i64(row.created_at_ns)),
                Value::Int(to_i64(row.updated_at_ns)),
            ]);
        }
        execute(
            &insert_statement("api_resources", COLUMNS, 8, chunk.len(), Some("kind, id")),
            &values,
        )?;
    }
    Ok(())
}

/// Rows per multi-row insert (well under both engines' parameter limits).
const ROWS_PER_INSERT: usize = 500;

/// Full-size inserts by table, built once per process: a chunk's SQL text
/// is long, and building it again for every chunk cost more than binding.
static FULL_INSERTS: Mutex<BTreeMap<&'static str, Arc<str>>> = Mutex::new(BTreeMap::new());

/// [`insert_sql`], from [`FULL_INSERTS`] for full chunks.
fn insert_statement(
    table: &'static str,
    columns: &str,
    width: usize,
    rows: usize,
    conflict: Option<&str>,
) -> Arc<str> {
    if rows != ROWS_PER_INSERT {
        return insert_sql(table, columns, width, rows, conflict).into();
    }
    let mut cache = FULL_INSERTS.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(
        cache
            .entry(table)
            .or_insert_with(|| insert_sql(table, columns, width, rows, conflict).into()),
    )
}

/// `INSERT INTO table (columns) VALUES (?1, …), (…) …` for `rows` rows,
/// skipping rows whose `conflict` key exists when one is named.
fn insert_sql(
    table: &str,
    columns: &str,
    width: usize,
    rows: usize,
    conflict: Option<&str>,
) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(100 + rows * width * 7);
    let _ = write!(sql, "INSERT INTO {table} ({columns}) VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..width {
            let separator = if column == 0 { "" } else { ", " };
            let _ = write!(sql, "{separator}?{}", row * width + column + 1);
        }
        sql.push(')');
    }
    if let Some(conflict) = conflict {
        let _ = write!(sql, " ON CONFLICT ({conflict}) DO NOTHING");
    }
    sql
}

fn write_settlements(
    settlements: &[Settlement],
    execute: &mut dyn FnMut(&str, &[Value]) -> Result<()>,
) -> Result<()> {
    const COLUMNS: &str = "key, run_id, pass, mid, business_date, cycle, items, captures_minor, \
         refunds_minor, fees_minor, chargebacks_minor, adjustments_minor, discounts_minor, \
         fee_share_minor, points, net_minor, outcome";
    for chunk in settlements.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(chunk.len() * 17);
        for s in chunk {
            values.extend([
                Value::Text(s.key()),
                Value::Text(s.run_id.clone()),
                Value::Int(to_i64(s.pass)),
                Value::Text(s.mid.clone()),
                Value::Text(s.business_date.clone()),
                Value::Text(s.cycle.clone()),
                Value::Int(to_i64(s.items)),
            ]);
            values.extend(sums_values(&s.sums));
            values.push(Value::Int(s.net_minor));
            values.push(Value::Text(s.outcome.clone()));
        }
        execute(
            &insert_statement("settlements", COLUMNS, 17, chunk.len(), Some("key")),
            &values,
        )?;
    }
    let legs: Vec<(String, &SettlementLeg)> = settlements
        .iter()
        .flat_map(|s| s.legs.iter().map(move |leg| (s.key(), leg)))
        .collect();
    for chunk in legs.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(chunk.len() * 6);
        for (key, leg) in chunk {
            values.extend([
                Value::Text(key.clone()),
                Value::Text(leg.account.clone()),
                Value::Text(leg.kind.clone()),
                Value::Int(leg.amount_minor),
                Value::Text(leg.payout_id.clone()),
                Value::Bytes(id_bytes(leg.transfer_id).to_vec()),
            ]);
        }
        let columns = "key, account, kind, amount_minor, payout_id, transfer_id";
        execute(
            &insert_statement(
                "settlement_legs",
                columns,
                6,
                chunk.len(),
                Some("key, account, kind"),
            ),
            &values,
        )?;
    }
    Ok(())
}
