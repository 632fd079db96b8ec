//! Settlement partials (migration 10): items summed during the day, so a
//! run does not scan the day's items at cut-off.
//!
//! A presum step ([`Store::presum_settlement_items`]) sums the items of the
//! seq range `(from_seq, to_seq]` — from the end of the last range to the
//! item watermark, at most [`STEP_ITEMS_MAX`] seqs a range — by business
//! date, cycle, merchant, terminal and kind (a run's `GROUP BY`) with ONE
//! `INSERT … SELECT … GROUP BY`, and records the range, in one transaction:
//! a range is written once, whole or not at all (a crash rolls it back and
//! the next step writes it again). Ranges are contiguous from seq 0 (from
//! the watermark at upgrade when migration 10 found items: a seed range
//! ending there, `from_seq` -1, no partials, never merged, so the history is
//! never presummed and passes read it as before)
//! and their bounds are unique, so two steps racing write each range once.
//!
//! Ranges written every few seconds hold few items each, and as many
//! partial rows as items when the merchants are many; so after a step the
//! newest range is merged into the one before while it holds at least as
//! many items (a binary counter: ranges double in size, there are about
//! log2 of them, and each partial row is rewritten about log2 times), up to
//! [`MERGE_ITEMS_MAX`] items a range (a merge rewrites only partial rows,
//! never items). Each merge is its own transaction: the older range's
//! partials are added into the newer's rows (upsert), then the older range
//! and its rows are deleted.
//!
//! A pass over `(covered, watermark]` ([`Store::settlement_aggregate_presummed`])
//! sums, in one snapshot, the partials of the ranges lying wholly inside
//! it and the raw items of the rest (the tail after the last range, and a
//! range straddling `covered`), read by seq. The result is exactly the one
//! of [`Store::settlement_aggregate`] (same groups, sums, counts, order),
//! which stays as the reference.
//!
//! Writes: on SQLite a step sums its range first, outside any transaction
//! that writes, then takes the database's write lock only to write the sums
//! (the single writer waits for it, within its busy timeout; hence also the
//! bounded range size); on PostgreSQL it touches no table the writer
//! writes, and sums and writes in one statement.

use crate::api::Value;
use crate::settlement_runs::{MerchantAggregate, aggregate_from, take};
use crate::{EngineKind, Result, Store, StoreError};

/// Largest seq span of one presum range: bounds a step's transaction.
pub const STEP_ITEMS_MAX: i64 = 500_000;
/// Longest seq range a pass with no presummed range inside reads by seq
/// (a longer one reads the date's range of items by the date index).
pub const RAW_BY_SEQ_MAX: i64 = 2_000_000;
/// Largest range (in items) a merge makes.
pub const MERGE_ITEMS_MAX: i64 = 16_000_000;

/// What [`Store::presum_settlement_items`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PresumReport {
    /// Ranges written.
    pub ranges: u64,
    /// Items summed into them.
    pub items: u64,
    /// Merges of neighbouring ranges.
    pub merges: u64,
    /// Items with `seq` up to this are presummed.
    pub presummed_to: i64,
}

/// One presum range as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresumRange {
    /// Exclusive lower seq bound.
    pub from_seq: i64,
    /// Inclusive upper seq bound.
    pub to_seq: i64,
    /// Items summed.
    pub items: i64,
}

const SUM_COLUMNS: &str = "CAST(SUM(amount_minor) AS BIGINT), CAST(SUM(fee_minor) AS BIGINT), \
     CAST(SUM(discount_minor) AS BIGINT), CAST(SUM(fee_share_minor) AS BIGINT), \
     CAST(SUM(points) AS BIGINT)";

/// Columns of a partial row as [`Store::presum_step_summed_first`] writes
/// it, and rows per statement (well within SQLite's 32,766 parameters).
const PARTIAL_COLUMNS: usize = 12;
const PARTIALS_PER_INSERT: usize = 500;

fn int_of(rows: &[Vec<Value>]) -> Result<i64> {
    match rows.first().and_then(|row| row.first()) {
        Some(Value::Int(value)) => Ok(*value),
        None => Ok(0),
        Some(_) => Err(StoreError::Corrupt("expected an integer".into())),
    }
}

