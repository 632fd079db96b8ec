//! `posbridge bench auth`: end-to-end authorizations per second. N simulated
//! terminals (each its own TCP connection, STAN, DUKPT counter and real
//! ISO 9564 format-0 PIN blocks) run 1.00 swipe sales with PIN against the
//! real host, started in-process on a fresh database seeded with the sandbox
//! plus N bench terminals and a bench card (or an external host given by
//! `--host`). In the same run the same terminals drive a minimal echo
//! server that only decodes and re-encodes each message: the network and
//! codec limit, of which the host's throughput is reported as a ratio.
//!
//! The terminals are `terminal::load`'s lean load generator: keys and PIN
//! blocks derived before the timed window, the sale encoded once and
//! patched per request, and `--client-threads` OS threads (default 1) each
//! driving its share of the connections with non-blocking I/O, so that the
//! figures measure the server rather than the client. Each phase also
//! reports CPU per request (Linux): the load threads' own, and the rest of
//! the process's (the echo server, or the host with its store writer).
//!
//! The in-process host also reports its store writer's work in the host
//! phase: `host_commits`, and on SQLite `host_syncs`, `sync_mean_ms` and
//! `approved_per_sync` (every approval waits for one fdatasync of the WAL,
//! which covers every commit before it: with N terminals in a closed loop,
//! throughput is about approvals per sync over the time between syncs, so
//! the disk's sync latency shows here).
//!
//! Closed loop by default (each terminal sends its next sale when the last
//! is answered); `--rate R` is an open loop of R requests/s in total, each
//! terminal on its own schedule, latency measured from the scheduled send
//! time (no coordinated omission); the echo phase runs at the same rate,
//! so `ratio_to_echo` is then about 1 unless the host falls behind, and the
//! figures to read are the latencies. A terminal whose batch is full (500
//! entries) settles it (0500) outside the measurement.

// Rates, quantiles and schedules of a benchmark report, never money.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cardsec::{Pin, TdesKey};
use host::seed::{
    BENCH_CARD_EXPIRY, BENCH_CARD_PAN, BENCH_MERCHANT, HostKeys, bench_initial_ksn, bench_seed,
    bench_tid, sandbox_seed,
};
use host::server::{CONNECTIONS_MAX_DEFAULT, ServeConfig, start};
use iso8583::{Message, MessageBuilder, de, decode_frame};
use store::Store;
use store::testing::TestDatabase;
use terminal::UTC_OFFSET_S_DEFAULT;
use terminal::card::Card;
use terminal::keys::InitialKey;
use terminal::load::{LoadReport, LoadSpec, LoadTerminal, Prepared, Window};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::InputError;

