//! The TCP server (mini-redis style) and the wiring of `posbridge serve`.
//!
//! A [`Listener`] accepts with bounded back-off while a semaphore caps the
//! open connections (`connections_max`); each connection gets a handler
//! that reads frames with `decode_frame`, processes requests concurrently
//! (pipelining) and writes each response as it completes, from the
//! request's own task, under the connection's write lock (one frame per
//! write; no task or queue between a response and its socket). Shutdown:
//! stop accepting, finish in-flight requests, exit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use iso8583::{FRAME_HEADER_LEN, decode_frame, frame_header};
use store::{Store, Writer, WriterConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::api::{ApiConfig, ApiState, Clock, SystemClock, seed_sandbox};
use crate::http_server;
use crate::metrics::Metrics;
use crate::plans::FeePlanReader;
use crate::seed::{HostKeys, SANDBOX_SETTING, sandbox_seed};
use crate::service::{FrameOutcome, Host, HostConfig, NETWORK_TIMEOUT_DEFAULT, SimulatedNetwork};
use crate::state::HostState;

/// Most connections open at once.
pub const CONNECTIONS_MAX_DEFAULT: usize = 1_024;
/// Idle time after which a connection is closed.
pub const IDLE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(120);
/// Longest pause between failed accepts.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Most requests in flight on one connection (reading pauses beyond).
pub const IN_FLIGHT_PER_CONNECTION_MAX: usize = 64;
/// Bytes read from a socket at a time.
const READ_CHUNK_BYTES: usize = 4_096;

/// How `posbridge serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Database URL (`sqlite:PATH`, a path, or `postgres://…`).
    pub database_url: String,
    /// Seed the sandbox into a fresh database (and accept sandbox data).
    pub sandbox: bool,
    /// ISO 8583 listen address.
    pub iso_listen: String,
    /// HTTP listen address.
    pub http_listen: String,
    /// Most connections open at once.
    pub connections_max: usize,
    /// Idle timeout of a connection.
    pub idle_timeout: Duration,
    /// Time the host waits for the card network.
    pub network_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            database_url: "sqlite:posbridge.db".to_owned(),
            sandbox: false,
            iso_listen: "127.0.0.1:8583".to_owned(),
            http_listen: "127.0.0.1:8080".to_owned(),
            connections_max: CONNECTIONS_MAX_DEFAULT,
            idle_timeout: IDLE_TIMEOUT_DEFAULT,
            network_timeout: NETWORK_TIMEOUT_DEFAULT,
        }
    }
}

/// The time the server runs on: the clock of the API and the settlement
/// jobs (tests inject a `ManualClock` and move it over a cut-off), and how
/// often the T+1 job looks at it.
#[derive(Clone)]
pub struct Timing {
    /// Now, for the API and the settlement jobs.
    pub clock: Arc<dyn Clock>,
    /// How often the T+1 job looks for dates that have closed.
    pub t1_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            clock: Arc::new(SystemClock),
            t1_interval: crate::settlement::t1::T1_INTERVAL,
        }
    }
}

