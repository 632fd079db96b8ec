//! `posbridge serve`: the ISO 8583 terminal host and the HTTP base routes
//! (`/metrics`, `/v1/health`) until ctrl-c or SIGTERM; then it stops
//! accepting, finishes in-flight requests and exits.

use std::time::Duration;

use anyhow::Context;
use host::server::{ServeConfig, start};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed the sandbox data into a fresh database (and accept sandbox data).
    #[arg(long)]
    sandbox: bool,
    /// Database URL: `sqlite:PATH`, a path, or `postgres://…`.
    #[arg(long, default_value = "sqlite:posbridge.db")]
    db: String,
    /// ISO 8583 listen address.
    #[arg(long, default_value = "127.0.0.1:8583")]
    iso_listen: String,
    /// HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http_listen: String,
    /// Milliseconds to wait for the card network before answering 91.
    #[arg(long, default_value_t = 5_000)]
    network_timeout_ms: u64,
}

/// Runs the server until a shutdown signal.
pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let config = ServeConfig {
            database_url: args.db,
            sandbox: args.sandbox,
            iso_listen: args.iso_listen,
            http_listen: args.http_listen,
            network_timeout: Duration::from_millis(args.network_timeout_ms),
            ..ServeConfig::default()
        };
        let running = start(config).await.context("starting posbridge serve")?;
        println!(
            "posbridge serve: ISO 8583 on {}, HTTP on {}",
            running.iso_addr, running.http_addr
        );
        wait_for_signal().await;
        println!("posbridge serve: shutting down");
        running.shutdown().await.context("shutting down")?;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