/// The default PostgreSQL server when `POSBRIDGE_TEST_PG_URL` is unset.
const PG_URL_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The amount of every sale (minor units).
const SALE_MINOR: u64 = 100;
/// The bench card's balance: far more than any run can spend.
const CARD_FUNDS_MINOR: u64 = 1 << 50;
/// ISO 4217 numeric code of the sandbox currency (CNY).
const CURRENCY_CNY: u16 = 156;
/// Closed loop: requests prepared per second of the window across all
/// terminals, above what this kind of machine answers, so that the load's
/// crypto stays out of the window.
const CLOSED_LOOP_PREPARED_PER_S: f64 = 150_000.0;
/// Prepared requests per terminal beyond the expected count (settlements).
const PREPARED_SPARE: usize = 64;
/// Most prepared requests per terminal (a DUKPT key allows about 1M).
const PREPARED_PER_TERMINAL_MAX: usize = 1_000_000;
/// How long a terminal waits for an answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Most terminals.
const TERMINALS_MAX: usize = 4_096;
/// Fields the echo server copies into its answer.
const ECHOED: [usize; 16] = [
    de::PROCESSING_CODE,
    de::AMOUNT,
    de::TRANSMISSION_DATE_TIME,
    de::STAN,
    de::LOCAL_TIME,
    de::LOCAL_DATE,
    de::POS_CONDITION_CODE,
    de::TERMINAL_ID,
    de::MERCHANT_ID,
    de::CURRENCY_CODE,
    de::BATCH_NUMBER,
    de::NETWORK_MANAGEMENT_CODE,
    de::CREDITS_NUMBER,
    de::DEBITS_NUMBER,
    de::CREDITS_AMOUNT,
    de::DEBITS_AMOUNT,
];

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Terminals, each its own connection and thread.
    #[arg(long, default_value_t = 64)]
    terminals: usize,
    /// Seconds of load against each of the echo server and the host.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Open loop: requests per second in total across the terminals
    /// (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// `sqlite` or `postgres` (the in-process host's database).
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// Database URL of an empty database, seeded by the bench and kept
    /// (default: a temporary SQLite file, or a fresh schema in
    /// `POSBRIDGE_TEST_PG_URL` / the local test database, dropped at the end).
    #[arg(long)]
    db: Option<String>,
    /// Drive an external host at ADDR instead of starting one. It must know
    /// the bench terminals B0000001… (merchant 100000000000002, initial KSN
    /// FFFFB<9 hex digits of the index>E00000 under the sandbox BDK) and the
    /// bench card 6217008888888889 (PIN 1234); nothing is seeded or verified.
    #[arg(long)]
    host: Option<String>,
    /// OS threads of the load generator (each drives its share of the
    /// terminals' connections).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// What one phase of load measured, and the host's durable commits in it
/// (an in-process host only).
struct Stats(LoadReport, Option<StoreCounts>);

/// What the in-process host's store writer did during a phase.
#[derive(Debug, Clone, Copy)]
struct StoreCounts {
    commits: u64,
    syncs: u64,
    sync_ns: u64,
}

impl Stats {
    fn per_s(&self) -> f64 {
        self.0.approved as f64 / self.0.elapsed.as_secs_f64().max(1e-9)
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.0.latency.value_at_quantile(quantile) as f64 / 1_000.0
    }

    fn errors_total(&self) -> u64 {
        self.0.errors.values().sum()
    }

    /// CPU of the side under test (process minus load threads) per
    /// approved request, µs.
    fn server_cpu_us(&self) -> Option<f64> {
        let (process, client) = (self.0.process_cpu?, self.0.client_cpu?);
        let server = process.saturating_sub(client);
        Some(server.as_secs_f64() * 1e6 / (self.0.approved.max(1) as f64))
    }

    /// CPU of the load threads per request sent, µs.
    fn client_cpu_us(&self) -> Option<f64> {
        let sent = self.0.approved + self.errors_total();
        Some(self.0.client_cpu?.as_secs_f64() * 1e6 / (sent.max(1) as f64))
    }
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.terminals == 0 || args.terminals > TERMINALS_MAX {
        return Err(InputError(format!("need 1 <= --terminals <= {TERMINALS_MAX}")).into());
    }
    if !(args.duration > 0.0 && args.duration <= 86_400.0) {
        return Err(InputError("need 0 < --duration <= 86400".into()).into());
    }
    if let Some(rate) = args.rate
        && !(rate > 0.0 && rate.is_finite())
    {
        return Err(InputError("--rate must be a positive number".into()).into());
    }
    if !matches!(args.engine.as_str(), "sqlite" | "postgres") {
        return Err(InputError(format!(
            "unknown engine {}: use sqlite or postgres",
            args.engine
        ))
        .into());
    }
    let progress = !args.json && std::io::stdout().is_terminal();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;

    // The limit: the same load against an echo server.
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding the echo server")?;
    let echo_addr = listener.local_addr()?.to_string();
    let echo_task = runtime.spawn(echo_server(listener));
    let prepared = prepare(&args)?;
    let echo = drive(&args, &prepared, &echo_addr, "echo", progress)?;
    echo_task.abort();

