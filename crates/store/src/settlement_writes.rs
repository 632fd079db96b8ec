//! The write side of settlement runs: a run step's row, its settlements,
//! their legs and the resources it creates, many rows to a statement.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::api::{ResourceRow, Value};
use crate::codec::to_i64;
use crate::settlement_runs::{
    ItemSums, RUN_COLUMNS, RunWrite, Settlement, SettlementLeg, SettlementRun,
};
use crate::{Result, StoreError};

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
    // One buffer for every statement: a fresh one per statement is a large
    // allocation each time, and glibc then consolidates its small free
    // chunks again and again.
    let mut values = Vec::with_capacity(resources.len().min(ROWS_PER_INSERT) * 8);
    for chunk in resources.chunks(ROWS_PER_INSERT) {
        values.clear();
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
         fee_share_minor, points, net_minor, outcome, legs";
    // One buffer for every statement (see `write_resources`).
    let mut values = Vec::with_capacity(settlements.len().min(ROWS_PER_INSERT) * 18);
    for chunk in settlements.chunks(ROWS_PER_INSERT) {
        values.clear();
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
            values.push(Value::Text(encode_legs(&s.legs)));
        }
        execute(
            &insert_statement("settlements", COLUMNS, 18, chunk.len(), Some("key")),
            &values,
        )?;
    }
    Ok(())
}

/// A settlement's legs as the `legs` column holds them (migration 11):
/// legs separated by `;`, fields by `,` (account, kind, amount, payout id,
/// transfer id in 32 hex digits), texts escaped by [`escape`].
pub(crate) fn encode_legs(legs: &[SettlementLeg]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(legs.len() * 96);
    for (index, leg) in legs.iter().enumerate() {
        if index > 0 {
            out.push(';');
        }
        escape(&leg.account, &mut out);
        out.push(',');
        escape(&leg.kind, &mut out);
        let _ = write!(out, ",{},", leg.amount_minor);
        escape(&leg.payout_id, &mut out);
        let _ = write!(out, ",{:032x}", leg.transfer_id);
    }
    out
}

/// The inverse of [`encode_legs`], legs ordered by account and kind, their
/// payout status empty.
///
/// # Errors
/// [`StoreError::Corrupt`] for a text [`encode_legs`] does not write.
pub(crate) fn decode_legs(text: &str) -> Result<Vec<SettlementLeg>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let corrupt = || StoreError::Corrupt("settlement legs".into());
    let mut legs = Vec::new();
    for leg in text.split(';') {
        let mut fields = leg.split(',');
        let mut next = || fields.next().ok_or_else(corrupt);
        let account = unescape(next()?)?;
        let kind = unescape(next()?)?;
        let amount_minor = next()?.parse().map_err(|_| corrupt())?;
        let payout_id = unescape(next()?)?;
        let transfer = next()?;
        let hex = transfer.len() == 32 && transfer.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || fields.next().is_some() {
            return Err(corrupt());
        }
        legs.push(SettlementLeg {
            account,
            kind,
            amount_minor,
            payout_id,
            transfer_id: u128::from_str_radix(transfer, 16).map_err(|_| corrupt())?,
            payout_status: String::new(),
        });
    }
    legs.sort_by(|a, b| (&a.account, &a.kind).cmp(&(&b.account, &b.kind)));
    Ok(legs)
}

/// `%`, `,` and `;` as `%25`, `%2C` and `%3B`.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            ',' => out.push_str("%2C"),
            ';' => out.push_str("%3B"),
            c => out.push(c),
        }
    }
}

fn unescape(text: &str) -> Result<String> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3);
        out.push(match code {
            Some("25") => '%',
            Some("2C") => ',',
            Some("3B") => ';',
            _ => return Err(StoreError::Corrupt("settlement legs: escape".into())),
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(account: &str, kind: &str, amount_minor: i64, transfer_id: u128) -> SettlementLeg {
        SettlementLeg {
            account: account.into(),
            kind: kind.into(),
            amount_minor,
            payout_id: format!("PO-20261124-T1-1-{account}"),
            transfer_id,
            payout_status: String::new(),
        }
    }

    #[test]
    fn legs_round_trip_through_their_column() {
        let legs = vec![
            leg("ACC-A", "credit", 1_234, 0x5E << 120 | 7),
            leg("ACC,%;B", "debit", -5, u128::MAX),
            leg("", "held", i64::MIN, 0),
            leg("ACC-Z", "credit", i64::MAX, 1),
        ];
        let text = encode_legs(&legs);
        assert_eq!(text.matches(';').count(), 3, "{text}");
        let mut sorted = legs.clone();
        sorted.sort_by(|a, b| (&a.account, &a.kind).cmp(&(&b.account, &b.kind)));
        assert_eq!(decode_legs(&text).unwrap(), sorted);
        assert_eq!(decode_legs("").unwrap(), Vec::new());
        assert_eq!(encode_legs(&[]), "");
        for bad in [
            "A,credit,1,PO",
            "A,credit,x,PO,00000000000000000000000000000001",
            "A,credit,1,PO,0000000000000000000000000000001",
            "A,credit,1,PO,00000000000000000000000000000001,extra",
            "A%2,credit,1,PO,00000000000000000000000000000001",
            "A%ZZ,credit,1,PO,00000000000000000000000000000001",
            "A,credit,1,PO,0000000000000000000000000000000g",
            "A,credit,1,PO,+0000000000000000000000000000001",
        ] {
            assert!(decode_legs(bad).is_err(), "{bad}");
        }
    }
}
