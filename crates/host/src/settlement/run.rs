//! The run engine: passes, chunks, restart (see the module docs above).

use std::collections::BTreeMap;

use domain::BusinessDate;
use domain::money::AmountMinor;
use domain::payouts::{Leg, LegKind, binding_in_force, merchant_legs};
use domain::settlement::{Cycle, MerchantTotals, SplitLine};
use ledger::{AccountId, NewAccount, NewTransfer, TransferId};
use store::api::{ApiChange, ApiOutcome, ApiWrite, AuditEntry, ResourceRow};
use store::{
    ItemSums, MerchantAggregate, PayoutTotal, RunWrite, Settlement, SettlementLeg, SettlementRun,
    Store, WriteOp, WriteOutcome,
};

use super::documents::{payout_id, payout_puts};
use super::plan::{MerchantPlan, Plan};
use super::{SettleError, SettleIo, run_id, transfer_id};
use crate::seed::{LEDGER_CNY, LEDGER_CODE};

/// Merchants settled per commit by default.
pub const CHUNK_MERCHANTS_DEFAULT: usize = 10_000;

/// How a run is carried out.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Merchants per commit.
    pub chunk_merchants: usize,
    /// Stop with [`SettleError::Stopped`] after this many chunk commits
    /// (crash tests: the run is left `running`).
    pub stop_after_chunks: Option<usize>,
    /// Now, ns since the Unix epoch (passed in: the engine reads no clock).
    pub now_ns: u64,
}

impl RunOptions {
    /// Default chunking at `now_ns`.
    #[must_use]
    pub fn at(now_ns: u64) -> Self {
        Self {
            chunk_merchants: CHUNK_MERCHANTS_DEFAULT,
            stop_after_chunks: None,
            now_ns,
        }
    }
}

/// What a call of [`settle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The run as it is now.
    pub run: SettlementRun,
    /// Passes finished by this call (a resumed one included).
    pub passes_finished: u64,
    /// Merchant settlements written by this call.
    pub settlements_written: u64,
    /// Payouts created by this call.
    pub payouts_created: u64,
}

/// Progress of a pass, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Merchants settled in the pass so far.
    pub done: usize,
    /// Merchants in the pass.
    pub total: usize,
}

/// Settles the run of `date` and `cycle`: creates it if needed, finishes
/// an interrupted pass, then settles the items not yet covered in a new
/// pass. Asking again with nothing new changes nothing.
///
/// # Errors
/// [`SettleError`]; the run is then left where its last commit put it and
/// resumes from there when asked again.
pub fn settle<I: SettleIo>(
    io: &mut I,
    date: BusinessDate,
    cycle: Cycle,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunReport, SettleError> {
    // The plan is read on a connection of its own while this one reads the
    // run and its sums (and its first write loads the ledger's accounts):
    // a fifth of the run, for 100 000 merchants, taken off its path. A call
    // with nothing to settle leaves the plan unused.
    let beside = io.open_beside()?;
    std::thread::scope(|scope| {
        let plan = beside.map(|mut store| scope.spawn(move || Plan::load(&mut store)));
        settle_with(io, date, cycle, options, progress, PlanRead(plan))
    })
}

/// The plan of a call's first pass, read on another connection, if there
/// was one; a later pass reads its own.
struct PlanRead<'s>(Option<std::thread::ScopedJoinHandle<'s, store::Result<Plan>>>);

impl PlanRead<'_> {
    fn take<I: SettleIo>(&mut self, io: &mut I) -> Result<Plan, SettleError> {
        match self.0.take() {
            Some(read) => Ok(read
                .join()
                .map_err(|_| SettleError::Corrupt("the plan's reader panicked".into()))??),
            None => Ok(Plan::load(io)?),
        }
    }
}