    let (host, ledger_sound, engine) = match &args.host {
        Some(address) => (
            drive(&args, &prepared, address, "host", progress)?,
            None,
            "external",
        ),
        None => {
            let (url, scratch) = database(&args)?;
            let (stats, sound) = in_process(&args, &prepared, &runtime, &url, progress)?;
            // Dropped outside the runtime (a PostgreSQL client is blocking).
            drop(runtime);
            drop(scratch);
            (stats, Some(sound), args.engine.as_str())
        }
    };
    report(&args, engine, &echo, &host, ledger_sound);
    if ledger_sound == Some(false) {
        anyhow::bail!("ledger verify found violations");
    }
    Ok(())
}

fn database(args: &Args) -> anyhow::Result<(String, Option<TestDatabase>)> {
    if let Some(url) = &args.db {
        return Ok((url.clone(), None));
    }
    let scratch = if args.engine == "postgres" {
        let base = std::env::var(store::testing::PG_URL_VARIABLE)
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| PG_URL_DEFAULT.into());
        TestDatabase::postgres_at(&base, "benchauth")
            .with_context(|| format!("PostgreSQL at {base}"))?
    } else {
        TestDatabase::sqlite("benchauth")
    };
    Ok((scratch.url().to_string(), Some(scratch)))
}

/// Seeds, starts the host, drives it, stops it and verifies the ledger.
fn in_process(
    args: &Args,
    prepared: &Prepared,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    progress: bool,
) -> anyhow::Result<(Stats, bool)> {
    {
        let keys = HostKeys::sandbox()?;
        let mut store = Store::open(url).with_context(|| format!("opening {url}"))?;
        store.write(sandbox_seed(&keys)?, 0)?;
        store.write(bench_seed(&keys, args.terminals, CARD_FUNDS_MINOR)?, 0)?;
    }
    let config = ServeConfig {
        database_url: url.to_owned(),
        sandbox: true,
        iso_listen: "127.0.0.1:0".to_owned(),
        http_listen: "127.0.0.1:0".to_owned(),
        connections_max: CONNECTIONS_MAX_DEFAULT.max(args.terminals + 16),
        ..ServeConfig::default()
    };
    let running = runtime
        .block_on(start(config))
        .context("starting the host")?;
    let address = running.iso_addr.to_string();
    let commits_before = running.store_commits();
    let syncs_before = running.store_syncs();
    let stats = drive(args, prepared, &address, "host", progress).map(|mut stats| {
        let syncs = running.store_syncs();
        stats.1 = Some(StoreCounts {
            commits: running.store_commits() - commits_before,
            syncs: syncs.0 - syncs_before.0,
            sync_ns: syncs.1 - syncs_before.1,
        });
        stats
    });
    let verified = runtime.block_on(running.shutdown_and(|store| store.verify_ledger()));
    let stats = stats?;
    let report = verified.context("stopping the host")??;
    Ok((stats, report.violations.is_empty()))
}

/// Builds the bench terminals' sales and derives their keys and PIN blocks
/// ahead of both phases (the same prepared load drives the echo server and
/// the host).
fn prepare(args: &Args) -> anyhow::Result<Prepared> {
    let bdk = TdesKey::from_hex(domain::sandbox::BDK_HEX).context("sandbox BDK")?;
    let mut terminals = Vec::with_capacity(args.terminals);
    for index in 0..args.terminals {
        let initial_ksn = bench_initial_ksn(index);
        let ipek = InitialKey::Bdk(bdk.clone()).ipek(&initial_ksn)?;
        terminals.push(LoadTerminal {
            tid: bench_tid(index),
            mid: BENCH_MERCHANT.to_owned(),
            initial_ksn,
            ipek,
            mac_required: false,
            batch: 1,
        });
    }
    let spec = LoadSpec {
        card: Card::new(BENCH_CARD_PAN, BENCH_CARD_EXPIRY)?,
        pin: Pin::new(domain::sandbox::CARD_PIN)?,
        amount_minor: SALE_MINOR,
        currency: CURRENCY_CNY,
        utc_offset_s: UTC_OFFSET_S_DEFAULT,
        response_timeout: RESPONSE_TIMEOUT,
        threads: args.client_threads,
    };
    let per_s = args.rate.unwrap_or(CLOSED_LOOP_PREPARED_PER_S);
    let steps = (per_s * args.duration / args.terminals as f64).ceil() as usize + PREPARED_SPARE;
    let steps = steps.min(PREPARED_PER_TERMINAL_MAX);
    Ok(Prepared::new(terminals, spec, steps)?)
}

