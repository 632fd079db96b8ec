//! The run engine: passes, chunks, restart (see the module docs above).

use domain::BusinessDate;
use domain::settlement::Cycle;
use store::api::{ApiChange, ApiOutcome, ApiWrite, AuditEntry, ResourceRow};
use store::{MerchantAggregate, RunWrite, Settlement, SettlementRun, Store, WriteOp, WriteOutcome};

use super::build::{Builder, Built, BuiltChunk, BuiltPayouts};
use super::documents::payout_puts;
use super::plan::Plan;
use super::{SettleError, SettleIo, run_id};

/// Merchants settled per commit by default.
pub const CHUNK_MERCHANTS_DEFAULT: usize = 10_000;

/// Payouts per commit by default: all but the last such part of a pass's
/// payouts commit ahead of its final commit, each synced while the next is
/// written; 100 000 payouts in one commit wrote about 90 MB to the log, and
/// the run waited for its sync.
pub const PAYOUTS_PER_COMMIT_DEFAULT: usize = 25_000;

/// How a run is carried out.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Merchants per commit.
    pub chunk_merchants: usize,
    /// Payouts (with their approvals) per commit, the last such part with
    /// the pass's final commit.
    pub payouts_per_commit: usize,
    /// Stop with [`SettleError::Stopped`] after this many commits of a
    /// pass: its chunks, then its payouts ahead of the final commit (crash
    /// tests: the run is left `running`).
    pub stop_after_commits: Option<usize>,
    /// Now, ns since the Unix epoch (passed in: the engine reads no clock).
    pub now_ns: u64,
}

impl RunOptions {
    /// Default chunking at `now_ns`.
    #[must_use]
    pub fn at(now_ns: u64) -> Self {
        Self {
            chunk_merchants: CHUNK_MERCHANTS_DEFAULT,
            payouts_per_commit: PAYOUTS_PER_COMMIT_DEFAULT,
            stop_after_commits: None,
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
    // When a pass may run, the plan is read on a connection of its own
    // while this one reads the run's sums (and its first write loads the
    // ledger's accounts): about 0.2 s each for 100 000 merchants. A call
    // with nothing new (a job's tick, a run asked again) reads no plan.
    let stored = io.read(|store| store.settlement_run(&run_id(date, cycle)))?;
    let watermark = io.read(Store::settlement_items_watermark)?;
    let may_pass = stored
        .as_ref()
        .is_none_or(|run| run.status == "running" || watermark > run.covered_seq);
    let beside = if may_pass { io.open_beside()? } else { None };
    std::thread::scope(|scope| {
        let plan = beside.map(|mut store| scope.spawn(move || Plan::load(&mut store)));
        settle_with(io, (date, cycle, stored), options, progress, PlanRead(plan))
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

/// [`settle`], the run as stored when the call began given.
fn settle_with<I: SettleIo>(
    io: &mut I,
    (date, cycle, stored): (BusinessDate, Cycle, Option<SettlementRun>),
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
    mut plan: PlanRead<'_>,
) -> Result<RunReport, SettleError> {
    let run = match stored {
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
        // crash of the process never committed. So are the payouts' commits
        // ahead of the pass's last. That last commit is durable on return,
        // and with it every commit before it.
        io.sync_behind()?;
        let ahead = self
            .commit_chunks(io, report, &builder, &groups, ranges)
            .and_then(|built| self.commit_payouts_ahead(io, report, plan, built));
        let ended = io.end_sync_behind();
        let last = ahead?;
        ended?;
        self.finish(io, report, last)
    }

    /// Commits the pass's payouts (built with the chunks, or summed from the
    /// stored legs) but the last [`RunOptions::payouts_per_commit`], which it returns
    /// for the pass's final commit. The payouts' totals are final once every
    /// chunk is committed; one found existing (committed by an earlier call
    /// of the pass) is kept as it is.
    fn commit_payouts_ahead<I: SettleIo>(
        &self,
        io: &mut I,
        report: &RunReport,
        plan: &Plan,
        (built, mut commits): (Option<BuiltPayouts>, usize),
    ) -> Result<BuiltPayouts, SettleError> {
        let run = &report.run;
        let now_ns = self.options.now_ns;
        let BuiltPayouts { puts, payouts } = match built {
            Some(built) => built,
            None => {
                let totals =
                    io.read(|store| store.settlement_payout_totals(&run.run_id, run.passes))?;
                BuiltPayouts {
                    puts: payout_puts(run, &totals, plan, now_ns),
                    payouts: totals.len(),
                }
            }
        };
        let per_commit = self.options.payouts_per_commit.max(1);
        let mut batches = Vec::with_capacity(puts.len() / per_commit + 1);
        let mut puts = puts.into_iter().peekable();
        while puts.peek().is_some() {
            batches.push(puts.by_ref().take(per_commit).collect::<Vec<_>>());
        }
        let last = batches.pop().unwrap_or_default();
        for resources in batches {
            let steps = Steps {
                resources,
                ..Steps::default()
            };
            commit_run(io, run, run.clone(), steps, now_ns)?;
            commits += 1;
            if self.options.stop_after_commits == Some(commits) {
                return Err(SettleError::Stopped(commits));
            }
        }
        Ok(BuiltPayouts {
            puts: last,
            payouts,
        })
    }

    /// Commits the chunks of `ranges` as they are built; returns the
    /// payouts when the builder summed them, and the chunks committed.
    fn commit_chunks<I: SettleIo>(
        &mut self,
        io: &mut I,
        report: &mut RunReport,
        builder: &Builder<'_>,
        groups: &[&[MerchantAggregate]],
        ranges: Vec<(usize, usize)>,
    ) -> Result<(Option<BuiltPayouts>, usize), SettleError> {
        // The next chunk is built on a thread of its own while this one
        // commits (building reads only the plan and the sums; the ids it
        // derives name the merchant's ordinal, not the commits before), and
        // then the payouts' documents, while the last chunks commit.
        std::thread::scope(
            |scope| -> Result<(Option<BuiltPayouts>, usize), SettleError> {
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
                    if self.options.stop_after_commits == Some(chunks) {
                        return Err(SettleError::Stopped(chunks));
                    }
                }
                Ok((payouts, chunks))
            },
        )
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

    /// Creates the pass's last payouts and marks it settled, in one commit.
    fn finish<I: SettleIo>(
        &mut self,
        io: &mut I,
        report: &mut RunReport,
        last: BuiltPayouts,
    ) -> Result<(), SettleError> {
        let run = report.run.clone();
        let now_ns = self.options.now_ns;
        let BuiltPayouts { puts, payouts } = last;
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
