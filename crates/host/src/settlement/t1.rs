//! The T+1 job of the server: it starts the T+1 run of a business date by
//! itself once that date has closed for every T+1 merchant.
//!
//! Decisions:
//! - **When a date closes.** A run is one per date and cycle
//!   (`SR-YYYYMMDD-T1`) and settles every T+1 merchant of the date, so it
//!   starts once the LATEST cut-off among the T+1 merchants' records has
//!   passed for that date (per-cut-off-group runs would settle a merchant
//!   whose day is still open). A date `D` closes at local midnight of `D`
//!   plus the cut-off minute in the platform zone (`domain::sandbox::
//!   TIME_ZONE_OFFSET_S`), which is exactly where the host's
//!   `domain::settlement::business_date` starts dating items `D + 1`
//!   (the cut-off is read as the host reads it,
//!   `domain::settlement::close_minute`: a record's 0 is the midnight that
//!   ends local `D`). Without any T+1 merchant
//!   record the date closes at local midnight ending `D`. The run starts
//!   [`T1_GRACE_NS`] after the close, so a capture decided just before it
//!   has committed; one committing later still is settled by a new pass.
//! - **Which dates.** Only dates with T+1 items are run (no empty runs).
//!   The job keeps the dates with items it has not settled yet; a date not
//!   closed is kept and looked at again on the next tick, never run early.
//!   A late item of a settled date (its `seq` above the last look) brings
//!   the date back and is settled in a new pass of the same run.
//! - **Restarts.** On start the job looks at every T+1 date once (as after
//!   a crash or a server down over the cut-off), and runs the closed ones
//!   within the look-back of [`T1_LOOKBACK_DAYS`] business dates before
//!   the current one; older dates are left to `posbridge settle` or
//!   `POST /v1/settlement-runs` (logged). Asking a settled run again with
//!   nothing new changes nothing, and a run found `running` resumes, so a
//!   restart never pays twice.
//! - **Clock.** The job reads the time from the server's injected
//!   [`Clock`] (tests move it over the cut-off).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::BusinessDate;
use domain::settlement::Cycle;
use store::HostTable;
use tokio::sync::watch;

use super::{RUNNER, RunOptions, SettleError, SettleIo, WriterIo, settle};
use crate::api::Clock;
use crate::records::Record;

/// How often the job looks at the clock and for new T+1 items.
pub const T1_INTERVAL: Duration = Duration::from_secs(30);
/// How long after a date's close its run starts.
pub const T1_GRACE_NS: u64 = 5_000_000_000;
/// Business dates before the current one the job still runs by itself.
pub const T1_LOOKBACK_DAYS: i64 = 7;
/// The close when no T+1 merchant has a record: local midnight ending the
/// date.
const MIDNIGHT_MINUTE: u16 = 24 * 60;
/// How often the job checks for shutdown while it waits.
const SHUTDOWN_POLL: Duration = Duration::from_millis(50);

/// Runs the job until `shutdown` turns true, on a blocking thread.
pub async fn job(
    database_url: String,
    writer: store::WriterHandle,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
    interval: Duration,
) {
    let task = tokio::task::spawn_blocking(move || {
        let reads = store::Store::open(&database_url)?;
        let mut io = WriterIo { reads, writer };
        run(&mut io, clock.as_ref(), &shutdown, interval)
    });
    if let Ok(Err(error)) = task.await {
        tracing::error!(%error, "the T+1 settlement job stopped");
    }
}

fn run(
    io: &mut WriterIo,
    clock: &dyn Clock,
    shutdown: &watch::Receiver<bool>,
    interval: Duration,
) -> Result<(), SettleError> {
    let mut scheduler = Scheduler::default();
    loop {
        match scheduler.tick(io, clock.now_ns()) {
            Ok(settled) => {
                for date in settled {
                    tracing::info!(%date, "T+1 settlement run at cut-off");
                }
            }
            Err(error) => tracing::warn!(%error, "T+1 settlement at cut-off failed; retrying"),
        }
        let wake = Instant::now() + interval;
        while Instant::now() < wake {
            // Stop when told, or when the server is gone without telling.
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                return Ok(());
            }
            std::thread::sleep(SHUTDOWN_POLL);
        }
    }
}

/// The job's memory: the item watermark looked at and the T+1 dates with
/// items not yet settled.
#[derive(Debug, Default)]
pub struct Scheduler {
    seen_seq: i64,
    pending: BTreeSet<BusinessDate>,
}

