//! The write side of settlement runs: a run step's row, its settlements,
//! their legs and the resources it creates, many rows to a statement.
//!
//! Rows are bound from the run step itself ([`Param`] borrows their texts):
//! a step of 10 000 settlements, or a pass's 100 000 payout documents,
//! is not copied into owned values first (a copy and a free per text,
//! which cost more than the binding itself).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::api::ResourceRow;
use crate::codec::to_i64;
use crate::settlement_runs::{
    ItemSums, RUN_COLUMNS, RunWrite, Settlement, SettlementLeg, SettlementRun,
};
use crate::{Result, StoreError};

/// A statement parameter borrowed from the rows being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param<'a> {
    /// Text.
    Text(&'a str),
    /// Integer.
    Int(i64),
}

/// Runs one statement with its parameters.
pub(crate) type Execute<'e> = dyn FnMut(&str, &[Param<'_>]) -> Result<()> + 'e;

fn run_params(run: &SettlementRun) -> [Param<'_>; 12] {
    [
        Param::Text(&run.run_id),
        Param::Text(&run.business_date),
        Param::Text(&run.cycle),
        Param::Text(&run.status),
        Param::Int(to_i64(run.passes)),
        Param::Int(run.covered_seq),
        Param::Int(run.pass_to_seq),
        Param::Text(&run.pass_done_mid),
        Param::Int(to_i64(run.settlements)),
        Param::Int(to_i64(run.items)),
        Param::Int(to_i64(run.created_at_ns)),
        Param::Int(to_i64(run.updated_at_ns)),
    ]
}

fn sums_params(sums: &ItemSums) -> [Param<'static>; 8] {
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
    .map(Param::Int)
}

/// Writes accepted run steps with `execute`.
pub(crate) fn write_runs(writes: &[RunWrite], execute: &mut Execute<'_>) -> Result<()> {
    for write in writes {
        let sql = format!(
            "INSERT INTO settlement_runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
             ?9, ?10, ?11, ?12) ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, \
             passes = excluded.passes, covered_seq = excluded.covered_seq, \
             pass_to_seq = excluded.pass_to_seq, pass_done_mid = excluded.pass_done_mid, \
             settlements = excluded.settlements, items = excluded.items, \
             updated_at = excluded.updated_at"
        );
        execute(&sql, &run_params(&write.run))?;
        write_settlements(&write.settlements, execute)?;
        write_resources(&write.resources, execute)?;
    }
    Ok(())
}

/// Inserts the resources a run step creates, at version 1; one that exists
/// is kept as it is (it may have moved on: approved, sent).
fn write_resources(resources: &[ResourceRow], execute: &mut Execute<'_>) -> Result<()> {
    const COLUMNS: &str = "kind, id, scope, status, version, document, created_at, updated_at";
    // One buffer for every statement: a fresh one per statement is a large
    // allocation each time, and glibc then consolidates its small free
    // chunks again and again.
    let mut params = Vec::with_capacity(resources.len().min(ROWS_PER_INSERT) * 8);
    for chunk in resources.chunks(ROWS_PER_INSERT) {
        params.clear();
        for row in chunk {
            params.extend([
                Param::Text(&row.kind),
                Param::Text(&row.id),
                Param::Text(&row.scope),
                Param::Text(&row.status),
                Param::Int(1),
                Param::Text(&row.document),
                Param::Int(to_i64(row.created_at_ns)),
                Param::Int(to_i64(row.updated_at_ns)),
            ]);
        }
        execute(
            &insert_statement("api_resources", COLUMNS, 8, chunk.len(), Some("kind, id")),
            &params,
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

fn write_settlements(settlements: &[Settlement], execute: &mut Execute<'_>) -> Result<()> {
    const COLUMNS: &str = "key, run_id, pass, mid, business_date, cycle, items, captures_minor, \
         refunds_minor, fees_minor, chargebacks_minor, adjustments_minor, discounts_minor, \
         fee_share_minor, points, net_minor, outcome, legs";
    // The two texts a settlement does not hold as such, built first so the
    // parameters can borrow them.
    let keys: Vec<String> = settlements.iter().map(Settlement::key).collect();
    let legs: Vec<String> = settlements.iter().map(|s| encode_legs(&s.legs)).collect();
    // One buffer for every statement (see `write_resources`).
    let mut params = Vec::with_capacity(settlements.len().min(ROWS_PER_INSERT) * 18);
    let rows = settlements.iter().zip(keys.iter().zip(&legs));
    let rows: Vec<_> = rows.collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        params.clear();
        for (s, (key, legs)) in chunk {
            params.extend([
                Param::Text(key),
                Param::Text(&s.run_id),
                Param::Int(to_i64(s.pass)),
                Param::Text(&s.mid),
                Param::Text(&s.business_date),
                Param::Text(&s.cycle),
                Param::Int(to_i64(s.items)),
            ]);
            params.extend(sums_params(&s.sums));
            params.push(Param::Int(s.net_minor));
            params.push(Param::Text(&s.outcome));
            params.push(Param::Text(legs));
        }
        execute(
            &insert_statement("settlements", COLUMNS, 18, chunk.len(), Some("key")),
            &params,
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