/// Rows of `mid, tid, kind, items, <sums>` with each key's rows next to
/// each other → one aggregate per key, in the rows' order.
fn sum_neighbours(rows: Vec<Vec<Value>>) -> Result<Vec<MerchantAggregate>> {
    let mut out: Vec<MerchantAggregate> = Vec::with_capacity(rows.len());
    for row in rows {
        push_summed(&mut out, aggregate_from(row)?)?;
    }
    Ok(out)
}

/// Two lists of aggregates ordered by (mid, tid, kind) in byte order (as
/// SQLite orders text) → one, in that order, a key's sums in both added.
fn merge_ordered(
    a: Vec<MerchantAggregate>,
    b: Vec<MerchantAggregate>,
) -> Result<Vec<MerchantAggregate>> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if key(x) <= key(y) => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        let Some(next) = next else {
            return Ok(out);
        };
        push_summed(&mut out, next)?;
    }
}

/// The order of aggregates: by (mid, tid, kind), bytes.
fn key(x: &MerchantAggregate) -> (&str, &str, &str) {
    (&x.mid, &x.tid, &x.kind)
}

/// Adds `next` into the last of `out` when of the same key, else appends
/// it. Sums that overflow are an error, as the engine's `SUM` is.
fn push_summed(out: &mut Vec<MerchantAggregate>, next: MerchantAggregate) -> Result<()> {
    let overflow = || StoreError::Corrupt("partial sums overflow".into());
    match out.last_mut() {
        Some(last) if last.mid == next.mid && last.tid == next.tid && last.kind == next.kind => {
            last.items = last.items.checked_add(next.items).ok_or_else(overflow)?;
            let sums = [
                (&mut last.amount_minor, next.amount_minor),
                (&mut last.fee_minor, next.fee_minor),
                (&mut last.discount_minor, next.discount_minor),
                (&mut last.fee_share_minor, next.fee_share_minor),
                (&mut last.points, next.points),
            ];
            for (sum, value) in sums {
                *sum = sum.checked_add(value).ok_or_else(overflow)?;
            }
        }
        _ => out.push(next),
    }
    Ok(())
}

/// How a step ends (crash tests leave the transaction open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Commit,
    LeaveOpen,
}

