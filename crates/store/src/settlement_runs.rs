//! Settlement runs (migration 6): runs, per-merchant settlements and their
//! legs, and the engine-side aggregation of settlement items.
//!
//! A run is written with [`crate::WriteOp::SettlementRun`]: the new state of
//! the run, the progress it expects to find (so a chunk applies once even
//! if sent twice, and two runners can never both advance a run) and the
//! settlements of a chunk of merchants (each one row carrying its legs,
//! migration 11; see `settlement_writes`). Like settlement items, the rows are
//! written only when every ledger transfer of the same request was created
//! (or existed: transfer ids derive from run, pass, merchant and account).
//! The aggregation (`GROUP BY mid, tid`) runs in the engine.

use crate::api::Value;
use crate::codec::to_i64;
use crate::engine::Engine;
use crate::{Result, Store, StoreError};

/// A settlement run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRun {
    /// `SR-YYYYMMDD-T1`: derived from the date and cycle.
    pub run_id: String,
    /// Business date `YYYY-MM-DD`.
    pub business_date: String,
    /// `T0` or `T1`.
    pub cycle: String,
    /// `running` (a pass is open) or `settled`.
    pub status: String,
    /// Passes started.
    pub passes: u64,
    /// Items with `seq` up to this are settled by finished passes.
    pub covered_seq: i64,
    /// Watermark of the open pass (equal to `covered_seq` when none).
    pub pass_to_seq: i64,
    /// Last MID settled by the open pass (empty: none yet).
    pub pass_done_mid: String,
    /// Merchant settlements written, all passes.
    pub settlements: u64,
    /// Items settled, all passes.
    pub items: u64,
    /// Creation time, ns since the Unix epoch.
    pub created_at_ns: u64,
    /// Time of the last change, ns since the Unix epoch.
    pub updated_at_ns: u64,
}

/// The sums of a set of items, from the merchant's side (minor units;
/// refunds and chargebacks as positive amounts taken off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemSums {
    /// Captures (net of voids).
    pub captures_minor: i64,
    /// Refunds.
    pub refunds_minor: i64,
    /// Fees charged (net of fees given back).
    pub fees_minor: i64,
    /// Chargebacks.
    pub chargebacks_minor: i64,
    /// Adjustments, signed.
    pub adjustments_minor: i64,
    /// Brand-funded discounts.
    pub discounts_minor: i64,
    /// Fee shares owed to brand partners.
    pub fee_share_minor: i64,
    /// Points accrued.
    pub points: i64,
}

/// Items of one merchant, terminal and kind, summed by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantAggregate {
    /// MID.
    pub mid: String,
    /// TID.
    pub tid: String,
    /// Item kind (`capture`, `refund`, …).
    pub kind: String,
    /// Items summed.
    pub items: u64,
    /// Sum of `amount_minor` (signed from the merchant's side).
    pub amount_minor: i64,
    /// Sum of `fee_minor`.
    pub fee_minor: i64,
    /// Sum of `discount_minor`.
    pub discount_minor: i64,
    /// Sum of `fee_share_minor`.
    pub fee_share_minor: i64,
    /// Sum of `points`.
    pub points: i64,
}

/// One leg of a merchant's settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementLeg {
    /// Settlement account id.
    pub account: String,
    /// `credit`, `debit` or `held`.
    pub kind: String,
    /// Amount, positive, minor units.
    pub amount_minor: i64,
    /// The payout instruction it belongs to.
    pub payout_id: String,
    /// The ledger transfer that moved it.
    pub transfer_id: u128,
    /// Status of the payout (read only: filled by lists).
    pub payout_status: String,
}

/// A merchant's settlement in one pass of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The run.
    pub run_id: String,
    /// The pass, from 1.
    pub pass: u64,
    /// MID.
    pub mid: String,
    /// Business date.
    pub business_date: String,
    /// Cycle.
    pub cycle: String,
    /// Items settled.
    pub items: u64,
    /// Their sums.
    pub sums: ItemSums,
    /// Net, signed, minor units.
    pub net_minor: i64,
    /// `payout`, `auto_debit`, `held`, `nothing`, `unbound`,
    /// `no_ledger_account`.
    pub outcome: String,
    /// Its legs, by account and kind.
    pub legs: Vec<SettlementLeg>,
}