fn settle_with<I: SettleIo>(
    io: &mut I,
    date: BusinessDate,
    cycle: Cycle,
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
    mut plan: PlanRead<'_>,
) -> Result<RunReport, SettleError> {
    let id = run_id(date, cycle);
    let run = match io.read(|store| store.settlement_run(&id))? {
        Some(run) => run,
        None => create(io, date, cycle, options.now_ns)?,
    };
    let mut report = RunReport {
        run,
        passes_finished: 0,
        settlements_written: 0,
        payouts_created: 0,
    };
    let mut pass = Pass {
        date,
        cycle,
        options,
        progress,
    };
    if report.run.status == "running" {
        let plan = plan.take(io)?;
        pass.run(io, &mut report, &plan)?;
    }
    let watermark = io.read(Store::settlement_items_watermark)?;
    if watermark > report.run.covered_seq {
        let range = (report.run.covered_seq, watermark);
        let (day, cycle_name) = (date.to_string(), cycle.as_str());
        let any = io.read(|store| store.settlement_aggregate_presummed(&day, cycle_name, range))?;
        if !any.is_empty() {
            let mut next = report.run.clone();
            next.status = "running".into();
            next.passes += 1;
            next.pass_to_seq = watermark;
            next.pass_done_mid.clear();
            next.updated_at_ns = options.now_ns;
            commit_run(
                io,
                &report.run,
                next.clone(),
                Steps::default(),
                options.now_ns,
            )?;
            report.run = next;
            let plan = plan.take(io)?;
            pass.run_with(io, &mut report, any, &plan)?;
        }
    }
    Ok(report)
}

fn create<I: SettleIo>(
    io: &mut I,
    date: BusinessDate,
    cycle: Cycle,
    now_ns: u64,
) -> Result<SettlementRun, SettleError> {
    let run = SettlementRun {
        run_id: run_id(date, cycle),
        business_date: date.to_string(),
        cycle: cycle.as_str().to_owned(),
        status: "settled".into(),
        passes: 0,
        covered_seq: 0,
        pass_to_seq: 0,
        pass_done_mid: String::new(),
        settlements: 0,
        items: 0,
        created_at_ns: now_ns,
        updated_at_ns: now_ns,
    };
    let write = RunWrite {
        run: run.clone(),
        expected: None,
        settlements: Vec::new(),
        resources: Vec::new(),
    };
    let outcomes = io.write(vec![WriteOp::SettlementRun(Box::new(write))], now_ns)?;
    if outcomes.first() != Some(&WriteOutcome::SettlementRun(true)) {
        // Created meanwhile by another runner: use that one.
        return io
            .read(|store| store.settlement_run(&run.run_id))?
            .ok_or(SettleError::Raced(run.run_id));
    }
    Ok(run)
}

/// What is committed with a run step: operations before it (transfers it
/// depends on) and after it (writes that depend on it), its settlements and
/// the resources it creates.
#[derive(Default)]
struct Steps {
    before: Vec<WriteOp>,
    after: Vec<WriteOp>,
    settlements: Vec<Settlement>,
    resources: Vec<ResourceRow>,
}

/// Commits `next` (expecting `current`) with `steps`.
fn commit_run<I: SettleIo>(
    io: &mut I,
    current: &SettlementRun,
    next: SettlementRun,
    steps: Steps,
    now_ns: u64,
) -> Result<Vec<WriteOutcome>, SettleError> {
    let run_id = next.run_id.clone();
    let mut ops = steps.before;
    ops.push(WriteOp::SettlementRun(Box::new(RunWrite {
        run: next,
        expected: Some(current.progress()),
        settlements: steps.settlements,
        resources: steps.resources,
    })));
    let position = ops.len() - 1;
    ops.extend(steps.after);
    let outcomes = io.write(ops, now_ns)?;
    if outcomes.get(position) != Some(&WriteOutcome::SettlementRun(true)) {
        if let Some(WriteOutcome::Transfers(results)) = outcomes.get(position.wrapping_sub(1)) {
            if let Some(bad) = results.iter().find(|r| {
                !matches!(
                    r,
                    ledger::CreateTransferResult::Ok | ledger::CreateTransferResult::Exists
                )
            }) {
                return Err(SettleError::Corrupt(format!(
                    "the ledger refused a settlement transfer of {run_id}: {bad:?}"
                )));
            }
        }
        return Err(SettleError::Raced(run_id));
    }
    Ok(outcomes)
}

