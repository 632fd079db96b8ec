//! A lean load generator: many terminals, few threads.
//!
//! Each load terminal is a real terminal on the wire: its own TCP
//! connection, STAN, DUKPT counter and batch; every sale is a swipe with PIN
//! carrying a real ISO 9564 format-0 PIN block under its own DUKPT key (and
//! a MAC when the terminal's profile wants one; the answer's MAC is checked
//! then too). A full batch (500 sales) is settled with a 0500, and a sale
//! that gets no answer in time is reversed (0400, then 0420 repeats), both
//! outside the measurement.
//!
//! What makes it cheap, so that it measures the host rather than itself:
//! - The crypto is done before the timed window ([`Prepared::new`], on every
//!   core): per request the KSN and the encrypted PIN block (and the MAC
//!   keys). A run that outlasts the prepared requests derives the rest inline
//!   and reports how many ([`LoadReport::derived_inline`]).
//! - The sale is encoded once; a request patches its STAN, times, batch, KSN
//!   and PIN block in place (and computes its MAC), and the answer is decoded
//!   in the read buffer without allocating.
//! - A few OS threads ([`LoadSpec::threads`]), each a single-threaded tokio
//!   runtime driving its share of the connections with non-blocking I/O.
//!
//! Closed loop: each terminal sends its next sale when the last is answered
//! (one in flight, as a real terminal). Open loop ([`Window::rate`]): each
//! terminal on its own schedule, the terminals' first sends spread over one
//! interval; latency is measured from the scheduled send time, so a slow
//! answer delays no measurement (no coordinated omission). The tokio timer
//! wakes at millisecond granularity: how late each send left its schedule is
//! reported ([`LoadReport::late`]) and is part of the latency.
//!
//! The same [`Prepared`] load can run several times (against an echo server,
//! then against the host): every run starts from the first prepared request.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cardsec::dukpt::TransactionKeyCache;
use cardsec::{Ksn, Pin, TdesKey, pin};
use hdrhistogram::Histogram;

use crate::Error;
use crate::card::Card;

mod conn;
mod cpu;
mod prepare;

use conn::{Conn, Schedule, Tally, drive};
use prepare::{SaleShape, Step, Template, clear_block, derive, next_counter, template};

/// Highest latency the histograms track (µs).
const LATENCY_MAX_US: u64 = 60_000_000;

/// One terminal of the load.
pub struct LoadTerminal {
    /// TID (DE 41).
    pub tid: String,
    /// MID (DE 42).
    pub mid: String,
    /// Initial KSN, 20 hex characters.
    pub initial_ksn: String,
    /// The terminal's IPEK.
    pub ipek: TdesKey,
    /// Whether requests and answers carry a MAC (DE 64).
    pub mac_required: bool,
    /// The open batch (DE 60).
    pub batch: u32,
}

impl std::fmt::Debug for LoadTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTerminal")
            .field("tid", &self.tid)
            .finish_non_exhaustive()
    }
}

/// What every terminal of the load sends.
pub struct LoadSpec {
    /// The card swiped.
    pub card: Card,
    /// Its PIN.
    pub pin: Pin,
    /// Amount of each sale, minor units.
    pub amount_minor: u64,
    /// ISO 4217 numeric currency (DE 49).
    pub currency: u16,
    /// Local time offset for DE 12/13, seconds.
    pub utc_offset_s: i64,
    /// How long a terminal waits for an answer.
    pub response_timeout: Duration,
    /// OS threads driving the connections.
    pub threads: usize,
}

impl std::fmt::Debug for LoadSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadSpec")
            .field("amount_minor", &self.amount_minor)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// A prepared step with its KSN counter.
struct PreparedStep {
    counter: u32,
    step: Step,
}

/// One terminal, ready to run.
struct TerminalLoad {
    tid: String,
    mid: String,
    initial: Ksn,
    ipek: TdesKey,
    mac_required: bool,
    batch: u32,
    template: Template,
    steps: Vec<PreparedStep>,
}

/// What the connections of a run share.
struct Context {
    address: String,
    amount_minor: u64,
    currency: u16,
    utc_offset_s: i64,
    response_timeout: Duration,
    clear_block: pin::ClearPinBlock,
    approved: Arc<AtomicU64>,
}

/// The timed window of a run.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// How long new sales are sent.
    pub duration: Duration,
    /// Open loop: sales per second across all terminals.
    pub rate: Option<f64>,
}