impl Settlement {
    /// The list key: `run_id/pass/mid`, pass zero-padded.
    #[must_use]
    pub fn key(&self) -> String {
        settlement_key(&self.run_id, self.pass, &self.mid)
    }
}

/// Payout ids looked up per query by the settlement lists.
const STATUS_IDS_PER_QUERY: usize = 500;

pub(crate) fn settlement_key(run_id: &str, pass: u64, mid: &str) -> String {
    format!("{run_id}/{pass:06}/{mid}")
}

/// What a run write expects to find stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProgress {
    /// Stored `status`.
    pub status: String,
    /// Stored `passes`.
    pub passes: u64,
    /// Stored `pass_done_mid`.
    pub pass_done_mid: String,
}

impl SettlementRun {
    /// The progress this state stands for.
    #[must_use]
    pub fn progress(&self) -> RunProgress {
        RunProgress {
            status: self.status.clone(),
            passes: self.passes,
            pass_done_mid: self.pass_done_mid.clone(),
        }
    }
}

/// A step of a run: its new state and the settlements of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunWrite {
    /// The run as it will be.
    pub run: SettlementRun,
    /// The progress it must have now (`None`: it must not exist yet).
    pub expected: Option<RunProgress>,
    /// Settlements to insert.
    pub settlements: Vec<Settlement>,
    /// Versioned resources the step creates (a finished pass's payouts and
    /// their approval requests), inserted with it in multi-row statements
    /// at version 1. The step applies at most once (it names the progress
    /// it expects) and these ids name the run and pass, so they do not
    /// exist yet; one that does is kept as it is (never a failed commit:
    /// under the server's writer that would stop the host).
    pub resources: Vec<crate::api::ResourceRow>,
}

/// A payout's amount summed from the legs of a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutTotal {
    /// Payout id.
    pub payout_id: String,
    /// Settlement account.
    pub account: String,
    /// `credit`, `debit` or `held`.
    pub kind: String,
    /// Sum, minor units.
    pub amount_minor: i64,
    /// Merchants in it.
    pub merchants: u64,
}

/// A filter of settlements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettlementQuery {
    /// Only this run.
    pub run_id: Option<String>,
    /// Only this business date.
    pub business_date: Option<String>,
    /// Only this merchant.
    pub mid: Option<String>,
    /// Only keys greater than this (the cursor).
    pub after_key: String,
    /// At most this many settlements.
    pub limit: u64,
}

/// Runs read for a write: current progress by run id.
#[derive(Debug, Default)]
pub(crate) struct RunWorking {
    stored: std::collections::HashMap<String, Option<RunProgress>>,
    staged: Vec<RunWrite>,
}

impl RunWorking {
    /// Reads the stored progress of every run the batch writes.
    pub fn prefetch<'a>(
        engine: &mut dyn Engine,
        ops: impl Iterator<Item = &'a crate::WriteOp>,
    ) -> Result<Self> {
        let mut working = Self::default();
        for op in ops {
            let crate::WriteOp::SettlementRun(write) = op else {
                continue;
            };
            if working.stored.contains_key(&write.run.run_id) {
                continue;
            }
            let run = read_run(engine, &write.run.run_id)?;
            working
                .stored
                .insert(write.run.run_id.clone(), run.map(|r| r.progress()));
        }
        Ok(working)
    }

    /// Applies `write` when the run's progress is as expected and every
    /// earlier transfer of its request was created or existed.
    pub fn apply(&mut self, write: RunWrite, earlier: &[crate::WriteOutcome]) -> bool {
        let transfers_ok = earlier.iter().all(|outcome| match outcome {
            crate::WriteOutcome::Transfers(results) => results.iter().all(|r| {
                matches!(
                    r,
                    ledger::CreateTransferResult::Ok | ledger::CreateTransferResult::Exists
                )
            }),
            _ => true,
        });
        let current = self.stored.get(&write.run.run_id).cloned().flatten();
        if !transfers_ok || current != write.expected {
            return false;
        }
        self.stored
            .insert(write.run.run_id.clone(), Some(write.run.progress()));
        self.staged.push(write);
        true
    }

    /// The writes accepted, in order.
    pub fn into_staged(self) -> Vec<RunWrite> {
        self.staged
    }
}