/// The ledger writes of a chunk: its transfers and the clearing accounts
/// they move (created if missing).
struct ChunkLedger {
    transfers: Vec<NewTransfer>,
    accounts: BTreeMap<u128, NewAccount>,
}

struct Pass<'a> {
    date: BusinessDate,
    cycle: Cycle,
    options: &'a RunOptions,
    progress: &'a mut dyn FnMut(Progress),
}

impl Pass<'_> {
    /// Resumes the open pass of `report.run`.
    fn run<I: SettleIo>(
        &mut self,
        io: &mut I,
        report: &mut RunReport,
        plan: &Plan,
    ) -> Result<(), SettleError> {
        let run = &report.run;
        let range = (run.covered_seq, run.pass_to_seq);
        let (day, cycle) = (run.business_date.clone(), run.cycle.clone());
        let aggregates =
            io.read(|store| store.settlement_aggregate_presummed(&day, &cycle, range))?;
        self.run_with(io, report, aggregates, plan)
    }

    /// Settles the merchants of `aggregates` not yet done, then the payouts.
    fn run_with<I: SettleIo>(
        &mut self,
        io: &mut I,
        report: &mut RunReport,
        aggregates: Vec<MerchantAggregate>,
        plan: &Plan,
    ) -> Result<(), SettleError> {
        let groups: Vec<&[MerchantAggregate]> =
            aggregates.chunk_by(|a, b| a.mid == b.mid).collect();
        let done = report.run.pass_done_mid.clone();
        let start = groups.partition_point(|g| g[0].mid.as_str() <= done.as_str());
        let chunk_size = self.options.chunk_merchants.max(1);
        let ranges: Vec<(usize, usize)> = (start..groups.len())
            .step_by(chunk_size)
            .map(|first| (first, (first + chunk_size).min(groups.len())))
            .collect();
        let builder = Builder {
            date: self.date,
            cycle: self.cycle,
            run: report.run.clone(),
            plan,
            now_ns: self.options.now_ns,
            // The payouts are summed as the chunks are built when this call
            // settles the whole pass; a resumed pass reads them from the
            // stored legs.
            whole: done.is_empty(),
        };
        // The chunks' commits are synced behind the run: a chunk a crash of
        // the machine loses is settled again by the next call, as one a
        // crash of the process never committed. The pass's last commit is
        // durable on return, and with it every chunk before it.
        io.sync_behind()?;
        let built = self.commit_chunks(io, report, &builder, &groups, ranges);
        let ended = io.end_sync_behind();
        let payouts = built?;
        ended?;
        self.finish(io, report, plan, payouts)
    }

    /// Commits the chunks of `ranges` as they are built; returns the
    /// payouts when the builder summed them.
    fn commit_chunks<I: SettleIo>(
        &mut self,
        io: &mut I,
        report: &mut RunReport,
        builder: &Builder<'_>,
        groups: &[&[MerchantAggregate]],
        ranges: Vec<(usize, usize)>,
    ) -> Result<Option<BuiltPayouts>, SettleError> {
        // The next chunk is built on a thread of its own while this one
        // commits (building reads only the plan and the sums; the ids it
        // derives name the merchant's ordinal, not the commits before), and
        // then the payouts' documents, while the last chunks commit.
        std::thread::scope(|scope| -> Result<Option<BuiltPayouts>, SettleError> {
            let (sender, built) = std::sync::mpsc::sync_channel(CHUNKS_BUILT_AHEAD_MAX);
            scope.spawn(move || builder.build(groups, ranges, &sender));
            let mut chunks = 0;
            let mut payouts = None;
            for next in built {
                let (chunk, end) = match next? {
                    Built::Chunk(chunk, end) => (chunk, end),
                    Built::Payouts(built) => {
                        payouts = Some(built);
                        continue;
                    }
                };
                self.commit_chunk(io, report, chunk)?;
                chunks += 1;
                (self.progress)(Progress {
                    done: end,
                    total: groups.len(),
                });
                if self.options.stop_after_chunks == Some(chunks) {
                    return Err(SettleError::Stopped(chunks));
                }
            }
            Ok(payouts)
        })
    }

    /// Commits a built chunk with the run's progress.
    fn commit_chunk<I: SettleIo>(
        &self,
        io: &mut I,
        report: &mut RunReport,
        chunk: BuiltChunk,
    ) -> Result<(), SettleError> {
        let BuiltChunk {
            settlements,
            ledger,
            items,
        } = chunk;
        let mut next = report.run.clone();
        next.pass_done_mid = settlements
            .last()
            .map(|s| s.mid.clone())
            .unwrap_or_default();
        next.settlements += settlements.len() as u64;
        next.items += items;
        next.updated_at_ns = self.options.now_ns;
        report.settlements_written += settlements.len() as u64;
        let ops = vec![
            WriteOp::CreateAccounts(ledger.accounts.into_values().collect()),
            WriteOp::CreateTransfers(ledger.transfers),
        ];
        let steps = Steps {
            before: ops,
            settlements,
            ..Steps::default()
        };
        commit_run(io, &report.run, next.clone(), steps, self.options.now_ns)?;
        report.run = next;
        Ok(())
    }

    /// Creates the pass's payouts and marks it settled, in one commit.
    fn finish<I: SettleIo>(
        &mut self,
        io: &mut I,
        report: &mut RunReport,
        plan: &Plan,
        payouts: Option<BuiltPayouts>,
    ) -> Result<(), SettleError> {
        let run = report.run.clone();
        let now_ns = self.options.now_ns;
        let BuiltPayouts { puts, payouts } = match payouts {
            Some(built) => built,
            None => {
                let totals =
                    io.read(|store| store.settlement_payout_totals(&run.run_id, run.passes))?;
                BuiltPayouts {
                    puts: payout_puts(&run, &totals, plan, now_ns),
                    payouts: totals.len(),
                }
            }
        };
        let details = serde_json::json!({
            "pass": run.passes, "payouts": payouts, "settlements": run.settlements,
        });
        let audit = AuditEntry {
            time_ns: now_ns,
            actor_role: "system".into(),
            actor_scope: String::new(),
            action: "settlement_run.pass".into(),
            resource: format!("settlement-runs/{}", run.run_id),
            details: details.to_string(),
        };
        let mut next = run.clone();
        next.status = "settled".into();
        next.covered_seq = run.pass_to_seq;
        next.pass_done_mid.clear();
        next.updated_at_ns = now_ns;
        // The payouts go with the run step (many rows to a statement); the
        // audit event is written only when that step is.
        let audit = WriteOp::Api(Box::new(ApiWrite {
            change: ApiChange::None,
            audit: Some(audit),
            idempotency: None,
            only_after_success: true,
        }));
        let steps = Steps {
            after: vec![audit],
            resources: puts,
            ..Steps::default()
        };
        let outcomes = commit_run(io, &run, next.clone(), steps, now_ns)?;
        match outcomes.last() {
            Some(WriteOutcome::Api(ApiOutcome::Applied { .. })) => {}
            other => {
                return Err(SettleError::Corrupt(format!(
                    "payouts of {} not created: {other:?}",
                    run.run_id
                )));
            }
        }
        report.run = next;
        report.passes_finished += 1;
        report.payouts_created += payouts as u64;
        Ok(())
    }
}