/// What a run measured.
#[derive(Debug)]
pub struct LoadReport {
    /// From the start of the window until the last answer.
    pub elapsed: Duration,
    /// Sales answered `00`.
    pub approved: u64,
    /// Latency of approved sales, µs (from the scheduled send time).
    pub latency: Histogram<u64>,
    /// Open loop: how late each send left its schedule, µs.
    pub late: Histogram<u64>,
    /// Other outcomes by response code, `timeout` or `transport`.
    pub errors: BTreeMap<String, u64>,
    /// Batches settled (0500) during the run.
    pub settlements: u64,
    /// Reversals answered during the run.
    pub reversals: u64,
    /// Requests whose keys were derived during the window (the prepared
    /// ones ran out).
    pub derived_inline: u64,
    /// CPU time of the load's own threads during the window (Linux).
    pub client_cpu: Option<Duration>,
    /// CPU time of the whole process during the window (Linux).
    pub process_cpu: Option<Duration>,
}

fn histogram() -> Histogram<u64> {
    // Cannot fail: 1 <= low, high >= 2 * low and 3 significant digits are
    // within hdrhistogram's limits.
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("constant histogram bounds")
}

/// A load, prepared: templates built and `steps` requests per terminal
/// derived.
pub struct Prepared {
    terminals: Vec<Arc<TerminalLoad>>,
    spec: LoadSpec,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("terminals", &self.terminals.len())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Builds each terminal's sale and derives its first `steps` requests,
    /// on every core.
    ///
    /// # Errors
    /// A KSN or key that cannot be used, or a field that does not fit.
    pub fn new(
        terminals: Vec<LoadTerminal>,
        spec: LoadSpec,
        steps: usize,
    ) -> Result<Prepared, Error> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let chunk = terminals.len().div_ceil(cores).max(1);
        let clear = clear_block(&spec.pin, &spec.card);
        let mut prepared = Vec::with_capacity(terminals.len());
        std::thread::scope(|scope| {
            let workers: Vec<_> = terminals
                .chunks(chunk)
                .map(|part| {
                    let (spec, clear) = (&spec, &clear);
                    scope.spawn(move || {
                        part.iter()
                            .map(|t| prepare_one(t, spec, clear, steps))
                            .collect::<Result<Vec<_>, Error>>()
                    })
                })
                .collect();
            for worker in workers {
                let done = worker
                    .join()
                    .map_err(|_| Error::Input("a preparing thread panicked".into()))??;
                prepared.extend(done.into_iter().map(Arc::new));
            }
            Ok::<(), Error>(())
        })?;
        Ok(Prepared {
            terminals: prepared,
            spec,
        })
    }

    /// Runs the load against `address` for `window`; `approved` counts the
    /// approvals as they come (for a progress display).
    ///
    /// # Errors
    /// [`Error::Connect`] when a terminal cannot connect before the window.
    pub fn run(
        &self,
        address: &str,
        window: Window,
        approved: &Arc<AtomicU64>,
    ) -> Result<LoadReport, Error> {
        let count = self.terminals.len();
        let threads = self.spec.threads.clamp(1, count.max(1));
        let context = Arc::new(Context {
            address: address.to_owned(),
            amount_minor: self.spec.amount_minor,
            currency: self.spec.currency,
            utc_offset_s: self.spec.utc_offset_s,
            response_timeout: self.spec.response_timeout,
            clear_block: clear_block(&self.spec.pin, &self.spec.card),
            approved: Arc::clone(approved),
        });
        // Each terminal's interval; first sends spread over one interval.
        #[allow(clippy::float_arithmetic, clippy::cast_precision_loss)]
        let interval = window
            .rate
            .map(|rate| Duration::from_secs_f64(count as f64 / rate));
        let barrier = Barrier::new(threads + 1);
        let mut report = LoadReport {
            elapsed: Duration::ZERO,
            approved: 0,
            latency: histogram(),
            late: histogram(),
            errors: BTreeMap::new(),
            settlements: 0,
            reversals: 0,
            derived_inline: 0,
            client_cpu: Some(Duration::ZERO),
            process_cpu: None,
        };
        std::thread::scope(|scope| {
            let mut workers = Vec::with_capacity(threads);
            for k in 0..threads {
                let mine: Vec<(usize, Arc<TerminalLoad>)> = self
                    .terminals
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % threads == k)
                    .map(|(i, t)| (i, Arc::clone(t)))
                    .collect();
                let (context, barrier) = (Arc::clone(&context), &barrier);
                let worker = std::thread::Builder::new()
                    .name(format!("load-{k}"))
                    .spawn_scoped(scope, move || {
                        thread_main(mine, context, barrier, window, interval, count)
                    })
                    .map_err(|e| Error::Input(format!("starting a load thread: {e}")))?;
                workers.push(worker);
            }
            barrier.wait();
            let process_before = cpu::process();
            let started = Instant::now();
            let mut failure = None;
            for worker in workers {
                match worker.join() {
                    Ok(Ok((tallies, cpu))) => {
                        merge(&mut report, tallies);
                        report.client_cpu = report.client_cpu.zip(cpu).map(|(a, b)| a + b);
                    }
                    Ok(Err(error)) => failure = Some(error),
                    Err(_) => failure = Some(Error::Input("a load thread panicked".into())),
                }
            }
            report.elapsed = started.elapsed();
            report.process_cpu = process_before
                .zip(cpu::process())
                .map(|(before, after)| after.saturating_sub(before));
            failure.map_or(Ok(()), Err)
        })?;
        Ok(report)
    }
}