pub(crate) const RUN_COLUMNS: &str = "run_id, business_date, cycle, status, passes, covered_seq, \
     pass_to_seq, pass_done_mid, settlements, items, created_at, updated_at";

pub(crate) fn take(row: &mut impl Iterator<Item = Value>) -> Result<Value> {
    row.next()
        .ok_or_else(|| StoreError::Corrupt("missing column".into()))
}

/// A `mid, tid, kind, items, <sums>` row (the scan's and the presums').
pub(crate) fn aggregate_from(row: Vec<Value>) -> Result<MerchantAggregate> {
    let mut row = row.into_iter();
    Ok(MerchantAggregate {
        mid: take(&mut row)?.text()?,
        tid: take(&mut row)?.text()?,
        kind: take(&mut row)?.text()?,
        items: take(&mut row)?.unsigned()?,
        amount_minor: take(&mut row)?.int()?,
        fee_minor: take(&mut row)?.int()?,
        discount_minor: take(&mut row)?.int()?,
        fee_share_minor: take(&mut row)?.int()?,
        points: take(&mut row)?.int()?,
    })
}

fn run_from(row: Vec<Value>) -> Result<SettlementRun> {
    let mut row = row.into_iter();
    Ok(SettlementRun {
        run_id: take(&mut row)?.text()?,
        business_date: take(&mut row)?.text()?,
        cycle: take(&mut row)?.text()?,
        status: take(&mut row)?.text()?,
        passes: take(&mut row)?.unsigned()?,
        covered_seq: take(&mut row)?.int()?,
        pass_to_seq: take(&mut row)?.int()?,
        pass_done_mid: take(&mut row)?.text()?,
        settlements: take(&mut row)?.unsigned()?,
        items: take(&mut row)?.unsigned()?,
        created_at_ns: take(&mut row)?.unsigned()?,
        updated_at_ns: take(&mut row)?.unsigned()?,
    })
}

fn read_run(engine: &mut dyn Engine, run_id: &str) -> Result<Option<SettlementRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM settlement_runs WHERE run_id = ?1");
    let rows = engine.query(&sql, &[Value::Text(run_id.to_owned())])?;
    rows.into_iter().next().map(run_from).transpose()
}

fn sums_from(row: &mut impl Iterator<Item = Value>) -> Result<ItemSums> {
    Ok(ItemSums {
        captures_minor: take(row)?.int()?,
        refunds_minor: take(row)?.int()?,
        fees_minor: take(row)?.int()?,
        chargebacks_minor: take(row)?.int()?,
        adjustments_minor: take(row)?.int()?,
        discounts_minor: take(row)?.int()?,
        fee_share_minor: take(row)?.int()?,
        points: take(row)?.int()?,
    })
}

/// The engine's sums of items: count and the money and points columns.
const SUMS_SQL: &str = "COUNT(*), CAST(SUM(amount_minor) AS BIGINT), CAST(SUM(fee_minor) AS BIGINT), \
     CAST(SUM(discount_minor) AS BIGINT), CAST(SUM(fee_share_minor) AS BIGINT), \
     CAST(SUM(points) AS BIGINT)";

const SETTLEMENT_COLUMNS: &str = "s.run_id, s.pass, s.mid, s.business_date, s.cycle, s.items, \
     s.captures_minor, s.refunds_minor, s.fees_minor, s.chargebacks_minor, s.adjustments_minor, \
     s.discounts_minor, s.fee_share_minor, s.points, s.net_minor, s.outcome, s.legs";

fn settlement_from(row: &mut impl Iterator<Item = Value>) -> Result<Settlement> {
    Ok(Settlement {
        run_id: take(row)?.text()?,
        pass: take(row)?.unsigned()?,
        mid: take(row)?.text()?,
        business_date: take(row)?.text()?,
        cycle: take(row)?.text()?,
        items: take(row)?.unsigned()?,
        sums: sums_from(row)?,
        net_minor: take(row)?.int()?,
        outcome: take(row)?.text()?,
        legs: crate::settlement_writes::decode_legs(&take(row)?.text()?)?,
    })
}