/// Chunks built ahead of the one committing (each up to
/// [`RunOptions::chunk_merchants`] settlements in memory).
const CHUNKS_BUILT_AHEAD_MAX: usize = 1;

/// What the builder hands the committing side, in this order.
enum Built {
    /// A chunk and the end of its range of merchants.
    Chunk(BuiltChunk, usize),
    /// The pass's payouts, after the last chunk (a whole pass only).
    Payouts(BuiltPayouts),
}

/// The payouts of a pass: their resources (with the approvals they wait
/// for) and how many there are.
struct BuiltPayouts {
    puts: Vec<ResourceRow>,
    payouts: usize,
}

/// A chunk's settlements and ledger writes, built before its commit.
struct BuiltChunk {
    settlements: Vec<Settlement>,
    ledger: ChunkLedger,
    items: u64,
}

/// Builds the chunks of a pass: what a merchant's settlement is depends
/// only on the pass, the plan and its sums.
struct Builder<'p> {
    date: BusinessDate,
    cycle: Cycle,
    /// The run as the pass began (its id, pass, date and cycle).
    run: SettlementRun,
    plan: &'p Plan,
    /// The run's time (the payouts' creation).
    now_ns: u64,
    /// The pass is settled whole by this call: its payouts are summed from
    /// the chunks built.
    whole: bool,
}

