//! Group commit: one thread owns the store; callers queue requests; each batch
//! of waiting requests is applied and committed once, then every caller of
//! the batch is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::{Result, Store, StoreError, WriteOp, WriteOutcome};

/// Limits of a [`Writer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Requests that may wait in the queue; submitters wait beyond that.
    pub queue_depth_max: usize,
    /// Events (accounts + transfers + expiries) in one batch; a single request
    /// may not be larger.
    pub batch_transfers_max: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_depth_max: 1_024,
            batch_transfers_max: 8_189,
        }
    }
}

/// Counters of a running writer.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Batches executed (each one database transaction).
    pub batches: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
    /// Transactions committed.
    pub commits: AtomicU64,
}

type Reply = oneshot::Sender<Result<Vec<WriteOutcome>>>;

struct Job {
    ops: Vec<WriteOp>,
    events: usize,
    reply: Reply,
}

/// The answer to a submitted request, awaitable (`ticket.await`-style via
/// [`Ticket::recv`]) or blocking ([`Ticket::wait`]).
#[derive(Debug)]
pub struct Ticket(oneshot::Receiver<Result<Vec<WriteOutcome>>>);

impl Ticket {
    /// Blocks until the batch holding the request has committed. Do not call
    /// from inside an async task.
    ///
    /// # Errors
    /// The batch's database error, or [`StoreError::WriterStopped`].
    pub fn wait(self) -> Result<Vec<WriteOutcome>> {
        self.0
            .blocking_recv()
            .map_err(|_| StoreError::WriterStopped)?
    }

    /// Waits asynchronously until the batch holding the request has committed.
    ///
    /// # Errors
    /// As [`Ticket::wait`].
    pub async fn recv(self) -> Result<Vec<WriteOutcome>> {
        self.0.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// A cloneable handle for submitting requests to a [`Writer`].
#[derive(Debug, Clone)]
pub struct WriterHandle {
    sender: mpsc::Sender<Job>,
    batch_transfers_max: usize,
}

impl WriterHandle {
    fn job(&self, ops: Vec<WriteOp>) -> Result<(Job, Ticket)> {
        let events: usize = ops.iter().map(WriteOp::events).sum();
        if events > self.batch_transfers_max {
            return Err(StoreError::TooLarge {
                events,
                max: self.batch_transfers_max,
            });
        }
        let (reply, receiver) = oneshot::channel();
        Ok((Job { ops, events, reply }, Ticket(receiver)))
    }

    /// Queues a request, blocking while the queue is full (sync callers).
    ///
    /// # Errors
    /// [`StoreError::TooLarge`], [`StoreError::WriterStopped`].
    pub fn submit(&self, ops: Vec<WriteOp>) -> Result<Ticket> {
        let (job, ticket) = self.job(ops)?;
        self.sender
            .blocking_send(job)
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(ticket)
    }

    /// Queues a request, waiting asynchronously while the queue is full.
    ///
    /// # Errors
    /// As [`WriterHandle::submit`].
    pub async fn submit_async(&self, ops: Vec<WriteOp>) -> Result<Ticket> {
        let (job, ticket) = self.job(ops)?;
        self.sender
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(ticket)
    }

    /// Submits and waits for the commit (sync callers).
    ///
    /// # Errors
    /// As [`WriterHandle::submit`] and [`Ticket::wait`].
    pub fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.submit(ops)?.wait()
    }
}

/// The single writer of a database: owns the [`Store`] on its own thread.
#[derive(Debug)]
pub struct Writer {
    handle: WriterHandle,
    thread: JoinHandle<()>,
    /// The store comes back only through this rendezvous channel, to
    /// [`Writer::stop`]. A writer dropped without `stop` makes the send fail,
    /// and the store is then dropped on the writer thread itself: never in
    /// the caller's context, where dropping a PostgreSQL client inside an
    /// async runtime would panic (and a panic while dropping a thread's
    /// result aborts the process).
    /// (In a mutex so that the writer stays `Sync`.)
    store_back: std::sync::Mutex<std::sync::mpsc::Receiver<Store>>,
    stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer thread.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start(store: Store, config: WriterConfig) -> Result<Self> {
        let (sender, receiver) = mpsc::channel(config.queue_depth_max.max(1));
        let stats = Arc::new(WriterStats::default());
        let thread_stats = Arc::clone(&stats);
        let max = config.batch_transfers_max.max(1);
        let (store_sender, store_back) = std::sync::mpsc::sync_channel(0);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || {
                let store = run(store, receiver, max, &thread_stats);
                // Err: nobody is stopping the writer; the store drops here.
                let _ = store_sender.send(store);
            })
            .map_err(|e| StoreError::Database(format!("spawn writer: {e}")))?;
        let handle = WriterHandle {
            sender,
            batch_transfers_max: max,
        };
        Ok(Self {
            handle,
            thread,
            store_back: std::sync::Mutex::new(store_back),
            stats,
        })
    }

    /// A handle to submit requests with.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Stops accepting requests, finishes the queued ones once every handle
    /// is dropped, and returns the store.
    ///
    /// # Errors
    /// [`StoreError::WriterStopped`] when the thread panicked.
    pub fn stop(self) -> Result<Store> {
        drop(self.handle);
        let store = self
            .store_back
            .into_inner()
            .map_err(|_| StoreError::WriterStopped)?
            .recv();
        self.thread.join().map_err(|_| StoreError::WriterStopped)?;
        store.map_err(|_| StoreError::WriterStopped)
    }
}

fn now_ns() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}

fn run(
    mut store: Store,
    mut receiver: mpsc::Receiver<Job>,
    batch_max: usize,
    stats: &WriterStats,
) -> Store {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match receiver.blocking_recv() {
                Some(job) => job,
                None => return store,
            },
        };
        let mut events = first.events;
        let mut jobs = vec![first];
        while events < batch_max {
            let Ok(job) = receiver.try_recv() else { break };
            if events + job.events > batch_max {
                carried = Some(job);
                break;
            }
            events += job.events;
            jobs.push(job);
        }
        execute_batch(&mut store, jobs, stats);
    }
}

fn execute_batch(store: &mut Store, jobs: Vec<Job>, stats: &WriterStats) {
    let mut replies = Vec::with_capacity(jobs.len());
    let mut requests = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push(job.reply);
        requests.push(job.ops);
    }
    let commits_before = store.commits();
    let outcome = store.execute(requests, now_ns());
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats
        .commits
        .fetch_add(store.commits() - commits_before, Ordering::Relaxed);
    stats
        .requests
        .fetch_add(replies.len() as u64, Ordering::Relaxed);
    match outcome {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A caller that stopped waiting is not an error.
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
