//! Group commit: one thread owns the store; callers queue requests; each batch
//! of waiting requests is applied and committed once, then every caller of
//! the batch is answered once the commit is durable.
//!
//! Where the engine can defer its sync (SQLite's WAL, PostgreSQL's
//! asynchronous commit), a second thread makes commits durable: the writer
//! commits without waiting for the disk and goes on; the sync thread takes
//! every batch committed so far, syncs once, and answers them in commit
//! order. A disk that takes L per sync thus no longer caps the writer at
//! one batch per L. A failed sync answers its batches and every later one
//! with the error (the host then stops: fail-stop).
//!
//! Where the engine also holds commits (SQLite), the writer writes each
//! batch as it arrives into one open transaction while a sync runs, and
//! commits that transaction, and hands it to the sync thread, once the sync
//! has ended: one commit per sync. Every batch touches the same few pages
//! (the ends of the tables and indexes, the balances), and each commit
//! writes each page it changed to the WAL again, so a commit per batch
//! wrote those pages several times per sync; once per sync makes the WAL,
//! its sync, and the writer's own writes shorter. Otherwise (PostgreSQL)
//! the writer gathers what arrives during a sync into one batch and
//! commits it, and the sync thread waits briefly for the batches of one
//! wave of callers to share a sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::engine::DurableSync;
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
    /// Deferred syncs done (SQLite: fdatasyncs of the WAL, each making
    /// every commit before it durable; 0 where commits sync themselves).
    pub syncs: AtomicU64,
    /// Nanoseconds spent in those syncs.
    pub sync_ns: AtomicU64,
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
    /// The writer's thread, woken on every request (a writer holding
    /// batches waits parked for a request or for its sync to end).
    writer: std::thread::Thread,
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
        self.writer.unpark();
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
        self.writer.unpark();
        Ok(ticket)
    }

    /// Reserves a place in the queue, waiting asynchronously while it is
    /// full, so that a caller can then submit without waiting (e.g. under a
    /// lock that orders submissions). Dropping the slot gives the place back.
    ///
    /// # Errors
    /// [`StoreError::WriterStopped`].
    pub async fn reserve(&self) -> Result<Slot<'_>> {
        let permit = self
            .sender
            .reserve()
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(Slot {
            permit,
            handle: self,
        })
    }

    /// Submits and waits for the commit (sync callers).
    ///
    /// # Errors
    /// As [`WriterHandle::submit`] and [`Ticket::wait`].
    pub fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.submit(ops)?.wait()
    }
}

/// A reserved place in a writer's queue ([`WriterHandle::reserve`]).
pub struct Slot<'a> {
    permit: mpsc::Permit<'a, Job>,
    handle: &'a WriterHandle,
}

impl std::fmt::Debug for Slot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