impl std::fmt::Debug for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timing")
            .field("now_ns", &self.clock.now_ns())
            .field("t1_interval", &self.t1_interval)
            .finish()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Storage.
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    /// Sockets.
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
    /// Keys or seeding.
    #[error("keys or seeding")]
    Seed(#[from] crate::seed::SeedError),
    /// The database and `--sandbox` disagree.
    #[error("{0}")]
    Refused(&'static str),
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The ISO 8583 address bound.
    pub iso_addr: SocketAddr,
    /// The HTTP address bound.
    pub http_addr: SocketAddr,
    /// The host service.
    pub host: Arc<Host>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    writer: Option<Writer>,
}

impl Running {
    /// Durable commits of the store writer so far (many requests share one
    /// commit under load).
    pub fn store_commits(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| {
            w.stats().commits.load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// Deferred syncs of the store writer so far and the nanoseconds they
    /// took (SQLite: one WAL fdatasync makes every commit before it
    /// durable; 0 on PostgreSQL, whose commits sync themselves).
    pub fn store_syncs(&self) -> (u64, u64) {
        self.writer.as_ref().map_or((0, 0), |w| {
            let stats = w.stats();
            (
                stats.syncs.load(std::sync::atomic::Ordering::Relaxed),
                stats.sync_ns.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }

    /// Stops accepting, finishes in-flight requests and stops the writer.
    ///
    /// # Errors
    /// When the writer thread failed.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.shutdown_and(|_| ()).await
    }

    /// As [`Running::shutdown`], then runs `inspect` on the store on a
    /// blocking thread (the synchronous database clients must not run or be
    /// dropped inside the async runtime).
    ///
    /// # Errors
    /// When the writer thread failed.
    pub async fn shutdown_and<T: Send + 'static>(
        mut self,
        inspect: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> Result<T, ServeError> {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        let writer = self.writer.take();
        drop(self.host);
        let Some(writer) = writer else {
            return Err(ServeError::Refused("the writer is already stopped"));
        };
        tokio::task::spawn_blocking(move || {
            let mut store = writer.stop()?;
            Ok(inspect(&mut store))
        })
        .await
        .map_err(|_| ServeError::Refused("writer thread failed"))?
    }
}

/// Opens (and if asked seeds) the database, starts the writer, binds both
/// listeners and starts serving.
///
/// # Errors
/// [`ServeError`] for storage, seeding, binding, or a database whose
/// sandbox state disagrees with `config.sandbox`.
pub async fn start(config: ServeConfig) -> Result<Running, ServeError> {
    start_with_timing(config, Timing::default()).await
}

/// As [`start`], on the clock of `timing`.
///
/// # Errors
/// As [`start`].
pub async fn start_with_timing(config: ServeConfig, timing: Timing) -> Result<Running, ServeError> {
    // Sandbox keys only with --sandbox; a production host brings its own.
    let keys = if config.sandbox {
        HostKeys::sandbox()?
    } else {
        HostKeys::from_env()?
    };
    let url = config.database_url.clone();
    let sandbox = config.sandbox;
    let seed_keys = keys.clone();
    let (store, state) = tokio::task::spawn_blocking(move || open_store(&url, sandbox, &seed_keys))
        .await
        .map_err(|_| ServeError::Refused("opening the database failed"))??;
    let writer = Writer::start(store, WriterConfig::default())?;
    let metrics = Arc::new(Metrics::default());
    let api_state = ApiState::new(
        ApiConfig {
            database_url: config.database_url.clone(),
            key_pepper: api_key_pepper(config.sandbox)?,
            sandbox: config.sandbox,
        },
        writer.handle(),
        Arc::clone(&timing.clock),
    );
    let host = Host::new(
        state,
        writer.handle(),
        HostConfig {
            keys,
            bins: domain::sandbox::bin_table(),
            network: Arc::new(SimulatedNetwork),
            network_timeout: config.network_timeout,
            program: Some(domain::sandbox::program()),
            fee_plans: Some(FeePlanReader::new(api_state.clone())),
        },
        Arc::clone(&metrics),
    );
    let host = Arc::new(host.with_lease(&config.database_url));
    let iso = TcpListener::bind(&config.iso_listen).await?;
    let http = TcpListener::bind(&config.http_listen).await?;
    let (shutdown, receiver) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let listener = Listener {
        listener: iso,
        host: Arc::clone(&host),
        limit: Arc::new(Semaphore::new(config.connections_max.max(1))),
        idle_timeout: config.idle_timeout,
        shutdown: receiver.clone(),
    };
    let iso_addr = listener.listener.local_addr()?;
    let http_addr = http.local_addr()?;
    tasks.spawn(listener.run());
    tasks.spawn(crate::expiry::run(
        Arc::clone(&host),
        config.database_url.clone(),
        receiver.clone(),
    ));
    tasks.spawn(crate::settlement::t0::job_with_clock(
        config.database_url.clone(),
        writer.handle(),
        Arc::clone(&timing.clock),
        receiver.clone(),
        crate::settlement::t0::T0_INTERVAL,
    ));
    tasks.spawn(crate::settlement::t1::job(
        config.database_url.clone(),
        writer.handle(),
        Arc::clone(&timing.clock),
        receiver.clone(),
        timing.t1_interval,
    ));
    let api_state = api_state.with_host(Arc::clone(&host));
    if config.sandbox {
        // Idempotent: keys, fee plan and program that exist are left alone.
        seed_sandbox(&api_state)
            .await
            .map_err(|_| ServeError::Refused("seeding the sandbox API data failed"))?;
    }
    // `GET /v1/health` reports the host's own health through this.
    let router = http_server::router(metrics, api_state).layer(axum::Extension(Arc::clone(&host)));
    let mut http_shutdown = receiver;
    tasks.spawn(async move {
        let stop = async move {
            let _ = http_shutdown.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(http, router).with_graceful_shutdown(stop).await {
            eprintln!("posbridge serve: http: {error}");
        }
    });
    Ok(Running {
        iso_addr,
        http_addr,
        host,
        shutdown,
        tasks,
        writer: Some(writer),
    })
}

/// The public pepper of sandbox API keys; a production host takes its own
/// from `POSBRIDGE_API_KEY_PEPPER`.
const SANDBOX_API_KEY_PEPPER: &[u8] = b"posbridge-sandbox-api-key-pepper";

/// Environment variable holding the API key pepper outside the sandbox.
pub const API_KEY_PEPPER_VARIABLE: &str = "POSBRIDGE_API_KEY_PEPPER";

fn api_key_pepper(sandbox: bool) -> Result<Vec<u8>, ServeError> {
    if sandbox {
        return Ok(SANDBOX_API_KEY_PEPPER.to_vec());
    }
    match std::env::var(API_KEY_PEPPER_VARIABLE) {
        Ok(pepper) if pepper.len() >= 16 => Ok(pepper.into_bytes()),
        _ => Err(ServeError::Refused(
            "POSBRIDGE_API_KEY_PEPPER must hold at least 16 characters",
        )),
    }
}

fn open_store(url: &str, sandbox: bool, keys: &HostKeys) -> Result<(Store, HostState), ServeError> {
    let mut store = Store::open(url)?;
    let mut state = HostState::load(&mut store)?;
    let has_sandbox = state.settings.contains_key(SANDBOX_SETTING);
    if sandbox && !state.is_empty() && !has_sandbox {
        return Err(ServeError::Refused(
            "refusing to seed sandbox data into a non-empty database",
        ));
    }
    if !sandbox && has_sandbox {
        return Err(ServeError::Refused(
            "the database holds sandbox data: start with --sandbox",
        ));
    }
    if sandbox && state.is_empty() {
        if !store.accounts()?.is_empty() {
            return Err(ServeError::Refused(
                "refusing to seed sandbox data into a non-empty database",
            ));
        }
        store.write(sandbox_seed(keys)?, 0)?;
        state = HostState::load(&mut store)?;
    }
    Ok((store, state))
}

/// Accepts connections.
struct Listener {
    listener: TcpListener,
    host: Arc<Host>,
    limit: Arc<Semaphore>,
    idle_timeout: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Listener {
    async fn run(self) {
        let mut shutdown = self.shutdown.clone();
        let mut connections = JoinSet::new();
        loop {
            let Ok(permit) = Arc::clone(&self.limit).acquire_owned().await else {
                break;
            };
            let accepted = tokio::select! {
                accepted = self.accept() => accepted,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            let socket = match accepted {
                Some(socket) => socket,
                None => break,
            };
            let handler = Handler {
                host: Arc::clone(&self.host),
                idle_timeout: self.idle_timeout,
                shutdown: self.shutdown.clone(),
            };
            connections.spawn(async move {
                handler.run(socket).await;
                drop(permit);
            });
            while connections.try_join_next().is_some() {}
        }
        // Finish the in-flight requests of every connection.
        while connections.join_next().await.is_some() {}
    }

    /// Accepts with bounded back-off on errors (e.g. too many open files).
    async fn accept(&self) -> Option<TcpStream> {
        let mut backoff = Duration::from_millis(1);
        loop {
            match self.listener.accept().await {
                Ok((socket, _)) => return Some(socket),
                Err(error) => {
                    eprintln!("posbridge serve: accept: {error}");
                    self.host.metrics().event("accept_failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                }
            }
        }
    }
}

/// Serves one connection.
struct Handler {
    host: Arc<Host>,
    idle_timeout: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Handler {
    async fn run(mut self, socket: TcpStream) {
        let metrics = Arc::clone(self.host.metrics());
        metrics.connections(1);
        let (mut reader, writer) = socket.into_split();
        let responses = Arc::new(Responses {
            writer: tokio::sync::Mutex::new(writer),
            failed: AtomicBool::new(false),
        });
        let mut in_flight = JoinSet::new();
        let mut buffer = Vec::with_capacity(READ_CHUNK_BYTES);
        let reason = self
            .read_frames(&mut reader, &mut buffer, &responses, &mut in_flight)
            .await;
        if reason != "shutdown" && reason != "closed by peer" {
            metrics.event(reason);
        }
        while in_flight.join_next().await.is_some() {}
        let _ = responses.writer.lock().await.shutdown().await;
        metrics.connections(-1);
    }

    async fn read_frames(
        &mut self,
        reader: &mut tokio::net::tcp::OwnedReadHalf,
        buffer: &mut Vec<u8>,
        responses: &Arc<Responses>,
        in_flight: &mut JoinSet<()>,
    ) -> &'static str {
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        loop {
            loop {
                let frame = match decode_frame(buffer) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(_) => return "frame_too_long",
                };
                let Ok(layout) = frame_layout(frame.body) else {
                    return "frame_unreadable";
                };
                let body = frame.body.to_vec();
                let consumed = frame.consumed;
                buffer.drain(..consumed);
                while in_flight.len() >= IN_FLIGHT_PER_CONNECTION_MAX {
                    in_flight.join_next().await;
                }
                let host = Arc::clone(&self.host);
                let responses = Arc::clone(responses);
                in_flight.spawn(async move {
                    let started = Instant::now();
                    let message = layout.and_then(|layout| layout.attach(&body));
                    let outcome = host.handle_decoded(&body, message).await;
                    host.metrics().latency(started.elapsed());
                    match outcome {
                        FrameOutcome::Respond(message) => {
                            responses.send(&message).await;
                        }
                        FrameOutcome::Close(reason) => {
                            eprintln!("posbridge serve: unanswered request: {reason}");
                            host.metrics().event("unanswered");
                        }
                    }
                });
            }
            while in_flight.try_join_next().is_some() {}
            let read = tokio::select! {
                read = tokio::time::timeout(self.idle_timeout, reader.read(&mut chunk)) => read,
                _ = self.shutdown.wait_for(|stop| *stop) => return "shutdown",
            };
            match read {
                Err(_) => return "idle_timeout",
                Ok(Err(_)) => return "read_failed",
                Ok(Ok(0)) => return "closed by peer",
                Ok(Ok(n)) => buffer.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    }
}

/// The sending side of a connection, shared by its in-flight requests.
struct Responses {
    writer: tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>,
    /// Set by a failed write: later responses are dropped (the reading side
    /// ends the connection when the peer is gone).
    failed: AtomicBool,
}

impl Responses {
    /// Writes one framed response whole (the lock keeps frames apart).
    async fn send(&self, message: &[u8]) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        let Ok(header) = frame_header(message.len()) else {
            return;
        };
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + message.len());
        frame.extend_from_slice(&header);
        frame.extend_from_slice(message);
        let mut writer = self.writer.lock().await;
        if writer.write_all(&frame).await.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
    }
}

/// The frame's decoded layout (`None`: it does not decode but can be
/// answered), or `Err` when it cannot be answered at all (its MTI, DE 11 or
/// DE 41 cannot be read): the connection is closed. The frame is decoded
/// here once; its handler reads the layout over its own copy of the bytes.
fn frame_layout(body: &[u8]) -> Result<Option<iso8583::Layout>, ()> {
    if let Ok(message) = iso8583::Message::decode(&iso8583::ISO87, body) {
        return Ok(Some(message.layout()));
    }
    let salvaged = iso8583::salvage(&iso8583::ISO87, body);
    if salvaged.disposition() != iso8583::Disposition::FormatError
        || !salvaged.mti.is_some_and(|mti| mti.is_request())
    {
        return Err(());
    }
    Ok(None)
}