impl Builder<'_> {
    /// Builds the chunks of `ranges` and sends each, then (for a whole
    /// pass) the payouts. Stops at the first error, sent too, or when the
    /// committing side has stopped (a send fails).
    fn build(
        &self,
        groups: &[&[MerchantAggregate]],
        ranges: Vec<(usize, usize)>,
        sender: &std::sync::mpsc::SyncSender<Result<Built, SettleError>>,
    ) {
        let mut payouts = self.whole.then(BTreeMap::new);
        for (first, end) in ranges {
            let chunk = self.chunk(&groups[first..end], first).and_then(|chunk| {
                if let Some(payouts) = payouts.as_mut() {
                    add_payouts(payouts, &chunk.settlements)?;
                }
                Ok(Built::Chunk(chunk, end))
            });
            let failed = chunk.is_err();
            if sender.send(chunk).is_err() || failed {
                return;
            }
        }
        if let Some(payouts) = payouts {
            let totals: Vec<PayoutTotal> = payouts.into_values().collect();
            let puts = payout_puts(&self.run, &totals, self.plan, self.now_ns);
            let payouts = totals.len();
            let _ = sender.send(Ok(Built::Payouts(BuiltPayouts { puts, payouts })));
        }
    }

    /// The settlements of `groups`, the first at `first_ordinal` in the pass.
    fn chunk(
        &self,
        groups: &[&[MerchantAggregate]],
        first_ordinal: usize,
    ) -> Result<BuiltChunk, SettleError> {
        let mut settlements = Vec::with_capacity(groups.len());
        let mut ledger = ChunkLedger {
            transfers: Vec::with_capacity(groups.len()),
            accounts: BTreeMap::new(),
        };
        let mut items = 0;
        let mut cursor = 0;
        for (offset, group) in groups.iter().enumerate() {
            let ordinal = (first_ordinal + offset) as u64;
            let merchant = self.plan.merchant(&group[0].mid, &mut cursor);
            let settlement = self.merchant(merchant, group, ordinal, &mut ledger)?;
            items += settlement.items;
            settlements.push(settlement);
        }
        Ok(BuiltChunk {
            settlements,
            ledger,
            items,
        })
    }

    /// One merchant's settlement, its transfers and the clearing accounts
    /// they move added to `ledger`.
    fn merchant(
        &self,
        merchant: Option<&MerchantPlan>,
        group: &[MerchantAggregate],
        ordinal: u64,
        ledger: &mut ChunkLedger,
    ) -> Result<Settlement, SettleError> {
        let mid = group[0].mid.clone();
        let overflow = || SettleError::Corrupt(format!("merchant {mid}: totals overflow"));
        let mut sums = ItemSums::default();
        let mut items = 0;
        for aggregate in group {
            sums = add_sums(sums, sums_of(aggregate)).ok_or_else(overflow)?;
            items += aggregate.items;
        }
        let net = totals_of(&sums).net().ok_or_else(overflow)?;
        let (legs, outcome) = self.legs(merchant, &mid, group)?;
        let payable = merchant.and_then(|m| m.payable);
        let (legs, outcome) = match payable {
            None => (Vec::new(), "no_ledger_account"),
            Some(_) => (legs, outcome),
        };
        let mut stored = Vec::with_capacity(legs.len());
        for (index, leg) in legs.iter().enumerate() {
            let id = transfer_id(
                self.date,
                self.cycle,
                self.run.passes,
                ordinal,
                index as u16,
            );
            let clearing = self.plan.clearing_account(merchant, &leg.account);
            ledger
                .accounts
                .entry(clearing)
                .or_insert_with(|| NewAccount::new(AccountId(clearing), LEDGER_CNY, LEDGER_CODE));
            let payable = payable.unwrap_or_default();
            let (debit, credit) = match leg.kind {
                LegKind::Debit => (clearing, payable),
                LegKind::Credit | LegKind::Held => (payable, clearing),
            };
            let amount = u64::try_from(leg.amount.0).map_err(|_| overflow())?;
            ledger.transfers.push(NewTransfer::new(
                TransferId(id),
                AccountId(debit),
                AccountId(credit),
                amount,
                LEDGER_CNY,
                LEDGER_CODE,
            ));
            stored.push(SettlementLeg {
                account: leg.account.clone(),
                kind: leg.kind.as_str().to_owned(),
                amount_minor: leg.amount.0,
                payout_id: payout_id(&self.run.run_id, self.run.passes, &leg.account, leg.kind),
                transfer_id: id,
                payout_status: String::new(),
            });
        }
        Ok(Settlement {
            run_id: self.run.run_id.clone(),
            pass: self.run.passes,
            mid,
            business_date: self.run.business_date.clone(),
            cycle: self.run.cycle.clone(),
            items,
            sums,
            net_minor: net.0,
            outcome: outcome.to_owned(),
            legs: stored,
        })
    }

    /// The legs of a merchant by the bindings in force for its terminals;
    /// `unbound` (no legs) when a terminal has none.
    fn legs(
        &self,
        merchant: Option<&MerchantPlan>,
        mid: &str,
        group: &[MerchantAggregate],
    ) -> Result<(Vec<Leg>, &'static str), SettleError> {
        let Some(bindings) = merchant
            .map(|m| m.bindings.clone())
            .filter(|b| !b.is_empty())
        else {
            return Ok((Vec::new(), "unbound"));
        };
        let candidates = self
            .plan
            .candidates
            .get(bindings.clone())
            .unwrap_or_default();
        let candidate_lines = self.plan.candidate_lines.get(bindings).unwrap_or_default();
        // Totals by binding, in the order of the candidates (a merchant has
        // one or a few bindings: a short list, no map).
        let mut parts: Vec<(usize, MerchantTotals)> = Vec::with_capacity(1);
        for aggregate in group {
            let Some(chosen) = binding_in_force(candidates, &aggregate.tid, self.date) else {
                return Ok((Vec::new(), "unbound"));
            };
            let index = candidates
                .iter()
                .position(|c| c.id == chosen.id)
                .unwrap_or_default();
            let at = match parts.binary_search_by_key(&index, |(i, _)| *i) {
                Ok(at) => at,
                Err(at) => {
                    parts.insert(at, (index, MerchantTotals::default()));
                    at
                }
            };
            let part = &mut parts[at].1;
            *part = domain::payouts::add_totals(*part, totals_of(&sums_of(aggregate)))
                .ok_or_else(|| SettleError::Corrupt(format!("merchant {mid}: overflow")))?;
        }
        let split_parts: Vec<(MerchantTotals, &[SplitLine])> = parts
            .iter()
            .map(|(index, totals)| {
                let lines = candidate_lines
                    .get(*index)
                    .and_then(|range| self.plan.lines.get(range.clone()))
                    .unwrap_or_default();
                (*totals, lines)
            })
            .collect();
        let held = self.plan.held.contains(mid);
        let legs = merchant_legs(&split_parts, held)
            .map_err(|e| SettleError::Corrupt(format!("merchant {mid}: {e}")))?;
        let outcome = if legs.is_empty() {
            "nothing"
        } else if legs.iter().any(|l| l.kind == LegKind::Held) {
            "held"
        } else if legs.iter().all(|l| l.kind == LegKind::Debit) {
            "auto_debit"
        } else {
            "payout"
        };
        Ok((legs, outcome))
    }
}