impl Store {
    /// `FROM settlement_items` read by seq: on SQLite the indexes are
    /// excluded so the rowid range is used (the date index would be
    /// scanned whole for its order).
    fn items_by_seq(&self) -> &'static str {
        match self.kind() {
            EngineKind::Sqlite => "settlement_items NOT INDEXED",
            EngineKind::Postgres => "settlement_items",
        }
    }

    /// The date and cycle condition (`?1`, `?2`) of a read by seq: on
    /// PostgreSQL written so the date index cannot serve it (the planner,
    /// without fresh statistics, would scan the date's entries for a few
    /// seqs).
    fn date_and_cycle_by_seq(&self) -> &'static str {
        match self.kind() {
            EngineKind::Sqlite => "business_date = ?1 AND cycle = ?2",
            EngineKind::Postgres => "business_date || '' = ?1 AND cycle || '' = ?2",
        }
    }

    fn begin_write(&mut self) -> Result<()> {
        let begin = match self.kind() {
            EngineKind::Sqlite => "BEGIN IMMEDIATE",
            EngineKind::Postgres => "BEGIN",
        };
        self.engine_mut().execute_sql(begin)
    }

    /// Runs `body` in a write transaction: committed when it returns
    /// `Ok(true)`, rolled back on `Ok(false)` or an error.
    fn in_write(
        &mut self,
        ending: Ending,
        body: impl FnOnce(&mut Self) -> Result<bool>,
    ) -> Result<bool> {
        self.begin_write()?;
        let outcome = body(self);
        if ending == Ending::LeaveOpen && matches!(outcome, Ok(true)) {
            return outcome;
        }
        let end = if matches!(outcome, Ok(true)) {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        let ended = self.engine_mut().execute_sql(end);
        let outcome = outcome?;
        ended?;
        Ok(outcome)
    }

    /// The presum ranges, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_presum_ranges(&mut self) -> Result<Vec<PresumRange>> {
        let rows = self.engine_mut().query(
            "SELECT from_seq, to_seq, items FROM settlement_presum_ranges ORDER BY to_seq",
            &[],
        )?;
        rows.into_iter()
            .map(|row| {
                let mut row = row.into_iter();
                Ok(PresumRange {
                    from_seq: take(&mut row)?.int()?,
                    to_seq: take(&mut row)?.int()?,
                    items: take(&mut row)?.int()?,
                })
            })
            .collect()
    }

    /// Presums the items written since the last step, up to the item
    /// watermark (see the module docs): a range per [`STEP_ITEMS_MAX`]
    /// seqs, each in its own transaction, then merges of small ranges.
    /// Idempotent and restartable; safe beside the writer and another
    /// step.
    ///
    /// # Errors
    /// Database errors (what was committed before stays; the next step goes
    /// on from there).
    pub fn presum_settlement_items(&mut self, now_ns: u64) -> Result<PresumReport> {
        let mut report = PresumReport::default();
        while let Some((range, written)) = self.presum_step(now_ns, Ending::Commit)? {
            if !written {
                break; // another step wrote it: the next call goes on
            }
            report.ranges += 1;
            report.items += crate::codec::to_u64(range.items)?;
            report.merges += self.merge_newest()?;
        }
        report.presummed_to = self.settlement_presummed_to()?;
        Ok(report)
    }

    /// Writes one range and leaves its transaction open, then drops it
    /// with the connection: what a crash in the middle of a step does
    /// (tests). Returns whether there was a range to write.
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub fn presum_step_left_open(&mut self, now_ns: u64) -> Result<bool> {
        Ok(self.presum_step(now_ns, Ending::LeaveOpen)?.is_some())
    }

    /// Items with `seq` up to this are presummed (0: none).
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_presummed_to(&mut self) -> Result<i64> {
        let rows = self.engine_mut().query(
            "SELECT CAST(COALESCE(MAX(to_seq), 0) AS BIGINT) FROM settlement_presum_ranges",
            &[],
        )?;
        int_of(&rows)
    }

    /// One range: `None` when nothing is left to presum; the flag says
    /// whether this step wrote it (`false`: another step did meanwhile).
    fn presum_step(&mut self, now_ns: u64, ending: Ending) -> Result<Option<(PresumRange, bool)>> {
        if self.kind() == EngineKind::Sqlite {
            return self.presum_step_summed_first(now_ns, ending);
        }
        let mut range = None;
        let from_items = self.items_by_seq();
        let written = self.in_write(ending, |store| {
            let from = store.settlement_presummed_to()?;
            let watermark = store.settlement_items_watermark()?;
            if watermark <= from {
                return Ok(false);
            }
            let to = watermark.min(from.saturating_add(STEP_ITEMS_MAX));
            range = Some(PresumRange {
                from_seq: from,
                to_seq: to,
                items: 0,
            });
            let claimed = store.engine_mut().query(
                "INSERT INTO settlement_presum_ranges (to_seq, from_seq, items, created_at) \
                 VALUES (?1, ?2, 0, ?3) ON CONFLICT DO NOTHING RETURNING to_seq",
                &[
                    Value::Int(to),
                    Value::Int(from),
                    Value::Int(crate::codec::to_i64(now_ns)),
                ],
            )?;
            if claimed.is_empty() {
                return Ok(false);
            }
            store.engine_mut().query(
                &format!(
                    "INSERT INTO settlement_partials (business_date, cycle, mid, tid, kind, \
                     to_seq, items, amount_minor, fee_minor, discount_minor, fee_share_minor, \
                     points) SELECT business_date, cycle, mid, tid, kind, ?2, COUNT(*), \
                     {SUM_COLUMNS} FROM {from_items} WHERE seq > ?1 AND seq <= ?2 \
                     GROUP BY business_date, cycle, mid, tid, kind"
                ),
                &[Value::Int(from), Value::Int(to)],
            )?;
            let counted = store.engine_mut().query(
                "UPDATE settlement_presum_ranges SET items = (SELECT \
                 CAST(COALESCE(SUM(items), 0) AS BIGINT) FROM settlement_partials \
                 WHERE to_seq = ?1) WHERE to_seq = ?1 RETURNING items",
                &[Value::Int(to)],
            )?;
            if let Some(range) = &mut range {
                range.items = int_of(&counted)?;
            }
            Ok(true)
        })?;
        Ok(range.map(|range| (range, written)))
    }

    /// One range, on SQLite: summed before the write transaction, by
    /// statements of their own (items up to the watermark are committed and
    /// never change, so the range's sums are the same whenever they are
    /// read), so that the database's write lock, which the single writer
    /// then waits for, is held only to write the sums. Summed under it, a
    /// step's few seconds of items held every commit back for about 100 ms.
    fn presum_step_summed_first(
        &mut self,
        now_ns: u64,
        ending: Ending,
    ) -> Result<Option<(PresumRange, bool)>> {
        let from = self.settlement_presummed_to()?;
        let watermark = self.settlement_items_watermark()?;
        if watermark <= from {
            return Ok(None);
        }
        let to = watermark.min(from.saturating_add(STEP_ITEMS_MAX));
        // Rows in the column order of `PARTIAL_COLUMNS`.
        let sum = format!(
            "SELECT business_date, cycle, mid, tid, kind, ?2, COUNT(*), {SUM_COLUMNS} \
             FROM {} WHERE seq > ?1 AND seq <= ?2 \
             GROUP BY business_date, cycle, mid, tid, kind",
            self.items_by_seq()
        );
        let partials = self
            .engine_mut()
            .query(&sum, &[Value::Int(from), Value::Int(to)])?;
        let mut items = 0i64;
        for row in &partials {
            match row.get(6) {
                Some(Value::Int(count)) => items = items.saturating_add(*count),
                _ => return Err(StoreError::Corrupt("expected an item count".into())),
            }
        }
        let range = PresumRange {
            from_seq: from,
            to_seq: to,
            items,
        };
        let written = self.in_write(ending, |store| {
            // Another step wrote this range (or more) meanwhile.
            if store.settlement_presummed_to()? != from {
                return Ok(false);
            }
            let claimed = store.engine_mut().query(
                "INSERT INTO settlement_presum_ranges (to_seq, from_seq, items, created_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING RETURNING to_seq",
                &[
                    Value::Int(to),
                    Value::Int(from),
                    Value::Int(items),
                    Value::Int(crate::codec::to_i64(now_ns)),
                ],
            )?;
            if claimed.is_empty() {
                return Ok(false);
            }
            for chunk in partials.chunks(PARTIALS_PER_INSERT) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|row| {
                        let first = row * PARTIAL_COLUMNS + 1;
                        let marks: Vec<String> = (first..first + PARTIAL_COLUMNS)
                            .map(|column| format!("?{column}"))
                            .collect();
                        format!("({})", marks.join(", "))
                    })
                    .collect();
                let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
                store.engine_mut().query(
                    &format!(
                        "INSERT INTO settlement_partials (business_date, cycle, mid, tid, kind, \
                         to_seq, items, amount_minor, fee_minor, discount_minor, \
                         fee_share_minor, points) VALUES {}",
                        rows.join(", ")
                    ),
                    &params,
                )?;
            }
            Ok(true)
        })?;
        Ok(Some((range, written)))
    }

    /// Merges the newest range into the one before while it holds at least
    /// as many items (within [`MERGE_ITEMS_MAX`]); returns the merges.
    fn merge_newest(&mut self) -> Result<u64> {
        let mut merges = 0;
        loop {
            let rows = self.engine_mut().query(
                "SELECT from_seq, to_seq, items FROM settlement_presum_ranges \
                 ORDER BY to_seq DESC LIMIT 2",
                &[],
            )?;
            let ranges = rows
                .into_iter()
                .map(|row| {
                    let mut row = row.into_iter();
                    Ok((
                        take(&mut row)?.int()?,
                        take(&mut row)?.int()?,
                        take(&mut row)?.int()?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let [newest, older] = ranges[..] else {
                return Ok(merges);
            };
            // The seed of an upgraded database (`from_seq` -1, no partials:
            // the history before it) is never merged.
            if older.0 < 0
                || newest.2 < older.2
                || newest.2.saturating_add(older.2) > MERGE_ITEMS_MAX
            {
                return Ok(merges);
            }
            if !self.merge(older, newest)? {
                return Ok(merges);
            }
            merges += 1;
        }
    }

    /// Adds range `older` into `newer` (its successor) in one transaction;
    /// `false` when the ranges changed meanwhile.
    fn merge(&mut self, older: (i64, i64, i64), newer: (i64, i64, i64)) -> Result<bool> {
        self.in_write(Ending::Commit, |store| {
            let engine = store.engine_mut();
            let gone = engine.query(
                "DELETE FROM settlement_presum_ranges WHERE to_seq = ?1 AND from_seq = ?2 \
                 RETURNING to_seq",
                &[Value::Int(older.1), Value::Int(older.0)],
            )?;
            let moved = engine.query(
                "UPDATE settlement_presum_ranges SET from_seq = ?1, items = items + ?2 \
                 WHERE to_seq = ?3 AND from_seq = ?4 RETURNING to_seq",
                &[
                    Value::Int(older.0),
                    Value::Int(older.2),
                    Value::Int(newer.1),
                    Value::Int(newer.0),
                ],
            )?;
            if gone.is_empty() || moved.is_empty() {
                return Ok(false);
            }
            engine.query(
                "INSERT INTO settlement_partials (business_date, cycle, mid, tid, kind, to_seq, \
                 items, amount_minor, fee_minor, discount_minor, fee_share_minor, points) \
                 SELECT business_date, cycle, mid, tid, kind, ?2, items, amount_minor, \
                 fee_minor, discount_minor, fee_share_minor, points FROM settlement_partials \
                 WHERE to_seq = ?1 \
                 ON CONFLICT (business_date, cycle, mid, tid, kind, to_seq) DO UPDATE SET \
                 items = settlement_partials.items + excluded.items, \
                 amount_minor = settlement_partials.amount_minor + excluded.amount_minor, \
                 fee_minor = settlement_partials.fee_minor + excluded.fee_minor, \
                 discount_minor = settlement_partials.discount_minor + excluded.discount_minor, \
                 fee_share_minor = settlement_partials.fee_share_minor + excluded.fee_share_minor, \
                 points = settlement_partials.points + excluded.points",
                &[Value::Int(older.1), Value::Int(newer.1)],
            )?;
            engine.query(
                "DELETE FROM settlement_partials WHERE to_seq = ?1",
                &[Value::Int(older.1)],
            )?;
            Ok(true)
        })
    }

    /// The items of a date and cycle with `from_seq < seq <= to_seq`,
    /// summed by merchant, terminal and kind (in that order): exactly
    /// [`Store::settlement_aggregate`], from the partials of the presum
    /// ranges wholly inside the seq range and the raw items of the rest,
    /// read in one snapshot.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_aggregate_presummed(
        &mut self,
        business_date: &str,
        cycle: &str,
        seq_range: (i64, i64),
    ) -> Result<Vec<MerchantAggregate>> {
        self.engine_mut().begin_snapshot()?;
        let out = self.aggregate_in_snapshot(business_date, cycle, seq_range);
        let ended = self.engine_mut().end_snapshot();
        let out = out?;
        ended?;
        Ok(out)
    }

    fn aggregate_in_snapshot(
        &mut self,
        business_date: &str,
        cycle: &str,
        (covered, watermark): (i64, i64),
    ) -> Result<Vec<MerchantAggregate>> {
        // Ranges ending inside the pass, oldest first; only the first may
        // start before it (ranges are contiguous).
        let rows = self.engine_mut().query(
            "SELECT from_seq, to_seq FROM settlement_presum_ranges \
             WHERE to_seq > ?1 AND to_seq <= ?2 ORDER BY to_seq",
            &[Value::Int(covered), Value::Int(watermark)],
        )?;
        let mut inside = Vec::with_capacity(rows.len());
        for row in rows {
            let mut row = row.into_iter();
            let from = take(&mut row)?.int()?;
            let to = take(&mut row)?.int()?;
            if from >= covered {
                inside.push((from, to));
            }
        }
        let (Some(first), Some(last)) = (inside.first(), inside.last()) else {
            // Nothing presummed inside: a short range by seq, a long one
            // (no presum ran) by the date index, as before presums.
            if watermark.saturating_sub(covered) <= RAW_BY_SEQ_MAX {
                return self.aggregate_items_by_seq(business_date, cycle, (covered, watermark));
            }
            return self.settlement_aggregate(business_date, cycle, (covered, watermark));
        };
        let (low, high) = (first.0, last.1);
        let gaps: Vec<(i64, i64)> = [(covered, low), (high, watermark)]
            .into_iter()
            .filter(|(from, to)| from < to)
            .collect();
        let mut params = vec![
            Value::Text(business_date.to_owned()),
            Value::Text(cycle.to_owned()),
            Value::Int(low),
            Value::Int(high),
        ];
        let partials = "SELECT mid, tid, kind, items, amount_minor, fee_minor, discount_minor, \
             fee_share_minor, points FROM settlement_partials WHERE business_date = ?1 \
             AND cycle = ?2 AND to_seq > ?3 AND to_seq <= ?4";
        if gaps.is_empty() || self.kind() == EngineKind::Sqlite {
            // The partials read in the key's order (no sort) and summed
            // here: a key's rows (one per range) are neighbours, and adding
            // them up as they come costs far less than the engine's
            // aggregation of every column (most keys have one row).
            let sql = format!("{partials} ORDER BY mid, tid, kind");
            let rows = self.engine_mut().query(&sql, &params)?;
            let mut out = sum_neighbours(rows)?;
            // On SQLite, each gap's items summed apart (few) and merged in
            // by key (SQLite orders text by its bytes), rather than every
            // partial sorted again with them.
            for (from, to) in gaps {
                let items = if to - from <= RAW_BY_SEQ_MAX {
                    self.aggregate_items_by_seq(business_date, cycle, (from, to))?
                } else {
                    self.settlement_aggregate(business_date, cycle, (from, to))?
                };
                out = merge_ordered(out, items)?;
            }
            return Ok(out);
        }
        let mut sql = format!(
            "SELECT mid, tid, kind, CAST(SUM(items) AS BIGINT), {SUM_COLUMNS} FROM ({partials}"
        );
        let from_items = self.items_by_seq();
        let date_and_cycle = self.date_and_cycle_by_seq();
        for (from, to) in gaps {
            params.push(Value::Int(from));
            params.push(Value::Int(to));
            let (a, b) = (params.len() - 1, params.len());
            // A long gap (items from before presums) by the date index.
            let (table, condition) = if to - from <= RAW_BY_SEQ_MAX {
                (from_items, date_and_cycle)
            } else {
                ("settlement_items", "business_date = ?1 AND cycle = ?2")
            };
            sql.push_str(&format!(
                " UNION ALL SELECT mid, tid, kind, CAST(1 AS BIGINT), amount_minor, fee_minor, \
                 discount_minor, fee_share_minor, points FROM {table} WHERE seq > ?{a} \
                 AND seq <= ?{b} AND {condition}"
            ));
        }
        sql.push_str(") parts GROUP BY mid, tid, kind ORDER BY mid, tid, kind");
        let rows = self.engine_mut().query(&sql, &params)?;
        rows.into_iter().map(aggregate_from).collect()
    }

    /// Raw items of a seq range, read by seq.
    fn aggregate_items_by_seq(
        &mut self,
        business_date: &str,
        cycle: &str,
        (from, to): (i64, i64),
    ) -> Result<Vec<MerchantAggregate>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT mid, tid, kind, COUNT(*), {SUM_COLUMNS} FROM {} WHERE seq > ?3 AND \
             seq <= ?4 AND {} GROUP BY mid, tid, kind ORDER BY mid, tid, kind",
            self.items_by_seq(),
            self.date_and_cycle_by_seq()
        );
        let rows = self.engine_mut().query(
            &sql,
            &[
                Value::Text(business_date.to_owned()),
                Value::Text(cycle.to_owned()),
                Value::Int(from),
                Value::Int(to),
            ],
        )?;
        rows.into_iter().map(aggregate_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aggregate(mid: &str, kind: &str, items: u64, amount_minor: i64) -> MerchantAggregate {
        MerchantAggregate {
            mid: mid.into(),
            tid: "T1".into(),
            kind: kind.into(),
            items,
            amount_minor,
            fee_minor: 1,
            discount_minor: 0,
            fee_share_minor: 0,
            points: 2,
        }
    }

    /// Keys of both lists come out once, in byte order, their sums added;
    /// a sum that overflows is an error, not a wrapped total.
    #[test]
    fn merges_ordered_lists_by_key() {
        let a = vec![
            aggregate("M1", "capture", 2, 100),
            aggregate("M3", "refund", 1, -5),
        ];
        let b = vec![
            aggregate("M1", "capture", 1, 50),
            aggregate("M1", "refund", 1, -7),
            aggregate("M2", "capture", 4, 9),
        ];
        let merged = merge_ordered(a, b).unwrap();
        let mut expected = vec![
            aggregate("M1", "capture", 3, 150),
            aggregate("M1", "refund", 1, -7),
            aggregate("M2", "capture", 4, 9),
            aggregate("M3", "refund", 1, -5),
        ];
        expected[0].fee_minor = 2;
        expected[0].points = 4;
        assert_eq!(merged, expected);
        let full = vec![aggregate("M1", "capture", 1, i64::MAX)];
        assert!(merge_ordered(full.clone(), full).is_err());
    }
}