impl Scheduler {
    /// Picks up the T+1 dates of items written since the last look, then
    /// settles those that have closed at `now_ns`; returns them.
    ///
    /// # Errors
    /// [`SettleError`]; the dates not settled stay for the next tick.
    pub fn tick<I: SettleIo>(
        &mut self,
        io: &mut I,
        now_ns: u64,
    ) -> Result<Vec<BusinessDate>, SettleError> {
        let _runner = RUNNER
            .lock()
            .map_err(|_| SettleError::Corrupt("runner lock poisoned".into()))?;
        let watermark = io.read(store::Store::settlement_items_watermark)?;
        if watermark > self.seen_seq {
            let seen = self.seen_seq;
            let dates = io.read(|store| store.settlement_dates_after(Cycle::T1.as_str(), seen))?;
            self.pending
                .extend(dates.iter().filter_map(|d| BusinessDate::parse(d)));
            self.seen_seq = watermark;
        }
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        // Before settling: the run reads partial sums, not the day.
        super::presum(io, now_ns);
        let cutoff_minute = latest_t1_cutoff(io)?;
        let now_s = i64::try_from(now_ns / 1_000_000_000).unwrap_or(i64::MAX);
        let oldest = oldest_date(now_s, cutoff_minute);
        let mut settled = Vec::new();
        for date in self.pending.clone() {
            if oldest.is_some_and(|oldest| date < oldest) {
                tracing::warn!(%date, "T+1 items older than the look-back: settle by hand");
                self.pending.remove(&date);
                continue;
            }
            if !closed(date, cutoff_minute, now_ns) {
                break; // later dates close later
            }
            settle(io, date, Cycle::T1, &RunOptions::at(now_ns), &mut |_| {})?;
            self.pending.remove(&date);
            settled.push(date);
        }
        Ok(settled)
    }
}

/// The latest cut-off minute among the T+1 merchants' records.
fn latest_t1_cutoff<I: SettleIo>(io: &mut I) -> store::Result<u16> {
    let rows = io.read(|store| store.host_rows(HostTable::Merchants))?;
    let latest = rows
        .iter()
        .filter_map(
            |(key, body)| match Record::from_row(HostTable::Merchants, key, body)? {
                Record::Merchant(m) if m.cycle == Cycle::T1.as_str() => {
                    Some(domain::settlement::close_minute(m.cutoff_minute))
                }
                _ => None,
            },
        )
        .max();
    Ok(latest.unwrap_or(MIDNIGHT_MINUTE))
}

/// When `date` closes for a cut-off at `cutoff_minute`, seconds since the
/// Unix epoch: local midnight of `date` plus the cut-off, in the platform
/// zone.
#[must_use]
pub fn close_s(date: BusinessDate, cutoff_minute: u16) -> i64 {
    let minute = domain::settlement::close_minute(cutoff_minute);
    date.days_since_epoch() * 86_400 + i64::from(minute) * 60 - domain::sandbox::TIME_ZONE_OFFSET_S
}

/// Whether `date`'s run may start at `now_ns` (its close plus the grace).
#[must_use]
pub fn closed(date: BusinessDate, cutoff_minute: u16, now_ns: u64) -> bool {
    let start_ns =
        i128::from(close_s(date, cutoff_minute)) * 1_000_000_000 + i128::from(T1_GRACE_NS);
    i128::from(now_ns) >= start_ns
}

/// The oldest date the job runs by itself at `now_s`.
fn oldest_date(now_s: i64, cutoff_minute: u16) -> Option<BusinessDate> {
    let current = domain::settlement::business_date(
        now_s,
        domain::sandbox::TIME_ZONE_OFFSET_S,
        cutoff_minute,
    )?;
    BusinessDate::from_days_since_epoch(current.days_since_epoch() - T1_LOOKBACK_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_closes_where_the_host_starts_dating_the_next() {
        let date = BusinessDate::parse("2026-11-24").unwrap();
        for cutoff in [0u16, 1, 23 * 60, 23 * 60 + 59, MIDNIGHT_MINUTE] {
            let close = close_s(date, cutoff);
            let offset = domain::sandbox::TIME_ZONE_OFFSET_S;
            let before = domain::settlement::business_date(close - 1, offset, cutoff);
            let at = domain::settlement::business_date(close, offset, cutoff);
            assert_eq!(before, Some(date), "cut-off {cutoff}");
            assert_eq!(at, date.next_day(), "cut-off {cutoff}");
            let close_ns = u64::try_from(close).unwrap() * 1_000_000_000;
            assert!(!closed(date, cutoff, close_ns + T1_GRACE_NS - 1));
            assert!(closed(date, cutoff, close_ns + T1_GRACE_NS));
        }
        // Lucky Coffee: 23:00 in Asia/Shanghai is 15:00 UTC.
        assert_eq!(
            close_s(date, 23 * 60),
            date.days_since_epoch() * 86_400 + 15 * 3600
        );
    }
}