impl Slot<'_> {
    /// Queues a request in the reserved place, without waiting.
    ///
    /// # Errors
    /// [`StoreError::TooLarge`].
    pub fn submit(self, ops: Vec<WriteOp>) -> Result<Ticket> {
        let (job, ticket) = self.handle.job(ops)?;
        self.permit.send(job);
        self.handle.writer.unpark();
        Ok(ticket)
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
            writer: thread.thread().clone(),
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

/// Committed batches that may wait for the WAL sync; the writer waits
/// beyond that.
const SYNC_QUEUE_BATCHES_MAX: usize = 1_024;

/// A committed batch's callers and outcome, to be answered.
type Done = (Vec<Reply>, Result<Vec<Vec<WriteOutcome>>>);

fn run(
    mut store: Store,
    mut receiver: mpsc::Receiver<Job>,
    batch_max: usize,
    stats: &Arc<WriterStats>,
) -> Store {
    // Where the engine allows it (SQLite's WAL, PostgreSQL's asynchronous
    // commit), commits return before the disk has them and a thread of
    // their own syncs: one sync covers every batch committed before it.
    // Otherwise each commit is durable on return.
    let shared = Arc::new(SyncShared {
        syncing: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        writer: std::thread::current(),
    });
    let hold = store.engine_mut().holds_commits();
    let syncer = match store.defer_sync() {
        Ok(Some(mut durable)) => {
            let (sender, done) = std::sync::mpsc::sync_channel::<Vec<Done>>(SYNC_QUEUE_BATCHES_MAX);
            std::thread::Builder::new()
                .name("ledger-sync".into())
                .spawn({
                    let shared = Arc::clone(&shared);
                    let stats = Arc::clone(stats);
                    move || sync_loop(durable.as_mut(), &done, &shared, &stats, !hold)
                })
                .ok()
                .map(|thread| (sender, thread))
        }
        _ => None,
    };
    match &syncer {
        // Holding commits needs the sync thread's word that a sync ended.
        Some((sender, _)) if hold && store.hold_commits(true).unwrap_or(false) => {
            held_loop(&mut store, &mut receiver, batch_max, stats, sender, &shared);
        }
        Some((sender, _)) => {
            gather_loop(
                &mut store,
                &mut receiver,
                batch_max,
                stats,
                Some(sender),
                &shared,
            );
        }
        None => {
            // The sync thread could not start: commits stay durable on return.
            let _ = store.restore_sync();
            gather_loop(&mut store, &mut receiver, batch_max, stats, None, &shared);
        }
    }
    if let Some((sender, thread)) = syncer {
        // The sync thread answers what it holds, then ends.
        drop(sender);
        let _ = thread.join();
        // Nothing is held any more: `held_loop` commits before it ends.
        let _ = store.hold_commits(false);
        let _ = store.restore_sync();
    }
    store
}

/// What the writer and its sync thread share.
struct SyncShared {
    /// Set while a sync runs.
    syncing: AtomicBool,
    /// Committed batches sent to the sync thread and not answered yet.
    in_flight: AtomicUsize,
    /// The writer's thread, woken when `in_flight` falls to zero.
    writer: std::thread::Thread,
}

/// Takes `first` and what else is queued, up to `batch_max` events (the
/// job beyond goes to `carried`); while the queue is empty and `wait()`
/// says so, it looks again every [`GATHER_POLL`].
fn gather(
    first: Job,
    receiver: &mut mpsc::Receiver<Job>,
    batch_max: usize,
    carried: &mut Option<Job>,
    wait: impl Fn() -> bool,
) -> (Vec<Job>, usize) {
    let mut events = first.events;
    let mut jobs = vec![first];
    while events < batch_max {
        let Ok(job) = receiver.try_recv() else {
            if wait() {
                std::thread::sleep(GATHER_POLL);
                continue;
            }
            break;
        };
        if events + job.events > batch_max {
            *carried = Some(job);
            break;
        }
        events += job.events;
        jobs.push(job);
    }
    (jobs, events)
}

/// Hands committed batches to the sync thread (or, without one, answers
/// them: their commits were durable).
fn send(
    batches: Vec<Done>,
    sender: Option<&std::sync::mpsc::SyncSender<Vec<Done>>>,
    shared: &SyncShared,
) {
    let Some(sender) = sender else {
        batches.into_iter().for_each(|done| answer(done, None));
        return;
    };
    let count = batches.len();
    shared.in_flight.fetch_add(count, Ordering::AcqRel);
    if let Err(std::sync::mpsc::SendError(batches)) = sender.send(batches) {
        shared.in_flight.fetch_sub(count, Ordering::AcqRel);
        for done in batches {
            answer(done, Some(&StoreError::WriterStopped));
        }
    }
}

/// One commit per batch. While a sync runs, what arrives is gathered into
/// the next batch (it would wait for the next sync anyway).
fn gather_loop(
    store: &mut Store,
    receiver: &mut mpsc::Receiver<Job>,
    batch_max: usize,
    stats: &WriterStats,
    sender: Option<&std::sync::mpsc::SyncSender<Vec<Done>>>,
    shared: &SyncShared,
) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match receiver.blocking_recv() {
                Some(job) => job,
                None => break,
            },
        };
        let gather_until = Instant::now() + GATHER_DURING_SYNC_MAX;
        let syncing = || shared.syncing.load(Ordering::Acquire) && Instant::now() < gather_until;
        let (jobs, _) = gather(first, receiver, batch_max, &mut carried, syncing);
        send(vec![execute_batch(store, jobs, stats)], sender, shared);
    }
}

