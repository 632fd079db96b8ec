//! The T+0 job of the server: every [`T0_INTERVAL`] it presums the items
//! written since its last look (`super::presum`) and settles the T+0
//! items written since its last look, one pass of the run of each business
//! date that has new items. On start it looks at every T+0 date once, so a
//! run interrupted by a crash is finished.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::BusinessDate;
use domain::settlement::Cycle;
use tokio::sync::watch;

use super::{RUNNER, RunOptions, WriterIo, settle};
use crate::api::{Clock, SystemClock};

/// How often the job looks for new T+0 items.
pub const T0_INTERVAL: Duration = Duration::from_secs(3);
/// How often the job checks for shutdown while it waits.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Runs the job until `shutdown` turns true. Runs on a blocking thread
/// (the database clients are synchronous).
pub async fn job(
    database_url: String,
    writer: store::WriterHandle,
    shutdown: watch::Receiver<bool>,
    interval: Duration,
) {
    job_with_clock(
        database_url,
        writer,
        Arc::new(SystemClock),
        shutdown,
        interval,
    )
    .await;
}

/// As [`job`], with the time of runs (payout and approval times) read from
/// `clock`.
pub async fn job_with_clock(
    database_url: String,
    writer: store::WriterHandle,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
    interval: Duration,
) {
    let task = tokio::task::spawn_blocking(move || {
        run(&database_url, writer, clock.as_ref(), &shutdown, interval)
    });
    if let Ok(Err(error)) = task.await {
        tracing::error!(%error, "the T+0 settlement job stopped");
    }
}

fn run(
    database_url: &str,
    writer: store::WriterHandle,
    clock: &dyn Clock,
    shutdown: &watch::Receiver<bool>,
    interval: Duration,
) -> Result<(), super::SettleError> {
    let reads = store::Store::open(database_url)?;
    let mut io = WriterIo { reads, writer };
    let mut seen_seq = 0;
    loop {
        match tick(&mut io, seen_seq, clock.now_ns()) {
            Ok(seq) => seen_seq = seq,
            Err(error) => tracing::warn!(%error, "T+0 settlement pass failed; retrying"),
        }
        let wake = Instant::now() + interval;
        while Instant::now() < wake {
            // Stop when told, or when the server is gone without telling
            // (its sender dropped): a blocking task must end by itself.
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                return Ok(());
            }
            std::thread::sleep(SHUTDOWN_POLL);
        }
    }
}

/// Settles the dates with T+0 items above `seen_seq`; returns the new mark.
fn tick(io: &mut WriterIo, seen_seq: i64, now_ns: u64) -> Result<i64, super::SettleError> {
    let _runner = RUNNER
        .lock()
        .map_err(|_| super::SettleError::Corrupt("runner lock poisoned".into()))?;
    // The day's items are summed as they come, so no pass (nor the T+1
    // run at cut-off) scans them.
    super::presum(io, now_ns);
    let watermark = io.reads.settlement_items_watermark()?;
    if watermark <= seen_seq {
        return Ok(seen_seq);
    }
    for date in io
        .reads
        .settlement_dates_after(Cycle::T0.as_str(), seen_seq)?
    {
        let Some(date) = BusinessDate::parse(&date) else {
            continue;
        };
        let options = RunOptions::at(now_ns);
        settle(io, date, Cycle::T0, &options, &mut |_| {})?;
    }
    Ok(watermark)
}