/// Runs the prepared load against `address` for `args.duration`.
fn drive(
    args: &Args,
    prepared: &Prepared,
    address: &str,
    label: &str,
    progress: bool,
) -> anyhow::Result<Stats> {
    let duration = Duration::from_secs_f64(args.duration);
    let approved = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let ticker = progress.then(|| {
        let approved = Arc::clone(&approved);
        let done = Arc::clone(&done);
        let label = label.to_owned();
        let started = Instant::now();
        std::thread::spawn(move || show_progress(&label, started, duration, &approved, &done))
    });
    let window = Window {
        duration,
        rate: args.rate,
    };
    let report = prepared.run(address, window, &approved);
    done.store(true, Ordering::Relaxed);
    if let Some(ticker) = ticker {
        let _ = ticker.join();
    }
    Ok(Stats(report?, None))
}

fn show_progress(
    label: &str,
    started: Instant,
    duration: Duration,
    approved: &AtomicU64,
    done: &AtomicBool,
) {
    use std::io::Write;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        if done.load(Ordering::Relaxed) {
            break;
        }
        let elapsed = started.elapsed();
        let count = approved.load(Ordering::Relaxed);
        let rate = count as f64 / elapsed.as_secs_f64().max(1e-9);
        print!(
            "\r{label}: {:>4.1}/{:.0} s  {count} approved  {rate:>9.0}/s   ",
            elapsed.as_secs_f64().min(duration.as_secs_f64()),
            duration.as_secs_f64()
        );
        let _ = std::io::stdout().flush();
    }
    println!();
}

/// The echo server: decodes every request and answers it approved, with the
/// request's fields echoed and a fixed RRN and authorization code.
async fn echo_server(listener: tokio::net::TcpListener) {
    while let Ok((socket, _)) = listener.accept().await {
        let _ = socket.set_nodelay(true);
        tokio::spawn(echo_connection(socket));
    }
}