fn prepare_one(
    terminal: &LoadTerminal,
    spec: &LoadSpec,
    clear: &pin::ClearPinBlock,
    steps: usize,
) -> Result<TerminalLoad, Error> {
    let initial = Ksn::from_hex(&terminal.initial_ksn)?;
    let mut keys = TransactionKeyCache::from_ipek(terminal.ipek.clone(), &initial);
    let mut prepared = Vec::with_capacity(steps);
    let mut counter = initial.counter();
    for _ in 0..steps {
        let Ok(next) = next_counter(counter) else {
            break;
        };
        counter = next;
        let step = derive(&mut keys, &initial, counter, clear, terminal.mac_required)?;
        prepared.push(PreparedStep { counter, step });
    }
    let template = template(&SaleShape {
        tid: &terminal.tid,
        mid: &terminal.mid,
        card: &spec.card,
        amount_minor: spec.amount_minor,
        currency: spec.currency,
        mac: terminal.mac_required,
    })?;
    Ok(TerminalLoad {
        tid: terminal.tid.clone(),
        mid: terminal.mid.clone(),
        initial,
        ipek: terminal.ipek.clone(),
        mac_required: terminal.mac_required,
        batch: terminal.batch,
        template,
        steps: prepared,
    })
}

type ThreadOutcome = Result<(Vec<Tally>, Option<Duration>), Error>;

/// One load thread: connects its terminals, meets the others at the
/// barrier, then drives its connections on a single-threaded runtime.
fn thread_main(
    mine: Vec<(usize, Arc<TerminalLoad>)>,
    context: Arc<Context>,
    barrier: &Barrier,
    window: Window,
    interval: Option<Duration>,
    count: usize,
) -> ThreadOutcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let connected = match &runtime {
        Ok(runtime) => runtime.block_on(async {
            let mut conns = Vec::with_capacity(mine.len());
            for _ in &mine {
                let conn = Conn::open(&context.address)
                    .await
                    .map_err(|source| Error::Connect {
                        address: context.address.clone(),
                        source,
                    })?;
                conns.push(conn);
            }
            Ok::<_, Error>(conns)
        }),
        Err(e) => Err(Error::Input(format!("load runtime: {e}"))),
    };
    // Met either way, so that nobody waits for a failed thread.
    barrier.wait();
    let (conns, runtime) = (
        connected?,
        runtime.map_err(|e| Error::Input(e.to_string()))?,
    );
    let cpu_before = cpu::thread();
    let started = Instant::now();
    let tallies = runtime.block_on(async {
        let mut tasks = Vec::with_capacity(mine.len());
        for ((index, terminal), conn) in mine.into_iter().zip(conns) {
            // Index and count are at most a few thousand.
            let (index, count) = (
                u32::try_from(index).unwrap_or(0),
                u32::try_from(count).unwrap_or(1).max(1),
            );
            let schedule = Schedule {
                started,
                deadline: started + window.duration,
                interval: interval.map(|i| (i, i * index / count)),
            };
            tasks.push(tokio::spawn(drive(
                terminal,
                Arc::clone(&context),
                conn,
                schedule,
            )));
        }
        let mut tallies = Vec::with_capacity(tasks.len());
        for task in tasks {
            tallies.push(
                task.await
                    .map_err(|_| Error::Input("a load task failed".into()))?,
            );
        }
        Ok::<_, Error>(tallies)
    })?;
    let cpu = cpu_before
        .zip(cpu::thread())
        .map(|(before, after)| after.saturating_sub(before));
    Ok((tallies, cpu))
}

fn merge(report: &mut LoadReport, tallies: Vec<Tally>) {
    for tally in tallies {
        report.approved += tally.approved;
        let _ = report.latency.add(&tally.latency);
        let _ = report.late.add(&tally.late);
        report.settlements += tally.settlements;
        report.reversals += tally.reversals;
        report.derived_inline += tally.derived_inline;
        for (kind, n) in tally.errors {
            *report.errors.entry(kind).or_default() += n;
        }
    }
}
