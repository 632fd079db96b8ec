//! Commits made durable behind their writer: see [`crate::Store::sync_behind`].

use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use crate::engine::DurableSync;
use crate::{Result, StoreError};

/// A thread that syncs the engine's log when asked: each sync makes every
/// commit returned before it durable. Asks made while one sync runs are
/// folded into one more sync after it.
pub(crate) struct SyncBehind {
    /// Dropped to stop the thread.
    ask: Option<SyncSender<()>>,
    /// Returns the first failed sync's error.
    thread: Option<JoinHandle<Result<()>>>,
}

impl SyncBehind {
    pub(crate) fn start(mut sync: Box<dyn DurableSync>) -> Result<Self> {
        let (ask, asked) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sync-behind".into())
            .spawn(move || {
                let mut first_error = Ok(());
                while asked.recv().is_ok() {
                    if let Err(error) = sync.sync() {
                        first_error = first_error.and(Err(error));
                    }
                }
                first_error
            })
            .map_err(|e| StoreError::Database(format!("starting the sync thread: {e}")))?;
        Ok(Self {
            ask: Some(ask),
            thread: Some(thread),
        })
    }

    /// Asks for a sync of every commit so far; never waits.
    pub(crate) fn ask(&self) {
        if let Some(ask) = &self.ask {
            // Full: a sync is asked for already, and it starts after this
            // commit. Disconnected: the thread is gone (it panicked), which
            // [`SyncBehind::finish`] reports.
            let _: std::result::Result<(), TrySendError<()>> = ask.try_send(());
        }
    }

    /// Waits for the sync under way, if any, and stops the thread.
    ///
    /// # Errors
    /// The first sync that failed.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> Result<()> {
        drop(self.ask.take());
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| StoreError::Database("the sync thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for SyncBehind {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Counts syncs begun and ended; the `fail_at`th fails; each waits at
    /// the gate.
    struct Probe {
        begun: Arc<AtomicUsize>,
        ended: Arc<AtomicUsize>,
        fail_at: usize,
        gate: Arc<Mutex<()>>,
    }

    impl DurableSync for Probe {
        fn sync(&mut self) -> Result<()> {
            self.begun.fetch_add(1, Ordering::SeqCst);
            let _open = self.gate.lock().unwrap();
            let n = self.ended.fetch_add(1, Ordering::SeqCst) + 1;
            if n == self.fail_at {
                return Err(StoreError::Database("disk gone".into()));
            }
            Ok(())
        }
    }

    struct Counts {
        begun: Arc<AtomicUsize>,
        ended: Arc<AtomicUsize>,
        gate: Arc<Mutex<()>>,
    }

    fn probe(fail_at: usize) -> (Box<Probe>, Counts) {
        let counts = Counts {
            begun: Arc::default(),
            ended: Arc::default(),
            gate: Arc::default(),
        };
        let probe = Probe {
            begun: Arc::clone(&counts.begun),
            ended: Arc::clone(&counts.ended),
            fail_at,
            gate: Arc::clone(&counts.gate),
        };
        (Box::new(probe), counts)
    }

    fn wait_for(count: &AtomicUsize, n: usize) {
        while count.load(Ordering::SeqCst) < n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn asks_made_during_a_sync_get_one_sync_after_it() {
        let (probe, counts) = probe(0);
        let closed = counts.gate.lock().unwrap();
        let behind = SyncBehind::start(probe).unwrap();
        behind.ask();
        wait_for(&counts.begun, 1);
        for _ in 0..10 {
            behind.ask();
        }
        drop(closed);
        behind.finish().unwrap();
        // The first ask's sync, then one for the ten asked during it.
        assert_eq!(counts.ended.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn nothing_asked_nothing_synced() {
        let (probe, counts) = probe(0);
        SyncBehind::start(probe).unwrap().finish().unwrap();
        assert_eq!(counts.begun.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_failed_sync_is_reported_at_the_end() {
        let (probe, counts) = probe(1);
        let behind = SyncBehind::start(probe).unwrap();
        behind.ask();
        wait_for(&counts.ended, 1);
        behind.ask();
        let error = behind.finish().unwrap_err();
        assert!(error.to_string().contains("disk gone"), "{error}");
        assert_eq!(counts.ended.load(Ordering::SeqCst), 2);
    }
}