async fn echo_connection(mut socket: tokio::net::TcpStream) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut filled = 0usize;
    let mut out = Vec::with_capacity(16 * 1024);
    let mut wire = vec![0u8; iso8583::MESSAGE_LEN_MAX + iso8583::FRAME_HEADER_LEN];
    loop {
        let Some(free) = buffer.get_mut(filled..) else {
            return;
        };
        match socket.read(free).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        let mut start = 0;
        while let Ok(Some(frame)) = decode_frame(buffer.get(start..filled).unwrap_or_default()) {
            start += frame.consumed;
            let Some(len) = echo_answer(frame.body, &mut wire) else {
                return;
            };
            out.extend_from_slice(wire.get(..len).unwrap_or_default());
        }
        buffer.copy_within(start..filled, 0);
        filled -= start;
        if !out.is_empty() {
            if socket.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn echo_answer(body: &[u8], wire: &mut [u8]) -> Option<usize> {
    let request = Message::decode(&iso8583::ISO87, body).ok()?;
    let mut answer = MessageBuilder::response_to(&request, &ECHOED).ok()?;
    answer
        .set_text(de::RRN, "000000000001")
        .and_then(|a| a.set_text(de::AUTHORIZATION_CODE, "ECHO01"))
        .and_then(|a| a.set_text(de::RESPONSE_CODE, "00"))
        .ok()?;
    answer.encode_framed(wire).ok()
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

fn report(args: &Args, engine: &str, echo: &Stats, host: &Stats, ledger_sound: Option<bool>) {
    let ratio = host.per_s() / echo.per_s().max(1e-9);
    let mode = if args.rate.is_some() {
        "open"
    } else {
        "closed"
    };
    if args.json {
        let json = serde_json::json!({
            "bench": "auth",
            "engine": engine,
            "terminals": args.terminals,
            "duration_s": args.duration,
            "mode": mode,
            "rate": args.rate,
            "approved": host.0.approved,
            "approved_per_s": round(host.per_s(), 1),
            "p50_ms": round(host.ms(0.5), 3),
            "p99_ms": round(host.ms(0.99), 3),
            "p999_ms": round(host.ms(0.999), 3),
            "errors": host.errors_total(),
            "errors_by_kind": host.0.errors,
            "settlements": host.0.settlements,
            "reversals": host.0.reversals,
            "host_commits": host.1.map(|c| c.commits),
            "approved_per_commit": host.1.map(|c| round(host.0.approved as f64 / c.commits.max(1) as f64, 1)),
            "host_syncs": host.1.map(|c| c.syncs),
            "approved_per_sync": host.1.filter(|c| c.syncs > 0).map(|c| round(host.0.approved as f64 / c.syncs as f64, 1)),
            "sync_mean_ms": host.1.filter(|c| c.syncs > 0).map(|c| round(c.sync_ns as f64 / c.syncs as f64 / 1e6, 3)),
            "client_threads": args.client_threads,
            "host_cpu_us_per_approved": host.server_cpu_us().map(|v| round(v, 2)),
            "client_cpu_us_per_request": host.client_cpu_us().map(|v| round(v, 2)),
            "late_p99_ms": round(host.0.late.value_at_quantile(0.99) as f64 / 1_000.0, 3),
            "derived_inline": host.0.derived_inline,
            "echo_server_cpu_us_per_round_trip": echo.server_cpu_us().map(|v| round(v, 2)),
            "echo_client_cpu_us_per_request": echo.client_cpu_us().map(|v| round(v, 2)),
            "echo_round_trips": echo.0.approved,
            "echo_per_s": round(echo.per_s(), 1),
            "echo_p50_ms": round(echo.ms(0.5), 3),
            "echo_p99_ms": round(echo.ms(0.99), 3),
            "echo_errors": echo.errors_total(),
            "ratio_to_echo": round(ratio, 4),
            "ledger_sound": ledger_sound,
        });
        println!("{json}");
        return;
    }
    let rate = args
        .rate
        .map_or_else(String::new, |r| format!(" at {r:.0} requests/s"));
    println!(
        "bench auth: {} terminals, {mode} loop{rate}, {:.1} s per phase, engine {engine}",
        args.terminals, args.duration
    );
    for (name, stats) in [("echo (limit)", echo), ("host", host)] {
        println!(
            "  {name:<13} {:>10.0} approved/s  p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  \
             {} approved, {} errors, {} settlements",
            stats.per_s(),
            stats.ms(0.5),
            stats.ms(0.99),
            stats.ms(0.999),
            stats.0.approved,
            stats.errors_total(),
            stats.0.settlements
        );
        if let (Some(server), Some(client)) = (stats.server_cpu_us(), stats.client_cpu_us()) {
            println!(
                "  {:<13} CPU per request: server {server:.1} µs, load {client:.1} µs",
                ""
            );
        }
        if !stats.0.errors.is_empty() {
            println!("  {:<13} errors by kind: {:?}", "", stats.0.errors);
        }
    }
    if let Some(counts) = host.1.filter(|c| c.syncs > 0) {
        println!(
            "  store: {} commits, {} WAL syncs of {:.3} ms on average, {:.1} approved per sync",
            counts.commits,
            counts.syncs,
            counts.sync_ns as f64 / counts.syncs as f64 / 1e6,
            host.0.approved as f64 / counts.syncs as f64
        );
    }
    println!("  ratio to echo: {ratio:.3}");
    match ledger_sound {
        Some(true) => println!("  ledger sound: debits = credits, no violations"),
        Some(false) => println!("  ledger NOT sound: verify found violations"),
        None => println!("  ledger not verified (external host)"),
    }
}