impl Store {
    /// One run.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_run(&mut self, run_id: &str) -> Result<Option<SettlementRun>> {
        read_run(self.engine_mut(), run_id)
    }

    /// The largest item `seq` written (0 when none): the watermark a pass
    /// covers up to. Items are written by the one writer, so every item up
    /// to it is committed.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_items_watermark(&mut self) -> Result<i64> {
        let rows = self.engine_mut().query(
            "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM settlement_items",
            &[],
        )?;
        rows.into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .map_or(Ok(0), Value::int)
    }

    /// The business dates with items of `cycle` whose `seq` is above
    /// `after_seq`.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_dates_after(&mut self, cycle: &str, after_seq: i64) -> Result<Vec<String>> {
        let rows = self.engine_mut().query(
            "SELECT DISTINCT business_date FROM settlement_items WHERE seq > ?1 AND cycle = ?2 \
             ORDER BY business_date",
            &[Value::Int(after_seq), Value::Text(cycle.to_owned())],
        )?;
        rows.into_iter()
            .map(|row| take(&mut row.into_iter())?.text())
            .collect()
    }

    /// The items of a date and cycle with `from_seq < seq <= to_seq`,
    /// summed by merchant, terminal and kind (in that order) by the engine.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_aggregate(
        &mut self,
        business_date: &str,
        cycle: &str,
        seq_range: (i64, i64),
    ) -> Result<Vec<MerchantAggregate>> {
        let sql = format!(
            "SELECT mid, tid, kind, {SUMS_SQL} FROM settlement_items WHERE business_date = ?1 \
             AND cycle = ?2 AND seq > ?3 AND seq <= ?4 GROUP BY mid, tid, kind \
             ORDER BY mid, tid, kind"
        );
        let rows = self.engine_mut().query(
            &sql,
            &[
                Value::Text(business_date.to_owned()),
                Value::Text(cycle.to_owned()),
                Value::Int(seq_range.0),
                Value::Int(seq_range.1),
            ],
        )?;
        rows.into_iter().map(aggregate_from).collect()
    }

    /// The engine's plain aggregation of a date and cycle by merchant (the
    /// benchmark's limit): groups and the sum of their item counts.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_plain_aggregate(
        &mut self,
        business_date: &str,
        cycle: &str,
    ) -> Result<(u64, u64)> {
        let sql = format!(
            "SELECT mid, {SUMS_SQL} FROM settlement_items WHERE business_date = ?1 AND \
             cycle = ?2 GROUP BY mid"
        );
        let rows = self.engine_mut().query(
            &sql,
            &[
                Value::Text(business_date.to_owned()),
                Value::Text(cycle.to_owned()),
            ],
        )?;
        let mut items = 0;
        for row in &rows {
            if let Some(Value::Int(count)) = row.get(1) {
                items += crate::codec::to_u64(*count)?;
            }
        }
        Ok((rows.len() as u64, items))
    }

    /// The resources of `kind` (only those in `status` when given) a
    /// settlement pass's plan reads, by id: `(id, scope, document)`. With a `hint`, only documents
    /// that may hold that key: those containing it, or any `\u` escape
    /// (which could spell it); the engine filters them, so the documents
    /// that cannot matter are never decoded.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_plan_documents(
        &mut self,
        kind: &str,
        status: Option<&str>,
        hint: Option<&str>,
    ) -> Result<Vec<(String, String, String)>> {
        let mut sql = "SELECT id, scope, document FROM api_resources WHERE kind = ?1".to_owned();
        let mut params = vec![Value::Text(kind.to_owned())];
        if let Some(status) = status {
            params.push(Value::Text(status.to_owned()));
            sql.push_str(&format!(" AND status = ?{}", params.len()));
        }
        if let Some(hint) = hint {
            // `!` escapes nothing in these patterns: it only makes `\` plain
            // on both engines. `%` and `_` in a hint only widen the match.
            params.push(Value::Text(format!("%{hint}%")));
            params.push(Value::Text("%\\u%".to_owned()));
            sql.push_str(&format!(
                " AND (document LIKE ?{} ESCAPE '!' OR document LIKE ?{} ESCAPE '!')",
                params.len() - 1,
                params.len()
            ));
        }
        sql.push_str(" ORDER BY id");
        let rows = self.engine_mut().query(&sql, &params)?;
        rows.into_iter()
            .map(|row| {
                let mut row = row.into_iter();
                Ok((
                    take(&mut row)?.text()?,
                    take(&mut row)?.text()?,
                    take(&mut row)?.text()?,
                ))
            })
            .collect()
    }

    /// The payouts of a pass: its legs summed by payout, by payout id.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_payout_totals(
        &mut self,
        run_id: &str,
        pass: u64,
    ) -> Result<Vec<PayoutTotal>> {
        let prefix = format!("{run_id}/{pass:06}/");
        let end = format!("{run_id}/{pass:06}0");
        let rows = self.engine_mut().query(
            "SELECT legs FROM settlements WHERE key > ?1 AND key < ?2",
            &[Value::Text(prefix), Value::Text(end)],
        )?;
        let mut totals = std::collections::BTreeMap::<String, PayoutTotal>::new();
        for row in rows {
            for leg in crate::settlement_writes::decode_legs(&take(&mut row.into_iter())?.text()?)?
            {
                let total = totals
                    .entry(leg.payout_id.clone())
                    .or_insert_with(|| PayoutTotal {
                        payout_id: leg.payout_id,
                        account: leg.account,
                        kind: leg.kind,
                        amount_minor: 0,
                        merchants: 0,
                    });
                total.amount_minor = total
                    .amount_minor
                    .checked_add(leg.amount_minor)
                    .ok_or_else(|| StoreError::Corrupt("payout total overflow".into()))?;
                total.merchants += 1;
            }
        }
        Ok(totals.into_values().collect())
    }

    /// Settlements matching `query`, by key, with their legs and the status
    /// of each leg's payout.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlements(&mut self, query: &SettlementQuery) -> Result<Vec<Settlement>> {
        let mut params = vec![Value::Text(query.after_key.clone())];
        let mut filters = String::new();
        let named = [
            ("run_id", &query.run_id),
            ("business_date", &query.business_date),
            ("mid", &query.mid),
        ];
        for (column, value) in named {
            if let Some(value) = value {
                params.push(Value::Text(value.clone()));
                filters.push_str(&format!(" AND {column} = ?{}", params.len()));
            }
        }
        params.push(Value::Int(to_i64(query.limit)));
        let sql = format!(
            "SELECT {SETTLEMENT_COLUMNS} FROM settlements s WHERE key > ?1{filters} \
             ORDER BY key LIMIT ?{}",
            params.len()
        );
        let rows = self.engine_mut().query(&sql, &params)?;
        let mut out = rows
            .into_iter()
            .map(|row| settlement_from(&mut row.into_iter()))
            .collect::<Result<Vec<_>>>()?;
        self.fill_payout_statuses(&mut out)?;
        Ok(out)
    }

    /// Fills each leg's `payout_status` with its payout's status (empty
    /// when the payout does not exist).
    fn fill_payout_statuses(&mut self, settlements: &mut [Settlement]) -> Result<()> {
        let mut ids: Vec<String> = settlements
            .iter()
            .flat_map(|s| s.legs.iter().map(|leg| leg.payout_id.clone()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut statuses = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(STATUS_IDS_PER_QUERY) {
            let marks: Vec<String> = (2..chunk.len() + 2).map(|n| format!("?{n}")).collect();
            let sql = format!(
                "SELECT id, status FROM api_resources WHERE kind = ?1 AND id IN ({})",
                marks.join(", ")
            );
            let mut params = vec![Value::Text("payout".into())];
            params.extend(chunk.iter().cloned().map(Value::Text));
            for row in self.engine_mut().query(&sql, &params)? {
                let mut row = row.into_iter();
                let id = take(&mut row)?.text()?;
                statuses.insert(id, take(&mut row)?.text()?);
            }
        }
        for leg in settlements.iter_mut().flat_map(|s| s.legs.iter_mut()) {
            if let Some(status) = statuses.get(&leg.payout_id) {
                leg.payout_status.clone_from(status);
            }
        }
        Ok(())
    }
}