/// One commit per sync (the store holds commits): batches are written as
/// they arrive into one open transaction, which is committed, and handed
/// to the sync thread, once the last sync has ended (or the transaction is
/// full). The work of writing the batches thus overlaps the sync, and the
/// pages every batch touches reach the WAL once per sync. Between batches
/// the writer waits parked: every submission and the sync's end wake it
/// (polling every 50 µs instead cost about 6% more CPU per approval at
/// half the benchmark's rate).
fn held_loop(
    store: &mut Store,
    receiver: &mut mpsc::Receiver<Job>,
    batch_max: usize,
    stats: &WriterStats,
    sender: &std::sync::mpsc::SyncSender<Vec<Done>>,
    shared: &SyncShared,
) {
    let mut carried: Option<Job> = None;
    let mut held: Vec<Done> = Vec::new();
    let mut held_events = 0usize;
    let mut open = true;
    loop {
        let next = match carried.take() {
            Some(job) => Some(job),
            None if held.is_empty() => match receiver.blocking_recv() {
                Some(job) => Some(job),
                None => break,
            },
            None => match receiver.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Empty) => None,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    None
                }
            },
        };
        let arrived = next.is_some();
        if let Some(first) = next {
            let (jobs, events) = gather(first, receiver, batch_max, &mut carried, || false);
            held_events += events;
            held.push(execute_batch(store, jobs, stats));
        }
        let sync_idle = shared.in_flight.load(Ordering::Acquire) == 0;
        if sync_idle || held_events >= batch_max || !open {
            let commits_before = store.commits();
            let committed = store.commit_held();
            stats
                .commits
                .fetch_add(store.commits() - commits_before, Ordering::Relaxed);
            held_events = 0;
            match committed {
                Ok(()) => send(std::mem::take(&mut held), Some(sender), shared),
                Err(error) => held.drain(..).for_each(|done| answer(done, Some(&error))),
            }
            if !open {
                break;
            }
        } else if !arrived {
            // Woken by the next request or the end of the sync (the
            // bound is a safety net only).
            std::thread::park_timeout(HELD_PARK_MAX);
        }
    }
}

/// Longest the writer gathers requests while a sync runs (a safety bound: a
/// sync normally ends sooner).
const GATHER_DURING_SYNC_MAX: Duration = Duration::from_millis(20);
/// How often the gathering writer looks at its queue.
const GATHER_POLL: Duration = Duration::from_micros(50);
/// Longest a writer holding batches stays parked without being woken.
const HELD_PARK_MAX: Duration = Duration::from_millis(5);

/// Longest a sync waits for more committed batches to join it.
const GATHER_WAIT_MAX: Duration = Duration::from_millis(1);

/// Makes every run of committed batches durable with one sync, then
/// answers them in commit order. After a failed sync nothing is known to be
/// durable: that batch's callers and every later one get the error.
///
/// Callers answered together come back together (terminals send their next
/// request on the answer): so that they share the next sync rather than be
/// split over two, a sync waits (`gather_wait`: the writer commits each
/// batch) until as many requests are committed as the last sync covered,
/// at most [`GATHER_WAIT_MAX`] and never longer than the last sync took. A
/// lighter load waits once, then not at all. A writer that holds commits
/// gathers them itself: the sync then starts at once.
fn sync_loop(
    durable: &mut dyn DurableSync,
    done: &std::sync::mpsc::Receiver<Vec<Done>>,
    shared: &SyncShared,
    stats: &WriterStats,
    gather_wait: bool,
) {
    let mut failed: Option<StoreError> = None;
    let mut last_requests = 0usize;
    let mut last_sync = Duration::ZERO;
    let count = |batches: &[Done]| batches.iter().map(|done| done.0.len()).sum::<usize>();
    while let Ok(mut ready) = done.recv() {
        let mut requests = count(&ready);
        let wait = if gather_wait {
            last_sync.min(GATHER_WAIT_MAX)
        } else {
            Duration::ZERO
        };
        let deadline = Instant::now() + wait;
        loop {
            while let Ok(more) = done.try_recv() {
                requests += count(&more);
                ready.extend(more);
            }
            let now = Instant::now();
            if requests >= last_requests || now >= deadline {
                break;
            }
            match done.recv_timeout(deadline - now) {
                Ok(more) => {
                    requests += count(&more);
                    ready.extend(more);
                }
                Err(_) => break,
            }
        }
        last_requests = requests;
        let started = Instant::now();
        shared.syncing.store(true, Ordering::Release);
        if failed.is_none()
            && let Err(error) = durable.sync()
        {
            failed = Some(error);
        }
        shared.syncing.store(false, Ordering::Release);
        last_sync = started.elapsed();
        stats.syncs.fetch_add(1, Ordering::Relaxed);
        stats.sync_ns.fetch_add(
            u64::try_from(last_sync.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let batches = ready.len();
        for batch in ready {
            answer(batch, failed.as_ref());
        }
        if shared.in_flight.fetch_sub(batches, Ordering::AcqRel) == batches {
            shared.writer.unpark();
        }
        if failed.is_none() {
            durable.upkeep();
        }
    }
}

/// Answers a batch's callers with its outcome, or with `failed`.
fn answer((replies, outcome): Done, failed: Option<&StoreError>) {
    let outcome = match failed {
        Some(error) => Err(error.clone()),
        None => outcome,
    };
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

fn execute_batch(store: &mut Store, jobs: Vec<Job>, stats: &WriterStats) -> Done {
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
    (replies, outcome)
}
