//! The SQLite engine's deferred durability: the WAL sync of the writer's
//! sync thread and the checkpoint thread (see `writer`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rusqlite::Connection;

use crate::engine::DurableSync;
use crate::{Result, StoreError};

/// Syncs the WAL file: every frame written before is on the disk. Between
/// syncs, at most every [`CHECKPOINT_INTERVAL`], it copies the WAL into the
/// database through a connection of its own (a passive checkpoint: it
/// never waits for the writer, and what it cannot copy now the next one
/// does), so that the writer's commits rarely pay for a checkpoint: the
/// writer's automatic checkpoint stays only as a bound on the WAL's size.
/// The checkpointing connection is `synchronous=FULL`: it syncs the WAL
/// before copying, so the database never holds a frame the WAL may lose.
pub(crate) struct WalSync {
    pub(crate) wal: std::fs::File,
    pub(crate) checkpoints: Option<Checkpoints>,
    pub(crate) last_checkpoint: Instant,
}

/// How often the WAL is checkpointed while commits come.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

impl DurableSync for WalSync {
    fn sync(&mut self) -> Result<()> {
        self.wal
            .sync_data()
            .map_err(|e| StoreError::Database(format!("sync of the write-ahead log: {e}")))
    }

    /// Asks the checkpoint thread for a checkpoint, at most once per
    /// interval; never waits for it.
    fn upkeep(&mut self) {
        if self.last_checkpoint.elapsed() < CHECKPOINT_INTERVAL {
            return;
        }
        self.last_checkpoint = Instant::now();
        if let Some(checkpoints) = &self.checkpoints {
            // Full: one is asked for already.
            if let Some(ask) = &checkpoints.ask {
                let _ = ask.try_send(());
            }
        }
    }
}

/// The WAL's length (pages) from which the writer catches a checkpoint up:
/// the catch-up costs the writer a sync of the WAL and one of the database
/// (milliseconds on a slow disk, during which commits wait), so a short WAL
/// is left to grow a little first.
const CATCH_UP_FRAMES_MIN: i64 = 8_192;

/// Passes after a checkpoint that copied a long WAL whole, each copying
/// what was committed during the last, before the writer is left the rest.
const CATCH_UP_PASSES_MAX: usize = 4;

/// What a pass may leave for the writer to copy (pages): the writer's copy
/// holds every commit back, so it should take about two syncs, not the
/// tens of milliseconds of copying a checkpoint pass's worth of commits.
const CATCH_UP_TAIL_FRAMES: i64 = 512;

/// A passive checkpoint: `(busy, frames in the WAL, frames copied)`; `None`
/// when it failed (best effort: the next ask retries).
fn passive(connection: &Connection) -> Option<(i64, i64, i64)> {
    connection
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .ok()
}

/// Checkpoints; `true` when the writer should now copy the rest: this
/// checkpoint copied every frame of a WAL of at least
/// [`CATCH_UP_FRAMES_MIN`] pages, and then further passes copied what came
/// in meanwhile until one had fewer than [`CATCH_UP_TAIL_FRAMES`] to copy.
fn catch_up_ready(connection: &Connection) -> bool {
    let copied_whole = |(busy, frames, copied): (i64, i64, i64)| busy == 0 && frames == copied;
    let Some(mut last) = passive(connection) else {
        return false;
    };
    if !copied_whole(last) || last.1 < CATCH_UP_FRAMES_MIN {
        return false;
    }
    for _ in 0..CATCH_UP_PASSES_MAX {
        let Some(next) = passive(connection) else {
            return false;
        };
        // A WAL started over meanwhile (next.1 < last.1) has nothing to
        // catch up.
        if !copied_whole(next) || next.1 < last.1 {
            return false;
        }
        if next.1 - last.1 <= CATCH_UP_TAIL_FRAMES {
            return true;
        }
        last = next;
    }
    false
}

/// A thread of its own that checkpoints the WAL when asked, through its own
/// `synchronous=FULL` connection. A checkpoint copies pages into the database
/// file and syncs it, which can take tens of milliseconds: on the sync thread
/// it held back the next WAL sync, and every commit waiting for it.
///
/// Such a checkpoint runs while the writer commits, so it never copies the
/// frames committed during it, and SQLite starts the WAL over only when a
/// write transaction begins with every frame copied: the WAL would grow to
/// the writer's automatic checkpoint (16,384 pages), which copies all of it
/// inside a commit (tens of milliseconds, every second or so under load).
/// So after a checkpoint that copied everything there was, of a WAL of at
/// least [`CATCH_UP_FRAMES_MIN`] pages, the thread copies what was committed
/// during it, again, until a pass had little to copy ([`catch_up_ready`]),
/// then tells the writer, which copies the few frames committed since,
/// itself, before its next transaction (no other writer: it completes), and
/// that transaction starts the WAL over. The writer's copy holds every
/// commit back: left a whole pass's worth of commits it took about 30 ms;
/// after the extra passes, often 2–3 ms (see ARCHITECTURE.md).
pub(crate) struct Checkpoints {
    /// Dropped to stop the thread.
    ask: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpoints {
    /// `None` when the connection or the thread cannot be had: the writer's
    /// automatic checkpoints then do all of them.
    pub(crate) fn start(path: &str, caught_up: Arc<AtomicBool>) -> Option<Self> {
        let connection = Connection::open(path).ok()?;
        connection
            .execute_batch("PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;")
            .ok()?;
        let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    if catch_up_ready(&connection) {
                        caught_up.store(true, Ordering::Release);
                    }
                }
            })
            .ok()?;
        Some(Self {
            ask: Some(ask),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpoints {
    /// Stops the thread (after the checkpoint it may be doing) before the
    /// store is gone.
    fn drop(&mut self) {
        drop(self.ask.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