/// Adds the legs of `settlements` to the payouts they belong to, as
/// `store::Store::settlement_payout_totals` sums the stored legs (one leg
/// per merchant and payout).
fn add_payouts(
    payouts: &mut BTreeMap<String, PayoutTotal>,
    settlements: &[Settlement],
) -> Result<(), SettleError> {
    for leg in settlements.iter().flat_map(|s| &s.legs) {
        let total = payouts
            .entry(leg.payout_id.clone())
            .or_insert_with(|| PayoutTotal {
                payout_id: leg.payout_id.clone(),
                account: leg.account.clone(),
                kind: leg.kind.clone(),
                amount_minor: 0,
                merchants: 0,
            });
        total.amount_minor = total
            .amount_minor
            .checked_add(leg.amount_minor)
            .ok_or_else(|| SettleError::Corrupt(format!("payout {}: overflow", leg.payout_id)))?;
        total.merchants += 1;
    }
    Ok(())
}

/// The sums of one kind of items, by the sign convention of settlement
/// items (amounts signed from the merchant's side): captures and voids add
/// to captures, refunds and chargebacks are taken off, adjustments (and any
/// other kind, so no money is dropped) are added as signed.
#[must_use]
pub fn sums_of(aggregate: &MerchantAggregate) -> ItemSums {
    let amount = aggregate.amount_minor;
    let mut sums = ItemSums {
        fees_minor: aggregate.fee_minor,
        discounts_minor: aggregate.discount_minor,
        fee_share_minor: aggregate.fee_share_minor,
        points: aggregate.points,
        ..ItemSums::default()
    };
    match aggregate.kind.as_str() {
        "capture" | "void" => sums.captures_minor = amount,
        "refund" => sums.refunds_minor = amount.saturating_neg(),
        "chargeback" => sums.chargebacks_minor = amount.saturating_neg(),
        _ => sums.adjustments_minor = amount,
    }
    sums
}

fn add_sums(a: ItemSums, b: ItemSums) -> Option<ItemSums> {
    Some(ItemSums {
        captures_minor: a.captures_minor.checked_add(b.captures_minor)?,
        refunds_minor: a.refunds_minor.checked_add(b.refunds_minor)?,
        fees_minor: a.fees_minor.checked_add(b.fees_minor)?,
        chargebacks_minor: a.chargebacks_minor.checked_add(b.chargebacks_minor)?,
        adjustments_minor: a.adjustments_minor.checked_add(b.adjustments_minor)?,
        discounts_minor: a.discounts_minor.checked_add(b.discounts_minor)?,
        fee_share_minor: a.fee_share_minor.checked_add(b.fee_share_minor)?,
        points: a.points.checked_add(b.points)?,
    })
}

/// Stored sums → the domain's totals.
#[must_use]
pub fn totals_of(sums: &ItemSums) -> MerchantTotals {
    MerchantTotals {
        captures: AmountMinor(sums.captures_minor),
        refunds: AmountMinor(sums.refunds_minor),
        fees: AmountMinor(sums.fees_minor),
        chargebacks: AmountMinor(sums.chargebacks_minor),
        adjustments: AmountMinor(sums.adjustments_minor),
    }
}
